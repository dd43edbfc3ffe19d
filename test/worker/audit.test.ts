// The policy audit log: every create, update and delete recorded with the token's name and the
// revisions, written before the change; read newest first by admins only.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import worker from "../../worker/index";
import type { Bindings } from "../../worker/env";
import { ADMIN, CLIENT, call } from "./http";

const allowAll = { mode: "enforce", rules: [{ pattern: "*:*", require: [{ type: "allow" }] }] };
const denyAll = { mode: "enforce", rules: [{ pattern: "*:*", require: [{ type: "deny" }] }] };

const OPS_SECRET = "ops-audit-secret-41";
const REL_SECRET = "release-audit-secret-42";

const named: Bindings = { ...env, ADMIN_TOKENS: `ops=${OPS_SECRET},release=${REL_SECRET}`, CLIENT_TOKENS: CLIENT } as Bindings;

async function fetchWith(envOf: Bindings, method: string, path: string, token: string, body?: unknown) {
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`http://trustgate.test${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { "content-type": "application/json" } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    }),
    envOf,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  const text = await res.text();
  return { status: res.status, text, json: JSON.parse(text) as any };
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("policy audit", () => {
  it("records create, update and delete with the token's name and the revisions, newest first", async () => {
    const created = await fetchWith(named, "PUT", "/v1/policies/aud-one", OPS_SECRET, allowAll);
    expect(created.status).toBe(200);
    const updated = await fetchWith(named, "PUT", "/v1/policies/aud-one", REL_SECRET, denyAll);
    expect(updated.status).toBe(200);
    const deleted = await fetchWith(named, "DELETE", "/v1/policies/aud-one", OPS_SECRET);
    expect(deleted.status).toBe(200);

    const res = await fetchWith(named, "GET", "/v1/audit?policy=aud-one", OPS_SECRET);
    expect(res.status).toBe(200);
    expect(res.json.nextCursor).toBeNull();
    expect(res.json.entries).toEqual([
      {
        id: expect.any(String),
        at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        policyId: "aud-one",
        action: "delete",
        tokenName: "ops",
        oldRevision: updated.json.revision,
        newRevision: null,
        format: "native",
      },
      {
        id: expect.any(String),
        at: expect.any(String),
        policyId: "aud-one",
        action: "update",
        tokenName: "release",
        oldRevision: created.json.revision,
        newRevision: updated.json.revision,
        format: "native",
      },
      {
        id: expect.any(String),
        at: expect.any(String),
        policyId: "aud-one",
        action: "create",
        tokenName: "ops",
        oldRevision: null,
        newRevision: created.json.revision,
        format: "native",
      },
    ]);
    expect(res.text).not.toContain(OPS_SECRET);
    expect(res.text).not.toContain(REL_SECRET);
  });

  it("names positional tokens admin-<n>, and records nothing for refused changes", async () => {
    expect((await call("PUT", "/v1/policies/aud-pos", { token: ADMIN, body: allowAll })).status).toBe(200);
    expect((await call("PUT", "/v1/policies/aud-pos", { token: ADMIN, body: { rules: [] } })).status).toBe(400);
    expect((await call("DELETE", "/v1/policies/aud-missing", { token: ADMIN })).status).toBe(404);
    expect((await call("PUT", "/v1/policies/aud-pos", { token: CLIENT, body: allowAll })).status).toBe(403);

    const res = await call("GET", "/v1/audit?policy=aud-pos", { token: ADMIN });
    expect(res.json.entries.map((e: any) => [e.action, e.tokenName])).toEqual([["create", "admin-1"]]);
    expect((await call("GET", "/v1/audit?policy=aud-missing", { token: ADMIN })).json.entries).toEqual([]);
  });

  it("pages with a cursor, newest first, across policies", async () => {
    for (let i = 0; i < 5; i++) {
      expect((await call("PUT", `/v1/policies/aud-page-${i}`, { token: ADMIN, body: allowAll })).status).toBe(200);
    }
    const all = await call("GET", "/v1/audit?limit=500", { token: ADMIN });
    const ids: string[] = all.json.entries.map((e: any) => e.id);
    const pageIds = all.json.entries.filter((e: any) => e.policyId.startsWith("aud-page-")).map((e: any) => e.policyId);
    expect(pageIds).toEqual(["aud-page-4", "aud-page-3", "aud-page-2", "aud-page-1", "aud-page-0"]);

    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const res: any = await call("GET", `/v1/audit?limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`, { token: ADMIN });
      expect(res.status).toBe(200);
      expect(res.json.entries.length).toBeLessThanOrEqual(2);
      paged.push(...res.json.entries.map((e: any) => e.id));
      cursor = res.json.nextCursor;
    } while (cursor && paged.length < 1000);
    expect(paged).toEqual(ids);
  });

  it("is for admins only, and checks its query", async () => {
    expect((await call("GET", "/v1/audit", {})).status).toBe(401);
    expect((await call("GET", "/v1/audit", { token: "nope-not-a-token" })).status).toBe(401);
    const client = await call("GET", "/v1/audit", { token: CLIENT });
    expect(client.status).toBe(403);
    expect(client.json.error.code).toBe("FORBIDDEN");
    expect((await call("GET", "/v1/audit?limit=0", { token: ADMIN })).json.error.code).toBe("INVALID_QUERY");
    expect((await call("GET", "/v1/audit?limit=501", { token: ADMIN })).status).toBe(400);
    expect((await call("GET", "/v1/audit?cursor=garbage!", { token: ADMIN })).json.error.code).toBe("INVALID_QUERY");
    expect((await call("GET", "/v1/audit?policy=Not_Valid", { token: ADMIN })).json.error.code).toBe("INVALID_POLICY_ID");
  });

  it("a failed audit write leaves the policy unchanged", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const before = await call("PUT", "/v1/policies/aud-fail", { token: ADMIN, body: allowAll });
    const broken = {
      ...named,
      VERDICTS: {
        prepare() {
          throw new Error("D1 is down");
        },
      },
    } as unknown as Bindings;
    const put = await fetchWith(broken, "PUT", "/v1/policies/aud-fail", OPS_SECRET, denyAll);
    expect(put.status).toBe(500);
    const del = await fetchWith(broken, "DELETE", "/v1/policies/aud-fail", OPS_SECRET);
    expect(del.status).toBe(500);
    const got = await call("GET", "/v1/policies/aud-fail", { token: ADMIN });
    expect(got.status).toBe(200);
    expect(got.json.revision).toBe(before.json.revision);
  });

  it("a failed policy write withdraws its audit entry", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const kv = env.POLICIES;
    const broken = {
      ...named,
      POLICIES: {
        get: kv.get.bind(kv),
        list: kv.list.bind(kv),
        put: () => Promise.reject(new Error("KV is down")),
        delete: () => Promise.reject(new Error("KV is down")),
      },
    } as unknown as Bindings;
    const put = await fetchWith(broken, "PUT", "/v1/policies/aud-kv", OPS_SECRET, allowAll);
    expect(put.status).toBe(500);
    expect((await call("GET", "/v1/policies/aud-kv", { token: ADMIN })).status).toBe(404);
    expect((await call("GET", "/v1/audit?policy=aud-kv", { token: ADMIN })).json.entries).toEqual([]);
  });
});
