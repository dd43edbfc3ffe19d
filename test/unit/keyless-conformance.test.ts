// sigstore-conformance's bundle-verify cases (Rekor v1 and v2, DSSE, checkpoints with cosigners,
// RFC 3161 timestamps, custom trust roots), copied as data with their trust roots, artifacts and
// identities: every case upstream expects to verify does, every "_fail" one fails, with the code
// named here. Cases about reading the bundle itself (malformed JSON, bad base64, a root in the
// chain, a digest hint that disagrees, v0.2 without a proof) belong to the bundle reader.
import { describe, expect, it } from "vitest";
import { verifyKeyless } from "../../src/verify/cosign/keyless/verify";
import { parseTrustedRoot } from "../../src/verify/cosign/keyless/trusted-root";
import { bundleEvidence, trustedRoot, utf8, vectorNames, vectorText } from "./keyless-vectors";

const BEACON = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const GHA = "https://token.actions.githubusercontent.com";
const identities = [{ issuer: GHA, subject: BEACON }];

const CASES: Record<string, string> = {
  "happy-path-v0.1": "ok",
  "happy-path-v0.2": "ok",
  "happy-path-v0.3": "ok",
  "happy-path-intoto-in-dsse-v3": "ok",
  "intoto-with-custom-trust-root": "ok",
  "trust-root-tlog-validity-end-inclusive": "ok",
  "trust-root-tsa-validity-end-inclusive": "ok",
  "bundle-with-sct-with-extensions": "ok",
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
  "bundle-from-wrong-instance_fail": "TLOG_UNTRUSTED",
  "checkpoint-bad-keyhint_fail": "TLOG_INVALID",
  "checkpoint-wrong-roothash_fail": "TLOG_INVALID",
  "inclusion-proof-corrupted-hash_fail": "TLOG_INVALID",
  "invalid-checkpoint-signature_fail": "TLOG_INVALID",
  "invalid-inclusion-proof_fail": "TLOG_INVALID",
  "incorrect-public-key_fail": "TLOG_INVALID",
  "set-invalid-signature_fail": "TLOG_INVALID",
  "rekor2-checkpoint-missing-log-signature_fail": "TLOG_INVALID",
  "rekor2-checkpoint-missing-origin_fail": "TLOG_INVALID",
  "rekor2-checkpoint-missing-root-hash_fail": "TLOG_INVALID",
  "rekor2-checkpoint-missing-size_fail": "TLOG_INVALID",
  "rekor2-checkpoint-no-matching-signature_fail": "TLOG_INVALID",
  "rekor2-no-inclusion-proof_fail": "TLOG_INVALID",
  "dsse-invalid-sig_fail": "SIGNATURE_INVALID",
  "rekor2-dsse-invalid-sig_fail": "SIGNATURE_INVALID",
  "signature-mismatch_fail": "SIGNATURE_INVALID",
  "wrong-material_fail": "SIGNATURE_INVALID",
  "dsse-mismatch-envelope_fail": "TLOG_MISMATCH",
  "dsse-mismatch-sig_fail": "TLOG_MISMATCH",
  "rekor2-dsse-mismatch-envelope_fail": "TLOG_MISMATCH",
  "rekor2-dsse-mismatch-sig_fail": "TLOG_MISMATCH",
  "wrong-hashedrekord-artifact_fail": "TLOG_MISMATCH",
  "wrong-hashedrekord-cert-and-sig_fail": "TLOG_MISMATCH",
  "wrong-hashedrekord-entry_fail": "TLOG_MISMATCH",
  "intoto-log-entry-mismatch_fail": "MALFORMED",
  "integrated-time-in-future_fail": "CERTIFICATE_EXPIRED",
  "intoto-expired-certificate_fail": "CERTIFICATE_EXPIRED",
  "intoto-set-outside-signing-cert-validity_fail": "CERTIFICATE_EXPIRED",
  "intoto-tsa-timestamp-outside-cert-validity_fail": "CERTIFICATE_EXPIRED",
  "rekor2-timestamp-with-incorrect-time_fail": "CERTIFICATE_EXPIRED",
  "invalid-ct-key_fail": "SCT_INVALID",
  "rekor2-no-timestamp_fail": "TIMESTAMP_INVALID",
  "rekor2-timestamp-outside-trust-root-tsa-validity_fail": "TIMESTAMP_INVALID",
  "rekor2-timestamp-outside-tsa-cert-validity_fail": "TIMESTAMP_INVALID",
  "rekor2-timestamp-payload-mismatch_fail": "TIMESTAMP_INVALID",
  "rekor2-timestamp-untrusted-tsa-with-embedded-cert_fail": "TIMESTAMP_INVALID",
  "rekor2-timestamp-untrusted-tsa-without-embedded-cert_fail": "TIMESTAMP_INVALID",
  "trust-root-tlog-missing-validity-start_fail": "ROOT_REFUSED",
};

const optional = (name: string) => {
  try {
    return vectorText(name);
  } catch {
    return undefined;
  }
};

describe("sigstore-conformance bundle-verify cases", () => {
  it("every copied case is in the table", () => {
    const copied = vectorNames().flatMap((n) => /^conformance-(.+)\.sigstore\.json$/.exec(n)?.[1] ?? []);
    expect(copied.sort()).toEqual(Object.keys(CASES).sort());
  });

  for (const [name, expected] of Object.entries(CASES)) {
    it(`${name}: ${expected}`, async () => {
      const file = (ext: string) => optional(`conformance-${name}.${ext}`);
      const rootText = file("trusted_root.json");
      const parsed = rootText === undefined ? undefined : parseTrustedRoot(utf8(rootText));
      if (expected === "ROOT_REFUSED") {
        expect(parsed).toMatchObject({ ok: false });
        return;
      }
      if (parsed && !parsed.ok) throw new Error(parsed.why);
      const root = parsed?.ok ? parsed.value : trustedRoot();
      const evidence = bundleEvidence(`conformance-${name}.sigstore.json`, utf8(file("artifact.txt") ?? vectorText("conformance-a.txt")));
      const identity = { issuer: file("issuer.txt")?.trim() ?? GHA, subject: file("identity.txt")?.trim() ?? BEACON };
      const check = await verifyKeyless(evidence, root, { identities: [identity], ignoreSCT: false, ignoreTlog: false });
      if (expected === "ok") expect(check).toMatchObject({ ok: true, identity: { subject: identity.subject } });
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
