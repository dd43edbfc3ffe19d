// End to end: keyless cosign decisions through the HTTP API of the Worker (wrangler dev) against a
// real docker-registry on loopback. The setup generates a private Sigstore-like PKI (its own Fulcio
// CA, CT log, Rekor log and trusted_root.json: test/support/sigstore-pki.ts), signs image "one" in
// every repository keylessly in both layouts cosign writes (the legacy `.sig` tag with certificate,
// chain and Rekor bundle annotations; a v3 bundle referrer with a DSSE statement, an inclusion
// promise and an inclusion proof), and decides each under a native policy whose cosign requirement
// is `keyless: { identities, trustRoot }`. One good signature is allowed; each broken one is denied
// with a reason that names what is wrong. Then the rest of the requirement end to end: identities
// counted as signers beside keys (threshold, required), extension conditions, bundles v0.1/v0.2,
// the trust root as text, ignoreSCT and ignoreTlog.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ANNOTATIONS,
  BUNDLE_MEDIA_TYPES,
  bundleJson,
  createSigstorePki,
  DEFAULT_IDENTITY,
  legacyLayer,
  signCosignPayload,
  signCosignStatement,
  type KeylessSignature,
  type SignOptions,
  type SigstorePki,
} from "../support/sigstore-pki";
import { callApi, type ApiVerdict as Verdict } from "./lab/api";
import { getManifest, makeCosignKey, signImage, type CosignKey } from "./lab/cosign";
import { attachKeylessBundle, pushKeylessSignatures } from "./lab/keyless";
import { pushImage, writeOciImage, type OciImage } from "./lab/oci-image";
import { startRegistry, type Registry } from "./lab/registry";
import { startWorker, type WorkerHandle } from "./lab/worker";

const POLICY = "e2e-keyless";
const LAYOUTS = ["legacy", "bundle"] as const;
type Layout = (typeof LAYOUTS)[number];

const WRONG_SUBJECT = "https://github.com/mallory/fork/.github/workflows/release.yml@refs/heads/main";
const WRONG_ISSUER = "https://accounts.mallory.test";
const NOW = () => Math.floor(Date.now() / 1000);

/**
 * The scenarios: how each repository's signature is made. `digest: "two"` signs image two's digest
 * (the payload names another image). Every repository holds image one.
 */
const SCENARIOS = {
  good: {},
  "wrong-subject": { subject: WRONG_SUBJECT },
  "wrong-issuer": { issuer: WRONG_ISSUER },
  // Signed (logged) an hour after the ten-minute certificate ran out.
  expired: { notBefore: new Date(Date.now() - 2 * 3600_000), integratedTime: NOW() - 3600 },
  // SET and checkpoint by a Rekor key the trust root does not name (the entry's logID is that key's).
  "rogue-log": { set: "rogue", checkpoint: "rogue" },
  // The trusted log's ID, a SET signed by another key.
  "forged-set": { set: "forged" },
  // A good SET, a checkpoint signed by another key.
  "rogue-checkpoint": { checkpoint: "rogue" },
  "no-sct": { sct: "none" },
  "rogue-sct": { sct: "rogue" },
  "tampered-body": { tamperBody: true },
  "other-digest": {},
  unsigned: {},
} satisfies Record<string, SignOptions>;
type Scenario = keyof typeof SCENARIOS;

const repoOf = (layout: Layout, scenario: Scenario) => `keyless/${layout}-${scenario}`;

// Beyond the one-identity rule: signers counted across identities and keys, extensions as
// conditions, the older bundle versions, and the trust root given as a JSON string.
const NIGHTLY = { subject: "https://github.com/trustgate/demo/.github/workflows/nightly.yml@refs/heads/main", issuer: DEFAULT_IDENTITY.issuer };
const EXTRA = {
  /** release and nightly both sign (two `cosign sign` runs on the legacy tag); threshold 2 of 2. */
  threshold: "keyless/threshold",
  /** release signs; nightly is required. */
  required: "keyless/required",
  /** alice (a key) and release (keyless) in one .sig tag; threshold 2 over keys and identities. */
  mixed: "keyless/mixed",
  /** The rule wants githubWorkflowRepository trustgate/demo; the certificate says so. */
  extension: "keyless/extension",
  /** The certificate says mallory/demo. */
  "extension-other": "keyless/extension-other",
  /** DSSE statements in bundle v0.1 (SET only) and v0.2 (SET and proof, the chain in x509CertificateChain). */
  "bundle-v01": "keyless/bundle-v01",
  "bundle-v02": "keyless/bundle-v02",
  /** keyless.trustRoot as the trusted_root.json text rather than an object. */
  "root-string": "keyless/root-string",
  /** No SCT, and the rule sets ignoreSCT. */
  "ignore-sct": "keyless/ignore-sct",
  /** No Rekor bundle annotation: no log entry at all; the rule requires one. */
  "no-tlog": "keyless/no-tlog",
  /** The same, under ignoreTlog: nothing else (no RFC 3161 timestamp) dates the signature. */
  "no-tlog-ignored": "keyless/no-tlog-ignored",
  /** A genuine log entry (valid SET and proof) of another signature by the same identity, carried by this one. */
  "entry-of-another-legacy": "keyless/entry-of-another-legacy",
  "entry-of-another-bundle": "keyless/entry-of-another-bundle",
} as const;

describe("keyless cosign decisions against a real registry", () => {
  let registry: Registry;
  let worker: WorkerHandle;
  let booting: Promise<WorkerHandle> | undefined;
  let work: string;
  let pki: SigstorePki;
  const images = {} as Record<"one" | "two", OciImage>;
  let alice: CosignKey;

  const image = (repo: string) => `${registry.host}/${repo}:v1`;
  const api = (method: string, path: string, token: string, body?: string, contentType?: string) =>
    callApi(worker.url, method, path, token, body, contentType);

  async function decide(repo: string): Promise<Verdict> {
    const { status, json } = await api("POST", "/v1/decisions", worker.clientToken, JSON.stringify({ image: image(repo), policy: POLICY }));
    expect(status, `${repo}: ${JSON.stringify(json)}`).toBe(200);
    return json as Verdict;
  }
  const codes = (v: Verdict) => v.reasons.map((r) => r.code);
  const show = (label: string, v: Verdict) => `${label}: ${JSON.stringify(v, null, 1)}`;

  function policy(): string {
    const keyless = {
      identities: [{ name: "release", issuer: DEFAULT_IDENTITY.issuer, subject: DEFAULT_IDENTITY.subject }],
      trustRoot: pki.trustedRoot,
    };
    const rules: { pattern: string; require: Record<string, unknown>[] }[] = LAYOUTS.flatMap((layout) =>
      (Object.keys(SCENARIOS) as Scenario[]).map((scenario) => ({
        pattern: `${registry.host}/${repoOf(layout, scenario)}`,
        require: [{ type: "cosign", keyless }],
      })),
    );
    const release = { name: "release", ...DEFAULT_IDENTITY };
    const nightly = { name: "nightly", ...NIGHTLY };
    const rule = (repo: string, requirement: Record<string, unknown>) => ({ pattern: `${registry.host}/${repo}`, require: [{ type: "cosign", ...requirement }] });
    const trustRoot = pki.trustedRoot;
    const extensions = { githubWorkflowRepository: "trustgate/demo" };
    rules.push(
      rule(EXTRA.threshold, { keyless: { identities: [release, nightly], trustRoot }, threshold: 2 }),
      rule(EXTRA.required, { keyless: { identities: [release, nightly], trustRoot }, required: ["nightly"] }),
      rule(EXTRA.mixed, { keys: [{ name: "alice", key: alice.publicKeyPem }], keyless: { identities: [release], trustRoot }, threshold: 2 }),
      rule(EXTRA.extension, { keyless: { identities: [{ ...release, extensions }], trustRoot } }),
      rule(EXTRA["extension-other"], { keyless: { identities: [{ ...release, extensions }], trustRoot } }),
      rule(EXTRA["bundle-v01"], { keyless }),
      rule(EXTRA["bundle-v02"], { keyless }),
      rule(EXTRA["root-string"], { keyless: { ...keyless, trustRoot: pki.trustedRootJson } }),
      rule(EXTRA["ignore-sct"], { keyless: { ...keyless, ignoreSCT: true } }),
      rule(EXTRA["no-tlog"], { keyless }),
      rule(EXTRA["no-tlog-ignored"], { keyless: { ...keyless, ignoreTlog: true } }),
      rule(EXTRA["entry-of-another-legacy"], { keyless }),
      rule(EXTRA["entry-of-another-bundle"], { keyless }),
    );
    return JSON.stringify({ mode: "enforce", rules });
  }

  async function signExtras(): Promise<void> {
    const one = images.one.manifestDigest;
    const legacy = async (repo: string, options: SignOptions = {}) => {
      const sig = await signCosignPayload(pki, `${registry.host}/${repo}`, one, options);
      await pushKeylessSignatures(registry, repo, one, [legacyLayer(sig)]);
    };
    await legacy(EXTRA.threshold);
    await legacy(EXTRA.threshold, NIGHTLY);
    await legacy(EXTRA.required);
    await signImage(registry, EXTRA.mixed, one, [alice]);
    await legacy(EXTRA.mixed);
    await legacy(EXTRA.extension, { extensions: { githubWorkflowRepository: "trustgate/demo" } });
    await legacy(EXTRA["extension-other"], { extensions: { githubWorkflowRepository: "mallory/demo" } });
    await attachKeylessBundle(registry, EXTRA["bundle-v01"], one, await bundleJson(await signCosignStatement(pki, one, { checkpoint: "none" }), "0.1"));
    await attachKeylessBundle(registry, EXTRA["bundle-v02"], one, await bundleJson(await signCosignStatement(pki, one), "0.2"));
    await legacy(EXTRA["root-string"]);
    await legacy(EXTRA["ignore-sct"], { sct: "none" });
    await legacy(EXTRA["no-tlog"], { set: "none", checkpoint: "none" });
    await legacy(EXTRA["no-tlog-ignored"], { set: "none", checkpoint: "none" });
    // The entry fields of another signature's log entry (body, index, time, SET, proof) on this one.
    const entryOf = (other: KeylessSignature) => ({
      body: other.body,
      logIndex: other.logIndex,
      integratedTime: other.integratedTime,
      set: other.set,
      inclusionProof: other.inclusionProof,
    });
    const reference = `${registry.host}/${EXTRA["entry-of-another-legacy"]}`;
    const [mine, theirs] = [await signCosignPayload(pki, reference, one), await signCosignPayload(pki, reference, one)];
    await pushKeylessSignatures(registry, EXTRA["entry-of-another-legacy"], one, [legacyLayer({ ...mine, ...entryOf(theirs) })]);
    const [mineB, theirsB] = [await signCosignStatement(pki, one), await signCosignStatement(pki, one)];
    await attachKeylessBundle(registry, EXTRA["entry-of-another-bundle"], one, await bundleJson({ ...mineB, ...entryOf(theirsB) }, "0.3"));
  }

  async function sign(layout: Layout, scenario: Scenario): Promise<void> {
    if (scenario === "unsigned") return;
    const repo = repoOf(layout, scenario);
    const one = images.one.manifestDigest;
    const claimed = scenario === "other-digest" ? images.two.manifestDigest : one;
    const options: SignOptions = SCENARIOS[scenario];
    if (layout === "legacy") {
      const sig = await signCosignPayload(pki, `${registry.host}/${repo}`, claimed, options);
      await pushKeylessSignatures(registry, repo, one, [legacyLayer(sig)]);
    } else {
      const sig = await signCosignStatement(pki, claimed, options);
      await attachKeylessBundle(registry, repo, one, await bundleJson(sig, "0.3"));
    }
  }

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "trustgate-e2e-keyless-"));
    booting = startWorker({ vars: { TAG_CACHE_TTL_SECONDS: "0", TRUST_RECHECK_SECONDS: "0" } });
    registry = await startRegistry();
    pki = await createSigstorePki();
    images.one = await writeOciImage(join(work, "one"), { seed: "keyless-one" });
    images.two = await writeOciImage(join(work, "two"), { seed: "keyless-two" });
    alice = makeCosignKey("alice");
    const repos = [...LAYOUTS.flatMap((layout) => (Object.keys(SCENARIOS) as Scenario[]).map((s) => repoOf(layout, s))), ...Object.values(EXTRA)];
    const pushed = await Promise.all(repos.map((repo) => pushImage(join(work, "one"), image(repo))));
    expect(new Set(pushed)).toEqual(new Set([images.one.manifestDigest]));
    for (const layout of LAYOUTS) for (const scenario of Object.keys(SCENARIOS) as Scenario[]) await sign(layout, scenario);
    await signExtras();

    worker = await booting;
    const text = policy();
    const put = await api("PUT", `/v1/policies/${POLICY}?format=native`, worker.adminToken, text, "application/json");
    expect(put.status, `PUT policy: ${JSON.stringify(put.json)}`).toBe(200);
  });

  afterAll(async () => {
    await (await booting?.catch(() => undefined))?.stop();
    await registry?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  /** A deny with a reason of this code whose message says these words. */
  function expectDeny(layout: Layout, scenario: Scenario, v: Verdict, code: string, words: RegExp) {
    const label = `${layout} ${scenario}`;
    expect(v, show(label, v)).toMatchObject({ decision: "deny", allowed: false, digest: images.one.manifestDigest });
    expect(codes(v), show(label, v)).not.toContain("COSIGN_SIGNED");
    const reason = v.reasons.find((r) => r.code === code);
    expect(reason, show(label, v)).toBeDefined();
    expect(reason!.message, show(label, v)).toMatch(words);
  }

  it("0. the registry holds what cosign writes: a .sig layer with certificate, chain and bundle; a v3 bundle referrer", async () => {
    const one = images.one.manifestDigest;
    const sig = await getManifest(registry, repoOf("legacy", "good"), `${one.replace(":", "-")}.sig`);
    const layers = JSON.parse(sig!.body.toString("utf8")).layers;
    expect(layers).toHaveLength(1);
    expect(Object.keys(layers[0].annotations)).toEqual([ANNOTATIONS.signature, ANNOTATIONS.certificate, ANNOTATIONS.chain, ANNOTATIONS.bundle]);
    expect(layers[0].annotations[ANNOTATIONS.certificate]).toMatch(/^-----BEGIN CERTIFICATE-----\n/);
    expect(layers[0].annotations[ANNOTATIONS.chain].match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
    expect(JSON.parse(layers[0].annotations[ANNOTATIONS.bundle]).Payload.logID).toBe(Buffer.from(pki.rekor.key.keyId).toString("hex"));

    const index = await getManifest(registry, repoOf("bundle", "good"), one.replace(":", "-"), "application/vnd.oci.image.index.v1+json");
    const [entry] = JSON.parse(index!.body.toString("utf8")).manifests;
    expect(entry.artifactType).toBe(BUNDLE_MEDIA_TYPES["0.3"]);
    const referrer = JSON.parse((await getManifest(registry, repoOf("bundle", "good"), entry.digest))!.body.toString("utf8"));
    expect(referrer).toMatchObject({ artifactType: BUNDLE_MEDIA_TYPES["0.3"], subject: { digest: one } });
    expect(await getManifest(registry, repoOf("bundle", "unsigned"), one.replace(":", "-"))).toBeNull();
    expect(await getManifest(registry, repoOf("legacy", "unsigned"), `${one.replace(":", "-")}.sig`)).toBeNull();
  });

  it.each(LAYOUTS)("%s: the identity the policy names → allow", async (layout) => {
    const v = await decide(repoOf(layout, "good"));
    expect(v, show(layout, v)).toMatchObject({ decision: "allow", allowed: true, digest: images.one.manifestDigest });
    expect(codes(v)).toContain("COSIGN_SIGNED");
  });

  it.each(LAYOUTS)("%s: another subject, another issuer → deny naming the certificate's identity", async (layout) => {
    const subject = await decide(repoOf(layout, "wrong-subject"));
    expectDeny(layout, "wrong-subject", subject, "COSIGN_IDENTITY_MISMATCH", new RegExp(literal(`subject ${WRONG_SUBJECT} is not ${DEFAULT_IDENTITY.subject}`)));
    const issuer = await decide(repoOf(layout, "wrong-issuer"));
    expectDeny(layout, "wrong-issuer", issuer, "COSIGN_IDENTITY_MISMATCH", new RegExp(literal(`issuer ${WRONG_ISSUER} is not ${DEFAULT_IDENTITY.issuer}`)));
  });

  it.each(LAYOUTS)("%s: logged after the certificate expired → deny", async (layout) => {
    const v = await decide(repoOf(layout, "expired"));
    expectDeny(layout, "expired", v, "COSIGN_CERTIFICATE_EXPIRED", /the signing certificate was valid from \S+ to \S+, not at the signing time/);
  });

  it.each(LAYOUTS)("%s: SET and checkpoint by a log the trust root does not know → deny", async (layout) => {
    const rogue = await decide(repoOf(layout, "rogue-log"));
    expectDeny(layout, "rogue-log", rogue, "COSIGN_TLOG_UNTRUSTED", new RegExp(`by log ${hex(pki.rogue.rekor.key.keyId)}, which the trust root does not know`));
    const forged = await decide(repoOf(layout, "forged-set"));
    expectDeny(layout, "forged-set", forged, "COSIGN_TLOG_INVALID", new RegExp(`signed entry timestamp of log entry \\d+ does not verify under log ${hex(pki.rekor.key.keyId)}`));
  });

  it("bundle: a good SET but a checkpoint signed by an unknown key → deny", async () => {
    const v = await decide(repoOf("bundle", "rogue-checkpoint"));
    expectDeny("bundle", "rogue-checkpoint", v, "COSIGN_TLOG_INVALID", new RegExp(`the checkpoint carries no signature by log ${hex(pki.rekor.key.keyId)}`));
    // The legacy layout carries the SET alone: the same kind of signature is accepted there.
    const legacy = await decide(repoOf("legacy", "rogue-checkpoint"));
    expect(legacy, show("legacy rogue-checkpoint", legacy)).toMatchObject({ decision: "allow", allowed: true });
  });

  it.each(LAYOUTS)("%s: no SCT, or an SCT by an unknown CT log → deny", async (layout) => {
    const none = await decide(repoOf(layout, "no-sct"));
    expectDeny(layout, "no-sct", none, "COSIGN_SCT_MISSING", /the certificate has no embedded SCT/);
    const rogue = await decide(repoOf(layout, "rogue-sct"));
    expectDeny(layout, "rogue-sct", rogue, "COSIGN_SCT_INVALID", new RegExp(`SCT by CT log ${hex(pki.rogue.ctLog.key.keyId)}, which the trust root does not know`));
  });

  it.each(LAYOUTS)("%s: a log entry changed after the log signed it → deny", async (layout) => {
    const v = await decide(repoOf(layout, "tampered-body"));
    // The SET is over the body as logged: the first check to notice.
    expectDeny(layout, "tampered-body", v, "COSIGN_TLOG_INVALID", /signed entry timestamp of log entry \d+ does not verify/);
  });

  it.each(LAYOUTS)("%s: a valid signature for another image's digest → deny naming it", async (layout) => {
    const v = await decide(repoOf(layout, "other-digest"));
    // cosign's words for each layout, naming the digest the signature claims.
    const words = layout === "legacy" ? "invalid or missing digest in claim: " : "no matching subject digest found (the statement names ";
    expectDeny(layout, "other-digest", v, "COSIGN_THRESHOLD_UNMET", new RegExp(literal(`${words}${images.two.manifestDigest}`)));
  });

  it.each(LAYOUTS)("%s: no signature at all → deny", async (layout) => {
    const v = await decide(repoOf(layout, "unsigned"));
    expectDeny(layout, "unsigned", v, "COSIGN_NO_SIGNATURES", /^no signatures found for /);
  });

  const allow = async (repo: string) => {
    const v = await decide(repo);
    expect(v, show(repo, v)).toMatchObject({ decision: "allow", allowed: true, digest: images.one.manifestDigest });
    expect(codes(v), show(repo, v)).toContain("COSIGN_SIGNED");
    return v;
  };
  const deny = async (repo: string, code: string, words: RegExp) => {
    const v = await decide(repo);
    expect(v, show(repo, v)).toMatchObject({ decision: "deny", allowed: false, digest: images.one.manifestDigest });
    expect(codes(v), show(repo, v)).not.toContain("COSIGN_SIGNED");
    expect(v.reasons.find((r) => r.code === code)?.message, show(repo, v)).toMatch(words);
  };

  it("identities are signers: two identities meet a threshold of 2; a required identity that did not sign → deny naming it", async () => {
    const v = await allow(EXTRA.threshold);
    expect(v.reasons.find((r) => r.code === "COSIGN_SIGNED")!.message).toMatch(/from (release, nightly|nightly, release) \(2\/2 needed\)/);
    await deny(EXTRA.required, "COSIGN_REQUIRED_SIGNER_MISSING", /missing required signatures from .*nightly/);
  });

  it("a key and an identity together meet a threshold of 2", async () => {
    const v = await allow(EXTRA.mixed);
    expect(v.reasons.find((r) => r.code === "COSIGN_SIGNED")!.message).toMatch(/from (alice, release|release, alice) \(2\/2 needed\)/);
  });

  it("Fulcio extensions as conditions: the certificate's repository must be the rule's", async () => {
    await allow(EXTRA.extension);
    await deny(EXTRA["extension-other"], "COSIGN_IDENTITY_MISMATCH", /githubWorkflowRepository/);
  });

  it("bundles v0.1 (SET) and v0.2 (SET and inclusion proof) with the chain in x509CertificateChain → allow", async () => {
    await allow(EXTRA["bundle-v01"]);
    await allow(EXTRA["bundle-v02"]);
  });

  it("the trust root given as trusted_root.json text works as the object does", async () => {
    await allow(EXTRA["root-string"]);
  });

  it("ignoreSCT accepts a certificate without an SCT; no log entry is a deny, with or without ignoreTlog", async () => {
    await allow(EXTRA["ignore-sct"]);
    await deny(EXTRA["no-tlog"], "COSIGN_TLOG_MISSING", /has no transparency-log entry/);
    await deny(EXTRA["no-tlog-ignored"], "COSIGN_TIMESTAMP_INVALID", /carries no RFC 3161 timestamp, so nothing dates the signature/);
  });

  it("a genuine log entry of another signature (same identity, same payload) carried by this one → deny", async () => {
    await deny(EXTRA["entry-of-another-legacy"], "COSIGN_TLOG_MISMATCH", /log entry \d+ of https:\/\/rekor\.trustgate-test\.test: the log entry records another signature/);
    await deny(EXTRA["entry-of-another-bundle"], "COSIGN_TLOG_MISMATCH", /the log entry records another signature/);
  });
});

const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString("hex");

function literal(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
