// A TUF 1.0 repository made in memory for tests, laid out as Sigstore's is: consistent snapshots
// (`<version>.root.json`, `<version>.snapshot.json`, `<version>.targets.json`, targets under
// `targets/<sha256>.<name>`), ECDSA P-256 keys as PEM ("ecdsa", "ecdsa-sha2-nistp256") or Ed25519
// keys in hex, signatures in hex (ECDSA as DER). Pure WebCrypto: runs in workerd and in Node.
// Each file is signed over canonical JSON; tests change fields and signers to make bad files.
import { encodeCanonical } from "../../src/verify/shared/canonical-json";
import { sha256Hex } from "../../src/encoding";

export interface RepoKey {
  readonly id: string;
  /** The key as root.json lists it. */
  readonly json: { keytype: string; scheme: string; keyval: { public: string } };
  readonly privateKey: CryptoKey;
  readonly algorithm: "ecdsa" | "ed25519";
}

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
const b64 = (b: Uint8Array) => btoa(String.fromCharCode(...b));

/** A new key; `id` defaults to the hash of its canonical JSON. */
export async function generateKey(algorithm: "ecdsa" | "ed25519" = "ecdsa", id?: string): Promise<RepoKey> {
  let json: RepoKey["json"];
  let privateKey: CryptoKey;
  if (algorithm === "ecdsa") {
    const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
    const spki = new Uint8Array((await crypto.subtle.exportKey("spki", pair.publicKey)) as ArrayBuffer);
    const pem = `-----BEGIN PUBLIC KEY-----\n${b64(spki).replace(/.{64}/g, "$&\n")}\n-----END PUBLIC KEY-----\n`.replace("\n\n", "\n");
    json = { keytype: "ecdsa", scheme: "ecdsa-sha2-nistp256", keyval: { public: pem } };
    privateKey = pair.privateKey;
  } else {
    const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
    const raw = new Uint8Array((await crypto.subtle.exportKey("raw", pair.publicKey)) as ArrayBuffer);
    json = { keytype: "ed25519", scheme: "ed25519", keyval: { public: hex(raw) } };
    privateKey = pair.privateKey;
  }
  return { id: id ?? (await sha256Hex(encodeCanonical(json))), json, privateKey, algorithm };
}

/** The same key listed under another ID (the threshold attack). */
export function aliasKey(key: RepoKey, id: string): RepoKey {
  return { ...key, id };
}

/** r‖s → DER Ecdsa-Sig-Value. */
function rawToDer(raw: Uint8Array): Uint8Array {
  const int = (b: Uint8Array) => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    const v = b.subarray(i);
    return v[0]! & 0x80 ? Uint8Array.of(0x02, v.length + 1, 0, ...v) : Uint8Array.of(0x02, v.length, ...v);
  };
  const r = int(raw.subarray(0, 32));
  const s = int(raw.subarray(32));
  return Uint8Array.of(0x30, r.length + s.length, ...r, ...s);
}

export async function signBytes(key: RepoKey, message: Uint8Array): Promise<string> {
  if (key.algorithm === "ed25519") return hex(new Uint8Array(await crypto.subtle.sign("Ed25519", key.privateKey, message as Uint8Array<ArrayBuffer>)));
  const raw = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, key.privateKey, message as Uint8Array<ArrayBuffer>));
  return hex(rawToDer(raw));
}

/** `{signed, signatures}` as pretty JSON bytes (as Sigstore publishes them), each signer signing once. */
export async function signMetadata(signed: Record<string, unknown>, signers: readonly RepoKey[]): Promise<Uint8Array> {
  const message = encodeCanonical(signed);
  const signatures = await Promise.all(signers.map(async (k) => ({ keyid: k.id, sig: await signBytes(k, message) })));
  return new TextEncoder().encode(JSON.stringify({ signatures, signed }, null, 1));
}

const DAY = 86_400_000;
const time = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");

export interface RootOptions {
  /** Who signs the new root; default: the previous root keys and the new ones. */
  readonly signers?: readonly RepoKey[];
  readonly expires?: number;
  /** A version other than the next one. */
  readonly version?: number;
}

export interface PublishOptions {
  readonly targets?: Readonly<Record<string, Uint8Array | string>>;
  readonly timestampExpires?: number;
  readonly snapshotExpires?: number;
  readonly targetsExpires?: number;
  /** Versions other than the next ones (rollback). */
  readonly timestampVersion?: number;
  readonly snapshotVersion?: number;
  readonly targetsVersion?: number;
  /** Signers other than the role keys. */
  readonly timestampSigners?: readonly RepoKey[];
  readonly targetsSigners?: readonly RepoKey[];
  /** Listed length or sha256 other than the target's (the file served is the real one). */
  readonly listLength?: (name: string, length: number) => number;
  readonly listSha256?: (name: string, sha256: string) => string;
}

/** A repository: files by path, as a server serves them under its base URL. */
export class TufTestRepository {
  readonly files = new Map<string, Uint8Array>();
  rootKeys: RepoKey[] = [];
  rootThreshold = 1;
  timestampKey!: RepoKey;
  snapshotKey!: RepoKey;
  targetsKeys: RepoKey[] = [];
  targetsThreshold = 1;
  rootVersion = 0;
  timestampVersion = 0;
  snapshotVersion = 0;
  targetsVersion = 0;
  private lastTargets: Readonly<Record<string, Uint8Array | string>> = { "trusted_root.json": '{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1"}' };
  /** Extra keys root.json lists (aliases for the threshold attack). */
  extraKeys: RepoKey[] = [];

  private constructor(readonly now: number) {}

  /** A repository with root version 1 (one ECDSA root key unless given) and nothing published. */
  static async create(now: Date, options: { rootKeys?: RepoKey[]; rootThreshold?: number } = {}): Promise<TufTestRepository> {
    const repo = new TufTestRepository(now.getTime());
    repo.rootKeys = options.rootKeys ?? [await generateKey()];
    repo.rootThreshold = options.rootThreshold ?? 1;
    repo.timestampKey = await generateKey("ed25519");
    repo.snapshotKey = await generateKey();
    repo.targetsKeys = [await generateKey()];
    await repo.writeRoot({ signers: repo.rootKeys });
    return repo;
  }

  /** The current root.json's bytes (what a client is bootstrapped with). */
  get root(): Uint8Array {
    return this.files.get(`${this.rootVersion}.root.json`)!;
  }
  get rootText(): string {
    return new TextDecoder().decode(this.root);
  }

  rootSigned(version: number, expires: number): Record<string, unknown> {
    const all = [...this.rootKeys, this.timestampKey, this.snapshotKey, ...this.targetsKeys, ...this.extraKeys];
    const keys = Object.fromEntries(all.map((k) => [k.id, k.json]));
    const role = (ks: readonly RepoKey[], threshold: number) => ({ keyids: [...new Set(ks.map((k) => k.id))], threshold });
    return {
      _type: "root",
      spec_version: "1.0",
      version,
      expires: time(expires),
      consistent_snapshot: true,
      keys,
      roles: {
        root: role(this.rootKeys, this.rootThreshold),
        timestamp: role([this.timestampKey], 1),
        snapshot: role([this.snapshotKey], 1),
        targets: role(this.targetsKeys, this.targetsThreshold),
      },
    };
  }

  /** Writes the next root version with the current keys. */
  async writeRoot(options: RootOptions = {}): Promise<Uint8Array> {
    const version = options.version ?? this.rootVersion + 1;
    const bytes = await signMetadata(this.rootSigned(version, options.expires ?? this.now + 365 * DAY), options.signers ?? this.rootKeys);
    this.files.set(`${version}.root.json`, bytes);
    this.rootVersion = Math.max(this.rootVersion, version);
    return bytes;
  }

  /** Root N+1 with new root keys, signed by the old and the new ones (unless `signers`). */
  async rotateRoot(newKeys: RepoKey[], threshold: number, options: RootOptions = {}): Promise<Uint8Array> {
    const old = this.rootKeys;
    this.rootKeys = newKeys;
    this.rootThreshold = threshold;
    return this.writeRoot({ ...options, signers: options.signers ?? [...new Set([...old, ...newKeys])] });
  }

  /** New targets, snapshot and timestamp versions listing `targets` (hashes and lengths as given). */
  async publish(options: PublishOptions = {}): Promise<void> {
    const targetEntries: Record<string, unknown> = {};
    // Without `targets`, the last ones published again.
    this.lastTargets = options.targets ?? this.lastTargets;
    for (const [name, content] of Object.entries(this.lastTargets)) {
      const bytes = typeof content === "string" ? new TextEncoder().encode(content) : content;
      const sha = await sha256Hex(bytes);
      this.files.set(`targets/${sha}.${name}`, bytes);
      targetEntries[name] = {
        length: options.listLength ? options.listLength(name, bytes.length) : bytes.length,
        hashes: { sha256: options.listSha256 ? options.listSha256(name, sha) : sha },
      };
    }
    this.targetsVersion = options.targetsVersion ?? this.targetsVersion + 1;
    const targets = await signMetadata(
      { _type: "targets", spec_version: "1.0", version: this.targetsVersion, expires: time(options.targetsExpires ?? this.now + 365 * DAY), targets: targetEntries },
      options.targetsSigners ?? this.targetsKeys,
    );
    this.files.set(`${this.targetsVersion}.targets.json`, targets);

    this.snapshotVersion = options.snapshotVersion ?? this.snapshotVersion + 1;
    const snapshot = await signMetadata(
      {
        _type: "snapshot",
        spec_version: "1.0",
        version: this.snapshotVersion,
        expires: time(options.snapshotExpires ?? this.now + 365 * DAY),
        meta: { "targets.json": { version: this.targetsVersion } },
      },
      [this.snapshotKey],
    );
    this.files.set(`${this.snapshotVersion}.snapshot.json`, snapshot);

    this.timestampVersion = options.timestampVersion ?? this.timestampVersion + 1;
    const timestamp = await signMetadata(
      {
        _type: "timestamp",
        spec_version: "1.0",
        version: this.timestampVersion,
        expires: time(options.timestampExpires ?? this.now + 7 * DAY),
        meta: { "snapshot.json": { version: this.snapshotVersion, length: snapshot.length, hashes: { sha256: await sha256Hex(snapshot) } } },
      },
      options.timestampSigners ?? [this.timestampKey],
    );
    this.files.set("timestamp.json", timestamp);
  }

  /** Serves the files: `GET <base>/<path>` (metadata) and `<base>/targets/<path>`; 404 otherwise. */
  serve(request: Request, base: string): Response {
    const url = new URL(request.url);
    const prefix = new URL(base).pathname.replace(/\/+$/, "");
    const path = url.pathname.startsWith(`${prefix}/`) ? url.pathname.slice(prefix.length + 1) : undefined;
    const body = path === undefined ? undefined : this.files.get(path);
    if (request.method !== "GET" || !body) return new Response("not found", { status: 404 });
    return new Response(body as Uint8Array<ArrayBuffer>, { headers: { "content-type": "application/json" } });
  }
}
