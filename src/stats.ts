// Verdict statistics, the pure part: the window (whole UTC hours) and buckets a stats query covers,
// the series with empty buckets filled in, and the two facts the verdict log keeps per row for
// counting (the reason code that decided, the upstream host that failed). worker/stores/verdict-stats.ts
// runs the SQL over the per-hour counts of migrations/0003_verdict_stats.sql.
import { NOT_DENY_REASONS, type Reason, type ReasonCode } from "./reasons";

export type Bucket = "hour" | "day";

export const BUCKET_MS: Readonly<Record<Bucket, number>> = { hour: 3_600_000, day: 86_400_000 };

/** The widest window one query may span, and the most buckets its series may hold. */
export const STATS_LIMITS = Object.freeze({
  /** Past the default retention (90 days) with room; a year of days is 366 buckets. */
  maxWindowDays: 400,
  /** 31 days of hours: a month's hourly chart, a year's daily one. */
  maxBuckets: 744,
  /** Rows of the top lists. */
  top: 10,
});

export interface StatsWindow {
  /** Inclusive, ms since the epoch. */
  readonly fromMs: number;
  /** Exclusive. */
  readonly toMs: number;
  readonly bucket: Bucket;
}

export class StatsQueryError extends Error {
  override readonly name = "StatsQueryError";
}

/** ISO 8601 with a date, a time and a zone (Z or ±hh:mm); nothing else reads as a time here. */
const ISO_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:\d{2})$/;

export function isoTime(name: string, text: string): number {
  const ms = ISO_RE.test(text) ? Date.parse(text) : NaN;
  if (!Number.isFinite(ms)) {
    throw new StatsQueryError(`${name} must be an ISO 8601 time with a zone, e.g. 2026-05-01T00:00:00Z, not "${text.slice(0, 40)}"`);
  }
  return ms;
}

const HOUR_MS = 3_600_000;

/**
 * The window of `?from=&to=&bucket=`: bucket hour (default) or day; to defaults to now, from to 24 h
 * before to. Counts are kept per UTC hour, so the window is widened to whole hours (from down, to
 * up) and the answer says so. Refused: a bad time or bucket, from not before to, a window past
 * maxWindowDays, or one that would need more than maxBuckets buckets.
 */
export function statsWindow(q: { from?: string | undefined; to?: string | undefined; bucket?: string | undefined }, nowMs: number): StatsWindow {
  const bucket = q.bucket ?? "hour";
  if (bucket !== "hour" && bucket !== "day") throw new StatsQueryError(`bucket must be "hour" or "day", not "${bucket.slice(0, 40)}"`);
  const givenTo = q.to !== undefined ? isoTime("to", q.to) : nowMs;
  const givenFrom = q.from !== undefined ? isoTime("from", q.from) : givenTo - 86_400_000;
  if (givenFrom >= givenTo) throw new StatsQueryError("from must be before to");
  const toMs = Math.ceil(givenTo / HOUR_MS) * HOUR_MS;
  const fromMs = q.from !== undefined ? Math.floor(givenFrom / HOUR_MS) * HOUR_MS : toMs - 86_400_000;
  if (toMs - fromMs > STATS_LIMITS.maxWindowDays * 86_400_000) {
    throw new StatsQueryError(`the window may span at most ${STATS_LIMITS.maxWindowDays} days`);
  }
  const window = { fromMs, toMs, bucket } as const;
  const count = bucketStarts(window).length;
  if (count > STATS_LIMITS.maxBuckets) {
    throw new StatsQueryError(`the window needs ${count} ${bucket} buckets; at most ${STATS_LIMITS.maxBuckets} (use bucket=day or a shorter window)`);
  }
  return window;
}

/** The bucket a time falls in (UTC hours and days). */
export function bucketStart(ms: number, bucket: Bucket): number {
  return Math.floor(ms / BUCKET_MS[bucket]) * BUCKET_MS[bucket];
}

/** Every bucket the window touches, the first one holding `from` (it may start before it). */
export function bucketStarts(w: StatsWindow): number[] {
  const out: number[] = [];
  const step = BUCKET_MS[w.bucket];
  // Bounded by the caller's checks; the guard keeps a wrong call from looping for long.
  for (let t = bucketStart(w.fromMs, w.bucket); t < w.toMs && out.length <= STATS_LIMITS.maxBuckets; t += step) out.push(t);
  return out;
}

export interface SeriesPoint {
  readonly start: string;
  readonly allow: number;
  readonly deny: number;
}

/** Counts per (bucket, decision) as the query returns them → one point per bucket, empty ones at 0. */
export function fillSeries(w: StatsWindow, rows: readonly { bucket: number; decision: string; n: number }[]): SeriesPoint[] {
  const counts = new Map<number, { allow: number; deny: number }>();
  for (const t of bucketStarts(w)) counts.set(t, { allow: 0, deny: 0 });
  const step = BUCKET_MS[w.bucket];
  for (const row of rows) {
    const slot = counts.get(row.bucket * step);
    if (slot && (row.decision === "allow" || row.decision === "deny")) slot[row.decision] += row.n;
  }
  return [...counts].map(([t, c]) => ({ start: new Date(t).toISOString(), allow: c.allow, deny: c.deny }));
}

/**
 * The code that decided: a deny's first reason that is a reason to deny, an allow's first reason.
 * Stats count denies by it (one code per verdict, so the counts add up to the denies).
 */
export function decidingCode(decision: "allow" | "deny", reasons: readonly Reason[]): ReasonCode | null {
  const r = decision === "deny" ? reasons.find((x) => !NOT_DENY_REASONS.has(x.code)) ?? reasons[0] : reasons[0];
  return r?.code ?? null;
}

/** Codes of an upstream that failed to answer (directly, or as the cause of an unresolved digest or tag). */
const UPSTREAM_FAILURES: ReadonlySet<string> = new Set([
  "REGISTRY_UNREACHABLE",
  "REGISTRY_AUTH_FAILED",
  "REGISTRY_BAD_RESPONSE",
  "NOTARY_TRUST_SERVER_UNREACHABLE",
  "NOTARY_TRUST_SERVER_AUTH_FAILED",
  "NOTARY_STALE_TRUST_DATA",
  "SIMPLE_LOOKASIDE_UNREACHABLE",
]);

function hostOf(url: unknown): string | null {
  if (typeof url !== "string") return null;
  try {
    return new URL(url).host || null;
  } catch {
    return null;
  }
}

/**
 * The host of the first upstream that failed this decision, or null: the reason's `url`, else its
 * trust `server`, else (registry codes) the image's registry. Hosts are at most 255 characters.
 */
export function failedUpstreamHost(reasons: readonly Reason[], registry: string): string | null {
  for (const r of reasons) {
    const code = UPSTREAM_FAILURES.has(r.code) ? r.code : typeof r.cause === "string" && UPSTREAM_FAILURES.has(r.cause) ? r.cause : null;
    if (!code) continue;
    const host = hostOf(r.url) ?? hostOf(r.server) ?? (code.startsWith("REGISTRY_") && registry ? registry : null);
    return (host ?? "unknown").slice(0, 255);
  }
  return null;
}
