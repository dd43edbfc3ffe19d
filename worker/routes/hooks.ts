// Registries calling on push: distribution notifications and Harbor webhooks, each manifest push decided and recorded.
//
// POST /v1/hooks/distribution?policy=<id>[&wait=<ms>]
//   Body: a distribution notification envelope (`application/vnd.docker.distribution.events.v1+json`,
//   v2 from distribution 3): `{ "events": [ { id, timestamp, action, target: { mediaType, digest,
//   repository, url, tag, … }, request: { host, … }, actor: { name }, source } ] }`. Every `push` of a
//   manifest or index (target.mediaType) is decided as `<registry host>/<repository>@<digest>`, the
//   host taken from target.url, else request.host. Pulls, mounts, deletes and blob pushes are ignored;
//   a repeated event ID within one envelope is ignored. Registry config:
//     notifications:
//       endpoints:
//         - name: trustgate
//           url: https://trustgate.example.com/v1/hooks/distribution?policy=prod
//           headers: { Authorization: ["Bearer <client token>"] }
//           timeout: 5s
//           threshold: 5
//           backoff: 10s
//
// POST /v1/hooks/harbor?policy=<id>[&wait=<ms>]
//   Body: a Harbor webhook, Default format (`{ type, occur_at, operator, event_data: { resources:
//   [ { digest, tag, resource_url } ], repository: { name, namespace, repo_full_name, repo_type } } }`)
//   or CloudEvents format (`{ specversion, id, type: "harbor.artifact.pushed", operator, data }`).
//   Only PUSH_ARTIFACT is decided; every other type is one ignored event. The registry host is the part
//   of resource_url before `/<repo_full_name>`. Harbor sends a webhook's "Auth Header" verbatim as the
//   Authorization header, so set it to `Bearer <client token>` (the word Bearer included).
//
// Both answer 200 once the payload is read and the decisions are made or `wait` ms (default 400,
// 0–10000) have passed, whichever is first; decisions still running then are recorded when they end.
//   { "policy": { "id", "revision" },
//     "decided":  [ { "eventId", "image", "tag", "digest", "decision", "allowed", "rule", "reasons", "verdictId" } ],
//     "pending":  [ { "eventId", "image", "tag" } ],
//     "rejected": [ { "eventId", "path", "message" } ],   // manifest pushes that name no decidable image
//     "ignored":  2 }                                      // events that are not manifest pushes, or repeats
// Verdicts are recorded with source "hook:distribution" / "hook:harbor" and context
// { hook, tag, eventId, actor }, and read back with GET /v1/verdicts. A body that is not such a payload
// is a 400 (the registry retries it: fix the sender), an unknown policy a 404, past 1 MiB a 413.
import type { Context } from "hono";
import { Hono } from "../hono";
import type { HookBatch, HookImage } from "../../src/hooks/common";
import { parseDistributionEnvelope } from "../../src/hooks/distribution";
import { parseHarborPayload } from "../../src/hooks/harbor";
import type { Env } from "../env";
import { readText } from "../body";
import { HttpError } from "../errors";
import { assertPolicyAllowed, requireRole } from "../middleware/auth";
import type { RecordedVerdict } from "../stores/verdict-log";
import { decideImages, loadPolicy } from "../decision-services";
import { policyId } from "../policy-id";
import { DEFAULT_LIMITS } from "../../src/limits";

type Hook = "distribution" | "harbor";

const DEFAULT_WAIT_MS = 400;
const MAX_WAIT_MS = DEFAULT_LIMITS.api.hookWaitMs;

function policyParam(c: Context<Env>): string {
  const id = c.req.query("policy");
  if (id === undefined || id === "") {
    throw new HttpError(400, "INVALID_QUERY", "policy is required: POST /v1/hooks/<kind>?policy=<policy ID>");
  }
  assertPolicyAllowed(c, policyId(id));
  return id;
}

function waitParam(c: Context<Env>): number {
  const raw = c.req.query("wait");
  if (raw === undefined) return DEFAULT_WAIT_MS;
  const ms = Number(raw);
  if (!/^\d+$/.test(raw) || ms > MAX_WAIT_MS) {
    throw new HttpError(400, "INVALID_QUERY", `wait must be a whole number of milliseconds from 0 to ${MAX_WAIT_MS}, not "${raw.slice(0, 40)}"`);
  }
  return ms;
}

async function readPayload(c: Context<Env>, parse: (body: unknown) => HookBatch): Promise<HookBatch> {
  const text = await readText(c);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    // Also a RangeError from absurd nesting: the message never echoes the body.
    throw new HttpError(400, "INVALID_JSON", `the request body is not valid JSON: ${(err as Error).message.slice(0, 200)}`);
  }
  // A HookPayloadError is the caller's 400 (worker/errors.ts).
  return parse(value);
}

interface Slot {
  readonly hookImage: HookImage;
  verdict?: RecordedVerdict;
}

async function handleHook(c: Context<Env>, hook: Hook, parse: (body: unknown) => HookBatch): Promise<Response> {
  const id = policyParam(c);
  const wait = waitParam(c);
  const batch = await readPayload(c, parse);
  const stored = await loadPolicy(c, id);
  for (const r of batch.rejected) {
    console.warn(`hook ${hook}: ${r.path}${r.eventId ? ` (event ${r.eventId})` : ""} not decided: ${r.message}`);
  }

  // One decision per push: each keeps its own context (tag, event ID), and is recorded on its own.
  const slots: Slot[] = batch.images.map((hookImage) => ({ hookImage }));
  const all = Promise.all(
    slots.map(async (slot) => {
      const { image, tag, eventId, actor } = slot.hookImage;
      const [verdict] = await decideImages(c, stored, [image], { hook, tag, eventId, actor }, `hook:${hook}`);
      slot.verdict = verdict;
    }),
  );
  let finished = false;
  if (wait > 0 && slots.length > 0) {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const late = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), wait);
    });
    try {
      finished = await Promise.race([all.then(() => true as const), late]);
    } finally {
      if (timer !== null) clearTimeout(timer);
    }
  } else if (slots.length === 0) {
    finished = true;
  }
  if (!finished) {
    // The registry gets its answer now; the remaining decisions finish, and are recorded, after it.
    c.executionCtx.waitUntil(all.catch((err: unknown) => console.error(`hook ${hook}: a decision failed after the answer:`, err)));
  }

  return c.json({
    policy: { id: stored.id, revision: stored.revision },
    decided: slots.flatMap(({ hookImage, verdict: v }) =>
      v
        ? [
            {
              eventId: hookImage.eventId,
              image: hookImage.image,
              tag: hookImage.tag,
              digest: hookImage.digest,
              decision: v.decision,
              allowed: v.allowed,
              rule: v.rule,
              reasons: v.reasons,
              verdictId: v.id,
            },
          ]
        : [],
    ),
    pending: slots.flatMap(({ hookImage, verdict }) =>
      verdict ? [] : [{ eventId: hookImage.eventId, image: hookImage.image, tag: hookImage.tag }],
    ),
    rejected: batch.rejected,
    ignored: batch.ignored,
  });
}

export const hookRoutes = new Hono<Env>()
  // Its own auth: routes mounted before /v1's decision routes answer before that middleware would run.
  .use("*", requireRole("client"))
  .post("/distribution", (c) => handleHook(c, "distribution", parseDistributionEnvelope))
  .post("/harbor", (c) => handleHook(c, "harbor", parseHarborPayload));
