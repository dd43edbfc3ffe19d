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
}

export interface Policy {
  readonly mode: Mode;
  /** Which tool's matching and specificity rules the patterns follow (importers keep their tool's). */
  readonly patternStyle: PatternStyle;
  readonly rules: readonly Rule[];
  readonly description?: string;
  /** Only admission requests read it (`/v1/admission`); decisions by API ignore it. */
  readonly namespacedValidation?: NamespacedValidation;
}

/** Supported `?format=` values; importers for the last three arrive with their issues. */
export const POLICY_FORMATS = ["native", "containers-policy", "portieris", "connaisseur"] as const;
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
