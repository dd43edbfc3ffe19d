// Policies in KV: the original document and the normalised policy, under one key per ID.
import type { Policy, PolicyFormat, PolicyIssue } from "../../src/policy/model";

export const POLICY_ID_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export interface StoredPolicy {
  readonly id: string;
  readonly revision: string;
  readonly format: PolicyFormat;
  readonly policy: Policy;
  /** The document exactly as it was submitted. */
  readonly document: string;
  /** Import warnings (src/policy/review.ts); absent in policies stored before there were any. */
  readonly warnings?: readonly PolicyIssue[];
  readonly createdAt: string;
  readonly updatedAt: string;
}

export interface PolicySummary {
  readonly id: string;
  readonly revision: string;
  readonly format: PolicyFormat;
  readonly updatedAt: string;
}

const key = (id: string) => `policy:${id}`;

/**
 * How long a decision may use a policy read by this isolate before reading it again. Workers KV
 * itself takes up to 60 s to show a change everywhere; this adds at most a second to that, and
 * none at all in the isolate that made the change (its writes forget the remembered copy).
 */
export const POLICY_MEMO_MS = 1000;
const MAX_REMEMBERED = 256;

export class PolicyStore {
  private readonly remembered = new Map<string, { readonly policy: StoredPolicy; readonly until: number }>();
  /** Bumped by every write, so a read that raced a write is not remembered. */
  private writes = 0;

  constructor(
    private readonly kv: KVNamespace,
    private readonly now: () => number = Date.now,
  ) {}

  /** Always the stored copy: for the admin routes, which show and change policies. */
  async get(id: string): Promise<StoredPolicy | null> {
    return this.kv.get<StoredPolicy>(key(id), "json");
  }

  /** For decisions: a copy this isolate read less than POLICY_MEMO_MS ago, else the stored one. */
  async forDecision(id: string): Promise<StoredPolicy | null> {
    const hit = this.remembered.get(id);
    if (hit && hit.until > this.now()) return hit.policy;
    const writesBefore = this.writes;
    const policy = await this.get(id);
    this.remembered.delete(id);
    if (policy && writesBefore === this.writes) {
      if (this.remembered.size >= MAX_REMEMBERED) this.remembered.delete(this.remembered.keys().next().value as string);
      this.remembered.set(id, { policy, until: this.now() + POLICY_MEMO_MS });
    }
    return policy;
  }

  async put(policy: StoredPolicy): Promise<void> {
    const metadata: PolicySummary = {
      id: policy.id,
      revision: policy.revision,
      format: policy.format,
      updatedAt: policy.updatedAt,
    };
    this.forget(policy.id);
    await this.kv.put(key(policy.id), JSON.stringify(policy), { metadata });
    this.forget(policy.id);
  }

  /** Deleting a policy that is not there is no error (the route has read it already, for the audit log). */
  async delete(id: string): Promise<void> {
    this.forget(id);
    await this.kv.delete(key(id));
    this.forget(id);
  }

  private forget(id: string): void {
    this.writes++;
    this.remembered.delete(id);
  }

  /** Summaries straight from KV list metadata: listing reads no policy bodies. */
  async list(): Promise<PolicySummary[]> {
    const out: PolicySummary[] = [];
    let cursor: string | undefined;
    do {
      const page: KVNamespaceListResult<PolicySummary, string> = await this.kv.list<PolicySummary>({
        prefix: "policy:",
        ...(cursor ? { cursor } : {}),
      });
      for (const k of page.keys) if (k.metadata) out.push(k.metadata);
      cursor = page.list_complete ? undefined : page.cursor;
    } while (cursor);
    return out;
  }
}
