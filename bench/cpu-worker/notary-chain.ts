// The Notary v1 chain a cold decision verifies, over the committed vector
// test/vectors/notary-v1/alice-signed: the pinned root certificate imported, then root, timestamp,
// snapshot, targets and both delegations (targets/releases, targets/alice) verified in the notary
// client's order, then the tag lookup and the signer check. 6 ECDSA P-256 signatures.
// Pure (bytes in, Web Crypto only): the bench runs it inside workerd (bench/cpu-worker/index.ts)
// and, as a cross-check, in Node (bench/run.ts).
import { importPinnedKey } from "../../src/verify/notary-v1/keys";
import { releasedTarget, roleSignsTarget } from "../../src/verify/notary-v1/targets-lookup";
import { TrustedSet } from "../../src/verify/notary-v1/trusted-set";

/** The vector's role files, by their path under the trust server's `_trust/tuf/`. */
export const VECTOR_FILES = [
  "root.json",
  "1.root.json",
  "2.root.json",
  "timestamp.json",
  "snapshot.json",
  "targets.json",
  "targets/releases.json",
  "targets/alice.json",
] as const;
export type VectorFile = (typeof VECTOR_FILES)[number];

/** What the bench needs of the vector's case.json. */
export interface VectorCase {
  readonly gun: string;
  /** A time at which every role is unexpired. */
  readonly now: string;
  readonly pinnedRoot: { readonly certificatePem: string; readonly publicKeyPem: string };
  readonly tags: { readonly v1: { readonly digest: string } };
}

export interface NotaryVector {
  readonly case: VectorCase;
  readonly files: Readonly<Record<VectorFile, Uint8Array>>;
}

export const SIGNATURES_PER_CHAIN = 6;

/** One full chain; returns the digest v1 resolves to (checked against case.json). */
export async function notaryChain(v: NotaryVector): Promise<string> {
  const c = v.case;
  const digest = c.tags.v1.digest;
  const anchor = { kind: "public-keys" as const, keys: [await importPinnedKey(c.pinnedRoot.certificatePem)] };
  const set = await TrustedSet.create(v.files["root.json"], { anchor, gun: c.gun, now: new Date(c.now) });
  await set.updateTimestamp(v.files["timestamp.json"]);
  await set.updateSnapshot(v.files["snapshot.json"]);
  await set.updateTargets(v.files["targets.json"]);
  await set.updateDelegation("targets/releases", v.files["targets/releases.json"]);
  await set.updateDelegation("targets/alice", v.files["targets/alice.json"]);
  const released = releasedTarget(set, "v1");
  if (released?.digest !== digest) throw new Error(`vector: v1 resolved to ${released?.digest}, expected ${digest}`);
  const signed = roleSignsTarget(set, "targets/alice", "v1", digest);
  if (!signed.ok) throw new Error(`vector: targets/alice does not sign v1: ${signed.why}`);
  return digest;
}
