// Policies in KV: the original document and the normalised policy, under one key per ID.
import type { Policy, PolicyFormat } from "../../src/policy/model";

export const POLICY_ID_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export interface StoredPolicy {
  readonly id: string;
  readonly revision: string;
  readonly format: PolicyFormat;
  readonly policy: Policy;
  /** The document exactly as it was submitted. */
  readonly document: string;
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

export class PolicyStore {
  constructor(private readonly kv: KVNamespace) {}

  async get(id: string): Promise<StoredPolicy | null> {
    return this.kv.get<StoredPolicy>(key(id), "json");
  }

  async put(policy: StoredPolicy): Promise<void> {
    const metadata: PolicySummary = {
      id: policy.id,
      revision: policy.revision,
      format: policy.format,
      updatedAt: policy.updatedAt,
    };
    await this.kv.put(key(policy.id), JSON.stringify(policy), { metadata });
  }

  async delete(id: string): Promise<boolean> {
    if ((await this.kv.get(key(id))) === null) return false;
    await this.kv.delete(key(id));
    return true;
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
