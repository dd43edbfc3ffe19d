// The verified state of one update (TUF 1.0 §5, the client workflow), built file by file in the
// spec's order: root (and its rotations), timestamp, snapshot, targets. Each step verifies the new
// file against what is already trusted: signatures against the root's thresholds, versions against
// rollback, bytes against the hashes and lengths the referring file lists. A file read from the
// client's own store ("local") is verified the same way but is only a baseline for rollback
// checks when it is not final (python-tuf's TrustedMetadataSet does the same).
import { sha256, sha512, toHex } from "../shared/encoding";
import { fail } from "./errors";
import { parseMetadata, type Envelope, type MetaFile, type Root, type Snapshot, type TargetFile, type Targets, type Timestamp } from "./metadata";
import { requireThreshold } from "./signatures";

const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");

export class TrustedSet {
  private rootEnv: Envelope<Root>;
  private timestampEnv?: Envelope<Timestamp>;
  private snapshotEnv?: Envelope<Snapshot>;
  private targetsEnv?: Envelope<Targets>;
  /** The trusted root's and timestamp's bytes, as stored and served. */
  rootBytes: Uint8Array;
  timestampBytes?: Uint8Array;

  private constructor(
    root: Envelope<Root>,
    rootBytes: Uint8Array,
    private readonly now: number,
  ) {
    this.rootEnv = root;
    this.rootBytes = rootBytes;
  }

  /** Starts from a trusted root (embedded or stored): it must carry its own root threshold. Its expiry is checked later. */
  static async fromRoot(bytes: Uint8Array, now: Date): Promise<TrustedSet> {
    const env = parseMetadata(bytes, "root");
    const root = env.metadata;
    await requireThreshold(env, root.keys, root.roles.root, `root.json version ${root.version} (by its own root keys)`);
    return new TrustedSet(env, bytes, now.getTime());
  }

  get root(): Root {
    return this.rootEnv.metadata;
  }
  get timestamp(): Timestamp | undefined {
    return this.timestampEnv?.metadata;
  }
  get snapshot(): Snapshot | undefined {
    return this.snapshotEnv?.metadata;
  }
  get targets(): Targets | undefined {
    return this.targetsEnv?.metadata;
  }

  /** Root N+1: signed by N's root threshold and by its own, version exactly N+1 (§5.3.4–5.3.6). */
  async updateRoot(bytes: Uint8Array): Promise<void> {
    const env = parseMetadata(bytes, "root");
    const current = this.root;
    const next = env.metadata;
    await requireThreshold(env, current.keys, current.roles.root, `root.json version ${next.version} (by the root keys of version ${current.version})`);
    if (next.version !== current.version + 1) {
      fail("BAD_VERSION", `root.json version ${next.version} was served where version ${current.version + 1} was asked for`);
    }
    await requireThreshold(env, next.keys, next.roles.root, `root.json version ${next.version} (by its own root keys)`);
    this.rootEnv = env;
    this.rootBytes = bytes;
  }

  /** §5.3.10: the final root must not have expired. */
  checkRootExpiry(): void {
    if (this.root.expires <= this.now) fail("EXPIRED", `root.json version ${this.root.version} expired at ${iso(this.root.expires)}`);
  }

  /**
   * timestamp.json (§5.4): by the root's timestamp threshold; its version and the snapshot version
   * it names never go back. An equal version keeps the trusted file. A local file's expiry is not
   * checked (it is a rollback baseline); a fetched one's is.
   */
  async updateTimestamp(bytes: Uint8Array, local = false): Promise<void> {
    const env = parseMetadata(bytes, "timestamp");
    const next = env.metadata;
    await requireThreshold(env, this.root.keys, this.root.roles.timestamp, `timestamp.json version ${next.version}`);
    const old = this.timestamp;
    if (old && next.version < old.version) {
      fail("BAD_VERSION", `timestamp.json version ${next.version} is older than the trusted version ${old.version} (rollback)`);
    }
    if (old && next.snapshot.version < old.snapshot.version) {
      fail("BAD_VERSION", `timestamp.json names snapshot.json version ${next.snapshot.version}, older than the trusted version ${old.snapshot.version} (rollback)`);
    }
    if (!old || next.version > old.version) {
      this.timestampEnv = env;
      this.timestampBytes = bytes;
    }
    if (!local) this.checkTimestampExpiry();
  }

  private checkTimestampExpiry(): Timestamp {
    const ts = this.timestamp;
    if (!ts) fail("OUT_OF_ORDER", "timestamp.json is not loaded");
    if (ts.expires <= this.now) fail("EXPIRED", `timestamp.json version ${ts.version} expired at ${iso(ts.expires)}`);
    return ts;
  }

  /**
   * snapshot.json (§5.5): bytes as the timestamp lists them (unless local), by the snapshot
   * threshold, no targets file dropped or older than in the trusted snapshot. Then it must be the
   * final one: the version the timestamp names, not expired.
   */
  async updateSnapshot(bytes: Uint8Array, local = false): Promise<void> {
    const ts = this.checkTimestampExpiry();
    if (!local) await checkMetaBytes(bytes, ts.snapshot, "snapshot.json");
    const env = parseMetadata(bytes, "snapshot");
    const next = env.metadata;
    await requireThreshold(env, this.root.keys, this.root.roles.snapshot, `snapshot.json version ${next.version}`);
    const old = this.snapshot;
    if (old) {
      for (const [name, meta] of old.meta) {
        const now = next.meta.get(name);
        if (!now) fail("BAD_VERSION", `snapshot.json version ${next.version} no longer lists ${name} (rollback)`);
        if (now.version < meta.version) {
          fail("BAD_VERSION", `snapshot.json version ${next.version} lists ${name} version ${now.version}, older than the trusted version ${meta.version} (rollback)`);
        }
      }
    }
    this.snapshotEnv = env;
    this.checkFinalSnapshot();
  }

  private checkFinalSnapshot(): Snapshot {
    const ts = this.checkTimestampExpiry();
    const snap = this.snapshot;
    if (!snap) fail("OUT_OF_ORDER", "snapshot.json is not loaded");
    if (snap.version !== ts.snapshot.version) {
      fail("BAD_VERSION", `snapshot.json version ${snap.version} is not the version ${ts.snapshot.version} timestamp.json names`);
    }
    if (snap.expires <= this.now) fail("EXPIRED", `snapshot.json version ${snap.version} expired at ${iso(snap.expires)}`);
    return snap;
  }

  /** targets.json (§5.6): bytes as the snapshot lists them (unless local), by the targets threshold, the version it names, not expired. */
  async updateTargets(bytes: Uint8Array, local = false): Promise<void> {
    const snap = this.checkFinalSnapshot();
    const meta = snap.meta.get("targets.json");
    if (!meta) fail("NOT_LISTED", `snapshot.json version ${snap.version} does not list targets.json`);
    if (!local) await checkMetaBytes(bytes, meta, "targets.json");
    const env = parseMetadata(bytes, "targets");
    const next = env.metadata;
    await requireThreshold(env, this.root.keys, this.root.roles.targets, `targets.json version ${next.version}`);
    if (next.version !== meta.version) {
      fail("BAD_VERSION", `targets.json version ${next.version} is not the version ${meta.version} snapshot.json names`);
    }
    if (next.expires <= this.now) fail("EXPIRED", `targets.json version ${next.version} expired at ${iso(next.expires)}`);
    this.targetsEnv = env;
  }

  /** The top-level targets entry for `name` (Sigstore's trust root files are all top-level targets). */
  target(name: string): TargetFile {
    const targets = this.targets;
    if (!targets) fail("OUT_OF_ORDER", "targets.json is not loaded");
    const info = targets.targets.get(name);
    if (!info) fail("NOT_LISTED", `targets.json version ${targets.version} does not list ${name}`);
    return info;
  }

  /** The earliest expiry of the four files: the state is usable until then. */
  expires(): number {
    return Math.min(this.root.expires, this.timestamp?.expires ?? 0, this.snapshot?.expires ?? 0, this.targets?.expires ?? 0);
  }
}

/** Length and hashes of a metadata file as its referring file lists them (each optional there). */
async function checkMetaBytes(bytes: Uint8Array, meta: MetaFile, what: string): Promise<void> {
  if (meta.length !== undefined && bytes.length !== meta.length) {
    fail("LENGTH_MISMATCH", `${what} is ${bytes.length} bytes, not the ${meta.length} listed`);
  }
  if (meta.hashes) await checkHashes(bytes, meta.hashes, what);
}

/** A target's bytes: exactly the listed length, and every listed hash (an unknown algorithm fails, as in python-tuf and go-tuf). */
export async function checkTargetBytes(bytes: Uint8Array, info: TargetFile, what: string): Promise<void> {
  if (bytes.length !== info.length) fail("LENGTH_MISMATCH", `${what} is ${bytes.length} bytes, not the ${info.length} listed`);
  await checkHashes(bytes, info.hashes, what);
}

async function checkHashes(bytes: Uint8Array, hashes: Readonly<Record<string, string>>, what: string): Promise<void> {
  for (const [alg, expected] of Object.entries(hashes)) {
    let actual: string;
    if (alg === "sha256") actual = toHex(await sha256(bytes));
    else if (alg === "sha512") actual = toHex(await sha512(bytes));
    else fail("HASH_MISMATCH", `${what}: hash algorithm ${JSON.stringify(alg)} is not supported`);
    if (actual !== expected.toLowerCase()) fail("HASH_MISMATCH", `${what} does not match its listed ${alg} hash`);
  }
}
