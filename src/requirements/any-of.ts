// `anyOf`: at least `count` of its alternatives hold (policy-controller's authorities, any one of
// which passes a ClusterImagePolicy; Kyverno's attestor sets, `count` entries of which must verify).
import * as z from "../schema";
import type { PolicyIssue, Requirement } from "../policy/model";
import type { EvaluationContext, RequirementKinds, RequirementOutcome } from "../policy/requirement-kinds";
import type { RequirementKind } from "../policy/requirement-kinds";
import { requirementUpstreams } from "../policy/upstreams";
import { NOT_DENY_REASONS, type Reason } from "../reasons";

export type AnyOfRequirement = {
  readonly type: "anyOf";
  /** How many alternatives must hold; default 1. */
  readonly count?: number;
  readonly of: readonly { readonly name?: string; readonly requirement: Requirement }[];
  /**
   * The deny message; "{image}", "{count}", "{passed}" and "{failures}" (each failed alternative's
   * name and why) are filled in. Default: trustgate's wording.
   */
  readonly message?: string;
};

const MAX_ALTERNATIVES = 32;
/** Nesting (Kyverno's nested attestor sets) and the whole tree are bounded: hostile input cannot fan out. */
const MAX_DEPTH = 4;
const MAX_NODES = 256;
/** Alternatives verified at once, per anyOf. */
const PARALLEL = 4;

/** Size and depth of a requirement tree as written, before any nested schema runs. */
function treeProblem(raw: unknown): string | undefined {
  let nodes = 0;
  const walk = (value: unknown, depth: number): string | undefined => {
    if (++nodes > MAX_NODES) return `more than ${MAX_NODES} requirements inside one anyOf`;
    if (typeof value !== "object" || value === null || (value as { type?: unknown }).type !== "anyOf") return undefined;
    if (depth > MAX_DEPTH) return `anyOf nested more than ${MAX_DEPTH} deep`;
    const of = (value as { of?: unknown }).of;
    if (!Array.isArray(of)) return undefined;
    for (const alt of of) {
      const problem = walk(typeof alt === "object" && alt !== null ? (alt as { requirement?: unknown }).requirement : undefined, depth + 1);
      if (problem) return problem;
    }
    return undefined;
  };
  return walk(raw, 1);
}

export function anyOfKind(kinds: () => RequirementKinds): RequirementKind<AnyOfRequirement> {
  const schema = z
    .strictObject({
      type: z.literal("anyOf"),
      count: z.optional(z.int().check(z.minimum(1))),
      of: z
        .array(
          z.strictObject({
            name: z.optional(z.string().check(z.minLength(1), z.maxLength(256))),
            requirement: z.custom<Requirement>((v) => typeof v === "object" && v !== null && !Array.isArray(v), { message: "expected a requirement (a mapping with a type)" }),
          }),
        )
        .check(z.minLength(1), z.maxLength(MAX_ALTERNATIVES)),
      message: z.optional(z.string().check(z.minLength(1), z.maxLength(1024))),
    })
    .check(
      z.superRefine((req, ctx) => {
        if ((req.count ?? 1) > req.of.length) {
          ctx.issues.push({ code: "custom", input: req.count, path: ["count"], message: `count ${req.count} is more than the ${req.of.length} alternatives` });
        }
        const tree = treeProblem(req);
        if (tree) {
          ctx.issues.push({ code: "custom", input: req, path: ["of"], message: tree });
          return;
        }
        req.of.forEach((alt, i) => {
          const type = alt.requirement.type;
          const kind = typeof type === "string" ? kinds().get(type) : undefined;
          if (!kind) {
            ctx.issues.push({ code: "custom", input: type, path: ["of", i, "requirement", "type"], message: `unknown requirement type ${JSON.stringify(type)}; supported: ${[...kinds().keys()].join(", ")}` });
            return;
          }
          const parsed = kind.schema.safeParse(alt.requirement);
          if (parsed.success) return;
          for (const issue of parsed.error.issues) {
            ctx.issues.push({ code: "custom", input: undefined, path: ["of", i, "requirement", ...issue.path], message: issue.message });
          }
        });
      }),
    ) as unknown as z.Schema<AnyOfRequirement>;

  return {
    type: "anyOf",
    schema,
    // Conservative: an alternative may verify, so the digest must be known.
    digest: "required",
    upstreams(req) {
      return [...new Set(req.of.flatMap((alt) => requirementUpstreams(kinds().get(alt.requirement.type), alt.requirement)))];
    },
    review(req, where) {
      const out: PolicyIssue[] = [];
      req.of.forEach((alt, i) => {
        const kind = kinds().get(alt.requirement.type);
        if (kind?.review) out.push(...kind.review(alt.requirement, (p) => where(`of[${i}].requirement${p ? (p.startsWith("[") ? p : `.${p}`) : ""}`)));
      });
      return out;
    },
    evaluate: (req, ctx) => evaluateAnyOf(req, ctx, kinds()),
  };
}

async function evaluateAnyOf(req: AnyOfRequirement, ctx: EvaluationContext, kinds: RequirementKinds): Promise<RequirementOutcome> {
  const count = req.count ?? 1;
  const total = req.of.length;
  const results: (RequirementOutcome | undefined)[] = new Array(total).fill(undefined);
  let next = 0;
  let passed = 0;
  let failed = 0;
  // Stop starting alternatives once the answer is known either way.
  const decided = () => passed >= count || total - failed < count;
  const worker = async () => {
    while (next < total && !decided()) {
      const i = next++;
      const outcome = await evaluateOne(req.of[i]!.requirement, ctx, kinds);
      results[i] = outcome;
      if (outcome.satisfied) passed++;
      else failed++;
    }
  };
  await Promise.all(Array.from({ length: Math.min(PARALLEL, total) }, worker));

  const nameOf = (i: number) => req.of[i]!.name ?? `alternative #${i + 1}`;
  const tagged = (i: number, reasons: readonly Reason[]) => reasons.map((r) => ({ ...r, alternative: nameOf(i) }));
  const evaluated = results.flatMap((o, i) => (o ? [{ o, i }] : []));
  const passing = evaluated.filter((e) => e.o.satisfied);
  const ttl = (list: typeof evaluated) => Math.min(...list.map((e) => e.o.ttlSeconds ?? Infinity));

  if (passed >= count) {
    const t = ttl(passing);
    return {
      satisfied: true,
      // The pass rests on the passing alternatives only.
      cacheable: passing.every((e) => e.o.cacheable),
      ...(Number.isFinite(t) ? { ttlSeconds: t } : {}),
      reasons: passing.flatMap((e) => tagged(e.i, e.o.reasons)),
    };
  }
  const failing = evaluated.filter((e) => !e.o.satisfied);
  const failures = failing
    .map((e) => {
      const why = e.o.reasons.filter((r) => !NOT_DENY_REASONS.has(r.code)).map((r) => r.message);
      return `${nameOf(e.i)}: ${why.length > 0 ? why.join("; ") : "did not hold"}`;
    })
    .join("; ");
  const image = ctx.reference.canonical;
  const message =
    req.message
      ?.replaceAll("{image}", image)
      .replaceAll("{count}", String(count))
      .replaceAll("{passed}", String(passed))
      .replaceAll("{failures}", failures) ??
    `${count} of the ${total} alternatives must hold for ${image}, ${passed} did: ${failures}`;
  const t = ttl(evaluated);
  return {
    satisfied: false,
    cacheable: evaluated.every((e) => e.o.cacheable),
    ...(Number.isFinite(t) ? { ttlSeconds: t } : {}),
    reasons: [
      { code: "ANY_OF_UNMET", message, rule: ctx.rule, requirement: "anyOf", count, passed, failed: failing.map((e) => nameOf(e.i)) },
      ...failing.flatMap((e) => tagged(e.i, e.o.reasons)),
    ],
  };
}

async function evaluateOne(requirement: Requirement, ctx: EvaluationContext, kinds: RequirementKinds): Promise<RequirementOutcome> {
  const kind = kinds.get(requirement.type);
  const base = { rule: ctx.rule, requirement: requirement.type };
  if (!kind) {
    return {
      satisfied: false,
      cacheable: false,
      reasons: [{ code: "REQUIREMENT_UNAVAILABLE", message: `requirement type "${requirement.type}" is not available in this version of trustgate`, ...base }],
    };
  }
  try {
    return await kind.evaluate(requirement, ctx);
  } catch (err) {
    // Fail closed, as decide.ts does for a top-level requirement.
    return {
      satisfied: false,
      cacheable: false,
      reasons: [{ code: "VERIFICATION_ERROR", message: `the ${requirement.type} requirement could not be checked: ${err instanceof Error ? err.message : String(err)}`, ...base }],
    };
  }
}
