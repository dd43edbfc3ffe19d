// The policy audit log, for admins: GET /v1/audit?policy=&limit=&cursor=, newest first.
import { Hono } from "hono";
import type { Env } from "../env";
import { HttpError } from "../errors";
import { requireRole } from "../middleware/auth";
import { PolicyAuditLog, type PolicyAuditQuery } from "../stores/policy-audit";
import { decodeCursor } from "../stores/paging";
import { policyId } from "./policies";

export const auditRoutes = new Hono<Env>().use("*", requireRole("admin")).get("/", async (c) => {
  const q = c.req.query();
  const limitText = q.limit ?? "50";
  const limit = Number(limitText);
  if (!/^\d+$/.test(limitText) || limit < 1 || limit > 500) {
    throw new HttpError(400, "INVALID_QUERY", `limit must be a whole number from 1 to 500, not "${limitText.slice(0, 40)}"`);
  }
  const cursor = q.cursor !== undefined ? decodeCursor(q.cursor) : undefined;
  if (q.cursor !== undefined && !cursor) throw new HttpError(400, "INVALID_QUERY", "cursor is not one this service gave out");
  const query: PolicyAuditQuery = {
    limit,
    ...(q.policy !== undefined ? { policy: policyId(q.policy) } : {}),
    ...(cursor ? { cursor } : {}),
  };
  return c.json(await new PolicyAuditLog(c.env.VERDICTS).query(query));
});
