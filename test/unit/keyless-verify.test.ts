// verifyKeyless against real public-good Sigstore bundles and trust roots (test/vectors/sigstore),
// and against tampered copies of them, each failing with its own code.
import { describe, expect, it } from "vitest";
import { verifyKeyless } from "../../src/verify/cosign/keyless/verify";
import type { TrustedRoot } from "../../src/verify/cosign/keyless/trusted-root";
import type { KeylessEvidence, KeylessOptions, TlogEntry } from "../../src/verify/cosign/keyless/types";
import { bundleEvidence, trustedRoot, utf8, vectorText } from "./keyless-vectors";

const BEACON = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const GHA = "https://token.actions.githubusercontent.com";
const opts = (over: Partial<KeylessOptions> = {}): KeylessOptions => ({ identities: [{ issuer: GHA, subject: BEACON }], ignoreSCT: false, ignoreTlog: false, ...over });
const artifact = () => utf8(vectorText("conformance-a.txt"));
const V01 = "conformance-happy-path-v0.1.sigstore.json";
const V03 = "conformance-happy-path-v0.3.sigstore.json";
const DSSE_V3 = "conformance-happy-path-intoto-in-dsse-v3.sigstore.json";
const INTOTO_2022 = "go-dsse.sigstore.json";
const PROVENANCE = "go-sigstore.js@2.0.0-provenance.sigstore.json";

const v01 = () => bundleEvidence(V01, artifact());
const entry0 = (e: KeylessEvidence) => e.tlogEntries[0]!;
const withEntry = (e: KeylessEvidence, change: (t: TlogEntry) => TlogEntry): KeylessEvidence => ({ ...e, tlogEntries: [change(entry0(e))] });
const flip = (bytes: Uint8Array, at = bytes.length - 1) => {
  const copy = bytes.slice();
  copy[at]! ^= 0x01;
  return copy;
};

describe("real public-good bundles verify against the public-good trust root", () => {
  for (const name of [V01, "conformance-happy-path-v0.2.sigstore.json", V03]) {
    it(`${name}: message signature, hashedrekord 0.0.1, SET and inclusion proof`, async () => {
      const check = await verifyKeyless(bundleEvidence(name, artifact()), trustedRoot(), opts());
      expect(check).toMatchObject({ ok: true, matched: 0, timeSource: "tlog", identity: { issuer: GHA, subject: BEACON } });
    });
  }

  it("the signing time is the integrated time the SET vouches for", async () => {
    const check = await verifyKeyless(v01(), trustedRoot(), opts());
    expect(check.ok && check.signedAt.toISOString()).toBe(new Date(entry0(v01()).integratedTime * 1000).toISOString());
  });

  it("DSSE logged as dsse 0.0.1", async () => {
    expect(await verifyKeyless(bundleEvidence(DSSE_V3), trustedRoot(), opts())).toMatchObject({ ok: true });
  });

  it("DSSE logged as intoto 0.0.2 in 2022, SET only, the chain carried in the bundle (sigstore-go's dsse bundle)", async () => {
    const check = await verifyKeyless(bundleEvidence(INTOTO_2022), trustedRoot(), opts({ identities: [{ issuer: "https://github.com/login/oauth", subject: "brian@dehamer.com" }] }));
    expect(check).toMatchObject({ ok: true, identity: { subject: "brian@dehamer.com" } });
  });

  it("npm provenance (intoto 0.0.2 with a proof) carries the GitHub extensions", async () => {
    const check = await verifyKeyless(
      bundleEvidence(PROVENANCE),
      trustedRoot(),
      opts({
        identities: [
          { issuer: GHA, subject: "https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main", extensions: { sourceRepositoryURI: "https://github.com/sigstore/sigstore-js", githubWorkflowRepository: "sigstore/sigstore-js", githubWorkflowTrigger: "push" } },
        ],
      }),
    );
    expect(check).toMatchObject({ ok: true, identity: { extensions: { runnerEnvironment: "github-hosted", sourceRepositoryRef: "refs/heads/main", githubWorkflowSHA: "f0b49a04e5a62250e0f60fb128004a73110fe311" } } });
  });

  it("the SET alone is enough (a v0.1 bundle without its proof)", async () => {
    const e = withEntry(v01(), ({ inclusionProof: _, ...t }) => t);
    expect(await verifyKeyless(e, trustedRoot(), opts())).toMatchObject({ ok: true });
  });

  it("an inclusion proof alone verifies the entry but dates nothing: TIMESTAMP_INVALID", async () => {
    const e = withEntry(v01(), ({ signedEntryTimestamp: _, ...t }) => t);
    expect(await verifyKeyless(e, trustedRoot(), opts())).toMatchObject({ ok: false, code: "TIMESTAMP_INVALID" });
  });
});

describe("upstream's failing conformance cases", () => {
  for (const [name, why] of [
    ["conformance-checkpoint-bad-keyhint_fail.sigstore.json", "no signature by log c0d23d6a"],
    ["conformance-inclusion-proof-corrupted-hash_fail.sigstore.json", "inclusion proof"],
    ["conformance-invalid-checkpoint-signature_fail.sigstore.json", "checkpoint's signature"],
  ] as const) {
    it(name, async () => {
      const check = await verifyKeyless(bundleEvidence(name, artifact()), trustedRoot(), opts());
      expect(check).toMatchObject({ ok: false, code: "TLOG_INVALID" });
      expect(!check.ok && check.why).toContain(why);
    });
  }
});

describe("tampered copies fail with their code", () => {
  const expectFail = async (e: KeylessEvidence, code: string, why: string | RegExp, root: TrustedRoot = trustedRoot(), o: KeylessOptions = opts()) => {
    const check = await verifyKeyless(e, root, o);
    expect(check).toMatchObject({ ok: false, code });
    expect(!check.ok && check.why).toMatch(why);
    return check;
  };

  it("a flipped signature: SIGNATURE_INVALID", async () => {
    const e = v01();
    await expectFail({ ...e, signature: flip(e.signature, 10) }, "SIGNATURE_INVALID", "does not verify under the signing certificate's key");
  });

  it("another payload: SIGNATURE_INVALID", async () => {
    await expectFail({ ...v01(), signed: { kind: "message", payload: utf8("another artifact") } }, "SIGNATURE_INVALID", "payload's signature");
  });

  it("a DSSE envelope with another payload type: SIGNATURE_INVALID (PAE covers it)", async () => {
    const e = bundleEvidence(DSSE_V3);
    if (e.signed.kind !== "dsse") throw new Error("not dsse");
    await expectFail({ ...e, signed: { ...e.signed, payloadType: "application/json" } }, "SIGNATURE_INVALID", "DSSE envelope's signature");
  });

  it("no log entry: TLOG_MISSING", async () => {
    await expectFail({ ...v01(), tlogEntries: [] }, "TLOG_MISSING", "no transparency-log entry");
  });

  it("an entry by a log the trust root does not know: TLOG_UNTRUSTED naming the log ID", async () => {
    const e = withEntry(v01(), (t) => ({ ...t, logId: new Uint8Array(32).fill(7) }));
    await expectFail(e, "TLOG_UNTRUSTED", /log 0707070707.*which the trust root does not know \(it knows c0d23d6a/);
  });

  it("a trust root without Rekor: TLOG_UNTRUSTED", async () => {
    await expectFail(v01(), "TLOG_UNTRUSTED", "does not know", { ...trustedRoot(), tlogs: [] });
  });

  it("a log key not yet valid at the integrated time: TLOG_UNTRUSTED", async () => {
    const root = trustedRoot();
    await expectFail(v01(), "TLOG_UNTRUSTED", "valid from 2030", { ...root, tlogs: root.tlogs.map((l) => ({ ...l, validFrom: new Date("2030-01-01T00:00:00Z") })) });
  });

  it("a log key whose validity ended before the integrated time: TLOG_UNTRUSTED", async () => {
    const root = trustedRoot();
    await expectFail(v01(), "TLOG_UNTRUSTED", "valid until 2022", { ...root, tlogs: root.tlogs.map((l) => ({ ...l, validTo: new Date("2022-01-01T00:00:00Z") })) });
  });

  it("a flipped SET: TLOG_INVALID", async () => {
    const e = withEntry(v01(), (t) => ({ ...t, signedEntryTimestamp: flip(t.signedEntryTimestamp!, 12) }));
    await expectFail(e, "TLOG_INVALID", "signed entry timestamp");
  });

  it("a changed integrated time breaks the SET: TLOG_INVALID", async () => {
    const e = withEntry(v01(), (t) => ({ ...t, integratedTime: t.integratedTime - 3600 }));
    await expectFail(e, "TLOG_INVALID", "signed entry timestamp");
  });

  it("a proof for another index: TLOG_INVALID", async () => {
    const e = withEntry(v01(), (t) => ({ ...t, inclusionProof: { ...t.inclusionProof!, logIndex: t.inclusionProof!.logIndex - 1 } }));
    await expectFail(e, "TLOG_INVALID", "inclusion proof");
  });

  it("a checkpoint for another tree size: TLOG_INVALID", async () => {
    const e = withEntry(v01(), (t) => ({ ...t, inclusionProof: { ...t.inclusionProof!, checkpoint: t.inclusionProof!.checkpoint.replace(/\n\d+\n/, "\n1\n") } }));
    await expectFail(e, "TLOG_INVALID", /checkpoint/);
  });

  it("a verified entry for another signature (v0.3's entry under v0.1's signature): TLOG_MISMATCH", async () => {
    const e = { ...v01(), tlogEntries: bundleEvidence(V03, artifact()).tlogEntries };
    await expectFail(e, "TLOG_MISMATCH", "records another signature");
  });

  it("a verified DSSE entry for another payload: TLOG_MISMATCH", async () => {
    const e = { ...bundleEvidence(DSSE_V3), tlogEntries: bundleEvidence(PROVENANCE).tlogEntries };
    await expectFail(e, "TLOG_MISMATCH", /intoto entry|payload sha256/);
  });

  it("an entry whose stated kind is not its body's: MALFORMED", async () => {
    const e = withEntry(v01(), (t) => ({ ...t, kind: "dsse" }));
    await expectFail(e, "MALFORMED", "says it is dsse");
  });

  it("the same entry twice: MALFORMED", async () => {
    const e = v01();
    await expectFail({ ...e, tlogEntries: [entry0(e), entry0(e)] }, "MALFORMED", "given twice");
  });

  it("ignoreTlog without an RFC 3161 timestamp: TIMESTAMP_INVALID saying so", async () => {
    await expectFail({ ...v01(), tlogEntries: [] }, "TIMESTAMP_INVALID", "carries no RFC 3161 timestamp", trustedRoot(), opts({ ignoreTlog: true }));
  });

  it("a trust root without the Fulcio CA: CERTIFICATE_UNTRUSTED", async () => {
    const root = trustedRoot();
    await expectFail(v01(), "CERTIFICATE_UNTRUSTED", "does not chain to a Fulcio CA", { ...root, certificateAuthorities: root.certificateAuthorities.slice(0, 1) });
  });

  it("a CA whose validFor ended before the signing time: CERTIFICATE_UNTRUSTED naming the time", async () => {
    const root = trustedRoot();
    const cas = root.certificateAuthorities.map((ca) => ({ ...ca, validTo: new Date("2023-01-01T00:00:00Z") }));
    await expectFail(v01(), "CERTIFICATE_UNTRUSTED", /trusted until 2023-01-01.*not at the signing time 2023-07-12/, { ...root, certificateAuthorities: cas });
  });

  it("the intermediate may come from the evidence when the trust root lists only the root", async () => {
    const root = trustedRoot();
    const ca2022 = root.certificateAuthorities[1]!;
    const rootOnly = { ...root, certificateAuthorities: [{ ...ca2022, chain: ca2022.chain.slice(1) }] };
    await expectFail(v01(), "CERTIFICATE_UNTRUSTED", "does not chain", rootOnly);
    const carried = { ...v01(), chain: [ca2022.chain[0]!] };
    expect(await verifyKeyless(carried, rootOnly, opts())).toMatchObject({ ok: true });
  });

  it("an SCT log key that is not the one that signed: SCT_INVALID; ignoreSCT accepts", async () => {
    const root = trustedRoot();
    const wrongKey = root.tlogs[0]!.spki; // Rekor's key under the CT log's ID
    const ctlogs = root.ctlogs.map((l) => ({ ...l, spki: wrongKey }));
    await expectFail(v01(), "SCT_INVALID", "does not verify", { ...root, ctlogs });
    expect(await verifyKeyless(v01(), { ...root, ctlogs }, opts({ ignoreSCT: true }))).toMatchObject({ ok: true });
  });

  it("an SCT by a CT log the trust root does not know: SCT_INVALID naming it", async () => {
    await expectFail(v01(), "SCT_INVALID", /CT log dd3d306ac6c7113263191e1c99673702a24a5eb8de3cadff878a72802f29ee8e, which the trust root does not know/, { ...trustedRoot(), ctlogs: [] });
  });

  it("an SCT outside its CT log key's validity: SCT_INVALID", async () => {
    const root = trustedRoot();
    const ctlogs = root.ctlogs.map((l) => ({ ...l, validTo: new Date("2022-12-01T00:00:00Z") }));
    await expectFail(v01(), "SCT_INVALID", "outside the key's validity", { ...root, ctlogs });
  });

  it("another subject: IDENTITY_MISMATCH naming found and wanted, with the identity", async () => {
    const check = await expectFail(v01(), "IDENTITY_MISMATCH", `subject ${BEACON} is not https://github.com/org/repo`, trustedRoot(), opts({ identities: [{ issuer: GHA, subject: "https://github.com/org/repo" }] }));
    expect(!check.ok && check.identity).toMatchObject({ issuer: GHA, subject: BEACON });
  });

  it("another issuer: IDENTITY_MISMATCH", async () => {
    await expectFail(v01(), "IDENTITY_MISMATCH", `issuer ${GHA} is not https://accounts.google.com`, trustedRoot(), opts({ identities: [{ issuer: "https://accounts.google.com", subject: BEACON }] }));
  });

  it("an extension that differs: IDENTITY_MISMATCH naming it", async () => {
    await expectFail(v01(), "IDENTITY_MISMATCH", 'sourceRepositoryRef is "refs/heads/main", not "refs/heads/release"', trustedRoot(), opts({ identities: [{ issuer: GHA, subject: BEACON, extensions: { sourceRepositoryRef: "refs/heads/release" } }] }));
  });

  it("regular expressions are unanchored, as Go's MatchString: a substring matches", async () => {
    const check = await verifyKeyless(v01(), trustedRoot(), opts({ identities: [{ issuerRegExp: "githubusercontent", subjectRegExp: "sigstore-conformance/" }] }));
    expect(check).toMatchObject({ ok: true });
  });

  it("an anchored regular expression must match the whole value", async () => {
    await expectFail(v01(), "IDENTITY_MISMATCH", "does not match ^https://github.com/sigstore-conformance/$", trustedRoot(), opts({ identities: [{ issuer: GHA, subjectRegExp: "^https://github.com/sigstore-conformance/$" }] }));
    const ok = await verifyKeyless(v01(), trustedRoot(), opts({ identities: [{ issuerRegExp: "^https://token\\.actions\\.githubusercontent\\.com$", subjectRegExp: "^https://github\\.com/sigstore-conformance/.*@refs/heads/main$" }] }));
    expect(ok).toMatchObject({ ok: true });
  });

  it("a regular expression that JS and Go read differently never matches", async () => {
    await expectFail(v01(), "IDENTITY_MISMATCH", "lookaround", trustedRoot(), opts({ identities: [{ issuer: GHA, subjectRegExp: "(?=https).*" }] }));
  });

  it("the first matching identity is reported", async () => {
    const check = await verifyKeyless(v01(), trustedRoot(), opts({ identities: [{ issuer: "https://accounts.google.com" }, { issuer: GHA }, { subjectRegExp: "." }] }));
    expect(check).toMatchObject({ ok: true, matched: 1 });
  });

  it("a certificate that does not parse: MALFORMED", async () => {
    await expectFail({ ...v01(), certificate: utf8("not a certificate") }, "MALFORMED", "does not parse");
  });
});

describe("fail closed", () => {
  it("evidence of the wrong shape is a MALFORMED deny, not a throw", async () => {
    const e = { ...v01(), tlogEntries: [{ ...entry0(v01()), inclusionProof: { ...entry0(v01()).inclusionProof!, hashes: null as unknown as Uint8Array[] } }] };
    expect(await verifyKeyless(e, trustedRoot(), opts())).toMatchObject({ ok: false, code: "MALFORMED" });
  });
});
