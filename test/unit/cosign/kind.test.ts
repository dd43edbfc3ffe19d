// The cosign requirement kind through decide(), on the vectors, with a registry served from memory through the fetch port.
import { describe, expect, it } from "vitest";
import { egressFetch } from "../../../src/adapters/egress";
import { decide, type DecideDeps } from "../../../src/decide";
import { parseDocumentText } from "../../../src/policy/document";
import { importConnaisseur } from "../../../src/policy/importers/connaisseur";
import type { Policy } from "../../../src/policy/model";
import { createRequirementKinds } from "../../../src/policy/requirement-kinds";
import type { Cache, DigestResolution } from "../../../src/ports";
import { parseReference } from "../../../src/reference";
import { cosignKind } from "../../../src/requirements/cosign";
import { allowKind } from "../../../src/requirements/static";
import { fakeRegistry, publicKey, vector, type FakeRegistry, type KeyName } from "./vectors";

const IMAGE = "127.0.0.1:5000/demo/app:v1";
const DIGEST = vector("legacy-ecdsa").meta.image.digest;

function memoryCache(): Cache {
  const store = new Map<string, string>();
  return { get: async (k) => store.get(k) ?? null, put: async (k, v) => void store.set(k, v) };
}

function setup(registry: FakeRegistry, trustCache = memoryCache()) {
  const work = { fetch: 0, verify: 0 };
  const clock = { now: () => new Date("2026-11-23T00:00:00Z") };
  const deps: DecideDeps = {
    kinds: createRequirementKinds([allowKind, cosignKind]),
    digests: { resolve: async (): Promise<DigestResolution> => ({ ok: true, digest: DIGEST, cached: false }) },
    verdictCache: memoryCache(),
    verdictTtlSeconds: 300,
    clock,
    verifier: {
      fetch: registry.fetch,
      trustCache,
      clock,
      counter: { count: (kind) => void work[kind]++ },
      settings: { upstreamTimeoutMs: 1000, trustRecheckSeconds: 120, credentials: {} },
    },
  };
  return { deps, work };
}

const keys = (...names: KeyName[]) => names.map((name) => ({ name, key: publicKey(name) }));

let revision = 0;
function run(deps: DecideDeps, requirement: Record<string, unknown>, image = IMAGE, rev = `r${revision++}`) {
  const policy = { mode: "enforce" as const, patternStyle: "native" as const, rules: [{ pattern: "*", require: [{ type: "cosign", ...requirement }] }] };
  return decide({ image, reference: parseReference(image), context: {} }, { id: "p", revision: rev, policy }, deps);
}

const served = (name: string) => fakeRegistry(vector(name).registry);

describe("cosign requirement: legacy signatures", () => {
  it("allows an image signed by the one key", async () => {
    const { deps, work } = setup(served("legacy-ecdsa"));
    const v = await run(deps, { keys: keys("alice") });
    expect(v).toMatchObject({ decision: "allow", digest: DIGEST });
    expect(v.reasons).toEqual([
      expect.objectContaining({ code: "COSIGN_SIGNED", requirement: "cosign", rule: "*", signers: ["alice"], repository: "127.0.0.1:5000/demo/app" }),
    ]);
    expect(work.verify).toBeGreaterThan(0);
  });

  it("denies 2-of-3 when one key did not sign and another's signature is corrupt, with the count", async () => {
    const { deps } = setup(served("legacy-two-of-three"));
    const v = await run(deps, { keys: keys("alice", "bob", "carol"), threshold: 2 });
    expect(v.decision).toBe("deny");
    expect(v.reasons).toHaveLength(1);
    const [reason] = v.reasons;
    expect(reason).toMatchObject({ code: "COSIGN_THRESHOLD_UNMET", signers: ["alice"], threshold: 2 });
    expect(reason!.message).toMatch(/^validation threshold not reached \(1\/2\): valid signatures from alice; bob: no matching signatures \(3 checked\): .*invalid signature when validating ASN\.1 encoded signature/);
    expect(reason!.message).toContain("carol: no matching signatures");
    expect(reason!.failures).toEqual({ bob: expect.any(String), carol: expect.stringContaining("an Ed25519 signature is 64 bytes") });
    // mallory's valid signature counts for nobody the policy trusts; with a threshold of 1 alice suffices.
    expect((await run(deps, { keys: keys("alice", "bob", "carol"), threshold: 1 })).decision).toBe("allow");
  });

  it("denies when a required signer is missing, naming it", async () => {
    const { deps } = setup(served("legacy-two-of-three"));
    const v = await run(deps, { keys: keys("alice", "bob"), required: ["bob"] });
    expect(v.decision).toBe("deny");
    expect(v.reasons).toEqual([
      expect.objectContaining({ code: "COSIGN_REQUIRED_SIGNER_MISSING", missing: ["bob"], message: expect.stringMatching(/^missing required signatures from \[bob\]: valid signatures from alice; bob: no matching signatures/) }),
    ]);
  });

  it("counts one public key listed under two names as one signer, and verifies it once", async () => {
    const { deps, work } = setup(served("legacy-ecdsa"));
    const twice = [...keys("alice"), { name: "alice-again", key: publicKey("alice") }];
    const v = await run(deps, { keys: twice, threshold: 2 });
    expect(v.decision).toBe("deny");
    expect(v.reasons).toEqual([
      expect.objectContaining({
        code: "COSIGN_THRESHOLD_UNMET",
        signers: ["alice", "alice-again"],
        message: expect.stringMatching(/^validation threshold not reached \(1\/2\): valid signatures from alice, alice-again \(1 distinct key/),
      }),
    ]);
    expect(work.verify).toBe(1);
    // A threshold of 1: either name is enough.
    expect((await run(deps, { keys: twice, threshold: 1 })).decision).toBe("allow");
  });

  it("denies a signature made for another digest (cosign's claim check)", async () => {
    const { deps } = setup(served("legacy-other-digest"));
    const v = await run(deps, { keys: keys("alice") });
    expect(v.decision).toBe("deny");
    expect(v.reasons[0]).toMatchObject({ code: "COSIGN_THRESHOLD_UNMET" });
    expect(v.reasons[0]!.message).toContain(`invalid or missing digest in claim: ${vector("legacy-other-digest").meta.otherDigest}`);
  });

  it("denies a raw r‖s signature, an unknown key's, and a payload blob the registry swapped", async () => {
    for (const [name, words] of [
      ["legacy-raw-signature", "raw 64-byte r‖s"],
      ["legacy-unknown-key", "invalid signature when validating ASN.1 encoded signature"],
    ] as const) {
      const { deps } = setup(served(name));
      const v = await run(deps, { keys: keys("alice") });
      expect(v.decision, name).toBe("deny");
      expect(v.reasons[0]!.message, name).toContain(words);
    }
    const { deps } = setup(served("legacy-blob-mismatch"));
    const v = await run(deps, { keys: keys("alice") });
    expect(v.decision).toBe("deny");
    expect(v.reasons.map((r) => r.code)).toEqual(["COSIGN_THRESHOLD_UNMET", "COSIGN_SIGNATURES_UNREADABLE"]);
    expect(v.reasons[1]!.message).toMatch(/layer 0 of 127\.0\.0\.1:5000\/demo\/app: registry 127\.0\.0\.1:5000 served blob sha256:\S+ of demo\/app with bytes that hash to/);
  });

  it("accepts Ed25519 signatures, pure and prehashed", async () => {
    const { deps } = setup(served("legacy-ed25519"));
    expect((await run(deps, { keys: keys("carol") })).decision).toBe("allow");
  });

  it("looks in signatureRepository (COSIGN_REPOSITORY) when given", async () => {
    const { deps } = setup(served("legacy-signature-repository"));
    expect((await run(deps, { keys: keys("alice") })).reasons[0]!.code).toBe("COSIGN_NO_SIGNATURES");
    expect((await run(deps, { keys: keys("alice"), signatureRepository: "127.0.0.1:5000/demo/signatures" })).decision).toBe("allow");
    const bad = await run(deps, { keys: keys("alice"), signatureRepository: "127.0.0.1:5000/demo/signatures:v1" });
    expect(bad.reasons[0]).toMatchObject({ code: "VERIFICATION_ERROR", message: expect.stringContaining("without tag or digest") });
  });

  it("ignores the payload's repository unless signedIdentity asks", async () => {
    const { deps } = setup(served("legacy-other-repository"));
    expect((await run(deps, { keys: keys("alice") })).decision).toBe("allow");
    const v = await run(deps, { keys: keys("alice"), signedIdentity: { type: "matchRepository" } });
    expect(v.decision).toBe("deny");
    expect(v.reasons[0]!.message).toContain('signature for identity "127.0.0.1:5000/demo/other" is not accepted for 127.0.0.1:5000/demo/app (matchRepository)');
    expect((await run(deps, { keys: keys("alice"), signedIdentity: { type: "exactRepository", dockerRepository: "127.0.0.1:5000/demo/other" } })).decision).toBe("allow");
  });

  it("says no signatures found when the registry has none", async () => {
    const { deps } = setup(fakeRegistry());
    const v = await run(deps, { keys: keys("alice") });
    expect(v.reasons).toEqual([
      expect.objectContaining({
        code: "COSIGN_NO_SIGNATURES",
        message: `no signatures found for 127.0.0.1:5000/demo/app@${DIGEST}: neither 127.0.0.1:5000/demo/app:${DIGEST.replace(":", "-")}.sig nor a referrer of type application/vnd.dev.sigstore.bundle.v0.3+json`,
      }),
    ]);
  });

  it("turns a key that is no usable public key into a verification error", async () => {
    const { deps } = setup(served("legacy-ecdsa"));
    const v = await run(deps, { keys: [{ name: "x", key: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----" }] });
    expect(v.reasons[0]).toMatchObject({ code: "VERIFICATION_ERROR", message: expect.stringContaining("key x: expected a PEM PUBLIC KEY") });
  });
});

describe("cosign requirement: v3 bundles", () => {
  it("allows a bundle found through the referrers API", async () => {
    const registry = served("bundle-referrers");
    const { deps } = setup(registry);
    expect((await run(deps, { keys: keys("alice") })).decision).toBe("allow");
    expect(registry.requests).toContain(`/v2/demo/app/referrers/${DIGEST}?artifactType=application%2Fvnd.dev.sigstore.bundle.v0.3%2Bjson`);
    expect(registry.requests).not.toContain(`/v2/demo/app/manifests/${DIGEST.replace(":", "-")}`);
  });

  it("falls back to the sha256-<hex> tag without a referrers API, and counts both signers", async () => {
    const registry = served("bundle-fallback-tag");
    const { deps } = setup(registry);
    const v = await run(deps, { keys: keys("alice", "carol", "bob"), threshold: 2, required: ["carol"] });
    expect(v.decision).toBe("allow");
    expect(v.reasons[0]).toMatchObject({ code: "COSIGN_SIGNED", signers: ["alice", "carol"] });
    expect(registry.requests).toContain(`/v2/demo/app/manifests/${DIGEST.replace(":", "-")}`);
  });

  it("reads what cosign 3 leaves without a referrers API: fallback entries typed as the empty config, or untyped (cosign#4641)", async () => {
    const registry = served("bundle-fallback-ggcr");
    const { deps } = setup(registry);
    const v = await run(deps, { keys: keys("alice", "carol"), threshold: 2 });
    expect(v.decision).toBe("allow");
    // The SBOM listed without its type was looked at, and is no signature: nothing unreadable.
    expect(v.reasons).toEqual([expect.objectContaining({ code: "COSIGN_SIGNED", signers: ["alice", "carol"] })]);
  });

  it("denies a bundle whose statement names another digest", async () => {
    const { deps } = setup(served("bundle-other-subject"));
    const v = await run(deps, { keys: keys("alice") });
    expect(v.decision).toBe("deny");
    expect(v.reasons[0]!.message).toContain("no matching subject digest found");
  });

  it("refuses a bundle under signedIdentity: it names no docker reference", async () => {
    const { deps } = setup(served("bundle-referrers"));
    const v = await run(deps, { keys: keys("alice"), signedIdentity: { type: "matchRepository" } });
    expect(v.decision).toBe("deny");
    expect(v.reasons[0]!.message).toContain("names no docker reference");
  });

  it("counts a legacy signature and a bundle by different keys together", async () => {
    const registry = fakeRegistry(vector("legacy-ecdsa").registry, vector("bundle-fallback-tag").registry);
    const { deps } = setup(registry);
    const v = await run(deps, { keys: keys("alice", "carol"), threshold: 2 });
    expect(v.decision).toBe("allow");
  });
});

describe("cosign requirement: caching and failures", () => {
  it("decides warm with no fetch and no verification: from the verdict cache, and from the trust cache for another policy revision", async () => {
    const { deps, work } = setup(served("legacy-ecdsa"));
    const first = await run(deps, { keys: keys("alice") }, IMAGE, "warm-1");
    expect(first.decision).toBe("allow");
    expect(work.fetch).toBeGreaterThan(0);
    expect(work.verify).toBeGreaterThan(0);

    work.fetch = work.verify = 0;
    const again = await run(deps, { keys: keys("alice") }, IMAGE, "warm-1");
    expect(again).toMatchObject({ decision: "allow", cached: true });
    const otherRevision = await run(deps, { keys: keys("alice") }, IMAGE, "warm-2");
    expect(otherRevision).toMatchObject({ decision: "allow", cached: false });
    expect(otherRevision.reasons[0]).toMatchObject({ code: "COSIGN_SIGNED", rule: "*", requirement: "cosign" });
    expect(work).toEqual({ fetch: 0, verify: 0 });

    // Another key set is another question.
    await run(deps, { keys: keys("alice", "bob") }, IMAGE, "warm-3");
    expect(work.fetch).toBeGreaterThan(0);
  });

  it("keeps the verdict under the key deployed caches hold, for the re-check interval, not KV's minimum", async () => {
    const store = new Map<string, string>();
    const asked: [string, number][] = [];
    const trustCache: Cache = { get: async (k) => store.get(k) ?? null, put: async (k, v, o) => void (asked.push([k, o.ttlSeconds]), store.set(k, v)) };
    const { deps } = setup(served("legacy-ecdsa"), trustCache);
    const short = { ...deps, verifier: { ...deps.verifier, settings: { ...deps.verifier.settings, trustRecheckSeconds: 30 } } };
    expect((await run(short, { keys: keys("alice") })).decision).toBe("allow");
    expect(asked).toEqual([["cosign:verdict:v1:a2e3bf95a53b7cd75886aef289223754e09899d28b0a4933ac9fb392d03190f0", 30]]);
  });

  it("reads a verdict stored without a check time (as cosign wrote them before the shared outcome cache)", async () => {
    const store = new Map<string, string>();
    const trustCache: Cache = { get: async (k) => store.get(k) ?? null, put: async (k, v) => void store.set(k, v) };
    const { deps, work } = setup(served("legacy-ecdsa"), trustCache);
    expect((await run(deps, { keys: keys("alice") })).decision).toBe("allow");
    const [key, written] = [...store.entries()].find(([k]) => k.startsWith("cosign:verdict:v1:"))!;
    const { checkedAt: _checkedAt, ...older } = JSON.parse(written) as Record<string, unknown>;
    store.set(key, JSON.stringify(older));
    work.verify = 0;
    const v = await run(deps, { keys: keys("alice") });
    expect(v.reasons[0]).toMatchObject({ code: "COSIGN_SIGNED", rule: "*", requirement: "cosign" });
    expect(work.verify).toBe(0);
  });

  it("a stored verdict that is not one is a miss: verified afresh and overwritten, never a deny", async () => {
    const far = new Date("2026-11-23T01:00:00Z").getTime();
    const garbage = [
      "not json",
      '{"satisfied":true,"reasons":[{"code":"COSIGN_SIG', // truncated
      "null",
      "7",
      JSON.stringify({ until: far }),
      JSON.stringify({ satisfied: false, until: far }),
      JSON.stringify({ satisfied: false, reasons: [{ code: "COSIGN_NO_SIGNATURES" }], until: far }),
      JSON.stringify({ satisfied: "yes", reasons: [{ code: "COSIGN_SIGNED", message: "x" }], until: far }),
      JSON.stringify({ satisfied: false, reasons: [{ code: "COSIGN_NO_SIGNATURES", message: "x" }], until: "later" }),
    ];
    for (const entry of garbage) {
      const store = new Map<string, string>();
      const trustCache: Cache = { get: async (k) => store.get(k) ?? null, put: async (k, v) => void store.set(k, v) };
      const { deps, work } = setup(served("legacy-ecdsa"), trustCache);
      expect((await run(deps, { keys: keys("alice") })).decision).toBe("allow");
      const key = [...store.keys()].find((k) => k.startsWith("cosign:verdict:v1:"))!;
      store.set(key, entry);
      work.verify = 0;
      const v = await run(deps, { keys: keys("alice") });
      expect(v.decision, entry).toBe("allow");
      expect(v.reasons[0]!.code, entry).toBe("COSIGN_SIGNED");
      expect(work.verify, entry).toBeGreaterThan(0);
      expect(JSON.parse(store.get(key)!), entry).toMatchObject({ satisfied: true });
    }
  });

  it("never caches a deny caused by an unreachable registry", async () => {
    const registry = served("legacy-ecdsa");
    const { deps } = setup(registry);
    registry.fail(503);
    const down = await run(deps, { keys: keys("alice") }, IMAGE, "flaky");
    expect(down.decision).toBe("deny");
    expect(down.reasons[0]).toMatchObject({ code: "REGISTRY_UNREACHABLE", message: expect.stringContaining("could not read the cosign signatures") });
    registry.fail(undefined);
    expect((await run(deps, { keys: keys("alice") }, IMAGE, "flaky")).decision).toBe("allow");
  });

  it("allows on the signatures it could read when they suffice, though the referrers API failed", async () => {
    const registry = served("legacy-ecdsa");
    const failingReferrers = async (req: Request) =>
      new URL(req.url).pathname.includes("/referrers/") ? new Response("busy", { status: 503 }) : registry.fetch(req);
    const { deps, work } = setup({ ...registry, fetch: failingReferrers });
    expect((await run(deps, { keys: keys("alice") }, IMAGE, "partial-1")).decision).toBe("allow");
    work.fetch = 0;
    expect((await run(deps, { keys: keys("alice") }, IMAGE, "partial-2")).decision).toBe("allow");
    expect(work.fetch).toBe(0);
    // Not enough: the deny names the registry and is not reused.
    const deny = await run(deps, { keys: keys("alice", "bob"), threshold: 2 }, IMAGE, "partial-3");
    expect(deny.reasons.map((r) => r.code)).toEqual(["COSIGN_THRESHOLD_UNMET", "REGISTRY_UNREACHABLE"]);
    work.fetch = 0;
    await run(deps, { keys: keys("alice", "bob"), threshold: 2 }, IMAGE, "partial-3");
    expect(work.fetch).toBeGreaterThan(0);
  });

  it("a deny resting on an egress refusal stays with its rule: another rule naming the registry still verifies", async () => {
    const registry = served("legacy-ecdsa");
    // Loopback turned off, as in production: 127.0.0.1:5000 is reachable only where a rule names it.
    const guarded = egressFetch(registry.fetch, { allowLoopback: false, namedHosts: [], maxRedirects: 3 });
    const { deps } = setup({ ...registry, fetch: guarded });
    const requirement = { type: "cosign", keys: keys("alice") };
    const under = (pattern: string, rev: string) =>
      decide(
        { image: IMAGE, reference: parseReference(IMAGE), context: {} },
        { id: "p", revision: rev, policy: { mode: "enforce", patternStyle: "native", rules: [{ pattern, require: [requirement] }] } },
        deps,
      );
    const refused = await under("*", "egress-wild");
    expect(refused.decision).toBe("deny");
    expect(refused.reasons[0]!.message).toMatch(/refused to contact 127\.0\.0\.1:5000: loopback upstreams are disabled/);
    // Lasting for its rule: the same decision is answered from the verdict cache.
    expect(await under("*", "egress-wild")).toMatchObject({ decision: "deny", cached: true });
    // The trust cache is shared by rules with the same keys: it must not carry that deny to this one.
    const named = await under("127.0.0.1:5000/demo/*", "egress-named");
    expect(named).toMatchObject({ decision: "allow", cached: false });
  });

  it("denies, and caches, a registry that refuses access", async () => {
    const registry = served("legacy-ecdsa");
    const { deps, work } = setup(registry);
    registry.fail(401);
    const v = await run(deps, { keys: keys("alice") }, IMAGE, "refused-1");
    expect(v.reasons.map((r) => r.code)).toEqual(["REGISTRY_AUTH_FAILED", "REGISTRY_AUTH_FAILED"]);
    expect(v.reasons[0]!.message).toContain("refused access to demo/app (HTTP 401)");
    // A configuration problem, not a passing one: it decides until the trust recheck.
    registry.fail(undefined);
    work.fetch = 0;
    expect((await run(deps, { keys: keys("alice") }, IMAGE, "refused-2")).decision).toBe("deny");
    expect(work.fetch).toBe(0);
  });
});

describe("cosign requirement: imported from Connaisseur", () => {
  const indent = (pem: string) => pem.trim().split("\n").join("\n            ");
  const values = (threshold: number) => `
application:
  validators:
    - name: multicosigner
      type: cosign
      trustRoots:
        - name: alice
          key: |
            ${indent(publicKey("alice"))}
        - name: bob
          key: |
            ${indent(publicKey("bob"))}
        - name: carol
          key: |
            ${indent(publicKey("carol"))}
  policy:
    - pattern: "127.0.0.1:5000/demo/*:*"
      validator: multicosigner
      with:
        trustRoot: "*"
        threshold: ${threshold}
        verifyInTransparencyLog: false
`;

  function decideWith(policy: Policy, deps: DecideDeps) {
    return decide({ image: IMAGE, reference: parseReference(IMAGE), context: {} }, { id: "connaisseur", revision: `c${revision++}`, policy }, deps);
  }

  it("decides a Connaisseur 3 multi-signature rule as Connaisseur words it", async () => {
    const kinds = createRequirementKinds([allowKind, cosignKind]);
    const { deps } = setup(served("legacy-two-of-three"));
    const two = importConnaisseur(parseDocumentText(values(2)).value, kinds);
    const denied = await decideWith(two, deps);
    expect(denied.decision).toBe("deny");
    expect(denied.reasons[0]!.message).toMatch(/^validation threshold not reached \(1\/2\)/);
    const one = importConnaisseur(parseDocumentText(values(1)).value, kinds);
    expect((await decideWith(one, deps)).decision).toBe("allow");
  });
});
