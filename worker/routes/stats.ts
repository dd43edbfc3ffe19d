// Verdict statistics for dashboards and operators: GET /v1/stats?policy=&from=&to=&bucket= (docs/stats.md).
import { Hono } from "../hono";
import { statsWindow, StatsQueryError } from "../../src/stats";
import type { Env } from "../env";
import { HttpError } from "../errors";
import { allowedPolicies, assertPolicyAllowed, requireRole } from "../middleware/auth";
import { policyId } from "../policy-id";
import { verdictStats, type PolicyScope } from "../stores/verdict-stats";

export const statsRoutes = new Hono<Env>().use("*", requireRole("client")).get("/", async (c) => {
  const q = c.req.query();
  let window;
  try {
    window = statsWindow(q, Date.now());
  } catch (err) {
    if (err instanceof StatsQueryError) throw new HttpError(400, "INVALID_QUERY", err.message);
    throw err;
  }
  const policy = q.policy !== undefined && q.policy !== "" ? policyId(q.policy) : null;
  if (policy !== null) assertPolicyAllowed(c, policy);
  // A token restricted to some policies counts only theirs.
  const scope: PolicyScope = policy ?? allowedPolicies(c);
  const stats = await verdictStats(c.env.VERDICTS, scope, window);
  return c.json({
    policy,
    from: new Date(window.fromMs).toISOString(),
    to: new Date(window.toMs).toISOString(),
    bucket: window.bucket,
    ...stats,
  });
});
