// The verdict history in D1: one row per decision, read newest first with an opaque cursor.
import type { Verdict } from "../../src/decide";
import { decidingCode, failedUpstreamHost } from "../../src/stats";
import { pageNewestFirst } from "./paging";

export interface RecordedVerdict extends Verdict {
  readonly id: string;
  readonly source: string;
  readonly context: Readonly<Record<string, unknown>> | null;
}

export interface VerdictQuery {
  /** One policy, or several (a token restricted to them). */
  readonly policy?: string | readonly string[];
  readonly decision?: "allow" | "deny";
  /** Exact reference when the filter named a tag or digest, else the whole repository. */
  readonly image?: { readonly reference?: string; readonly repository?: string };
  readonly limit: number;
  readonly cursor?: { readonly ms: number; readonly id: string };
}

const MAX_CONTEXT_CHARS = 8192;
/**
 * The wait before a write, for rows of concurrent requests to join it: at a few hundred decisions
 * per second 25 ms gathers several rows per write, and a lone verdict is in the history 25 ms
 * later than it could have been.
 */
export const GATHER_MS = 25;

/**
 * The least time from the start of one write to the start of the next in this isolate. Under load
 * a write then carries every row of the last quarter second: each D1 statement costs a fixed
 * amount whatever its rows (measured under wrangler dev: ~7 ms of CPU across its processes for a
 * statement, ~0.04 ms per row; bench/README.md), so statements, not rows, are what to save. A lone
 * verdict after a quiet spell still waits only GATHER_MS.
 */
export const MIN_WRITE_INTERVAL_MS = 250;

/** Rows, and bytes of their JSON, at most in one write when concurrent requests share it. */
const MAX_GROUP_ROWS = 200;
const MAX_GROUP_BYTES = 512 * 1024;

const COLUMNS = [
  "id", "evaluated_at", "evaluated_ms", "image", "reference", "repository", "digest", "policy_id",
  "policy_revision", "decision", "mode", "rule", "cached", "reasons", "context", "source",
  // For GET /v1/stats (migrations/0003_verdict_stats.sql): what decided, and which upstream failed.
  "code", "upstream_host",
] as const;
type RowValues = (string | number | null)[];

const INSERT_ROWS = `INSERT INTO verdicts (${COLUMNS.join(", ")})
  SELECT ${COLUMNS.map((_, i) => `json_extract(value, '$[${i}]')`).join(", ")} FROM json_each(?1)`;

interface QueuedRows {
  /** Each row as a JSON array of its column values. */
  readonly rows: readonly string[];
  readonly bytes: number;
  error?: unknown;
}

/** The queued groups that fit one write (always at least the first, whatever its size). */
function takeBatch(queue: QueuedRows[]): QueuedRows[] {
  let n = 0;
  let rows = 0;
  let bytes = 0;
  while (n < queue.length) {
    const next = queue[n]!;
    if (n > 0 && (rows + next.rows.length > MAX_GROUP_ROWS || bytes + next.bytes > MAX_GROUP_BYTES)) break;
    rows += next.rows.length;
    bytes += next.bytes;
    n++;
  }
  return queue.splice(0, n);
}

/** Time-ordered IDs: the millisecond clock then randomness, so ties still sort stably. */
export function newVerdictId(ms: number): string {
  const random = new Uint8Array(6);
  crypto.getRandomValues(random);
  return `${ms.toString(36).padStart(9, "0")}${[...random].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export class VerdictLog {
  constructor(
    private readonly db: D1Database,
    /** How long a write waits for more rows before it starts (off the response path: waitUntil). */
    private readonly gatherMs = GATHER_MS,
    /** How long after the start of the previous write a write may start, at the earliest. */
    private readonly minIntervalMs = MIN_WRITE_INTERVAL_MS,
    private readonly now: () => number = Date.now,
  ) {}

  /** One row's column values, in COLUMNS order. */
  private row(verdict: RecordedVerdict, repository: string): RowValues {
    let context = verdict.context ? JSON.stringify(verdict.context) : null;
    if (context && context.length > MAX_CONTEXT_CHARS) context = JSON.stringify({ truncated: true });
    return [
      verdict.id,
      verdict.evaluatedAt,
      Date.parse(verdict.evaluatedAt),
      verdict.image.slice(0, 1024),
      verdict.reference,
      repository,
      verdict.digest,
      verdict.policy.id,
      verdict.policy.revision,
      verdict.decision,
      verdict.mode,
      verdict.rule,
      verdict.cached ? 1 : 0,
      JSON.stringify(verdict.reasons),
      context,
      verdict.source,
      decidingCode(verdict.decision, verdict.reasons),
      failedUpstreamHost(verdict.reasons, repository.split("/")[0] ?? ""),
    ];
  }

  /**
   * Records the verdicts of one request. The rows of concurrent requests are written together
   * (group commit): the first call gathers for GATHER_MS (longer when the previous write started
   * less than MIN_WRITE_INTERVAL_MS ago), then writes every row queued meanwhile (in statements of
   * at most MAX_GROUP_ROWS). A call that arrives while another gathers leaves
   * its rows to it and returns at once: the writer runs in the context of a request that waits for
   * it (`waitUntil`), so the rows are written even though their own request has finished, and the
   * requests that only queued rows do not hold their contexts open (measured under wrangler dev,
   * holding every request's context for the write cost ~0.3 ms of CPU per decision). The writer's call rejects when
   * its own rows could not be written; other requests' failed rows are logged.
   */
  /** `repository`: the reference's name (registry/path), "" for an image that is no valid reference. */
  async recordAll(entries: readonly { verdict: RecordedVerdict; repository: string }[]): Promise<void> {
    if (entries.length === 0) return;
    const rows = entries.map((e) => JSON.stringify(this.row(e.verdict, e.repository)));
    const mine: QueuedRows = { rows, bytes: rows.reduce((n, r) => n + r.length + 1, 0) };
    this.queue.push(mine);
    if (this.gathering) return;
    const wait = Math.max(this.gatherMs, this.lastWriteAt + this.minIntervalMs - this.now());
    if (wait > 0) {
      this.gathering = true;
      await new Promise((resolve) => setTimeout(resolve, wait));
      this.gathering = false;
    }
    this.lastWriteAt = this.now();
    // Rows queued from here on start a gathering of their own.
    const taken = this.queue.splice(0);
    while (taken.length > 0) {
      for (const g of await this.commit(takeBatch(taken))) {
        if (g !== mine) console.error(`recording ${g.rows.length} verdict(s) of another request failed:`, g.error);
      }
    }
    if (mine.error !== undefined) throw mine.error;
  }

  /** True while a call waits for more rows before it writes. */
  private gathering = false;

  /** When the last write in this isolate started (ms), for MIN_WRITE_INTERVAL_MS. */
  private lastWriteAt = -Infinity;

  private readonly queue: QueuedRows[] = [];

  /**
   * Many rows in one statement: the rows travel as one JSON array bound to ?1 and SQLite's
   * json_each unpacks them, so a batch costs one statement whatever its size (D1 allows at most
   * 100 bound parameters per statement, which a multi-row VALUES list of 16 columns soon reaches).
   */
  private async insert(rows: readonly string[]): Promise<void> {
    await this.db.prepare(INSERT_ROWS).bind(`[${rows.join(",")}]`).run();
  }

  /** Never rejects: returns the groups whose rows could not be written (each with its error). */
  private async commit(batch: QueuedRows[]): Promise<QueuedRows[]> {
    try {
      await this.insert(batch.flatMap((g) => g.rows));
      return [];
    } catch (err) {
      if (batch.length === 1) {
        batch[0]!.error = err;
        return batch;
      }
      // One statement is one transaction: one bad group must not cost the others their rows.
      const failed: QueuedRows[] = [];
      for (const g of batch) {
        try {
          await this.insert(g.rows);
        } catch (e) {
          g.error = e;
          failed.push(g);
        }
      }
      return failed;
    }
  }

  async query(q: VerdictQuery): Promise<{ verdicts: RecordedVerdict[]; nextCursor: string | null }> {
    const { rows, nextCursor } = await pageNewestFirst<Row>(
      this.db,
      "verdicts",
      "evaluated_ms",
      { policy_id: q.policy, decision: q.decision, reference: q.image?.reference, repository: q.image?.repository },
      { limit: q.limit, cursor: q.cursor },
    );
    return { verdicts: rows.map(fromRow), nextCursor };
  }

  async deleteOlderThan(ms: number): Promise<number> {
    // The per-hour counts (migrations/0003) go with their hour once all of it is past the cutoff;
    // an image's entry (0004) with its newest verdict.
    const [res] = await this.db.batch([
      this.db.prepare("DELETE FROM verdicts WHERE evaluated_ms < ?1").bind(ms),
      this.db.prepare("DELETE FROM verdict_images WHERE last_ms < ?1").bind(ms),
      ...["verdict_hours", "verdict_hour_codes", "verdict_hour_denied", "verdict_hour_hosts"].map((table) =>
        this.db.prepare(`DELETE FROM ${table} WHERE hour_ms <= ?1 - 3600000`).bind(ms),
      ),
    ]);
    return res!.meta.changes ?? 0;
  }
}

interface Row {
  id: string;
  evaluated_at: string;
  evaluated_ms: number;
  image: string;
  reference: string;
  repository: string;
  digest: string | null;
  policy_id: string;
  policy_revision: string | null;
  decision: "allow" | "deny";
  mode: "enforce" | "audit";
  rule: string | null;
  cached: number;
  reasons: string;
  context: string | null;
  source: string;
}

function fromRow(row: Row): RecordedVerdict {
  return {
    decision: row.decision,
    allowed: row.decision === "allow",
    image: row.image,
    reference: row.reference,
    digest: row.digest,
    policy: { id: row.policy_id, revision: row.policy_revision ?? "" },
    rule: row.rule,
    mode: row.mode,
    reasons: JSON.parse(row.reasons) as RecordedVerdict["reasons"],
    cached: row.cached === 1,
    evaluatedAt: row.evaluated_at,
    id: row.id,
    source: row.source,
    context: row.context ? (JSON.parse(row.context) as Record<string, unknown>) : null,
  };
}
