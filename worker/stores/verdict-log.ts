// The verdict history in D1: one row per decision, read newest first with an opaque cursor.
import type { Verdict } from "../../src/decide";
import type { ImageReference } from "../../src/reference";
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

/** Time-ordered IDs: the millisecond clock then randomness, so ties still sort stably. */
export function newVerdictId(ms: number): string {
  const random = new Uint8Array(6);
  crypto.getRandomValues(random);
  return `${ms.toString(36).padStart(9, "0")}${[...random].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export class VerdictLog {
  constructor(private readonly db: D1Database) {}

  record(verdict: RecordedVerdict, reference: ImageReference): D1PreparedStatement {
    let context = verdict.context ? JSON.stringify(verdict.context) : null;
    if (context && context.length > MAX_CONTEXT_CHARS) context = JSON.stringify({ truncated: true });
    return this.db
      .prepare(
        `INSERT INTO verdicts (id, evaluated_at, evaluated_ms, image, reference, repository, digest, policy_id,
           policy_revision, decision, mode, rule, cached, reasons, context, source)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)`,
      )
      .bind(
        verdict.id,
        verdict.evaluatedAt,
        Date.parse(verdict.evaluatedAt),
        verdict.image.slice(0, 1024),
        verdict.reference,
        reference.name,
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
      );
  }

  async recordAll(entries: readonly { verdict: RecordedVerdict; reference: ImageReference }[]): Promise<void> {
    if (entries.length === 0) return;
    await this.db.batch(entries.map((e) => this.record(e.verdict, e.reference)));
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
    const res = await this.db.prepare("DELETE FROM verdicts WHERE evaluated_ms < ?1").bind(ms).run();
    return res.meta.changes ?? 0;
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
