// Which recorded repositories a cron run refreshes: only those due (recheck passed or expiry near),
// soonest expiry first, within the run's budget; the rest are left for the next run.
import { describe, expect, it } from "vitest";
import type { VerifierDeps } from "../../../src/policy/requirement-kinds";
import type { Cache } from "../../../src/ports";
import { notaryTrustKeys, refreshDueNotaryTrust, type RecentTrust } from "../../../src/requirements/notary-refresh";

const files = import.meta.glob("../../vectors/notary-v1/signed-releases/**/*.json", { query: "?raw", import: "default", eager: true }) as Record<string, string>;
const PREFIX = "../../vectors/notary-v1/signed-releases/";
const CASE = JSON.parse(files[`${PREFIX}case.json`]!) as { gun: string; now: string; pinnedRoot: { publicKeyPem: string; tufKeyId: string } };
const NOW = new Date(CASE.now).getTime();
const SERVER = "http://127.0.0.1:4443";
const HOUR = 3_600_000;

function setup() {
  const store = new Map<string, string>();
  const cache: Cache = { get: async (k) => store.get(k) ?? null, put: async (k, v) => void store.set(k, v) };
  const fetched: string[] = [];
  const deps: VerifierDeps = {
    fetch: async (req: Request) => {
      const m = /^\/v2\/(.+)\/_trust\/tuf\/(.+)$/.exec(new URL(req.url).pathname);
      fetched.push(m?.[2] ?? "");
      const body = m && m[1] === CASE.gun ? files[PREFIX + m[2]] : undefined;
      return body === undefined ? new Response("not found", { status: 404 }) : new Response(body);
    },
    trustCache: cache,
    clock: { now: () => new Date(NOW) },
    counter: { count: () => {} },
    settings: { upstreamTimeoutMs: 1000, trustRecheckSeconds: 3600, credentials: {} },
  };
  const record = async (t: RecentTrust, summary?: { checkedAt: number; expiresAt: number }) => {
    const keys = await notaryTrustKeys(t);
    store.set(keys.recentKey, JSON.stringify(t));
    // A summary of the shape decisions write (one that does not read would count as missing: due first).
    if (summary) store.set(keys.summaryKey, JSON.stringify({ gun: t.gun, roles: { targets: { targets: {}, keys: [] } }, versions: {}, ...summary }));
    return keys;
  };
  return { deps, store, fetched, record };
}

// The same repository under three pinnings: three summaries, three records.
const BY_PEM: RecentTrust = { server: SERVER, gun: CASE.gun, rootKeys: [CASE.pinnedRoot.publicKeyPem] };
const BY_ID: RecentTrust = { server: SERVER, gun: CASE.gun, rootKeys: [CASE.pinnedRoot.tufKeyId] };
const TOFU: RecentTrust = { server: SERVER, gun: CASE.gun, rootKeys: null };

describe("refreshDueNotaryTrust", () => {
  it("refreshes what is due, soonest expiry first, within the budget; fresh data is left alone", async () => {
    const { deps, store, record } = setup();
    const fresh = await record(BY_PEM, { checkedAt: NOW - HOUR / 2, expiresAt: NOW + 10 * 24 * HOUR });
    const soon = await record(BY_ID, { checkedAt: NOW - HOUR / 2, expiresAt: NOW + 24 * HOUR });
    const late = await record(TOFU, { checkedAt: NOW - 2 * HOUR, expiresAt: NOW + 5 * 24 * HOUR });
    const keys = [fresh.recentKey, soon.recentKey, late.recentKey];

    const first = await refreshDueNotaryTrust(deps, keys, { aheadMs: 2 * 24 * HOUR, maxRefreshes: 1, maxRecords: 10 });
    expect(first).toEqual({ considered: 3, refreshed: [CASE.gun], failed: [], deferred: 1 });
    // The one expiring within the window went first; the other due one waits; the fresh one was not due.
    expect(JSON.parse(store.get(soon.summaryKey)!).checkedAt).toBe(NOW);
    expect(JSON.parse(store.get(late.summaryKey)!).checkedAt).toBe(NOW - 2 * HOUR);
    expect(JSON.parse(store.get(fresh.summaryKey)!).checkedAt).toBe(NOW - HOUR / 2);

    const second = await refreshDueNotaryTrust(deps, keys, { aheadMs: 2 * 24 * HOUR, maxRefreshes: 1, maxRecords: 10 });
    expect(second).toMatchObject({ refreshed: [CASE.gun], deferred: 0 });
    const tofu = JSON.parse(store.get(late.summaryKey)!);
    expect(tofu.checkedAt).toBe(NOW);
    // A real verification: its expiry is the trust data's, not the one seeded.
    expect(tofu.expiresAt).toBeGreaterThan(NOW);
    expect(tofu.expiresAt).not.toBe(NOW + 5 * 24 * HOUR);
    expect(Object.keys(tofu.roles)).toContain("targets/releases");
  });

  it("a record whose summary is gone from KV is refreshed; unreadable records and other keys are skipped", async () => {
    const { deps, store, fetched, record } = setup();
    const missing = await record(BY_PEM);
    store.set("notary:recent:v1:junk", "{not json");
    const report = await refreshDueNotaryTrust(deps, [missing.recentKey, "notary:recent:v1:junk", "tag:v1:x"]);
    expect(report).toEqual({ considered: 2, refreshed: [CASE.gun], failed: [], deferred: 0 });
    expect(fetched).toContain("timestamp.json");
    expect(JSON.parse(store.get(missing.summaryKey)!).checkedAt).toBe(NOW);
  });

  it("trust data that no longer verifies is reported and nothing is written", async () => {
    const { deps, store, record } = setup();
    const wrongPin: RecentTrust = { server: SERVER, gun: CASE.gun, rootKeys: ["0".repeat(64)] };
    const keys = await record(wrongPin);
    const report = await refreshDueNotaryTrust(deps, [keys.recentKey]);
    expect(report.refreshed).toEqual([]);
    expect(report.failed).toEqual([{ gun: CASE.gun, server: SERVER, error: expect.any(String) }]);
    expect(store.has(keys.summaryKey)).toBe(false);
  });
});
