// One TUF update (spec 1.0 §5) of a single target: from a trusted root (embedded, or the last one
// verified) through root rotations, timestamp, snapshot and targets to the target's bytes. Files
// kept from the last update are verified again and serve as rollback baselines; those still
// current are reused instead of fetched. Pure: the repository comes in through `TufFetcher`.
import { fail, TufError } from "./errors";
import { TUF_LIMITS } from "./limits";
import { checkTargetBytes, TrustedSet } from "./trusted-set";

/** Reads one file of the repository; `null` when the repository has no such file. */
export interface TufFetcher {
  /** A metadata file by name (`timestamp.json`, `16.root.json`, `42.snapshot.json`). */
  metadata(name: string, maxBytes: number): Promise<Uint8Array | null>;
  /** A target by its path under the targets base (`<sha256>.trusted_root.json`). */
  target(path: string, maxBytes: number): Promise<Uint8Array | null>;
}

/** Everything one update verified: enough to start the next one, or to serve the target offline. */
export interface TufFiles {
  readonly root: Uint8Array;
  readonly timestamp: Uint8Array;
  readonly snapshot: Uint8Array;
  readonly targets: Uint8Array;
  /** The target's bytes. */
  readonly target: Uint8Array;
}

export interface TufUpdate {
  readonly files: TufFiles;
  /** The earliest expiry (ms) of root, timestamp, snapshot and targets. */
  readonly expires: number;
  readonly rootVersion: number;
  readonly timestampVersion: number;
  /** Files fetched from the repository, in order. */
  readonly fetched: readonly string[];
}

export interface UpdateOptions {
  /** The root to start from: it must carry its own threshold. */
  readonly trustedRoot: Uint8Array;
  /** What the last update verified (its root is `trustedRoot`), when there was one. */
  readonly previous?: Omit<TufFiles, "root">;
  readonly fetcher: TufFetcher;
  /** The update's start: every expiry is compared with it. */
  readonly now: Date;
  /** The target's name in targets.json (`trusted_root.json`). */
  readonly target: string;
}

/** Runs the client workflow; throws TufError when the repository does not verify, and what the fetcher throws. */
export async function updateTuf(options: UpdateOptions): Promise<TufUpdate> {
  const { fetcher, previous, target } = options;
  const fetched: string[] = [];
  const get = async (name: string, max: number, kind: "metadata" | "target" = "metadata"): Promise<Uint8Array | null> => {
    fetched.push(name);
    return kind === "metadata" ? fetcher.metadata(name, max) : fetcher.target(name, max);
  };
  const need = async (name: string, max: number, kind: "metadata" | "target" = "metadata"): Promise<Uint8Array> => {
    const bytes = await get(name, max, kind);
    if (bytes === null) fail("NOT_LISTED", `the repository has no ${kind === "target" ? "target " : ""}${name}`);
    return bytes;
  };
  const set = await TrustedSet.fromRoot(options.trustedRoot, options.now);

  // §5.3: root N+1 until the repository has none, a bounded number of times.
  for (let rotations = 0; ; rotations++) {
    const name = `${set.root.version + 1}.root.json`;
    if (rotations >= TUF_LIMITS.rootRotations) fail("TOO_MANY_ROTATIONS", `more than ${TUF_LIMITS.rootRotations} new root versions in one update (at ${name})`);
    const bytes = await get(name, TUF_LIMITS.rootBytes);
    if (bytes === null) break;
    await set.updateRoot(bytes);
  }
  set.checkRootExpiry();

  // Kept files: verified under the (possibly new) root; one that no longer verifies (rotated keys)
  // is dropped, as the spec's §5.3.11 deletes them.
  const local = async (step: () => Promise<void>): Promise<boolean> => {
    try {
      await step();
      return true;
    } catch (e) {
      if (e instanceof TufError) return false;
      throw e;
    }
  };
  if (previous) await local(() => set.updateTimestamp(previous.timestamp, true));

  // §5.4
  await set.updateTimestamp(await need("timestamp.json", TUF_LIMITS.timestampBytes));
  const ts = set.timestamp!;

  // §5.5: the kept snapshot if it is still the one the timestamp names, else fetched.
  let snapshot = previous?.snapshot;
  if (!snapshot || !(await local(() => set.updateSnapshot(snapshot!, true)))) {
    const name = set.root.consistentSnapshot ? `${ts.snapshot.version}.snapshot.json` : "snapshot.json";
    snapshot = await need(name, Math.min(ts.snapshot.length ?? TUF_LIMITS.snapshotBytes, TUF_LIMITS.snapshotBytes));
    await set.updateSnapshot(snapshot);
  }

  // §5.6
  const targetsMeta = set.snapshot!.meta.get("targets.json");
  if (!targetsMeta) fail("NOT_LISTED", `snapshot.json version ${set.snapshot!.version} does not list targets.json`);
  let targets = previous?.targets;
  if (!targets || !(await local(() => set.updateTargets(targets!, true)))) {
    const name = set.root.consistentSnapshot ? `${targetsMeta.version}.targets.json` : "targets.json";
    targets = await need(name, Math.min(targetsMeta.length ?? TUF_LIMITS.targetsBytes, TUF_LIMITS.targetsBytes));
    await set.updateTargets(targets);
  }

  // §5.7: the target, kept if its bytes still match the listing.
  const info = set.target(target);
  if (info.length > TUF_LIMITS.targetBytes) fail("LENGTH_MISMATCH", `${target} is listed at ${info.length} bytes, more than the ${TUF_LIMITS.targetBytes} allowed`);
  let bytes = previous?.target;
  if (!bytes || !(await local(() => checkTargetBytes(bytes!, info, target)))) {
    const hash = info.hashes.sha256 !== undefined ? info.hashes.sha256 : Object.values(info.hashes)[0]!;
    const path = set.root.consistentSnapshot ? `${hash}.${target}` : target;
    bytes = await need(path, info.length, "target");
    await checkTargetBytes(bytes, info, target);
  }

  return {
    files: { root: set.rootBytes, timestamp: set.timestampBytes!, snapshot, targets, target: bytes },
    expires: set.expires(),
    rootVersion: set.root.version,
    timestampVersion: set.timestamp!.version,
    fetched,
  };
}
