// End to end: keyless cosign decisions through the HTTP API of the Worker (wrangler dev) against a
// real docker-registry on loopback. The setup generates a private Sigstore-like PKI (its own Fulcio
// CA, CT log, Rekor log and trusted_root.json: test/support/sigstore-pki.ts), signs image "one" in
// every repository keylessly in both layouts cosign writes (the legacy `.sig` tag with certificate,
// chain and Rekor bundle annotations; a v3 bundle referrer with a DSSE statement, an inclusion
// promise and an inclusion proof), and decides each under a native policy whose cosign requirement
// is `keyless: { identities, trustRoot }`. One good signature is allowed; each broken one is denied
// with a reason that names what is wrong.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  bundleJson,
  cosignPayload,
  cosignStatement,
  createSigstorePki,
  DEFAULT_IDENTITY,
  IN_TOTO_PAYLOAD_TYPE,
  legacyLayer,
  signKeyless,
  type SignOptions,
  type SigstorePki,
} from "../support/sigstore-pki";
import { callApi, type ApiVerdict as Verdict } from "./lab/api";
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

describe("keyless cosign decisions against a real registry", () => {
  let registry: Registry;
  let worker: WorkerHandle;
  let booting: Promise<WorkerHandle> | undefined;
  let work: string;
  let pki: SigstorePki;
  const images = {} as Record<"one" | "two", OciImage>;

  const image = (repo: string) => `${registry.host}/${repo}:v1`;
  const api = (method: string, path: string, token: string, body?: string, contentType?: string) =>
    callApi(worker.url, method, path, token, body, contentType);

  async function decide(repo: string): Promise<Verdict> {
    const { status, json } = await api("POST", "/v1/decisions", worker.clientToken, JSON.stringify({ image: image(repo), policy: POLICY }));
    expect(status, `${repo}: ${JSON.stringify(json)}`).toBe(200);
    return json as Verdict;
  }
  const codes = (v: Verdict) => v.reasons.map((r) => r.code);
  const text = (v: Verdict) => v.reasons.map((r) => `${r.code}: ${r.message}`).join("\n");
  const show = (label: string, v: Verdict) => `${label}: ${JSON.stringify(v, null, 1)}`;

  function policy(): string {
    const keyless = {
      identities: [{ name: "release", issuer: DEFAULT_IDENTITY.issuer, subject: DEFAULT_IDENTITY.subject }],
      trustRoot: pki.trustedRoot,
    };
    const rules = LAYOUTS.flatMap((layout) =>
      (Object.keys(SCENARIOS) as Scenario[]).map((scenario) => ({
        pattern: `${registry.host}/${repoOf(layout, scenario)}`,
        require: [{ type: "cosign", keyless }],
      })),
    );
    return JSON.stringify({ mode: "enforce", rules });
  }

  async function sign(layout: Layout, scenario: Scenario): Promise<void> {
    if (scenario === "unsigned") return;
    const repo = repoOf(layout, scenario);
    const one = images.one.manifestDigest;
    const claimed = scenario === "other-digest" ? images.two.manifestDigest : one;
    const options: SignOptions = SCENARIOS[scenario];
    if (layout === "legacy") {
      const sig = await signKeyless(pki, { kind: "message", payload: cosignPayload(`${registry.host}/${repo}`, claimed) }, options);
      await pushKeylessSignatures(registry, repo, one, [legacyLayer(sig)]);
    } else {
      const sig = await signKeyless(pki, { kind: "dsse", payloadType: IN_TOTO_PAYLOAD_TYPE, payload: cosignStatement(claimed) }, options);
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
    const repos = LAYOUTS.flatMap((layout) => (Object.keys(SCENARIOS) as Scenario[]).map((s) => repoOf(layout, s)));
    const pushed = await Promise.all(repos.map((repo) => pushImage(join(work, "one"), image(repo))));
    expect(new Set(pushed)).toEqual(new Set([images.one.manifestDigest]));
    for (const layout of LAYOUTS) for (const scenario of Object.keys(SCENARIOS) as Scenario[]) await sign(layout, scenario);

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

  /** A deny whose reasons name the failure: a code and words. */
  function expectDeny(layout: Layout, scenario: Scenario, v: Verdict, code: string | RegExp, words: RegExp) {
    const label = `${layout} ${scenario}`;
    expect(v, show(label, v)).toMatchObject({ decision: "deny", allowed: false, digest: images.one.manifestDigest });
    expect(codes(v), show(label, v)).not.toContain("COSIGN_SIGNED");
    expect(codes(v).some((c) => (typeof code === "string" ? c === code : code.test(c))), show(label, v)).toBe(true);
    expect(text(v), show(label, v)).toMatch(words);
  }

  it.each(LAYOUTS)("%s: the identity the policy names → allow", async (layout) => {
    const v = await decide(repoOf(layout, "good"));
    expect(v, show(layout, v)).toMatchObject({ decision: "allow", allowed: true, digest: images.one.manifestDigest });
    expect(codes(v)).toContain("COSIGN_SIGNED");
  });

  it.each(LAYOUTS)("%s: another subject, another issuer → deny naming the certificate's identity", async (layout) => {
    const subject = await decide(repoOf(layout, "wrong-subject"));
    expectDeny(layout, "wrong-subject", subject, /IDENTITY/, new RegExp(literal(WRONG_SUBJECT)));
    const issuer = await decide(repoOf(layout, "wrong-issuer"));
    expectDeny(layout, "wrong-issuer", issuer, /IDENTITY/, new RegExp(literal(WRONG_ISSUER)));
  });

  it.each(LAYOUTS)("%s: logged after the certificate expired → deny", async (layout) => {
    const v = await decide(repoOf(layout, "expired"));
    expectDeny(layout, "expired", v, /EXPIRED|CERTIFICATE/, /expired|not valid/i);
  });

  it.each(LAYOUTS)("%s: SET and checkpoint by a log the trust root does not know → deny", async (layout) => {
    const rogue = await decide(repoOf(layout, "rogue-log"));
    expectDeny(layout, "rogue-log", rogue, /TLOG/, /transparency log|tlog|rekor/i);
    const forged = await decide(repoOf(layout, "forged-set"));
    expectDeny(layout, "forged-set", forged, /TLOG/, /SET|signed entry timestamp|inclusion promise/i);
  });

  it("bundle: a good SET but a checkpoint signed by an unknown key → deny", async () => {
    const v = await decide(repoOf("bundle", "rogue-checkpoint"));
    expectDeny("bundle", "rogue-checkpoint", v, /TLOG/, /checkpoint/i);
  });

  it.each(LAYOUTS)("%s: no SCT, or an SCT by an unknown CT log → deny", async (layout) => {
    const none = await decide(repoOf(layout, "no-sct"));
    expectDeny(layout, "no-sct", none, /SCT/, /SCT|certificate timestamp/i);
    const rogue = await decide(repoOf(layout, "rogue-sct"));
    expectDeny(layout, "rogue-sct", rogue, /SCT/, /SCT|certificate timestamp/i);
  });

  it.each(LAYOUTS)("%s: a log entry changed after the log signed it → deny", async (layout) => {
    const v = await decide(repoOf(layout, "tampered-body"));
    expectDeny(layout, "tampered-body", v, /TLOG/, /transparency log|tlog|entry/i);
  });

  it.each(LAYOUTS)("%s: a valid signature for another image's digest → deny naming it", async (layout) => {
    const v = await decide(repoOf(layout, "other-digest"));
    expectDeny(layout, "other-digest", v, /^COSIGN_/, new RegExp(images.two.manifestDigest.slice("sha256:".length, 7 + 12)));
  });

  it.each(LAYOUTS)("%s: no signature at all → deny", async (layout) => {
    const v = await decide(repoOf(layout, "unsigned"));
    expectDeny(layout, "unsigned", v, "COSIGN_NO_SIGNATURES", /no signatures found/i);
  });
});

function literal(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
