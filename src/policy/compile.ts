// A policy compiled once per revision into an immutable matcher.
import { compilePattern, pickMostSpecific, type CompiledPattern } from "./pattern";
import type { Policy, Rule } from "./model";
import type { ImageReference } from "../reference";
import { DEFAULT_LIMITS } from "../limits";

export interface CompiledRule {
  readonly index: number;
  readonly rule: Rule;
  readonly pattern: CompiledPattern;
}

export interface CompiledPolicy {
  readonly policy: Policy;
  /** Whether some rules are scoped to this namespace (they then replace the unscoped ones). */
  hasNamespace(namespace: string | undefined): boolean;
  /** Whether the policy has rules for every namespace (Portieris: a ClusterImagePolicy). */
  readonly hasUnscoped: boolean;
  /** The most specific matching rule, or undefined (the decision then fails closed). */
  match(reference: ImageReference, namespace?: string): CompiledRule | undefined;
}

export function compilePolicy(policy: Policy): CompiledPolicy {
  const unscoped: CompiledRule[] = [];
  const scoped = new Map<string, CompiledRule[]>();
  policy.rules.forEach((rule, index) => {
    const compiled = { index, rule, pattern: compilePattern(rule.pattern, policy.patternStyle) };
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
  };
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
