// The policy audit log, for admins: GET /v1/audit?policy=&limit=&cursor=, newest first.
import { Hono } from "../hono";
import type { Env } from "../env";
import { requireRole } from "../middleware/auth";
import { PolicyAuditLog, type PolicyAuditQuery } from "../stores/policy-audit";
import { pageParams } from "../page-params";
import { policyId } from "../policy-id";

export const auditRoutes = new Hono<Env>().use("*", requireRole("admin")).get("/", async (c) => {
  const q = c.req.query();
  const query: PolicyAuditQuery = {
    ...pageParams(q),
    ...(q.policy !== undefined ? { policy: policyId(q.policy) } : {}),
  };
  return c.json(await new PolicyAuditLog(c.env.VERDICTS).query(query));
});
