// Decisions: one image, or a batch in input order; each verdict recorded off the hot path.
import { Hono, type Context } from "hono";
import * as z from "../../src/schema";
import { decide, type Verdict } from "../../src/decide";
import { parseReference, type ImageReference } from "../../src/reference";
import type { Env } from "../env";
import { readJson } from "../body";
import { HttpError } from "../errors";
import { assertPolicyAllowed, requireRole } from "../middleware/auth";
import { servicesFor } from "../services";
import { newVerdictId, type RecordedVerdict } from "../stores/verdict-log";
import { policyId } from "./policies";
import type { StoredPolicy } from "../stores/policy-store";

const MAX_BATCH = 256;

const contextSchema = z.record(z.string(), z.unknown());

const decisionBody = z.strictObject({
  image: z.string().check(z.minLength(1), z.maxLength(1024)),
  policy: z.string().check(z.minLength(1), z.maxLength(256)),
  context: z.optional(contextSchema),
});

const batchBody = z.strictObject({
  policy: z.string().check(z.minLength(1), z.maxLength(256)),
  images: z.array(z.string().check(z.minLength(1), z.maxLength(1024))).check(z.minLength(1), z.maxLength(MAX_BATCH)),
  context: z.optional(contextSchema),
});

/** The policy a decision uses (ID checked, token allowed to use it), or the 404. */
export async function loadPolicy(c: Context<Env>, id: string): Promise<StoredPolicy> {
  assertPolicyAllowed(c, policyId(id));
  const stored = await servicesFor(c.env).policies.forDecision(id);
  if (!stored) throw new HttpError(404, "POLICY_NOT_FOUND", `no policy with ID "${id}"`);
  return stored;
}

function parseOrReject(image: string, path: string): ImageReference {
  try {
    return parseReference(image);
  } catch (err) {
    if (err instanceof Error && err.name === "InvalidReferenceError") {
      throw new HttpError(400, "INVALID_REFERENCE", `${path}: ${err.message}`, { path });
    }
    throw err;
  }
}

/**
 * Decides each distinct image once, records every verdict, and answers in input order. `recorded` is
 * the context the history keeps, when it differs from the one the decision reads.
 */
export async function decideImages(
  c: Context<Env>,
  stored: StoredPolicy,
  images: readonly string[],
  context: Record<string, unknown>,
  source: string,
  recorded: Record<string, unknown> = context,
): Promise<RecordedVerdict[]> {
  const { decideDeps } = servicesFor(c.env);
  const references = images.map((image, i) => parseOrReject(image, images.length > 1 ? `images[${i}]` : "image"));
  const view = { id: stored.id, revision: stored.revision, policy: stored.policy };
  const distinct = new Map<string, Promise<Verdict>>();
  // Cache writes after a verification finish after the response.
  const background = (work: Promise<unknown>) => c.executionCtx.waitUntil(work);
  const results = await Promise.all(
    images.map((image, i) => {
      let p = distinct.get(image);
      if (!p) {
        p = decide({ image, reference: references[i]!, context, background }, view, decideDeps);
        distinct.set(image, p);
      }
      return p;
    }),
  );
  return recordVerdicts(
    c,
    results.map((verdict, i) => ({ verdict, repository: references[i]!.name })),
    source,
    recorded,
  );
}

/**
 * Gives each verdict its history ID, source and context, and has it written after the response.
 * `repository` is the reference's name ("" for an image that is no valid reference).
 */
export function recordVerdicts(
  c: Context<Env>,
  entries: readonly { verdict: Verdict; repository: string }[],
  source: string,
  context: Readonly<Record<string, unknown>>,
): RecordedVerdict[] {
  const recorded = entries.map(({ verdict }): RecordedVerdict => ({
    ...verdict,
    id: newVerdictId(Date.parse(verdict.evaluatedAt)),
    source,
    context: Object.keys(context).length ? context : null,
  }));
  c.executionCtx.waitUntil(
    servicesFor(c.env)
      .verdicts.recordAll(recorded.map((verdict, i) => ({ verdict, repository: entries[i]!.repository })))
      .catch((err: unknown) => console.error("recording verdicts failed:", err)),
  );
  return recorded;
}

function publicVerdict(v: RecordedVerdict): Omit<RecordedVerdict, "source" | "context"> {
  const { source: _s, context: _c, ...rest } = v;
  return rest;
}

export const decisionRoutes = new Hono<Env>()
  .use("*", requireRole("client"))
  .post("/decisions", async (c) => {
    const body = await readJson(c, decisionBody);
    const stored = await loadPolicy(c, body.policy);
    const [verdict] = await decideImages(c, stored, [body.image], body.context ?? {}, "decisions");
    return c.json(publicVerdict(verdict!));
  })
  .post("/decisions:batch", async (c) => {
    const body = await readJson(c, batchBody);
    const stored = await loadPolicy(c, body.policy);
    const verdicts = await decideImages(c, stored, body.images, body.context ?? {}, "batch");
    return c.json({ verdicts: verdicts.map(publicVerdict) });
  });
