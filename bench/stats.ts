// The stats phase (BENCH_PHASES=stats): a million verdict rows in a local D1 (Miniflare, the
// simulator under `wrangler dev --local`), migrations 0003 and 0004 applied on top of them as they
// would be on a live database, then each GET /v1/stats query (worker/stores/verdict-stats.ts) and the
// preview's window query (worker/preview.ts) timed on it, the latter next to the query it replaced.
// Figures in bench/README.md "Stats".
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { statsQueries, verdictStats, type PolicyScope } from "../worker/stores/verdict-stats";
import { readWindow } from "../worker/preview";
import { statsWindow, type StatsWindow } from "../src/stats";
import { REPO_ROOT } from "../test/e2e/lab/worker";

export const STATS_ROWS = 1_000_000;
/** The seeded history spans this many days up to NOW: ~33,000 verdicts a day, 5 policies. */
const DAYS = 30;
const POLICIES = 5;
const NOW = Date.parse("2026-06-01T00:00:00Z");
const RUNS = 5;

/** worker/preview.ts's window query before migration 0004: every verdict of the window, grouped. */
const GROUPED_WINDOW = `SELECT reference, json_extract(context, '$.namespace') AS ns, image, context, decision, reasons, MAX(evaluated_ms) AS last_ms
  FROM verdicts WHERE policy_id = ?1 AND evaluated_ms >= ?2 AND evaluated_ms < ?3
  GROUP BY reference, ns ORDER BY last_ms DESC, reference LIMIT ?4`;

export interface StatsQueryTime {
  readonly label: string;
  readonly query: string;
  /** Rows in the window the query reads. */
  readonly rows: number;
  readonly medianMs: number;
  readonly maxMs: number;
  /** What SQLite said it does (EXPLAIN QUERY PLAN), one line per step. */
  readonly plan: string[];
}

export interface StatsResult {
  readonly rows: number;
  readonly seedMs: number;
  readonly migrationMs: number;
  /** Migration 0004 (each image's newest verdict, for the preview) on the same rows. */
  readonly migration0004Ms: number;
  /** Rows of the four per-hour count tables. */
  readonly rollupRows: number;
  /** AFTER_ROWS inserted with the triggers (0003's counts, 0004's newest verdict), and into a copy of the table with its indexes but no trigger. */
  readonly trigger: { rows: number; insertMs: number; withoutTriggerMs: number };
  readonly dbBytes: number | null;
  readonly queries: StatsQueryTime[];
}

/**
 * Statements of a migration file: comments dropped, split at the semicolons that end a line, except
 * inside a trigger's BEGIN … END.
 */
function statements(file: string): string[] {
  const lines = readFileSync(join(REPO_ROOT, "migrations", file), "utf8").replace(/^\s*--.*$/gm, "").split("\n");
  const out: string[] = [];
  let current: string[] = [];
  let inBody = false;
  for (const line of lines) {
    current.push(line);
    if (/^\s*BEGIN\s*$/.test(line)) inBody = true;
    if (inBody ? /^\s*END;\s*$/.test(line) : /;\s*$/.test(line)) {
      out.push(current.join("\n").trim().replace(/;$/, ""));
      current = [];
      inBody = false;
    }
  }
  return out.filter(Boolean);
}

/**
 * Rows as the verdict log wrote them before migration 0003, spread evenly over DAYS: 10% denies,
 * 60% cache hits, 2,000 references, a few reason codes, realistic reasons and context JSON.
 */
const SEED = `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?1 - 1)
INSERT INTO verdicts (id, evaluated_at, evaluated_ms, image, reference, repository, digest, policy_id, policy_revision,
  decision, mode, rule, cached, reasons, context, source)
SELECT printf('%09d%012x', i, i), '', ?2 + i * ?3, 'app' || ((i * 7919) % 2000) || ':1',
  'docker.io/library/app' || ((i * 7919) % 2000) || ':1', 'docker.io/library/app' || ((i * 7919) % 2000),
  'sha256:' || printf('%064x', i), 'policy-' || (i % ${POLICIES}), 'rev1',
  CASE WHEN (i * 31) % 10 = 0 THEN 'deny' ELSE 'allow' END, 'enforce', 'docker.io/library/*',
  CASE WHEN (i * 17) % 10 < 6 THEN 1 ELSE 0 END,
  CASE WHEN (i * 31) % 10 = 0
    THEN json_array(json_object('code', CASE (i * 13) % 4 WHEN 0 THEN 'COSIGN_NO_SIGNATURES' WHEN 1 THEN 'NOTARY_SIGNER_MISSING' WHEN 2 THEN 'REGISTRY_UNREACHABLE' ELSE 'STATIC_DENY' END,
      'message', 'no signature by a trusted key was found for this image; sign it with cosign sign --key', 'rule', 'docker.io/library/*', 'requirement', 'cosign'))
    ELSE json_array(json_object('code', 'COSIGN_SIGNED', 'message', 'signed by key ci (1 of 1 required)', 'rule', 'docker.io/library/*', 'requirement', 'cosign')) END,
  json_object('namespace', 'ns' || (i % 20), 'pipeline', 'build-' || i), 'admission'
FROM n`;

/** Rows written after 0003 (code and upstream host included), each counted by the trigger. */
const AFTER_ROWS = 20_000;
const SEED_AFTER = `WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i < ?1 - 1)
INSERT INTO verdicts (id, evaluated_at, evaluated_ms, image, reference, repository, digest, policy_id, policy_revision,
  decision, mode, rule, cached, reasons, context, source, code, upstream_host)
SELECT printf('z%08d', i), '', ?2 + i * ?3, 'app' || ((i * 7919) % 2000) || ':1',
  'docker.io/library/app' || ((i * 7919) % 2000) || ':1', 'docker.io/library/app' || ((i * 7919) % 2000),
  NULL, 'policy-' || (i % ${POLICIES}), 'rev1',
  CASE WHEN (i * 31) % 10 = 0 THEN 'deny' ELSE 'allow' END, 'enforce', 'docker.io/library/*',
  CASE WHEN (i * 17) % 10 < 6 THEN 1 ELSE 0 END, '[]', NULL, 'admission',
  CASE WHEN (i * 31) % 10 = 0 THEN (CASE (i * 13) % 2 WHEN 0 THEN 'REGISTRY_UNREACHABLE' ELSE 'COSIGN_NO_SIGNATURES' END) ELSE 'COSIGN_SIGNED' END,
  CASE WHEN (i * 31) % 10 = 0 AND (i * 13) % 2 = 0 THEN 'registry' || (i % 3) || '.example' END
FROM n`;

async function timed<T>(work: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const t = performance.now();
  const value = await work();
  return { ms: performance.now() - t, value };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const r1 = (x: number) => Math.round(x * 10) / 10;

export async function statsPhase(log: (msg: string) => void): Promise<StatsResult> {
  const mf = new Miniflare({
    modules: true,
    script: "export default { fetch: () => new Response('') }",
    d1Databases: { VERDICTS: "bench-stats" },
    d1Persist: false,
  });
  try {
    const db = await mf.getD1Database("VERDICTS");
    for (const file of ["0001_verdicts.sql", "0002_policy_audit.sql"]) {
      for (const sql of statements(file)) await db.prepare(sql).run();
    }
    log(`stats: seeding ${STATS_ROWS.toLocaleString("en")} verdict rows over ${DAYS} days`);
    const step = (DAYS * 86_400_000) / STATS_ROWS;
    const seed = await timed(() => db.prepare(SEED).bind(STATS_ROWS, NOW - DAYS * 86_400_000, step).run());
    log(`stats: seeded in ${Math.round(seed.ms)} ms; applying 0003_verdict_stats.sql on top`);
    const migration = await timed(async () => {
      for (const sql of statements("0003_verdict_stats.sql")) await db.prepare(sql).run();
    });
    log(`stats: 0003 applied in ${Math.round(migration.ms)} ms; applying 0004_preview_images.sql`);
    const migration0004 = await timed(async () => {
      for (const sql of statements("0004_preview_images.sql")) await db.prepare(sql).run();
    });
    // The last day again, as rows written after 0003 and 0004: what the triggers cost per inserted verdict.
    log(`stats: 0004 applied in ${Math.round(migration0004.ms)} ms; ${AFTER_ROWS.toLocaleString("en")} more rows through the triggers`);
    const after = await timed(() => db.prepare(SEED_AFTER).bind(AFTER_ROWS, NOW - 86_400_000, 86_400_000 / AFTER_ROWS).run());
    // The same rows into a copy of the table with 0001's key and indexes but no trigger: what the
    // counting adds per row.
    await db.prepare("CREATE TABLE bench_plain AS SELECT * FROM verdicts WHERE 0").run();
    for (const sql of statements("0001_verdicts.sql").filter((x) => x.startsWith("CREATE INDEX"))) {
      await db.prepare(sql.replace(/verdicts_by_(\w+) ON verdicts/, "plain_by_$1 ON bench_plain")).run();
    }
    await db.prepare("CREATE UNIQUE INDEX plain_id ON bench_plain (id)").run();
    const plain = await timed(() => db.prepare(SEED_AFTER.replace("INSERT INTO verdicts", "INSERT INTO bench_plain")).bind(AFTER_ROWS, NOW - 86_400_000, 86_400_000 / AFTER_ROWS).run());
    await db.prepare("DROP TABLE bench_plain").run();
    // No ANALYZE (D1 refuses it): the planner works from the indexes alone, as on a fresh D1 database.
    const size = await db.prepare("SELECT page_count * page_size AS bytes FROM pragma_page_count(), pragma_page_size()").first<{ bytes: number }>().catch(() => null);

    const queries: StatsQueryTime[] = [];
    const windowOf = (from: string, bucket: string): StatsWindow => statsWindow({ from, to: new Date(NOW).toISOString(), bucket }, NOW);
    const cases: { label: string; scope: PolicyScope; w: StatsWindow }[] = [
      { label: "1 policy, 24 h, hour", scope: "policy-1", w: windowOf("2026-05-31T00:00:00Z", "hour") },
      { label: "1 policy, 7 days, hour", scope: "policy-1", w: windowOf("2026-05-25T00:00:00Z", "hour") },
      { label: "1 policy, 30 days, day", scope: "policy-1", w: windowOf("2026-05-02T00:00:00Z", "day") },
      { label: "all policies, 24 h, hour", scope: null, w: windowOf("2026-05-31T00:00:00Z", "hour") },
      { label: "all policies, 30 days, day", scope: null, w: windowOf("2026-05-02T00:00:00Z", "day") },
      { label: "2 of 5 policies (restricted token), 7 days, hour", scope: ["policy-1", "policy-2"], w: windowOf("2026-05-25T00:00:00Z", "hour") },
    ];
    for (const c of cases) {
      const inWindow = await db
        .prepare(`SELECT COUNT(*) AS n FROM verdicts WHERE evaluated_ms >= ?1 AND evaluated_ms < ?2${c.scope === null ? "" : typeof c.scope === "string" ? " AND policy_id = ?3" : " AND policy_id IN (SELECT value FROM json_each(?3))"}`)
        .bind(c.w.fromMs, c.w.toMs, ...(c.scope === null ? [] : [typeof c.scope === "string" ? c.scope : JSON.stringify(c.scope)]))
        .first<{ n: number }>();
      for (const q of statsQueries(c.scope, c.w)) {
        const plan = await db.prepare(`EXPLAIN QUERY PLAN ${q.sql}`).bind(...q.args).all<{ detail: string }>();
        const times: number[] = [];
        for (let i = 0; i < RUNS; i++) times.push((await timed(() => db.prepare(q.sql).bind(...q.args).all())).ms);
        queries.push({ label: c.label, query: q.name, rows: inWindow!.n, medianMs: r1(median(times)), maxMs: r1(Math.max(...times)), plan: plan.results.map((p) => p.detail) });
      }
      const whole: number[] = [];
      for (let i = 0; i < RUNS; i++) whole.push((await timed(() => verdictStats(db, c.scope, c.w))).ms);
      queries.push({ label: c.label, query: "GET /v1/stats (the 4 in one batch)", rows: inWindow!.n, medianMs: r1(median(whole)), maxMs: r1(Math.max(...whole)), plan: [] });
      log(`stats: ${c.label}: ${r1(median(whole))} ms for the batch`);
    }
    // The preview's window: one policy's distinct (reference, namespace), newest first, read from
    // 0004's table (readWindow), and as it was read before 0004, from the window's verdicts.
    for (const days of [7, 30]) {
      const since = NOW - days * 86_400_000;
      const preview: number[] = [];
      const grouped: number[] = [];
      let items = 0;
      for (let i = 0; i < RUNS; i++) {
        const t = await timed(() => readWindow(db, "policy-1", since, NOW, 1000));
        preview.push(t.ms);
        items = t.value.items.length;
        grouped.push((await timed(() => db.prepare(GROUPED_WINDOW).bind("policy-1", since, NOW, 1000).all())).ms);
      }
      const previewRows = await db.prepare("SELECT COUNT(*) AS n FROM verdicts WHERE policy_id = 'policy-1' AND evaluated_ms >= ?1").bind(since).first<{ n: number }>();
      const label = `1 policy, ${days} days, ${items} images`;
      queries.push({ label, query: "preview window (readWindow)", rows: previewRows!.n, medianMs: r1(median(preview)), maxMs: r1(Math.max(...preview)), plan: [] });
      queries.push({ label, query: "preview window before 0004 (the verdicts grouped)", rows: previewRows!.n, medianMs: r1(median(grouped)), maxMs: r1(Math.max(...grouped)), plan: [] });
    }
    const rollupRows = await db
      .prepare("SELECT (SELECT COUNT(*) FROM verdict_hours) + (SELECT COUNT(*) FROM verdict_hour_codes) + (SELECT COUNT(*) FROM verdict_hour_denied) + (SELECT COUNT(*) FROM verdict_hour_hosts) AS n")
      .first<{ n: number }>();
    return {
      rows: STATS_ROWS + AFTER_ROWS,
      seedMs: Math.round(seed.ms),
      migrationMs: Math.round(migration.ms),
      migration0004Ms: Math.round(migration0004.ms),
      rollupRows: rollupRows!.n,
      trigger: { rows: AFTER_ROWS, insertMs: Math.round(after.ms), withoutTriggerMs: Math.round(plain.ms) },
      dbBytes: size?.bytes ?? null,
      queries,
    };
  } finally {
    await mf.dispose();
  }
}

export function statsRows(r: StatsResult): [string, string, string, string][] {
  const rows: [string, string, string, string][] = [
    ["6. stats: seed + migration 0003", `${STATS_ROWS.toLocaleString("en")} rows seeded in ${r.seedMs} ms; 0003 (columns, backfill, per-hour counts) ${r.migrationMs} ms`, `${r.rollupRows.toLocaleString("en")} per-hour count rows${r.dbBytes ? `, ${Math.round(r.dbBytes / 1048576)} MiB database` : ""}`, "Miniflare D1, local"],
    ["6. stats: migration 0004 on the same rows", `${r.migration0004Ms} ms (each image's newest verdict, for the preview)`, "", ""],
    ["6. stats: inserts after 0003 and 0004", `${r.trigger.rows.toLocaleString("en")} rows in ${r.trigger.insertMs} ms with both triggers`, `${r.trigger.withoutTriggerMs} ms into a copy with 0001's indexes, no trigger`, `${r1((r.trigger.insertMs / r.trigger.rows) * 1000)} vs ${r1((r.trigger.withoutTriggerMs / r.trigger.rows) * 1000)} µs per row`],
  ];
  for (const q of r.queries) {
    rows.push([`6. stats: ${q.label}`, `${q.query}: median ${q.medianMs} ms (max ${q.maxMs}, n=${RUNS})`, `${q.rows.toLocaleString("en")} rows in range`, q.plan.join("; ").slice(0, 120)]);
  }
  return rows;
}
