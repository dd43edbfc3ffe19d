// The policy audit log in D1: one row per policy change, read newest first with an opaque cursor.
//
// Policies live in KV and the log in D1, so no transaction spans both. The route writes the audit
// entry first and changes the policy only once it is stored: a failed audit write leaves the policy
// unchanged (the request fails). If the policy write then fails, the entry is withdrawn again (best
// effort); should that fail too, the log holds an entry for a change that did not happen, never the
// other way round.
import { pageNewestFirst } from "./paging";

let sequence = 0;

/** Time-ordered IDs: the millisecond clock, then a per-isolate sequence (changes made in one
 *  millisecond by one isolate keep their order), then randomness. */
function newAuditId(ms: number): string {
  sequence = (sequence + 1) % 36 ** 4;
  const random = new Uint8Array(4);
  crypto.getRandomValues(random);
  return `${ms.toString(36).padStart(9, "0")}${sequence.toString(36).padStart(4, "0")}${[...random].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
}

export type PolicyAuditAction = "create" | "update" | "delete";

export interface PolicyAuditEntry {
  readonly id: string;
  /** RFC 3339 with milliseconds, UTC. */
  readonly at: string;
  readonly policyId: string;
  readonly action: PolicyAuditAction;
  /** The name of the token that made the change; never its secret. */
  readonly tokenName: string;
  readonly oldRevision: string | null;
  readonly newRevision: string | null;
  readonly format: string | null;
}

export interface PolicyAuditQuery {
  readonly policy?: string;
  readonly limit: number;
  readonly cursor?: { readonly ms: number; readonly id: string };
}


export class PolicyAuditLog {
  constructor(private readonly db: D1Database) {}

  /** Stores one entry now; resolves with it once D1 has it. */
  async record(change: Omit<PolicyAuditEntry, "id" | "at">, now = Date.now()): Promise<PolicyAuditEntry> {
    const entry: PolicyAuditEntry = { id: newAuditId(now), at: new Date(now).toISOString(), ...change };
    await this.db
      .prepare(
        `INSERT INTO policy_audit (id, at, at_ms, policy_id, action, token_name, old_revision, new_revision, format)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)`,
      )
      .bind(entry.id, entry.at, now, entry.policyId, entry.action, entry.tokenName, entry.oldRevision, entry.newRevision, entry.format)
      .run();
    return entry;
  }

  /** Withdraws an entry whose change could not be made. */
  async withdraw(id: string): Promise<void> {
    await this.db.prepare("DELETE FROM policy_audit WHERE id = ?1").bind(id).run();
  }

  async query(q: PolicyAuditQuery): Promise<{ entries: PolicyAuditEntry[]; nextCursor: string | null }> {
    const { rows, nextCursor } = await pageNewestFirst<Row>(
      this.db,
      "policy_audit",
      "at_ms",
      { policy_id: q.policy },
      { limit: q.limit, cursor: q.cursor },
    );
    return { entries: rows.map(fromRow), nextCursor };
  }
}

interface Row {
  id: string;
  at: string;
  at_ms: number;
  policy_id: string;
  action: PolicyAuditAction;
  token_name: string;
  old_revision: string | null;
  new_revision: string | null;
  format: string | null;
}

function fromRow(row: Row): PolicyAuditEntry {
  return {
    id: row.id,
    at: row.at,
    policyId: row.policy_id,
    action: row.action,
    tokenName: row.token_name,
    oldRevision: row.old_revision,
    newRevision: row.new_revision,
    format: row.format,
  };
}
