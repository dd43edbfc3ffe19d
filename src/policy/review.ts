// Policy-wide import warnings: rules that import, but together probably do not do what their
// author meant. Requirement-level ones belong to each kind (RequirementKind.review).
import { compilePattern, literalRegistry, normalizedPattern, PatternSyntaxError, type PatternStyle } from "./pattern";
import type { PolicyIssue, Rule } from "./model";
import { base64Encode, parsePem } from "../verify/shared/encoding";

/** A rule and where it was written in the submitted document. */
export interface LocatedRule {
  readonly rule: Rule;
  readonly path: string;
}

const MAX_NAMED = 3;

/**
 * A rule for any registry that only allows ("*", "*:*", "*:5000/*", "*" as the host) next to rules that deny or
 * verify images of named registries: those rules hold for their registries only. Registry names
 * are compared canonically (case, default ports, Docker Hub's other names), so other spellings of
 * one registry no longer slip past them; but the same image served by another registry (a mirror,
 * a pull-through cache, a copy) is decided by the allow. Namespaced rules are compared with the
 * rules of their own namespace only, as they are matched.
 */
export function reviewRules(rules: readonly LocatedRule[], style: PatternStyle): PolicyIssue[] {
  const scopes = new Map<string, { allows: LocatedRule[]; guarded: Set<string> }>();
  for (const located of rules) {
    const { rule } = located;
    let registry: string | undefined;
    let anyRegistry: boolean;
    try {
      const pattern = compilePattern(rule.pattern, style);
      registry = literalRegistry(pattern);
      // "*", "*:*", "*:5000/*", "*/app/*": the host is all wildcard. "*.example.com/*" names a domain.
      anyRegistry = normalizedPattern(pattern).split("/")[0]!.split(":")[0] === "*";
    } catch (err) {
      if (err instanceof PatternSyntaxError) continue;
      throw err;
    }
    const scope = rule.namespace ?? "";
    let entry = scopes.get(scope);
    if (!entry) scopes.set(scope, (entry = { allows: [], guarded: new Set() }));
    const onlyAllows = rule.require.length > 0 && rule.require.every((r) => r.type === "allow");
    if (anyRegistry && onlyAllows) entry.allows.push(located);
    else if (registry !== undefined && !onlyAllows) entry.guarded.add(registry.toLowerCase());
  }
  const warnings: PolicyIssue[] = [];
  for (const { allows, guarded } of scopes.values()) {
    if (guarded.size === 0) continue;
    const names = [...guarded].sort();
    const named = names.slice(0, MAX_NAMED).join(", ") + (names.length > MAX_NAMED ? ` and ${names.length - MAX_NAMED} more` : "");
    for (const { rule, path } of allows) {
      warnings.push({
        path,
        message:
          `"${rule.pattern}" allows, from any registry, every image no more specific rule matches, while other rules deny or ` +
          `verify images by registry (${named}): the same image pulled from another registry (a mirror, a pull-through ` +
          `cache, a copy) is allowed here unchecked. Registry names are compared canonically, which covers other spellings ` +
          `of one registry, not other registries: deny or verify by default and allow the registries you trust by name`,
      });
    }
  }
  return warnings;
}

/**
 * One warning per place in the document: the first said (an importer's own, in its tool's words)
 * wins over a generic one about the same value, and a value shared by several rules is named once.
 */
export function distinctWarnings(warnings: readonly PolicyIssue[]): PolicyIssue[] {
  const seen = new Set<string>();
  return warnings.filter((w) => {
    const key = w.path || `\u0000${w.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/** Whether two PEM texts carry the same key bytes (their first blocks), however wrapped or indented. */
export function samePem(a: string, b: string): boolean {
  const x = parsePem(a)?.[0];
  const y = parsePem(b)?.[0];
  return x !== undefined && y !== undefined && x.der.length > 0 && base64Encode(x.der) === base64Encode(y.der);
}
