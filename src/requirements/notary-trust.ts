// Fetching and verifying one repository's trust data from what trustgate keeps about it, for a
// decision (notary.ts) and for the cron's refresh (notary-refresh.ts) alike: the state read by
// notary-stored.ts's rules, verified in loadTrustData, and the writes that keep what was verified.
import type { Cache } from "../ports";
import { stableStringify } from "../encoding";
import { base64Encode } from "../verify/shared/encoding";
import { anchorFor, loadTrustData, TrustStateUnreadableError, type RoleFetcher, type TrustSummary } from "../verify/notary-v1/trust-data";
import { readRepositoryState, trustSummaries, type RepositoryState } from "./notary-stored";

const YEAR = 365 * 86_400;
/** An unchanged state is written again only this long after it was (its KV entry lives a year). */
const STATE_REFRESH_MS = 30 * 86_400_000;
/**
 * An unchanged summary verified again within this long is not written again: with re-checks on
 * every decision (TRUST_RECHECK_SECONDS below a minute) a busy repository would otherwise write its
 * key on every decision, and KV takes one write per second per key (and keeps reads up to 60 s).
 */
const SUMMARY_REWRITE_MS = 60_000;

export interface TrustVerification {
  readonly gun: string;
  readonly rootKeys: readonly string[] | undefined;
  readonly summaryKey: string;
  readonly stateKey: string;
  /** The state entry as read, and the summary read beside it (its versions stand in for unreadable ones). */
  readonly stateText: string | null;
  readonly summary: TrustSummary | undefined;
  readonly fetcher: RoleFetcher;
  readonly now: Date;
  readonly cache: Cache;
  readonly expectedDelegations?: readonly string[];
  readonly onVerify: (role: string) => void;
}

/**
 * The verified summary, and the writes that keep it and the repository state (started, for the
 * caller to await or hand to the background). Throws what loadTrustData throws, and
 * TrustStateUnreadableError for a TOFU root that does not read (never re-trusted).
 */
export async function verifyTrustData(v: TrustVerification): Promise<{ summary: TrustSummary; writes: Promise<unknown> }> {
  const state = readRepositoryState(v.stateText);
  const anchor = await anchorFor(v.rootKeys);
  if (anchor.kind === "tofu" && state.root === "unreadable") throw new TrustStateUnreadableError(v.gun, `${v.stateKey} is not a state trustgate wrote`);
  const trustedRoot = anchor.kind === "tofu" && state.root instanceof Uint8Array ? state.root : undefined;
  const result = await loadTrustData({
    gun: v.gun,
    fetcher: v.fetcher,
    anchor,
    now: v.now,
    // Versions that do not read: the summary's, verified with them, are the next best floor.
    previous: state.versions ?? v.summary?.versions ?? {},
    ...(trustedRoot ? { trustedRoot } : {}),
    ...(v.expectedDelegations ? { expectedDelegations: v.expectedDelegations } : {}),
    onVerify: v.onVerify,
  });
  const summary = result.summary;
  const now = v.now.getTime();
  const keptRoot = anchor.kind === "tofu" ? result.rootBytes : state.root;
  const nextRoot = keptRoot instanceof Uint8Array ? base64Encode(keptRoot) : undefined;
  const nextState: RepositoryState = { versions: summary.versions, ...(nextRoot !== undefined ? { root: nextRoot } : {}), writtenAt: now };
  // Most re-checks change no version: the state is then left as it is (one KV write less, and KV
  // takes one write per second per key), unless it is getting old.
  const storedRoot = state.root instanceof Uint8Array ? base64Encode(state.root) : undefined;
  const stateCurrent =
    state.writtenAt !== undefined &&
    now - state.writtenAt < STATE_REFRESH_MS &&
    state.versions !== undefined &&
    stableStringify(state.versions) === stableStringify(nextState.versions) &&
    storedRoot === nextRoot;
  const summaryCurrent =
    v.summary !== undefined && now - v.summary.checkedAt < SUMMARY_REWRITE_MS && sameTrust(v.summary, summary);
  const writes = Promise.all([
    ...(summaryCurrent ? [] : [trustSummaries.put(v.cache, v.summaryKey, summary, Math.ceil((summary.expiresAt - now) / 1000))]),
    // A state whose TOFU root does not read is left as it is (a pinned rule does not need it): it is
    // the operator's to delete, never silently replaced by one without a root.
    ...(keptRoot === "unreadable" || stateCurrent ? [] : [v.cache.put(v.stateKey, JSON.stringify(nextState), { ttlSeconds: YEAR })]),
  ]);
  return { summary, writes };
}

/** The same verified trust data, whenever it was checked. */
function sameTrust(a: TrustSummary, b: TrustSummary): boolean {
  return stableStringify({ ...a, checkedAt: 0 }) === stableStringify({ ...b, checkedAt: 0 });
}
