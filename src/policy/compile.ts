// A policy compiled once per revision into an immutable matcher.
import { compilePattern, pickMostSpecific, type CompiledPattern } from "./pattern";
import type { Policy, Rule } from "./model";
import type { ImageReference } from "../reference";

export interface CompiledRule {
  readonly index: number;
  readonly rule: Rule;
  readonly pattern: CompiledPattern;
}

export interface CompiledPolicy {
  readonly policy: Policy;
  /** The most specific matching rule, or undefined (the decision then fails closed). */
  match(reference: ImageReference): CompiledRule | undefined;
}

export function compilePolicy(policy: Policy): CompiledPolicy {
  const rules: readonly CompiledRule[] = Object.freeze(
    policy.rules.map((rule, index) => ({ index, rule, pattern: compilePattern(rule.pattern, policy.patternStyle) })),
  );
  return {
    policy,
    match: (reference) => pickMostSpecific(reference, rules),
  };
}

const compiled = new Map<string, CompiledPolicy>();
const MAX_COMPILED = 256;

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
