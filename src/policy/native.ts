// The native policy format: validated field by field, every problem reported with its path.
import * as z from "../schema";
import { compilePattern, PatternSyntaxError } from "./pattern";
import { NAMESPACED_VALIDATION_MODES, PolicyValidationError, type Policy, type PolicyIssue, type Requirement } from "./model";
import type { RequirementKinds } from "./requirement-kinds";
import { joinPath, zodIssues } from "./issues";
import { distinctWarnings, reviewRules } from "./review";

const MAX_RULES = 1000;
const MAX_REQUIREMENTS = 32;

const nativeShape = z.strictObject({
  mode: z._default(z.enum(["enforce", "audit"]), "enforce"),
  description: z.optional(z.string().check(z.maxLength(4096))),
  namespacedValidation: z.optional(z.strictObject({ mode: z.enum(NAMESPACED_VALIDATION_MODES) })),
  rules: z
    .array(
      z.strictObject({
        pattern: z.string().check(z.minLength(1), z.maxLength(512)),
        description: z.optional(z.string().check(z.maxLength(4096))),
        namespace: z.optional(z.string().check(z.regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, "a Kubernetes namespace name"))),
        require: z.array(z.unknown()).check(z.minLength(1), z.maxLength(MAX_REQUIREMENTS)),
      }),
    )
    .check(z.minLength(1), z.maxLength(MAX_RULES)),
});

/**
 * Validates a native policy document (already parsed from JSON or YAML); what imports but probably
 * does not do what its author meant goes to `warnings`.
 */
export function parseNativePolicy(document: unknown, kinds: RequirementKinds, out: PolicyIssue[] = []): Policy {
  const warnings: PolicyIssue[] = [];
  const shape = nativeShape.safeParse(document);
  if (!shape.success) throw new PolicyValidationError(zodIssues(shape.error));

  const issues: PolicyIssue[] = [];
  const rules = shape.data.rules.map((rule, i) => {
    try {
      compilePattern(rule.pattern, "native");
    } catch (err) {
      if (!(err instanceof PatternSyntaxError)) throw err;
      issues.push({ path: `rules[${i}].pattern`, message: err.message });
    }
    const require = rule.require.map((raw, j) =>
      parseRequirement(raw, kinds, `rules[${i}].require[${j}]`, issues, { warnings }),
    );
    return {
      pattern: rule.pattern,
      require,
      ...(rule.description ? { description: rule.description } : {}),
      ...(rule.namespace !== undefined ? { namespace: rule.namespace } : {}),
    };
  });
  if (issues.length > 0) throw new PolicyValidationError(issues);
  warnings.push(...reviewRules(rules.map((rule, i) => ({ rule, path: `rules[${i}]` })), "native"));
  out.push(...distinctWarnings(warnings));

  return {
    mode: shape.data.mode,
    patternStyle: "native",
    rules,
    ...(shape.data.description ? { description: shape.data.description } : {}),
    ...(shape.data.namespacedValidation ? { namespacedValidation: { mode: shape.data.namespacedValidation.mode } } : {}),
  };
}

/** Where a valid requirement's review warnings go, and how its paths map into the document. */
export interface ReviewSink {
  readonly warnings: PolicyIssue[];
  /** Default: the requirement's own path prefixed. */
  readonly where?: (path: string) => string;
}

/** Validates one requirement against its kind's schema; records problems instead of throwing. */
export function parseRequirement(
  raw: unknown,
  kinds: RequirementKinds,
  path: string,
  issues: PolicyIssue[],
  review?: ReviewSink,
): Requirement {
  const type = typeof raw === "object" && raw !== null ? (raw as { type?: unknown }).type : undefined;
  if (typeof type !== "string") {
    issues.push({ path: `${path}.type`, message: `required: one of ${[...kinds.keys()].join(", ")}` });
    return { type: "invalid" };
  }
  const kind = kinds.get(type);
  if (!kind) {
    issues.push({
      path: `${path}.type`,
      message: `unknown requirement type "${type}"; supported: ${[...kinds.keys()].join(", ")}`,
    });
    return { type: "invalid" };
  }
  const parsed = kind.schema.safeParse(raw);
  if (!parsed.success) {
    issues.push(...zodIssues(parsed.error, path));
    return { type: "invalid" };
  }
  if (review && kind.review) review.warnings.push(...kind.review(parsed.data, review.where ?? ((p) => joinPath(path, p))));
  return parsed.data;
}
