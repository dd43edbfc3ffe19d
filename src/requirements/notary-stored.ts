// What the notary requirement keeps in the trust cache, read back strictly: the verified trust
// summary (`notary:trust:v1:…`) and the repository state (`notary:state:v1:…`: rollback versions,
// the root trusted on first use). An entry that is not what trustgate writes never decides.
//
// - A summary that does not read is a miss: the trust data is fetched and verified afresh.
// - State is security state, read part by part, as the notary client reads its local cache
//   (client/tufclient.go, repository.go bootstrapClient): versions that do not read are lost, like
//   a corrupt cached timestamp, snapshot or targets, whose minimum version becomes 1 there (here the
//   summary's versions stand in when it reads). A TOFU root that does not read is NOT trust on
//   first use again: notary fails hard on a cached root it cannot load ("that is how we pin trust"),
//   and trustgate denies with NOTARY_TRUST_STATE_UNREADABLE until the entry is deleted
//   (docs/security.md). Re-trusting would let whoever broke the entry choose the next root.
import { base64Decode } from "../verify/shared/encoding";
import type { TrustSummary } from "../verify/notary-v1/trust-data";
import type { TrustedVersions } from "../verify/notary-v1/trusted-set";
import { isRecord, isTime, readStoredJson } from "../stored";
import { entryCache } from "./entry-cache";

/** What is remembered per trust server and GUN across requests, as written. */
export interface RepositoryState {
  readonly versions: TrustedVersions;
  /** base64 of the first trusted root's bytes (or its successor), when trust is on first use. */
  readonly root?: string;
  /** When it was written (ms); absent in states written before this field existed. */
  readonly writtenAt?: number;
}

/** A state entry as read: each part, or what could not be read of it. */
export interface StoredState {
  /** Rollback floors; undefined when there is no entry or its versions do not read. */
  readonly versions?: TrustedVersions;
  /** The TOFU root's bytes; "unreadable" when the entry exists but no root can be read from it. */
  readonly root?: Uint8Array | "unreadable";
  /** When it was written (ms), when that reads. */
  readonly writtenAt?: number;
}

const SHA256_HEX = /^[a-f0-9]{64}$/;

function readVersions(v: unknown): TrustedVersions | undefined {
  if (!isRecord(v)) return undefined;
  return Object.values(v).every((n) => Number.isSafeInteger(n) && (n as number) >= 0) ? (v as TrustedVersions) : undefined;
}

/**
 * Verified trust summaries per (server, GUN, pins): `notary:trust:v1:<hash>`. An entry is read only
 * for the GUN it was asked for (`summaryFor`).
 */
export const trustSummaries = entryCache<TrustSummary>("notary:trust:v1:", readTrustSummary);

/** The summary when it is `gun`'s, else undefined (a miss). */
export function summaryFor(summary: TrustSummary | undefined, gun: string): TrustSummary | undefined {
  return summary?.gun === gun ? summary : undefined;
}

/** A summary, or undefined when the entry is missing or is not one trustgate wrote. */
function readTrustSummary(text: string | null): TrustSummary | undefined {
  const stored = readStoredJson(text);
  const value = stored.ok ? stored.value : undefined;
  if (!isRecord(value) || typeof value.gun !== "string" || !isTime(value.checkedAt) || !isTime(value.expiresAt)) return undefined;
  if (!readVersions(value.versions) || !isRecord(value.roles) || !isRecord(value.roles.targets)) return undefined;
  for (const role of Object.values(value.roles)) {
    if (!isRecord(role) || !isRecord(role.targets) || !Array.isArray(role.keys)) return undefined;
    if (!Object.values(role.targets).every((h) => typeof h === "string" && SHA256_HEX.test(h))) return undefined;
    if (!role.keys.every((k) => typeof k === "string")) return undefined;
  }
  return value as unknown as TrustSummary;
}

/** The state entry part by part: no entry is first use; see the header for what an unreadable part means. */
export function readRepositoryState(text: string | null): StoredState {
  if (text === null) return {};
  const stored = readStoredJson(text);
  const ok = stored.ok;
  const value = stored.ok ? stored.value : undefined;
  // Not even JSON: whether it held a root cannot be told, so it is taken to have held one.
  if (!ok || !isRecord(value)) return { root: "unreadable" };
  const versions = readVersions(value.versions);
  let root: StoredState["root"];
  if (value.root !== undefined) root = (typeof value.root === "string" && base64Decode(value.root)) || "unreadable";
  const writtenAt = typeof value.writtenAt === "number" && Number.isFinite(value.writtenAt) ? value.writtenAt : undefined;
  return { ...(versions ? { versions } : {}), ...(root ? { root } : {}), ...(writtenAt !== undefined ? { writtenAt } : {}) };
}
