// The trust cache of verified requirement outcomes (`simple:verdict:v1`, `cosign:verdict:v1`, and
// the kinds to come): one key per outcome and what it depends on, an entry read back against the
// shape written, reuse until `until`, the write behind the verdict.
//
// An entry that is not one, whatever made it so (a truncated write, another version's shape, a hand
// edit), is a miss: the requirement verifies afresh. It never decides, neither allow nor deny.
//
// Notary does not keep outcomes: it keeps trust data (a summary per server, GUN and pins that each rule
// judges on its own, reused stale while the server is away, and rollback state): notary-stored.ts.
// Both are entries of entry-cache.ts, which keys, reads and writes them for every kind.
//
// The TTL asked of the cache is the one meant; the KV adapter (worker/stores/kv-cache.ts) raises it
// to KV's minimum. `until` is what bounds reuse either way.
import type { EvaluationContext, RequirementOutcome } from "../policy/requirement-kinds";
import { writeBehind } from "../ports";
import type { Reason, ReasonCode } from "../reasons";
import { isRecord, isStoredReason, isTime, readStoredJson } from "../stored";
import { entryCache } from "./entry-cache";

/** One entry, as written. */
interface StoredOutcome {
  readonly satisfied: boolean;
  /** Without the per-rule fields (rule, requirement), put back when read. */
  readonly reasons: readonly Reason[];
  /** When it was verified (ms since epoch): an entry from the reader's future is not used. */
  readonly checkedAt?: number;
  /** Reuse ends here (ms since epoch). */
  readonly until: number;
}

export interface OutcomeCacheSpec {
  /** The key's prefix, its version included ("cosign:verdict:v1:"); a new entry shape bumps it. */
  readonly prefix: string;
  /** The requirement type, put back on every reason read (with the rule). */
  readonly requirement: string;
  /** Names the write in the log when it fails ("cosign cache write"). */
  readonly what: string;
  /** The kind's allow code: an allow names it and a deny does not, as every outcome written does. */
  readonly signed: ReasonCode;
  /** Entries under this prefix were once written without `checkedAt` (cosign v1): those still read. */
  readonly checkedAtOptional?: boolean;
}

export interface OutcomeCache {
  /** The entry's key: the prefix and a stable hash of everything the outcome depends on. */
  key(dependsOn: unknown): Promise<string>;
  /** The fresh outcome under `key` for the rule `ctx` evaluates; undefined is a miss. */
  read(ctx: EvaluationContext, key: string, now: number): Promise<RequirementOutcome | undefined>;
  /**
   * Keeps `outcome` under `key` until `until` (not at all when that is less than a second away),
   * behind the verdict when `ctx` has a background. Whether an outcome may be kept is the kind's call.
   */
  write(ctx: EvaluationContext, key: string, outcome: Pick<RequirementOutcome, "satisfied" | "reasons">, now: number, until: number): Promise<void>;
}

/** Whole seconds from `now` to `until`, never negative: the TTL of a hit or a write. */
export function secondsUntil(until: number, now: number): number {
  return Math.max(0, Math.floor((until - now) / 1000));
}

export function outcomeCache(spec: OutcomeCacheSpec): OutcomeCache {
  const entries = entryCache<StoredOutcome>(spec.prefix, (text) => readStoredOutcome(text, spec.signed));
  return {
    key: (dependsOn) => entries.key(dependsOn),
    async read(ctx, key, now) {
      const entry = await entries.get(ctx.deps.trustCache, key);
      if (!entry || now >= entry.until) return undefined;
      if (entry.checkedAt === undefined ? !spec.checkedAtOptional : now < entry.checkedAt) return undefined;
      const base = { rule: ctx.rule, requirement: spec.requirement };
      return {
        satisfied: entry.satisfied,
        // Another rule may share this requirement: the rule's own pattern goes on the reasons.
        reasons: entry.reasons.map((r) => ({ ...r, ...base })),
        cacheable: true,
        ttlSeconds: secondsUntil(entry.until, now),
      };
    },
    async write(ctx, key, outcome, now, until) {
      const ttlSeconds = secondsUntil(until, now);
      if (ttlSeconds <= 0) return;
      const reasons = outcome.reasons.map(({ rule: _rule, requirement: _requirement, ...rest }) => rest as Reason);
      const entry: StoredOutcome = { satisfied: outcome.satisfied, reasons, checkedAt: now, until };
      await writeBehind(entries.put(ctx.deps.trustCache, key, entry, ttlSeconds), ctx.background, spec.what);
    },
  };
}


/** The stored outcome, or undefined when `text` is not one the kind with allow code `signed` writes. */
function readStoredOutcome(text: string | null, signed: ReasonCode): StoredOutcome | undefined {
  const stored = readStoredJson(text);
  if (!stored.ok || !isRecord(stored.value)) return undefined;
  const { satisfied, reasons, until, checkedAt } = stored.value;
  if (typeof satisfied !== "boolean" || !isTime(until) || (checkedAt !== undefined && !isTime(checkedAt))) return undefined;
  if (!Array.isArray(reasons) || reasons.length === 0 || !reasons.every(isStoredReason)) return undefined;
  if (reasons.some((r) => r.code === signed) !== satisfied) return undefined;
  return { satisfied, reasons, until, ...(checkedAt !== undefined ? { checkedAt } : {}) };
}
