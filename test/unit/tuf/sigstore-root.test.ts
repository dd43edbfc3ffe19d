// loadSigstoreTrustedRoot against a TUF repository made by test/support/tuf-repo.ts, served from
// memory through the egress guard on a loopback URL: updates, rotations, expiry, rollback, the
// threshold attack and bad targets are refused, and the last verified trusted_root.json stays in
// use (with a note) until its metadata expires. The trust cache is a map; the clock is the test's.
import { describe, expect, it } from "vitest";
import { DEFAULT_EGRESS_POLICY, egressFetch } from "../../../src/adapters/egress";
import type { VerifierDeps } from "../../../src/policy/requirement-kinds";
import { noCounter, type Cache } from "../../../src/ports";
import { loadSigstoreTrustedRoot, refreshSigstoreTrustedRoot, SIGSTORE_RECHECK_SECONDS, type SigstoreRootResult } from "../../../src/requirements/sigstore-root";
import { TrustedSet } from "../../../src/verify/tuf";
import { aliasKey, generateKey, TufTestRepository } from "../../support/tuf-repo";

const BASE = "http://127.0.0.1:8099/tuf";
const START = Date.parse("2026-03-01T00:00:00Z");
const HOUR = 3_600_000;
const DAY = 24 * HOUR;
const TRUSTED_ROOT = '{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1","tlogs":[]}';
const NEXT_ROOT = '{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1","tlogs":["next"]}';

const text = (r: SigstoreRootResult) => (r.ok ? new TextDecoder().decode(r.trustedRoot) : undefined);

/** A client of `repo`: KV as a map (shared by "isolates"), its own clock, every path asked for. */
function client(repo: TufTestRepository, bootstrap = repo.rootText) {
  const store = new Map<string, string>();
  const asked: string[] = [];
  let now = START;
  let up = true;
  const fetch = egressFetch(async (request: Request) => {
    asked.push(new URL(request.url).pathname.slice("/tuf/".length));
    if (!up) throw new TypeError("connection refused");
    return repo.serve(request, BASE);
  }, DEFAULT_EGRESS_POLICY);
  /** A new isolate: same KV, its own memory. */
  const isolate = (): VerifierDeps => {
    const trustCache: Cache = { get: async (k) => store.get(k) ?? null, put: async (k, v) => void store.set(k, v) };
    return {
      fetch,
      trustCache,
      clock: { now: () => new Date(now) },
      counter: noCounter,
      settings: { upstreamTimeoutMs: 1000, trustRecheckSeconds: 60, credentials: {}, sigstoreTufUrl: BASE, sigstoreTufRoot: bootstrap },
    };
  };
  return {
    store,
    asked,
    isolate,
    deps: isolate(),
    at: (ms: number) => void (now = ms),
    down: () => void (up = false),
    take: () => asked.splice(0),
  };
}

async function published(targets: Record<string, string> = { "trusted_root.json": TRUSTED_ROOT }) {
  const repo = await TufTestRepository.create(new Date(START));
  await repo.publish({ targets });
  return repo;
}

describe("loadSigstoreTrustedRoot: a normal update", () => {
  it("walks root, timestamp, snapshot, targets and the target by consistent-snapshot names", async () => {
    const repo = await published();
    const c = client(repo);
    const result = await loadSigstoreTrustedRoot(c.deps);
    expect(result).toMatchObject({ ok: true });
    expect(text(result)).toBe(TRUSTED_ROOT);
    expect(result.ok && result.note).toBeUndefined();
    const sha = [...repo.files.keys()].find((k) => k.startsWith("targets/"))!;
    expect(c.take()).toEqual(["2.root.json", "timestamp.json", "1.snapshot.json", "1.targets.json", sha]);
    expect(c.store.size).toBe(1);
    // Remembered by the isolate, and by KV for the next isolate, until the recheck interval.
    expect(text(await loadSigstoreTrustedRoot(c.deps))).toBe(TRUSTED_ROOT);
    expect(text(await loadSigstoreTrustedRoot(c.isolate()))).toBe(TRUSTED_ROOT);
    expect(c.take()).toEqual([]);
  });

  it("past the recheck interval asks again; an unchanged timestamp fetches nothing more", async () => {
    const repo = await published();
    const c = client(repo);
    await loadSigstoreTrustedRoot(c.deps);
    c.take();
    c.at(START + SIGSTORE_RECHECK_SECONDS * 1000 + 1);
    expect(text(await loadSigstoreTrustedRoot(c.isolate()))).toBe(TRUSTED_ROOT);
    expect(c.take()).toEqual(["2.root.json", "timestamp.json"]);
  });

  it("a new trusted_root.json published is read at the next refresh (and by the cron at once)", async () => {
    const repo = await published();
    const c = client(repo);
    await loadSigstoreTrustedRoot(c.deps);
    await repo.publish({ targets: { "trusted_root.json": NEXT_ROOT } });
    c.at(START + HOUR);
    c.take();
    expect(text((await refreshSigstoreTrustedRoot(c.deps))!)).toBe(NEXT_ROOT);
    expect(c.take()).toEqual(["2.root.json", "timestamp.json", "2.snapshot.json", "2.targets.json", expect.stringMatching(/^targets\/[0-9a-f]{64}\.trusted_root\.json$/)]);
    expect(text(await loadSigstoreTrustedRoot(c.deps))).toBe(NEXT_ROOT);
  });

  it("the cron does nothing until a decision has used the trust root", async () => {
    const c = client(await published());
    expect(await refreshSigstoreTrustedRoot(c.deps)).toBeUndefined();
    expect(c.take()).toEqual([]);
  });

  it("with a background, a stale root answers at once and the refresh runs behind", async () => {
    const repo = await published();
    const c = client(repo);
    await loadSigstoreTrustedRoot(c.deps);
    await repo.publish({ targets: { "trusted_root.json": NEXT_ROOT } });
    c.at(START + 2 * HOUR);
    const behind: Promise<unknown>[] = [];
    expect(text(await loadSigstoreTrustedRoot(c.deps, (w) => behind.push(w)))).toBe(TRUSTED_ROOT);
    expect(behind).toHaveLength(1);
    await Promise.all(behind);
    expect(text(await loadSigstoreTrustedRoot(c.deps, (w) => behind.push(w)))).toBe(NEXT_ROOT);
    expect(behind).toHaveLength(1);
  });
});

describe("root rotation", () => {
  it("follows 1 → 2 → 3, each signed by the old and the new root thresholds", async () => {
    const repo = await published();
    const c = client(repo);
    const two = [await generateKey(), await generateKey("ed25519"), await generateKey()];
    await repo.rotateRoot(two, 2);
    const three = [await generateKey("ed25519"), await generateKey()];
    await repo.rotateRoot(three, 2);
    await repo.publish();
    expect(await loadSigstoreTrustedRoot(c.deps)).toMatchObject({ ok: true });
    expect(c.take().slice(0, 4)).toEqual(["2.root.json", "3.root.json", "4.root.json", "timestamp.json"]);
    // The state kept starts from root 3: the next refresh asks for 4.
    c.at(START + 2 * HOUR);
    await loadSigstoreTrustedRoot(c.isolate());
    expect(c.take()[0]).toBe("4.root.json");
  });

  it("refuses a root signed only by the new keys (the old threshold is missing)", async () => {
    const repo = await published();
    const c = client(repo);
    const fresh = [await generateKey()];
    await repo.rotateRoot(fresh, 1, { signers: fresh });
    const result = await loadSigstoreTrustedRoot(c.deps);
    expect(result).toEqual({
      ok: false,
      why: `the Sigstore trust root could not be verified from ${BASE}: root.json version 2 (by the root keys of version 1) has 0 valid signatures from distinct keys, fewer than the threshold of 1`,
      transient: false,
    });
  });

  it("refuses a root whose version is not N+1", async () => {
    const repo = await published();
    const c = client(repo);
    await repo.writeRoot({ version: 3 });
    repo.files.set("2.root.json", repo.files.get("3.root.json")!);
    const result = await loadSigstoreTrustedRoot(c.deps);
    expect(result.ok ? "" : result.why).toContain("root.json version 3 was served where version 2 was asked for");
  });

  it("refuses an expired final root, and keeps the last verified trusted_root.json with a note", async () => {
    const repo = await published();
    const c = client(repo);
    await loadSigstoreTrustedRoot(c.deps);
    await repo.writeRoot({ expires: START + HOUR });
    c.at(START + 2 * HOUR);
    const result = await loadSigstoreTrustedRoot(c.deps);
    expect(text(result)).toBe(TRUSTED_ROOT);
    expect(result.ok && result.note).toBe(
      `the Sigstore trust root could not be refreshed from ${BASE} (root.json version 2 expired at 2026-03-01T01:00:00Z); ` +
        "the trusted_root.json verified at 2026-03-01T00:00:00Z is used until its TUF metadata expires at 2026-03-08T00:00:00Z",
    );
  });

  it("stops after a bounded number of root versions", async () => {
    const repo = await published();
    const c = client(repo);
    for (let i = 0; i < 33; i++) await repo.writeRoot();
    const result = await loadSigstoreTrustedRoot(c.deps);
    expect(result.ok ? "" : result.why).toContain("more than 32 new root versions in one update (at 34.root.json)");
  });
});

describe("expiry", () => {
  it("an expired timestamp is refused; the last verified root stays in use until it expires, then a clear deny", async () => {
    const repo = await published();
    const c = client(repo);
    await loadSigstoreTrustedRoot(c.deps);
    c.at(START + 2 * HOUR);
    await repo.publish({ timestampExpires: START + HOUR });
    const during = await loadSigstoreTrustedRoot(c.deps);
    expect(text(during)).toBe(TRUSTED_ROOT);
    expect(during.ok && during.note).toContain(`could not be refreshed from ${BASE} (timestamp.json version 2 expired at 2026-03-01T01:00:00Z)`);
    // The kept timestamp (version 1) expires after 7 days: then nothing verified is left.
    c.at(START + 7 * DAY + 1);
    expect(await loadSigstoreTrustedRoot(c.isolate())).toEqual({
      ok: false,
      why: `the Sigstore trust root could not be refreshed from ${BASE} (timestamp.json version 2 expired at 2026-03-01T01:00:00Z), and the last verified one expired at 2026-03-08T00:00:00Z`,
      transient: false,
    });
  });

  it("a repository that cannot be reached: the last verified root with a note, a transient failure without one", async () => {
    const repo = await published();
    const c = client(repo);
    await loadSigstoreTrustedRoot(c.deps);
    c.down();
    c.at(START + 2 * HOUR);
    const result = await loadSigstoreTrustedRoot(c.deps);
    expect(text(result)).toBe(TRUSTED_ROOT);
    expect(result.ok && result.note).toContain("Sigstore TUF repository 127.0.0.1:8099 could not be reached (no HTTP answer)");
    const cold = client(repo);
    cold.down();
    expect(await loadSigstoreTrustedRoot(cold.deps)).toMatchObject({ ok: false, transient: true });
  });
});

describe("rollback", () => {
  it("refuses a timestamp older than the trusted one", async () => {
    const repo = await published();
    await repo.publish();
    const c = client(repo);
    await loadSigstoreTrustedRoot(c.deps);
    await repo.publish({ timestampVersion: 1 });
    c.at(START + 2 * HOUR);
    const result = await loadSigstoreTrustedRoot(c.deps);
    expect(text(result)).toBe(TRUSTED_ROOT);
    expect(result.ok && result.note).toContain("(timestamp.json version 1 is older than the trusted version 2 (rollback))");
  });

  it("refuses a timestamp naming an older snapshot, and a snapshot naming older targets", async () => {
    const repo = await published();
    await repo.publish();
    const c = client(repo);
    await loadSigstoreTrustedRoot(c.deps);
    c.at(START + 2 * HOUR);
    await repo.publish({ snapshotVersion: 1 });
    let result = await loadSigstoreTrustedRoot(c.deps);
    expect(result.ok && result.note).toContain("timestamp.json names snapshot.json version 1, older than the trusted version 2 (rollback)");

    await repo.publish({ snapshotVersion: 3, targetsVersion: 1 });
    c.at(START + 4 * HOUR);
    result = await loadSigstoreTrustedRoot(c.deps);
    expect(result.ok && result.note).toContain("snapshot.json version 3 lists targets.json version 1, older than the trusted version 2 (rollback)");
  });
});

describe("the threshold attack", () => {
  it("one key's signature listed twice counts once", async () => {
    const a = await generateKey();
    const b = await generateKey();
    const repo = await TufTestRepository.create(new Date(START), { rootKeys: [a, b], rootThreshold: 2 });
    await repo.publish();
    const c = client(repo);
    await repo.rotateRoot([a, b], 2, { signers: [a, a] });
    const result = await loadSigstoreTrustedRoot(c.deps);
    expect(result.ok ? "" : result.why).toContain(
      "root.json version 2 (by the root keys of version 1) has 1 valid signature from distinct keys, fewer than the threshold of 2",
    );
  });

  it("one key listed under two key IDs counts once", async () => {
    const a = await generateKey();
    const repo = await TufTestRepository.create(new Date(START), { rootKeys: [a, aliasKey(a, "b".repeat(64))], rootThreshold: 2 });
    await repo.publish();
    await expect(TrustedSet.fromRoot(repo.root, new Date(START))).rejects.toMatchObject({
      code: "THRESHOLD_NOT_MET",
      message: "root.json version 1 (by its own root keys) has 1 valid signature from distinct keys, fewer than the threshold of 2",
    });
    expect(await loadSigstoreTrustedRoot(client(repo).deps)).toMatchObject({ ok: false, transient: false });
    // Two distinct keys verify.
    const honest = await TufTestRepository.create(new Date(START), { rootKeys: [a, await generateKey()], rootThreshold: 2 });
    await expect(TrustedSet.fromRoot(honest.root, new Date(START))).resolves.toBeInstanceOf(TrustedSet);
  });

  it("a timestamp signed by a key that is not the timestamp role's is refused", async () => {
    const repo = await published();
    await repo.publish({ timestampSigners: [repo.snapshotKey] });
    const result = await loadSigstoreTrustedRoot(client(repo).deps);
    expect(result.ok ? "" : result.why).toContain("timestamp.json version 2 has 0 valid signatures from distinct keys, fewer than the threshold of 1");
  });
});

describe("targets", () => {
  it("refuses a target whose length is not the listed one", async () => {
    const repo = await TufTestRepository.create(new Date(START));
    await repo.publish({ targets: { "trusted_root.json": TRUSTED_ROOT }, listLength: (_, n) => n + 1 });
    const result = await loadSigstoreTrustedRoot(client(repo).deps);
    expect(result.ok ? "" : result.why).toContain(`trusted_root.json is ${TRUSTED_ROOT.length} bytes, not the ${TRUSTED_ROOT.length + 1} listed`);
  });

  it("refuses a target whose bytes do not match the listed hash", async () => {
    const repo = await published();
    const path = [...repo.files.keys()].find((k) => k.startsWith("targets/"))!;
    repo.files.set(path, new TextEncoder().encode(TRUSTED_ROOT.replace("[]", "[1")));
    const result = await loadSigstoreTrustedRoot(client(repo).deps);
    expect(result.ok ? "" : result.why).toContain("trusted_root.json does not match its listed sha256 hash");
  });

  it("refuses targets.json without trusted_root.json", async () => {
    const repo = await published({ "other.json": "{}" });
    const result = await loadSigstoreTrustedRoot(client(repo).deps);
    expect(result.ok ? "" : result.why).toContain("targets.json version 1 does not list trusted_root.json");
  });
});

describe("the state kept in the trust cache", () => {
  it("garbage is a miss: the update starts again from the bootstrap root, never a deny by itself", async () => {
    const repo = await published();
    const c = client(repo);
    await loadSigstoreTrustedRoot(c.deps);
    const [key, good] = [...c.store][0]!;
    const entry = JSON.parse(good) as Record<string, unknown>;
    const garbage = [
      "not json",
      "[]",
      JSON.stringify({ ...entry, checkedAt: "yesterday" }),
      JSON.stringify({ ...entry, target: btoa('{"mediaType":"forged"}') }),
      JSON.stringify({ ...entry, timestamp: entry.snapshot }),
      JSON.stringify({ ...entry, root: "%%%" }),
    ];
    for (const g of garbage) {
      c.store.set(key, g);
      c.take();
      const result = await loadSigstoreTrustedRoot(c.isolate());
      expect(text(result), g.slice(0, 40)).toBe(TRUSTED_ROOT);
      expect(c.take()[0]).toBe("2.root.json");
      // Written back whole.
      expect(c.store.get(key)).not.toBe(g);
    }
  });
});
