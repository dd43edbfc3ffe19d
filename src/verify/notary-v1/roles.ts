// Strict parsers for Notary v1 role files (tuf/data/root.go, targets.go, snapshot.go, timestamp.go).

import { base64Decode, utf8DecodeStrict } from "../shared/encoding";
import { NotaryV1Error, fail } from "./errors";
import { parseTufKey, type TufKey } from "./keys";
import { isRecord } from "../../stored";

export { NotaryV1Error, type NotaryV1ErrorCode } from "./errors";

export const TOP_LEVEL_ROLES = ["root", "targets", "snapshot", "timestamp"] as const;
export type TopLevelRole = (typeof TOP_LEVEL_ROLES)[number];

/** `_type` per role; delegations are `Targets` too (`tuf/data/types.go` TUFTypes). */
export const ROLE_TYPES = { root: "Root", targets: "Targets", snapshot: "Snapshot", timestamp: "Timestamp" } as const;

export interface RawSignature {
  readonly keyid: string;
  /** Lower-cased, as notary's Signature.UnmarshalJSON does. */
  readonly method: string;
  readonly sig: Uint8Array;
}

/** A role file split into the signed object (kept as parsed JSON, for re-canonicalising) and signatures. */
export interface SignedEnvelope {
  readonly signed: Record<string, unknown>;
  readonly signatures: readonly RawSignature[];
}

export interface RoleKeys {
  readonly keyids: readonly string[];
  readonly threshold: number;
}

interface CommonMetadata {
  readonly version: number;
  readonly expires: Date;
}

export interface RootMetadata extends CommonMetadata {
  readonly type: "Root";
  readonly keys: ReadonlyMap<string, TufKey>;
  readonly roles: Readonly<Record<TopLevelRole, RoleKeys>>;
  readonly consistentSnapshot: boolean;
}

export interface Hashes {
  readonly sha256?: Uint8Array;
  readonly sha512?: Uint8Array;
}

export interface FileMeta {
  /** Upper bound on the file size (notary's download limit), never compared for equality. */
  readonly length: number;
  /** Supported hashes only; other algorithms are ignored, as notary's CheckHashes does. */
  readonly hashes: Hashes;
  readonly custom?: unknown;
}

export interface DelegatedRole extends RoleKeys {
  readonly name: string;
  /** Target-name prefixes; `""` allows everything, an empty list allows nothing. */
  readonly paths: readonly string[];
}

export interface TargetsMetadata extends CommonMetadata {
  readonly type: "Targets";
  readonly targets: ReadonlyMap<string, FileMeta>;
  readonly delegations: {
    readonly keys: ReadonlyMap<string, TufKey>;
    readonly roles: readonly DelegatedRole[];
  };
}

export interface SnapshotMetadata extends CommonMetadata {
  readonly type: "Snapshot";
  readonly meta: ReadonlyMap<string, FileMeta>;
}

export interface TimestampMetadata extends CommonMetadata {
  readonly type: "Timestamp";
  readonly meta: ReadonlyMap<string, FileMeta>;
  readonly snapshot: FileMeta;
}

// --- envelope ---

/** Parses role file bytes into the signed object and its signatures. `role` is for messages. */
export function parseEnvelope(bytes: Uint8Array, role: string): SignedEnvelope {
  if (!(bytes instanceof Uint8Array)) throw new TypeError("parseEnvelope: bytes must be a Uint8Array");
  const text = utf8DecodeStrict(bytes);
  if (text === undefined) fail("MALFORMED", `${role}: not valid UTF-8`, role);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    fail("MALFORMED", `${role}: not valid JSON (${e instanceof Error ? e.message : String(e)})`, role, e);
  }
  const top = object(doc, role, role, ["signed", "signatures"]);
  const signed = object(top.signed, `${role}: signed`, role);
  if (!Array.isArray(top.signatures)) fail("MALFORMED", `${role}: signatures must be an array`, role);
  const signatures = top.signatures.map((s, i): RawSignature => {
    const where = `${role}: signatures[${i}]`;
    const o = object(s, where, role, ["keyid", "method", "sig"]);
    if (typeof o.keyid !== "string" || o.keyid === "") fail("MALFORMED", `${where}.keyid must be a non-empty string`, role);
    if (typeof o.method !== "string") fail("MALFORMED", `${where}.method must be a string`, role);
    if (typeof o.sig !== "string") fail("MALFORMED", `${where}.sig must be a base64 string`, role);
    const sig = base64Decode(o.sig);
    if (sig === undefined) fail("MALFORMED", `${where}.sig is not valid base64`, role);
    return { keyid: o.keyid, method: o.method.toLowerCase(), sig };
  });
  return { signed, signatures };
}

// --- role bodies ---

export function parseRoot(signed: Record<string, unknown>): RootMetadata {
  const role = "root";
  const o = object(signed, role, role, ["_type", "version", "expires", "keys", "roles", "consistent_snapshot"]);
  const common = parseCommon(o, role, ROLE_TYPES.root);
  const keys = parseKeyMap(o.keys, `${role}: keys`, role);
  const rolesObj = object(o.roles, `${role}: roles`, role);
  const roles = {} as Record<TopLevelRole, RoleKeys>;
  for (const name of TOP_LEVEL_ROLES) {
    if (!Object.hasOwn(rolesObj, name) || rolesObj[name] === null) fail("MALFORMED", `${role}: missing ${name} role specification`, role);
    roles[name] = parseRoleKeys(rolesObj[name], `${role}: roles.${name}`, role, keys, `${name} role`);
  }
  const cs = o.consistent_snapshot;
  if (cs !== undefined && typeof cs !== "boolean") fail("MALFORMED", `${role}: consistent_snapshot must be a boolean`, role);
  return { type: "Root", ...common, keys, roles, consistentSnapshot: cs === true };
}

export function parseTargets(signed: Record<string, unknown>, roleName: string): TargetsMetadata {
  if (roleName !== "targets" && !isDelegationName(roleName)) fail("MALFORMED", `${roleName} is not a targets role name`, roleName);
  const o = object(signed, roleName, roleName, ["_type", "version", "expires", "targets", "delegations"]);
  const common = parseCommon(o, roleName, ROLE_TYPES.targets);
  const targetsObj = object(o.targets, `${roleName}: targets`, roleName);
  const targets = new Map<string, FileMeta>();
  for (const [name, meta] of Object.entries(targetsObj)) {
    targets.set(name, parseFileMeta(meta, `${roleName}: targets[${JSON.stringify(name)}]`, roleName, false));
  }
  let keys: ReadonlyMap<string, TufKey> = new Map();
  const roles: DelegatedRole[] = [];
  if (o.delegations !== undefined && o.delegations !== null) {
    const d = object(o.delegations, `${roleName}: delegations`, roleName, ["keys", "roles"]);
    keys = d.keys === undefined || d.keys === null ? new Map() : parseKeyMap(d.keys, `${roleName}: delegations.keys`, roleName);
    if (d.roles !== undefined && d.roles !== null) {
      if (!Array.isArray(d.roles)) fail("MALFORMED", `${roleName}: delegations.roles must be an array`, roleName);
      d.roles.forEach((r, i) => {
        const where = `${roleName}: delegations.roles[${i}]`;
        const ro = object(r, where, roleName, ["name", "keyids", "threshold", "paths"]);
        if (typeof ro.name !== "string" || !isDelegationName(ro.name)) {
          fail("MALFORMED", `${where}: delegation role ${JSON.stringify(ro.name)} invalid`, roleName);
        }
        const rk = parseRoleKeys(ro, where, roleName, keys, ro.name);
        let paths: string[] = [];
        if (ro.paths !== undefined && ro.paths !== null) {
          if (!Array.isArray(ro.paths) || !ro.paths.every((p) => typeof p === "string")) {
            fail("MALFORMED", `${where}.paths must be an array of strings`, roleName);
          }
          paths = ro.paths as string[];
        }
        roles.push({ name: ro.name, ...rk, paths });
      });
    }
  }
  return { type: "Targets", ...common, targets, delegations: { keys, roles } };
}

export function parseSnapshot(signed: Record<string, unknown>): SnapshotMetadata {
  const role = "snapshot";
  const o = object(signed, role, role, ["_type", "version", "expires", "meta"]);
  const common = parseCommon(o, role, ROLE_TYPES.snapshot);
  const meta = parseMetaMap(o.meta, role);
  // Root and targets must be listed with a sha256 (IsValidSnapshotStructure).
  for (const required of ["root", "targets"]) {
    if (!meta.get(required)?.hashes.sha256) fail("MALFORMED", `snapshot: missing ${required} sha256 checksum information`, role);
  }
  return { type: "Snapshot", ...common, meta };
}

export function parseTimestamp(signed: Record<string, unknown>): TimestampMetadata {
  const role = "timestamp";
  const o = object(signed, role, role, ["_type", "version", "expires", "meta"]);
  const common = parseCommon(o, role, ROLE_TYPES.timestamp);
  const meta = parseMetaMap(o.meta, role);
  const snapshot = meta.get("snapshot");
  if (!snapshot?.hashes.sha256) fail("MALFORMED", "timestamp: missing snapshot sha256 checksum information", role);
  return { type: "Timestamp", ...common, meta, snapshot };
}

// --- names ---

const DELEGATION_NAME = /^[-a-z0-9_/]+$/;

/** notary IsDelegation: `targets/...`, allowed characters, < 256 bytes, already path-clean. */
export function isDelegationName(name: string): boolean {
  return (
    name.startsWith("targets/") &&
    DELEGATION_NAME.test(name) &&
    name.length < 256 &&
    !name.endsWith("/") &&
    !name.includes("//") &&
    !name.split("/").some((seg) => seg === "." || seg === "..")
  );
}

/** The role that delegates to `name` (path.Dir): `targets/a/b` → `targets/a`, `targets/a` → `targets`. */
export function parentRole(name: string): string {
  const i = name.lastIndexOf("/");
  return i <= 0 ? "." : name.slice(0, i);
}

// --- time ---

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:[Zz]|([+-])(\d{2}):(\d{2}))$/;

/** RFC 3339 with up to nine fractional digits and any offset; sub-millisecond digits are truncated. */
export function parseExpires(text: string): Date | undefined {
  const m = RFC3339.exec(text);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = [1, 2, 3, 4, 5, 6].map((i) => Number(m[i]));
  const ms = m[7] ? Number(m[7].padEnd(9, "0").slice(0, 3)) : 0;
  if (month! < 1 || month! > 12 || hour! > 23 || minute! > 59 || second! > 59) return undefined;
  const date = new Date(0);
  date.setUTCFullYear(year!, month! - 1, day!);
  if (date.getUTCDate() !== day || day === 0) return undefined; // e.g. 2023-02-30
  date.setUTCHours(hour!, minute!, second!, ms);
  if (m[8]) {
    const oh = Number(m[9]);
    const om = Number(m[10]);
    if (oh > 23 || om > 59) return undefined;
    const offset = (oh * 60 + om) * 60_000;
    date.setTime(date.getTime() + (m[8] === "+" ? -offset : offset));
  }
  return date;
}

// --- helpers ---

/**
 * Requires a plain object. When `fields` is given, a key that equals one of them only up to case
 * is refused: Go's decoder would match it case-insensitively into the typed field while the
 * canonical bytes keep both keys, so the two could disagree about what was signed.
 */
function object(value: unknown, where: string, role: string, fields?: readonly string[]): Record<string, unknown> {
  if (!isRecord(value)) fail("MALFORMED", `${where} must be an object`, role);
  if (fields) {
    for (const key of Object.keys(value)) {
      if (fields.includes(key)) continue;
      const lower = key.toLowerCase();
      if (fields.some((f) => f.toLowerCase() === lower)) fail("MALFORMED", `${where}: ambiguous field ${JSON.stringify(key)}`, role);
    }
  }
  return value;
}

function parseCommon(o: Record<string, unknown>, role: string, expectedType: string): CommonMetadata {
  if (o._type !== expectedType) {
    fail("WRONG_TYPE", `${role}: expected type ${expectedType}, not ${typeof o._type === "string" ? o._type : JSON.stringify(o._type)}`, role);
  }
  const version = o.version;
  if (typeof version !== "number" || !Number.isSafeInteger(version)) fail("MALFORMED", `${role}: version must be an integer`, role);
  if (version < 1) fail("MALFORMED", `${role}: version cannot be less than 1 (got ${version})`, role);
  if (typeof o.expires !== "string") fail("MALFORMED", `${role}: expires must be an RFC 3339 string`, role);
  const expires = parseExpires(o.expires);
  if (!expires) fail("MALFORMED", `${role}: expires ${JSON.stringify(o.expires)} is not RFC 3339`, role);
  return { version, expires };
}

function parseKeyMap(value: unknown, where: string, role: string): Map<string, TufKey> {
  const obj = object(value, where, role);
  const keys = new Map<string, TufKey>();
  for (const [id, k] of Object.entries(obj)) {
    try {
      keys.set(id, parseTufKey(k, `${where}[${id}]`));
    } catch (e) {
      if (e instanceof NotaryV1Error) fail("MALFORMED", e.message, role, e);
      throw e;
    }
  }
  return keys;
}

function parseRoleKeys(
  value: unknown,
  where: string,
  role: string,
  keys: ReadonlyMap<string, TufKey>,
  label: string,
): RoleKeys {
  const o = object(value, where, role, ["keyids", "threshold"]);
  const { keyids, threshold } = o;
  if (!Array.isArray(keyids) || !keyids.every((k) => typeof k === "string")) fail("MALFORMED", `${where}.keyids must be an array of strings`, role);
  if (typeof threshold !== "number" || !Number.isSafeInteger(threshold) || threshold < 1) {
    fail("MALFORMED", `${role}: invalid threshold specified for ${label}: ${JSON.stringify(threshold)}`, role);
  }
  for (const id of keyids as string[]) {
    if (!keys.has(id)) fail("MALFORMED", `${role}: key ID ${id} specified in ${label} without corresponding key`, role);
  }
  return { keyids: keyids as string[], threshold };
}

const HASH_SIZES = { sha256: 32, sha512: 64 } as const;

function parseFileMeta(value: unknown, where: string, role: string, requireSupportedHash: boolean): FileMeta {
  const o = object(value, where, role, ["length", "hashes", "custom"]);
  const { length } = o;
  if (typeof length !== "number" || !Number.isSafeInteger(length) || length < 0) fail("MALFORMED", `${where}.length must be a non-negative integer`, role);
  const h = object(o.hashes, `${where}.hashes`, role);
  const hashes: { sha256?: Uint8Array; sha512?: Uint8Array } = {};
  for (const [alg, digest] of Object.entries(h)) {
    if (typeof digest !== "string") fail("MALFORMED", `${where}.hashes.${alg} must be a base64 string`, role);
    const bytes = base64Decode(digest);
    if (bytes === undefined) fail("MALFORMED", `${where}.hashes.${alg} is not valid base64`, role);
    if (alg === "sha256" || alg === "sha512") {
      if (bytes.length !== HASH_SIZES[alg]) fail("MALFORMED", `${where}.hashes.${alg} must be ${HASH_SIZES[alg]} bytes, got ${bytes.length}`, role);
      hashes[alg] = bytes;
    }
  }
  if (requireSupportedHash && !hashes.sha256 && !hashes.sha512) fail("MALFORMED", `${where}: at least one supported hash needed`, role);
  return o.custom === undefined ? { length, hashes } : { length, hashes, custom: o.custom };
}

function parseMetaMap(value: unknown, role: string): Map<string, FileMeta> {
  const obj = object(value, `${role}: meta`, role);
  const meta = new Map<string, FileMeta>();
  for (const [name, m] of Object.entries(obj)) meta.set(name, parseFileMeta(m, `${role}: meta[${JSON.stringify(name)}]`, role, true));
  return meta;
}

/** The keys a role's key IDs name, as a map for verifyRole. */
export function roleKeyMap(keys: ReadonlyMap<string, TufKey>, keyids: readonly string[]): Map<string, TufKey> {
  const out = new Map<string, TufKey>();
  for (const id of keyids) {
    const key = keys.get(id);
    if (key) out.set(id, key);
  }
  return out;
}
