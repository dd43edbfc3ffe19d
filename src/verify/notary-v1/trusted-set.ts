// The trusted metadata set of one Notary v1 repository, built from bytes in client order (tuf/builder.go).
//
// Pure and in-memory, in the style of tuf-js's TrustedMetadataStore: the caller fetches bytes
// (root → timestamp → snapshot → targets → delegations) and feeds them in; every step verifies
// signatures against keys already trusted, hashes against the role that lists the file, versions
// against previously trusted ones (rollback) and expiry against `now`. Any failure throws a
// NotaryV1Error and leaves the set as it was.

import { bytesEqual, sha256, sha512, toHex } from "../shared/encoding";
import { NotaryV1Error, fail } from "./errors";
import { canonicalKeyId, certificateProblem, keyId, keyMaterial, type PinnedKey, type TufKey } from "./keys";
import {
  isDelegationName,
  parentRole,
  parseEnvelope,
  parseRoot,
  parseSnapshot,
  parseTargets,
  parseTimestamp,
  roleKeyMap,
  type DelegatedRole,
  type FileMeta,
  type Hashes,
  type RootMetadata,
  type SignedEnvelope,
  type SnapshotMetadata,
  type TargetsMetadata,
  type TimestampMetadata,
} from "./roles";
import { verifyRole, type RoleVerification } from "./signatures";
import { DEFAULT_LIMITS } from "../../limits";

/** How the first root is trusted; later roots are trusted through the rotation chain. */
export type TrustAnchor =
  /** Trust on first use: the root only has to satisfy its own threshold. */
  | { readonly kind: "tofu" }
  /** notary `trust_pinning.certs`: root key IDs (the TUF key ID, or for certificates the canonical SPKI key ID). */
  | { readonly kind: "key-ids"; readonly keyIds: readonly string[] }
  /** Pinned public keys (PEM SPKI or certificate, see importPinnedKey), matched by SPKI bytes. */
  | { readonly kind: "public-keys"; readonly keys: readonly PinnedKey[] };

/** Highest versions trusted before, by role name (`root`, `timestamp`, `snapshot`, `targets`, `targets/releases`, ...). */
export type TrustedVersions = Readonly<Record<string, number>>;

export interface TrustedSetOptions {
  readonly anchor: TrustAnchor;
  /** The time every expiry (and root certificate validity) is checked against. */
  readonly now: Date;
  /**
   * The repository's GUN (`docker.io/library/alpine`). When set, root keys count only if they are
   * x509 certificates whose CN matches it (a trailing `*` is a prefix wildcard), as notary requires.
   * Without it any key type may sign the root (x509 validity periods are still checked).
   */
  readonly gun?: string;
  /** Versions trusted in earlier runs: anything lower is a rollback. */
  readonly previous?: TrustedVersions;
}

/** A delegation as its parent grants it: keys, threshold, and paths restricted by the parent's. */
export interface EffectiveDelegation extends DelegatedRole {
  readonly keys: ReadonlyMap<string, TufKey>;
}

interface Loaded<M> {
  readonly metadata: M;
  readonly bytes: Uint8Array;
  readonly verification: RoleVerification;
}

/** notary.MaxTimestampSize and MaxDownloadSize (`Limits.notary`). */
export const MAX_TIMESTAMP_SIZE = DEFAULT_LIMITS.notary.timestampBytes;
export const MAX_ROOT_SIZE = DEFAULT_LIMITS.notary.rootBytes;

export class TrustedSet {
  private rootState: Loaded<RootMetadata>;
  private timestampState?: Loaded<TimestampMetadata>;
  private snapshotState?: Loaded<SnapshotMetadata>;
  private targetsState?: Loaded<TargetsMetadata>;
  private readonly delegationStates = new Map<string, Loaded<TargetsMetadata> & { readonly role: EffectiveDelegation }>();

  private constructor(
    private readonly options: TrustedSetOptions,
    root: Loaded<RootMetadata>,
  ) {
    this.rootState = root;
  }

  /** Verifies the first root against the trust anchor; it must not be older than `previous.root`. */
  static async create(rootBytes: Uint8Array, options: TrustedSetOptions): Promise<TrustedSet> {
    if (!(options.now instanceof Date) || Number.isNaN(options.now.getTime())) throw new TypeError("TrustedSet: now must be a valid Date");
    const root = await verifyRoot(rootBytes, options, undefined);
    checkVersion("root", root.metadata.version, options.previous?.root);
    return new TrustedSet(options, root);
  }

  get root(): RootMetadata {
    return this.rootState.metadata;
  }
  /** The exact bytes of the trusted root (what the snapshot's `root` hash covers). */
  get rootBytes(): Uint8Array {
    return this.rootState.bytes;
  }
  get timestamp(): TimestampMetadata | undefined {
    return this.timestampState?.metadata;
  }
  get snapshot(): SnapshotMetadata | undefined {
    return this.snapshotState?.metadata;
  }
  get targets(): TargetsMetadata | undefined {
    return this.targetsState?.metadata;
  }
  get now(): Date {
    return this.options.now;
  }
  /** A loaded delegation's metadata. */
  delegation(name: string): TargetsMetadata | undefined {
    return this.delegationStates.get(name)?.metadata;
  }
  /** A loaded delegation's keys, threshold and effective paths. */
  delegationRole(name: string): EffectiveDelegation | undefined {
    return this.delegationStates.get(name)?.role;
  }
  /** Names of loaded delegations, in load order. */
  get delegationNames(): readonly string[] {
    return [...this.delegationStates.keys()];
  }
  /** The signature verification result of a loaded role (for diagnostics). */
  verification(role: string): RoleVerification | undefined {
    switch (role) {
      case "root":
        return this.rootState.verification;
      case "timestamp":
        return this.timestampState?.verification;
      case "snapshot":
        return this.snapshotState?.verification;
      case "targets":
        return this.targetsState?.verification;
      default:
        return this.delegationStates.get(role)?.verification;
    }
  }

  /**
   * Versions to persist for the next run's rollback check: for every role, the higher of the
   * previously trusted and the now trusted version.
   */
  versions(): Record<string, number> {
    const out: Record<string, number> = { ...this.options.previous };
    const put = (name: string, v: number | undefined): void => {
      if (v !== undefined) out[name] = Math.max(out[name] ?? 0, v);
    };
    put("root", this.root.version);
    put("timestamp", this.timestamp?.version);
    put("snapshot", this.snapshot?.version);
    put("targets", this.targets?.version);
    for (const [name, state] of this.delegationStates) put(name, state.metadata.version);
    return out;
  }

  /**
   * Root rotation: the new root must meet the trusted root's threshold with the trusted root's
   * keys and its own threshold with its own keys, and have a higher version. Intermediate roots
   * may be expired (expiry is checked once the root is final, at updateTimestamp).
   */
  async updateRoot(bytes: Uint8Array): Promise<RootMetadata> {
    if (this.timestampState) fail("OUT_OF_ORDER", "root: cannot update the root after the timestamp is loaded", "root");
    const next = await verifyRoot(bytes, this.options, this.rootState.metadata);
    if (next.metadata.version <= this.root.version) {
      fail("ROLLBACK", `root: version ${next.metadata.version} is not newer than trusted version ${this.root.version}`, "root");
    }
    this.rootState = next;
    return next.metadata;
  }

  async updateTimestamp(bytes: Uint8Array): Promise<TimestampMetadata> {
    const role = "timestamp";
    if (this.timestampState) fail("OUT_OF_ORDER", "timestamp: already loaded", role);
    // The root is final now: it must not be expired (notary loads the final root with allowExpired=false).
    checkExpiry("root", this.root.expires, this.options.now);
    checkBytes(bytes, role);
    if (bytes.length > MAX_TIMESTAMP_SIZE) fail("LENGTH_EXCEEDED", `timestamp: ${bytes.length} bytes exceed the ${MAX_TIMESTAMP_SIZE} byte limit`, role);
    const envelope = parseEnvelope(bytes, role);
    const verification = await verifyThreshold(envelope, role, this.root.keys, this.root.roles.timestamp.keyids, this.root.roles.timestamp.threshold);
    const metadata = parseTimestamp(envelope.signed);
    checkVersion(role, metadata.version, this.options.previous?.[role]);
    checkExpiry(role, metadata.expires, this.options.now);
    this.timestampState = { metadata, bytes, verification };
    return metadata;
  }

  async updateSnapshot(bytes: Uint8Array): Promise<SnapshotMetadata> {
    const role = "snapshot";
    if (!this.timestampState) fail("OUT_OF_ORDER", "snapshot: the timestamp must be loaded first", role);
    if (this.snapshotState) fail("OUT_OF_ORDER", "snapshot: already loaded", role);
    checkBytes(bytes, role);
    await checkFileMeta(bytes, this.timestampState.metadata.snapshot, role, "timestamp");
    const envelope = parseEnvelope(bytes, role);
    const verification = await verifyThreshold(envelope, role, this.root.keys, this.root.roles.snapshot.keyids, this.root.roles.snapshot.threshold);
    const metadata = parseSnapshot(envelope.signed);
    checkVersion(role, metadata.version, this.options.previous?.[role]);
    checkExpiry(role, metadata.expires, this.options.now);
    // The root we trust must be the one the snapshot lists (notary checks the loaded root's bytes
    // against the snapshot when the snapshot arrives): a stale root means updateRoot is due.
    await checkHashes(this.rootState.bytes, metadata.meta.get("root")!.hashes, "root", "snapshot");
    this.snapshotState = { metadata, bytes, verification };
    return metadata;
  }

  async updateTargets(bytes: Uint8Array): Promise<TargetsMetadata> {
    const role = "targets";
    if (!this.snapshotState) fail("OUT_OF_ORDER", "targets: the snapshot must be loaded first", role);
    if (this.targetsState) fail("OUT_OF_ORDER", "targets: already loaded", role);
    checkBytes(bytes, role);
    await checkFileMeta(bytes, this.snapshotState.metadata.meta.get(role)!, role, "snapshot");
    const envelope = parseEnvelope(bytes, role);
    const verification = await verifyThreshold(envelope, role, this.root.keys, this.root.roles.targets.keyids, this.root.roles.targets.threshold);
    const metadata = parseTargets(envelope.signed, role);
    checkVersion(role, metadata.version, this.options.previous?.[role]);
    checkExpiry(role, metadata.expires, this.options.now);
    this.targetsState = { metadata, bytes, verification };
    return metadata;
  }

  /**
   * Loads a delegation (`targets/releases`, `targets/alice`, `targets/a/b`): its parent must be
   * loaded and list it; keys and threshold come from the parent's delegations, the hash from the
   * snapshot. Order as notary's loadDelegation: hashes, structure, version, signatures, expiry.
   */
  async updateDelegation(name: string, bytes: Uint8Array): Promise<TargetsMetadata> {
    if (!isDelegationName(name)) fail("MALFORMED", `${JSON.stringify(name)} is not a delegation role name`, name);
    if (!this.targetsState || !this.snapshotState) fail("OUT_OF_ORDER", `${name}: targets must be loaded first`, name);
    if (this.delegationStates.has(name)) fail("OUT_OF_ORDER", `${name}: already loaded`, name);
    const role = this.findDelegation(name);
    const meta = this.snapshotState.metadata.meta.get(name);
    if (!meta) fail("MISSING_META", `${name}: the snapshot lists no hashes for this role`, name);
    checkBytes(bytes, name);
    await checkFileMeta(bytes, meta, name, "snapshot");
    const envelope = parseEnvelope(bytes, name);
    const metadata = parseTargets(envelope.signed, name);
    checkVersion(name, metadata.version, this.options.previous?.[name]);
    const verification = await verifyThreshold(envelope, name, role.keys, role.keyids, role.threshold);
    checkExpiry(name, metadata.expires, this.options.now);
    this.delegationStates.set(name, { metadata, bytes, verification, role });
    return metadata;
  }

  /** The delegation as its (loaded) parent grants it; DELEGATION_NOT_FOUND otherwise. */
  private findDelegation(name: string): EffectiveDelegation {
    const parentName = parentRole(name);
    const parent = parentName === "targets" ? this.targetsState?.metadata : this.delegationStates.get(parentName)?.metadata;
    if (!parent) fail("DELEGATION_NOT_FOUND", `${name}: parent role ${parentName} is not loaded`, name);
    const spec = parent.delegations.roles.find((r) => r.name === name);
    if (!spec) fail("DELEGATION_NOT_FOUND", `${name}: not delegated by ${parentName}`, name);
    const parentPaths = parentName === "targets" ? [""] : this.delegationStates.get(parentName)!.role.paths;
    return {
      name,
      keyids: spec.keyids,
      threshold: spec.threshold,
      // A child can only narrow its parent's paths (RestrictDelegationPathPrefixes).
      paths: spec.paths.filter((p) => parentPaths.some((pp) => p.startsWith(pp))),
      keys: roleKeyMap(parent.delegations.keys, spec.keyids),
    };
  }
}

// --- root validation (trustpinning/certs.go ValidateRoot) ---

async function verifyRoot(bytes: Uint8Array, options: TrustedSetOptions, previous: RootMetadata | undefined): Promise<Loaded<RootMetadata>> {
  const role = "root";
  checkBytes(bytes, role);
  if (bytes.length > MAX_ROOT_SIZE) fail("LENGTH_EXCEEDED", `root: ${bytes.length} bytes exceed the ${MAX_ROOT_SIZE} byte limit`, role);
  const envelope = parseEnvelope(bytes, role);
  const metadata = parseRoot(envelope.signed);

  if (previous) {
    // The previous root's keys vouch for the new root; their certificates may have expired since.
    const trusted = rootCandidateKeys(previous, options, false);
    const result = await verifyRole(envelope, trusted, previous.roles.root.threshold);
    if (!result.thresholdMet) {
      thresholdFailure(result, role, `root version ${metadata.version}: signatures by the keys of trusted root version ${previous.version}`);
    }
  }

  // A pinned key is the trust anchor of the first root: the certificate shape notary asks of a root
  // trusted on first use (one leaf, CN = GUN) does not apply to it, as Connaisseur does not ask it.
  const anchored = !previous && options.anchor.kind !== "tofu";
  const candidates = rootCandidateKeys(metadata, options, true, anchored);
  if (candidates.size === 0) {
    fail("ROOT_NOT_TRUSTED", `root version ${metadata.version}: no usable root key (${candidateRule(options)})`, role);
  }
  // The anchor decides about the first root only; later roots are trusted through the chain
  // (TUF). notary would apply trust pinning to every root, which refuses any rotation away from
  // a pinned certificate.
  const pinned = previous ? candidates : await applyPins(candidates, options.anchor);
  if (pinned.size === 0) fail("ROOT_NOT_TRUSTED", `root version ${metadata.version}: no root key matches the pinned keys`, role);
  const verification = await verifyRole(envelope, pinned, metadata.roles.root.threshold);
  if (!verification.thresholdMet) {
    const by = previous || options.anchor.kind === "tofu" ? "its own keys" : "pinned keys";
    thresholdFailure(verification, role, `root version ${metadata.version}: signatures by ${by}`);
  }
  return { metadata, bytes, verification };
}

function candidateRule(options: TrustedSetOptions): string {
  return options.gun === undefined
    ? "each is undecodable or an invalid, expired or CA certificate"
    : `root keys must be valid x509 certificates with CN matching ${options.gun}`;
}

/**
 * The root role keys that may sign a root: x509 keys need exactly one leaf (non-CA) certificate,
 * first in the bundle, with a sane validity window (and, for a new root, currently valid); with
 * a GUN, only certificates whose CN matches it. `anchored` (the first root under a pinned key):
 * the pin decides, so neither the leaf nor the CN rule applies; the first certificate's validity does.
 */
function rootCandidateKeys(root: RootMetadata, options: TrustedSetOptions, checkExpiry: boolean, anchored = false): Map<string, TufKey> {
  const out = new Map<string, TufKey>();
  for (const [id, key] of roleKeyMap(root.keys, root.roles.root.keyids)) {
    let material;
    try {
      material = keyMaterial(key);
    } catch (e) {
      if (e instanceof NotaryV1Error) continue;
      throw e;
    }
    const certs = material.certificates;
    if (!certs) {
      if (options.gun === undefined || anchored) out.set(id, key);
      continue;
    }
    if (anchored) {
      if (certs[0] && certificateProblem(certs[0], options.now, checkExpiry) === undefined) out.set(id, key);
      continue;
    }
    const leaves = certs.filter((c) => !c.isCA);
    if (leaves.length !== 1 || certs[0]!.isCA) continue;
    const leaf = leaves[0]!;
    if (options.gun !== undefined && !matchCnToGun(leaf.commonName, options.gun)) continue;
    if (certificateProblem(leaf, options.now, checkExpiry) !== undefined) continue;
    out.set(id, key);
  }
  return out;
}

/** notary MatchCNToGun: exact, or a trailing `*` as a prefix wildcard. */
export function matchCnToGun(commonName: string, gun: string): boolean {
  if (commonName.endsWith("*")) return gun.startsWith(commonName.replace(/\*+$/, ""));
  return commonName === gun;
}

async function applyPins(candidates: Map<string, TufKey>, anchor: TrustAnchor): Promise<Map<string, TufKey>> {
  switch (anchor.kind) {
    case "tofu":
      return candidates;
    case "key-ids": {
      const pins = new Set(anchor.keyIds.map((k) => k.toLowerCase()));
      const out = new Map<string, TufKey>();
      for (const [id, key] of candidates) {
        if (pins.has(id) || pins.has(await keyId(key)) || pins.has(await canonicalKeyId(key))) out.set(id, key);
      }
      return out;
    }
    case "public-keys": {
      const out = new Map<string, TufKey>();
      for (const [id, key] of candidates) {
        const spki = keyMaterial(key).spki.der;
        if (anchor.keys.some((pin) => bytesEqual(pin.spki, spki))) out.set(id, key);
      }
      return out;
    }
    default:
      throw new TypeError("TrustedSet: unknown trust anchor kind");
  }
}

// --- shared checks ---

async function verifyThreshold(
  envelope: SignedEnvelope,
  role: string,
  keys: ReadonlyMap<string, TufKey>,
  keyids: readonly string[],
  threshold: number,
): Promise<RoleVerification> {
  const result = await verifyRole(envelope, roleKeyMap(keys, keyids), threshold);
  if (!result.thresholdMet) thresholdFailure(result, role, role);
  return result;
}

function thresholdFailure(result: RoleVerification, role: string, subject: string): never {
  const details = result.invalid.map((i) => `${i.keyid.slice(0, 12)}: ${i.why}`);
  const suffix = details.length > 0 ? ` (${details.join("; ")})` : result.valid.length === 0 && result.ignored.length > 0 ? " (signed by unknown keys only)" : "";
  fail(
    result.invalid.length > 0 ? "BAD_SIGNATURE" : "THRESHOLD_NOT_MET",
    `${subject}: ${result.valid.length} of ${result.threshold} required signatures valid${suffix}`,
    role,
  );
}

function checkVersion(role: string, version: number, minimum: number | undefined): void {
  if (minimum !== undefined && version < minimum) {
    fail("ROLLBACK", `${role}: version ${version} is lower than the trusted version ${minimum}`, role);
  }
}

/** Expired when `expires` lies before `now` (notary IsExpired: t.Before(now)). */
function checkExpiry(role: string, expires: Date, now: Date): void {
  if (expires.getTime() < now.getTime()) fail("EXPIRED", `${role}: expired at ${expires.toISOString()}`, role);
}

function checkBytes(bytes: Uint8Array, role: string): void {
  if (!(bytes instanceof Uint8Array)) throw new TypeError(`${role}: bytes must be a Uint8Array`);
}

async function checkFileMeta(bytes: Uint8Array, meta: FileMeta, role: string, listedBy: string): Promise<void> {
  if (bytes.length > meta.length) {
    fail("LENGTH_EXCEEDED", `${role}: ${bytes.length} bytes exceed the length ${meta.length} listed by ${listedBy}`, role);
  }
  await checkHashes(bytes, meta.hashes, role, listedBy);
}

/** Every supported hash listed must match the exact bytes (notary CheckHashes); at least one must be listed. */
async function checkHashes(bytes: Uint8Array, hashes: Hashes, role: string, listedBy: string): Promise<void> {
  const [s256, s512] = await Promise.all([hashes.sha256 ? sha256(bytes) : undefined, hashes.sha512 ? sha512(bytes) : undefined]);
  if (!hashes.sha256 && !hashes.sha512) fail("MISSING_META", `${role}: ${listedBy} lists no supported hash`, role);
  if (hashes.sha256 && !bytesEqual(s256!, hashes.sha256)) {
    fail("HASH_MISMATCH", `${role}: sha256 ${toHex(s256!)} does not match ${toHex(hashes.sha256)} listed by ${listedBy}`, role);
  }
  if (hashes.sha512 && !bytesEqual(s512!, hashes.sha512)) {
    fail("HASH_MISMATCH", `${role}: sha512 does not match the hash listed by ${listedBy}`, role);
  }
}
