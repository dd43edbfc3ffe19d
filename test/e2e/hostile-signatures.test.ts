// End to end: cosign decisions through the HTTP API against a loopback registry that serves
// thousands of bogus signatures (lab/hostile-registry.ts): 3,000 layers in the `.sig` manifest;
// 4,000 bundle referrers with 500 DSSE signatures each, under the trusted key's hint; 30 referrers
// of a half-megabyte bundle (5,000 signatures). Every
// decision is a deny that names the caps it reached, reached inside the decision budget, and the
// Worker keeps answering other requests meanwhile. (How fast is the bench's hostile phase.)
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callApi, type ApiVerdict } from "./lab/api";
import { makeCosignKey, publicKeyHint, type CosignKey } from "./lab/cosign";
import { startHostileRegistry, type HostileRegistry } from "./lab/hostile-registry";
import { startWorker, type WorkerHandle } from "./lab/worker";

const LEGACY = "hostile/legacy";
const BUNDLES = "hostile/bundles";
const FAT = "hostile/fat";
const HUGE = "hostile/huge";
const POLICY = "e2e-hostile";

describe("cosign against a registry serving thousands of bogus signatures", () => {
  let worker: WorkerHandle;
  let booting: Promise<WorkerHandle> | undefined;
  let registry: HostileRegistry;
  let alice: CosignKey;
  let erin: CosignKey;

  beforeAll(async () => {
    booting = startWorker({ vars: { TAG_CACHE_TTL_SECONDS: "0", TRUST_RECHECK_SECONDS: "0" } });
    alice = makeCosignKey("alice");
    erin = makeCosignKey("erin", "ed25519"); // a failed Ed25519 check also tries Ed25519ph: the dearest case
    registry = await startHostileRegistry({
      // As many as fit the 256 KiB listing cap (registry.artifactManifestBytes); HUGE is over it.
      [LEGACY]: { algorithm: "ecdsa-p256", layers: 800, referrers: 0, signaturesPerBundle: 1 },
      [BUNDLES]: { algorithm: "ed25519", hint: publicKeyHint(erin), layers: 0, referrers: 900, signaturesPerBundle: 500 },
      [HUGE]: { algorithm: "ed25519", layers: 3000, referrers: 4000, signaturesPerBundle: 1 },
      [FAT]: { algorithm: "ed25519", hint: publicKeyHint(erin), layers: 0, referrers: 30, signaturesPerBundle: 5000 },
    });
    worker = await booting;
    const policy = {
      mode: "enforce",
      rules: [
        { pattern: `${registry.host}/${LEGACY}`, require: [{ type: "cosign", keys: [{ name: "alice", key: alice.publicKeyPem }] }] },
        { pattern: `${registry.host}/hostile/*`, require: [{ type: "cosign", keys: [{ name: "erin", key: erin.publicKeyPem }] }] },
      ],
    };
    const put = await callApi(worker.url, "PUT", `/v1/policies/${POLICY}?format=native`, worker.adminToken, policy);
    expect(put.status, JSON.stringify(put.json)).toBe(200);
  }, 180_000);

  afterAll(async () => {
    await (await booting?.catch(() => undefined))?.stop();
    await registry?.close();
  });

  const decide = async (repo: string): Promise<ApiVerdict> => {
    const { status, json } = await callApi(worker.url, "POST", "/v1/decisions", worker.clientToken, { image: `${registry.host}/${repo}:v1`, policy: POLICY });
    expect(status, JSON.stringify(json)).toBe(200);
    return json as ApiVerdict;
  };

  it("denies, names every cap it reached, and keeps answering other requests meanwhile", async () => {
    let decided = false;
    const decisions = Promise.all([decide(LEGACY), decide(BUNDLES), decide(FAT), decide(HUGE)]).finally(() => void (decided = true));
    // Cheap requests while the hostile decisions run: each is answered.
    const health: number[] = [];
    while (!decided && health.length < 200) health.push((await fetch(`${worker.url}/healthz`)).status);
    const [legacy, bundles, fat, huge] = await decisions;
    expect(health.length).toBeGreaterThan(0);
    expect(new Set(health)).toEqual(new Set([200]));

    const show = (v: ApiVerdict) => JSON.stringify(v, null, 1);
    // A deny reached by the checks themselves, not by the decision budget running out.
    expect(legacy.decision, show(legacy)).toBe("deny");
    expect(legacy.reasons.map((r) => r.code), show(legacy)).toEqual(["COSIGN_THRESHOLD_UNMET", "COSIGN_LIMIT_REACHED"]);
    expect(legacy.reasons[1]!.message).toMatch(
      /^only the newest 10 of 800 signatures at 127\.0\.0\.1:\d+\/hostile\/legacy:sha256-[0-9a-f]{64}\.sig were checked \(at most 10 are read\); remove stale signatures/,
    );

    expect(bundles.decision, show(bundles)).toBe("deny");
    expect(bundles.reasons.map((r) => r.code), show(bundles)).toEqual(["COSIGN_THRESHOLD_UNMET", "COSIGN_LIMIT_REACHED", "COSIGN_LIMIT_REACHED", "COSIGN_LIMIT_REACHED"]);
    const notes = bundles.reasons.slice(1).map((r) => r.message);
    expect(notes[0]).toMatch(/^only the first 10 of 900 signature referrers of 127\.0\.0\.1:\d+\/hostile\/bundles@sha256:[0-9a-f]{64} were checked/);
    expect(notes[1]).toBe("10 bundles list up to 500 DSSE signatures; only the first 2 of each were checked (cosign writes one per bundle)");
    // Each bogus Ed25519 signature fails Web Crypto's check; only 6 go on to Ed25519ph in JS.
    expect(notes[2]).toMatch(/^14 Ed25519 signatures were not tried as Ed25519ph: at most 6 per decision are/);
    expect(bundles.reasons[0]!.message).toContain("erin: no matching signatures");

    // Bundles of half a megabyte are not even fetched.
    expect(fat.decision, show(fat)).toBe("deny");
    const unreadable = fat.reasons.filter((r) => r.code === "COSIGN_SIGNATURES_UNREADABLE");
    expect(unreadable).toHaveLength(10);
    expect(unreadable[0]!.message).toMatch(/: the bundle blob is [\d,]+ bytes; at most 65,536 are read/);
    expect(fat.reasons.filter((r) => r.code === "COSIGN_LIMIT_REACHED").map((r) => r.message)).toEqual([
      expect.stringMatching(/^only the first 10 of 30 signature referrers/),
    ]);

    // Listings over 256 KiB are refused unparsed: nothing in them is checked.
    expect(huge.decision, show(huge)).toBe("deny");
    expect(huge.reasons[0], show(huge)).toMatchObject({ code: "REGISTRY_BAD_RESPONSE" });
    expect(huge.reasons[0]!.message).toMatch(/^could not read the cosign signatures of .*: 127\.0\.0\.1:\d+ sent \d+ bytes, more than the 262144 allowed$/);
  });
});
