// Policy administration: put (validated fully before anything is stored), get, list, delete.
// Every change is recorded in the policy audit log before it is made (see stores/policy-audit).
import type { Context } from "hono";
import { Hono } from "../hono";
import { importPolicy } from "../../src/policy/import";
import { defaultRequirementKinds } from "../../src/requirements";
import type { Env } from "../env";
import { readText } from "../body";
import { HttpError } from "../errors";
import { requireRole } from "../middleware/auth";
import { policyId } from "../policy-id";
import { servicesFor } from "../services";
import { PolicyAuditLog, type PolicyAuditEntry } from "../stores/policy-audit";
import { loadConfig } from "../env";
import { isoTime, StatsQueryError } from "../../src/stats";
import { answerOf, jobStatus, leaseNextChunk, PREVIEW_DEFAULTS, previewNow, readWindow, runChunk, startJob } from "../preview";
import { PreviewJobs } from "../stores/preview-jobs";

/** Records the change, then makes it; a change that fails withdraws its entry (best effort). */
async function audited(
  c: Context<Env>,
  change: Omit<PolicyAuditEntry, "id" | "at" | "tokenName">,
  apply: () => Promise<void>,
): Promise<void> {
  const audit = new PolicyAuditLog(c.env.VERDICTS);
  const entry = await audit.record({ ...change, tokenName: c.get("token").name });
  try {
    await apply();
  } catch (err) {
    await audit.withdraw(entry.id).catch((e: unknown) => console.error("withdrawing a policy audit entry failed:", e));
    throw err;
  }
}

/** `{id}:preview` → the policy ID; any other single segment after POST /v1/policies/ is no route. */
function previewTarget(c: Context<Env>, spec: string): string {
  const m = /^(.*):preview$/.exec(spec);
  if (!m) throw new HttpError(404, "NOT_FOUND", `no route for ${c.req.method} ${c.req.path}`);
  return policyId(m[1]!);
}

/** `?since=` (ISO 8601, default 7 days ago, before now) and `?limit=` (1 to 1,000 distinct images). */
function previewParams(q: Record<string, string | undefined>, nowMs: number): { sinceMs: number; limit: number } {
  let sinceMs = nowMs - PREVIEW_DEFAULTS.days * 86_400_000;
  if (q.since !== undefined) {
    try {
      sinceMs = isoTime("since", q.since);
    } catch (err) {
      if (err instanceof StatsQueryError) throw new HttpError(400, "INVALID_QUERY", err.message);
      throw err;
    }
    if (sinceMs >= nowMs) throw new HttpError(400, "INVALID_QUERY", "since must be in the past");
  }
  const limitText = q.limit ?? String(PREVIEW_DEFAULTS.maxImages);
  const limit = Number(limitText);
  if (!/^\d+$/.test(limitText) || limit < 1 || limit > PREVIEW_DEFAULTS.maxImages) {
    throw new HttpError(400, "INVALID_QUERY", `limit must be a whole number from 1 to ${PREVIEW_DEFAULTS.maxImages}, not "${limitText.slice(0, 40)}"`);
  }
  return { sinceMs, limit };
}

const pollPath = (id: string, job: string) => `/v1/policies/${id}:preview/${job}`;

export const policyRoutes = new Hono<Env>()
  .use("*", requireRole("admin"))
  .get("/", async (c) => {
    const list = await servicesFor(c.env).policies.list();
    return c.json({ policies: list.sort((a, b) => a.id.localeCompare(b.id)) });
  })
  .put("/:id", async (c) => {
    const id = policyId(c.req.param("id"));
    const format = c.req.query("format") ?? "native";
    const text = await readText(c);
    const imported = await importPolicy(text, format, defaultRequirementKinds);
    const { policies } = servicesFor(c.env);
    const previous = await policies.get(id);
    const now = new Date().toISOString();
    await audited(
      c,
      {
        policyId: id,
        action: previous ? "update" : "create",
        oldRevision: previous?.revision ?? null,
        newRevision: imported.revision,
        format: imported.format,
      },
      () =>
        policies.put({
          id,
          revision: imported.revision,
          format: imported.format,
          policy: imported.policy,
          document: text,
          warnings: imported.warnings,
          createdAt: previous?.createdAt ?? now,
          updatedAt: now,
        }),
    );
    // Warnings do not stop the import: they say what it probably does that its author did not mean.
    return c.json({ id, revision: imported.revision, format: imported.format, warnings: imported.warnings });
  })
  .get("/:id", async (c) => {
    const id = policyId(c.req.param("id"));
    const stored = await servicesFor(c.env).policies.get(id);
    if (!stored) throw new HttpError(404, "POLICY_NOT_FOUND", `no policy with ID "${id}"`);
    return c.json({ ...stored, warnings: stored.warnings ?? [] });
  })
  .delete("/:id", async (c) => {
    const id = policyId(c.req.param("id"));
    const { policies } = servicesFor(c.env);
    const previous = await policies.get(id);
    if (!previous) throw new HttpError(404, "POLICY_NOT_FOUND", `no policy with ID "${id}"`);
    await audited(
      c,
      { policyId: id, action: "delete", oldRevision: previous.revision, newRevision: null, format: previous.format },
      () => policies.delete(id),
    );
    return c.json({ id, deleted: true });
  })
  // POST /v1/policies/{id}:preview: what a candidate would change for the images of the window.
  .post("/:spec", async (c) => {
    const id = previewTarget(c, c.req.param("spec"));
    const now = Date.now();
    const { sinceMs, limit } = previewParams(c.req.query(), now);
    const format = c.req.query("format") ?? "native";
    if (!(await servicesFor(c.env).policies.get(id))) throw new HttpError(404, "POLICY_NOT_FOUND", `no policy with ID "${id}"`);
    // The same import as PUT: an invalid candidate is the same 400, with the same issues.
    const imported = await importPolicy(await readText(c), format, defaultRequirementKinds);
    const candidate = { revision: imported.revision, warnings: imported.warnings, policy: imported.policy };
    const { verdicts, items } = await readWindow(c.env.VERDICTS, id, sinceMs, now, limit);
    const window = { since: new Date(sinceMs).toISOString(), until: new Date(now).toISOString(), verdicts, images: items.length };
    const perRequest = loadConfig(c.env).previewImagesPerRequest;
    if (items.length <= perRequest) return c.json(await previewNow(c.env, id, candidate, window, items));
    const job = await startJob(c.env, id, candidate, window, items);
    c.executionCtx.waitUntil(runChunk(c.env, job, perRequest).catch((err: unknown) => console.error("preview chunk failed:", err)));
    return c.json({ job: jobStatus(job), poll: pollPath(id, job.id) }, 202);
  })
  // Each poll of an unfinished job moves it on by one chunk, after the answer (waitUntil).
  .get("/:spec/:job", async (c) => {
    const id = previewTarget(c, c.req.param("spec"));
    const job = await new PreviewJobs(c.env.POLICIES).get(c.req.param("job"));
    if (!job || job.policyId !== id) {
      throw new HttpError(404, "NOT_FOUND", `no preview job "${c.req.param("job").slice(0, 40)}" for policy "${id}" (jobs are kept for an hour)`);
    }
    const status = jobStatus(job);
    if (status.status === "done") return c.json(answerOf(job.candidate, job.window, job.summary, job.changes));
    if (await leaseNextChunk(c.env, job)) {
      const perRequest = loadConfig(c.env).previewImagesPerRequest;
      c.executionCtx.waitUntil(runChunk(c.env, job, perRequest).catch((err: unknown) => console.error("preview chunk failed:", err)));
    }
    return c.json({ job: status, poll: pollPath(id, job.id) }, 202);
  });
