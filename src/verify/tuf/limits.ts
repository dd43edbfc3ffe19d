// What one TUF update reads at most. Sigstore's files are a few KiB each; the bounds are far above
// them and far below what a Worker can hold, so a hostile or broken repository cannot stall it.
const KiB = 1024;
const MiB = 1024 * KiB;

export const TUF_LIMITS = Object.freeze({
  /** A root.json (Sigstore's: 5.6 KiB with five keys). */
  rootBytes: 512 * KiB,
  /** timestamp.json, whose length no other file states (python-tuf's default is 16 KiB too). */
  timestampBytes: 16 * KiB,
  /** snapshot.json when the timestamp gives no length. */
  snapshotBytes: 2 * MiB,
  /** targets.json when the snapshot gives no length. */
  targetsBytes: 4 * MiB,
  /** A target file (trusted_root.json is 7 KiB), whatever length targets.json lists. */
  targetBytes: 2 * MiB,
  /** Root versions one update walks (N+1, N+2, ...): Sigstore published 15 in five years. */
  rootRotations: 32,
  /** Keys in a root, signatures in one file. */
  keys: 256,
  signatures: 256,
});
