// The decision: most specific rule (or, for allMatching policies, every matching rule) → digest →
// every requirement of those rules → allow or deny, with reasons. Fails closed: no rule, an unknown
// kind or a verifier error is a deny.
import { compiledPolicyFor, ruleLabel, ruleMode, type CompiledPolicy, type CompiledRule } from "./policy/compile";
import type { Mode, Policy, Requirement } from "./policy/model";
import type { DigestNeed, PrepareContext, RequirementKind, RequirementKinds, RequirementOutcome, VerifierDeps } from "./policy/requirement-kinds";
import { requirementUpstreams, ruleUpstreams, verifierNaming } from "./policy/upstreams";
import { writeBehind, type Background, type Cache, type Clock, type DigestResolver, type NamedUpstreams } from "./ports";
import type { Reason } from "./reasons";
import { isRecord, isStoredReason, isTime, readStoredJson } from "./stored";
import type { ImageReference } from "./reference";
import { DEFAULT_LIMITS } from "./limits";

export interface PolicyView {
  readonly id: string;
  readonly revision: string;
  readonly policy: Policy;
}

export interface Verdict {
  readonly decision: "allow" | "deny";
  readonly allowed: boolean;
  readonly image: string;
  readonly reference: string;
  readonly digest: string | null;
  readonly policy: { readonly id: string; readonly revision: string };
  readonly rule: string | null;
  readonly mode: Mode;
  readonly reasons: readonly Reason[];
  readonly cached: boolean;
  readonly evaluatedAt: string;
}

export interface DecideDeps {
  readonly kinds: RequirementKinds;
  readonly digests: DigestResolver;
  readonly verdictCache: Cache;
  /** How long a verified verdict may be reused for the same (revision, rule, repository, digest). */
  readonly verdictTtlSeconds: number;
  readonly verifier: VerifierDeps;
  readonly clock: Clock;
  /**
   * The most one decision may take, end to end (digest, cache, every requirement), in ms. Past it
   * the decision is a deny saying what was still outstanding; default DEFAULT_DECISION_BUDGET_MS.
   */
  readonly budgetMs?: number;
}

export const DEFAULT_DECISION_BUDGET_MS = DEFAULT_LIMITS.decision.budgetMs;

export interface DecisionInput {
  readonly image: string;
  readonly reference: ImageReference;
  readonly context: Readonly<Record<string, unknown>>;
  /** Where cache writes go once the verdict is known (Workers: ctx.waitUntil); absent: awaited. */
  readonly background?: Background;
}

type CachedVerdict = Pick<Verdict, "decision" | "allowed" | "digest" | "rule" | "reasons">;

const NEED_ORDER: Record<DigestNeed, number> = { none: 0, optional: 1, required: 2 };

/** What a shared (singleflight) verification hands every request waiting on it. */
interface SharedOutcome {
  readonly verdict: CachedVerdict;
  readonly cached: boolean;
}

/**
 * Verifications in progress in this isolate, by verdict cache key: concurrent identical cold
 * decisions wait on the first one instead of each fetching and verifying. Removed when settled.
 */
const inFlight = new Map<string, Promise<SharedOutcome>>();

/** For tests: how many verifications are in progress in this isolate. */
export function inFlightVerifications(): number {
  return inFlight.size;
}

/** What the decision is waiting for right now, for the message when the budget runs out. */
interface Progress {
  step: string;
  readonly pending: Set<string>;
  /** The in-flight verification this decision started, if any: dropped when its budget runs out. */
  leading?: { readonly key: string; readonly promise: Promise<SharedOutcome> };
  /** Called once the decision's own work is over (its verdict reached, or given up on). */
  onEnd?: () => void;
}

export async function decide(input: DecisionInput, view: PolicyView, deps: DecideDeps): Promise<Verdict> {
  const budgetMs = deps.budgetMs ?? DEFAULT_DECISION_BUDGET_MS;
  const progress: Progress = { step: "starting the decision", pending: new Set() };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const overBudget = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), budgetMs);
  });
  try {
    const decided = decideWithin(input, view, deps, progress)
      .catch((err: unknown) =>
        // Whatever escapes (a cache binding failing, a bug) is a deny, never a 500.
        failClosed(input, view, deps, `the decision could not be completed: ${err instanceof Error ? err.message : String(err)}`),
      )
      .finally(() => progress.onEnd?.());
    const first = await Promise.race([decided, overBudget]);
    if (first !== "timeout") return first;
    // A verification that outlives its budget must not hold the slot: later requests start afresh.
    const leading = progress.leading;
    if (leading && inFlight.get(leading.key) === leading.promise) inFlight.delete(leading.key);
    const waiting =
      progress.pending.size > 0
        ? `still waiting for the ${[...progress.pending].join(", ")} (${progress.step})`
        : `still ${progress.step}`;
    return failClosed(input, view, deps, `the decision took longer than ${budgetMs} ms: ${waiting}`);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

/** A deny (or, in audit mode, an allow that says so) for a decision that could not finish. */
function failClosed(input: DecisionInput, view: PolicyView, deps: DecideDeps, message: string): Verdict {
  return concluded(input, view, deps.clock.now().toISOString(), false, null, input.reference.digest ?? null, [
    { code: "VERIFICATION_ERROR", message, rule: null },
  ]);
}

/** The verdict as answered, built field by field so every verdict reads in the documented order. */
function verdictFor(input: DecisionInput, view: PolicyView, evaluatedAt: string, v: CachedVerdict, cached: boolean): Verdict {
  return {
    decision: v.decision,
    allowed: v.allowed,
    image: input.image,
    reference: input.reference.canonical,
    digest: v.digest,
    policy: { id: view.id, revision: view.revision },
    rule: v.rule,
    mode: view.policy.mode,
    reasons: v.reasons,
    cached,
    evaluatedAt,
  };
}

/** A freshly reached verdict: allowed when satisfied, or in audit mode with a reason that says so. */
function concluded(
  input: DecisionInput,
  view: PolicyView,
  evaluatedAt: string,
  satisfied: boolean,
  rule: string | null,
  digest: string | null,
  reasons: Reason[],
): Verdict {
  const audit = view.policy.mode === "audit";
  const allowed = satisfied || audit;
  if (!satisfied && audit) {
    reasons.push({
      code: "AUDIT_MODE",
      message: "audit mode (detection mode active): the image would have been denied, and is allowed",
      rule,
    });
  }
  return verdictFor(input, view, evaluatedAt, { decision: allowed ? "allow" : "deny", allowed, digest, rule, reasons }, false);
}

async function decideWithin(input: DecisionInput, view: PolicyView, deps: DecideDeps, progress: Progress): Promise<Verdict> {
  const { reference } = input;
  const evaluatedAt = deps.clock.now().toISOString();
  const verdictOf = (v: CachedVerdict, cached: boolean): Verdict => verdictFor(input, view, evaluatedAt, v, cached);
  const finish = (satisfied: boolean, rule: string | null, digest: string | null, reasons: Reason[]): Verdict =>
    concluded(input, view, evaluatedAt, satisfied, rule, digest, reasons);

  const namespace = typeof input.context.namespace === "string" ? input.context.namespace : undefined;
  const compiled = compiledPolicyFor(view.revision, view.policy);
  const notes: Reason[] = [];
  const picked = allMatching(view.policy) ? selectAllMatching(input, compiled) : await pickRule(input, compiled, namespace, deps, progress, notes);
  if ("verdict" in picked) return finish(false, picked.verdict.rule, reference.digest ?? null, picked.verdict.reasons);
  // What the rule and its requirements see: the reference, or name@digest when its tag was no evidence.
  const { decided, matches } = picked;
  if (matches.length === 0) {
    if (allMatching(view.policy)) return finishNoMatch(view, input, evaluatedAt);
    return finish(false, null, reference.digest ?? null, [
      { code: "NO_MATCHING_RULE", message: noMatchMessage(view, input.image, reference.canonical, namespace, compiled), rule: null },
      ...notes,
    ]);
  }
  const rule = matches.map((m) => ruleLabel(m.rule)).join(", ");
  const entries = matches.flatMap((match) => match.rule.require.map((requirement) => ({ match, requirement })));
  const requirements = entries.map((e) => e.requirement);
  const kinds = requirements.map((r) => deps.kinds.get(r.type));
  // The hosts these rules name literally may be contacted by this decision even on a private
  // address (docs/security.md). Verdict cache and singleflight keys hold the rules' indexes, so a
  // verdict reached with these permissions only ever answers the same rules.
  const upstreams = unionUpstreams(matches, deps);

  const need = kinds.reduce<DigestNeed>(
    (acc, k) => (k && NEED_ORDER[k.digest] > NEED_ORDER[acc] ? k.digest : acc),
    "none",
  );
  let digest = reference.digest;
  // Work of the rule's kinds that needs no digest, started only when the registry is asked, and
  // called off when the decision ends without it (a registry that failed): none outlives it.
  const prepared = new Map<number, Promise<unknown>>();
  const unprepare = new AbortController();
  progress.onEnd = () => unprepare.abort();
  if (!digest && need !== "none") {
    progress.step = `resolving the digest of ${reference.canonical} at registry ${reference.registry}`;
    const startPrepared = () =>
      prepareAll(prepared, requirements, kinds, {
        reference: decided,
        rule,
        context: input.context,
        deps: verifierNaming(deps.verifier, upstreams),
        signal: unprepare.signal,
        ...(input.background ? { background: input.background } : {}),
      });
    const resolved = await deps.digests.resolve(reference, upstreams, input.background, startPrepared);
    if (resolved.ok) {
      digest = resolved.digest;
    } else if (need === "required") {
      const judged = judgeRules(matches, () => [{ satisfied: false, cacheable: false, reasons: [{ ...resolved.reason, rule }] }], view.policy, input.context);
      return finish(judged.satisfied, rule, null, judged.reasons);
    } else {
      notes.push({
        code: "DIGEST_UNRESOLVED",
        message: `the digest of ${reference.canonical} is not known: ${resolved.reason.message}`,
        cause: resolved.reason.code,
        rule,
      });
    }
  }

  // Only verified outcomes are worth caching; static rules are cheaper to evaluate than to look up.
  const verifying = kinds.some((k) => k?.digest === "required");
  // Every part of the reference the decision saw is in the key (Notary signs tags, identities
  // compare them, a pinned digest is checked differently from a resolved one): a verdict for
  // name:v1@d never answers name:latest@d, name@d or name:v1.
  // The rules (and the mode each decided in: a namespace may override it) are in the key too.
  const cacheKey = digest ? `verdict:v4:${view.revision}:${rulesKey(matches, view.policy, input.context)}:${decided.canonical}#${digest}` : undefined;
  if (!verifying || !cacheKey) return verifyAll();

  // Singleflight: registered before any await, so a second identical request always finds it.
  let shared = inFlight.get(cacheKey);
  if (shared) {
    progress.step = "waiting for the same verification started by a concurrent request";
  } else {
    const key = cacheKey;
    shared = (async (): Promise<SharedOutcome> => {
      progress.step = "reading the verdict cache";
      const hit = await deps.verdictCache.get(key).catch(() => null);
      const entry = hit === null ? undefined : readCachedVerdict(hit);
      if (entry && entry.until > deps.clock.now().getTime()) return { verdict: entry.verdict, cached: true };
      const verdict = await verifyAll(key);
      return { verdict, cached: false };
    })().finally(() => {
      if (inFlight.get(key) === shared) inFlight.delete(key);
    });
    inFlight.set(key, shared);
    progress.leading = { key, promise: shared };
  }
  const outcome = await shared;
  return verdictOf(outcome.verdict, outcome.cached);

  async function verifyAll(key?: string): Promise<Verdict> {
    progress.step = "verifying";
    const verifierDeps = verifierNaming(deps.verifier, upstreams);
    const outcomes = await Promise.all(
      requirements.map(async (requirement, i): Promise<RequirementOutcome> => {
        const kind = kinds[i];
        const rule = ruleLabel(entries[i]!.match.rule);
        if (!kind) {
          return {
            satisfied: false,
            cacheable: false,
            reasons: [
              {
                code: "REQUIREMENT_UNAVAILABLE",
                message: `requirement type "${requirement.type}" is not available in this version of trustgate`,
                rule,
                requirement: requirement.type,
              },
            ],
          };
        }
        // Named with the upstream it talks to, so a budget overrun says whom it waited for.
        const label = `${requirements.length > 1 ? `${requirement.type} (#${i + 1})` : requirement.type} requirement at ${upstreamsOf(kind, requirement, reference.registry)}`;
        progress.pending.add(label);
        try {
          return await kind.evaluate(requirement, {
            reference: decided,
            digest,
            rule,
            context: input.context,
            deps: verifierDeps,
            ...(input.background ? { background: input.background } : {}),
            ...(prepared.has(i) ? { prepared: prepared.get(i)! } : {}),
          });
        } catch (err) {
          return {
            satisfied: false,
            cacheable: false,
            reasons: [
              {
                code: "VERIFICATION_ERROR",
                message: `the ${requirement.type} requirement could not be checked: ${err instanceof Error ? err.message : String(err)}`,
                rule,
                requirement: requirement.type,
              },
            ],
          };
        } finally {
          progress.pending.delete(label);
        }
      }),
    );
    const judged = judgeRules(matches, (m) => outcomes.filter((_, i) => entries[i]!.match === m), view.policy, input.context);
    const verdict = finish(judged.satisfied, rule, digest ?? null, [...judged.reasons, ...notes]);

    const ttl = Math.min(deps.verdictTtlSeconds, ...outcomes.map((o) => o.ttlSeconds ?? Infinity));
    if (key && outcomes.every((o) => o.cacheable) && ttl > 0) {
      const entry: CachedVerdict = {
        decision: verdict.decision,
        allowed: verdict.allowed,
        digest: verdict.digest,
        rule: verdict.rule,
        reasons: verdict.reasons,
      };
      const until = deps.clock.now().getTime() + ttl * 1000;
      progress.step = "writing the verdict cache";
      // The verdict stands even when the cache cannot take it.
      const put = deps.verdictCache.put(key, JSON.stringify({ verdict: entry, until }), { ttlSeconds: Math.ceil(ttl) });
      await writeBehind(put, input.background, "verdict cache write").catch((err: unknown) => console.error("verdict cache write failed:", err));
    }
    return verdict;
  }
}

/**
 * Starts each kind's `prepare` (work that needs no digest) while the registry is asked for the
 * digest. A rejection is kept for `evaluate` to meet; it is never left unhandled.
 */
function prepareAll(
  into: Map<number, Promise<unknown>>,
  requirements: readonly Requirement[],
  kinds: readonly (RequirementKind | undefined)[],
  ctx: PrepareContext,
): void {
  requirements.forEach((requirement, i) => {
    const kind = kinds[i];
    if (!kind?.prepare || into.has(i)) return;
    const work = Promise.resolve().then(() => kind.prepare!(requirement, ctx));
    work.catch(() => {});
    into.set(i, work);
  });
}

type Picked =
  | { readonly decided: ImageReference; readonly matches: readonly CompiledRule[] }
  | { readonly verdict: { readonly rule: string; readonly reasons: Reason[] } };

/**
 * The rule for the reference. A runtime pulls name:tag@digest by its digest, so the tag may pick a
 * rule (one that names tags) only when the registry says the tag means that digest; a tag that
 * means another digest is a deny, and one that cannot be resolved is no evidence: name@digest is
 * matched instead (docs/patterns.md, "Tag and digest").
 */
async function pickRule(
  input: DecisionInput,
  compiled: CompiledPolicy,
  namespace: string | undefined,
  deps: DecideDeps,
  progress: Progress,
  notes: Reason[],
): Promise<Picked> {
  const { reference } = input;
  const match = compiled.match(reference, namespace);
  if (reference.tag === undefined || reference.digest === undefined || !match) return { decided: reference, matches: match ? [match] : [] };
  const pinned = withoutTag(reference);
  const byDigest = compiled.match(pinned, namespace);
  // The digest alone picks the same rule: the tag chose nothing, and nothing needs resolving.
  if (byDigest?.index === match.index) return { decided: reference, matches: [match] };

  const rule = match.rule.pattern;
  const tagged = `${reference.name}:${reference.tag}`;
  progress.step = `resolving tag ${tagged} at registry ${reference.registry}, which rule ${rule} names`;
  const resolved = await deps.digests.resolve(withoutDigest(reference), ruleUpstreams(match, deps.kinds), input.background);
  if (resolved.ok && resolved.digest === reference.digest) return { decided: reference, matches: [match] };
  if (resolved.ok) {
    const reasons: Reason[] = [
      {
        code: "TAG_DIGEST_MISMATCH",
        message:
          `the tag and the digest disagree: ${tagged} is ${resolved.digest} at the registry, not ${reference.digest}; ` +
          `a runtime pulls ${reference.digest}, so rule ${rule}, which names the tag, does not apply to it. ` +
          `Pin the digest the tag has now, or write ${pinned.canonical}`,
        rule,
        tag: reference.tag,
        tagDigest: resolved.digest,
      },
    ];
    return { verdict: { rule, reasons } };
  }
  notes.push({
    code: "TAG_UNRESOLVED",
    message:
      `the tag of ${reference.canonical} could not be checked against its digest (${resolved.reason.message}); ` +
      `the tag is no evidence, so the image was decided as ${pinned.canonical}`,
    cause: resolved.reason.code,
    rule: byDigest?.rule.pattern ?? null,
  });
  return { decided: pinned, matches: byDigest ? [byDigest] : [] };
}

function withoutTag(ref: ImageReference): ImageReference {
  return { registry: ref.registry, path: ref.path, name: ref.name, ...(ref.digest !== undefined ? { digest: ref.digest } : {}), canonical: `${ref.name}@${ref.digest ?? ""}` };
}

function withoutDigest(ref: ImageReference): ImageReference {
  return { registry: ref.registry, path: ref.path, name: ref.name, ...(ref.tag !== undefined ? { tag: ref.tag } : {}), canonical: `${ref.name}:${ref.tag ?? "latest"}` };
}

/** A verdict cache entry, or undefined when it is not one (corrupt, foreign, older format): a miss. */
function readCachedVerdict(raw: string): { verdict: CachedVerdict; until: number } | undefined {
  const stored = readStoredJson(raw);
  if (!stored.ok || !isRecord(stored.value)) return undefined;
  const { verdict: v, until } = stored.value;
  if (!isTime(until) || !isRecord(v)) return undefined;
  const decisionOk = (v.decision === "allow" && v.allowed === true) || (v.decision === "deny" && v.allowed === false);
  if (!decisionOk || !(typeof v.digest === "string" || v.digest === null) || !(typeof v.rule === "string" || v.rule === null)) return undefined;
  if (!Array.isArray(v.reasons) || !v.reasons.every(isStoredReason)) return undefined;
  return { verdict: v as unknown as CachedVerdict, until };
}

/** The hosts a requirement talks to: those it names, else the image's registry. */
function upstreamsOf(kind: RequirementKind, requirement: Requirement, registry: string): string {
  const named = requirementUpstreams(kind, requirement);
  return named.length > 0 ? named.join(", ") : `registry ${registry}`;
}

/** Each tool's users know its own words for "nothing matched". */
function noMatchMessage(
  view: PolicyView,
  image: string,
  canonical: string,
  namespace: string | undefined,
  compiled: { hasNamespace(ns: string | undefined): boolean; readonly hasUnscoped: boolean },
): string {
  if (view.policy.patternStyle === "portieris") {
    // Portieris's GetPolicyToEnforce, word for word (its "polices" included).
    if (compiled.hasNamespace(namespace)) return `Deny "${image}", no matching repositories in the ImagePolicies`;
    if (!compiled.hasUnscoped) return `Deny "${image}", no image policies or cluster polices`;
    return `Deny "${image}", no matching repositories in ClusterImagePolicy and no ImagePolicies in the "${namespace ?? ""}" namespace`;
  }
  if (view.policy.patternStyle === "connaisseur") return `no matching rule for image ${canonical} in policy ${view.id}`;
  return `no matching rule: no rule of policy ${view.id} matches ${canonical}`;
}

// ---------------------------------------------------------------------------------------------
// Several rules per decision: policies whose every matching rule must pass (Kyverno,
// policy-controller), rules with a mode of their own.

function allMatching(policy: Policy): boolean {
  return policy.ruleSelection === "allMatching";
}

/** Every rule that selects the image; the tag plays no part (both dialects match name@digest when pinned). */
function selectAllMatching(input: DecisionInput, compiled: CompiledPolicy): Picked {
  const matches = compiled.matchAll(input.reference, input.context);
  const total = matches.reduce((n, m) => n + m.rule.require.length, 0);
  if (total > MAX_DECISION_REQUIREMENTS) {
    // Bounded work: refused whole, never checked in part.
    const rule = matches.map((m) => ruleLabel(m.rule)).join(", ");
    const message = `${matches.length} matching rules bring ${total} requirements; one decision evaluates at most ${MAX_DECISION_REQUIREMENTS}: split the policy so fewer rules match one image`;
    return { verdict: { rule, reasons: [{ code: "VERIFICATION_ERROR", message, rule }] } };
  }
  return { decided: input.reference, matches };
}

const MAX_DECISION_REQUIREMENTS = DEFAULT_LIMITS.decision.requirements;

/** The hosts any of the rules names (one rule: as computed once per compiled rule). */
function unionUpstreams(matches: readonly CompiledRule[], deps: DecideDeps): NamedUpstreams {
  if (matches.length === 1) return ruleUpstreams(matches[0]!, deps.kinds);
  return [...new Set(matches.flatMap((m) => ruleUpstreams(m, deps.kinds)))];
}

/** The rules in the verdict cache key: "3" for one rule, "1+4a" for two, the second in its own audit mode. */
function rulesKey(matches: readonly CompiledRule[], policy: Policy, context: Readonly<Record<string, unknown>>): string {
  return matches.map((m) => `${m.index}${ownAudit(m, policy, context) ? "a" : ""}`).join("+");
}

/** Whether the rule itself (not the policy) says audit for this decision. */
function ownAudit(match: CompiledRule, policy: Policy, context: Readonly<Record<string, unknown>>): boolean {
  if (match.rule.mode === undefined && match.rule.modeOverrides === undefined) return false;
  return ruleMode(match.rule, policy.mode, context) === "audit" && policy.mode !== "audit";
}

/**
 * Each rule holds when all its outcomes hold; a rule in its own audit mode that does not hold is
 * passed with its reasons kept and a note (the policy's audit mode is `concluded`'s, as before).
 */
function judgeRules(
  matches: readonly CompiledRule[],
  outcomesOf: (match: CompiledRule) => readonly RequirementOutcome[],
  policy: Policy,
  context: Readonly<Record<string, unknown>>,
): { satisfied: boolean; reasons: Reason[] } {
  let satisfied = true;
  const reasons: Reason[] = [];
  for (const match of matches) {
    const outcomes = outcomesOf(match);
    const holds = outcomes.every((o) => o.satisfied);
    reasons.push(...outcomes.flatMap((o) => o.reasons));
    if (holds) continue;
    if (ownAudit(match, policy, context)) {
      const label = ruleLabel(match.rule);
      reasons.push({ code: "AUDIT_MODE", message: `rule ${label} is in ${auditWord(policy)} mode: it failed, and the image is allowed`, rule: label });
      continue;
    }
    satisfied = false;
  }
  return { satisfied, reasons };
}

/** Each tool's word for a rule that only reports. */
function auditWord(policy: Policy): string {
  if (policy.patternStyle === "policy-controller") return "warn";
  if (policy.patternStyle === "kyverno") return "Audit (validationFailureAction: Audit)";
  return "audit";
}

/** An image no rule selects, under an allMatching policy's `noMatch`. */
function finishNoMatch(view: PolicyView, input: DecisionInput, evaluatedAt: string): Verdict {
  const digest = input.reference.digest ?? null;
  const noMatch = view.policy.noMatch ?? "deny";
  const canonical = input.reference.canonical;
  if (noMatch === "allow") {
    const message =
      view.policy.patternStyle === "kyverno"
        ? `no verifyImages rule of policy ${view.id} matches ${canonical}: the image is not checked, as Kyverno does`
        : `no rule of policy ${view.id} matches ${canonical}, and the policy allows such images (no-match-policy: allow)`;
    return concluded(input, view, evaluatedAt, true, null, digest, [{ code: "NO_RULE_APPLIES", message, rule: null }]);
  }
  const denied: Reason = {
    code: "NO_MATCHING_RULE",
    message:
      view.policy.patternStyle === "policy-controller"
        ? `no matching policies: no ClusterImagePolicy of policy ${view.id} matches ${canonical}`
        : `no matching rule: no rule of policy ${view.id} matches ${canonical}`,
    rule: null,
  };
  if (noMatch === "warn") {
    return concluded(input, view, evaluatedAt, true, null, digest, [
      denied,
      { code: "AUDIT_MODE", message: "no-match-policy is warn: the image would have been denied, and is allowed", rule: null },
    ]);
  }
  return concluded(input, view, evaluatedAt, false, null, digest, [denied]);
}
