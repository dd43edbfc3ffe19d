// One identity per image: other spellings of a registry, name:tag@digest and the verdict cache key
// can never get an image decided by a rule, or a cached verdict, that was not meant for it.
import { describe, expect, it } from "vitest";
import * as z from "../../src/schema";
import { decide, type DecideDeps, type PolicyView } from "../../src/decide";
import type { Policy } from "../../src/policy/model";
import { createRequirementKinds, type RequirementKind } from "../../src/policy/requirement-kinds";
import type { Cache, DigestResolution } from "../../src/ports";
import { parseReference, type ImageReference } from "../../src/reference";
import { allowKind, denyKind } from "../../src/requirements/static";

const D1 = `sha256:${"1".repeat(64)}`;
const D2 = `sha256:${"2".repeat(64)}`;
const NOW = new Date("2026-12-06T12:00:00Z");

/** A verifying kind that passes for listed digests and records the reference it was shown. */
function listKind(seen: string[]): RequirementKind<{ type: "listed"; digests: string[] }> {
  return {
    type: "listed",
    schema: z.strictObject({ type: z.literal("listed"), digests: z.array(z.string()) }),
    digest: "required",
    async evaluate(req, ctx) {
      seen.push(ctx.reference.canonical);
      const ok = req.digests.includes(ctx.digest!);
      return {
        satisfied: ok,
        cacheable: true,
        reasons: ok
          ? [{ code: "STATIC_ALLOW", message: `${ctx.reference.canonical} listed`, rule: ctx.rule, requirement: "listed" }]
          : [{ code: "STATIC_DENY", message: `${ctx.digest} is not listed`, rule: ctx.rule, requirement: "listed" }],
      };
    },
  };
}

function memoryCache(): Cache & { store: Map<string, string> } {
  const store = new Map<string, string>();
  return { store, get: async (k) => store.get(k) ?? null, put: async (k, v) => void store.set(k, v) };
}

let revisions = 0;

/** `tags`: what the registry answers per name:tag; a tag not listed is a 404. */
function setup(rules: Policy["rules"], tags: Record<string, string> = {}, mode: Policy["mode"] = "enforce") {
  const resolved: string[] = [];
  const seen: string[] = [];
  const verdictCache = memoryCache();
  const deps: DecideDeps = {
    kinds: createRequirementKinds([allowKind, denyKind, listKind(seen)]),
    digests: {
      resolve: async (ref: ImageReference): Promise<DigestResolution> => {
        if (ref.digest) return { ok: true, digest: ref.digest, cached: false };
        resolved.push(ref.canonical);
        const digest = tags[ref.canonical];
        return digest
          ? { ok: true, digest, cached: false }
          : { ok: false, transient: false, reason: { code: "MANIFEST_NOT_FOUND", message: `manifest unknown: ${ref.canonical}` } };
      },
    },
    verdictCache,
    verdictTtlSeconds: 300,
    verifier: {
      fetch: async () => {
        throw new Error("no network in unit tests");
      },
      trustCache: memoryCache(),
      clock: { now: () => NOW },
      counter: { count: () => {} },
      settings: { upstreamTimeoutMs: 1000, trustRecheckSeconds: 60, credentials: {} },
    },
    clock: { now: () => NOW },
  };
  // Compiled policies are reused per revision: each setup is a revision of its own.
  const view: PolicyView = { id: "p", revision: `identity-${++revisions}`, policy: { patternStyle: "native", mode, rules } };
  const run = (image: string, context: Record<string, unknown> = {}) =>
    decide({ image, reference: parseReference(image), context }, view, deps);
  return { run, resolved, seen, verdictCache };
}

describe("one registry, one spelling", () => {
  const rules: Policy["rules"] = [
    { pattern: "*", require: [{ type: "allow" }] },
    { pattern: "docker.io/library/busybox", require: [{ type: "deny" }] },
    { pattern: "registry.example.com/app", require: [{ type: "deny" }] },
    { pattern: "127.0.0.1/app", require: [{ type: "deny" }] },
  ];

  it.each([
    `registry-1.docker.io/library/busybox@${D1}`,
    `Registry-1.Docker.IO/busybox:1.36`,
    `index.docker.io/library/busybox`,
    `registry.hub.docker.com/library/busybox`,
    `docker.io:443/busybox`,
    `DOCKER.IO/library/busybox`,
    `registry.example.com:443/app`,
    `REGISTRY.Example.COM/app:v1`,
    `Registry.Example.Com:0443/app@${D1}`,
    `127.0.0.1:80/app`,
    `127.0.0.1:080/app:v1`,
  ])("a deny rule catches %s, which a catch-all allow would otherwise admit", async (image) => {
    const { run } = setup(rules);
    const v = await run(image);
    expect(v.decision, JSON.stringify(v.reasons)).toBe("deny");
    expect(v.reasons[0]?.code).toBe("STATIC_DENY");
    // The verdict echoes the image as given, and names the canonical reference.
    expect(v.image).toBe(image);
  });

  it("a pattern written in another spelling means the same registry", async () => {
    const { run } = setup([
      { pattern: "*", require: [{ type: "allow" }] },
      { pattern: "Registry-1.Docker.io:443/library/busybox", require: [{ type: "deny" }] },
      { pattern: "REGISTRY.example.com:443/*", require: [{ type: "deny" }] },
    ]);
    expect((await run("busybox")).decision).toBe("deny");
    expect((await run("registry.example.com/x/y:v1")).decision).toBe("deny");
    expect((await run("registry.example.com:8443/x/y:v1")).decision).toBe("allow");
  });

  it("another port is another registry", async () => {
    const { run } = setup(rules);
    expect((await run("registry.example.com:8443/app")).decision).toBe("allow");
    // 80 is the default of plain http, which only loopback registries are spoken to with.
    expect((await run("registry.example.com:80/app")).decision).toBe("allow");
    expect((await run("127.0.0.1:443/app")).decision).toBe("allow");
  });
});

describe("name:tag@digest is the digest", () => {
  const rules: Policy["rules"] = [
    { pattern: "registry.example.com/app:v1", require: [{ type: "allow" }] },
    { pattern: "registry.example.com/app", require: [{ type: "listed", digests: [D2] }] },
  ];

  it("a consistent reference (what digest-pinning bots write) keeps its tag's rule", async () => {
    const { run, resolved } = setup(rules, { "registry.example.com/app:v1": D1 });
    const v = await run(`registry.example.com/app:v1@${D1}`);
    expect(v).toMatchObject({ decision: "allow", rule: "registry.example.com/app:v1", digest: D1 });
    expect(resolved).toEqual(["registry.example.com/app:v1"]);
  });

  it("a tag that means another digest is a deny that says the two disagree", async () => {
    const { run } = setup(rules, { "registry.example.com/app:v1": D2 });
    const v = await run(`registry.example.com/app:v1@${D1}`);
    expect(v).toMatchObject({ decision: "deny", rule: "registry.example.com/app:v1", digest: D1 });
    expect(v.reasons).toHaveLength(1);
    expect(v.reasons[0]).toMatchObject({ code: "TAG_DIGEST_MISMATCH", tag: "v1", tagDigest: D2 });
    expect(v.reasons[0]!.message).toContain("the tag and the digest disagree");
    expect(v.reasons[0]!.message).toContain(D2);
  });

  it("a tag that cannot be resolved is no evidence: the image is decided as name@digest", async () => {
    const { run, seen } = setup(rules);
    const v = await run(`registry.example.com/app:v1@${D1}`);
    expect(v).toMatchObject({ decision: "deny", rule: "registry.example.com/app" });
    expect(v.reasons.map((r) => r.code)).toEqual(["STATIC_DENY", "TAG_UNRESOLVED"]);
    expect(v.reasons[1]).toMatchObject({ cause: "MANIFEST_NOT_FOUND" });
    expect(seen).toEqual([`registry.example.com/app@${D1}`]);
    // and a digest the digest-only rule lists is allowed under that rule, with the note
    const other = await setup(rules).run(`registry.example.com/app:v1@${D2}`);
    expect(other).toMatchObject({ decision: "allow", rule: "registry.example.com/app" });
  });

  it("an unresolvable tag whose digest no rule matches is NO_MATCHING_RULE, with the note", async () => {
    const { run } = setup([{ pattern: "registry.example.com/app:v*", require: [{ type: "allow" }] }]);
    const v = await run(`registry.example.com/app:v1@${D1}`);
    expect(v.decision).toBe("deny");
    expect(v.reasons.map((r) => r.code)).toEqual(["NO_MATCHING_RULE", "TAG_UNRESOLVED"]);
  });

  it("asks the registry nothing when the tag picks no other rule than the digest would", async () => {
    const { run, resolved } = setup([
      { pattern: "registry.example.com/*", require: [{ type: "listed", digests: [D1] }] },
      { pattern: "registry.example.com/app:*", require: [{ type: "deny" }] },
    ]);
    // ':*' is "whatever the tag" and so matches name@digest too: the same rule either way.
    const v = await run(`registry.example.com/app:v1@${D1}`);
    expect(v.reasons[0]?.code).toBe("STATIC_DENY");
    expect(resolved).toEqual([]);
  });

  it("in audit mode a moved tag is allowed, saying why it would have been denied", async () => {
    const { run } = setup(rules, { "registry.example.com/app:v1": D2 }, "audit");
    const v = await run(`registry.example.com/app:v1@${D1}`);
    expect(v.decision).toBe("allow");
    expect(v.reasons.map((r) => r.code)).toEqual(["TAG_DIGEST_MISMATCH", "AUDIT_MODE"]);
  });
});

describe("the verdict cache key covers every part of the reference the decision saw", () => {
  it("a verdict for name:v1@d never answers name:latest@d, name@d or name:v1", async () => {
    const rules: Policy["rules"] = [{ pattern: "registry.example.com/*", require: [{ type: "listed", digests: [D1] }] }];
    const { run, seen, verdictCache } = setup(rules, { "registry.example.com/app:v1": D1 });
    const first = await run(`registry.example.com/app:v1@${D1}`);
    expect(first.cached).toBe(false);
    expect((await run(`registry.example.com/app:v1@${D1}`)).cached).toBe(true);
    for (const image of [`registry.example.com/app:latest@${D1}`, `registry.example.com/app@${D1}`, "registry.example.com/app:v1"]) {
      const v = await run(image);
      expect(v.cached, image).toBe(false);
    }
    expect(seen).toEqual([
      `registry.example.com/app:v1@${D1}`,
      `registry.example.com/app:latest@${D1}`,
      `registry.example.com/app@${D1}`,
      "registry.example.com/app:v1",
    ]);
    expect(verdictCache.store.size).toBe(4);
    // and the canonical spelling shares the entry: another spelling is the same reference
    expect((await run(`REGISTRY.example.com:443/app:v1@${D1}`)).cached).toBe(true);
  });

  it.each([
    ["not JSON", "{not json"],
    ["JSON of another shape", JSON.stringify({ allowed: true })],
    ["a verdict without reasons", JSON.stringify({ verdict: { decision: "allow", allowed: true, digest: D1, rule: "*" }, until: 9e15 })],
    ["a decision that contradicts allowed", JSON.stringify({ verdict: { decision: "deny", allowed: true, digest: D1, rule: "*", reasons: [] }, until: 9e15 })],
    ["an unknown reason code", JSON.stringify({ verdict: { decision: "deny", allowed: false, digest: D1, rule: "*", reasons: [{ code: "EVIL", message: "x" }] }, until: 9e15 })],
    ["a string", JSON.stringify("deny")],
  ])("an entry that does not parse (%s) is a miss, decided afresh, never a deny", async (_what, garbage) => {
    const rules: Policy["rules"] = [{ pattern: "*", require: [{ type: "listed", digests: [D1] }] }];
    const { run, seen, verdictCache } = setup(rules);
    const image = `registry.example.com/app@${D1}`;
    await run(image);
    const [key] = [...verdictCache.store.keys()];
    verdictCache.store.set(key!, garbage);
    const v = await run(image);
    expect(v).toMatchObject({ decision: "allow", cached: false });
    expect(seen).toHaveLength(2);
  });
});
