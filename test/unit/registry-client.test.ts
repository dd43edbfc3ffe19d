// The registry client's protocol handling, against scripted registry answers (the fetch port).
import { describe, expect, it } from "vitest";
import { RegistryClient, isLoopbackHost, parseChallenge, registryBaseUrl } from "../../src/adapters/registry-client";
import { cachedDigestResolver } from "../../src/adapters/cached-digest-resolver";
import { memoCache } from "../../src/adapters/memo-cache";
import { egressFetch } from "../../src/adapters/egress";
import { parseReference } from "../../src/reference";
import { sha256Hex } from "../../src/encoding";
import type { Cache, HttpFetch } from "../../src/ports";

const manifest = new TextEncoder().encode('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}');
const manifestDigest = async () => `sha256:${await sha256Hex(manifest)}`;

interface Seen {
  method: string;
  url: string;
  auth: string | null;
  accept: string | null;
}

function scripted(handler: (req: Request) => Response | Promise<Response>): { fetch: HttpFetch; seen: Seen[] } {
  const seen: Seen[] = [];
  return {
    seen,
    fetch: async (req) => {
      seen.push({ method: req.method, url: req.url, auth: req.headers.get("authorization"), accept: req.headers.get("accept") });
      return handler(req);
    },
  };
}

describe("registry endpoints", () => {
  it.each([
    ["docker.io", [], "https://registry-1.docker.io"],
    ["127.0.0.1:5000", [], "http://127.0.0.1:5000"],
    ["127.8.9.10", [], "http://127.8.9.10"],
    ["localhost:5000", [], "http://localhost:5000"],
    ["[::1]:5000", [], "http://[::1]:5000"],
    ["registry.example.com", [], "https://registry.example.com"],
    ["registry.example.com:5000", ["registry.example.com:5000"], "http://registry.example.com:5000"],
    ["127.0.0.1.evil.com", [], "https://127.0.0.1.evil.com"],
    ["localhost.evil.com", [], "https://localhost.evil.com"],
  ])("%s → %s", (registry, insecure, base) => {
    expect(registryBaseUrl(registry, insecure)).toBe(base);
  });

  it("treats only real loopback hosts as loopback", () => {
    expect(isLoopbackHost("127.0.0.1:5000")).toBe(true);
    expect(isLoopbackHost("128.0.0.1")).toBe(false);
    expect(isLoopbackHost("[::2]:5000")).toBe(false);
  });

  it("parses bearer challenges", () => {
    expect(
      parseChallenge('Bearer realm="https://auth.example.com/token",service="registry.example.com",scope="repository:a/b:pull"'),
    ).toEqual({
      scheme: "bearer",
      params: { realm: "https://auth.example.com/token", service: "registry.example.com", scope: "repository:a/b:pull" },
    });
    expect(parseChallenge(null)).toBeUndefined();
  });
});

describe("tag → digest", () => {
  it("takes Docker-Content-Digest from a HEAD, asking for OCI and Docker manifests", async () => {
    const digest = await manifestDigest();
    const reg = scripted(() => new Response(null, { status: 200, headers: { "docker-content-digest": digest } }));
    const client = new RegistryClient({ fetch: reg.fetch });
    expect(await client.resolve(parseReference("127.0.0.1:5000/demo/app:v1"))).toEqual({ ok: true, digest, cached: false });
    expect(reg.seen).toHaveLength(1);
    expect(reg.seen[0]).toMatchObject({ method: "HEAD", url: "http://127.0.0.1:5000/v2/demo/app/manifests/v1" });
    expect(reg.seen[0]!.accept).toContain("application/vnd.oci.image.manifest.v1+json");
    expect(reg.seen[0]!.accept).toContain("application/vnd.docker.distribution.manifest.list.v2+json");
  });

  it("falls back to GET and hashes the body when HEAD gives no digest", async () => {
    const reg = scripted((req) =>
      req.method === "HEAD" ? new Response(null, { status: 200 }) : new Response(manifest, { status: 200 }),
    );
    const res = await new RegistryClient({ fetch: reg.fetch }).resolve(parseReference("127.0.0.1:5000/demo/app:v1"));
    expect(res).toEqual({ ok: true, digest: await manifestDigest(), cached: false });
    expect(reg.seen.map((s) => s.method)).toEqual(["HEAD", "GET"]);
  });

  it("refuses a body whose hash differs from Docker-Content-Digest", async () => {
    const reg = scripted((req) =>
      req.method === "HEAD"
        ? new Response(null, { status: 405 })
        : new Response(manifest, { headers: { "docker-content-digest": `sha256:${"0".repeat(64)}` } }),
    );
    const res = await new RegistryClient({ fetch: reg.fetch }).resolve(parseReference("127.0.0.1:5000/demo/app:v1"));
    expect(res).toMatchObject({ ok: false, reason: { code: "REGISTRY_DIGEST_MISMATCH" } });
  });

  it("does the anonymous bearer-token flow and reuses the token", async () => {
    const digest = await manifestDigest();
    const reg = scripted((req) => {
      const url = new URL(req.url);
      if (url.pathname === "/token") {
        expect(url.searchParams.get("service")).toBe("reg.test");
        expect(url.searchParams.get("scope")).toBe("repository:demo/app:pull");
        return Response.json({ token: "t0k3n", expires_in: 300 });
      }
      if (req.headers.get("authorization") !== "Bearer t0k3n") {
        return new Response("{}", {
          status: 401,
          headers: { "www-authenticate": 'Bearer realm="http://127.0.0.1:5001/token",service="reg.test",scope="repository:demo/app:pull"' },
        });
      }
      return new Response(null, { headers: { "docker-content-digest": digest } });
    });
    const client = new RegistryClient({ fetch: reg.fetch });
    const ref = parseReference("127.0.0.1:5000/demo/app:v1");
    expect(await client.resolve(ref)).toMatchObject({ ok: true, digest });
    expect(await client.resolve(ref)).toMatchObject({ ok: true, digest });
    expect(reg.seen.map((s) => `${s.method} ${new URL(s.url).pathname} ${s.auth ?? "-"}`)).toEqual([
      "HEAD /v2/demo/app/manifests/v1 -",
      "GET /token -",
      "HEAD /v2/demo/app/manifests/v1 Bearer t0k3n",
      "HEAD /v2/demo/app/manifests/v1 Bearer t0k3n",
    ]);
  });

  it("sends configured credentials to the token service", async () => {
    const reg = scripted((req) => {
      const url = new URL(req.url);
      if (url.pathname === "/token") {
        return req.headers.get("authorization") === `Basic ${btoa("ci:s3cret")}`
          ? Response.json({ access_token: "granted" })
          : new Response("denied", { status: 401 });
      }
      if (req.headers.get("authorization") === "Bearer granted") {
        return new Response(null, { headers: { "docker-content-digest": `sha256:${"1".repeat(64)}` } });
      }
      return new Response(null, { status: 401, headers: { "www-authenticate": 'Bearer realm="http://127.0.0.1:5001/token"' } });
    });
    const withCreds = new RegistryClient({ fetch: reg.fetch, credentials: { "127.0.0.1:5000": { username: "ci", password: "s3cret" } } });
    expect(await withCreds.resolve(parseReference("127.0.0.1:5000/private/app:v1"))).toMatchObject({ ok: true });
    const without = new RegistryClient({ fetch: reg.fetch });
    expect(await without.resolve(parseReference("127.0.0.1:5000/private/app:v1"))).toMatchObject({
      ok: false,
      transient: false,
      reason: { code: "REGISTRY_AUTH_FAILED" },
    });
  });

  it.each([
    [404, "MANIFEST_NOT_FOUND", false],
    [401, "REGISTRY_AUTH_FAILED", false],
    [500, "REGISTRY_UNREACHABLE", true],
    [503, "REGISTRY_UNREACHABLE", true],
    [418, "REGISTRY_BAD_RESPONSE", false],
  ])("HTTP %i → %s (transient: %s)", async (status, code, transient) => {
    const reg = scripted(() => new Response(null, { status }));
    const res = await new RegistryClient({ fetch: reg.fetch }).resolve(parseReference("127.0.0.1:5000/demo/app:v1"));
    expect(res).toMatchObject({ ok: false, transient, reason: { code } });
  });

  it("reports an unreachable registry as transient", async () => {
    const res = await new RegistryClient({
      fetch: async () => {
        throw new TypeError("connection refused");
      },
    }).resolve(parseReference("127.0.0.1:5000/demo/app:v1"));
    expect(res).toMatchObject({ ok: false, transient: true, reason: { code: "REGISTRY_UNREACHABLE" } });
  });

  it("refuses a manifest larger than the cap", async () => {
    const reg = scripted((req) =>
      req.method === "HEAD" ? new Response(null, { status: 405 }) : new Response(new Uint8Array(2048)),
    );
    const res = await new RegistryClient({ fetch: reg.fetch, maxManifestBytes: 1024 }).resolve(
      parseReference("127.0.0.1:5000/demo/app:v1"),
    );
    expect(res).toMatchObject({ ok: false, reason: { code: "REGISTRY_BAD_RESPONSE" } });
  });

  it("never asks the registry for a digest reference", async () => {
    const reg = scripted(() => new Response(null, { status: 500 }));
    const digest = `sha256:${"c".repeat(64)}`;
    expect(await new RegistryClient({ fetch: reg.fetch }).resolve(parseReference(`127.0.0.1:5000/demo/app@${digest}`))).toEqual({
      ok: true,
      digest,
      cached: false,
    });
    expect(reg.seen).toHaveLength(0);
  });
});

describe("tag cache", () => {
  function memoryCache(): Cache & { store: Map<string, string> } {
    const store = new Map<string, string>();
    return { store, get: async (k) => store.get(k) ?? null, put: async (k, v) => void store.set(k, v) };
  }

  it("answers from the cache within the TTL, asks again after it", async () => {
    let now = 1_000_000;
    let calls = 0;
    const inner = {
      resolve: async () => ({ ok: true as const, digest: `sha256:${String(++calls).repeat(64)}`, cached: false }),
    };
    const resolver = cachedDigestResolver(inner, memoryCache(), 10, { now: () => new Date(now) });
    const ref = parseReference("127.0.0.1:5000/demo/app:v1");
    expect(await resolver.resolve(ref)).toMatchObject({ digest: `sha256:${"1".repeat(64)}`, cached: false });
    now += 9_000;
    expect(await resolver.resolve(ref)).toMatchObject({ digest: `sha256:${"1".repeat(64)}`, cached: true });
    now += 2_000;
    expect(await resolver.resolve(ref)).toMatchObject({ digest: `sha256:${"2".repeat(64)}`, cached: false });
  });

  it("says when the answer will come from the registry (onUpstream), and only then", async () => {
    let now = 1_000_000;
    const inner = { resolve: async () => ({ ok: true as const, digest: `sha256:${"1".repeat(64)}`, cached: false }) };
    const resolver = cachedDigestResolver(inner, memoryCache(), 10, { now: () => new Date(now) });
    const ref = parseReference("127.0.0.1:5000/demo/app:v1");
    let upstream = 0;
    const onUpstream = () => void upstream++;
    await resolver.resolve(ref, [], undefined, onUpstream);
    expect(upstream).toBe(1);
    now += 5_000;
    expect(await resolver.resolve(ref, [], undefined, onUpstream)).toMatchObject({ cached: true });
    expect(upstream).toBe(1);
    // Without a tag cache every answer is the registry's.
    await cachedDigestResolver(inner, memoryCache(), 0, { now: () => new Date(now) }).resolve(ref, [], undefined, onUpstream);
    expect(upstream).toBe(2);
  });

  it("asks the cache for the TTL it means; raising it to KV's minimum is the KV adapter's", async () => {
    const asked: number[] = [];
    const cache: Cache = { get: async () => null, put: async (_k, _v, o) => void asked.push(o.ttlSeconds) };
    const inner = { resolve: async () => ({ ok: true as const, digest: `sha256:${"1".repeat(64)}`, cached: false }) };
    await cachedDigestResolver(inner, cache, 10, { now: () => new Date(1_000_000) }).resolve(parseReference("127.0.0.1:5000/demo/app:v1"));
    expect(asked).toEqual([10]);
  });

  it("an entry that is not a stored answer is a miss: asked afresh and overwritten, never an error", async () => {
    const now = 1_000_000;
    const key = "tag:v1:127.0.0.1:5000/demo/app:v1";
    const fresh = `sha256:${"a".repeat(64)}`;
    const garbage = [
      '{"digest":"sha256:' + "b".repeat(20), // truncated
      "not json",
      "null",
      "[]",
      '"sha256:' + "b".repeat(64) + '"',
      JSON.stringify({ digest: 42, at: now }),
      JSON.stringify({ digest: "latest", at: now }),
      JSON.stringify({ digest: `sha256:${"b".repeat(64)}` }),
      JSON.stringify({ digest: `sha256:${"b".repeat(64)}`, at: "now" }),
    ];
    for (const entry of garbage) {
      const cache = memoryCache();
      cache.store.set(key, entry);
      // Behind the isolate memory too, as the Worker wires it: the fresh answer replaces the garbage there.
      const memo = memoCache(cache, { maxEntries: 8, readTtlSeconds: 60, clock: { now: () => new Date(now) } });
      let calls = 0;
      const inner = { resolve: async () => (calls++, { ok: true as const, digest: fresh, cached: false }) };
      const resolver = cachedDigestResolver(inner, memo, 60, { now: () => new Date(now) });
      const ref = parseReference("127.0.0.1:5000/demo/app:v1");
      expect(await resolver.resolve(ref), entry).toEqual({ ok: true, digest: fresh, cached: false });
      expect(JSON.parse(cache.store.get(key)!), entry).toEqual({ digest: fresh, at: now });
      expect(await resolver.resolve(ref), entry).toEqual({ ok: true, digest: fresh, cached: true });
      expect(calls, entry).toBe(1);
    }
  });

  it("never caches a failure, and a TTL of 0 turns caching off", async () => {
    const cache = memoryCache();
    const failing = {
      resolve: async () => ({ ok: false as const, transient: true, reason: { code: "REGISTRY_UNREACHABLE" as const, message: "down" } }),
    };
    await cachedDigestResolver(failing, cache, 60, { now: () => new Date() }).resolve(parseReference("127.0.0.1:5000/a/b:v1"));
    expect(cache.store.size).toBe(0);
    const inner = { resolve: async () => ({ ok: true as const, digest: `sha256:${"1".repeat(64)}`, cached: false }) };
    await cachedDigestResolver(inner, cache, 0, { now: () => new Date() }).resolve(parseReference("127.0.0.1:5000/a/b:v1"));
    expect(cache.store.size).toBe(0);
  });
});

describe("a registry the decision's rule names", () => {
  it("is contacted through the guard for those names only, with one client (and token) per set of names", async () => {
    const digest = await manifestDigest();
    let tokens = 0;
    const reg = scripted((req) => {
      const url = new URL(req.url);
      if (url.pathname === "/token") return (tokens++, Response.json({ token: "t" }));
      if (req.headers.get("authorization") !== "Bearer t") {
        return new Response(null, { status: 401, headers: { "www-authenticate": 'Bearer realm="https://10.0.0.5:5000/token",service="r"' } });
      }
      return new Response(null, { status: 200, headers: { "docker-content-digest": digest } });
    });
    const client = new RegistryClient({ fetch: egressFetch(reg.fetch) });
    const ref = parseReference("10.0.0.5:5000/app/web:v1");
    const refused = await client.resolve(ref);
    expect(refused).toMatchObject({ ok: false, transient: false, reason: { code: "REGISTRY_UNREACHABLE" } });
    expect(refused.ok ? "" : refused.reason.message).toMatch(/^refused to contact 10\.0\.0\.5:5000: it is a private address/);
    expect(reg.seen).toEqual([]);
    // Through the resolver in front of it, as the Worker wires it.
    const store = new Map<string, string>();
    const cache: Cache = { get: async (k) => store.get(k) ?? null, put: async (k, v) => void store.set(k, v) };
    const cached = cachedDigestResolver(client, cache, 60, { now: () => new Date() });
    expect(await cached.resolve(ref, ["10.0.0.5:5000"])).toEqual({ ok: true, digest, cached: false });
    expect(await client.resolve(parseReference("10.0.0.5:5000/app/web:v2"), ["10.0.0.5:5000"])).toEqual({ ok: true, digest, cached: false });
    expect(tokens).toBe(1);
    expect(reg.seen.every((s) => new URL(s.url).host === "10.0.0.5:5000")).toBe(true);
    // Another port of the same host is not named.
    expect(await client.resolve(parseReference("10.0.0.5:5001/app/web:v1"), ["10.0.0.5:5000"])).toMatchObject({ ok: false, transient: false });
  });
});
