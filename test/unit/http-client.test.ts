// HttpClient's retries (bounded, jittered, inside the timeout budget), its egress refusals, its
// bearer tokens, and the one wording of every failure without an HTTP answer.
import { describe, expect, it } from "vitest";
import { DEFAULT_EGRESS_POLICY, egressFetch } from "../../src/adapters/egress";
import { HttpClient, retryAfterMs, TokenStore, UpstreamError, type RetryOptions } from "../../src/adapters/http-client";
import { RegistryClient } from "../../src/adapters/registry-client";
import { SignatureStore } from "../../src/adapters/signature-store";
import { parseReference } from "../../src/reference";

type Step = number | "down" | { status: number; headers?: Record<string, string> };

function scripted(steps: Step[]) {
  const urls: string[] = [];
  const fetch = async (req: Request) => {
    urls.push(`${req.method} ${req.url}`);
    const step = steps.shift();
    if (step === undefined) throw new Error("no more scripted answers");
    if (step === "down") throw new TypeError("connection refused");
    const s = typeof step === "number" ? { status: step } : step;
    return new Response(s.status === 200 ? "ok" : "err", { status: s.status, headers: s.headers ?? {} });
  };
  return { fetch, urls };
}

function client(fetch: (r: Request) => Promise<Response>, retry: RetryOptions = {}, timeoutMs = 3000) {
  const counted: string[] = [];
  const sleeps: number[] = [];
  let clock = 0;
  const http = new HttpClient({
    fetch,
    timeoutMs,
    counter: { count: (_kind, detail) => counted.push(detail) },
    retry: {
      random: () => 0.5,
      now: () => clock,
      sleep: async (ms) => {
        sleeps.push(ms);
        clock += ms;
      },
      ...retry,
    },
  });
  return { http, counted, sleeps };
}

const get = (http: HttpClient, url = "https://registry.example/v2/") =>
  http.send({ url, method: "GET", scope: "repository:a:pull", host: new URL(url).host });

describe("HttpClient retries", () => {
  it("retries 502, 503, 504 and 429 up to twice, counting each attempt, with jittered exponential backoff", async () => {
    for (const status of [502, 503, 504, 429]) {
      const s = scripted([status, status, 200]);
      const c = client(s.fetch);
      const res = await get(c.http);
      expect(res.status, String(status)).toBe(200);
      expect(c.counted).toHaveLength(3);
      // full jitter with random() = 0.5: 0.5 * 100, then 0.5 * 200
      expect(c.sleeps).toEqual([50, 100]);
    }
  });

  it("gives up after two retries and returns the last answer", async () => {
    const s = scripted([503, 503, 503, 200]);
    const c = client(s.fetch);
    expect((await get(c.http)).status).toBe(503);
    expect(c.counted).toHaveLength(3);
  });

  it("retries network errors, then reports the host unreachable (transient)", async () => {
    const s = scripted(["down", "down", "down"]);
    const c = client(s.fetch);
    const err = await get(c.http).catch((e) => e);
    expect(err).toBeInstanceOf(UpstreamError);
    expect(err).toMatchObject({ code: "REGISTRY_UNREACHABLE", transient: true });
    expect(c.counted).toHaveLength(3);
    const ok = scripted(["down", 200]);
    expect((await get(client(ok.fetch).http)).status).toBe(200);
  });

  it("never retries other 4xx or 500", async () => {
    for (const status of [400, 403, 404, 405, 500]) {
      const s = scripted([status, 200]);
      const c = client(s.fetch);
      expect((await get(c.http)).status).toBe(status);
      expect(c.counted).toHaveLength(1);
    }
  });

  it("honours Retry-After up to the cap, and does not wait longer than that", async () => {
    const s = scripted([{ status: 429, headers: { "retry-after": "1" } }, 200]);
    const c = client(s.fetch);
    expect((await get(c.http)).status).toBe(200);
    expect(c.sleeps).toEqual([1000]);

    const long = scripted([{ status: 503, headers: { "retry-after": "120" } }, 200]);
    const c2 = client(long.fetch);
    expect((await get(c2.http)).status).toBe(503);
    expect(c2.sleeps).toEqual([]);
  });

  it("stays inside the timeout budget", async () => {
    const s = scripted([{ status: 503, headers: { "retry-after": "1" } }, 200]);
    const c = client(s.fetch, {}, 800);
    expect((await get(c.http)).status).toBe(503);
    expect(c.counted).toHaveLength(1);
  });

  it("does no retries when told to", async () => {
    const s = scripted([503, 200]);
    const c = client(s.fetch, { retries: 0 });
    expect((await get(c.http)).status).toBe(503);
  });

  it("reads Retry-After as seconds or an HTTP date", () => {
    expect(retryAfterMs("2", 0)).toBe(2000);
    expect(retryAfterMs(new Date(5000).toUTCString(), 0)).toBe(5000);
    expect(retryAfterMs("soon", 0)).toBeUndefined();
    expect(retryAfterMs(null, 0)).toBeUndefined();
  });
});

describe("HttpClient egress", () => {
  it("turns a refused address into a lasting error, without retrying or connecting", async () => {
    const s = scripted([200, 200, 200]);
    const c = client(egressFetch(s.fetch));
    const err = await get(c.http, "http://169.254.169.254/v2/").catch((e) => e);
    expect(err).toMatchObject({ code: "REGISTRY_UNREACHABLE", transient: false });
    expect(err.message).toMatch(/refused to contact 169\.254\.169\.254: .*metadata/);
    expect(s.urls).toHaveLength(0);
    expect(c.counted).toHaveLength(1);
  });

  it("refuses a token realm on a private address (no connection made)", async () => {
    const s = scripted([{ status: 401, headers: { "www-authenticate": 'Bearer realm="https://10.1.2.3/token",service="r"' } }]);
    const c = client(egressFetch(s.fetch));
    const err = await get(c.http).catch((e) => e);
    expect(err.message).toMatch(/refused to contact 10\.1\.2\.3/);
    expect(s.urls).toEqual(["GET https://registry.example/v2/"]);
  });

  it("refuses a plain-http realm for an https registry", async () => {
    const s = scripted([{ status: 401, headers: { "www-authenticate": 'Bearer realm="http://auth.example/token"' } }]);
    const c = client(egressFetch(s.fetch));
    const err = await get(c.http).catch((e) => e);
    expect(err).toMatchObject({ code: "REGISTRY_AUTH_FAILED" });
    expect(err.message).toMatch(/plain http/);
    expect(s.urls).toHaveLength(1);
  });

  it("allows the loopback lab", async () => {
    const s = scripted([200]);
    const c = client(egressFetch(s.fetch));
    expect((await get(c.http, "http://127.0.0.1:5000/v2/")).status).toBe(200);
  });
});

describe("failures without an HTTP answer read the same", () => {
  // What a port behind the guard can do instead of answering HTTP. The runtime's texts differ; the
  // reasons a policy author reads must not, or reasons would tell closed, slow and other ports apart.
  const failures: Record<string, (req: Request) => Promise<Response>> = {
    refused: async () => {
      throw new TypeError("connect ECONNREFUSED 10.1.2.3:5000");
    },
    // Accepts and never answers: the request's own timeout ends it.
    slow: (req) => new Promise((_, reject) => req.signal.addEventListener("abort", () => reject(req.signal.reason))),
    tls: async () => {
      throw new TypeError("TLS handshake failed: wrong version number");
    },
    "other protocol": async () => {
      throw new TypeError("Parse Error: Expected HTTP/ but got SSH-2.0-OpenSSH_9.6");
    },
    reset: async () => {
      throw new TypeError("Network connection lost.");
    },
  };
  const TIMEOUT_MS = 50;
  const FAST = { sleep: async () => undefined, random: () => 0 };

  async function messages(run: (fetch: (req: Request) => Promise<Response>) => Promise<unknown>) {
    const out: Record<string, unknown> = {};
    for (const [kind, fetch] of Object.entries(failures)) {
      const err = await run(egressFetch(fetch, { ...DEFAULT_EGRESS_POLICY, namedHosts: ["10.1.2.3:5000"] })).catch((e: unknown) => e);
      expect(err, kind).toBeInstanceOf(UpstreamError);
      const { code, message, transient } = err as UpstreamError;
      out[kind] = { code, message, transient };
    }
    return out;
  }

  it("registry reads: refused, slow, TLS, another protocol and a reset connection give one reason", async () => {
    const got = await messages((fetch) => new HttpClient({ fetch, timeoutMs: TIMEOUT_MS, retry: FAST }).send({ url: "http://10.1.2.3:5000/v2/", method: "GET", scope: "repository:a:pull", host: "10.1.2.3:5000" }));
    const one = { code: "REGISTRY_UNREACHABLE", message: "10.1.2.3:5000 could not be reached (no HTTP answer)", transient: true };
    expect(got).toEqual(Object.fromEntries(Object.keys(failures).map((k) => [k, one])));
  });

  it("the same through the registry client's resolution, as a decision reads it", async () => {
    const ref = parseReference("10.1.2.3:5000/app:v1");
    const got: Record<string, unknown> = {};
    for (const [kind, fetch] of Object.entries(failures)) {
      const client = new RegistryClient({ fetch: egressFetch(fetch, { ...DEFAULT_EGRESS_POLICY, namedHosts: ["10.1.2.3:5000"] }), timeoutMs: TIMEOUT_MS, insecureRegistries: ["10.1.2.3:5000"] });
      const r = await client.resolve(ref);
      got[kind] = r.ok ? "resolved" : r.reason.message;
    }
    expect(new Set(Object.values(got))).toEqual(new Set(["10.1.2.3:5000 could not be reached (no HTTP answer)"]));
  });

  it("lookaside reads and the registry ping: one reason per store", async () => {
    const ref = parseReference("10.1.2.3:5000/app:v1");
    const digest = `sha256:${"a".repeat(64)}`;
    const ping = await messages((fetch) => new SignatureStore({ fetch, timeoutMs: TIMEOUT_MS, insecureRegistries: ["10.1.2.3:5000"] }).signatures(ref, digest, undefined));
    expect(new Set(Object.values(ping).map((m) => JSON.stringify(m)))).toEqual(
      new Set([JSON.stringify({ code: "REGISTRY_UNREACHABLE", message: "container registry 10.1.2.3:5000 could not be reached (no HTTP answer)", transient: true })]),
    );
    // The registry answers its ping (no signature extension); the lookaside is the port that fails.
    const lookaside = await messages((failing) =>
      new SignatureStore({
        fetch: (req) => (new URL(req.url).pathname === "/v2/" ? Promise.resolve(new Response("{}", { status: 401 })) : failing(req)),
        timeoutMs: TIMEOUT_MS,
        insecureRegistries: ["10.1.2.3:5000"],
      }).signatures(ref, digest, "http://10.1.2.3:5000/sigs"),
    );
    expect(new Set(Object.values(lookaside).map((m) => JSON.stringify(m)))).toEqual(
      new Set([JSON.stringify({ code: "SIMPLE_LOOKASIDE_UNREACHABLE", message: "lookaside 10.1.2.3:5000 could not be reached (no HTTP answer)", transient: true })]),
    );
  });

  it("a body broken off after the headers reads the same whatever broke it", async () => {
    const broken = (why: unknown) =>
      new Response(
        new ReadableStream({
          start(c) {
            c.enqueue(new Uint8Array([123]));
            c.error(why);
          },
        }),
      );
    const http = new HttpClient({ fetch: async () => new Response("") });
    const read = (why: unknown) => http.readBounded(broken(why), "http://10.1.2.3:5000/v2/x", 1024).catch((e: UpstreamError) => [e.code, e.message, e.transient]);
    const reset = await read(new TypeError("Network connection lost."));
    expect(reset).toEqual(["REGISTRY_UNREACHABLE", "10.1.2.3:5000 broke off the response", true]);
    expect(await read(new DOMException("The operation was aborted due to timeout", "TimeoutError"))).toEqual(reset);
    // The lookaside's own read says the same thing its own way.
    const ref = parseReference("10.1.2.3:5000/app:v1");
    const store = (why: unknown) =>
      new SignatureStore({ fetch: async (req) => (new URL(req.url).pathname === "/v2/" ? new Response("{}", { status: 401 }) : broken(why)) })
        .signatures(ref, `sha256:${"a".repeat(64)}`, "http://10.1.2.3:8080/sigs")
        .catch((e: UpstreamError) => e.message);
    const lookaside = await store(new TypeError("Network connection lost."));
    expect(lookaside).toBe(`reading signature from http://10.1.2.3:8080/sigs/app@sha256=${"a".repeat(64)}/signature-1: the response broke off`);
    expect(await store(new DOMException("The operation was aborted due to timeout", "TimeoutError"))).toBe(lookaside);
  });

  it("keeps the runtime's error as the cause, for logs", async () => {
    const err = (await new HttpClient({ fetch: failures.tls!, timeoutMs: TIMEOUT_MS, retry: { retries: 0 } })
      .send({ url: "https://10.1.2.3:5000/v2/", method: "GET", scope: "s", host: "10.1.2.3:5000" })
      .catch((e: unknown) => e)) as UpstreamError;
    expect(String(err.cause)).toContain("wrong version number");
    expect(err.message).not.toContain("wrong version number");
  });

  it("HTTP answers keep their wording: a status tells what the server said", async () => {
    const ref = parseReference("10.1.2.3:5000/app:v1");
    const answer = (status: number) => new RegistryClient({ fetch: async () => new Response("", { status }), insecureRegistries: ["10.1.2.3:5000"] }).resolve(ref);
    expect(await answer(404)).toMatchObject({ ok: false, reason: { code: "MANIFEST_NOT_FOUND" } });
    expect(await answer(401)).toMatchObject({ ok: false, reason: { code: "REGISTRY_AUTH_FAILED", message: expect.stringContaining("HTTP 401") } });
  });
});

/**
 * A registry at `host` whose token service (https://auth.<host>/token) issues t<n>:<scope>, valid
 * for `ttl` seconds (by the test's clock) unless revoked; repositories are /v2/<name>/...
 */
function tokenRegistry(host: string, ttl = 300, clock = { now: 0 }) {
  const seen: string[] = [];
  const issued = new Map<string, number>();
  const revoked = new Set<string>();
  const fetch = async (req: Request) => {
    const url = new URL(req.url);
    const auth = req.headers.get("authorization");
    seen.push(`${req.method} ${url.host}${url.pathname}${url.search ? `?scope=${url.searchParams.get("scope")}` : ""} ${auth ?? "-"}`);
    if (url.host === `auth.${host}`) {
      const token = `t${issued.size + 1}:${url.searchParams.get("scope")}`;
      issued.set(token, clock.now);
      return Response.json({ token, expires_in: ttl });
    }
    const scope = `repository:${url.pathname.split("/")[2]}:pull`;
    const token = auth?.startsWith("Bearer ") ? auth.slice(7) : "";
    const at = issued.get(token);
    if (at !== undefined && token.endsWith(`:${scope}`) && !revoked.has(token) && clock.now < at + ttl * 1000) return new Response("ok");
    return new Response("denied", {
      status: 401,
      headers: { "www-authenticate": `Bearer realm="https://auth.${host}/token",service="${host}",scope="${scope}"` },
    });
  };
  return { fetch, seen, issued, revoked, clock };
}

const pull = (http: HttpClient, host: string, path: string, credentials?: { username: string; password: string }) =>
  http.send({
    url: `https://${host}${path}`,
    method: "GET",
    scope: `repository:${path.split("/")[2]}:pull`,
    host,
    ...(credentials ? { credentials } : {}),
  });

describe("HttpClient bearer tokens", () => {
  it("shares a token between the isolate's clients: a second request for the same scope fetches none", async () => {
    const reg = tokenRegistry("shared.example");
    // Two clients as two kinds make them (the digest resolver's, a verifier's), default store.
    const first = new HttpClient({ fetch: reg.fetch });
    const second = new HttpClient({ fetch: reg.fetch });
    expect((await pull(first, "shared.example", "/v2/app/manifests/v1")).status).toBe(200);
    expect((await pull(second, "shared.example", "/v2/app/blobs/sha256:1")).status).toBe(200);
    expect(reg.seen).toEqual([
      "GET shared.example/v2/app/manifests/v1 -",
      "GET auth.shared.example/token?scope=repository:app:pull -",
      "GET shared.example/v2/app/manifests/v1 Bearer t1:repository:app:pull",
      "GET shared.example/v2/app/blobs/sha256:1 Bearer t1:repository:app:pull",
    ]);
  });

  it("sends a host that challenged before a token with the first request for a new scope", async () => {
    const reg = tokenRegistry("known.example");
    const http = new HttpClient({ fetch: reg.fetch, tokens: new TokenStore() });
    await pull(http, "known.example", "/v2/app/manifests/v1");
    reg.seen.length = 0;
    expect((await pull(http, "known.example", "/v2/other/manifests/v1")).status).toBe(200);
    expect(reg.seen).toEqual([
      "GET auth.known.example/token?scope=repository:other:pull -",
      "GET known.example/v2/other/manifests/v1 Bearer t2:repository:other:pull",
    ]);
  });

  it("has concurrent requests for one scope wait for a single token fetch", async () => {
    const reg = tokenRegistry("busy.example");
    const http = new HttpClient({ fetch: reg.fetch, tokens: new TokenStore() });
    await pull(http, "busy.example", "/v2/warmup/manifests/v1");
    const answers = await Promise.all(["root", "timestamp", "snapshot", "targets"].map((f) => pull(http, "busy.example", `/v2/app/${f}.json`)));
    expect(answers.map((r) => r.status)).toEqual([200, 200, 200, 200]);
    expect([...reg.issued.keys()]).toEqual(["t1:repository:warmup:pull", "t2:repository:app:pull"]);
  });

  it("fetches a token again past its lifetime, and replaces a refused one once", async () => {
    const clock = { now: 0 };
    const reg = tokenRegistry("expiring.example", 60, clock);
    const http = new HttpClient({ fetch: reg.fetch, tokens: new TokenStore({ now: () => clock.now }) });
    await pull(http, "expiring.example", "/v2/app/manifests/v1");
    clock.now = 50_000;
    await pull(http, "expiring.example", "/v2/app/manifests/v1");
    expect(reg.issued.size).toBe(1);
    // Kept 5 s less than its lifetime: not sent when the server may already refuse it.
    clock.now = 56_000;
    expect((await pull(http, "expiring.example", "/v2/app/manifests/v1")).status).toBe(200);
    expect(reg.issued.size).toBe(2);
    reg.revoked.add("t2:repository:app:pull");
    reg.seen.length = 0;
    expect((await pull(http, "expiring.example", "/v2/app/manifests/v1")).status).toBe(200);
    expect(reg.seen).toEqual([
      "GET expiring.example/v2/app/manifests/v1 Bearer t2:repository:app:pull",
      "GET auth.expiring.example/token?scope=repository:app:pull -",
      "GET expiring.example/v2/app/manifests/v1 Bearer t3:repository:app:pull",
    ]);
  });

  it("keeps tokens apart by credentials", async () => {
    const reg = tokenRegistry("creds.example");
    const http = new HttpClient({ fetch: reg.fetch, tokens: new TokenStore() });
    await pull(http, "creds.example", "/v2/app/manifests/v1");
    reg.seen.length = 0;
    await pull(http, "creds.example", "/v2/app/manifests/v1", { username: "ci", password: "s3cret" });
    expect(reg.seen).toEqual([
      `GET auth.creds.example/token?scope=repository:app:pull Basic ${btoa("ci:s3cret")}`,
      "GET creds.example/v2/app/manifests/v1 Bearer t2:repository:app:pull",
    ]);
  });

  it("sends the request bare when the remembered token service fails, and lets the challenge decide", async () => {
    const reg = tokenRegistry("flaky.example");
    const shared = new TokenStore();
    await pull(new HttpClient({ fetch: reg.fetch, tokens: shared }), "flaky.example", "/v2/app/manifests/v1");
    // Now the token service is down.
    const flaky = async (req: Request) => {
      if (new URL(req.url).host === "auth.flaky.example") throw new TypeError("connection refused");
      return reg.fetch(req);
    };
    const b = new HttpClient({ fetch: flaky, tokens: shared, retry: { retries: 0 } });
    reg.seen.length = 0;
    const err = await pull(b, "flaky.example", "/v2/other/manifests/v1").catch((e) => e);
    expect(err).toMatchObject({ code: "REGISTRY_UNREACHABLE" });
    expect(reg.seen).toEqual(["GET flaky.example/v2/other/manifests/v1 -"]);
  });
});
