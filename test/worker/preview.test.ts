// Policy change preview: the images recorded under a policy replayed against a candidate, through
// the decision core, recording nothing and changing nothing; large windows as polled jobs
// (PREVIEW_IMAGES_PER_REQUEST is 4 in vitest.config.ts).
import { env } from "cloudflare:test";
import { afterEach, describe, expect, it, vi } from "vitest";
import ALICE from "../vectors/cosign/keys/alice.pub?raw";
import BOB from "../vectors/cosign/keys/bob.pub?raw";
import { ADMIN, CLIENT, DIGEST_A, DIGEST_B, call, decideImage, putPolicy, waitForVerdicts } from "./http";

const current = {
  rules: [
    { pattern: "docker.io/library/*", require: [{ type: "allow" }] },
    { pattern: "docker.io/library/busybox", require: [{ type: "deny", message: "busybox is banned" }] },
  ],
};

/** nginx now denied, busybox now allowed, redis as before. */
const candidate = {
  rules: [
    { pattern: "docker.io/library/*", require: [{ type: "allow" }] },
    { pattern: "docker.io/library/nginx", require: [{ type: "deny", message: "nginx is retired: use caddy" }] },
  ],
};

function preview(id: string, doc: unknown, query = "", token: string | null = ADMIN) {
  return call("POST", `/v1/policies/${id}:preview${query}`, { token, ...(typeof doc === "string" ? { raw: doc } : { body: doc }) });
}

async function rowCount(): Promise<number> {
  const row = await env.VERDICTS.prepare("SELECT COUNT(*) AS n FROM verdicts").first<{ n: number }>();
  return row!.n;
}

async function kvKeys(kv: KVNamespace): Promise<string[]> {
  return (await kv.list()).keys.map((k) => k.name).sort();
}

/** Polls a preview job until it is done (each poll moves it on by one chunk). */
async function finish(poll: string): Promise<{ status: number; json: any; progress: number[] }> {
  const progress: number[] = [];
  for (let i = 0; i < 200; i++) {
    const res = await call("GET", poll, { token: ADMIN });
    if (res.status !== 202) return { ...res, progress };
    expect(res.json.job.status).toBe("running");
    progress.push(res.json.job.progress.done);
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`job ${poll} did not finish`);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("POST /v1/policies/{id}:preview", () => {
  it("finds the images a candidate would newly deny and newly allow, with before and after reasons", async () => {
    await putPolicy("pv-changes", current);
    await decideImage(`nginx@${DIGEST_A}`, "pv-changes", { namespace: "web", pipeline: "p1" });
    await decideImage(`busybox@${DIGEST_B}`, "pv-changes");
    await decideImage(`redis@${DIGEST_A}`, "pv-changes");
    await waitForVerdicts("policy=pv-changes", 3);

    const res = await preview("pv-changes", candidate);
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(Object.keys(res.json)).toEqual(["candidate", "window", "summary", "changes"]);
    expect(res.json.candidate).toEqual({ revision: expect.any(String), warnings: [] });
    expect(res.json.window).toMatchObject({ verdicts: 3, images: 3 });
    expect(Date.parse(res.json.window.until) - Date.parse(res.json.window.since)).toBe(7 * 86_400_000);
    expect(res.json.summary).toEqual({ newlyDenied: 1, newlyAllowed: 1, unchanged: 1, errors: 0 });
    expect(res.json.changes).toHaveLength(2);
    const [denied, allowed] = res.json.changes;
    expect(denied).toEqual({
      image: `nginx@${DIGEST_A}`,
      reference: `docker.io/library/nginx@${DIGEST_A}`,
      context: { namespace: "web", pipeline: "p1" },
      before: { decision: "allow", reasons: [expect.objectContaining({ code: "STATIC_ALLOW" })] },
      after: { decision: "deny", reasons: [expect.objectContaining({ code: "STATIC_DENY", message: expect.stringContaining("nginx is retired"), rule: "docker.io/library/nginx" })] },
    });
    expect(allowed).toMatchObject({
      image: `busybox@${DIGEST_B}`,
      context: null,
      before: { decision: "deny", reasons: [{ code: "STATIC_DENY" }] },
      after: { decision: "allow", reasons: [{ code: "STATIC_ALLOW" }] },
    });
  });

  it("records no verdict and changes neither the stored policy, its audit log nor any cache entry", async () => {
    await putPolicy("pv-inert", current);
    await decideImage(`nginx@${DIGEST_A}`, "pv-inert");
    await decideImage(`busybox@${DIGEST_A}`, "pv-inert");
    await waitForVerdicts("policy=pv-inert", 2);
    const before = {
      rows: await rowCount(),
      policy: (await call("GET", "/v1/policies/pv-inert", { token: ADMIN })).json,
      audit: (await call("GET", "/v1/audit?policy=pv-inert", { token: ADMIN })).json,
      verdictCache: await kvKeys(env.VERDICT_CACHE),
    };

    const res = await preview("pv-inert", candidate);
    expect(res.status).toBe(200);
    expect(res.json.summary.newlyDenied).toBe(1);
    // Verdicts are written after the response: give a stray write the time to land.
    await new Promise((r) => setTimeout(r, 400));

    expect(await rowCount()).toBe(before.rows);
    expect((await call("GET", "/v1/policies/pv-inert", { token: ADMIN })).json).toEqual(before.policy);
    expect((await call("GET", "/v1/audit?policy=pv-inert", { token: ADMIN })).json).toEqual(before.audit);
    expect(await kvKeys(env.VERDICT_CACHE)).toEqual(before.verdictCache);
    // Decisions still use the stored policy.
    expect((await decideImage(`nginx@${DIGEST_B}`, "pv-inert")).json.decision).toBe("allow");
  });

  it("writes no verdict cache entry for a verified replay, where a decision writes one", async () => {
    // A loopback registry that has no signatures: a lasting cosign deny, which decisions cache.
    const real = globalThis.fetch;
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      if (url.hostname === "trustgate.test") return real(input, init);
      if (url.hostname !== "127.0.0.1") throw new Error(`test refused a fetch to ${url.host}`);
      return new Response(JSON.stringify({ errors: [{ code: "MANIFEST_UNKNOWN" }] }), { status: 404, headers: { "content-type": "application/json" } });
    });
    const cosign = (key: string) => ({ rules: [{ pattern: "127.0.0.1:5999/*", require: [{ type: "cosign", keys: [{ name: "k", key }] }] }] });
    const put = await putPolicy("pv-cache", cosign(ALICE));
    expect(put.status, JSON.stringify(put.json)).toBe(200);
    const image = `127.0.0.1:5999/team/app@${DIGEST_A}`;
    const decided = await decideImage(image, "pv-cache");
    expect(decided.json.decision, JSON.stringify(decided.json)).toBe("deny");
    await waitForVerdicts("policy=pv-cache", 1);
    await new Promise((r) => setTimeout(r, 100));
    const keys = await kvKeys(env.VERDICT_CACHE);
    // The decision cached its verdict: the check below is not vacuous.
    expect(keys.filter((k) => k.includes("127.0.0.1:5999/team/app"))).toHaveLength(1);

    const res = await preview("pv-cache", cosign(BOB));
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(res.json.summary).toEqual({ newlyDenied: 0, newlyAllowed: 0, unchanged: 1, errors: 0 });
    await new Promise((r) => setTimeout(r, 100));
    expect(await kvKeys(env.VERDICT_CACHE)).toEqual(keys);
  });

  it("replays an image once per namespace it was decided in, in that namespace", async () => {
    await putPolicy("pv-ns", { rules: [{ pattern: "docker.io/library/*", require: [{ type: "allow" }] }] });
    await decideImage(`nginx@${DIGEST_A}`, "pv-ns", { namespace: "payments", pipeline: "p1" });
    await decideImage(`nginx@${DIGEST_A}`, "pv-ns", { namespace: "payments", pipeline: "p2" });
    await decideImage(`nginx@${DIGEST_A}`, "pv-ns", { namespace: "web" });
    await waitForVerdicts("policy=pv-ns", 3);
    // nginx is denied in payments only (a namespaced rule); web still follows the unscoped rules.
    const scoped = {
      rules: [
        { pattern: "docker.io/library/*", require: [{ type: "allow" }] },
        { pattern: "docker.io/library/*", namespace: "payments", require: [{ type: "allow" }] },
        { pattern: "docker.io/library/nginx", namespace: "payments", require: [{ type: "deny", message: "not in payments" }] },
      ],
    };
    const res = await preview("pv-ns", scoped);
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(res.json.window).toMatchObject({ verdicts: 3, images: 2 });
    expect(res.json.summary).toEqual({ newlyDenied: 1, newlyAllowed: 0, unchanged: 1, errors: 0 });
    // The latest context of that namespace.
    expect(res.json.changes).toMatchObject([{ context: { namespace: "payments", pipeline: "p2" }, after: { decision: "deny" } }]);
  });

  it("refuses an invalid candidate with the importer's issues, as PUT does", async () => {
    await putPolicy("pv-invalid", current);
    const bad = { rules: [{ pattern: "docker.io/library/*", require: [{ type: "cosign" }] }] };
    const put = await putPolicy("pv-invalid-put", bad);
    const res = await preview("pv-invalid", bad);
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("INVALID_POLICY");
    expect(res.json.error.issues).toEqual(put.json.error.issues);
    expect(res.json.error.issues.length).toBeGreaterThan(0);

    const yaml = await preview("pv-invalid", "rules: [", "?format=native");
    expect(yaml.status).toBe(400);
    const format = await preview("pv-invalid", candidate, "?format=nope");
    expect(format.status).toBe(400);
    expect(format.json.error.code).toBe("UNSUPPORTED_FORMAT");
  });

  it("answers an empty window with zero counts", async () => {
    await putPolicy("pv-empty", current);
    const res = await preview("pv-empty", candidate);
    expect(res.status).toBe(200);
    expect(res.json.window).toMatchObject({ verdicts: 0, images: 0 });
    expect(res.json.summary).toEqual({ newlyDenied: 0, newlyAllowed: 0, unchanged: 0, errors: 0 });
    expect(res.json.changes).toEqual([]);
  });

  it("reads the candidate in the format given, like PUT", async () => {
    await putPolicy("pv-yaml", current);
    await decideImage(`busybox@${DIGEST_A}`, "pv-yaml");
    await waitForVerdicts("policy=pv-yaml", 1);
    const res = await preview("pv-yaml", "rules:\n  - pattern: 'docker.io/library/*'\n    require: [{ type: allow }]\n", "?format=native");
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(res.json.summary.newlyAllowed).toBe(1);
  });

  it("replays each image once (its latest verdict), newest first, up to limit, from since", async () => {
    await putPolicy("pv-window", current);
    for (const image of [`nginx@${DIGEST_A}`, `nginx@${DIGEST_A}`, `redis@${DIGEST_A}`, `busybox@${DIGEST_A}`]) {
      await decideImage(image, "pv-window");
    }
    await waitForVerdicts("policy=pv-window", 4);
    const all = await preview("pv-window", candidate);
    expect(all.json.window).toMatchObject({ verdicts: 4, images: 3 });
    const one = await preview("pv-window", candidate, "?limit=1");
    expect(one.json.window.images).toBe(1);
    expect(one.json.summary).toEqual({ newlyDenied: 0, newlyAllowed: 1, unchanged: 0, errors: 0 });
    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect((await preview("pv-window", candidate, `?since=${future}`)).status).toBe(400);
    const recent = await preview("pv-window", candidate, `?since=${new Date(Date.now() - 3_600_000).toISOString()}`);
    expect(recent.json.window.images).toBe(3);
    for (const q of ["?limit=0", "?limit=1001", "?limit=x", "?since=yesterday", "?since=2026-01-01"]) {
      const res = await preview("pv-window", candidate, q);
      expect(res.status, q).toBe(400);
      expect(res.json.error.code, q).toBe("INVALID_QUERY");
    }
  });

  it("runs a window larger than one request's share as a job, polled with progress to the same answer", async () => {
    await putPolicy("pv-job", current);
    const images = ["nginx", "redis", "busybox", "alpine", "caddy", "postgres", "nginx"].map((n, i) => `${n}@${i === 6 ? DIGEST_B : DIGEST_A}`);
    await call("POST", "/v1/decisions:batch", { token: CLIENT, body: { policy: "pv-job", images } });
    await waitForVerdicts("policy=pv-job", 7);
    const rows = await rowCount();

    const res = await preview("pv-job", candidate);
    expect(res.status, JSON.stringify(res.json)).toBe(202);
    expect(res.json).toEqual({
      job: { id: expect.stringMatching(/^[0-9a-f]{32}$/), status: "running", progress: { done: 0, total: 7 } },
      poll: `/v1/policies/pv-job:preview/${res.json.job.id}`,
    });
    const done = await finish(res.json.poll);
    expect(done.status, JSON.stringify(done.json)).toBe(200);
    expect(done.progress.every((n) => n === 0 || n === 4)).toBe(true);
    expect(Object.keys(done.json)).toEqual(["candidate", "window", "summary", "changes"]);
    expect(done.json.window).toMatchObject({ verdicts: 7, images: 7 });
    expect(done.json.summary).toEqual({ newlyDenied: 2, newlyAllowed: 1, unchanged: 4, errors: 0 });
    expect(done.json.changes.map((c: { image: string }) => c.image.split("@")[0])).toEqual(["nginx", "nginx", "busybox"]);
    expect(await rowCount()).toBe(rows);

    // A finished job answers the same again; another policy's URL or an unknown job does not find it.
    expect((await call("GET", res.json.poll, { token: ADMIN })).json).toEqual(done.json);
    expect((await call("GET", `/v1/policies/pv-other:preview/${res.json.job.id}`, { token: ADMIN })).status).toBe(404);
    expect((await call("GET", `/v1/policies/pv-job:preview/${"0".repeat(32)}`, { token: ADMIN })).status).toBe(404);
    expect((await call("GET", `/v1/policies/pv-job:preview/nope`, { token: ADMIN })).status).toBe(404);
  });

  it("is for admins: a client token is refused, no token is 401, and a job cannot be polled with a client token", async () => {
    await putPolicy("pv-auth", current);
    const client = await preview("pv-auth", candidate, "", CLIENT);
    expect(client.status).toBe(403);
    expect(client.json.error.code).toBe("FORBIDDEN");
    expect((await preview("pv-auth", candidate, "", null)).status).toBe(401);
    expect((await call("GET", `/v1/policies/pv-auth:preview/${"0".repeat(32)}`, { token: CLIENT })).status).toBe(403);
  });

  it("answers 404 for an unknown policy, and for any other POST under /v1/policies", async () => {
    const res = await preview("pv-nope", candidate);
    expect(res.status).toBe(404);
    expect(res.json.error.code).toBe("POLICY_NOT_FOUND");
    const other = await call("POST", "/v1/policies/pv-nope:reset", { token: ADMIN, body: candidate });
    expect(other.status).toBe(404);
    expect(other.json.error.code).toBe("NOT_FOUND");
    const badId = await preview("Bad_ID", candidate);
    expect(badId.status).toBe(400);
    expect(badId.json.error.code).toBe("INVALID_POLICY_ID");
  });
});
