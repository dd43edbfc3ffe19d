// Sigstore's public-good trust root, kept fresh by a TUF client (issue 15): `trusted_root.json`
// from the TUF repository at `settings.sigstoreTufUrl` (default DEFAULT_SIGSTORE_TUF_URL),
// bootstrapped from an embedded root.json, state in the trust cache.
//
// The state (the last verified root, timestamp, snapshot, targets and target) is one TRUST_CACHE
// entry per repository URL, read back through the TUF verification itself: an entry that does not
// verify is a miss (the update starts again from the embedded root), never a deny by itself. An
// isolate remembers the result until the recheck interval or the earliest expiry. A refresh that
// fails never blocks while the last verified root is unexpired: it is used, and `note` says so.
import { HttpClient, UpstreamError } from "../adapters/http-client";
import type { VerifierDeps } from "../policy/requirement-kinds";
import type { Background, Cache } from "../ports";
import { sha256Hex } from "../encoding";
import { isRecord, isTime, readStoredJson } from "../stored";
import { base64Decode, base64Encode, utf8 } from "../verify/shared/encoding";
import { TufError, TUF_LIMITS, updateTuf, type TufFetcher, type TufFiles } from "../verify/tuf";
import { EMBEDDED_SIGSTORE_ROOT_JSON } from "./sigstore-root-embedded";

export const DEFAULT_SIGSTORE_TUF_URL = "https://tuf-repo-cdn.sigstore.dev";

/** The target read from the repository. */
export const SIGSTORE_TRUSTED_ROOT_TARGET = "trusted_root.json";

/** How long a verified trust root is used before the repository is asked again (and the cron, daily). */
export const SIGSTORE_RECHECK_SECONDS = 3600;

/** After a failed refresh, how long an isolate uses what it has before trying again. */
export const SIGSTORE_RETRY_SECONDS = 60;

/** Kept long past any expiry: the last verified root is where the next update starts, and its versions the rollback floor. */
const STATE_TTL_SECONDS = 365 * 86_400;
const STATE_PREFIX = "sigstore:tuf:v1:";

export type SigstoreRootResult =
  | {
      readonly ok: true;
      /** The verified `trusted_root.json` target's bytes. */
      readonly trustedRoot: Uint8Array;
      /** Set when a refresh failed and the last verified root is used: said in the reasons. */
      readonly note?: string;
    }
  | { readonly ok: false; readonly why: string; readonly transient: boolean };

/** A verified state: the files, when they were checked, and until when they may be used. */
interface TufState {
  readonly files: TufFiles;
  readonly checkedAt: number;
  readonly expires: number;
}

interface Memo {
  readonly result: SigstoreRootResult;
  /** When it was computed, and until when it answers (ms). */
  readonly at: number;
  readonly until: number;
  /** The verified state behind an ok result: usable until its expiry while a refresh runs. */
  readonly state?: TufState;
}

// Per trust cache (one per isolate and bindings in the Worker; one per test), per repository URL.
const memos = new WeakMap<Cache, Map<string, Memo>>();
const inflight = new WeakMap<Cache, Map<string, Promise<Memo>>>();

function mapFor<V>(store: WeakMap<Cache, Map<string, V>>, cache: Cache): Map<string, V> {
  let m = store.get(cache);
  if (!m) store.set(cache, (m = new Map()));
  return m;
}

/** The repository's base URL without a trailing slash. */
export function sigstoreTufUrl(deps: VerifierDeps): string {
  return (deps.settings.sigstoreTufUrl ?? DEFAULT_SIGSTORE_TUF_URL).replace(/\/+$/, "");
}

/**
 * The verified `trusted_root.json` of the public-good instance (or the configured repository).
 * Answers from memory while fresh; past the recheck interval, a stale but unexpired root answers at
 * once and the refresh goes to `background` (awaited in line without one).
 */
export async function loadSigstoreTrustedRoot(deps: VerifierDeps, background?: Background): Promise<SigstoreRootResult> {
  const url = sigstoreTufUrl(deps);
  const now = deps.clock.now().getTime();
  const memo = mapFor(memos, deps.trustCache).get(url);
  // A clock that went back recomputes rather than trusting a memo from its future.
  if (memo && now >= memo.at && now < memo.until) return memo.result;
  if (background && memo?.state && now < memo.state.expires && memo.result.ok) {
    background(refresh(deps, url, false));
    return memo.result;
  }
  return (await refresh(deps, url, false)).result;
}

/** The cron's refresh: asks the repository whatever the memo and the stored state say. */
export async function refreshSigstoreTrustedRoot(deps: VerifierDeps): Promise<SigstoreRootResult> {
  return (await refresh(deps, sigstoreTufUrl(deps), true)).result;
}

/** One refresh per (cache, URL) at a time; its result becomes the memo. */
function refresh(deps: VerifierDeps, url: string, force: boolean): Promise<Memo> {
  const running = mapFor(inflight, deps.trustCache);
  const existing = running.get(url);
  if (existing) return existing;
  const work = resolve(deps, url, force)
    .then((memo) => {
      mapFor(memos, deps.trustCache).set(url, memo);
      return memo;
    })
    .finally(() => running.delete(url));
  running.set(url, work);
  return work;
}

const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");

async function resolve(deps: VerifierDeps, url: string, force: boolean): Promise<Memo> {
  const now = deps.clock.now().getTime();
  const key = STATE_PREFIX + (await sha256Hex(url));
  const stored = await readState(await deps.trustCache.get(key), now);
  const recheck = SIGSTORE_RECHECK_SECONDS * 1000;
  if (!force && stored && now < stored.checkedAt + recheck && now < stored.expires) {
    return { result: { ok: true, trustedRoot: stored.files.target }, at: now, until: Math.min(stored.checkedAt + recheck, stored.expires), state: stored };
  }
  try {
    const embedded = utf8(EMBEDDED_SIGSTORE_ROOT_JSON);
    const update = await updateTuf({
      trustedRoot: stored && (await rootVersion(stored.files.root)) >= (await rootVersion(embedded)) ? stored.files.root : embedded,
      ...(stored ? { previous: stored.files } : {}),
      fetcher: repositoryFetcher(deps, url),
      now: new Date(now),
      target: SIGSTORE_TRUSTED_ROOT_TARGET,
    });
    const state: TufState = { files: update.files, checkedAt: now, expires: update.expires };
    deps.counter.count("verify", `sigstore TUF ${url} (root v${update.rootVersion}, timestamp v${update.timestampVersion})`);
    // Awaited (the cron's refresh must land; a decision waits for it only when it already waited
    // for the repository); a failed write loses nothing but the next isolate's head start.
    await deps.trustCache.put(key, writeState(state), { ttlSeconds: STATE_TTL_SECONDS }).catch((e: unknown) => console.error("Sigstore TUF state write failed:", e));
    return { result: { ok: true, trustedRoot: state.files.target }, at: now, until: Math.min(now + recheck, state.expires), state };
  } catch (err) {
    const why = describe(err);
    const transient = !(err instanceof TufError) && !(err instanceof UpstreamError && !err.transient);
    const retry = now + SIGSTORE_RETRY_SECONDS * 1000;
    console.warn(`sigstore TUF refresh from ${url} failed: ${why}`);
    if (stored && now < stored.expires) {
      const note =
        `the Sigstore trust root could not be refreshed from ${url} (${why}); ` +
        `the trusted_root.json verified at ${iso(stored.checkedAt)} is used until its TUF metadata expires at ${iso(stored.expires)}`;
      return { result: { ok: true, trustedRoot: stored.files.target, note }, at: now, until: Math.min(retry, stored.expires), state: stored };
    }
    const result = stored
      ? ({
          ok: false,
          why: `the Sigstore trust root could not be refreshed from ${url} (${why}), and the last verified one expired at ${iso(stored.expires)}`,
          transient,
        } as const)
      : ({ ok: false, why: `the Sigstore trust root could not be verified from ${url}: ${why}`, transient } as const);
    return { result, at: now, until: retry };
  }
}

function describe(err: unknown): string {
  if (err instanceof TufError || err instanceof UpstreamError) return err.message;
  return err instanceof Error ? err.message : String(err);
}

async function rootVersion(bytes: Uint8Array): Promise<number> {
  const parsed = readStoredJson(new TextDecoder().decode(bytes));
  return parsed.ok && isRecord(parsed.value) && isRecord(parsed.value.signed) && typeof parsed.value.signed.version === "number"
    ? parsed.value.signed.version
    : 0;
}

/** Files from the repository: metadata at `<url>/<name>`, targets at `<url>/targets/<path>`. */
function repositoryFetcher(deps: VerifierDeps, url: string): TufFetcher {
  const http = new HttpClient({ fetch: deps.fetch, timeoutMs: deps.settings.upstreamTimeoutMs, counter: deps.counter });
  const host = new URL(url).host;
  const get = async (path: string, maxBytes: number, missing: readonly number[]): Promise<Uint8Array | null> => {
    const target = `${url}/${path}`;
    const res = await http.plainGet(target, { redirect: "follow", label: `Sigstore TUF repository ${host}` });
    if (missing.includes(res.status)) {
      await res.body?.cancel();
      return null;
    }
    if (!res.ok) {
      await res.body?.cancel();
      throw new UpstreamError("REGISTRY_BAD_RESPONSE", `${host} answered HTTP ${res.status} for ${path}`, res.status >= 500 || res.status === 429, target);
    }
    return http.readBounded(res, target, maxBytes);
  };
  return {
    // A root version the repository does not have is how the walk ends: object stores answer 403 or 404.
    metadata: (name, max) => get(name, max, /^\d+\.root\.json$/.test(name) ? [403, 404] : [404]),
    target: (path, max) => get(`targets/${path}`, max, [404]),
  };
}

const FILES = ["root", "timestamp", "snapshot", "targets", "target"] as const;

function writeState(state: TufState): string {
  return JSON.stringify({
    checkedAt: state.checkedAt,
    ...Object.fromEntries(FILES.map((f) => [f, base64Encode(state.files[f])])),
  });
}

/**
 * The stored state, verified again as TUF verifies it (signatures, versions, hashes) as of the
 * time it was checked; undefined for anything that does not verify. Its expiry is the caller's.
 */
async function readState(text: string | null, now: number): Promise<TufState | undefined> {
  const parsed = readStoredJson(text);
  if (!parsed.ok || !isRecord(parsed.value)) return undefined;
  const entry = parsed.value;
  if (!isTime(entry.checkedAt)) return undefined;
  const files: Partial<Record<(typeof FILES)[number], Uint8Array>> = {};
  for (const f of FILES) {
    const value = entry[f];
    const bytes = typeof value === "string" ? base64Decode(value) : undefined;
    if (!bytes || bytes.length > TUF_LIMITS.targetsBytes) return undefined;
    files[f] = bytes;
  }
  const complete = files as TufFiles;
  // A time from the future (skew, garbage) is read as now.
  const checkedAt = Math.min(entry.checkedAt, now);
  try {
    const update = await updateTuf({
      trustedRoot: complete.root,
      previous: complete,
      fetcher: storedFetcher(complete),
      now: new Date(checkedAt),
      target: SIGSTORE_TRUSTED_ROOT_TARGET,
    });
    return { files: update.files, checkedAt, expires: update.expires };
  } catch (err) {
    if (err instanceof TufError) return undefined;
    throw err;
  }
}

/** The stored files as a repository that has nothing newer: anything else it is asked for is a miss. */
function storedFetcher(files: TufFiles): TufFetcher {
  const incomplete = () => Promise.reject(new TufError("NOT_LISTED", "the stored state is incomplete"));
  return {
    metadata: (name) => (/^\d+\.root\.json$/.test(name) ? Promise.resolve(null) : name === "timestamp.json" ? Promise.resolve(files.timestamp) : incomplete()),
    target: incomplete,
  };
}
