// sigstore-conformance's bundle-verify cases for Rekor v2 (checkpoints with cosigners, DSSE as
// hashedrekord 0.0.2, RFC 3161 timestamps), copied as data with their trust roots: every case
// upstream expects to verify does, every "_fail" one fails, with the code named here.
import { describe, expect, it } from "vitest";
import { verifyKeyless } from "../../src/verify/cosign/keyless/verify";
import { bundleEvidence, trustedRoot, utf8, vectorText } from "./keyless-vectors";

const BEACON = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const identities = [{ issuer: "https://token.actions.githubusercontent.com", subject: BEACON }];

const CASES: Record<string, string> = {
  "rekor2-happy-path": "ok",
  "rekor2-dsse-happy-path": "ok",
  "rekor2-checkpoint-cosigned": "ok",
  "rekor2-checkpoint-multiple-cosigs": "ok",
  "rekor2-checkpoint-origin-not-first": "ok",
  "rekor2-checkpoint-two-sigs-cosigned": "ok",
  "rekor2-checkpoint-two-sigs-from-origin": "ok",
  "rekor2-timestamp-with-embedded-cert": "ok",
  "rekor2-timestamp-without-embedded-cert": "ok",
  "rekor2-timestamp-with-expired-cert-chain": "ok",
  "bundle-with-sct-with-extensions": "ok",
  "rekor2-checkpoint-missing-log-signature_fail": "TLOG_INVALID",
  "rekor2-checkpoint-missing-origin_fail": "TLOG_INVALID",
  "rekor2-checkpoint-missing-root-hash_fail": "TLOG_INVALID",
  "rekor2-checkpoint-missing-size_fail": "TLOG_INVALID",
  "rekor2-checkpoint-no-matching-signature_fail": "TLOG_INVALID",
  "rekor2-no-inclusion-proof_fail": "TLOG_INVALID",
  "rekor2-dsse-invalid-sig_fail": "SIGNATURE_INVALID",
  "rekor2-dsse-mismatch-envelope_fail": "TLOG_MISMATCH",
  "rekor2-dsse-mismatch-sig_fail": "TLOG_MISMATCH",
  "rekor2-no-timestamp_fail": "TIMESTAMP_INVALID",
  "rekor2-timestamp-outside-trust-root-tsa-validity_fail": "TIMESTAMP_INVALID",
  "rekor2-timestamp-outside-tsa-cert-validity_fail": "TIMESTAMP_INVALID",
  "rekor2-timestamp-payload-mismatch_fail": "TIMESTAMP_INVALID",
  "rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail": "TIMESTAMP_INVALID",
  "rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail": "TIMESTAMP_INVALID",
  "rekor2-timestamp-with-incorrect-time_fail": "CERTIFICATE_EXPIRED",
};

describe("sigstore-conformance Rekor v2 cases", () => {
  for (const [name, expected] of Object.entries(CASES)) {
    it(`${name}: ${expected}`, async () => {
      const evidence = bundleEvidence(`conformance-${name}.sigstore.json`, utf8(vectorText("conformance-a.txt")));
      const check = await verifyKeyless(evidence, trustedRoot(`conformance-${name}.trusted_root.json`), { identities, ignoreSCT: false, ignoreTlog: false });
      if (expected === "ok") expect(check).toMatchObject({ ok: true, timeSource: "rfc3161", identity: { subject: BEACON } });
      else expect(check).toMatchObject({ ok: false, code: expected });
    });
  }

  it("a Rekor v2 log key not valid at the timestamp's time: TLOG_UNTRUSTED", async () => {
    const root = trustedRoot("conformance-rekor2-happy-path.trusted_root.json");
    const tlogs = root.tlogs.map((l) => ({ ...l, validTo: new Date("2025-01-01T00:00:00Z") }));
    const check = await verifyKeyless(bundleEvidence("conformance-rekor2-happy-path.sigstore.json", utf8(vectorText("conformance-a.txt"))), { ...root, tlogs }, { identities, ignoreSCT: false, ignoreTlog: false });
    expect(check).toMatchObject({ ok: false, code: "TLOG_UNTRUSTED" });
  });

  it("a Rekor v2 log without a baseUrl in the trust root: TLOG_UNTRUSTED", async () => {
    const root = trustedRoot("conformance-rekor2-happy-path.trusted_root.json");
    const tlogs = root.tlogs.map(({ baseUrl: _, ...l }) => l);
    const check = await verifyKeyless(bundleEvidence("conformance-rekor2-happy-path.sigstore.json", utf8(vectorText("conformance-a.txt"))), { ...root, tlogs }, { identities, ignoreSCT: false, ignoreTlog: false });
    expect(check).toMatchObject({ ok: false, code: "TLOG_UNTRUSTED", why: expect.stringContaining("no baseUrl") });
  });
});
