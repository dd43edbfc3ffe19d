// Thresholds as TUF means them: a role is satisfied by `threshold` distinct keys of the role with a
// valid signature over the canonical `signed`. Distinct means distinct public keys: a signature
// listed twice counts once, and so does one key listed under two key IDs (the threshold attack;
// Sigstore's key IDs are names, not all hashes of the key, so the ID alone cannot tell).
import { fail } from "./errors";
import { keyIdentity, verifyWithKey, type TufKey } from "./keys";
import type { Envelope, RoleKeys } from "./metadata";

export interface ThresholdCount {
  /** Distinct public keys of the role with a valid signature. */
  readonly valid: number;
  readonly threshold: number;
}

/** Counts the distinct role keys whose signature on `envelope` verifies. */
export async function countValid(envelope: Envelope, keys: ReadonlyMap<string, TufKey>, role: RoleKeys): Promise<ThresholdCount> {
  const allowed = new Set(role.keyids);
  // One check per key ID (the first signature under it); signatures by keys outside the role are skipped.
  const byId = new Map<string, Uint8Array>();
  for (const s of envelope.signatures) if (allowed.has(s.keyid) && !byId.has(s.keyid)) byId.set(s.keyid, s.sig);
  const verified = await Promise.all(
    [...byId].map(async ([id, sig]) => {
      const key = keys.get(id);
      if (!key) return undefined;
      return (await verifyWithKey(key, sig, envelope.signedBytes)) ? keyIdentity(key) : undefined;
    }),
  );
  const distinct = new Set(verified.filter((v): v is string => v !== undefined));
  return { valid: distinct.size, threshold: role.threshold };
}

/** Throws TufError THRESHOLD_NOT_MET unless `threshold` distinct role keys signed `envelope`. */
export async function requireThreshold(envelope: Envelope, keys: ReadonlyMap<string, TufKey>, role: RoleKeys, what: string): Promise<void> {
  const { valid, threshold } = await countValid(envelope, keys, role);
  if (valid < threshold) {
    fail("THRESHOLD_NOT_MET", `${what} has ${valid} valid signature${valid === 1 ? "" : "s"} from distinct keys, fewer than the threshold of ${threshold}`);
  }
}
