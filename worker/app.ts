// The Hono app: routes mounted under /v1, JSON errors for everything that goes wrong.
import { Hono } from "./hono";
import type { Env } from "./env";
import { errorResponse, HttpError } from "./errors";
import { admissionRoutes } from "./routes/admission";
import { auditRoutes } from "./routes/audit";
import { dashboardRoutes } from "./routes/dashboard";
import { decisionRoutes } from "./routes/decisions";
import { hookRoutes } from "./routes/hooks";
import { policyRoutes } from "./routes/policies";
import { statsRoutes } from "./routes/stats";
import { verdictRoutes } from "./routes/verdicts";

export function createApp(): Hono<Env> {
  const app = new Hono<Env>();
  app.get("/healthz", (c) => c.json({ status: "ok" }));
  app.route("/", dashboardRoutes);
  app.route("/v1/policies", policyRoutes);
  app.route("/v1/verdicts", verdictRoutes);
  app.route("/v1/audit", auditRoutes);
  app.route("/v1/stats", statsRoutes);
  app.route("/v1/admission", admissionRoutes);
  app.route("/v1/hooks", hookRoutes);
  app.route("/v1", decisionRoutes);
  app.notFound((c) => errorResponse(c, new HttpError(404, "NOT_FOUND", `no route for ${c.req.method} ${c.req.path}`)));
  app.onError((err, c) => errorResponse(c, err));
  return app;
}
