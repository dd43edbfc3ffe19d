// Verdict statistics from D1 (GET /v1/stats, docs/stats.md): one batch of grouped counts over a time
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

/**
 * Codes of verdicts no verdict cache could have answered (static rules, nothing matched): neither
 * hits nor misses. A verdict from rows older than the `code` column counts as a miss when not cached.
 */
const NOT_CACHEABLE = "'STATIC_ALLOW', 'STATIC_DENY', 'NO_MATCHING_RULE'";

/** One policy, some (a restricted token's), or every one (null). */
export type PolicyScope = string | readonly string[] | null;

export async function verdictStats(db: D1Database, scope: PolicyScope, w: StatsWindow): Promise<VerdictStats> {
  // ?1 from, ?2 to, ?3 the policy or a JSON array of policies.
  const where =
    scope === null
      ? "evaluated_ms >= ?1 AND evaluated_ms < ?2"
      : typeof scope === "string"
        ? "policy_id = ?3 AND evaluated_ms >= ?1 AND evaluated_ms < ?2"
        : "policy_id IN (SELECT value FROM json_each(?3)) AND evaluated_ms >= ?1 AND evaluated_ms < ?2";
  const args = scope === null ? [w.fromMs, w.toMs] : [w.fromMs, w.toMs, typeof scope === "string" ? scope : JSON.stringify(scope)];
  const top = STATS_LIMITS.top;
  const step = BUCKET_MS[w.bucket];
  const q = (sql: string) => db.prepare(sql).bind(...args);
  const [buckets, denied, codes, hosts] = await db.batch<Record<string, unknown>>([
    // Integer division: the bucket's index since the epoch.
    q(`SELECT evaluated_ms / ${step} AS bucket, decision, COUNT(*) AS n, SUM(cached) AS hits,
         SUM(cached = 0 AND COALESCE(code, '') NOT IN (${NOT_CACHEABLE})) AS misses
       FROM verdicts WHERE ${where} GROUP BY bucket, decision`),
    q(`SELECT reference, COUNT(*) AS n FROM verdicts WHERE decision = 'deny' AND ${where}
       GROUP BY reference ORDER BY n DESC, reference LIMIT ${top}`),
    q(`SELECT COALESCE(code, 'UNKNOWN') AS code, COUNT(*) AS n FROM verdicts WHERE decision = 'deny' AND ${where}
       GROUP BY 1 ORDER BY n DESC, code LIMIT ${top}`),
    q(`SELECT upstream_host AS host, COUNT(*) AS n FROM verdicts WHERE upstream_host IS NOT NULL AND ${where}
       GROUP BY upstream_host ORDER BY n DESC, host LIMIT ${top}`),
  ]);
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
