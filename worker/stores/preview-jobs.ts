// Policy preview jobs in KV (the POLICIES namespace, beside the policies they preview): one entry per
// job, rewritten after each chunk of replays, gone an hour after its last write.
import type { Policy, PolicyIssue } from "../../src/policy/model";
import type { Outcome, PreviewSummary, Replayed } from "../../src/preview";
import { readStoredJson, isRecord } from "../../src/stored";

/** One image of the window: the latest verdict recorded for it, and the context it was decided in. */
export interface PreviewItem {
  readonly image: string;
  readonly reference: string;
  readonly context: Readonly<Record<string, unknown>> | null;
  readonly before: Outcome;
}

export interface PreviewWindow {
  readonly since: string;
  readonly until: string;
  /** Verdicts recorded under the policy in the window. */
  readonly verdicts: number;
  /** Distinct images (reference, namespace) replayed. */
  readonly images: number;
}

export interface PreviewJob {
  readonly id: string;
  readonly policyId: string;
  readonly candidate: { readonly revision: string; readonly warnings: readonly PolicyIssue[]; readonly policy: Policy };
  readonly window: PreviewWindow;
  readonly items: readonly PreviewItem[];
  /** Items replayed so far (a prefix of `items`). */
  done: number;
  summary: PreviewSummary;
  /** The listed changes so far, in replay order. */
  changes: Replayed[];
  /** Until when (ms) a runner holds the next chunk; 0 when none does. */
  leaseUntil: number;
}

/** Jobs outlive their last write by this long: a client that stops polling leaves nothing behind. */
export const JOB_TTL_SECONDS = 3600;
const key = (id: string) => `preview:job:v1:${id}`;

export const JOB_ID_RE = /^[0-9a-f]{32}$/;

export function newJobId(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export class PreviewJobs {
  constructor(private readonly kv: KVNamespace) {}

  async get(id: string): Promise<PreviewJob | null> {
    if (!JOB_ID_RE.test(id)) return null;
    const stored = readStoredJson(await this.kv.get(key(id)));
    // Only this module writes these entries; one that does not read is as good as gone.
    if (!stored.ok || !isRecord(stored.value) || stored.value.id !== id || !Array.isArray(stored.value.items)) return null;
    return stored.value as unknown as PreviewJob;
  }

  async put(job: PreviewJob): Promise<void> {
    await this.kv.put(key(job.id), JSON.stringify(job), { expirationTtl: JOB_TTL_SECONDS });
  }
}
