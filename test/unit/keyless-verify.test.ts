// verifyKeyless against real public-good Sigstore bundles and trust roots (test/vectors/sigstore).
import { describe, expect, it } from "vitest";
import { verifyKeyless } from "../../src/verify/cosign/keyless/verify";
import type { KeylessOptions } from "../../src/verify/cosign/keyless/types";
import { bundleEvidence, trustedRoot, utf8, vectorText } from "./keyless-vectors";

const BEACON = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const GHA = "https://token.actions.githubusercontent.com";
const opts = (over: Partial<KeylessOptions> = {}): KeylessOptions => ({ identities: [{ issuer: GHA, subject: BEACON }], ignoreSCT: false, ignoreTlog: false, ...over });
const artifact = () => utf8(vectorText("conformance-a.txt"));

describe("real public-good bundles", () => {
  for (const name of ["conformance-happy-path-v0.1.sigstore.json", "conformance-happy-path-v0.2.sigstore.json", "conformance-happy-path-v0.3.sigstore.json"]) {
    it(`${name} verifies`, async () => {
      const check = await verifyKeyless(bundleEvidence(name, artifact()), trustedRoot(), opts());
      expect(check).toMatchObject({ ok: true, matched: 0, timeSource: "tlog", identity: { issuer: GHA, subject: BEACON } });
    });
  }
  it("a DSSE bundle (dsse 0.0.1 entry) verifies", async () => {
    const check = await verifyKeyless(bundleEvidence("conformance-happy-path-intoto-in-dsse-v3.sigstore.json"), trustedRoot(), opts());
    expect(check).toMatchObject({ ok: true });
  });
});
