// Policies whose every matching rule must pass, rules with a mode of their own, the no-match
// behaviour, anyOf and digestPinned, through decide().
import { describe, expect, it } from "vitest";
import * as z from "../../../src/schema";
import { decide, type DecideDeps, type PolicyView } from "../../../src/decide";
import type { Policy, Rule } from "../../../src/policy/model";
import { createRequirementKinds, type RequirementKind, type RequirementKinds } from "../../../src/policy/requirement-kinds";
import type { Cache, DigestResolution } from "../../../src/ports";
import { parseReference } from "../../../src/reference";
import { anyOfKind } from "../../../src/requirements/any-of";
import { allowKind, denyKind, digestPinnedKind } from "../../../src/requirements/static";

const D1 = `sha256:${"1".repeat(64)}`;

/** Passes when its `ok` says so; counts evaluations per name. */
function flagKind(calls: Map<string, number>, opts: { throwsFor?: string; transientFor?: string } = {}): RequirementKind<{ type: "flag"; name: string; ok: boolean }> {
  return {
    type: "flag",
    schema: z.strictObject({ type: z.literal("flag"), name: z.string(), ok: z.boolean() }),
    digest: "required",
    async evaluate(req, ctx) {
      calls.set(req.name, (calls.get(req.name) ?? 0) + 1);
      if (req.name === opts.throwsFor) throw new Error("exploded");
      const transient = req.name === opts.transientFor;
      return {
        satisfied: req.ok,
        cacheable: !transient,
        reasons: req.ok
          ? [{ code: "COSIGN_SIGNED", message: `${req.name} signed`, rule: ctx.rule, requirement: "flag" }]
          : [{ code: "COSIGN_NO_SIGNATURES", message: `${req.name}: no matching signatures`, rule: ctx.rule, requirement: "flag" }],
      };
    },
  };
}

function memoryCache(): Cache & { store: Map<string, string> } {
  const store = new Map<string, string>();
  return { store, get: async (k) => store.get(k) ?? null, put: async (k, v) => void store.set(k, v) };
}

let revisions = 0;

function setup(opts: { throwsFor?: string; transientFor?: string } = {}) {
  const calls = new Map<string, number>();
  let kinds: RequirementKinds;
  kinds = createRequirementKinds([allowKind, denyKind, digestPinnedKind, flagKind(calls, opts), anyOfKind(() => kinds)]);
  const verdictCache = memoryCache();
  const resolution: DigestResolution = { ok: true, digest: D1, cached: false };
  const deps: DecideDeps = {
    kinds,
    digests: { resolve: async () => resolution },
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
  const view = (p: Partial<Policy> & { rules: Rule[] }): PolicyView => ({
    id: "p",
    // Compiled policies are kept per revision in the isolate: one revision per view.
    revision: `all-matching-${revisions++}`,
    policy: { mode: "enforce", patternStyle: "kyverno", ruleSelection: "allMatching", ...p },
  });
  return { deps, view, calls, verdictCache, kinds };
}

const flag = (name: string, ok: boolean) => ({ type: "flag", name, ok });
const input = (image: string, context: Record<string, unknown> = {}) => ({ image, reference: parseReference(image), context });

describe("allMatching policies", () => {
  it("evaluates every matching rule and needs each to pass, naming each rule", async () => {
    const { deps, view, calls } = setup();
    const rules: Rule[] = [
      { name: "a/one", pattern: "ghcr.io/org/*", require: [flag("one", true)] },
      { name: "b/two", pattern: "ghcr.io/*", require: [flag("two", false)] },
      { name: "c/other", pattern: "quay.io/*", require: [flag("three", false)] },
    ];
    const v = await decide(input("ghcr.io/org/app:v1"), view({ rules }), deps);
    expect(v).toMatchObject({ decision: "deny", rule: "a/one, b/two" });
    expect(v.reasons.map((r) => [r.code, r.rule])).toEqual([
      ["COSIGN_SIGNED", "a/one"],
      ["COSIGN_NO_SIGNATURES", "b/two"],
    ]);
    expect([...calls.keys()].sort()).toEqual(["one", "two"]);

    const ok = await decide(input("ghcr.io/org/app:v1"), view({ rules: [rules[0]!, { ...rules[1]!, require: [flag("two", true)] }] }), deps);
    expect(ok).toMatchObject({ decision: "allow", rule: "a/one, b/two" });
  });

  it("the most-specific policies are unchanged: only one rule is evaluated", async () => {
    const { deps, view, calls } = setup();
    const rules: Rule[] = [
      { pattern: "ghcr.io/org/*", require: [flag("one", true)] },
      { pattern: "ghcr.io/*", require: [flag("two", false)] },
    ];
    const v = await decide(input("ghcr.io/org/app:v1"), view({ rules, ruleSelection: undefined, patternStyle: "native" }), deps);
    expect(v).toMatchObject({ decision: "allow", rule: "ghcr.io/org/*" });
    expect([...calls.keys()]).toEqual(["one"]);
  });

  it("skip patterns and extra patterns select as Kyverno's imageReferences / skipImageReferences", async () => {
    const { deps, view } = setup();
    const rules: Rule[] = [{ name: "k/r", pattern: "ghcr.io/org/*", patterns: ["quay.io/org/*"], skip: ["ghcr.io/org/base*"], require: [flag("x", false)] }];
    const p = view({ rules, noMatch: "allow" });
    expect((await decide(input("quay.io/org/app:v1"), p, deps)).decision).toBe("deny");
    const skipped = await decide(input("ghcr.io/org/base:v1"), p, deps);
    expect(skipped).toMatchObject({ decision: "allow", rule: null });
    expect(skipped.reasons.map((r) => r.code)).toEqual(["NO_RULE_APPLIES"]);
  });

  it("no match: deny by default (policy-controller), allow or warn when the policy says so", async () => {
    const { deps, view } = setup();
    const rules: Rule[] = [{ name: "cip", pattern: "ghcr.io/**", require: [flag("x", true)] }];
    const pc = (noMatch?: "allow" | "warn" | "deny") => view({ rules, patternStyle: "policy-controller", ...(noMatch ? { noMatch } : {}) });
    const denied = await decide(input("quay.io/x/y:v1"), pc(), deps);
    expect(denied).toMatchObject({ decision: "deny", rule: null });
    expect(denied.reasons[0]).toMatchObject({ code: "NO_MATCHING_RULE" });
    expect(denied.reasons[0]!.message).toContain("no matching policies");
    const warned = await decide(input("quay.io/x/y:v1"), pc("warn"), deps);
    expect(warned.decision).toBe("allow");
    expect(warned.reasons.map((r) => r.code)).toEqual(["NO_MATCHING_RULE", "AUDIT_MODE"]);
    const allowed = await decide(input("quay.io/x/y:v1"), pc("allow"), deps);
    expect(allowed.decision).toBe("allow");
    expect(allowed.reasons.map((r) => r.code)).toEqual(["NO_RULE_APPLIES"]);
  });

  it("a rule in its own audit mode fails into an allow that keeps its reasons and says so; others still decide", async () => {
    const { deps, view } = setup();
    const audit: Rule = { name: "k/audit", pattern: "ghcr.io/*", mode: "audit", require: [flag("a", false)] };
    const v = await decide(input("ghcr.io/org/app:v1"), view({ rules: [audit] }), deps);
    expect(v.decision).toBe("allow");
    expect(v.reasons.map((r) => r.code)).toEqual(["COSIGN_NO_SIGNATURES", "AUDIT_MODE"]);
    expect(v.reasons[1]!.message).toContain("rule k/audit is in Audit (validationFailureAction: Audit) mode");

    const enforced: Rule = { name: "k/enforce", pattern: "ghcr.io/*", require: [flag("b", false)] };
    const both = await decide(input("ghcr.io/org/app:v1"), view({ rules: [audit, enforced] }), deps);
    expect(both.decision).toBe("deny");
  });

  it("namespace overrides pick the mode per decision, and the verdict cache keeps them apart", async () => {
    const { deps, view, verdictCache } = setup();
    const rule: Rule = { name: "k/r", pattern: "ghcr.io/*", mode: "enforce", modeOverrides: [{ mode: "audit", namespaces: ["dev-*"] }], require: [flag("a", false)] };
    const p = view({ rules: [rule] });
    expect((await decide(input("ghcr.io/org/app:v1", { namespace: "dev-1" }), p, deps)).decision).toBe("allow");
    expect((await decide(input("ghcr.io/org/app:v1", { namespace: "prod" }), p, deps)).decision).toBe("deny");
    expect((await decide(input("ghcr.io/org/app:v1", { namespace: "dev-1" }), p, deps)).decision).toBe("allow");
    expect([...verdictCache.store.keys()].sort()).toEqual([
      `verdict:v4:${p.revision}:0:ghcr.io/org/app:v1#${D1}`,
      `verdict:v4:${p.revision}:0a:ghcr.io/org/app:v1#${D1}`,
    ]);
  });

  it("the verdict cache key holds the set of rules: another set is another verdict", async () => {
    const { deps, view, verdictCache, calls } = setup();
    const rules: Rule[] = [
      { name: "all", pattern: "ghcr.io/*", require: [flag("a", true)] },
      { name: "prod-only", pattern: "ghcr.io/*", when: { namespaces: ["prod"] }, require: [flag("b", false)] },
    ];
    const p = view({ rules });
    expect((await decide(input("ghcr.io/org/app:v1", { namespace: "dev" }), p, deps)).decision).toBe("allow");
    expect((await decide(input("ghcr.io/org/app:v1", { namespace: "prod" }), p, deps)).decision).toBe("deny");
    expect([...verdictCache.store.keys()].sort()).toEqual([
      `verdict:v4:${p.revision}:0+1:ghcr.io/org/app:v1#${D1}`,
      `verdict:v4:${p.revision}:0:ghcr.io/org/app:v1#${D1}`,
    ]);
    const warm = await decide(input("ghcr.io/org/app:v1", { namespace: "prod" }), p, deps);
    expect(warm).toMatchObject({ decision: "deny", cached: true });
    expect(calls.get("b")).toBe(1);
  });

  it("refuses, whole, a decision whose matching rules bring more requirements than one decision evaluates", async () => {
    const { deps, view, calls } = setup();
    const rules: Rule[] = Array.from({ length: 33 }, (_, i) => ({ name: `r${i}`, pattern: "ghcr.io/*", require: [flag(`a${i}`, true), flag(`b${i}`, true)] }));
    const v = await decide(input("ghcr.io/org/app:v1"), view({ rules }), deps);
    expect(v.decision).toBe("deny");
    expect(v.reasons[0]!.message).toContain("33 matching rules bring 66 requirements; one decision evaluates at most 64");
    expect(calls.size).toBe(0);
  });

  it("match and exclude on namespaces and kinds; a context that does not say applies the rule", async () => {
    const { deps, view } = setup();
    const rules: Rule[] = [
      { name: "k/r", pattern: "ghcr.io/*", when: { kinds: ["Pod", "Deployment"], excludeNamespaces: ["kube-*"] }, require: [flag("a", false)] },
    ];
    const p = view({ rules, noMatch: "allow" });
    expect((await decide(input("ghcr.io/a/b:v1", { namespace: "kube-system", kind: "Pod" }), p, deps)).decision).toBe("allow");
    expect((await decide(input("ghcr.io/a/b:v1", { namespace: "default", kind: "CronJob" }), p, deps)).decision).toBe("allow");
    expect((await decide(input("ghcr.io/a/b:v1", { namespace: "default", kind: "Deployment" }), p, deps)).decision).toBe("deny");
    expect((await decide(input("ghcr.io/a/b:v1"), p, deps)).decision).toBe("deny");
  });
});

describe("anyOf", () => {
  const anyOf = (count: number | undefined, ...alts: { type: string; name: string; ok: boolean }[]) => ({
    type: "anyOf",
    ...(count !== undefined ? { count } : {}),
    of: alts.map((a) => ({ name: `authority ${a.name}`, requirement: a })),
  });

  it("holds when count alternatives hold (default 1), naming the failed ones when it does not", async () => {
    const { deps, view } = setup();
    const p = (req: object) => view({ rules: [{ name: "r", pattern: "ghcr.io/*", require: [req as never] }] });
    expect((await decide(input("ghcr.io/a/b:v1"), p(anyOf(undefined, flag("k1", false), flag("k2", true))), deps)).decision).toBe("allow");
    const v = await decide(input("ghcr.io/a/b:v1"), p(anyOf(2, flag("k1", false), flag("k2", true), flag("k3", false))), deps);
    expect(v.decision).toBe("deny");
    expect(v.reasons[0]).toMatchObject({ code: "ANY_OF_UNMET", passed: 1, count: 2, failed: ["authority k1", "authority k3"] });
    expect(v.reasons[0]!.message).toBe(
      "2 of the 3 alternatives must hold for ghcr.io/a/b:v1, 1 did: authority k1: k1: no matching signatures; authority k3: k3: no matching signatures",
    );
    expect(v.reasons.slice(1).map((r) => r.alternative)).toEqual(["authority k1", "authority k3"]);
  });

  it("an allow keeps only the passing alternatives' reasons", async () => {
    const { deps, view } = setup();
    const v = await decide(input("ghcr.io/a/b:v1"), view({ rules: [{ name: "r", pattern: "ghcr.io/*", require: [anyOf(1, flag("k1", false), flag("k2", true)) as never] }] }), deps);
    expect(v.reasons.map((r) => [r.code, r.alternative])).toEqual([["COSIGN_SIGNED", "authority k2"]]);
  });

  it("a throwing alternative is a failure, not an allow; the message template is filled in", async () => {
    const { deps, view } = setup({ throwsFor: "boom" });
    const req = { ...anyOf(1, flag("boom", true)), message: "failed to verify image {image}: {failures}" };
    const v = await decide(input("ghcr.io/a/b:v1"), view({ rules: [{ name: "r", pattern: "ghcr.io/*", require: [req as never] }] }), deps);
    expect(v.decision).toBe("deny");
    expect(v.reasons[0]!.message).toBe("failed to verify image ghcr.io/a/b:v1: authority boom: the flag requirement could not be checked: exploded");
  });

  it("stops starting alternatives once count is met", async () => {
    const { deps, view, calls } = setup();
    const alts = Array.from({ length: 10 }, (_, i) => flag(`k${i}`, true));
    await decide(input("ghcr.io/a/b:v1"), view({ rules: [{ name: "r", pattern: "ghcr.io/*", require: [anyOf(1, ...alts) as never] }] }), deps);
    expect([...calls.values()].reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(4);
  });

  it("a pass does not rest on a transient failure of another alternative, a failure does", async () => {
    const { deps, view, verdictCache } = setup({ transientFor: "down" });
    const ok = view({ rules: [{ name: "r", pattern: "ghcr.io/*", require: [anyOf(1, flag("down", false), flag("up", true)) as never] }] });
    await decide(input("ghcr.io/a/b:v1"), ok, deps);
    expect(verdictCache.store.size).toBe(1);
    const bad = view({ rules: [{ name: "r", pattern: "ghcr.io/*", require: [anyOf(1, flag("down", false), flag("no", false)) as never] }] });
    await decide(input("ghcr.io/a/b:v1"), bad, deps);
    expect(verdictCache.store.size).toBe(1);
  });

  it("its schema validates every alternative with its own kind, at its path, and bounds nesting", () => {
    const { kinds } = setup();
    const schema = kinds.get("anyOf")!.schema;
    const bad = schema.safeParse({ type: "anyOf", of: [{ requirement: { type: "flag", name: "x" } }, { requirement: { type: "nope" } }] });
    expect(bad.success).toBe(false);
    const paths = bad.error!.issues.map((i) => i.path.join("."));
    expect(paths).toEqual(["of.0.requirement.ok", "of.1.requirement.type"]);
    expect(schema.safeParse({ type: "anyOf", count: 3, of: [{ requirement: flag("a", true) }] }).success).toBe(false);
    let deep: object = flag("a", true);
    for (let i = 0; i < 6; i++) deep = { type: "anyOf", of: [{ requirement: deep }] };
    const nested = schema.safeParse(deep);
    expect(nested.success).toBe(false);
    expect(nested.error!.issues[0]!.message).toContain("nested more than 4 deep");
  });
});

describe("digestPinned", () => {
  it("denies a tag-only image in the tool's words, allows one pinned by digest", async () => {
    const { deps, view } = setup();
    const p = view({ rules: [{ name: "r", pattern: "ghcr.io/*", require: [{ type: "digestPinned", message: "missing digest for {image}" }] }] });
    const tag = await decide(input("ghcr.io/a/b:v1"), p, deps);
    expect(tag.decision).toBe("deny");
    expect(tag.reasons[0]).toMatchObject({ code: "DIGEST_NOT_PINNED", message: "missing digest for ghcr.io/a/b:v1" });
    expect((await decide(input(`ghcr.io/a/b@${D1}`), p, deps)).decision).toBe("allow");
  });
});
