// The normalised policy every importer produces and the decision reads.
import type { PatternStyle } from "./pattern";

export type Mode = "enforce" | "audit";

/** Connaisseur's namespace label: `ignore` or `validate` (its namespacedValidation feature). */
export const NAMESPACE_WEBHOOK_LABEL = "securesystemsengineering.connaisseur/webhook";
export const NAMESPACED_VALIDATION_MODES = ["ignore", "validate"] as const;

/**
 * Which namespaces admission requests are validated in (Connaisseur's namespacedValidation):
 * `ignore` skips namespaces labelled NAMESPACE_WEBHOOK_LABEL=ignore; `validate` validates only
 * namespaces labelled NAMESPACE_WEBHOOK_LABEL=validate. Absent: every namespace is validated.
 */
export interface NamespacedValidation {
  readonly mode: (typeof NAMESPACED_VALIDATION_MODES)[number];
}

/** A requirement is a typed bag of fields; its kind (see requirement-kinds.ts) validates and evaluates it. */
export interface Requirement {
  readonly type: string;
  readonly [field: string]: unknown;
}

export interface Rule {
  readonly pattern: string;
  readonly require: readonly Requirement[];
  readonly description?: string;
  /**
   * Rules scoped to a Kubernetes namespace (Portieris ImagePolicy). When the request's
   * context.namespace has scoped rules, only those apply; otherwise only unscoped rules do.
   */
  readonly namespace?: string;
  /** How verdicts and reasons name the rule (Kyverno "<policy>/<rule>", a ClusterImagePolicy's name); default: its pattern. */
  readonly name?: string;
  /** More patterns that select the rule: it applies when `pattern` or any of these matches. */
  readonly patterns?: readonly string[];
  /** Patterns that exclude an image the rule would otherwise select (Kyverno skipImageReferences). */
  readonly skip?: readonly string[];
  /** When the rule applies, by what the decision's context says (admission: namespace and kind). */
  readonly when?: RuleCondition;
  /** This rule's own mode: `audit` makes its failure an allow that says so. Default: the policy's. */
  readonly mode?: Mode;
  /** Per-namespace modes, the first whose namespaces match context.namespace wins (Kyverno validationFailureActionOverrides). */
  readonly modeOverrides?: readonly ModeOverride[];
}

/**
 * Conditions on the decision context, namespaces as globs ('*' any run, '?' one character, as
 * Kyverno writes them), kinds by name ("Pod", "Deployment"). A context that does not say (a decision
 * by API without context) meets every `namespaces`/`kinds` condition and no exclusion: the rule
 * applies, so missing context never skips a check.
 */
export interface RuleCondition {
  readonly namespaces?: readonly string[];
  readonly kinds?: readonly string[];
  readonly excludeNamespaces?: readonly string[];
  readonly excludeKinds?: readonly string[];
}

export interface ModeOverride {
  readonly mode: Mode;
  readonly namespaces: readonly string[];
}

/**
 * How a policy picks the rules for an image: `mostSpecific` (default) takes the most specific
 * matching rule; `allMatching` takes every matching rule and each must pass (Kyverno's
 * verifyImages rules, policy-controller's ClusterImagePolicies).
 */
export type RuleSelection = "mostSpecific" | "allMatching";

/** With allMatching: what an image no rule matches gets (`warn`: an allow that says so). */
export type NoMatch = "deny" | "allow" | "warn";

export interface Policy {
  readonly mode: Mode;
  /** Which tool's matching and specificity rules the patterns follow (importers keep their tool's). */
  readonly patternStyle: PatternStyle;
  readonly rules: readonly Rule[];
  readonly description?: string;
  /** Only admission requests read it (`/v1/admission`); decisions by API ignore it. */
  readonly namespacedValidation?: NamespacedValidation;
  /** Default `mostSpecific`. */
  readonly ruleSelection?: RuleSelection;
  /** Only with `allMatching`; default `deny` (fail closed). */
  readonly noMatch?: NoMatch;
}

/** Supported `?format=` values; importers for the last three arrive with their issues. */
export const POLICY_FORMATS = ["native", "containers-policy", "portieris", "connaisseur", "kyverno", "policy-controller"] as const;
export type PolicyFormat = (typeof POLICY_FORMATS)[number];

/** A validation problem, located by a path into the submitted document ("rules[0].require[1].type"). */
export interface PolicyIssue {
  readonly path: string;
  readonly message: string;
}

export class PolicyValidationError extends Error {
  override readonly name = "PolicyValidationError";
  constructor(readonly issues: readonly PolicyIssue[]) {
    super(issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("; "));
  }
}
