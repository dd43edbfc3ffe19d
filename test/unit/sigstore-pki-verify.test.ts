// The keyless verifier (verifyKeyless) against the test PKI: every good signature it makes is
// accepted, and each negative-case knob is refused with the failure code that names it.
import { beforeAll, describe, expect, it } from "vitest";
import { parseTrustedRoot, type TrustedRoot } from "../../src/verify/cosign/keyless/trusted-root";
import type { KeylessOptions } from "../../src/verify/cosign/keyless/types";
import { verifyKeyless } from "../../src/verify/cosign/keyless/verify";
import {
  cosignPayload,
  cosignStatement,
  createSigstorePki,
  DEFAULT_IDENTITY,
  IN_TOTO_PAYLOAD_TYPE,
  signKeyless,
  toEvidence,
  type Content,
  type SignOptions,
  type SigstorePki,
} from "../support/sigstore-pki";

const DIGEST = `sha256:${"12".repeat(32)}`;
const OPTIONS: KeylessOptions = { identities: [{ issuer: DEFAULT_IDENTITY.issuer, subject: DEFAULT_IDENTITY.subject }], ignoreSCT: false, ignoreTlog: false };
const CONTENTS: Record<"message" | "dsse", Content> = {
  message: { kind: "message", payload: cosignPayload("registry.test/demo", DIGEST) },
  dsse: { kind: "dsse", payloadType: IN_TOTO_PAYLOAD_TYPE, payload: cosignStatement(DIGEST) },
};

describe("verifyKeyless accepts what the test PKI signs and refuses each broken variant", () => {
  let pki: SigstorePki;
  let root: TrustedRoot;
  beforeAll(async () => {
    pki = await createSigstorePki();
    const parsed = parseTrustedRoot(new TextEncoder().encode(pki.trustedRootJson));
    if (!parsed.ok) throw new Error(`the PKI's trusted_root.json does not parse: ${parsed.why}`);
    root = parsed.value;
  });

  async function check(kind: keyof typeof CONTENTS, sign: SignOptions = {}, options: Partial<KeylessOptions> = {}) {
    const sig = await signKeyless(pki, CONTENTS[kind], sign);
    return { sig, result: await verifyKeyless(toEvidence(sig), root, { ...OPTIONS, ...options }) };
  }

  it.each(["message", "dsse"] as const)("%s: a good signature → ok, identity and log time", async (kind) => {
    const { sig, result } = await check(kind, { extensions: { githubWorkflowRepository: "trustgate/demo" } });
    expect(result).toMatchObject({
      ok: true,
      matched: 0,
      timeSource: "tlog",
      identity: { issuer: DEFAULT_IDENTITY.issuer, subject: DEFAULT_IDENTITY.subject, extensions: { githubWorkflowRepository: "trustgate/demo" } },
    });
    if (result.ok) expect(result.signedAt.getTime()).toBe(sig.integratedTime * 1000);
  });

  it.each(["message", "dsse"] as const)("%s: identity conditions: regexp, extensions, other subject/issuer", async (kind) => {
    const extensions = { githubWorkflowRepository: "trustgate/demo" };
    expect((await check(kind, { extensions }, { identities: [{ issuer: DEFAULT_IDENTITY.issuer, subjectRegExp: "^https://github\\.com/trustgate/", extensions }] })).result.ok).toBe(true);
    const otherExt = await check(kind, { extensions: { githubWorkflowRepository: "mallory/demo" } }, { identities: [{ ...OPTIONS.identities[0]!, extensions }] });
    expect(otherExt.result).toMatchObject({ ok: false, code: "IDENTITY_MISMATCH" });
    expect((await check(kind, { subject: "mallory@example.com" })).result).toMatchObject({ ok: false, code: "IDENTITY_MISMATCH" });
    expect((await check(kind, { issuer: "https://accounts.mallory.test" })).result).toMatchObject({ ok: false, code: "IDENTITY_MISMATCH" });
  });

  it.each(["message", "dsse"] as const)("%s: the certificate: expired at the signing time, another CA, not code signing", async (kind) => {
    const expired = await check(kind, { notBefore: new Date(Date.now() - 2 * 3600_000), integratedTime: Math.floor(Date.now() / 1000) - 3600 });
    expect(expired.result).toMatchObject({ ok: false, code: "CERTIFICATE_EXPIRED" });
    expect((await check(kind, { rogueCa: true })).result).toMatchObject({ ok: false, code: "CERTIFICATE_UNTRUSTED" });
    expect((await check(kind, { noCodeSigning: true })).result).toMatchObject({ ok: false, code: "NOT_CODE_SIGNING" });
  });

  it.each(["message", "dsse"] as const)("%s: SCTs: missing, by an unknown log, or ignored", async (kind) => {
    expect((await check(kind, { sct: "none" })).result).toMatchObject({ ok: false, code: "SCT_MISSING" });
    expect((await check(kind, { sct: "rogue" })).result).toMatchObject({ ok: false, code: "SCT_INVALID" });
    expect((await check(kind, { sct: "none" }, { ignoreSCT: true })).result.ok).toBe(true);
  });

  it.each(["message", "dsse"] as const)("%s: the log: unknown, forged SET, rogue checkpoint, tampered body, none", async (kind) => {
    expect((await check(kind, { set: "rogue", checkpoint: "rogue" })).result).toMatchObject({ ok: false, code: "TLOG_UNTRUSTED" });
    expect((await check(kind, { set: "forged" })).result).toMatchObject({ ok: false, code: "TLOG_INVALID" });
    expect((await check(kind, { checkpoint: "rogue" })).result).toMatchObject({ ok: false, code: expect.stringMatching(/^TLOG_(INVALID|UNTRUSTED)$/) });
    expect((await check(kind, { tamperBody: true })).result).toMatchObject({ ok: false, code: expect.stringMatching(/^TLOG_(INVALID|MISMATCH)$/) });
    // An entry with neither a SET nor a proof vouches for nothing; no entry at all is a missing log.
    const bare = await check(kind, { set: "none", checkpoint: "none" });
    expect(bare.result).toMatchObject({ ok: false, code: "TLOG_INVALID" });
    const none = await verifyKeyless({ ...toEvidence(bare.sig), tlogEntries: [] }, root, OPTIONS);
    expect(none).toMatchObject({ ok: false, code: "TLOG_MISSING" });
    // A SET alone (v0.1, legacy) suffices; a proof alone gives no verified time (no RFC 3161 timestamp here).
    expect((await check(kind, { checkpoint: "none" })).result.ok).toBe(true);
    expect((await check(kind, { set: "none" })).result.ok).toBe(false);
  });

  it("the issuer from the legacy .1.1 alone or .1.8 alone; an email subject; a P-256 CA", async () => {
    const issuerOf = async (sign: SignOptions) => {
      const { result } = await check("message", sign);
      return result.ok ? result.identity.issuer : `failed: ${result.code}`;
    };
    expect(await issuerOf({ issuerV2: false })).toBe(DEFAULT_IDENTITY.issuer);
    expect(await issuerOf({ legacyIssuer: false })).toBe(DEFAULT_IDENTITY.issuer);
    const email = await check("dsse", { subject: "alice@example.com", issuer: "https://accounts.example.com" }, { identities: [{ subject: "alice@example.com", issuer: "https://accounts.example.com" }] });
    expect(email.result).toMatchObject({ ok: true, identity: { subject: "alice@example.com", issuer: "https://accounts.example.com" } });

    const p256 = await createSigstorePki({ caCurve: "P-256", name: "p256-test" });
    const parsed = parseTrustedRoot(new TextEncoder().encode(p256.trustedRootJson));
    if (!parsed.ok) throw new Error(parsed.why);
    const sig = await signKeyless(p256, CONTENTS.dsse);
    expect((await verifyKeyless(toEvidence(sig), parsed.value, OPTIONS)).ok).toBe(true);
    // The other PKI's signature under this trust root: its log and its CA are unknown here.
    const foreign = await signKeyless(pki, CONTENTS.dsse);
    expect(await verifyKeyless(toEvidence(foreign), parsed.value, OPTIONS)).toMatchObject({ ok: false, code: expect.stringMatching(/^(TLOG|CERTIFICATE)_UNTRUSTED$/) });
  });

  it.each(["message", "dsse"] as const)("%s: a signature that does not verify → SIGNATURE_INVALID", async (kind) => {
    expect((await check(kind, { corruptSignature: true })).result).toMatchObject({ ok: false, code: "SIGNATURE_INVALID" });
  });
});
