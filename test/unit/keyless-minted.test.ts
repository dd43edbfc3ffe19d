// verifyKeyless on certificates minted in memory (keyless-mint.ts), for what real data cannot
// show: the leaf's validity at the signing time, a missing SCT, key usages, critical extensions.
import { beforeAll, describe, expect, it } from "vitest";
import { parseCertificate } from "../../src/verify/shared/der";
import { verifyKeyless } from "../../src/verify/cosign/keyless/verify";
import type { KeylessOptions } from "../../src/verify/cosign/keyless/types";
import { LEAF_EXTENSIONS as X, mintCert, mintLeafWithSct, newKey, world, type CertSpec, type Key, type World } from "./keyless-mint";

const ISSUER = "https://issuer.example";
const EMAIL = "alice@example.com";
const opts: KeylessOptions = { identities: [{ issuer: ISSUER, subject: EMAIL }], ignoreSCT: false, ignoreTlog: false };

let w: World;
let leafKey: Key;
beforeAll(async () => {
  w = await world();
  leafKey = await newKey();
});

const spec = (over: Partial<CertSpec> = {}): CertSpec => ({
  subject: "",
  issuer: "test-fulcio",
  key: leafKey,
  signer: w.ca,
  notBefore: new Date(w.signedAt.getTime() - 60_000),
  notAfter: new Date(w.signedAt.getTime() + 9 * 60_000),
  extensions: [X.keyUsageDigitalSignature, X.ekuCodeSigning, X.san(EMAIL), X.issuer(ISSUER)],
  ...over,
});
const leaf = (over: Partial<CertSpec> = {}) => mintLeafWithSct(spec(over), w.ca.spki, w.ct, w.signedAt);

describe("minted certificates", () => {
  it("a well-formed leaf verifies (P-384 CA, P-256 leaf, SET, SCT)", async () => {
    const check = await verifyKeyless(await w.evidence(await leaf(), leafKey), w.root, opts);
    expect(check).toMatchObject({ ok: true, identity: { issuer: ISSUER, subject: EMAIL }, signedAt: w.signedAt });
  });

  it("a P-384 leaf signing with SHA-384, or with SHA-256 as older clients did, verifies; SHA-512 does not", async () => {
    const p384 = await newKey("P-384");
    const cert = await mintLeafWithSct(spec({ key: p384 }), w.ca.spki, w.ct, w.signedAt);
    expect(await verifyKeyless(await w.evidence(cert, p384), w.root, opts)).toMatchObject({ ok: true });
    expect(await verifyKeyless(await w.evidence(cert, p384, undefined, "SHA-256"), w.root, opts)).toMatchObject({ ok: true });
    expect(await verifyKeyless(await w.evidence(cert, p384, undefined, "SHA-512"), w.root, opts)).toMatchObject({ ok: false, code: "SIGNATURE_INVALID" });
  });

  it("a leaf that expired before the signing time: CERTIFICATE_EXPIRED naming both times", async () => {
    const e = await w.evidence(await leaf({ notBefore: new Date("2026-01-02T02:00:00Z"), notAfter: new Date("2026-01-02T02:10:00Z") }), leafKey);
    const check = await verifyKeyless(e, w.root, opts);
    expect(check).toMatchObject({ ok: false, code: "CERTIFICATE_EXPIRED" });
    expect(!check.ok && check.why).toContain("valid from 2026-01-02T02:00:00.000Z to 2026-01-02T02:10:00.000Z, not at the signing time 2026-01-02T03:04:05.000Z");
  });

  it("a leaf not yet valid at the signing time: CERTIFICATE_EXPIRED", async () => {
    const e = await w.evidence(await leaf({ notBefore: new Date("2026-01-02T03:05:00Z") }), leafKey);
    expect(await verifyKeyless(e, w.root, opts)).toMatchObject({ ok: false, code: "CERTIFICATE_EXPIRED" });
  });

  it("no embedded SCT: SCT_MISSING; ignoreSCT accepts it", async () => {
    const e = await w.evidence(await mintCert(spec()), leafKey);
    const check = await verifyKeyless(e, w.root, opts);
    expect(check).toMatchObject({ ok: false, code: "SCT_MISSING" });
    expect(!check.ok && check.why).toContain("no embedded SCT");
    expect(await verifyKeyless(e, w.root, { ...opts, ignoreSCT: true })).toMatchObject({ ok: true });
  });

  it("an SCT by another CT log key: SCT_INVALID", async () => {
    const other = await newKey();
    const e = await w.evidence(await mintLeafWithSct(spec(), w.ca.spki, other, w.signedAt), leafKey);
    expect(await verifyKeyless(e, w.root, opts)).toMatchObject({ ok: false, code: "SCT_INVALID" });
  });

  it("no code-signing extended key usage: NOT_CODE_SIGNING", async () => {
    const e = await w.evidence(await leaf({ extensions: [X.keyUsageDigitalSignature, X.ekuServerAuth, X.san(EMAIL), X.issuer(ISSUER)] }), leafKey);
    const check = await verifyKeyless(e, w.root, opts);
    expect(check).toMatchObject({ ok: false, code: "NOT_CODE_SIGNING" });
    expect(!check.ok && check.why).toContain("extended key usage");
  });

  it("a key usage without digitalSignature: NOT_CODE_SIGNING", async () => {
    const e = await w.evidence(await leaf({ extensions: [X.keyUsageKeyEncipherment, X.ekuCodeSigning, X.san(EMAIL), X.issuer(ISSUER)] }), leafKey);
    expect(await verifyKeyless(e, w.root, opts)).toMatchObject({ ok: false, code: "NOT_CODE_SIGNING", why: expect.stringContaining("digital signature") });
  });

  it("an unhandled critical extension: CERTIFICATE_UNTRUSTED", async () => {
    const e = await w.evidence(await leaf({ extensions: [X.keyUsageDigitalSignature, X.ekuCodeSigning, X.san(EMAIL), X.issuer(ISSUER), X.unknownCritical] }), leafKey);
    expect(await verifyKeyless(e, w.root, opts)).toMatchObject({ ok: false, code: "CERTIFICATE_UNTRUSTED", why: expect.stringContaining("unhandled critical extension 1.2.3.4.5") });
  });

  it("a leaf signed by a CA key the trust root does not have, under the same name: CERTIFICATE_UNTRUSTED", async () => {
    const rogue = await newKey("P-384");
    const e = await w.evidence(await leaf({ signer: rogue }), leafKey);
    expect(await verifyKeyless(e, w.root, opts)).toMatchObject({ ok: false, code: "CERTIFICATE_UNTRUSTED", why: expect.stringContaining("does not verify") });
  });

  it("an intermediate carried in the evidence that is not a CA: CERTIFICATE_UNTRUSTED", async () => {
    const midKey = await newKey();
    const mid = await mintCert({ subject: "not-a-ca", issuer: "test-fulcio", key: midKey, signer: w.ca, notBefore: new Date("2025-01-01T00:00:00Z"), notAfter: new Date("2030-01-01T00:00:00Z") });
    const e = await w.evidence(await mintLeafWithSct(spec({ issuer: "not-a-ca", signer: midKey }), midKey.spki, w.ct, w.signedAt), leafKey);
    const check = await verifyKeyless({ ...e, chain: [mid] }, w.root, opts);
    expect(check).toMatchObject({ ok: false, code: "CERTIFICATE_UNTRUSTED", why: expect.stringContaining("is not a CA certificate") });
  });

  it("a CA intermediate carried in the evidence chains to the trust root's CA", async () => {
    const midKey = await newKey();
    const mid = await mintCert({ subject: "intermediate", issuer: "test-fulcio", key: midKey, signer: w.ca, notBefore: new Date("2025-01-01T00:00:00Z"), notAfter: new Date("2030-01-01T00:00:00Z"), ca: true });
    const e = await w.evidence(await mintLeafWithSct(spec({ issuer: "intermediate", signer: midKey }), midKey.spki, w.ct, w.signedAt), leafKey);
    expect(await verifyKeyless(e, w.root, opts)).toMatchObject({ ok: false, code: "CERTIFICATE_UNTRUSTED" });
    expect(await verifyKeyless({ ...e, chain: [mid] }, w.root, opts)).toMatchObject({ ok: true });
  });

  it("extensions that do not read: MALFORMED for keyless, while parseCertificate still reads the certificate (as Notary needs)", async () => {
    const cert = await leaf({ extensions: [X.keyUsageDigitalSignature, X.ekuCodeSigning, X.san(EMAIL), X.issuer(ISSUER), X.malformedFlag] });
    expect(parseCertificate(cert).extensionsProblem).toBe("X.509: bad extension");
    expect(await verifyKeyless(await w.evidence(cert, leafKey), w.root, opts)).toMatchObject({ ok: false, code: "MALFORMED", why: expect.stringContaining("bad extension") });
  });

  it("a certificate without an issuer extension: MALFORMED", async () => {
    const e = await w.evidence(await leaf({ extensions: [X.keyUsageDigitalSignature, X.ekuCodeSigning, X.san(EMAIL)] }), leafKey);
    expect(await verifyKeyless(e, w.root, opts)).toMatchObject({ ok: false, code: "MALFORMED", why: expect.stringContaining("names no OIDC issuer") });
  });
});
