// Verified outcomes read back from the trust cache (`simple:verdict:v1`, `cosign:verdict:v1`). An
// entry that is not one, whatever made it so (a truncated write, another version's shape, a hand
// edit), is a miss: the requirement verifies afresh. It never decides, neither allow nor deny.
import { REASON_CODES, type Reason, type ReasonCode } from "../reasons";

export interface StoredOutcome {
  readonly satisfied: boolean;
  /** Without the per-rule fields (rule, requirement), added back when read. */
  readonly reasons: readonly Reason[];
  /** Reuse ends here (ms since epoch). */
  readonly until: number;
  /** When it was verified (ms since epoch), for kinds that store it. */
  readonly checkedAt?: number;
}

const KNOWN_CODES: ReadonlySet<string> = new Set(REASON_CODES);

const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);
const isTime = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);
const isReason = (v: unknown): v is Reason => isRecord(v) && typeof v.code === "string" && KNOWN_CODES.has(v.code) && typeof v.message === "string";

/**
 * The stored outcome, or undefined when `text` is not one. `signed` is the kind's allow code: an
 * allow names it and a deny does not, as every outcome the kind writes does.
 */
export function readStoredOutcome(text: string | null, signed: ReasonCode): StoredOutcome | undefined {
  if (!text) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isRecord(value)) return undefined;
  const { satisfied, reasons, until, checkedAt } = value;
  if (typeof satisfied !== "boolean" || !isTime(until) || (checkedAt !== undefined && !isTime(checkedAt))) return undefined;
  if (!Array.isArray(reasons) || reasons.length === 0 || !reasons.every(isReason)) return undefined;
  if (reasons.some((r) => r.code === signed) !== satisfied) return undefined;
  return { satisfied, reasons, until, ...(checkedAt !== undefined ? { checkedAt } : {}) };
}
