// Test generator: mints keys, certificates and a whole signed Notary v1 repository with Web Crypto.
import { encodeCanonical } from "../../../src/verify/shared/canonical-json";
import { ED25519_SPKI_PREFIX, tlv } from "../../../src/verify/shared/der";
import { base64Encode, concatBytes, sha256, sha512, toHex, toPem, utf8 } from "../../../src/verify/shared/encoding";
import { importPinnedKey, type PinnedKey } from "../../../src/verify/notary-v1/keys";
import { TrustedSet, type TrustedSetOptions } from "../../../src/verify/notary-v1/trusted-set";

export type KeyKind = "ecdsa" | "ecdsa-x509" | "ed25519" | "rsa" | "rsa-pkcs1";

export interface TufKeyJson {
  keytype: string;
  keyval: { private: null; public: string };
}

export interface TestKey {
  readonly kind: KeyKind;
  readonly tuf: TufKeyJson;
  /** The key ID (hex sha256 of the canonical key JSON). */
  readonly id: string;
  /** The signature method this key signs with. */
  readonly method: string;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  /** SubjectPublicKeyInfo DER. */
  readonly spki: Uint8Array;
  /** For ecdsa-x509: the certificate DER. */
  readonly cert?: Uint8Array;
}

export interface CertOptions {
  readonly cn: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  readonly isCA?: boolean;
  /** Signature algorithm OID for the certificate (default ecdsa-with-SHA256). */
  readonly sha1?: boolean;
}

export interface SignedEnvelopeJson {
  signed: Record<string, unknown>;
  signatures: { keyid: string; method: string; sig: string }[];
}

/** The fixed "now" of generated repositories. */
export const NOW = new Date("2026-03-01T12:00:00Z");
export const GUN = "docker.io/trustgate/demo";
const DAY = 24 * 60 * 60 * 1000;

// --- keys ---

async function tufKeyId(tuf: TufKeyJson): Promise<string> {
  return toHex(await sha256(encodeCanonical(tuf)));
}

async function generatePair(kind: KeyKind): Promise<CryptoKeyPair> {
  switch (kind) {
    case "ecdsa":
    case "ecdsa-x509":
      return (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
    case "ed25519":
      return (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
    case "rsa":
      return (await crypto.subtle.generateKey(
        { name: "RSA-PSS", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
        true,
        ["sign", "verify"],
      )) as CryptoKeyPair;
    case "rsa-pkcs1":
      return (await crypto.subtle.generateKey(
        { name: "RSASSA-PKCS1-v1_5", modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
        true,
        ["sign", "verify"],
      )) as CryptoKeyPair;
  }
}

async function exportSpki(key: CryptoKey): Promise<Uint8Array> {
  return new Uint8Array((await crypto.subtle.exportKey("spki", key)) as ArrayBuffer);
}

async function fromPair(kind: KeyKind, pair: CryptoKeyPair, cert?: CertOptions): Promise<TestKey> {
  let spki: Uint8Array;
  let publicBytes: Uint8Array;
  let certDer: Uint8Array | undefined;
  if (kind === "ed25519") {
    const raw = new Uint8Array((await crypto.subtle.exportKey("raw", pair.publicKey)) as ArrayBuffer);
    spki = concatBytes(ED25519_SPKI_PREFIX, raw);
    publicBytes = raw;
  } else {
    spki = await exportSpki(pair.publicKey);
    publicBytes = spki;
  }
  if (kind === "ecdsa-x509") {
    certDer = await makeCertificate(pair, spki, cert ?? { cn: GUN, notBefore: new Date(NOW.getTime() - DAY), notAfter: new Date(NOW.getTime() + 3650 * DAY) });
    publicBytes = utf8(toPem("CERTIFICATE", certDer));
  }
  const keytype = kind === "rsa-pkcs1" ? "rsa" : kind;
  const tuf: TufKeyJson = { keytype, keyval: { private: null, public: base64Encode(publicBytes) } };
  const method = { ecdsa: "ecdsa", "ecdsa-x509": "ecdsa", ed25519: "eddsa", rsa: "rsapss", "rsa-pkcs1": "rsapkcs1v15" }[kind];
  return { kind, tuf, id: await tufKeyId(tuf), method, privateKey: pair.privateKey, publicKey: pair.publicKey, spki, ...(certDer ? { cert: certDer } : {}) };
}

/** A fresh key. RSA generation is slow; prefer `pooledKey`. */
export async function makeKey(kind: KeyKind, cert?: CertOptions): Promise<TestKey> {
  return fromPair(kind, await generatePair(kind), cert);
}

const pairPool = new Map<string, Promise<CryptoKeyPair>>();
const keyPool = new Map<string, Promise<TestKey>>();

/**
 * The n-th key of a kind, generated once per test file. The same (kind, n, certificate options)
 * always gives the same TestKey, so its certificate and key ID are stable too.
 */
export function pooledKey(kind: KeyKind, n = 0, cert?: CertOptions): Promise<TestKey> {
  const name = `${kind === "ecdsa-x509" ? "x509" : kind}:${n}`;
  const full = `${kind}:${n}:${JSON.stringify(cert ?? null)}`;
  let key = keyPool.get(full);
  if (!key) {
    let pair = pairPool.get(name);
    if (!pair) {
      pair = generatePair(kind);
      pairPool.set(name, pair);
    }
    key = pair.then((p) => fromPair(kind, p, cert));
    keyPool.set(full, key);
  }
  return key;
}

/** The key as a PEM SPKI (what Connaisseur pins). */
export function publicKeyPem(key: TestKey): string {
  return toPem("PUBLIC KEY", key.spki);
}

export async function pinFor(key: TestKey): Promise<PinnedKey> {
  return importPinnedKey(publicKeyPem(key));
}

// --- certificates ---

function oid(dotted: string): Uint8Array {
  const arcs = dotted.split(".").map(Number);
  const bytes: number[] = [40 * arcs[0]! + arcs[1]!];
  for (const arc of arcs.slice(2)) {
    const chunk: number[] = [];
    let v = arc;
    do {
      chunk.unshift(v & 0x7f);
      v = Math.floor(v / 128);
    } while (v > 0);
    for (let i = 0; i < chunk.length - 1; i++) chunk[i]! |= 0x80;
    bytes.push(...chunk);
  }
  return tlv(0x06, Uint8Array.from(bytes));
}

function derTime(date: Date): Uint8Array {
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const body = `${p(date.getUTCMonth() + 1)}${p(date.getUTCDate())}${p(date.getUTCHours())}${p(date.getUTCMinutes())}${p(date.getUTCSeconds())}Z`;
  const year = date.getUTCFullYear();
  if (year >= 1950 && year < 2050) return tlv(0x17, utf8(`${p(year % 100)}${body}`));
  return tlv(0x18, utf8(`${p(year, 4)}${body}`));
}

/** r‖s → ECDSA-Sig-Value DER (what X.509 and cosign use; what notary refuses in TUF signatures). */
export function rawToDer(raw: Uint8Array): Uint8Array {
  const int = (bytes: Uint8Array): Uint8Array => {
    let i = 0;
    while (i < bytes.length - 1 && bytes[i] === 0) i++;
    const trimmed = bytes.subarray(i);
    return tlv(0x02, trimmed[0]! & 0x80 ? concatBytes(Uint8Array.of(0), trimmed) : trimmed);
  };
  const half = raw.length / 2;
  return tlv(0x30, int(raw.subarray(0, half)), int(raw.subarray(half)));
}

async function makeCertificate(pair: CryptoKeyPair, spki: Uint8Array, opts: CertOptions): Promise<Uint8Array> {
  const sigAlg = tlv(0x30, oid(opts.sha1 ? "1.2.840.10045.4.1" : "1.2.840.10045.4.3.2"));
  const name = tlv(0x30, tlv(0x31, tlv(0x30, oid("2.5.4.3"), tlv(0x0c, utf8(opts.cn)))));
  const basicConstraints = tlv(
    0x30,
    oid("2.5.29.19"),
    tlv(0x01, Uint8Array.of(0xff)),
    tlv(0x04, opts.isCA ? tlv(0x30, tlv(0x01, Uint8Array.of(0xff))) : tlv(0x30)),
  );
  const serial = crypto.getRandomValues(new Uint8Array(16));
  serial[0]! &= 0x7f;
  serial[0]! |= 0x01;
  const tbs = tlv(
    0x30,
    tlv(0xa0, tlv(0x02, Uint8Array.of(2))),
    tlv(0x02, serial),
    sigAlg,
    name,
    tlv(0x30, derTime(opts.notBefore), derTime(opts.notAfter)),
    name,
    spki,
    tlv(0xa3, tlv(0x30, basicConstraints)),
  );
  const raw = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, pair.privateKey, tbs));
  return tlv(0x30, tbs, sigAlg, tlv(0x03, concatBytes(Uint8Array.of(0), rawToDer(raw))));
}

// --- signing ---

export async function signBytes(key: TestKey, message: Uint8Array): Promise<Uint8Array> {
  switch (key.kind) {
    case "ecdsa":
    case "ecdsa-x509":
      return new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key.privateKey, message));
    case "ed25519":
      return new Uint8Array(await crypto.subtle.sign({ name: "Ed25519" }, key.privateKey, message));
    case "rsa":
      return new Uint8Array(await crypto.subtle.sign({ name: "RSA-PSS", saltLength: 32 }, key.privateKey, message));
    case "rsa-pkcs1":
      return new Uint8Array(await crypto.subtle.sign({ name: "RSASSA-PKCS1-v1_5" }, key.privateKey, message));
  }
}

/** Signs `signed` (canonical JSON) with every key, in parallel. */
export async function signEnvelope(signed: Record<string, unknown>, keys: readonly TestKey[]): Promise<SignedEnvelopeJson> {
  const message = encodeCanonical(signed);
  const signatures = await Promise.all(
    keys.map(async (k) => ({ keyid: k.id, method: k.method, sig: base64Encode(await signBytes(k, message)) })),
  );
  return { signed, signatures };
}

export function serialize(envelope: SignedEnvelopeJson): Uint8Array {
  return utf8(JSON.stringify(envelope));
}

export async function fileMeta(bytes: Uint8Array, withSha512 = false): Promise<{ length: number; hashes: Record<string, string> }> {
  const hashes: Record<string, string> = { sha256: base64Encode(await sha256(bytes)) };
  if (withSha512) hashes.sha512 = base64Encode(await sha512(bytes));
  return { length: bytes.length, hashes };
}

/** RFC 3339 with nine fractional digits, the way Go marshals time.Time. */
export function rfc3339(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000000Z");
}

// --- repositories ---

export type RepoRole = "root" | "targets" | "snapshot" | "timestamp" | "targets/releases" | "targets/alice";

export interface RepoKeys {
  root: TestKey[];
  targets: TestKey[];
  snapshot: TestKey[];
  timestamp: TestKey[];
  releases: TestKey[];
  alice: TestKey[];
}

/** A manifest per tag: its bytes define the target's hashes and length. */
export type TargetSpec = Record<string, string>;

export interface RepoSpec {
  keys?: Partial<RepoKeys>;
  thresholds?: Partial<Record<"root" | "targets" | "snapshot" | "timestamp" | "releases" | "alice", number>>;
  versions?: Partial<Record<RepoRole, number>>;
  expires?: Partial<Record<RepoRole, Date>>;
  /** Targets in the top-level targets role. */
  targets?: TargetSpec;
  /** Targets in targets/releases; `null` leaves both delegations out. */
  releases?: TargetSpec | null;
  alice?: TargetSpec;
  /** Paths granted to targets/releases and targets/alice (default `[""]`). */
  paths?: { releases?: string[] | undefined; alice?: string[] | undefined };
  /** Change a role's `signed` before it is signed. */
  mutate?: (role: RepoRole, signed: Record<string, unknown>) => void;
  /** Choose the signers of a role (default: its keys). */
  signers?: (role: RepoRole, keys: TestKey[]) => TestKey[];
  /** Change an envelope after signing (before serialising and hashing). */
  tamper?: (role: RepoRole, envelope: SignedEnvelopeJson) => void;
  /** List sha512 as well as sha256 in snapshot/timestamp meta. */
  sha512?: boolean;
}

export interface Repo {
  readonly keys: RepoKeys;
  readonly signed: Record<RepoRole, Record<string, unknown>>;
  /** The served bytes of every role; tests may replace them. */
  readonly bytes: Record<RepoRole, Uint8Array>;
  readonly manifests: Record<string, Uint8Array>;
}

export const DEFAULT_TARGETS: TargetSpec = { latest: '{"manifest":"latest"}', "1.0": '{"manifest":"1.0"}' };
export const DEFAULT_RELEASES: TargetSpec = { latest: '{"manifest":"latest-released"}', "2.0": '{"manifest":"2.0"}' };

export async function defaultKeys(): Promise<RepoKeys> {
  return {
    root: [await pooledKey("ecdsa-x509", 0)],
    targets: [await pooledKey("ecdsa", 1)],
    snapshot: [await pooledKey("ecdsa", 2)],
    timestamp: [await pooledKey("ecdsa", 3)],
    releases: [await pooledKey("ecdsa", 4)],
    alice: [await pooledKey("ecdsa", 4)],
  };
}

async function targetsMap(spec: TargetSpec, manifests: Record<string, Uint8Array>): Promise<Record<string, unknown>> {
  const out: Record<string, unknown> = {};
  for (const [tag, body] of Object.entries(spec)) {
    const bytes = utf8(body);
    manifests[body] = bytes;
    out[tag] = await fileMeta(bytes);
  }
  return out;
}

function keysObject(keys: readonly TestKey[]): Record<string, TufKeyJson> {
  return Object.fromEntries(keys.map((k) => [k.id, k.tuf]));
}

/** Builds root, targets (+ targets/releases, targets/alice), snapshot and timestamp, signed in dependency order. */
export async function buildRepo(spec: RepoSpec = {}): Promise<Repo> {
  const keys: RepoKeys = { ...(await defaultKeys()), ...spec.keys };
  const th = { root: 1, targets: 1, snapshot: 1, timestamp: 1, releases: 1, alice: 1, ...spec.thresholds };
  const version = (r: RepoRole): number => spec.versions?.[r] ?? 1;
  const expires = (r: RepoRole, days: number): string => rfc3339(spec.expires?.[r] ?? new Date(NOW.getTime() + days * DAY));
  const manifests: Record<string, Uint8Array> = {};
  const signed = {} as Record<RepoRole, Record<string, unknown>>;
  const bytes = {} as Record<RepoRole, Uint8Array>;
  const withDelegations = spec.releases !== null;

  const finish = async (role: RepoRole, body: Record<string, unknown>, signers: TestKey[]): Promise<void> => {
    spec.mutate?.(role, body);
    signed[role] = body;
    const envelope = await signEnvelope(body, spec.signers ? spec.signers(role, signers) : signers);
    spec.tamper?.(role, envelope);
    bytes[role] = serialize(envelope);
  };

  if (withDelegations) {
    await finish(
      "targets/releases",
      {
        _type: "Targets",
        delegations: { keys: {}, roles: [] },
        expires: expires("targets/releases", 1095),
        targets: await targetsMap(spec.releases ?? DEFAULT_RELEASES, manifests),
        version: version("targets/releases"),
      },
      keys.releases,
    );
    await finish(
      "targets/alice",
      {
        _type: "Targets",
        delegations: { keys: {}, roles: [] },
        expires: expires("targets/alice", 1095),
        targets: await targetsMap(spec.alice ?? spec.releases ?? DEFAULT_RELEASES, manifests),
        version: version("targets/alice"),
      },
      keys.alice,
    );
  }

  const delegationKeys = withDelegations ? keysObject([...keys.releases, ...keys.alice]) : {};
  await finish(
    "targets",
    {
      _type: "Targets",
      delegations: {
        keys: delegationKeys,
        roles: withDelegations
          ? [
              { keyids: keys.releases.map((k) => k.id), name: "targets/releases", paths: spec.paths?.releases ?? [""], threshold: th.releases },
              { keyids: keys.alice.map((k) => k.id), name: "targets/alice", paths: spec.paths?.alice ?? [""], threshold: th.alice },
            ]
          : [],
      },
      expires: expires("targets", 1095),
      targets: await targetsMap(spec.targets ?? DEFAULT_TARGETS, manifests),
      version: version("targets"),
    },
    keys.targets,
  );

  await finish(
    "root",
    {
      _type: "Root",
      consistent_snapshot: false,
      // Go writes offsets other than Z when the signer's clock is local; the parser must cope.
      expires: (spec.expires?.root ? rfc3339(spec.expires.root) : "2036-03-01T13:00:00.123456789+01:00"),
      keys: keysObject([...keys.root, ...keys.targets, ...keys.snapshot, ...keys.timestamp]),
      roles: {
        root: { keyids: keys.root.map((k) => k.id), threshold: th.root },
        snapshot: { keyids: keys.snapshot.map((k) => k.id), threshold: th.snapshot },
        targets: { keyids: keys.targets.map((k) => k.id), threshold: th.targets },
        timestamp: { keyids: keys.timestamp.map((k) => k.id), threshold: th.timestamp },
      },
      version: version("root"),
    },
    keys.root,
  );

  const meta: Record<string, unknown> = {
    root: await fileMeta(bytes.root, spec.sha512),
    targets: await fileMeta(bytes.targets, spec.sha512),
  };
  if (withDelegations) {
    meta["targets/releases"] = await fileMeta(bytes["targets/releases"], spec.sha512);
    meta["targets/alice"] = await fileMeta(bytes["targets/alice"], spec.sha512);
  }
  await finish("snapshot", { _type: "Snapshot", expires: expires("snapshot", 1095), meta, version: version("snapshot") }, keys.snapshot);
  await finish(
    "timestamp",
    { _type: "Timestamp", expires: expires("timestamp", 14), meta: { snapshot: await fileMeta(bytes.snapshot, spec.sha512) }, version: version("timestamp") },
    keys.timestamp,
  );
  return { keys, signed, bytes, manifests };
}

/** A stand-alone signed targets file (for extra delegations), with its bytes and snapshot meta. */
export async function buildTargetsFile(
  targets: TargetSpec,
  signers: readonly TestKey[],
  extra: Record<string, unknown> = {},
): Promise<{ bytes: Uint8Array; meta: { length: number; hashes: Record<string, string> } }> {
  const signed = {
    _type: "Targets",
    delegations: { keys: {}, roles: [] },
    expires: rfc3339(new Date(NOW.getTime() + 30 * DAY)),
    targets: await targetsMap(targets, {}),
    version: 1,
    ...extra,
  };
  const bytes = serialize(await signEnvelope(signed, signers));
  return { bytes, meta: await fileMeta(bytes) };
}

/** Loads a repository end to end: root (TOFU unless told), timestamp, snapshot, targets, both delegations. */
export async function loadRepo(repo: Repo, options: Partial<TrustedSetOptions> = {}): Promise<TrustedSet> {
  const set = await TrustedSet.create(repo.bytes.root, { anchor: { kind: "tofu" }, now: NOW, gun: GUN, ...options });
  await set.updateTimestamp(repo.bytes.timestamp);
  await set.updateSnapshot(repo.bytes.snapshot);
  await set.updateTargets(repo.bytes.targets);
  if (repo.bytes["targets/releases"]) {
    await set.updateDelegation("targets/releases", repo.bytes["targets/releases"]);
    await set.updateDelegation("targets/alice", repo.bytes["targets/alice"]);
  }
  return set;
}

/** `sha256:<hex>` of a manifest body from a TargetSpec. */
export async function digestOf(body: string): Promise<string> {
  return `sha256:${toHex(await sha256(utf8(body)))}`;
}
