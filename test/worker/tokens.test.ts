// Named and policy-restricted tokens: the config syntax, its errors (503), enforcement on every caller
// route, verdict filtering, and no secret in any answer or log line.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import worker from "../../worker/index";
import { parseTokens, type Bindings } from "../../worker/env";
import { ADMIN, CLIENT, DIGEST_A, DIGEST_B, call } from "./http";

const allowAll = { mode: "enforce", rules: [{ pattern: "*:*", require: [{ type: "allow" }] }] };

const OPS_SECRET = "ops-Secret_0123456789";
const CI_SECRET = "ci-secret.abc~+/xyz==";
const ONE_SECRET = "one-policy-secret";

/** The same bindings (KV, D1) as the test pool's, with other token settings: a config of its own. */
function bindings(tokens: { ADMIN_TOKENS?: string; CLIENT_TOKENS?: string }): Bindings {
  return { ...env, ...tokens } as Bindings;
}

const named = bindings({
  ADMIN_TOKENS: `ops=${OPS_SECRET},${ADMIN}`,
  CLIENT_TOKENS: `ci=${CI_SECRET}@tok-a|tok-b,solo=${ONE_SECRET}@tok-a,${CLIENT}`,
});

async function fetchWith(
  envOf: Bindings,
  method: string,
  path: string,
  opts: { token?: string; body?: unknown; raw?: string } = {},
): Promise<{ status: number; json: any; text: string; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  let body: string | undefined;
  if (opts.raw !== undefined) body = opts.raw;
  else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers["content-type"] = "application/json";
  }
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`http://trustgate.test${path}`, { method, headers, ...(body !== undefined ? { body } : {}) }),
    envOf,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json, text, headers: res.headers };
}

beforeAll(async () => {
  for (const id of ["tok-a", "tok-b", "tok-c"]) {
    const res = await fetchWith(named, "PUT", `/v1/policies/${id}`, { token: OPS_SECRET, body: allowAll });
    expect(res.status).toBe(200);
  }
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe("token syntax", () => {
  it("reads plain, named and restricted entries; plain ones are named by position", () => {
    expect(parseTokens("CLIENT_TOKENS", `a-1,ci=${CI_SECRET}@tok-a|tok-b, x-2 ,solo=s@tok-a|tok-a`, "client")).toEqual([
      { role: "client", name: "client-1", secret: "a-1", policies: null },
      { role: "client", name: "ci", secret: CI_SECRET, policies: ["tok-a", "tok-b"] },
      { role: "client", name: "client-3", secret: "x-2", policies: null },
      { role: "client", name: "solo", secret: "s", policies: ["tok-a"] },
    ]);
    expect(parseTokens("ADMIN_TOKENS", "test-admin-token", "admin")).toEqual([
      { role: "admin", name: "admin-1", secret: "test-admin-token", policies: null },
    ]);
  });

  it("keeps a base64 secret with trailing padding a plain secret", () => {
    expect(parseTokens("CLIENT_TOKENS", "c2VjcmV0==,YWJj=", "client").map((t) => [t.name, t.secret])).toEqual([
      ["client-1", "c2VjcmV0=="],
      ["client-2", "YWJj="],
    ]);
  });
});

describe("named and restricted tokens", () => {
  it("the test pool's tokens still work unchanged", async () => {
    expect((await call("GET", "/v1/verdicts", { token: CLIENT })).status).toBe(200);
    expect((await call("GET", "/v1/verdicts", { token: "second-client-token" })).status).toBe(200);
    expect((await call("GET", "/v1/policies", { token: ADMIN })).status).toBe(200);
  });

  it("a named admin token administers; a named client token does not", async () => {
    expect((await fetchWith(named, "GET", "/v1/policies", { token: OPS_SECRET })).status).toBe(200);
    const res = await fetchWith(named, "GET", "/v1/policies", { token: CI_SECRET });
    expect(res.status).toBe(403);
    expect(res.json.error.code).toBe("FORBIDDEN");
  });

  it("decisions: an allowed policy → 200, another → 403 naming only the policy", async () => {
    const ok = await fetchWith(named, "POST", "/v1/decisions", { token: CI_SECRET, body: { image: `nginx@${DIGEST_A}`, policy: "tok-b" } });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.json.decision).toBe("allow");

    const no = await fetchWith(named, "POST", "/v1/decisions", { token: CI_SECRET, body: { image: `nginx@${DIGEST_A}`, policy: "tok-c" } });
    expect(no.status).toBe(403);
    expect(no.json.error).toEqual({ code: "FORBIDDEN", message: 'this token may not use policy "tok-c"' });

    // A policy that does not exist is refused the same way: a restricted token learns nothing about it.
    const ghost = await fetchWith(named, "POST", "/v1/decisions", { token: CI_SECRET, body: { image: `nginx@${DIGEST_A}`, policy: "no-such-policy" } });
    expect(ghost.status).toBe(403);

    // Unrestricted tokens are unaffected.
    const plain = await fetchWith(named, "POST", "/v1/decisions", { token: CLIENT, body: { image: `nginx@${DIGEST_A}`, policy: "tok-c" } });
    expect(plain.status).toBe(200);
  });

  it("batch decisions: allowed → 200, other → 403", async () => {
    const body = (policy: string) => ({ policy, images: [`nginx@${DIGEST_A}`, `redis@${DIGEST_B}`] });
    const ok = await fetchWith(named, "POST", "/v1/decisions:batch", { token: CI_SECRET, body: body("tok-a") });
    expect(ok.status, ok.text).toBe(200);
    expect(ok.json.verdicts).toHaveLength(2);
    const no = await fetchWith(named, "POST", "/v1/decisions:batch", { token: ONE_SECRET, body: body("tok-b") });
    expect(no.status).toBe(403);
    expect(no.json.error.message).toBe('this token may not use policy "tok-b"');
  });

  it("admission: another policy → 403 before the body is read; the allowed one gets past the check", async () => {
    for (const path of ["/v1/admission?policy=tok-c", "/v1/admission/tok-c", "/v1/admission/tok-c/mutate"]) {
      const res = await fetchWith(named, "POST", path, { token: CI_SECRET, body: { not: "a review" } });
      expect(res.status, path).toBe(403);
      expect(res.json.error.code).toBe("FORBIDDEN");
    }
    const allowed = await fetchWith(named, "POST", "/v1/admission?policy=tok-a", { token: CI_SECRET, body: { not: "a review" } });
    expect(allowed.status).toBe(400);
  });

  it("hooks: another policy → 403; the allowed one → 200", async () => {
    for (const kind of ["distribution", "harbor"]) {
      const res = await fetchWith(named, "POST", `/v1/hooks/${kind}?policy=tok-c`, { token: ONE_SECRET, body: { events: [] } });
      expect(res.status, kind).toBe(403);
      expect(res.json.error.message).toBe('this token may not use policy "tok-c"');
    }
    const ok = await fetchWith(named, "POST", "/v1/hooks/distribution?policy=tok-a", { token: ONE_SECRET, body: { events: [] } });
    expect(ok.status, ok.text).toBe(200);
  });

  it("verdicts: a restricted token sees only its policies' verdicts, pages included", async () => {
    // Verdicts for each of the three policies, by an unrestricted token.
    for (const policy of ["tok-a", "tok-b", "tok-c"]) {
      for (const digest of [DIGEST_A, DIGEST_B]) {
        const res = await fetchWith(named, "POST", "/v1/decisions", { token: CLIENT, body: { image: `vf/app@${digest}`, policy } });
        expect(res.status).toBe(200);
      }
    }
    const everything = await fetchWith(named, "GET", "/v1/verdicts?image=vf/app&limit=500", { token: CLIENT });
    expect(new Set(everything.json.verdicts.map((v: any) => v.policy.id))).toEqual(new Set(["tok-a", "tok-b", "tok-c"]));

    const mine = await fetchWith(named, "GET", "/v1/verdicts?image=vf/app&limit=500", { token: CI_SECRET });
    expect(mine.status).toBe(200);
    const ids = mine.json.verdicts.map((v: any) => v.id);
    expect(mine.json.verdicts.every((v: any) => v.policy.id === "tok-a" || v.policy.id === "tok-b")).toBe(true);
    const expected = everything.json.verdicts.filter((v: any) => v.policy.id !== "tok-c").map((v: any) => v.id);
    expect(ids).toEqual(expected);

    // Paging one at a time over the merged list gives the same order, with no repeats.
    const paged: string[] = [];
    let cursor: string | null = null;
    do {
      const q: string = `/v1/verdicts?image=vf/app&limit=1${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const page = await fetchWith(named, "GET", q, { token: CI_SECRET });
      expect(page.status).toBe(200);
      paged.push(...page.json.verdicts.map((v: any) => v.id));
      cursor = page.json.nextCursor;
    } while (cursor && paged.length < 50);
    expect(paged).toEqual(expected);

    const solo = await fetchWith(named, "GET", "/v1/verdicts?image=vf/app&limit=500", { token: ONE_SECRET });
    expect(solo.json.verdicts.length).toBeGreaterThan(0);
    expect(solo.json.verdicts.every((v: any) => v.policy.id === "tok-a")).toBe(true);

    const explicit = await fetchWith(named, "GET", "/v1/verdicts?policy=tok-b", { token: CI_SECRET });
    expect(explicit.status).toBe(200);
    expect(explicit.json.verdicts.every((v: any) => v.policy.id === "tok-b")).toBe(true);

    const outside = await fetchWith(named, "GET", "/v1/verdicts?policy=tok-c", { token: CI_SECRET });
    expect(outside.status).toBe(403);
    expect(outside.json.error).toEqual({ code: "FORBIDDEN", message: 'this token may not use policy "tok-c"' });
  });
});

describe("token configuration errors → 503 SERVICE_MISCONFIGURED", () => {
  const bad: [string, { ADMIN_TOKENS?: string; CLIENT_TOKENS?: string }, RegExp][] = [
    ["a name without a secret", { CLIENT_TOKENS: "ci=@tok-a" }, /CLIENT_TOKENS entry 1/],
    ["an invalid name", { CLIENT_TOKENS: `${CLIENT},bad name=s3cret-xyz` }, /CLIENT_TOKENS entry 2 has an invalid name/],
    ["a secret with characters a token cannot have", { CLIENT_TOKENS: "p@ss-w0rd-leak" }, /CLIENT_TOKENS entry 1 is not a valid token/],
    ["an empty policy list", { CLIENT_TOKENS: "ci=s3cret-xyz@" }, /invalid policy list/],
    ["an invalid policy ID", { CLIENT_TOKENS: "ci=s3cret-xyz@tok-a|Bad_ID" }, /invalid policy list/],
    ["an empty policy between bars", { CLIENT_TOKENS: "ci=s3cret-xyz@tok-a||tok-b" }, /invalid policy list/],
    ["a restricted admin token", { ADMIN_TOKENS: "ops=s3cret-xyz@tok-a" }, /admin tokens cannot be restricted/],
    ["a name used twice", { ADMIN_TOKENS: "ops=s3cret-xyz", CLIENT_TOKENS: "ops=other-s3cret" }, /"ops" is used more than once/],
    ["a name colliding with a positional one", { CLIENT_TOKENS: "client-2=s3cret-xyz,plain-s3cret" }, /"client-2" is used more than once/],
  ];
  for (const [what, tokens, message] of bad) {
    it(`${what}`, async () => {
      const errors = vi.spyOn(console, "error").mockImplementation(() => {});
      const res = await fetchWith(bindings(tokens), "GET", "/v1/verdicts", { token: "s3cret-xyz" });
      expect(res.status).toBe(503);
      expect(res.json.error.code).toBe("SERVICE_MISCONFIGURED");
      expect(res.json.error.message).toMatch(message);
      // The message names the variable and the entry's position, never a secret.
      for (const secret of ["s3cret-xyz", "other-s3cret", "plain-s3cret", "p@ss-w0rd-leak", "w0rd-leak", CLIENT]) {
        expect(res.text).not.toContain(secret);
        expect(JSON.stringify(errors.mock.calls)).not.toContain(secret);
      }
    });
  }
});

describe("no secret in answers or logs", () => {
  const WRONG = "wrong-token-Zx81vQ";
  const spyAll = () =>
    (["log", "info", "warn", "error", "debug"] as const).map((m) => vi.spyOn(console, m).mockImplementation(() => {}));

  const routes: [string, string, unknown?][] = [
    ["GET", "/v1/policies"],
    ["PUT", "/v1/policies/tok-a", allowAll],
    ["DELETE", "/v1/policies/tok-z"],
    ["GET", "/v1/audit"],
    ["GET", "/v1/verdicts"],
    ["POST", "/v1/decisions", { image: `nginx@${DIGEST_A}`, policy: "tok-a" }],
    ["POST", "/v1/decisions:batch", { images: [`nginx@${DIGEST_A}`], policy: "tok-a" }],
    ["POST", "/v1/admission?policy=tok-a", {}],
    ["POST", "/v1/hooks/distribution?policy=tok-a", { events: [] }],
    ["POST", "/v1/hooks/harbor?policy=tok-a", {}],
  ];

  it("a wrong token, a client token on admin routes, a restricted token elsewhere: never echoed, never logged", async () => {
    const spies = spyAll();
    const given = [WRONG, CI_SECRET, ONE_SECRET, CLIENT, `${CI_SECRET}x`];
    const seen: string[] = [];
    for (const [method, path, body] of routes) {
      for (const token of given) {
        const res = await fetchWith(named, method, path, { token, ...(body !== undefined ? { body } : {}) });
        seen.push(res.text, JSON.stringify([...res.headers]));
      }
      // A header that is not Bearer, carrying the token anyway.
      const ctx = createExecutionContext();
      const res = await worker.fetch(
        new Request(`http://trustgate.test${path}`, { method, headers: { authorization: `Token ${WRONG}` } }),
        named,
        ctx,
      );
      await waitOnExecutionContext(ctx);
      seen.push(await res.text(), JSON.stringify([...res.headers]));
    }
    const logged = JSON.stringify(spies.map((s) => s.mock.calls.map((args) => args.map(String))));
    for (const secret of [...given, OPS_SECRET, ADMIN, "second-client-token"]) {
      for (const text of seen) expect(text).not.toContain(secret);
      expect(logged).not.toContain(secret);
    }
  });
});
