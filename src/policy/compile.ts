// A policy compiled once per revision into an immutable matcher.
import { compilePattern, pickMostSpecific, type CompiledPattern } from "./pattern";
import type { Mode, Policy, Rule, RuleCondition } from "./model";
import { wildcardMatch } from "./dialect-pattern";
import type { ImageReference } from "../reference";
import { DEFAULT_LIMITS } from "../limits";

export interface CompiledRule {
  readonly index: number;
  readonly rule: Rule;
  readonly pattern: CompiledPattern;
}

/** What the verdict and reasons call a rule. */
export function ruleLabel(rule: Rule): string {
  return rule.name ?? rule.pattern;
}

export interface CompiledPolicy {
  readonly policy: Policy;
  /** Whether some rules are scoped to this namespace (they then replace the unscoped ones). */
  hasNamespace(namespace: string | undefined): boolean;
  /** Whether the policy has rules for every namespace (Portieris: a ClusterImagePolicy). */
  readonly hasUnscoped: boolean;
  /** The most specific matching rule, or undefined (the decision then fails closed). */
  match(reference: ImageReference, namespace?: string): CompiledRule | undefined;
  /** Every rule that selects the reference under this context, in declared order (allMatching policies). */
  matchAll(reference: ImageReference, context: Readonly<Record<string, unknown>>): CompiledRule[];
}

export function compilePolicy(policy: Policy): CompiledPolicy {
  const unscoped: CompiledRule[] = [];
  const scoped = new Map<string, CompiledRule[]>();
  // `pattern` or the rule's other patterns, minus its skips (allMatching policies).
  const selectors = new Map<CompiledRule, (reference: ImageReference) => boolean>();
  policy.rules.forEach((rule, index) => {
    const pattern = compilePattern(rule.pattern, policy.patternStyle);
    const more = (rule.patterns ?? []).map((p) => compilePattern(p, policy.patternStyle));
    const skips = (rule.skip ?? []).map((p) => compilePattern(p, policy.patternStyle));
    const selects = (ref: ImageReference): boolean =>
      (pattern.matches(ref) || more.some((p) => p.matches(ref))) && !skips.some((p) => p.matches(ref));
    const compiled: CompiledRule = { index, rule, pattern };
    selectors.set(compiled, selects);
    if (rule.namespace === undefined) unscoped.push(compiled);
    else scoped.set(rule.namespace, [...(scoped.get(rule.namespace) ?? []), compiled]);
  });
  const rulesFor = (namespace: string | undefined) =>
    (namespace !== undefined ? scoped.get(namespace) : undefined) ?? unscoped;
  return {
    policy,
    hasNamespace: (namespace) => namespace !== undefined && scoped.has(namespace),
    hasUnscoped: unscoped.length > 0,
    match: (reference, namespace) => pickMostSpecific(reference, rulesFor(namespace)),
    matchAll: (reference, context) => {
      const namespace = typeof context.namespace === "string" ? context.namespace : undefined;
      return rulesFor(namespace).filter((r) => selectors.get(r)!(reference) && conditionHolds(r.rule.when, context));
    },
  };
}

function conditionHolds(when: RuleCondition | undefined, context: Readonly<Record<string, unknown>>): boolean {
  if (!when) return true;
  const namespace = typeof context.namespace === "string" ? context.namespace : undefined;
  const kind = typeof context.kind === "string" ? context.kind : undefined;
  // Unknown context meets conditions and escapes no exclusion: the rule applies (model.ts).
  const within = (globs: readonly string[] | undefined, value: string | undefined) =>
    globs === undefined || value === undefined || globs.some((g) => wildcardMatch(g, value));
  const excluded = (globs: readonly string[] | undefined, value: string | undefined) =>
    globs !== undefined && value !== undefined && globs.some((g) => wildcardMatch(g, value));
  return (
    within(when.namespaces, namespace) &&
    within(when.kinds, kind) &&
    !excluded(when.excludeNamespaces, namespace) &&
    !excluded(when.excludeKinds, kind)
  );
}

/** The rule's mode for a decision: the first namespace override that matches, else its own, else the policy's. */
export function ruleMode(rule: Rule, policyMode: Mode, context: Readonly<Record<string, unknown>>): Mode {
  const namespace = typeof context.namespace === "string" ? context.namespace : undefined;
  if (namespace !== undefined) {
    for (const o of rule.modeOverrides ?? []) if (o.namespaces.some((g) => wildcardMatch(g, namespace))) return o.mode;
  }
  return rule.mode ?? policyMode;
}

const compiled = new Map<string, CompiledPolicy>();
const MAX_COMPILED = DEFAULT_LIMITS.memory.compiledPolicies;

/** Compiled policies are kept per isolate by revision, so a warm decision compiles nothing. */
export function compiledPolicyFor(revision: string, policy: Policy): CompiledPolicy {
  let hit = compiled.get(revision);
  if (!hit) {
    hit = compilePolicy(policy);
    if (compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value as string);
    compiled.set(revision, hit);
  }
  return hit;
}
