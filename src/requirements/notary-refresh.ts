// Refreshing Notary trust data ahead of need (the daily cron, worker/index.ts). A decision that
// verifies trust data records (server, GUN, pins) under `notary:recent:v1:<hash>`; the cron reads
// those records, picks the summaries whose recheck time has passed or whose earliest expiry is
// near, and fetches and verifies them again through the same workflow a decision uses
// (verify/notary-v1/trust-data.ts), so that decisions find fresh, unexpired trust data and the
// stale-if-error fallback stays available when a trust server is away.
import { HttpClient } from "../adapters/http-client";
import { notaryRoleFetcher } from "../adapters/notary-fetcher";
import type { VerifierDeps } from "../policy/requirement-kinds";
import type { Cache } from "../ports";
import type { TrustSummary } from "../verify/notary-v1/trust-data";
import { summaryFor, trustSummaries } from "./notary-stored";
import { verifyTrustData } from "./notary-trust";
import { isRecord, readStoredJson } from "../stored";

export const RECENT_TRUST_PREFIX = "notary:recent:v1:";
/** A repository no decision verified for this long drops out of the refresh list. */
export const RECENT_TRUST_TTL_SECONDS = 7 * 86_400;
/** One record per repository and isolate per hour is enough to keep it listed. */
const REMEMBER_EVERY_MS = 3_600_000;

/** What a refresh needs to know about a repository: what the `notary` requirement was given. */
export interface RecentTrust {
  readonly server: string;
  readonly gun: string;
  readonly rootKeys: readonly string[] | null;
}

/** The TRUST_CACHE keys of one (server, GUN, pins): the summary, the repository state, the record. */
export async function notaryTrustKeys(t: RecentTrust): Promise<{ summaryKey: string; stateKey: string; recentKey: string }> {
  const summaryKey = await trustSummaries.key({ server: t.server, gun: t.gun, rootKeys: t.rootKeys });
  // The record is kept under the summary's hash.
  const hash = summaryKey.slice(summaryKey.lastIndexOf(":") + 1);
  return { summaryKey, stateKey: `notary:state:v1:${t.server}|${t.gun}`, recentKey: `${RECENT_TRUST_PREFIX}${hash}` };
}

const remembered = new Map<string, number>();

/** Records that a decision verified this repository's trust data (at most hourly per isolate). */
export async function rememberNotaryTrust(cache: Cache, t: RecentTrust, now: Date): Promise<void> {
  const { recentKey } = await notaryTrustKeys(t);
  const last = remembered.get(recentKey);
  // A clock that went back (tests, skew between isolates' views) does not suppress the write.
  if (last !== undefined && now.getTime() >= last && now.getTime() - last < REMEMBER_EVERY_MS) return;
  if (remembered.size >= 1024) remembered.clear();
  remembered.set(recentKey, now.getTime());
  await cache.put(recentKey, JSON.stringify({ server: t.server, gun: t.gun, rootKeys: t.rootKeys }), { ttlSeconds: RECENT_TRUST_TTL_SECONDS });
}

/**
 * Fetches and verifies one repository's trust data as a decision would, and writes the summary and
 * the repository state back. Throws what the workflow throws (unreachable, bad signature, ...).
 */
async function refreshNotaryTrust(deps: VerifierDeps, t: RecentTrust): Promise<TrustSummary> {
  const { summaryKey, stateKey } = await notaryTrustKeys(t);
  const now = deps.clock.now();
  const [stateText, stored] = await Promise.all([deps.trustCache.get(stateKey), trustSummaries.get(deps.trustCache, summaryKey)]);
  const http = new HttpClient({
    fetch: deps.fetch,
    timeoutMs: deps.settings.upstreamTimeoutMs,
    counter: deps.counter,
    codes: { unreachable: "NOTARY_TRUST_SERVER_UNREACHABLE", auth: "NOTARY_TRUST_SERVER_AUTH_FAILED", badResponse: "NOTARY_TRUST_SERVER_UNREACHABLE" },
  });
  // Configured credentials only: a rule's own `auth` is not copied into the record.
  const credentials = deps.settings.credentials[new URL(t.server).host];
  // The same reading and writing rules as a decision's (notary-trust.ts).
  const { summary, writes } = await verifyTrustData({
    gun: t.gun,
    rootKeys: t.rootKeys ?? undefined,
    summaryKey,
    stateKey,
    stateText,
    summary: summaryFor(stored, t.gun),
    fetcher: notaryRoleFetcher(http, t.server, t.gun, credentials),
    now,
    cache: deps.trustCache,
    onVerify: (role) => deps.counter.count("verify", `notary ${t.gun} ${role} (refresh)`),
  });
  await writes;
  return summary;
}

export interface RefreshLimits {
  /** Trust data expiring within this long is refreshed even if recently checked. */
  readonly aheadMs: number;
  /** Repositories refreshed per run: each costs about four fetches (subrequests) plus delegations. */
  readonly maxRefreshes: number;
  /** Records read per run (each costs two KV reads). */
  readonly maxRecords: number;
}

// Four per run keeps a run inside the Free plan's 10 ms of CPU (about 1 to 2 ms per verification,
// bench/README.md) and 50 subrequests; TRUST_REFRESH_PER_RUN raises it on Paid.
export const DEFAULT_REFRESH_LIMITS: RefreshLimits = { aheadMs: 2 * 86_400_000, maxRefreshes: 4, maxRecords: 200 };

export interface RefreshReport {
  readonly considered: number;
  readonly refreshed: readonly string[];
  readonly failed: readonly { gun: string; server: string; error: string }[];
  /** Due, but beyond this run's budget: the next run (or a decision) takes them. */
  readonly deferred: number;
}

/**
 * Refreshes the recorded repositories that are due, soonest expiry first, within the limits.
 * `recentKeys` are the `notary:recent:v1:*` keys (listed by the caller: the Cache port cannot list).
 */
export async function refreshDueNotaryTrust(deps: VerifierDeps, recentKeys: readonly string[], limits: RefreshLimits = DEFAULT_REFRESH_LIMITS): Promise<RefreshReport> {
  const now = deps.clock.now().getTime();
  const recheckMs = deps.settings.trustRecheckSeconds * 1000;
  const due: { t: RecentTrust; expiresAt: number }[] = [];
  const keys = recentKeys.filter((k) => k.startsWith(RECENT_TRUST_PREFIX)).slice(0, limits.maxRecords);
  await Promise.all(
    keys.map(async (key) => {
      const stored = readStoredJson(await deps.trustCache.get(key));
      const t = stored.ok && isRecord(stored.value) ? (stored.value as Partial<RecentTrust>) : undefined;
      if (!t || typeof t.server !== "string" || typeof t.gun !== "string") return;
      const record: RecentTrust = { server: t.server, gun: t.gun, rootKeys: Array.isArray(t.rootKeys) && t.rootKeys.every((k) => typeof k === "string") ? t.rootKeys : null };
      const summary = summaryFor(await trustSummaries.get(deps.trustCache, (await notaryTrustKeys(record)).summaryKey), record.gun);
      // No summary (never written, or expired out of KV) is the most urgent of all.
      const expiresAt = summary?.expiresAt ?? 0;
      if (!summary || expiresAt - now <= limits.aheadMs || now - summary.checkedAt >= recheckMs) due.push({ t: record, expiresAt });
    }),
  );
  due.sort((a, b) => a.expiresAt - b.expiresAt || a.t.gun.localeCompare(b.t.gun));
  const refreshed: string[] = [];
  const failed: { gun: string; server: string; error: string }[] = [];
  // One at a time: the run has a subrequest budget, not a deadline worth racing.
  for (const { t } of due.slice(0, limits.maxRefreshes)) {
    try {
      await refreshNotaryTrust(deps, t);
      refreshed.push(t.gun);
    } catch (err) {
      failed.push({ gun: t.gun, server: t.server, error: err instanceof Error ? err.message : String(err) });
    }
  }
  return { considered: keys.length, refreshed, failed, deferred: Math.max(0, due.length - limits.maxRefreshes) };
}
