// Keyless imports: Connaisseur 3 keyless trust roots and containers-policy sigstoreSigned fulcio
// become native cosign keyless rules; the trust roots they build from loose keys verify signatures
// made under the test PKI (test/support/sigstore-pki.ts).
import { beforeAll, describe, expect, it } from "vitest";
import { importConnaisseur } from "../../../src/policy/importers/connaisseur";
import { importContainersPolicy } from "../../../src/policy/importers/containers-policy";
import type { PolicyIssue } from "../../../src/policy/model";
import { defaultRequirementKinds as kinds } from "../../../src/requirements";
import { parseTrustedRoot, verifyKeyless } from "../../../src/verify/cosign/keyless";
import { cosignPayload, createSigstorePki, DEFAULT_IDENTITY, signKeyless, toEvidence, toPem, type KeylessSignature, type SigstorePki } from "../../support/sigstore-pki";

const DIGEST = `sha256:${"ab".repeat(32)}`;
let pki: SigstorePki;
let sig: KeylessSignature;
let emailSig: KeylessSignature;

beforeAll(async () => {
  pki = await createSigstorePki();
  sig = await signKeyless(pki, { kind: "message", payload: cosignPayload("ghcr.io/team/app", DIGEST) });
  emailSig = await signKeyless(pki, { kind: "message", payload: cosignPayload("quay.io/org/app", DIGEST) }, { subject: "dev@example.com", issuer: "https://github.com/login/oauth" });
});

/** The requirement's inline trust root verifies `s` for `identity` (SCT as the rule says). */
async function verifiesUnder(requirement: Record<string, unknown>, s: KeylessSignature) {
  const keyless = requirement.keyless as { identities: Record<string, string>[]; trustRoot: Record<string, unknown>; ignoreSCT?: boolean; ignoreTlog?: boolean };
  const root = parseTrustedRoot(new TextEncoder().encode(JSON.stringify(keyless.trustRoot)));
  if (!root.ok) throw new Error(`the imported trust root does not parse: ${root.why}`);
  const { name: _name, ...matcher } = keyless.identities[0]!;
  return verifyKeyless(toEvidence(s), root.value, { identities: [matcher], ignoreSCT: keyless.ignoreSCT ?? false, ignoreTlog: keyless.ignoreTlog ?? false });
}

describe("Connaisseur 3 keyless trust roots", () => {
  const doc = (validator: Record<string, unknown>, withOptions: Record<string, unknown> = {}) => ({
    application: {
      validators: [{ name: "keyless", type: "cosign", trustRoots: [{ name: "release", keyless: { issuer: DEFAULT_IDENTITY.issuer, subjectRegex: "^https://github\\.com/trustgate/" } }], ...validator }],
      policy: [{ pattern: "ghcr.io/team/*:*", validator: "keyless", with: { trustRoot: "release", ...withOptions } }],
    },
  });

  it("imports a keyless trust root under the public-good root, checking the log by default", () => {
    const warnings: PolicyIssue[] = [];
    const policy = importConnaisseur(doc({}), kinds, warnings);
    expect(policy.rules[0]!.require).toEqual([
      { type: "cosign", keyless: { identities: [{ name: "release", issuer: DEFAULT_IDENTITY.issuer, subjectRegExp: "^https://github\\.com/trustgate/" }] } },
    ]);
    expect(warnings).toEqual([]);
  });

  it("reads verifySCT and verifyInTransparencyLog: false as ignoreSCT and ignoreTlog (with a warning)", () => {
    const warnings: PolicyIssue[] = [];
    const policy = importConnaisseur(doc({}, { verifySCT: false, verifyInTransparencyLog: false }), kinds, warnings);
    expect(policy.rules[0]!.require[0]).toMatchObject({ keyless: { ignoreSCT: true, ignoreTlog: true } });
    expect(warnings).toEqual([expect.objectContaining({ message: expect.stringMatching(/^ignoreTlog: .*RFC 3161/) })]);
  });

  it("builds a private trust root from host's fulcioCert, rekorPubkey and ctLogPubkey that verifies the PKI's signatures", async () => {
    const host = {
      rekor: "rekor.example.com",
      fulcioCert: pki.intermediate.pem + pki.root.pem,
      rekorPubkey: toPem("PUBLIC KEY", pki.rekor.key.spki),
      ctLogPubkey: toPem("PUBLIC KEY", pki.ctLog.key.spki),
    };
    const policy = importConnaisseur(doc({ host }), kinds);
    const requirement = policy.rules[0]!.require[0] as Record<string, unknown>;
    expect(requirement).toMatchObject({ keyless: { trustRoot: { tlogs: [{ baseUrl: "https://rekor.example.com" }] } } });
    expect(await verifiesUnder(requirement, sig)).toMatchObject({ ok: true });
    // A signature under another PKI is not trusted by it.
    const other = await createSigstorePki({ name: "elsewhere" });
    expect(await verifiesUnder(requirement, await signKeyless(other, sig.content))).toMatchObject({ ok: false });
  });

  it("counts keys and keyless trust roots together under trustRoot \"*\"", () => {
    const key = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEvtc/qpHtx7iUUj+rRHR99a8mnGni\nqiGkmUb9YpWWTS4YwlvwdmMDiGzcsHiDOYz6f88u2hCRF5GUCvyiZAKrsA==\n-----END PUBLIC KEY-----";
    const d = doc({}, { trustRoot: "*", threshold: 2, verifyInTransparencyLog: false });
    (d.application.validators[0]!.trustRoots as unknown[]).push({ name: "alice", key });
    const policy = importConnaisseur(d, kinds);
    expect(policy.rules[0]!.require[0]).toMatchObject({ keys: [{ name: "alice" }], keyless: { identities: [{ name: "release" }] }, threshold: 2 });
  });
});

describe("containers-policy sigstoreSigned fulcio", () => {
  const b64 = (text: string) => btoa(text);
  const policy = (fulcio: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    policy: {
      default: [{ type: "reject" }],
      transports: {
        docker: {
          "quay.io/org": [
            {
              type: "sigstoreSigned",
              fulcio: { caData: b64(pki.intermediate.pem + pki.root.pem), oidcIssuer: "https://github.com/login/oauth", subjectEmail: "dev@example.com", ...fulcio },
              rekorPublicKeyData: b64(toPem("PUBLIC KEY", pki.rekor.key.spki)),
              ...extra,
            },
          ],
        },
      },
    },
    "registries.d": [{ docker: { "quay.io/org": { "use-sigstore-attachments": true } } }],
  });

  it("imports as a keyless cosign rule with a trust root of caData and the Rekor key, and no SCT check (as containers/image)", async () => {
    const imported = importContainersPolicy(policy({}), kinds);
    const rule = imported.rules.find((r) => r.pattern.startsWith("quay.io/org"))!;
    const requirement = rule.require[0] as Record<string, unknown>;
    expect(requirement).toMatchObject({
      type: "cosign",
      keyless: { identities: [{ name: "fulcio", issuer: "https://github.com/login/oauth", subject: "dev@example.com" }], ignoreSCT: true },
      signedIdentity: { type: "matchRepoDigestOrExact" },
    });
    expect(requirement.keys).toBeUndefined();
    expect(await verifiesUnder(requirement, emailSig)).toMatchObject({ ok: true });
    expect(await verifiesUnder(requirement, sig)).toMatchObject({ ok: false, code: "IDENTITY_MISMATCH" });
  });
});
