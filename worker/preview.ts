// Policy change preview (POST /v1/policies/{id}:preview, docs/preview.md): the images recorded under
// a policy in a window, replayed against a candidate through the decision core without recording a
// verdict or writing the verdict cache; work past one request's share runs as a polled job.
import type { PolicyIssue, Policy } from "../src/policy/model";
import { emptySummary, orderChanges, tally, type Outcome, type PreviewSummary, type Replayed } from "../src/preview";
import { parseReference } from "../src/reference";
import type { Reason } from "../src/reasons";
import { decideUnrecorded } from "./decision-services";
import type { Bindings } from "./env";
import { newJobId, PreviewJobs, type PreviewItem, type PreviewJob, type PreviewWindow } from "./stores/preview-jobs";

export const PREVIEW_DEFAULTS = Object.freeze({
  /** The window when `since` is not given. */
  days: 7,
  /** Distinct images replayed at most (`limit`), and by default. */
  maxImages: 1000,
});

/**
 * Replays run this many at a time. Each decision is bounded by its 10 s budget
 * (DEFAULT_LIMITS.decision.budgetMs), so the default 24 images per request take at most two rounds,
 * 20 s: inside the 30 s a Worker's `waitUntil` may run after its response.
 */
export const PREVIEW_CONCURRENCY = 12;

/**
 * How long a runner holds a job's next chunk. Longer than a chunk may live (waitUntil's 30 s), so a
 * chunk the platform cut off is started again by a later poll, and never runs twice at once otherwise.
 */
export const PREVIEW_LEASE_MS = 45_000;

export interface PreviewAnswer {
  readonly candidate: { readonly revision: string; readonly warnings: readonly PolicyIssue[] };
  readonly window: PreviewWindow;
  readonly summary: PreviewSummary;
  readonly changes: Replayed[];
}

export interface Candidate {
  readonly revision: string;
  readonly warnings: readonly PolicyIssue[];
  readonly policy: Policy;
}

function parseJson<T>(text: string | null, fallback: T): T {
  if (text === null) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

/**
 * The distinct images of the window, newest first: one per (reference, namespace), since the
 * namespace is the one part of a context a rule can select by; each with its latest verdict and the
 * context it came with. Also how many verdicts the window holds. The images come from
 * verdict_images (migrations/0004), one row per image, not from the window's verdicts: an image is
 * in the window when its newest verdict is (recorded since `sinceMs`, even if after `untilMs`, the
 * moment the preview started: then that newer verdict is its "before").
 */
export async function readWindow(
  db: D1Database,
  policyId: string,
  sinceMs: number,
  untilMs: number,
  limit: number,
): Promise<{ verdicts: number; items: PreviewItem[] }> {
  const [count, rows] = await db.batch<Record<string, unknown>>([
    db.prepare("SELECT COUNT(*) AS n FROM verdicts WHERE policy_id = ?1 AND evaluated_ms >= ?2 AND evaluated_ms < ?3").bind(policyId, sinceMs, untilMs),
    db
      .prepare(
        `SELECT v.reference, v.image, v.context, v.decision, v.reasons
         FROM verdict_images AS i JOIN verdicts AS v ON v.id = i.verdict_id
         WHERE i.policy_id = ?1 AND i.last_ms >= ?2 ORDER BY i.last_ms DESC, i.reference LIMIT ?3`,
      )
      .bind(policyId, sinceMs, limit),
  ]);
  const items = (rows!.results as { reference: string; image: string; context: string | null; decision: "allow" | "deny"; reasons: string }[]).map(
    (r): PreviewItem => ({
      image: r.image,
      reference: r.reference,
      context: parseJson<Record<string, unknown> | null>(r.context, null),
      before: { decision: r.decision, reasons: parseJson<Reason[]>(r.reasons, []) },
    }),
  );
  return { verdicts: Number((count!.results[0] as { n: number } | undefined)?.n ?? 0), items };
}

/** One image against the candidate; an image that no longer parses is a deny saying so (an error). */
async function replayOne(env: Bindings, policyId: string, candidate: Candidate, item: PreviewItem): Promise<Replayed> {
  let after: Outcome;
  try {
    const reference = parseReference(item.image);
    const view = { id: policyId, revision: candidate.revision, policy: candidate.policy };
    const verdict = await decideUnrecorded(env, view, item.image, reference, item.context ?? {});
    after = { decision: verdict.decision, reasons: verdict.reasons };
  } catch (err) {
    // decide() never throws; parseReference does, for a recorded image the parser now refuses.
    after = { decision: "deny", reasons: [{ code: "INVALID_REFERENCE", message: `the recorded image could not be replayed: ${err instanceof Error ? err.message : String(err)}`, rule: null }] };
  }
  return { image: item.image, reference: item.reference, context: item.context, before: item.before, after };
}

/** Items replayed PREVIEW_CONCURRENCY at a time, answers in item order. */
export async function replayAll(env: Bindings, policyId: string, candidate: Candidate, items: readonly PreviewItem[]): Promise<Replayed[]> {
  const out: Replayed[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await replayOne(env, policyId, candidate, items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(PREVIEW_CONCURRENCY, items.length) }, worker));
  return out;
}

export function answerOf(candidate: Candidate, window: PreviewWindow, summary: PreviewSummary, changes: readonly Replayed[]): PreviewAnswer {
  return { candidate: { revision: candidate.revision, warnings: candidate.warnings }, window, summary, changes: orderChanges(changes) };
}

/** Replays a window that fits one request, for the answer itself. */
export async function previewNow(env: Bindings, policyId: string, candidate: Candidate, window: PreviewWindow, items: readonly PreviewItem[]): Promise<PreviewAnswer> {
  const summary = emptySummary();
  const changes: Replayed[] = [];
  tally(await replayAll(env, policyId, candidate, items), summary, changes);
  return answerOf(candidate, window, summary, changes);
}

/** A job for a window larger than one request's share, its first chunk leased to the caller. */
export async function startJob(env: Bindings, policyId: string, candidate: Candidate, window: PreviewWindow, items: readonly PreviewItem[]): Promise<PreviewJob> {
  const job: PreviewJob = {
    id: newJobId(),
    policyId,
    candidate,
    window,
    items,
    done: 0,
    summary: emptySummary(),
    changes: [],
    leaseUntil: Date.now() + PREVIEW_LEASE_MS,
  };
  await new PreviewJobs(env.POLICIES).put(job);
  return job;
}

/** Takes the lease on a job's next chunk, or false when it is finished or another runner holds it. */
export async function leaseNextChunk(env: Bindings, job: PreviewJob): Promise<boolean> {
  if (job.done >= job.items.length || job.leaseUntil > Date.now()) return false;
  job.leaseUntil = Date.now() + PREVIEW_LEASE_MS;
  await new PreviewJobs(env.POLICIES).put(job);
  return true;
}

/** Replays the next chunk of a leased job and stores the progress (run in `waitUntil`). */
export async function runChunk(env: Bindings, job: PreviewJob, perRequest: number): Promise<void> {
  const chunk = job.items.slice(job.done, job.done + perRequest);
  tally(await replayAll(env, job.policyId, job.candidate, chunk), job.summary, job.changes);
  job.done += chunk.length;
  job.leaseUntil = 0;
  await new PreviewJobs(env.POLICIES).put(job);
}

export function jobStatus(job: PreviewJob): { id: string; status: "running" | "done"; progress: { done: number; total: number } } {
  return { id: job.id, status: job.done >= job.items.length ? "done" : "running", progress: { done: job.done, total: job.items.length } };
}
