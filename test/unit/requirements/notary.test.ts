// The notary requirement kind, decided through decide() on trust data made by the real notary
// client (test/vectors/notary-v1), served from memory through the fetch port.
import { describe, expect, it } from "vitest";
import { decide, type DecideDeps } from "../../../src/decide";
import { createRequirementKinds } from "../../../src/policy/requirement-kinds";
import type { Cache, DigestResolution } from "../../../src/ports";
import { parseReference } from "../../../src/reference";
import { notaryKind } from "../../../src/requirements/notary";
import { allowKind } from "../../../src/requirements/static";

const files = import.meta.glob("../../vectors/notary-v1/**/*.json", { query: "?raw", import: "default", eager: true }) as Record<string, string>;

interface Case {
  gun: string;
  now: string;
  expiredNow: string;
  pinnedRoot: { publicKeyPem: string; certificatePem: string; tufKeyId: string };
  signers: Record<string, { publicKeyPem?: string }>;
  tags: Record<string, { digest: string }>;
}

function vector(name: string): { meta: Case; file(path: string): string | undefined } {
  const prefix = `../../vectors/notary-v1/${name}/`;
  const meta = JSON.parse(files[`${prefix}case.json`]!) as Case;
  return { meta, file: (path) => files[prefix + path] };
}

const SERVER = "http://127.0.0.1:4443";

/** A trust server in memory: serves one vector's files; can be switched off or to another vector. */
function trustServer(name: string) {
  let current = vector(name);
  let up = true;
  const fetched: string[] = [];
  return {
    fetched,
    use(other: string) {
      current = vector(other);
    },
    down() {
      up = false;
    },
    fetch: async (req: Request): Promise<Response> => {
      if (!up) throw new TypeError("connect ECONNREFUSED 127.0.0.1:4443");
      const url = new URL(req.url);
      const m = /^\/v2\/(.+)\/_trust\/tuf\/(.+)$/.exec(url.pathname);
      fetched.push(m?.[2] ?? url.pathname);
      const body = m && m[1] === current.meta.gun ? current.file(m[2]!) : undefined;
      return body === undefined ? new Response("not found", { status: 404 }) : new Response(body);
    },
  };
}

function memoryCache(): Cache {
  const store = new Map<string, string>();
  return { get: async (k) => store.get(k) ?? null, put: async (k, v) => void store.set(k, v) };
}

function setup(server: ReturnType<typeof trustServer>, at: string, registryDigest: string, trustCache = memoryCache()) {
  const work = { fetch: 0, verify: 0 };
  let now = new Date(at);
  const clock = { now: () => now };
  const deps: DecideDeps = {
    kinds: createRequirementKinds([allowKind, notaryKind]),
    digests: { resolve: async (): Promise<DigestResolution> => ({ ok: true, digest: registryDigest, cached: false }) },
    verdictCache: memoryCache(),
    verdictTtlSeconds: 300,
    clock,
    verifier: {
      fetch: server.fetch,
      trustCache,
      clock,
      counter: { count: (kind) => void work[kind]++ },
      settings: { upstreamTimeoutMs: 1000, trustRecheckSeconds: 60, credentials: {} },
    },
  };
  return {
    deps,
    work,
    trustCache,
    advance(seconds: number) {
      now = new Date(now.getTime() + seconds * 1000);
    },
  };
}

let revision = 0;
function run(deps: DecideDeps, image: string, requirement: Record<string, unknown>) {
  const policy = { mode: "enforce" as const, patternStyle: "native" as const, rules: [{ pattern: "*", require: [{ type: "notary", server: SERVER, ...requirement }] }] };
  return decide({ image, reference: parseReference(image), context: {} }, { id: "p", revision: `r${revision++}`, policy }, deps);
}

const V1 = (name: string) => vector(name).meta.tags.v1!.digest;
const IMAGE = "127.0.0.1:5000/demo/app";

describe("notary requirement on real notary trust data", () => {
  it("allows a tag signed in targets/releases under the pinned root key", async () => {
    const c = vector("signed-releases").meta;
    const { deps } = setup(trustServer("signed-releases"), c.now, V1("signed-releases"));
    const v = await run(deps, `${IMAGE}:v1`, { rootKeys: [c.pinnedRoot.publicKeyPem] });
    expect(v).toMatchObject({ decision: "allow", digest: c.tags.v1!.digest });
    expect(v.reasons[0]).toMatchObject({ code: "NOTARY_SIGNED", gun: c.gun });
    expect(v.reasons[0]!.message).toContain("targets/releases");
  });

  it("accepts the root pinned by its certificate and by its TUF key ID too", async () => {
    const c = vector("signed-releases").meta;
    for (const pin of [c.pinnedRoot.certificatePem, c.pinnedRoot.tufKeyId]) {
      const { deps } = setup(trustServer("signed-releases"), c.now, V1("signed-releases"));
      expect((await run(deps, `${IMAGE}:v1`, { rootKeys: [pin] })).decision).toBe("allow");
    }
  });

  it("denies an unsigned tag with Portieris's words", async () => {
    const c = vector("signed-releases").meta;
    const { deps } = setup(trustServer("signed-releases"), c.now, V1("signed-releases"));
    const v = await run(deps, `${IMAGE}:unsigned`, { rootKeys: [c.pinnedRoot.publicKeyPem] });
    expect(v.decision).toBe("deny");
    expect(v.reasons[0]).toMatchObject({
      code: "NOTARY_NO_TRUST_DATA",
      message: "failed to get content trust information: No valid trust data for unsigned",
    });
  });

  it("denies a tag the registry now serves with another digest (re-pushed after signing)", async () => {
    const c = vector("signed-releases").meta;
    const { deps } = setup(trustServer("signed-releases"), c.now, `sha256:${"e".repeat(64)}`);
    const v = await run(deps, `${IMAGE}:v1`, { rootKeys: [c.pinnedRoot.publicKeyPem] });
    expect(v.decision).toBe("deny");
    expect(v.reasons[0]).toMatchObject({ code: "NOTARY_DIGEST_MISMATCH", signed: c.tags.v1!.digest });
  });

  it("allows a digest reference that any release role signs", async () => {
    const c = vector("signed-releases").meta;
    const { deps } = setup(trustServer("signed-releases"), c.now, c.tags.v2!.digest);
    expect((await run(deps, `${IMAGE}@${c.tags.v2!.digest}`, { rootKeys: [c.pinnedRoot.publicKeyPem] })).decision).toBe("allow");
    const other = `sha256:${"d".repeat(64)}`;
    const { deps: d2 } = setup(trustServer("signed-releases"), c.now, other);
    expect((await run(d2, `${IMAGE}@${other}`, { rootKeys: [c.pinnedRoot.publicKeyPem] })).reasons[0]!.code).toBe("NOTARY_NO_TRUST_DATA");
  });

  it("falls back to the targets role when there is no targets/releases", async () => {
    const c = vector("no-delegations").meta;
    const { deps } = setup(trustServer("no-delegations"), c.now, V1("no-delegations"));
    expect((await run(deps, `${IMAGE}:v1`, { rootKeys: [c.pinnedRoot.publicKeyPem] })).decision).toBe("allow");
  });

  it("requires named signers: alice signed → allow; alice delegated but silent → no signature found for role alice", async () => {
    const signed = vector("alice-signed").meta;
    const a = setup(trustServer("alice-signed"), signed.now, V1("alice-signed"));
    const ok = await run(a.deps, `${IMAGE}:v1`, { rootKeys: [signed.pinnedRoot.publicKeyPem], signers: [{ name: "alice" }] });
    expect(ok.decision).toBe("allow");

    const silent = vector("alice-missing").meta;
    const b = setup(trustServer("alice-missing"), silent.now, V1("alice-missing"));
    const no = await run(b.deps, `${IMAGE}:v1`, { rootKeys: [silent.pinnedRoot.publicKeyPem], signers: [{ name: "alice" }, { name: "targets/bob" }] });
    expect(no.decision).toBe("deny");
    expect(no.reasons).toEqual([
      expect.objectContaining({ code: "NOTARY_SIGNER_MISSING", message: "no signature found for role alice", signer: "alice" }),
    ]);
    // a threshold of one of the two is met by bob
    const one = await run(b.deps, `${IMAGE}:v1`, {
      rootKeys: [silent.pinnedRoot.publicKeyPem],
      signers: [{ name: "alice" }, { name: "bob" }],
      signerThreshold: 1,
    });
    expect(one.decision).toBe("allow");
  });

  it("counts a role once however it is named: bob and targets/bob are one signer", async () => {
    // alice-missing: targets/bob signed v1, targets/alice did not.
    const c = vector("alice-missing").meta;
    const { deps } = setup(trustServer("alice-missing"), c.now, V1("alice-missing"));
    const rootKeys = [c.pinnedRoot.publicKeyPem];
    const twice = await run(deps, `${IMAGE}:v1`, { rootKeys, signers: [{ name: "bob" }, { name: "targets/bob" }, { name: "alice" }], signerThreshold: 2 });
    expect(twice.decision).toBe("deny");
    expect(twice.reasons).toEqual([expect.objectContaining({ code: "NOTARY_SIGNER_MISSING", signer: "alice" })]);
    // Named twice and nothing else: one signer, who signed.
    const alone = await run(deps, `${IMAGE}:v1`, { rootKeys, signers: [{ name: "bob" }, { name: "targets/bob" }] });
    expect(alone.decision).toBe("allow");
    expect(alone.reasons[0]!.message).toContain("by 1 of 1 required signers");
    // Named twice and silent: one reason for the one role.
    const silent = await run(deps, `${IMAGE}:v1`, { rootKeys, signers: [{ name: "alice" }, { name: "targets/alice" }] });
    expect(silent.reasons).toEqual([expect.objectContaining({ code: "NOTARY_SIGNER_MISSING", signer: "alice" })]);
  });

  it("checks a Portieris signer secret's key against the role's keys", async () => {
    const c = vector("alice-signed").meta;
    const right = c.signers.alice!.publicKeyPem!;
    const wrong = vector("alice-missing").meta.signers.alice!.publicKeyPem!;
    const { deps } = setup(trustServer("alice-signed"), c.now, V1("alice-signed"));
    expect((await run(deps, `${IMAGE}:v1`, { signers: [{ name: "alice", keys: [right] }] })).decision).toBe("allow");
    const v = await run(deps, `${IMAGE}:v1`, { signers: [{ name: "alice", keys: [wrong] }] });
    expect(v.decision).toBe("deny");
    expect(v.reasons[0]).toMatchObject({ code: "NOTARY_SIGNER_MISSING", why: "targets/alice does not list the signer's key" });
  });

  it("denies when the pinned root key is not the repository's", async () => {
    const c = vector("signed-releases").meta;
    const { deps } = setup(trustServer("signed-releases"), c.now, V1("signed-releases"));
    const v = await run(deps, `${IMAGE}:v1`, { rootKeys: [vector("rsa-root").meta.pinnedRoot.publicKeyPem] });
    expect(v.decision).toBe("deny");
    expect(v.reasons[0]!.code).toBe("NOTARY_ROOT_NOT_TRUSTED");
  });

  it("denies expired trust data", async () => {
    const c = vector("signed-releases").meta;
    const { deps } = setup(trustServer("signed-releases"), c.expiredNow, V1("signed-releases"));
    const v = await run(deps, `${IMAGE}:v1`, { rootKeys: [c.pinnedRoot.publicKeyPem] });
    expect(v.reasons[0]).toMatchObject({ code: "NOTARY_EXPIRED", role: "timestamp" });
  });

  it("verifies RSA roots and Ed25519 server keys", async () => {
    for (const name of ["rsa-root", "ed25519-server-keys", "ecdsa-root"]) {
      const c = vector(name).meta;
      const { deps } = setup(trustServer(name), c.now, V1(name));
      const v = await run(deps, `${IMAGE}:v1`, { rootKeys: [c.pinnedRoot.publicKeyPem] });
      expect(v.decision, `${name}: ${JSON.stringify(v.reasons)}`).toBe("allow");
    }
  });

  it("trusts on first use, then refuses a root that does not rotate from the pinned one", async () => {
    const c = vector("signed-releases").meta;
    const server = trustServer("signed-releases");
    const { deps, advance } = setup(server, c.now, V1("signed-releases"));
    expect((await run(deps, `${IMAGE}:v1`, {})).decision).toBe("allow");
    // Another repository's trust data (another root key) now served for the same GUN.
    server.use("alice-signed");
    advance(120);
    const v = await run(deps, `${IMAGE}:v1`, {});
    expect(v.decision).toBe("deny");
    expect(v.reasons[0]!.code).toMatch(/NOTARY_(ROOT_NOT_TRUSTED|THRESHOLD_NOT_MET|BAD_SIGNATURE)/);
  });

  it("follows a valid root rotation from the first trusted root", async () => {
    const c = vector("rotated-root").meta;
    const trustCache = memoryCache();
    // The state a first use of version 1 would have left behind.
    const root1 = vector("rotated-root").file("1.root.json")!;
    await trustCache.put(
      `notary:state:v1:${SERVER}|${c.gun}`,
      JSON.stringify({ versions: { root: 1 }, root: btoa(root1) }),
      { ttlSeconds: 60 },
    );
    const server = trustServer("rotated-root");
    const { deps } = setup(server, c.now, V1("rotated-root"), trustCache);
    const v = await run(deps, `${IMAGE}:v1`, {});
    expect(v.decision, JSON.stringify(v.reasons)).toBe("allow");
    expect(server.fetched).toEqual(expect.arrayContaining(["2.root.json"]));
  });

  describe("trust cache entries that trustgate did not write", () => {
    function mapCache() {
      const store = new Map<string, string>();
      const cache: Cache = { get: async (k) => store.get(k) ?? null, put: async (k, v) => void store.set(k, v) };
      const key = (prefix: string) => [...store.keys()].find((k) => k.startsWith(prefix))!;
      return { store, cache, key };
    }

    it("a summary that does not read is a miss: verified afresh, overwritten, never a deny", async () => {
      const c = vector("signed-releases").meta;
      const pin = { rootKeys: [c.pinnedRoot.publicKeyPem] };
      const at = new Date(c.now).getTime();
      const garbage = [
        "not json",
        '{"gun":"x","checkedAt":1,"roles":{"targ', // truncated
        "null",
        JSON.stringify({ gun: c.gun, checkedAt: at, expiresAt: at + 86_400_000, versions: {} }),
        JSON.stringify({ gun: c.gun, checkedAt: at, expiresAt: at + 86_400_000, versions: {}, roles: {} }),
        JSON.stringify({ gun: c.gun, checkedAt: at, expiresAt: at + 86_400_000, versions: {}, roles: { targets: { targets: { v1: "zz" }, keys: [] } } }),
        JSON.stringify({ gun: "another/gun", checkedAt: at, expiresAt: at + 86_400_000, versions: {}, roles: { targets: { targets: {}, keys: [] } } }),
        JSON.stringify({ gun: c.gun, checkedAt: "now", expiresAt: at + 86_400_000, versions: {}, roles: { targets: { targets: {}, keys: [] } } }),
      ];
      for (const entry of garbage) {
        const m = mapCache();
        const { deps, work } = setup(trustServer("signed-releases"), c.now, V1("signed-releases"), m.cache);
        expect((await run(deps, `${IMAGE}:v1`, pin)).decision).toBe("allow");
        const key = m.key("notary:trust:v1:");
        m.store.set(key, entry);
        work.verify = 0;
        const v = await run(deps, `${IMAGE}:v1`, pin);
        expect(v.decision, `${entry}: ${JSON.stringify(v.reasons)}`).toBe("allow");
        expect(work.verify, entry).toBeGreaterThan(0);
        expect(JSON.parse(m.store.get(key)!), entry).toMatchObject({ gun: c.gun });
      }
    });

    it("pinned: state versions that do not read fall back to the summary's, so rollback protection holds", async () => {
      const c = vector("signed-releases").meta;
      const pin = { rootKeys: [c.pinnedRoot.publicKeyPem] };
      const m = mapCache();
      const { deps, advance } = setup(trustServer("signed-releases"), c.now, V1("signed-releases"), m.cache);
      expect((await run(deps, `${IMAGE}:v1`, pin)).decision).toBe("allow");
      const stateKey = m.key("notary:state:v1:");
      // Unreadable versions alone: the summary's versions decide; here they say targets was newer once.
      const summaryKey = m.key("notary:trust:v1:");
      const summary = JSON.parse(m.store.get(summaryKey)!) as { versions: Record<string, number> };
      m.store.set(summaryKey, JSON.stringify({ ...summary, versions: { ...summary.versions, targets: 1000 } }));
      m.store.set(stateKey, JSON.stringify({ versions: "garbage" }));
      advance(120); // past the re-check interval: verified again
      const v = await run(deps, `${IMAGE}:v1`, pin);
      expect(v.decision).toBe("deny");
      expect(v.reasons[0]).toMatchObject({ code: "NOTARY_ROLLBACK", role: "targets" });

      // No summary either: as the notary client does with a corrupt cached role, first use for versions.
      for (const entry of ["not json", JSON.stringify({ versions: [1] }), JSON.stringify({ versions: { root: -1 } })]) {
        m.store.delete(summaryKey);
        m.store.set(stateKey, entry);
        const again = await run(deps, `${IMAGE}:v1`, pin);
        expect(again.decision, `${entry}: ${JSON.stringify(again.reasons)}`).toBe("allow");
      }
    });

    it("TOFU: a remembered root that does not read denies NOTARY_TRUST_STATE_UNREADABLE, uncached, and is left for the operator", async () => {
      const c = vector("signed-releases").meta;
      const garbage = [
        "not json",
        '{"versions":{"root":1},"root":"eyJzaWdu', // truncated
        JSON.stringify({ versions: { root: 1 }, root: 42 }),
        JSON.stringify({ versions: { root: 1 }, root: "not base64!" }),
        JSON.stringify({ versions: { root: 1 }, root: btoa('{"signed":{"_type":"Root"') }),
      ];
      for (const entry of garbage) {
        const m = mapCache();
        const { deps, advance } = setup(trustServer("signed-releases"), c.now, V1("signed-releases"), m.cache);
        expect((await run(deps, `${IMAGE}:v1`, {})).decision).toBe("allow");
        const stateKey = m.key("notary:state:v1:");
        m.store.set(stateKey, entry);
        advance(120);
        const policy = { mode: "enforce" as const, patternStyle: "native" as const, rules: [{ pattern: "*", require: [{ type: "notary", server: SERVER }] }] };
        const input = { image: `${IMAGE}:v1`, reference: parseReference(`${IMAGE}:v1`), context: {} };
        const view = { id: "p", revision: `tofu-${entry.length}`, policy };
        const v = await decide(input, view, deps);
        expect(v.decision, entry).toBe("deny");
        expect(v.reasons[0], entry).toMatchObject({ code: "NOTARY_TRUST_STATE_UNREADABLE", gun: c.gun });
        expect(m.store.get(stateKey), entry).toBe(entry);
        // The operator deletes the entry: trust on first use again, and the deny was not remembered.
        m.store.delete(stateKey);
        expect((await decide(input, view, deps)).decision, entry).toBe("allow");
      }
    });

    it("TOFU: versions that do not read beside a root that does: the root still pins trust", async () => {
      const c = vector("signed-releases").meta;
      const m = mapCache();
      const server = trustServer("signed-releases");
      const { deps, advance } = setup(server, c.now, V1("signed-releases"), m.cache);
      expect((await run(deps, `${IMAGE}:v1`, {})).decision).toBe("allow");
      const stateKey = m.key("notary:state:v1:");
      const state = JSON.parse(m.store.get(stateKey)!) as { root: string };
      m.store.set(stateKey, JSON.stringify({ versions: null, root: state.root }));
      m.store.delete(m.key("notary:trust:v1:"));
      server.use("alice-signed"); // another root for the same GUN
      advance(120);
      const v = await run(deps, `${IMAGE}:v1`, {});
      expect(v.decision).toBe("deny");
      expect(v.reasons[0]!.code).toMatch(/NOTARY_(ROOT_NOT_TRUSTED|THRESHOLD_NOT_MET|BAD_SIGNATURE)/);
    });
  });

  it("a load that fails leaves no request behind: role files asked for ahead are abandoned, not retried", async () => {
    const c = vector("signed-releases").meta;
    const waiting: Request[] = [];
    const fetched: string[] = [];
    const server = {
      ...trustServer("signed-releases"),
      fetch: async (req: Request): Promise<Response> => {
        const file = new URL(req.url).pathname.split("/").pop()!;
        fetched.push(file);
        if (file === "root.json") throw new TypeError("connect ECONNREFUSED 127.0.0.1:4443");
        // The other role files hang until their request is aborted (by the timeout, or by the load).
        waiting.push(req);
        return new Promise<Response>((_, reject) => req.signal.addEventListener("abort", () => reject(req.signal.reason)));
      },
    };
    const { deps } = setup(server, c.now, V1("signed-releases"));
    const v = await run(deps, `${IMAGE}:v1`, { rootKeys: [c.pinnedRoot.publicKeyPem] });
    expect(v.reasons[0]).toMatchObject({ code: "NOTARY_TRUST_SERVER_UNREACHABLE" });
    expect(waiting.map((r) => new URL(r.url).pathname.split("/").pop()).sort()).toEqual(["releases.json", "snapshot.json", "targets.json", "timestamp.json"]);
    expect(waiting.every((r) => r.signal.aborted)).toBe(true);
    const count = fetched.length;
    await new Promise((r) => setTimeout(r, 0));
    expect(fetched).toHaveLength(count);
  });

  it("fetches the trust data while the registry is still answering what the tag means (one round trip, not two)", async () => {
    const c = vector("signed-releases").meta;
    const server = trustServer("signed-releases");
    const { deps } = setup(server, c.now, V1("signed-releases"));
    let seenBeforeDigest: string[] = [];
    const slowRegistry: DecideDeps = {
      ...deps,
      digests: {
        async resolve(_ref, _upstreams, _background, onUpstream) {
          onUpstream?.();
          // The registry answers only after the trust server was asked (or after a while, when it never is).
          for (let i = 0; i < 50 && !server.fetched.includes("timestamp.json"); i++) await new Promise((r) => setTimeout(r, 10));
          seenBeforeDigest = [...server.fetched];
          return { ok: true, digest: V1("signed-releases"), cached: false };
        },
      },
    };
    const v = await run(slowRegistry, `${IMAGE}:v1`, { rootKeys: [c.pinnedRoot.publicKeyPem] });
    expect(v).toMatchObject({ decision: "allow", reasons: [{ code: "NOTARY_SIGNED" }] });
    expect(seenBeforeDigest).toEqual(expect.arrayContaining(["root.json", "timestamp.json", "snapshot.json", "targets.json"]));
    // Loaded once: evaluate() used what was started early.
    expect(server.fetched.filter((f) => f === "root.json")).toHaveLength(1);
  });

  it("a trust load started early that fails is the same deny as one started late", async () => {
    const c = vector("signed-releases").meta;
    const server = trustServer("signed-releases");
    server.down();
    const { deps } = setup(server, c.now, V1("signed-releases"));
    const early: DecideDeps = {
      ...deps,
      digests: {
        async resolve(_ref, _upstreams, _background, onUpstream) {
          onUpstream?.();
          return { ok: true, digest: V1("signed-releases"), cached: false };
        },
      },
    };
    const v = await run(early, `${IMAGE}:v1`, { rootKeys: [c.pinnedRoot.publicKeyPem] });
    const late = await run(deps, `${IMAGE}:v1`, { rootKeys: [c.pinnedRoot.publicKeyPem] });
    expect(v.decision).toBe("deny");
    expect(v.reasons.map((r) => r.code)).toEqual(late.reasons.map((r) => r.code));
    expect(v.reasons[0]!.code).toBe("NOTARY_TRUST_SERVER_UNREACHABLE");
  });

  it("a trust load started early stops when the decision ends without it (the registry failed): no request outlives it", async () => {
    const c = vector("signed-releases").meta;
    const server = trustServer("signed-releases");
    const { deps } = setup(server, c.now, V1("signed-releases"));
    const failing: DecideDeps = {
      ...deps,
      digests: {
        async resolve(_ref, _upstreams, _background, onUpstream) {
          onUpstream?.();
          return { ok: false, transient: true, reason: { code: "REGISTRY_UNREACHABLE", message: "127.0.0.1:5000 could not be reached (no HTTP answer)" } };
        },
      },
    };
    const v = await run(failing, `${IMAGE}:v1`, { rootKeys: [c.pinnedRoot.publicKeyPem] });
    expect(v.reasons[0]!.code).toBe("REGISTRY_UNREACHABLE");
    await new Promise((r) => setTimeout(r, 100));
    expect(server.fetched).toEqual([]);
  });

  it("starts nothing early when the digest needs no registry (a pinned digest): the trust data is read once", async () => {
    const c = vector("signed-releases").meta;
    const server = trustServer("signed-releases");
    const { deps } = setup(server, c.now, c.tags.v2!.digest);
    const v = await run(deps, `${IMAGE}@${c.tags.v2!.digest}`, { rootKeys: [c.pinnedRoot.publicKeyPem] });
    expect(v.decision).toBe("allow");
    expect(server.fetched.filter((f) => f === "root.json")).toHaveLength(1);
  });

  it("a warm decision fetches nothing and verifies nothing (counted, not timed)", async () => {
    const c = vector("alice-signed").meta;
    const server = trustServer("alice-signed");
    const { deps, work } = setup(server, c.now, V1("alice-signed"));
    const req = { rootKeys: [c.pinnedRoot.publicKeyPem], signers: [{ name: "alice" }] };
    const policy = { mode: "enforce" as const, patternStyle: "native" as const, rules: [{ pattern: "*", require: [{ type: "notary", server: SERVER, ...req }] }] };
    const view = { id: "p", revision: "warm", policy };
    const input = { image: `${IMAGE}:v1`, reference: parseReference(`${IMAGE}:v1`), context: {} };
    const cold = await decide(input, view, deps);
    expect(cold).toMatchObject({ decision: "allow", cached: false });
    expect(work.fetch).toBeGreaterThan(0);
    expect(work.verify).toBeGreaterThanOrEqual(5); // root, timestamp, snapshot, targets, delegations
    const before = { ...work };
    const warm = await decide(input, view, deps);
    expect(warm).toMatchObject({ decision: "allow", cached: true });
    expect(work).toEqual(before);
  });

  it("writes the repository state again only when it changed or is 30 days old", async () => {
    const c = vector("signed-releases").meta;
    const inner = memoryCache();
    const puts: string[] = [];
    const trustCache: Cache = { get: (k) => inner.get(k), put: (k, v, o) => (puts.push(k.split(":").slice(0, 2).join(":")), inner.put(k, v, o)) };
    const stateKey = `notary:state:v1:${SERVER}|${c.gun}`;
    const { deps, advance } = setup(trustServer("signed-releases"), c.now, V1("signed-releases"), trustCache);
    const pins = { rootKeys: [c.pinnedRoot.publicKeyPem] };
    expect((await run(deps, `${IMAGE}:v1`, pins)).decision).toBe("allow");
    expect(puts.sort()).toEqual(["notary:state", "notary:trust"]);
    // Past the re-check interval: fetched and verified again, the same versions.
    puts.length = 0;
    advance(120);
    expect((await run(deps, `${IMAGE}:v1`, pins)).decision).toBe("allow");
    expect(puts).toEqual(["notary:trust"]);
    // A state from before `writtenAt` existed, or one written 30 days ago, is written again.
    const state = JSON.parse((await inner.get(stateKey))!) as { writtenAt: number };
    for (const old of [{ ...state, writtenAt: undefined }, { ...state, writtenAt: state.writtenAt - 30 * 86_400_000 }]) {
      await inner.put(stateKey, JSON.stringify(old), { ttlSeconds: 60 });
      puts.length = 0;
      advance(120);
      expect((await run(deps, `${IMAGE}:v1`, pins)).decision).toBe("allow");
      expect(puts.sort()).toEqual(["notary:state", "notary:trust"]);
    }
    // New versions are written at once.
    const rolledBack = { ...state, versions: { ...(state as unknown as { versions: Record<string, number> }).versions, timestamp: 0 } };
    await inner.put(stateKey, JSON.stringify(rolledBack), { ttlSeconds: 60 });
    puts.length = 0;
    advance(120);
    expect((await run(deps, `${IMAGE}:v1`, pins)).decision).toBe("allow");
    expect(puts.sort()).toEqual(["notary:state", "notary:trust"]);
  });

  it("re-checking on every decision, an unchanged summary is written again at most once a minute (KV: one write per second per key)", async () => {
    const c = vector("signed-releases").meta;
    const inner = memoryCache();
    const puts: string[] = [];
    const trustCache: Cache = { get: (k) => inner.get(k), put: (k, v, o) => (puts.push(k.split(":").slice(0, 2).join(":")), inner.put(k, v, o)) };
    const base = setup(trustServer("signed-releases"), c.now, V1("signed-releases"), trustCache);
    const deps: DecideDeps = { ...base.deps, verifier: { ...base.deps.verifier, settings: { ...base.deps.verifier.settings, trustRecheckSeconds: 0 } } };
    const pins = { rootKeys: [c.pinnedRoot.publicKeyPem] };
    expect((await run(deps, `${IMAGE}:v1`, pins)).decision).toBe("allow");
    expect(puts.sort()).toEqual(["notary:state", "notary:trust"]);
    for (const seconds of [1, 20, 30]) {
      puts.length = 0;
      base.advance(seconds);
      expect((await run(deps, `${IMAGE}:v1`, pins)).decision).toBe("allow");
      expect(puts, `${seconds} s later`).toEqual([]);
    }
    puts.length = 0;
    base.advance(10); // 61 s after the write
    expect((await run(deps, `${IMAGE}:v1`, pins)).decision).toBe("allow");
    expect(puts).toEqual(["notary:trust"]);
  });

  it("while the trust server is down, unexpired cached trust data decides; nothing cached → deny", async () => {
    const c = vector("signed-releases").meta;
    const server = trustServer("signed-releases");
    const { deps, advance } = setup(server, c.now, V1("signed-releases"));
    expect((await run(deps, `${IMAGE}:v1`, { rootKeys: [c.pinnedRoot.publicKeyPem] })).decision).toBe("allow");
    server.down();
    advance(600); // past the re-check interval, before the timestamp expires
    const stale = await run(deps, `${IMAGE}:v1`, { rootKeys: [c.pinnedRoot.publicKeyPem] });
    expect(stale.decision).toBe("allow");
    expect(stale.reasons.map((r) => r.code)).toEqual(["NOTARY_SIGNED", "NOTARY_STALE_TRUST_DATA"]);

    const dead = trustServer("signed-releases");
    dead.down();
    const fresh = setup(dead, c.now, V1("signed-releases"));
    const v = await run(fresh.deps, `${IMAGE}:v1`, { rootKeys: [c.pinnedRoot.publicKeyPem] });
    expect(v.decision).toBe("deny");
    expect(v.reasons[0]!.code).toBe("NOTARY_TRUST_SERVER_UNREACHABLE");
  });

  it("keeps the trust summary until its earliest expiry, however near: KV's minimum TTL is the KV adapter's", async () => {
    // Last: its clock runs ahead to the expiry, after which an earlier clock writes the refresh
    // record again (notary-refresh.ts), which the write-counting tests above would see.
    const c = vector("signed-releases").meta;
    const pins = { rootKeys: [c.pinnedRoot.publicKeyPem] };
    const store = new Map<string, string>();
    const asked: [string, number][] = [];
    const recording: Cache = { get: async (k) => store.get(k) ?? null, put: async (k, v, o) => void (asked.push([k, o.ttlSeconds]), store.set(k, v)) };
    const first = setup(trustServer("signed-releases"), c.now, V1("signed-releases"), recording);
    expect((await run(first.deps, `${IMAGE}:v1`, pins)).decision).toBe("allow");
    const summaryKey = [...store.keys()].find((k) => k.startsWith("notary:trust:v1:"))!;
    const { expiresAt } = JSON.parse(store.get(summaryKey)!) as { expiresAt: number };
    store.clear();
    asked.length = 0;
    // Thirty seconds before the trust data expires: verified afresh, good for thirty seconds more.
    const late = setup(trustServer("signed-releases"), new Date(expiresAt - 30_000).toISOString(), V1("signed-releases"), recording);
    expect((await run(late.deps, `${IMAGE}:v1`, pins)).decision).toBe("allow");
    expect(asked.filter(([k]) => k === summaryKey)).toEqual([[summaryKey, 30]]);
  });
});
