// Reading back what trustgate stored (cache entries in KV): an entry that is not what was written is
// a miss for every reader, so they share these checks instead of each parsing its own way.
import { REASON_CODES, type Reason } from "./reasons";

/** The JSON of a stored entry; `ok: false` when there is none or it is not JSON. */
export function readStoredJson(text: string | null): { readonly ok: true; readonly value: unknown } | { readonly ok: false } {
  if (!text) return { ok: false };
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch {
    return { ok: false };
  }
}

export const isRecord = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** A time in ms, as entries store them. */
export const isTime = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

const KNOWN_CODES: ReadonlySet<string> = new Set(REASON_CODES);

/** A reason with a code this build knows and a message: what a stored verdict may carry. */
export const isStoredReason = (v: unknown): v is Reason =>
  isRecord(v) && typeof v.code === "string" && KNOWN_CODES.has(v.code) && typeof v.message === "string";
