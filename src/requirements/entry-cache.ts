// Entries the requirement kinds keep in TRUST_CACHE, one way for every kind: a key per (prefix, what
// the entry depends on), an entry read back through the kind's reader (anything that is not one is a
// miss, never a verdict), the TTL the kind means (the KV adapter raises it to KV's minimum). Whether
// a write waits or goes behind the verdict is the caller's (it may batch writes).
//
// Outcomes of signedBy and cosign (outcome-cache.ts) and Notary's trust summaries (notary-stored.ts)
// are such entries; a new kind's entries are one `entryCache(...)` more.
import { sha256Hex, stableStringify } from "../encoding";
import type { Cache } from "../ports";

export interface EntryCache<T> {
  /** The prefix (its version included) and a stable hash of everything the entry depends on. */
  key(dependsOn: unknown): Promise<string>;
  /** The entry under `key`, or undefined when there is none or it does not read. */
  get(cache: Cache, key: string): Promise<T | undefined>;
  /** Writes `entry` for `ttlSeconds`; the returned promise is the write (await it or hand it to the background). */
  put(cache: Cache, key: string, entry: T, ttlSeconds: number): Promise<void>;
}

/** `read`: the entry from the stored text, or undefined for anything that is not one the kind wrote. */
export function entryCache<T>(prefix: string, read: (text: string | null) => T | undefined): EntryCache<T> {
  return {
    key: async (dependsOn) => prefix + (await sha256Hex(stableStringify(dependsOn))),
    get: async (cache, key) => read(await cache.get(key)),
    put: (cache, key, entry, ttlSeconds) => cache.put(key, JSON.stringify(entry), { ttlSeconds }),
  };
}
