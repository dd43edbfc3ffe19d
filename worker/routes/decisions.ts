// Decisions: one image, or a batch in input order; each verdict recorded off the hot path.
import { Hono } from "../hono";
import * as z from "../../src/schema";
import type { Env } from "../env";
import { readJson } from "../body";
import { decideImages, loadPolicy } from "../decision-services";
import { requireRole } from "../middleware/auth";
import type { RecordedVerdict } from "../stores/verdict-log";
import { DEFAULT_LIMITS } from "../../src/limits";

const MAX_BATCH = DEFAULT_LIMITS.api.imagesPerRequest;

const contextSchema = z.record(z.string(), z.unknown());

const decisionBody = z.strictObject({
  image: z.string().check(z.minLength(1), z.maxLength(DEFAULT_LIMITS.api.referenceLength)),
  policy: z.string().check(z.minLength(1), z.maxLength(256)),
  context: z.optional(contextSchema),
});

const batchBody = z.strictObject({
  policy: z.string().check(z.minLength(1), z.maxLength(256)),
  images: z.array(z.string().check(z.minLength(1), z.maxLength(DEFAULT_LIMITS.api.referenceLength))).check(z.minLength(1), z.maxLength(MAX_BATCH)),
  context: z.optional(contextSchema),
});

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
