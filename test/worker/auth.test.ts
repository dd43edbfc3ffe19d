// Every route but /healthz needs the right token: none or a wrong one → 401, client on admin → 403.
import { describe, expect, it } from "vitest";
import { ADMIN, CLIENT, call } from "./http";

const adminRoutes: [string, string][] = [
  ["GET", "/v1/policies"],
  ["PUT", "/v1/policies/p1"],
  ["GET", "/v1/policies/p1"],
  ["DELETE", "/v1/policies/p1"],
];
const clientRoutes: [string, string][] = [
  ["POST", "/v1/decisions"],
  ["POST", "/v1/decisions:batch"],
  ["GET", "/v1/verdicts"],
];

const withBody = (method: string) => (method === "GET" || method === "DELETE" ? {} : { body: {} });

describe("auth", () => {
  it("answers /healthz without a token", async () => {
    const res = await call("GET", "/healthz");
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ status: "ok" });
  });

  for (const [method, path] of [...adminRoutes, ...clientRoutes]) {
    it(`${method} ${path}: no token → 401`, async () => {
      const res = await call(method, path, withBody(method));
      expect(res.status).toBe(401);
      expect(res.json.error.code).toBe("UNAUTHORIZED");
      expect(res.headers.get("www-authenticate")).toMatch(/^Bearer/);
    });
    it(`${method} ${path}: wrong token → 401, and the token is not echoed`, async () => {
      const res = await call(method, path, { token: "not-a-real-token-123", ...withBody(method) });
      expect(res.status).toBe(401);
      expect(res.json.error.code).toBe("UNAUTHORIZED");
      expect(JSON.stringify(res.json)).not.toContain("not-a-real-token-123");
    });
  }

  it("rejects a token that is only a prefix of a real one", async () => {
    const res = await call("GET", "/v1/verdicts", { token: CLIENT.slice(0, -1) });
    expect(res.status).toBe(401);
  });

  it("rejects a Basic header", async () => {
    const res = await call("GET", "/v1/verdicts", { headers: { authorization: `Basic ${btoa(`x:${CLIENT}`)}` } });
    expect(res.status).toBe(401);
  });

  for (const [method, path] of adminRoutes) {
    it(`${method} ${path}: client token → 403`, async () => {
      const res = await call(method, path, { token: CLIENT, ...withBody(method) });
      expect(res.status).toBe(403);
      expect(res.json.error.code).toBe("FORBIDDEN");
    });
  }

  it("accepts every configured client token, and admin tokens on client routes", async () => {
    for (const token of [CLIENT, "second-client-token", ADMIN]) {
      expect((await call("GET", "/v1/verdicts", { token })).status).toBe(200);
    }
  });

  it("answers unknown routes with a JSON 404", async () => {
    const res = await call("GET", "/v2/nothing", { token: ADMIN });
    expect(res.status).toBe(404);
    expect(res.json.error.code).toBe("NOT_FOUND");
  });
});
