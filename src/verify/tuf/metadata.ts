// TUF 1.0 metadata files read strictly: root, timestamp, snapshot and targets, each a signed
// envelope `{signed, signatures}` whose signatures cover the canonical JSON of `signed`.
// Fields the client does not use (delegations, custom, x-* extensions) are kept in `signed`
// (they are signed) and otherwise ignored.
import { CanonicalJsonError, encodeCanonical } from "../shared/canonical-json";
import { utf8DecodeStrict } from "../shared/encoding";
import { isRecord } from "../../stored";
import { fail } from "./errors";
import { hexDecode, parseKey, type TufKey } from "./keys";
import { TUF_LIMITS } from "./limits";

export type RoleName = "root" | "timestamp" | "snapshot" | "targets";
export const TOP_LEVEL_ROLES: readonly RoleName[] = ["root", "timestamp", "snapshot", "targets"];

export interface Signature {
  readonly keyid: string;
  readonly sig: Uint8Array;
}

export interface Common {
  readonly version: number;
  /** ms since the epoch. */
  readonly expires: number;
}

export interface RoleKeys {
  readonly keyids: readonly string[];
  readonly threshold: number;
}

export interface Root extends Common {
  readonly type: "root";
  readonly consistentSnapshot: boolean;
  readonly keys: ReadonlyMap<string, TufKey>;
  readonly roles: Readonly<Record<RoleName, RoleKeys>>;
}

/** What a timestamp says of snapshot.json, and a snapshot of each targets file. */
export interface MetaFile {
  readonly version: number;
  readonly length?: number;
  readonly hashes?: Readonly<Record<string, string>>;
}

export interface Timestamp extends Common {
  readonly type: "timestamp";
  readonly snapshot: MetaFile;
}

export interface Snapshot extends Common {
  readonly type: "snapshot";
  readonly meta: ReadonlyMap<string, MetaFile>;
}

export interface TargetFile {
  readonly length: number;
  readonly hashes: Readonly<Record<string, string>>;
}

export interface Targets extends Common {
  readonly type: "targets";
  readonly targets: ReadonlyMap<string, TargetFile>;
}

export type Metadata = Root | Timestamp | Snapshot | Targets;
type Of<T extends RoleName> = Extract<Metadata, { type: T }>;

/** A parsed file: its fields, its signatures, and the bytes they sign. */
export interface Envelope<M extends Metadata = Metadata> {
  readonly metadata: M;
  readonly signatures: readonly Signature[];
  /** Canonical JSON of `signed`. */
  readonly signedBytes: Uint8Array;
}

/** Parses one metadata file of `type`; throws TufError MALFORMED / WRONG_TYPE. */
export function parseMetadata<T extends RoleName>(bytes: Uint8Array, type: T): Envelope<Of<T>> {
  const text = utf8DecodeStrict(bytes);
  if (text === undefined) fail("MALFORMED", `${type}.json is not UTF-8`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    fail("MALFORMED", `${type}.json is not JSON`, e);
  }
  if (!isRecord(doc) || !isRecord(doc.signed) || !Array.isArray(doc.signatures)) {
    fail("MALFORMED", `${type}.json must be an object with "signed" and "signatures"`);
  }
  const signed = doc.signed;
  if (signed._type !== type) fail("WRONG_TYPE", `${type}.json holds ${JSON.stringify(signed._type)} metadata, not ${type}`);
  if (doc.signatures.length > TUF_LIMITS.signatures) fail("MALFORMED", `${type}.json has more than ${TUF_LIMITS.signatures} signatures`);
  const signatures = doc.signatures.map((s, i): Signature => {
    if (!isRecord(s) || typeof s.keyid !== "string" || typeof s.sig !== "string") {
      fail("MALFORMED", `${type}.json signatures[${i}] must have string keyid and sig`);
    }
    const sig = hexDecode(s.sig);
    if (!sig) fail("MALFORMED", `${type}.json signatures[${i}].sig is not hex`);
    return { keyid: s.keyid, sig };
  });
  let signedBytes: Uint8Array;
  try {
    signedBytes = encodeCanonical(signed);
  } catch (e) {
    if (e instanceof CanonicalJsonError) fail("MALFORMED", `${type}.json: ${e.message}`, e);
    throw e;
  }
  const where = `${type}.json`;
  const common = readCommon(signed, where);
  let metadata: Metadata;
  switch (type) {
    case "root":
      metadata = { type: "root", ...common, ...readRoot(signed, where) };
      break;
    case "timestamp": {
      const meta = readMetaMap(signed.meta, `${where} meta`);
      const snapshot = meta.get("snapshot.json");
      if (!snapshot || meta.size !== 1) fail("MALFORMED", `${where} meta must list snapshot.json and nothing else`);
      metadata = { type: "timestamp", ...common, snapshot };
      break;
    }
    case "snapshot":
      metadata = { type: "snapshot", ...common, meta: readMetaMap(signed.meta, `${where} meta`) };
      break;
    default:
      metadata = { type: "targets", ...common, targets: readTargets(signed.targets, where) };
  }
  return { metadata: metadata as Of<T>, signatures, signedBytes };
}

const EXPIRES = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;

function readCommon(signed: Record<string, unknown>, where: string): Common {
  const { version, expires, spec_version } = signed;
  if (!isPositiveInteger(version)) fail("MALFORMED", `${where} version must be an integer of at least 1`);
  // A client reads the major version it implements (python-tuf, go-tuf: "1.x").
  if (typeof spec_version !== "string" || !/^1\.\d+(\.\d+)?$/.test(spec_version)) {
    fail("MALFORMED", `${where} spec_version ${JSON.stringify(spec_version)} is not a 1.x version`);
  }
  const when = typeof expires === "string" && EXPIRES.test(expires) ? Date.parse(expires) : NaN;
  if (!Number.isFinite(when)) fail("MALFORMED", `${where} expires must be an RFC 3339 time such as 2030-01-01T00:00:00Z`);
  return { version, expires: when };
}

function isPositiveInteger(v: unknown): v is number {
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 1;
}

function readRoot(signed: Record<string, unknown>, where: string): Omit<Root, "type" | keyof Common> {
  const { consistent_snapshot, keys, roles } = signed;
  if (typeof consistent_snapshot !== "boolean") fail("MALFORMED", `${where} consistent_snapshot must be a boolean`);
  if (!isRecord(keys) || !isRecord(roles)) fail("MALFORMED", `${where} keys and roles must be objects`);
  const ids = Object.keys(keys);
  if (ids.length > TUF_LIMITS.keys) fail("MALFORMED", `${where} lists more than ${TUF_LIMITS.keys} keys`);
  const keyMap = new Map<string, TufKey>(ids.map((id) => [id, parseKey(keys[id], `${where} keys.${id}`)]));
  const out = {} as Record<RoleName, RoleKeys>;
  for (const name of TOP_LEVEL_ROLES) {
    const role = roles[name];
    if (!isRecord(role)) fail("MALFORMED", `${where} roles.${name} is missing`);
    const { keyids, threshold } = role;
    if (!Array.isArray(keyids) || !keyids.every((k): k is string => typeof k === "string")) {
      fail("MALFORMED", `${where} roles.${name}.keyids must be an array of strings`);
    }
    if (new Set(keyids).size !== keyids.length) fail("MALFORMED", `${where} roles.${name}.keyids lists a key ID twice`);
    if (!isPositiveInteger(threshold)) fail("MALFORMED", `${where} roles.${name}.threshold must be an integer of at least 1`);
    out[name] = { keyids, threshold };
  }
  return { consistentSnapshot: consistent_snapshot, keys: keyMap, roles: out };
}

function readHashes(value: unknown, where: string): Record<string, string> {
  if (!isRecord(value) || Object.keys(value).length === 0) fail("MALFORMED", `${where} hashes must be a non-empty object`);
  for (const [alg, digest] of Object.entries(value)) {
    if (typeof digest !== "string" || !hexDecode(digest) || digest.length === 0) fail("MALFORMED", `${where} hashes.${alg} must be hex`);
  }
  return value as Record<string, string>;
}

function readMetaMap(value: unknown, where: string): Map<string, MetaFile> {
  if (!isRecord(value)) fail("MALFORMED", `${where} must be an object`);
  const out = new Map<string, MetaFile>();
  for (const [name, entry] of Object.entries(value)) {
    if (!isRecord(entry) || !isPositiveInteger(entry.version)) fail("MALFORMED", `${where}.${name} must have a version of at least 1`);
    if (entry.length !== undefined && !isPositiveInteger(entry.length)) fail("MALFORMED", `${where}.${name} length must be a positive integer`);
    out.set(name, {
      version: entry.version,
      ...(entry.length !== undefined ? { length: entry.length } : {}),
      ...(entry.hashes !== undefined ? { hashes: readHashes(entry.hashes, `${where}.${name}`) } : {}),
    });
  }
  return out;
}

function readTargets(value: unknown, where: string): Map<string, TargetFile> {
  if (!isRecord(value)) fail("MALFORMED", `${where} targets must be an object`);
  const out = new Map<string, TargetFile>();
  for (const [name, entry] of Object.entries(value)) {
    if (!isRecord(entry) || typeof entry.length !== "number" || !Number.isSafeInteger(entry.length) || entry.length < 0) {
      fail("MALFORMED", `${where} targets.${name} must have a length`);
    }
    out.set(name, { length: entry.length, hashes: readHashes(entry.hashes, `${where} targets.${name}`) });
  }
  return out;
}
