// The verdict history: newest first, filtered by image, policy and decision, paginated.
import { Hono } from "../hono";
import { parseReference } from "../../src/reference";
import type { Env } from "../env";
import { HttpError } from "../errors";
import { allowedPolicies, assertPolicyAllowed, requireRole } from "../middleware/auth";
import { servicesFor } from "../services";
import type { VerdictQuery } from "../stores/verdict-log";
import { pageParams } from "../page-params";
import { policyId } from "../policy-id";

function imageFilter(image: string): VerdictQuery["image"] {
  let ref;
  try {
    ref = parseReference(image);
  } catch (err) {
    throw new HttpError(400, "INVALID_REFERENCE", `image: ${(err as Error).message}`);
  }
  // "nginx" means the whole repository; "nginx:1.27" or "nginx@sha256:…" that exact reference.
  const explicit = /[:@][^/]*$/.test(image);
  return explicit ? { reference: ref.canonical } : { repository: ref.name };
}

export const verdictRoutes = new Hono<Env>().use("*", requireRole("client")).get("/", async (c) => {
  const q = c.req.query();
  const page = pageParams(q);
  if (q.decision !== undefined && q.decision !== "allow" && q.decision !== "deny") {
    throw new HttpError(400, "INVALID_QUERY", `decision must be "allow" or "deny", not "${q.decision.slice(0, 40)}"`);
  }
  const query: VerdictQuery = {
    ...page,
    ...(q.policy !== undefined ? { policy: policyId(q.policy) } : {}),
    ...(q.decision !== undefined ? { decision: q.decision } : {}),
    ...(q.image !== undefined ? { image: imageFilter(q.image) } : {}),
  };
  const log = servicesFor(c.env).verdicts;
  const restricted = allowedPolicies(c);
  if (q.policy !== undefined) assertPolicyAllowed(c, q.policy);
  // A token restricted to some policies sees only theirs (one query, policy_id IN (...)).
  return c.json(await log.query(query.policy === undefined && restricted ? { ...query, policy: restricted } : query));
});
