// Verdict statistics from D1 (GET /v1/stats, docs/stats.md): one batch of grouped sums over the
// per-hour counts a trigger keeps as verdicts are inserted (migrations/0003_verdict_stats.sql).
// range, each query answered from one of the covering indexes in migrations/0003_verdict_stats.sql.
import { BUCKET_MS, fillSeries, STATS_LIMITS, type SeriesPoint, type StatsWindow } from "../../src/stats";

export interface VerdictStats {
  readonly series: SeriesPoint[];
  readonly totals: { allow: number; deny: number };
  readonly topDeniedImages: { reference: string; count: number }[];
  readonly topReasonCodes: { code: string; count: number }[];
  readonly cache: { hits: number; misses: number; ratio: number | null };
  readonly upstreamErrors: { host: string; count: number }[];
}

/** One policy, some (a restricted token's), or every one (null). */
export type PolicyScope = string | readonly string[] | null;

export interface StatsQuery {
  readonly name: "buckets" | "topDeniedImages" | "topReasonCodes" | "upstreamErrors";
  readonly sql: string;
  readonly args: readonly (string | number)[];
}

/** The four queries of one stats answer (also timed one by one by the bench's stats phase). */
export function statsQueries(scope: PolicyScope, w: StatsWindow): StatsQuery[] {
  // ?1 from, ?2 to (whole hours: statsWindow), ?3 the policy or a JSON array of policies.
  const where =
    scope === null
      ? "hour_ms >= ?1 AND hour_ms < ?2"
      : typeof scope === "string"
        ? "policy_id = ?3 AND hour_ms >= ?1 AND hour_ms < ?2"
        : "policy_id IN (SELECT value FROM json_each(?3)) AND hour_ms >= ?1 AND hour_ms < ?2";
  const args = scope === null ? [w.fromMs, w.toMs] : [w.fromMs, w.toMs, typeof scope === "string" ? scope : JSON.stringify(scope)];
  const top = STATS_LIMITS.top;
  const step = BUCKET_MS[w.bucket];
  const q = (name: StatsQuery["name"], sql: string): StatsQuery => ({ name, sql, args });
  return [
    // Integer division: the bucket's index since the epoch.
    q("buckets", `SELECT hour_ms / ${step} AS bucket, decision, SUM(n) AS n, SUM(hits) AS hits, SUM(misses) AS misses
       FROM verdict_hours WHERE ${where} GROUP BY bucket, decision`),
    q("topDeniedImages", `SELECT reference, SUM(n) AS n FROM verdict_hour_denied WHERE ${where}
       GROUP BY reference ORDER BY n DESC, reference LIMIT ${top}`),
    q("topReasonCodes", `SELECT code, SUM(n) AS n FROM verdict_hour_codes WHERE ${where}
       GROUP BY code ORDER BY n DESC, code LIMIT ${top}`),
    q("upstreamErrors", `SELECT host, SUM(n) AS n FROM verdict_hour_hosts WHERE ${where}
       GROUP BY host ORDER BY n DESC, host LIMIT ${top}`),
  ];
}

export async function verdictStats(db: D1Database, scope: PolicyScope, w: StatsWindow): Promise<VerdictStats> {
  // One round trip for all four.
  const [buckets, denied, codes, hosts] = await db.batch<Record<string, unknown>>(
    statsQueries(scope, w).map((s) => db.prepare(s.sql).bind(...s.args)),
  );
  const bucketRows = (buckets!.results as { bucket: number; decision: string; n: number; hits: number; misses: number }[]);
  const series = fillSeries(w, bucketRows);
  let hits = 0;
  let misses = 0;
  const totals = { allow: 0, deny: 0 };
  for (const r of bucketRows) {
    hits += r.hits;
    misses += r.misses;
    if (r.decision === "allow" || r.decision === "deny") totals[r.decision] += r.n;
  }
  return {
    series,
    totals,
    topDeniedImages: (denied!.results as { reference: string; n: number }[]).map((r) => ({ reference: r.reference, count: r.n })),
    topReasonCodes: (codes!.results as { code: string; n: number }[]).map((r) => ({ code: r.code, count: r.n })),
    cache: { hits, misses, ratio: hits + misses > 0 ? hits / (hits + misses) : null },
    upstreamErrors: (hosts!.results as { host: string; n: number }[]).map((r) => ({ host: r.host, count: r.n })),
  };
}
