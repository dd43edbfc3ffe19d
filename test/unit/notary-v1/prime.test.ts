// The start-up priming of the Notary parsers: its sample must parse all the way through, or the
// priming silently stops doing its job (it never throws, by design).
import { describe, expect, it } from "vitest";
import { primeNotaryParsers } from "../../../src/verify/notary-v1/prime";

describe("primeNotaryParsers", () => {
  it("parses the whole sample: the root's four keys, its certificate, and one role of each kind", () => {
    expect(primeNotaryParsers()).toBe(4);
  });
});
