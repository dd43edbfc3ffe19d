// A registry serving thousands of bogus cosign signatures: the caps of src/verify/cosign/limits.ts,
// the notes that name them, key hints, and the event loop's turns between checks.
import { beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../../../src/limits";
import { decide, type DecideDeps } from "../../../src/decide";
import { createRequirementKinds } from "../../../src/policy/requirement-kinds";
import type { Cache, DigestResolution } from "../../../src/ports";
import { parseReference } from "../../../src/reference";
import { cosignKind } from "../../../src/requirements/cosign";
import { MAX_BUNDLE_BYTES, MAX_BUNDLES, MAX_PREHASH_FALLBACKS, MAX_SIGNATURE_LAYERS, MAX_SIGNATURES_PER_BUNDLE, MAX_VERIFICATIONS, VerificationBudget, parseSignatureManifest } from "../../../src/verify/cosign";
import { hostileSignatures, type HostileContent, type HostileOptions } from "../../e2e/lab/hostile-signatures";
import { publicKey } from "./vectors";

const REPO = "127.0.0.1:5000/hostile/app";
const IMAGE = `${REPO}:v1`;

function memoryCache(): Cache {
  const store = new Map<string, string>();
  return { get: async (k) => store.get(k) ?? null, put: async (k, v) => void store.set(k, v) };
}

/** The hostile content behind the fetch port: manifests, blobs, the referrers API. */
function serve(content: HostileContent) {
  const requests: string[] = [];
  const fetch = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    requests.push(url.pathname);
    const m = /^\/v2\/hostile\/app\/(manifests|blobs|referrers)\/([^/]+)$/.exec(url.pathname);
    if (!m) return new Response("{}", { status: 404 });
    const [, kind, ref] = m as unknown as [string, string, string];
    if (kind === "referrers") {
      return new Response(ref === content.digest ? content.referrersIndex : new TextEncoder().encode('{"schemaVersion":2,"manifests":[]}'), {
        headers: { "content-type": "application/vnd.oci.image.index.v1+json" },
      });
    }
    const hit = kind === "manifests" ? content.manifests.get(ref) : content.blobs.get(ref);
    if (!hit) return new Response("{}", { status: 404 });
    return "mediaType" in hit ? new Response(hit.bytes, { headers: { "content-type": hit.mediaType } }) : new Response(hit);
  };
  return { fetch, requests };
}

function setup(content: HostileContent, budgetMs?: number) {
  const work = { fetch: 0, verify: 0 };
  const clock = { now: () => new Date("2026-11-23T00:00:00Z") };
  const served = serve(content);
  const deps: DecideDeps = {
    kinds: createRequirementKinds([cosignKind]),
    digests: { resolve: async (): Promise<DigestResolution> => ({ ok: true, digest: content.digest, cached: false }) },
    verdictCache: memoryCache(),
    verdictTtlSeconds: 300,
    clock,
    ...(budgetMs !== undefined ? { budgetMs } : {}),
    verifier: {
      fetch: served.fetch,
      trustCache: memoryCache(),
      clock,
      counter: { count: (kind) => void work[kind]++ },
      settings: { upstreamTimeoutMs: 5000, trustRecheckSeconds: 120, credentials: {} },
    },
  };
  return { deps, work, requests: served.requests };
}

let revision = 0;
function run(deps: DecideDeps, keys: { name: string; key: string }[]) {
  const policy = { mode: "enforce" as const, patternStyle: "native" as const, rules: [{ pattern: "*", require: [{ type: "cosign", keys }] }] };
  return decide({ image: IMAGE, reference: parseReference(IMAGE), context: {} }, { id: "p", revision: `h${revision++}`, policy }, deps);
}

/** base64(sha256(SPKI)) of a PEM public key: the hint cosign writes. */
async function hintOf(pem: string): Promise<string> {
  const der = Uint8Array.from(atob(pem.replace(/-----[^-]+-----|\s/g, "")), (c) => c.charCodeAt(0));
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", der));
  return btoa(String.fromCharCode(...hash));
}

const alice = () => [{ name: "alice", key: publicKey("alice") }]; // ECDSA P-256
const carol = () => [{ name: "carol", key: publicKey("carol") }]; // Ed25519: a failed check also tries Ed25519ph in noble

describe("cosign against a registry serving thousands of bogus signatures", () => {
  let legacy: HostileContent;
  let referrers: HostileContent;
  const base: Omit<HostileOptions, "layers" | "referrers" | "signaturesPerBundle"> = { repository: REPO, algorithm: "ecdsa-p256" };

  beforeAll(async () => {
    // As many as fit the listings' byte cap (registry.artifactManifestBytes); more is the next test's.
    legacy = await hostileSignatures({ ...base, layers: 800, referrers: 0, signaturesPerBundle: 1 });
    referrers = await hostileSignatures({ ...base, hint: await hintOf(publicKey("alice")), layers: 0, referrers: 900, signaturesPerBundle: 500 });
  });

  it("reads the newest layers of a long .sig manifest: cosign appends, so those hold the current keys", () => {
    const layer = (i: number) => ({
      mediaType: "application/vnd.dev.cosign.simplesigning.v1+json",
      size: 10,
      digest: `sha256:${i.toString(16).padStart(64, "0")}`,
      annotations: { "dev.cosignproject.cosign/signature": "AA==" },
    });
    const manifest = { schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json", config: layer(0), layers: Array.from({ length: 25 }, (_, i) => layer(i)) };
    const parsed = parseSignatureManifest(new TextEncoder().encode(JSON.stringify(manifest)), 10);
    expect(parsed.ok && parsed.value.total).toBe(25);
    expect(parsed.ok && parsed.value.layers.map((l) => l.index)).toEqual([15, 16, 17, 18, 19, 20, 21, 22, 23, 24]);
    expect(parsed.ok && parsed.value.layers[0]!.digest).toBe(layer(15).digest);
  });

  it("checks only the newest signature layers of a .sig manifest, and says so in the deny", async () => {
    const { deps, work, requests } = setup(legacy);
    const v = await run(deps, alice());
    expect(v.decision).toBe("deny");
    expect(v.reasons.map((r) => r.code)).toEqual(["COSIGN_THRESHOLD_UNMET", "COSIGN_LIMIT_REACHED"]);
    expect(v.reasons[1]!.message).toMatch(
      new RegExp(`^only the newest ${MAX_SIGNATURE_LAYERS} of 800 signatures at ${REPO}:sha256-[0-9a-f]{64}\\.sig were checked`),
    );
    expect(work.verify).toBe(MAX_SIGNATURE_LAYERS);
    // The layers share one payload blob, as cosign's do: fetched once.
    expect(requests.filter((p) => p.includes("/blobs/")).length).toBe(1);
  });

  it("checks only the first referrers and the first signatures of each bundle", async () => {
    const { deps, work, requests } = setup(referrers);
    const v = await run(deps, alice());
    expect(v.decision).toBe("deny");
    const notes = v.reasons.filter((r) => r.code === "COSIGN_LIMIT_REACHED").map((r) => r.message);
    expect(notes).toEqual([
      expect.stringMatching(new RegExp(`^only the first ${MAX_BUNDLES} of 900 signature referrers of ${REPO}@sha256:[0-9a-f]{64} were checked`)),
      `${MAX_BUNDLES} bundles list up to 500 DSSE signatures; only the first ${MAX_SIGNATURES_PER_BUNDLE} of each were checked (cosign writes one per bundle)`,
    ]);
    expect(work.verify).toBe(MAX_BUNDLES * MAX_SIGNATURES_PER_BUNDLE);
    expect(requests.filter((p) => p.includes("/manifests/sha256:")).length).toBe(MAX_BUNDLES);
  });

  it("refuses a signature listing larger than it reads, before parsing or checking any of it", async () => {
    const huge = await hostileSignatures({ ...base, layers: 3000, referrers: 0, signaturesPerBundle: 1 });
    const { deps, work } = setup(huge);
    const v = await run(deps, alice());
    expect(v.decision).toBe("deny");
    expect(v.reasons[0]).toMatchObject({ code: "REGISTRY_BAD_RESPONSE" });
    expect(v.reasons[0]!.message).toContain(`more than the ${DEFAULT_LIMITS.registry.artifactManifestBytes} bytes allowed`);
    expect(work.verify).toBe(0);
  });

  it("makes no more signature checks per decision than the budget, and says how many it left", async () => {
    // No hint: every bundle is tried against both keys, and so is every layer.
    const both = await hostileSignatures({ ...base, layers: 800, referrers: 900, signaturesPerBundle: 500 });
    const { deps, work } = setup(both);
    const v = await run(deps, [...alice(), { name: "bob", key: publicKey("bob") }]);
    expect(v.decision).toBe("deny");
    const wanted = 2 * (MAX_SIGNATURE_LAYERS + MAX_BUNDLES * MAX_SIGNATURES_PER_BUNDLE);
    expect(v.reasons.filter((r) => r.code === "COSIGN_LIMIT_REACHED").map((r) => r.message)).toContainEqual(
      expect.stringMatching(new RegExp(`^the budget of ${MAX_VERIFICATIONS} signature checks per decision was spent: ${wanted - MAX_VERIFICATIONS} more were not made`)),
    );
    expect(work.verify).toBe(MAX_VERIFICATIONS);
  });

  it("does not fetch a bundle blob larger than a bundle can be", async () => {
    const fat = await hostileSignatures({ ...base, hint: await hintOf(publicKey("alice")), layers: 0, referrers: 1, signaturesPerBundle: 1000 });
    const { deps, work, requests } = setup(fat);
    const v = await run(deps, alice());
    expect(v.decision).toBe("deny");
    expect(v.reasons[1]).toMatchObject({
      code: "COSIGN_SIGNATURES_UNREADABLE",
      message: expect.stringMatching(new RegExp(`: the bundle blob is [\\d,]+ bytes; at most ${String(MAX_BUNDLE_BYTES).replace(/\B(?=(\d{3})+$)/g, ",")} are read`)),
    });
    expect(requests.filter((p) => p.includes("/blobs/"))).toEqual([]);
    expect(work.verify).toBe(0);
  });

  it("tries a bundle only against the key its hint names", async () => {
    const other = await hostileSignatures({ ...base, hint: await hintOf(publicKey("bob")), layers: 0, referrers: 3, signaturesPerBundle: 1 });
    const { deps, work } = setup(other);
    const v = await run(deps, alice());
    expect(v.decision).toBe("deny");
    expect(v.reasons[0]).toMatchObject({ code: "COSIGN_THRESHOLD_UNMET", message: expect.stringContaining("the bundle names another key") });
    expect(work.verify).toBe(0);
  });

  it("tries only a few failed Ed25519 checks again as Ed25519ph in JS, and says how many it did not", async () => {
    const ed = await hostileSignatures({ repository: REPO, algorithm: "ed25519", hint: await hintOf(publicKey("carol")), layers: 0, referrers: 10, signaturesPerBundle: 2 });
    const { deps, work } = setup(ed);
    const v = await run(deps, carol());
    expect(v.decision).toBe("deny");
    expect(work.verify).toBe(MAX_BUNDLES * MAX_SIGNATURES_PER_BUNDLE);
    const notes = v.reasons.filter((r) => r.code === "COSIGN_LIMIT_REACHED").map((r) => r.message);
    const skipped = MAX_BUNDLES * MAX_SIGNATURES_PER_BUNDLE - MAX_PREHASH_FALLBACKS;
    expect(notes).toContainEqual(
      expect.stringMatching(new RegExp(`^${skipped} Ed25519 signatures were not tried as Ed25519ph: at most ${MAX_PREHASH_FALLBACKS} per decision are`)),
    );
  });

  it("counts the Ed25519ph allowance per decision: granted up to its limit, then refused and counted", async () => {
    const budget = new VerificationBudget(MAX_VERIFICATIONS, 1);
    expect(budget.allowPrehash()).toBe(true);
    expect(budget.allowPrehash()).toBe(false);
    expect(budget.prehashSkipped).toBe(1);
  });

  it("lets the event loop run between checks: other work goes on, and the decision budget fires mid-verification", async () => {
    // Ed25519: every bogus signature costs Web Crypto's check and noble's Ed25519ph, synchronously.
    // No hint, two keys: more checks than the budget allows.
    const heavy = await hostileSignatures({ repository: REPO, algorithm: "ed25519", layers: 3000, referrers: 40, signaturesPerBundle: 50 });
    const { deps, work } = setup(heavy);
    let turns = 0;
    let running = true;
    const tick = (): void => {
      if (!running) return;
      turns++;
      setTimeout(tick, 0);
    };
    setTimeout(tick, 0);
    const v = await run(deps, [...carol(), ...alice()]);
    running = false;
    expect(v.decision).toBe("deny");
    expect(work.verify).toBe(MAX_VERIFICATIONS);
    // Other work on the isolate had a turn between checks, not only once they were all done.
    expect(turns).toBeGreaterThanOrEqual(MAX_VERIFICATIONS - 1);

    // A budget of 0 ms: its timer is due before the first turn the verification gives away.
    const tight = setup(heavy, 0);
    const late = await run(tight.deps, [...carol(), ...alice()]);
    expect(late.decision).toBe("deny");
    expect(late.reasons).toEqual([expect.objectContaining({ code: "VERIFICATION_ERROR", message: expect.stringMatching(/^the decision took longer than 0 ms: still waiting for the cosign requirement/) })]);
    // It fired once checking had begun, with most of the checks still ahead.
    expect(tight.work.verify).toBeGreaterThan(0);
    expect(tight.work.verify).toBeLessThan(MAX_VERIFICATIONS);
  });
});
