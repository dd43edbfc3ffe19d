// Policy change preview, the pure part: how one replayed image compares with its recorded verdict,
// and the summary and list of changes a preview answers (worker/preview.ts replays; docs/preview.md).
import type { Reason, ReasonCode } from "./reasons";

export interface Outcome {
  readonly decision: "allow" | "deny";
  readonly reasons: readonly Reason[];
}

export interface Replayed {
  readonly image: string;
  readonly reference: string;
  readonly context: Readonly<Record<string, unknown>> | null;
  readonly before: Outcome;
  readonly after: Outcome;
}

export type Change = "newlyDenied" | "newlyAllowed" | "unchanged" | "errors";

export interface PreviewSummary {
  newlyDenied: number;
  newlyAllowed: number;
  unchanged: number;
  errors: number;
}

/**
 * Reasons that say the replay could not check the image (an upstream away, a verifier that threw, a
 * recorded image that no longer parses): a deny that says nothing about the candidate policy.
 */
export const REPLAY_ERROR_CODES: ReadonlySet<ReasonCode> = new Set<ReasonCode>([
  "VERIFICATION_ERROR",
  "INVALID_REFERENCE",
  "REGISTRY_UNREACHABLE",
  "REGISTRY_AUTH_FAILED",
  "REGISTRY_BAD_RESPONSE",
  "NOTARY_TRUST_SERVER_UNREACHABLE",
  "NOTARY_TRUST_SERVER_AUTH_FAILED",
  "SIMPLE_LOOKASIDE_UNREACHABLE",
]);

/**
 * What the candidate changes for one image. A replay denied only because something could not be
 * checked is an error, not a change, unless it was denied before too (then nothing changed).
 */
export function classify(before: Outcome, after: Outcome): Change {
  if (after.decision === "deny" && before.decision !== "deny" && after.reasons.some((r) => REPLAY_ERROR_CODES.has(r.code))) return "errors";
  if (before.decision === after.decision) return "unchanged";
  return after.decision === "deny" ? "newlyDenied" : "newlyAllowed";
}

/** Only a change or an error is listed, newly denied first (what a gate acts on), then newly allowed, then errors. */
const LISTED: Readonly<Record<Change, number>> = { newlyDenied: 0, newlyAllowed: 1, errors: 2, unchanged: -1 };

export function emptySummary(): PreviewSummary {
  return { newlyDenied: 0, newlyAllowed: 0, unchanged: 0, errors: 0 };
}

/** Adds replays to a summary and to the listed changes (both mutated: a job adds a chunk at a time). */
export function tally(replays: readonly Replayed[], summary: PreviewSummary, changes: Replayed[]): void {
  for (const r of replays) {
    const change = classify(r.before, r.after);
    summary[change]++;
    if (LISTED[change] >= 0) changes.push(r);
  }
}

/** The listed changes in answer order; stable within a class (the window's newest first). */
export function orderChanges(changes: readonly Replayed[]): Replayed[] {
  return changes
    .map((r, i) => ({ r, i, k: LISTED[classify(r.before, r.after)] }))
    .sort((a, b) => a.k - b.k || a.i - b.i)
    .map(({ r }) => r);
}
