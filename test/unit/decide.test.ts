// The decision core: rule choice, digest need, fail-closed paths, audit mode, verdict caching.
import { describe, expect, it, vi } from "vitest";
import * as z from "../../src/schema";
import { egressFetch } from "../../src/adapters/egress";
import { decide, inFlightVerifications, type DecideDeps, type PolicyView } from "../../src/decide";
import type { Policy } from "../../src/policy/model";
import { createRequirementKinds, type RequirementKind } from "../../src/policy/requirement-kinds";
import type { Cache, DigestResolution, NamedUpstreams } from "../../src/ports";
import { parseReference } from "../../src/reference";
import { allowKind, denyKind } from "../../src/requirements/static";

const D1 = `sha256:${"1".repeat(64)}`;

/** A stand-in verifying kind: passes when the digest is on its list, counts its work. */
function listKind(calls: { n: number }, opts: { throws?: boolean; transient?: boolean } = {}): RequirementKind<{ type: "listed"; digests: string[] }> {
  return {
    type: "listed",
    schema: z.strictObject({ type: z.literal("listed"), digests: z.array(z.string()) }),
    digest: "required",
    async evaluate(req, ctx) {
      calls.n++;
      if (opts.throws) throw new Error("trust server exploded");
      const ok = req.digests.includes(ctx.digest!);
      return {
        satisfied: ok && !opts.transient,
        cacheable: !opts.transient,
        reasons: ok ? [] : [{ code: "STATIC_DENY", message: `${ctx.digest} is not listed`, rule: ctx.rule, requirement: "listed" }],
      };
    },
  };
}

function memoryCache(): Cache & { store: Map<string, string> } {
  const store = new Map<string, string>();
  return { store, get: async (k) => store.get(k) ?? null, put: async (k, v) => void store.set(k, v) };
}

function setup(policy: Omit<Policy, "patternStyle">, resolution: DigestResolution, kind = listKind({ n: 0 })) {
  let resolves = 0;
  const verdictCache = memoryCache();
  const deps: DecideDeps = {
    kinds: createRequirementKinds([allowKind, denyKind, kind]),
    digests: { resolve: async () => (resolves++, resolution) },
    verdictCache,
    verdictTtlSeconds: 300,
    verifier: {
      fetch: async () => {
        throw new Error("no network in unit tests");
      },
      trustCache: memoryCache(),
      clock: { now: () => new Date("2026-11-22T12:00:00Z") },
      counter: { count: () => {} },
      settings: { upstreamTimeoutMs: 1000, trustRecheckSeconds: 60, credentials: {} },
    },
    clock: { now: () => new Date("2026-11-22T12:00:00Z") },
  };
  let rev = 0;
  const view = (p = policy): PolicyView => ({ id: "p", revision: `rev-${JSON.stringify(p).length}-${rev++}`, policy: { patternStyle: "native", ...p } });
  return { deps, view, resolves: () => resolves, verdictCache };
}

const ok: DigestResolution = { ok: true, digest: D1, cached: false };
const input = (image: string) => ({ image, reference: parseReference(image), context: {} });

describe("decide", () => {
  it("resolves the digest for a verifying kind and allows when it holds", async () => {
    const { deps, view, resolves } = setup({ mode: "enforce", rules: [{ pattern: "*", require: [{ type: "listed", digests: [D1] }] }] }, ok);
    const v = await decide(input("127.0.0.1:5000/a/b:v1"), view(), deps);
    expect(v).toMatchObject({ decision: "allow", allowed: true, digest: D1, rule: "*", cached: false, evaluatedAt: "2026-11-22T12:00:00.000Z" });
    expect(resolves()).toBe(1);
  });

  it("denies with the registry's reason when a required digest cannot be resolved", async () => {
    const down: DigestResolution = { ok: false, transient: true, reason: { code: "REGISTRY_UNREACHABLE", message: "127.0.0.1:5000 could not be reached" } };
    const { deps, view } = setup({ mode: "enforce", rules: [{ pattern: "*", require: [{ type: "listed", digests: [D1] }] }] }, down);
    const v = await decide(input("127.0.0.1:5000/a/b:v1"), view(), deps);
    expect(v).toMatchObject({ decision: "deny", digest: null, rule: "*" });
    expect(v.reasons).toEqual([{ code: "REGISTRY_UNREACHABLE", message: "127.0.0.1:5000 could not be reached", rule: "*" }]);
  });

  it("never contacts the registry for a static deny", async () => {
    const { deps, view, resolves } = setup({ mode: "enforce", rules: [{ pattern: "*", require: [{ type: "deny" }] }] }, ok);
    const v = await decide(input("127.0.0.1:5000/a/b:v1"), view(), deps);
    expect(v.decision).toBe("deny");
    expect(v.digest).toBeNull();
    expect(resolves()).toBe(0);
  });

  it("needs every requirement of the rule to hold", async () => {
    const { deps, view } = setup(
      { mode: "enforce", rules: [{ pattern: "*", require: [{ type: "allow" }, { type: "listed", digests: ["sha256:other"] }] }] },
      ok,
    );
    const v = await decide(input("127.0.0.1:5000/a/b:v1"), view(), deps);
    expect(v.decision).toBe("deny");
    expect(v.reasons.map((r) => r.code)).toEqual(["STATIC_ALLOW", "STATIC_DENY"]);
  });

  it("fails closed when a verifier throws, and does not cache that", async () => {
    const calls = { n: 0 };
    const { deps, view, verdictCache } = setup(
      { mode: "enforce", rules: [{ pattern: "*", require: [{ type: "listed", digests: [D1] }] }] },
      ok,
      listKind(calls, { throws: true }),
    );
    const v = await decide(input("127.0.0.1:5000/a/b:v1"), view(), deps);
    expect(v.decision).toBe("deny");
    expect(v.reasons[0]).toMatchObject({ code: "VERIFICATION_ERROR", requirement: "listed" });
    expect(v.reasons[0]!.message).toContain("trust server exploded");
    expect(verdictCache.store.size).toBe(0);
  });

  it("fails closed on a requirement type this build does not know", async () => {
    const { deps, view } = setup({ mode: "enforce", rules: [{ pattern: "*", require: [{ type: "future-kind" }] }] }, ok);
    const v = await decide(input(`127.0.0.1:5000/a/b@${D1}`), view(), deps);
    expect(v.decision).toBe("deny");
    expect(v.reasons[0]!.code).toBe("REQUIREMENT_UNAVAILABLE");
  });

  it("caches a verified verdict by (revision, rule, repository, tag, digest): the warm decision verifies nothing", async () => {
    const calls = { n: 0 };
    const policy = { mode: "enforce" as const, rules: [{ pattern: "*", require: [{ type: "listed", digests: [D1] }] }] };
    const { deps, view } = setup(policy, ok, listKind(calls));
    const pv = view();
    const cold = await decide(input("127.0.0.1:5000/a/b:v1"), pv, deps);
    const warm = await decide(input("127.0.0.1:5000/a/b:v1"), pv, deps);
    expect(calls.n).toBe(1);
    expect(cold.cached).toBe(false);
    expect(warm).toMatchObject({ cached: true, decision: "allow", digest: D1 });
    // another repository with the same digest is decided afresh
    await decide(input("127.0.0.1:5000/a/c:v1"), pv, deps);
    expect(calls.n).toBe(2);
    // a new revision of the policy is decided afresh
    await decide(input("127.0.0.1:5000/a/b:v1"), view(), deps);
    expect(calls.n).toBe(3);
    // another tag of the same digest is decided afresh: the tag is part of what is verified
    // (Notary signs tags, matchExact compares them)
    const other = await decide(input("127.0.0.1:5000/a/b:latest"), pv, deps);
    expect(other.cached).toBe(false);
    expect(calls.n).toBe(4);
    // and a digest reference of that digest too
    await decide(input(`127.0.0.1:5000/a/b@${D1}`), pv, deps);
    expect(calls.n).toBe(5);
  });

  it("never caches an outcome marked transient", async () => {
    const calls = { n: 0 };
    const { deps, view } = setup(
      { mode: "enforce", rules: [{ pattern: "*", require: [{ type: "listed", digests: [D1] }] }] },
      ok,
      listKind(calls, { transient: true }),
    );
    const pv = view();
    await decide(input("127.0.0.1:5000/a/b:v1"), pv, deps);
    await decide(input("127.0.0.1:5000/a/b:v1"), pv, deps);
    expect(calls.n).toBe(2);
  });

  it("allows in audit mode, keeping the deny reasons and saying so", async () => {
    const { deps, view } = setup({ mode: "audit", rules: [{ pattern: "*", require: [{ type: "deny", message: "no" }] }] }, ok);
    const v = await decide(input("127.0.0.1:5000/a/b:v1"), view(), deps);
    expect(v).toMatchObject({ decision: "allow", allowed: true, mode: "audit" });
    expect(v.reasons.map((r) => r.code)).toEqual(["STATIC_DENY", "AUDIT_MODE"]);
  });

  it("denies NO_MATCHING_RULE, and allows it in audit mode", async () => {
    const policy = { mode: "enforce" as const, rules: [{ pattern: "quay.io/*", require: [{ type: "allow" }] }] };
    const { deps, view } = setup(policy, ok);
    expect((await decide(input("127.0.0.1:5000/a/b:v1"), view(), deps)).reasons[0]!.code).toBe("NO_MATCHING_RULE");
    expect((await decide(input("127.0.0.1:5000/a/b:v1"), view({ ...policy, mode: "audit" }), deps)).decision).toBe("allow");
  });

  it("shares one verification between concurrent identical cold decisions (singleflight)", async () => {
    const calls = { n: 0 };
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const slow = listKind(calls);
    const kind: typeof slow = { ...slow, evaluate: async (req, ctx) => (await gate, slow.evaluate(req, ctx)) };
    const { deps, view } = setup({ mode: "enforce", rules: [{ pattern: "*", require: [{ type: "listed", digests: [D1] }] }] }, ok, kind);
    const pv = view();
    // Identical means the same reference: a digest reference of that digest is another question.
    const pending = [0, 1, 2].map(() => decide(input("127.0.0.1:5000/a/b:v1"), pv, deps));
    await new Promise((r) => setTimeout(r, 10));
    expect(inFlightVerifications()).toBe(1);
    release();
    const verdicts = await Promise.all(pending);
    expect(calls.n).toBe(1);
    for (const v of verdicts) expect(v).toMatchObject({ decision: "allow", digest: D1, rule: "*" });
    expect(verdicts.map((v) => v.image)).toEqual(["127.0.0.1:5000/a/b:v1", "127.0.0.1:5000/a/b:v1", "127.0.0.1:5000/a/b:v1"]);
    // Removed when settled: nothing stays in flight, and later decisions use the verdict cache.
    expect(inFlightVerifications()).toBe(0);
    expect(await decide(input("127.0.0.1:5000/a/b:v1"), pv, deps)).toMatchObject({ cached: true });
    expect(calls.n).toBe(1);
    // A different repository is its own verification.
    await decide(input("127.0.0.1:5000/a/c:v1"), pv, deps);
    expect(calls.n).toBe(2);
  });

  it("shares a failing verification too, caches nothing, and frees the slot for the next try", async () => {
    const calls = { n: 0 };
    const { deps, view, verdictCache } = setup(
      { mode: "enforce", rules: [{ pattern: "*", require: [{ type: "listed", digests: [D1] }] }] },
      ok,
      listKind(calls, { throws: true }),
    );
    const pv = view();
    const both = await Promise.all([decide(input("127.0.0.1:5000/a/b:v1"), pv, deps), decide(input("127.0.0.1:5000/a/b:v1"), pv, deps)]);
    expect(calls.n).toBe(1);
    for (const v of both) expect(v.reasons[0]).toMatchObject({ code: "VERIFICATION_ERROR" });
    expect(verdictCache.store.size).toBe(0);
    expect(inFlightVerifications()).toBe(0);
    await decide(input("127.0.0.1:5000/a/b:v1"), pv, deps);
    expect(calls.n).toBe(2);
  });

  it("denies, naming what was slow, when the decision budget runs out (never an allow, never a throw)", async () => {
    const calls = { n: 0 };
    const slow = listKind(calls);
    const hang: typeof slow = { ...slow, evaluate: () => new Promise(() => {}) };
    const { deps, view, verdictCache } = setup({ mode: "enforce", rules: [{ pattern: "*", require: [{ type: "listed", digests: [D1] }] }] }, ok, hang);
    const started = Date.now();
    const v = await decide(input("127.0.0.1:5000/a/b:v1"), view(), { ...deps, budgetMs: 50 });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(v).toMatchObject({ decision: "deny", allowed: false, cached: false });
    expect(v.reasons).toHaveLength(1);
    expect(v.reasons[0]).toMatchObject({ code: "VERIFICATION_ERROR" });
    expect(v.reasons[0]!.message).toBe("the decision took longer than 50 ms: still waiting for the listed requirement at registry 127.0.0.1:5000 (verifying)");
    expect(verdictCache.store.size).toBe(0);
    expect(inFlightVerifications()).toBe(0);
  });

  it("names the upstream a requirement names when the budget runs out waiting for it", async () => {
    const slow = listKind({ n: 0 });
    const hang: typeof slow = { ...slow, evaluate: () => new Promise(() => {}), upstreams: () => ["127.0.0.1:4443"] };
    const { deps, view } = setup({ mode: "enforce", rules: [{ pattern: "*", require: [{ type: "listed", digests: [D1] }] }] }, ok, hang);
    const v = await decide(input(`127.0.0.1:5000/a/b@${D1}`), view(), { ...deps, budgetMs: 30 });
    expect(v.reasons[0]!.message).toBe("the decision took longer than 30 ms: still waiting for the listed requirement at 127.0.0.1:4443 (verifying)");
  });

  it("a verification that outlives its budget does not hold later decisions hostage", async () => {
    const calls = { n: 0 };
    let hung = true;
    const base = listKind(calls);
    const kind: typeof base = { ...base, evaluate: (req, ctx) => (hung ? new Promise(() => {}) : base.evaluate(req, ctx)) };
    const { deps, view } = setup({ mode: "enforce", rules: [{ pattern: "*", require: [{ type: "listed", digests: [D1, "x"] }] }] }, ok, kind);
    const pv = view();
    const first = await decide(input("127.0.0.1:5000/a/b:v1"), pv, { ...deps, budgetMs: 30 });
    expect(first.decision).toBe("deny");
    hung = false;
    const second = await decide(input("127.0.0.1:5000/a/b:v1"), pv, { ...deps, budgetMs: 1_000 });
    expect(second).toMatchObject({ decision: "allow", cached: false });
  });

  it("names a slow registry when the digest resolution eats the budget", async () => {
    const { deps, view } = setup({ mode: "enforce", rules: [{ pattern: "*", require: [{ type: "listed", digests: [D1] }] }] }, ok);
    const stuck: DecideDeps = { ...deps, budgetMs: 30, digests: { resolve: () => new Promise(() => {}) } };
    const v = await decide(input("127.0.0.1:5000/a/b:v1"), view(), stuck);
    expect(v.decision).toBe("deny");
    expect(v.reasons[0]!.message).toBe(
      "the decision took longer than 30 ms: still resolving the digest of 127.0.0.1:5000/a/b:v1 at registry 127.0.0.1:5000",
    );
  });

  it("a budget overrun in audit mode is allowed, and says both why and that it is audit mode", async () => {
    const { deps, view } = setup({ mode: "audit", rules: [{ pattern: "*", require: [{ type: "listed", digests: [D1] }] }] }, ok);
    const stuck: DecideDeps = { ...deps, budgetMs: 30, digests: { resolve: () => new Promise(() => {}) } };
    const v = await decide(input("127.0.0.1:5000/a/b:v1"), view(), stuck);
    expect(v).toMatchObject({ decision: "allow", mode: "audit" });
    expect(v.reasons.map((r) => r.code)).toEqual(["VERIFICATION_ERROR", "AUDIT_MODE"]);
  });

  it("a failing verdict cache is a miss, not a 500", async () => {
    const calls = { n: 0 };
    const { deps, view } = setup({ mode: "enforce", rules: [{ pattern: "*", require: [{ type: "listed", digests: [D1] }] }] }, ok, listKind(calls));
    const broken: DecideDeps = {
      ...deps,
      verdictCache: {
        get: async () => {
          throw new Error("KV down");
        },
        put: async () => {
          throw new Error("KV down");
        },
      },
    };
    const v = await decide(input("127.0.0.1:5000/a/b:v1"), view(), broken);
    expect(v).toMatchObject({ decision: "allow", cached: false });
    expect(calls.n).toBe(1);
  });

  it("a resolver that throws is a deny, not a 500", async () => {
    const { deps, view } = setup({ mode: "enforce", rules: [{ pattern: "*", require: [{ type: "listed", digests: [D1] }] }] }, ok);
    const v = await decide(input("127.0.0.1:5000/a/b:v1"), view(), {
      ...deps,
      digests: {
        resolve: async () => {
          throw new TypeError("boom");
        },
      },
    });
    expect(v.decision).toBe("deny");
    expect(v.reasons[0]).toMatchObject({ code: "VERIFICATION_ERROR", message: "the decision could not be completed: boom" });
  });
});

describe("decide: hosts the matching rule names", () => {
  /** Contacts `upstream` through the decision's fetch port: satisfied when the guard let it through. */
  function probeKind(seen: { deps: unknown[] }): RequirementKind<{ type: "probe"; upstream: string; names?: string[] }> {
    return {
      type: "probe",
      schema: z.strictObject({ type: z.literal("probe"), upstream: z.string(), names: z.optional(z.array(z.string())) }),
      digest: "required",
      upstreams: (req) => req.names ?? [],
      async evaluate(req, ctx) {
        seen.deps.push(ctx.deps);
        try {
          await ctx.deps.fetch(new Request(req.upstream));
          return { satisfied: true, cacheable: true, reasons: [] };
        } catch (err) {
          return { satisfied: false, cacheable: true, reasons: [{ code: "STATIC_DENY", message: (err as Error).message, rule: ctx.rule }] };
        }
      },
    };
  }

  function world() {
    const contacted: string[] = [];
    const fetch = egressFetch(async (req) => (contacted.push(req.url), new Response("ok")));
    const resolved: (NamedUpstreams | undefined)[] = [];
    const seen = { deps: [] as unknown[] };
    const { deps, view } = setup({ mode: "enforce", rules: [] }, ok);
    const wired: DecideDeps = {
      ...deps,
      kinds: createRequirementKinds([allowKind, probeKind(seen)]),
      digests: { resolve: async (_ref, upstreams) => (resolved.push(upstreams), ok) },
      verifier: { ...deps.verifier, fetch },
    };
    const decideUnder = (pattern: string, image: string, requirement: Record<string, unknown>) =>
      decide(input(image), view({ mode: "enforce", rules: [{ pattern, require: [{ type: "probe", ...requirement }] }] }), wired);
    return { contacted, resolved, seen, fetch, wired, decideUnder };
  }

  it("a rule naming a private registry literally: the digest resolver is told, and the verifiers may contact it", async () => {
    const w = world();
    const v = await w.decideUnder("10.0.0.5:5000/app/*", "10.0.0.5:5000/app/web:v1", { upstream: "https://10.0.0.5:5000/v2/" });
    expect(v.decision).toBe("allow");
    expect(w.resolved).toEqual([["10.0.0.5:5000"]]);
    expect(w.contacted).toEqual(["https://10.0.0.5:5000/v2/"]);
    expect(w.seen.deps[0]).not.toBe(w.wired.verifier);
    expect((w.seen.deps[0] as DecideDeps["verifier"]).fetch).toBe(w.fetch.naming!(["10.0.0.5:5000"]));
  });

  it("a wildcard rule names nothing: the same address is refused before any connection", async () => {
    const w = world();
    for (const pattern of ["*:5000/*", "10.0.0.5:*/app/*", "*"]) {
      const v = await w.decideUnder(pattern, "10.0.0.5:5000/app/web:v1", { upstream: "https://10.0.0.5:5000/v2/" });
      expect(v.decision, pattern).toBe("deny");
      expect(v.reasons[0]!.message, pattern).toMatch(/^refused to contact 10\.0\.0\.5:5000: it is a private address/);
    }
    expect(w.resolved).toEqual([[], [], []]);
    expect(w.contacted).toEqual([]);
    expect(w.seen.deps.every((d) => d === w.wired.verifier)).toBe(true);
  });

  it("a requirement naming an upstream opens it for its rule's decisions; metadata never", async () => {
    const w = world();
    const named = await w.decideUnder("*", "registry.example.com/app:v1", { upstream: "https://10.9.9.9:4443/v2/", names: ["10.9.9.9:4443"] });
    expect(named.decision).toBe("allow");
    expect(w.resolved).toEqual([["10.9.9.9:4443"]]);
    const metadata = await w.decideUnder("*", "registry.example.com/app:v1", { upstream: "http://169.254.169.254/latest", names: ["169.254.169.254"] });
    expect(metadata.reasons[0]!.message).toMatch(/^refused to contact 169\.254\.169\.254: it is a cloud metadata address/);
    const otherPort = await w.decideUnder("*", "registry.example.com/app:v1", { upstream: "https://10.9.9.9:4444/v2/", names: ["10.9.9.9:4443"] });
    expect(otherPort.decision).toBe("deny");
    expect(w.contacted).toEqual(["https://10.9.9.9:4443/v2/"]);
  });

  it("decisions under rules naming the same hosts share one set of verifier deps (kinds keep their clients)", async () => {
    const w = world();
    await w.decideUnder("10.0.0.5:5000/app/*", "10.0.0.5:5000/app/web:v1", { upstream: "https://10.0.0.5:5000/v2/" });
    await w.decideUnder("10.0.0.5:5000/*", "10.0.0.5:5000/app/web:v2", { upstream: "https://10.0.0.5:5000/v2/" });
    expect(w.seen.deps).toHaveLength(2);
    expect(w.seen.deps[0]).toBe(w.seen.deps[1]);
  });

  it("hands the verdict cache write to the background and does not wait for it", async () => {
    const { deps, view, verdictCache } = setup({ mode: "enforce", rules: [{ pattern: "*", require: [{ type: "listed", digests: [D1] }] }] }, ok);
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const slowCache: Cache = { get: verdictCache.get, put: async (k, v, o) => (await held, verdictCache.put(k, v, o)) };
    const background: Promise<unknown>[] = [];
    const v = await decide({ ...input(`127.0.0.1:5000/a/b@${D1}`), background: (w) => void background.push(w) }, view(), { ...deps, verdictCache: slowCache });
    // The verdict is out while the write still waits.
    expect(v.decision).toBe("allow");
    expect(background).toHaveLength(1);
    expect(verdictCache.store.size).toBe(0);
    release();
    await Promise.all(background);
    expect(verdictCache.store.size).toBe(1);
  });

  it("a failed background cache write is logged there and changes no verdict", async () => {
    const { deps, view } = setup({ mode: "enforce", rules: [{ pattern: "*", require: [{ type: "listed", digests: [D1] }] }] }, ok);
    const failing: Cache = { get: async () => null, put: async () => Promise.reject(new Error("KV is down")) };
    const background: Promise<unknown>[] = [];
    const errors = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const v = await decide({ ...input(`127.0.0.1:5000/a/b@${D1}`), background: (w) => void background.push(w) }, view(), { ...deps, verdictCache: failing });
      expect(v.decision).toBe("allow");
      expect(background).toHaveLength(1);
      // The background work settles (its failure handled), never rejects into the runtime, and says so.
      await expect(Promise.all(background)).resolves.toBeDefined();
      const lines = errors.mock.calls.map((args) => args.map(String).join(" "));
      expect(lines).toEqual([expect.stringMatching(/^verdict cache write failed: .*KV is down/)]);
    } finally {
      errors.mockRestore();
    }
  });
});
