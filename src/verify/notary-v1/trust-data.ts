// Fetches a repository's trust data, verifies it through a TrustedSet in the notary client's order
// (root → timestamp → snapshot → targets → delegations), and reduces it to a small summary that
// can be cached and decided on without verifying again.
import { importPinnedKey, spkiOf } from "./keys";
import { base64Encode, sha256, toHex } from "../shared/encoding";
import { NotaryV1Error } from "./errors";
import type { FileMeta, TargetsMetadata } from "./roles";
import { pathAllowed } from "./targets-lookup";
import { MAX_ROOT_SIZE, MAX_TIMESTAMP_SIZE, TrustedSet, type TrustAnchor, type TrustedVersions } from "./trusted-set";
import { DEFAULT_LIMITS } from "../../limits";

/** Where role files come from: the trust server (`null` = the server has no such file). */
export interface RoleFetcher {
  fetch(file: string, maxBytes: number): Promise<Uint8Array | null>;
}

/** Caps on what one verification may fetch (hostile servers; `Limits.notary`). */
export const MAX_ROLE_SIZE = DEFAULT_LIMITS.notary.roleBytes;
export const MAX_DELEGATIONS = DEFAULT_LIMITS.notary.delegations;
export const MAX_ROOT_WALK = DEFAULT_LIMITS.notary.rootWalk;

export interface RoleSummary {
  /** Target name → sha256 hex, only names this role may sign (its paths). */
  readonly targets: Readonly<Record<string, string>>;
  /** SPKIs (base64 DER) of the role's keys: Portieris checks a signer's key is among them. */
  readonly keys: readonly string[];
}

export interface TrustSummary {
  readonly gun: string;
  /** When the trust data was last fetched and verified (ms since epoch). */
  readonly checkedAt: number;
  /** The earliest expiry among the roles used (ms): past it the summary decides nothing. */
  readonly expiresAt: number;
  /** "targets", "targets/releases", "targets/alice", ... (delegations with no metadata yet are empty). */
  readonly roles: Readonly<Record<string, RoleSummary>>;
  readonly versions: TrustedVersions;
}

export interface LoadOptions {
  readonly gun: string;
  readonly fetcher: RoleFetcher;
  readonly anchor: TrustAnchor;
  readonly now: Date;
  readonly previous?: TrustedVersions;
  /** A root trusted in an earlier run (TOFU): the server's root must rotate from it validly. */
  readonly trustedRoot?: Uint8Array;
  /** Called for each role whose signatures were verified (for work counters). */
  readonly onVerify?: (role: string) => void;
  /**
   * Top-level delegations the caller expects (docker's targets/releases, required signers' roles):
   * asked for with the first files instead of after targets.json names them. Only used when the
   * verified snapshot lists them.
   */
  readonly expectedDelegations?: readonly string[];
}

export interface LoadResult {
  readonly summary: TrustSummary;
  /** The newest trusted root, to be remembered for TOFU. */
  readonly rootBytes: Uint8Array;
}

/** Builds the anchor a requirement's pins ask for: PEM keys by SPKI, hex strings by key ID, none → TOFU. */
export async function anchorFor(rootKeys: readonly string[] | undefined): Promise<TrustAnchor> {
  if (!rootKeys || rootKeys.length === 0) return { kind: "tofu" };
  const ids = rootKeys.filter((k) => /^[a-f0-9]{64}$/.test(k));
  if (ids.length === rootKeys.length) return { kind: "key-ids", keyIds: ids };
  const pems = await Promise.all(rootKeys.filter((k) => !ids.includes(k)).map((k) => importPinnedKey(k)));
  if (ids.length === 0) return { kind: "public-keys", keys: pems };
  // Mixed pins: every pin becomes key IDs (a PEM pin contributes each ID it is known by).
  return { kind: "key-ids", keyIds: [...ids, ...pems.flatMap((p) => p.keyIds)] };
}

/** The server has no trust data for the repository at all (root.json is 404): it was never signed. */
export class NoTrustDataError extends Error {
  override readonly name = "NoTrustDataError";
  constructor(readonly gun: string) {
    // docker's words: "<server> does not have trust data for <gun>".
    super(`the trust server does not have trust data for ${gun}`);
  }
}

/**
 * The root trusted on first use, as remembered, cannot be read: trust cannot be pinned. The notary
 * client fails the same way on a cached root it cannot load, rather than trusting anew.
 */
export class TrustStateUnreadableError extends Error {
  override readonly name = "TrustStateUnreadableError";
  constructor(
    readonly gun: string,
    why: string,
  ) {
    super(`the root trusted on first use for ${gun} cannot be read from trustgate's state (${why})`);
  }
}

const missing = (file: string, gun: string): NotaryV1Error =>
  new NotaryV1Error("MALFORMED", `the trust server has no ${file} for ${gun}`, file.replace(/\.json$/, ""));

/**
 * Fetches a file listed with hashes; when the plain file no longer matches (a publish raced us),
 * asks once more by checksum (`snapshot.<hex>.json`), as the notary client does.
 */
async function fetchListed(fetcher: RoleFetcher, role: string, meta: FileMeta, speculative?: Promise<Uint8Array | null>): Promise<Uint8Array | null> {
  const max = Math.min(meta.length > 0 ? meta.length : MAX_ROLE_SIZE, MAX_ROLE_SIZE);
  // A file asked for before the snapshot listed it may have been published since: asked again.
  const plain = (speculative ? await speculative : null) ?? (await fetcher.fetch(`${role}.json`, max));
  const want = meta.hashes.sha256 ? toHex(meta.hashes.sha256) : undefined;
  if (!plain || !want || toHex(await sha256(plain)) === want) return plain;
  return (await fetcher.fetch(`${role}.${want}.json`, max)) ?? plain;
}

export async function loadTrustData(options: LoadOptions): Promise<LoadResult> {
  const { fetcher, gun } = options;
  const verified = (role: string) => options.onVerify?.(role);

  // Everything whose name is known up front is asked for at once.
  const rootP = fetcher.fetch("root.json", MAX_ROOT_SIZE);
  const timestampP = fetcher.fetch("timestamp.json", MAX_TIMESTAMP_SIZE);
  const snapshotP = fetcher.fetch("snapshot.json", MAX_ROLE_SIZE);
  const targetsP = fetcher.fetch("targets.json", MAX_ROLE_SIZE);
  // The delegations the caller expects go with them; the others are named in targets.json and
  // asked for as soon as it arrives, while the roles above are still being verified. Nothing is
  // trusted from either here: each file is checked against the verified snapshot before it is
  // used, and unlisted ones are never read.
  const expected = new Map<string, Promise<Uint8Array | null>>();
  for (const name of (options.expectedDelegations ?? []).slice(0, MAX_DELEGATIONS)) {
    if (TOP_LEVEL_DELEGATION.test(name) && !expected.has(name)) expected.set(name, fetcher.fetch(`${name}.json`, MAX_ROLE_SIZE));
  }
  // Unused speculative fetches must not surface as unhandled rejections.
  for (const p of [timestampP, snapshotP, targetsP, ...expected.values()]) p.catch(() => {});
  const delegationsP = targetsP.then((bytes) => speculateDelegations(fetcher, bytes, expected)).catch(() => expected);

  const rootBytes = await rootP;
  if (!rootBytes) throw new NoTrustDataError(gun);

  let set: TrustedSet;
  const tofu = options.anchor.kind === "tofu";
  const setOptions = {
    anchor: options.anchor,
    now: options.now,
    ...(options.previous ? { previous: options.previous } : {}),
    // notary requires root certificates named for the GUN, unless the user pinned keys themselves.
    ...(options.anchor.kind !== "public-keys" ? { gun } : {}),
  };
  if (tofu && options.trustedRoot) {
    set = await TrustedSet.create(options.trustedRoot, setOptions).catch((err: unknown) => {
      // Bytes that are no root at all are a broken state, not the server's doing.
      if (err instanceof NotaryV1Error && (err.code === "MALFORMED" || err.code === "WRONG_TYPE")) throw new TrustStateUnreadableError(gun, err.message);
      throw err;
    });
    verified("root");
    // Only its version is read here; updateRoot below checks it against the trusted keys.
    const servedVersion = (await TrustedSet.create(rootBytes, { ...setOptions, previous: {} })).root.version;
    if (servedVersion > set.root.version) {
      // Walk every intermediate root: each must be signed by its predecessor's keys (rotation).
      const from = set.root.version + 1;
      const to = Math.min(servedVersion - 1, from + MAX_ROOT_WALK);
      const steps = await Promise.all(
        Array.from({ length: Math.max(0, to - from + 1) }, (_, i) => fetcher.fetch(`${from + i}.root.json`, MAX_ROOT_SIZE)),
      );
      for (const [i, step] of steps.entries()) {
        if (!step) throw missing(`${from + i}.root.json`, gun);
        await set.updateRoot(step);
      }
      await set.updateRoot(rootBytes);
      verified("root");
    } else if (servedVersion < set.root.version) {
      throw new NotaryV1Error("ROLLBACK", `root: the server's version ${servedVersion} is older than the trusted version ${set.root.version}`, "root");
    }
  } else {
    set = await TrustedSet.create(rootBytes, setOptions);
    verified("root");
  }

  const timestamp = await timestampP;
  if (!timestamp) throw missing("timestamp.json", gun);
  await set.updateTimestamp(timestamp);
  verified("timestamp");

  const snapshot = await fetchListed(fetcher, "snapshot", set.timestamp!.snapshot, snapshotP);
  if (!snapshot) throw missing("snapshot.json", gun);
  await set.updateSnapshot(snapshot);
  verified("snapshot");

  const targetsMeta = set.snapshot!.meta.get("targets");
  if (!targetsMeta) throw new NotaryV1Error("MISSING_META", "snapshot: lists no targets role", "snapshot");
  const targets = await fetchListed(fetcher, "targets", targetsMeta, targetsP);
  if (!targets) throw missing("targets.json", gun);
  await set.updateTargets(targets);
  verified("targets");

  // Top-level delegations (docker's targets/releases and signer roles). A delegation that never
  // signed has no metadata and no snapshot entry: it holds nothing.
  const delegations = set.targets!.delegations.roles.filter((r) => !r.name.slice("targets/".length).includes("/"));
  if (delegations.length > MAX_DELEGATIONS) {
    throw new NotaryV1Error("MALFORMED", `targets: ${delegations.length} delegations, more than the ${MAX_DELEGATIONS} allowed`, "targets");
  }
  const listed = delegations.filter((r) => set.snapshot!.meta.has(r.name));
  const speculative = await delegationsP;
  const files = await Promise.all(listed.map((r) => fetchListed(fetcher, r.name, set.snapshot!.meta.get(r.name)!, speculative.get(r.name))));
  for (const [i, role] of listed.entries()) {
    const bytes = files[i];
    if (!bytes) throw missing(`${role.name}.json`, gun);
    await set.updateDelegation(role.name, bytes);
    verified(role.name);
  }

  const roles: Record<string, RoleSummary> = { targets: summarise(set.targets!, [""], []) };
  for (const role of delegations) {
    const loaded = set.delegation(role.name);
    const effective = set.delegationRole(role.name);
    const keys = [...(effective?.keys ?? new Map()).values(), ...role.keyids.map((id) => set.targets!.delegations.keys.get(id)).filter((k) => k !== undefined)];
    const spkis = [...new Set(keys.map((k) => spkiOf(k)).filter((s): s is Uint8Array => s !== undefined).map(base64Encode))];
    roles[role.name] = loaded ? summarise(loaded, effective?.paths ?? role.paths, spkis) : { targets: {}, keys: spkis };
  }

  const expiries = [set.root.expires, set.timestamp!.expires, set.snapshot!.expires, set.targets!.expires];
  for (const name of set.delegationNames) expiries.push(set.delegation(name)!.expires);
  return {
    rootBytes: set.rootBytes,
    summary: {
      gun,
      checkedAt: options.now.getTime(),
      expiresAt: Math.min(...expiries.map((d) => d.getTime())),
      roles,
      versions: set.versions(),
    },
  };
}

const TOP_LEVEL_DELEGATION = /^targets\/[^/]+$/;

/**
 * Starts fetching the top-level delegations an (unverified) targets.json names, at most
 * MAX_DELEGATIONS, besides those already asked for (`started`).
 */
function speculateDelegations(
  fetcher: RoleFetcher,
  bytes: Uint8Array | null,
  started: ReadonlyMap<string, Promise<Uint8Array | null>>,
): Map<string, Promise<Uint8Array | null>> {
  const out = new Map(started);
  if (!bytes) return out;
  let roles: unknown;
  try {
    roles = (JSON.parse(new TextDecoder().decode(bytes)) as { signed?: { delegations?: { roles?: unknown } } })?.signed?.delegations?.roles;
  } catch {
    return out;
  }
  if (!Array.isArray(roles) || roles.length > MAX_DELEGATIONS) return out;
  for (const role of roles as { name?: unknown }[]) {
    const name = role?.name;
    if (typeof name !== "string" || !TOP_LEVEL_DELEGATION.test(name) || out.has(name)) continue;
    const p = fetcher.fetch(`${name}.json`, MAX_ROLE_SIZE);
    p.catch(() => {});
    out.set(name, p);
  }
  return out;
}

function summarise(metadata: TargetsMetadata, paths: readonly string[], keys: string[]): RoleSummary {
  const targets: Record<string, string> = {};
  for (const [name, meta] of metadata.targets) {
    // A delegation may only sign names under its paths; anything else it lists is ignored.
    if (meta.hashes.sha256 && pathAllowed(paths, name)) targets[name] = toHex(meta.hashes.sha256);
  }
  return { targets, keys };
}
