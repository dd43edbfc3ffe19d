// The start-up priming of the Ed25519ph fallback: it must run a real check through, or the tables
// are still built in the first decision (it never throws, by design).
import { describe, expect, it } from "vitest";
import { primeCosignFallbacks } from "../../../src/verify/cosign/prime";

describe("primeCosignFallbacks", () => {
  it("signs and verifies once with the JS Ed25519ph code the cosign fallback uses", () => {
    expect(primeCosignFallbacks()).toBe(true);
  });
});
