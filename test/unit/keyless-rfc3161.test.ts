// RFC 3161 timestamps as the signing time (ignoreTlog), on sigstore-conformance's real bundles
// and trust roots (staging and a local deployment, with Rekor v2 entries).
import { describe, expect, it } from "vitest";
import { verifyKeyless } from "../../src/verify/cosign/keyless/verify";
import type { KeylessEvidence, KeylessOptions } from "../../src/verify/cosign/keyless/types";
import { bundleEvidence, trustedRoot, utf8, vectorText } from "./keyless-vectors";

const BEACON = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const opts = (over: Partial<KeylessOptions> = {}): KeylessOptions => ({ identities: [{ issuer: "https://token.actions.githubusercontent.com", subject: BEACON }], ignoreSCT: false, ignoreTlog: true, ...over });
const evidence = (c: string) => bundleEvidence(`conformance-${c}.sigstore.json`, utf8(vectorText("conformance-a.txt")));
const root = (c: string) => trustedRoot(`conformance-${c}.trusted_root.json`);
const HAPPY = "rekor2-happy-path";

const expectFail = async (e: KeylessEvidence, r: ReturnType<typeof root>, code: string, why: string, o = opts()) => {
  const check = await verifyKeyless(e, r, o);
  expect(check).toMatchObject({ ok: false, code });
  expect(!check.ok && check.why).toContain(why);
};

describe("RFC 3161 timestamps", () => {
  it("a staging bundle verifies with its TSA's time when the policy ignores the log", async () => {
    const check = await verifyKeyless(evidence(HAPPY), root(HAPPY), opts());
    expect(check).toMatchObject({ ok: true, timeSource: "rfc3161", identity: { subject: BEACON } });
    expect(check.ok && check.signedAt.toISOString()).toBe("2025-06-12T12:02:20.000Z");
  });

  it("an SCT with extensions (static CT) verifies (bundle-with-sct-with-extensions)", async () => {
    expect(await verifyKeyless(evidence("bundle-with-sct-with-extensions"), root("bundle-with-sct-with-extensions"), opts())).toMatchObject({ ok: true });
  });

  it("with the log not ignored, the Rekor v2 entry is verified too and the time is still the TSA's", async () => {
    expect(await verifyKeyless(evidence(HAPPY), root(HAPPY), opts({ ignoreTlog: false }))).toMatchObject({ ok: true, timeSource: "rfc3161" });
  });

  it("a TSA certificate expired at the timestamp's time: TIMESTAMP_INVALID (upstream's _fail case)", async () => {
    const c = "rekor2-timestamp-outside-tsa-cert-validity_fail";
    await expectFail(evidence(c), root(c), "TIMESTAMP_INVALID", 'certificate "Test TSA Timestamping" was valid from 2025-08-07T15:29:08.000Z to 2025-08-07T15:37:08.000Z, not at 2025-08-07T15:38:32.000Z');
  });

  it("a time outside the TSA's validFor in the trust root: TIMESTAMP_INVALID (upstream's _fail case)", async () => {
    const c = "rekor2-timestamp-outside-trust-root-tsa-validity_fail";
    await expectFail(evidence(c), root(c), "TIMESTAMP_INVALID", "outside the validity of https://timestamp.sigstage.dev/api/v1/timestamp in the trust root");
  });

  it("no timestamp: TIMESTAMP_INVALID saying nothing dates the signature", async () => {
    await expectFail({ ...evidence(HAPPY), rfc3161Timestamps: [] }, root(HAPPY), "TIMESTAMP_INVALID", "carries no RFC 3161 timestamp");
  });

  it("a flipped TSA signature: TIMESTAMP_INVALID", async () => {
    const e = evidence(HAPPY);
    const token = e.rfc3161Timestamps[0]!.slice();
    token[token.length - 3]! ^= 1;
    await expectFail({ ...e, rfc3161Timestamps: [token] }, root(HAPPY), "TIMESTAMP_INVALID", "not signed by https://timestamp.sigstage.dev/api/v1/timestamp");
  });

  it("a timestamp over another signature: TIMESTAMP_INVALID", async () => {
    const other = evidence("bundle-with-sct-with-extensions").rfc3161Timestamps;
    await expectFail({ ...evidence(HAPPY), rfc3161Timestamps: other }, root(HAPPY), "TIMESTAMP_INVALID", "over other bytes than this signature");
  });

  it("a trust root without the TSA: TIMESTAMP_INVALID", async () => {
    await expectFail(evidence(HAPPY), { ...root(HAPPY), timestampAuthorities: [] }, "TIMESTAMP_INVALID", "names no timestamp authority");
  });

  it("a timestamp that is not DER: TIMESTAMP_INVALID", async () => {
    await expectFail({ ...evidence(HAPPY), rfc3161Timestamps: [utf8("garbage")] }, root(HAPPY), "TIMESTAMP_INVALID", "does not parse");
  });

  it("the staging root's PKCS#1 RSA CT log key is read", () => {
    expect(root(HAPPY).ctlogs[0]!.spki.length).toBeGreaterThan(526);
  });
});
