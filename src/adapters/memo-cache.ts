// An isolate-level memory in front of a Cache port: warm decisions are answered without a KV read.
//
// Only for caches whose values carry their own freshness (the verdict cache's `until`, the tag
// cache's `at`) and whose keys are content-addressed (policy revision, digest): a remembered value
// can then never say more than the shared cache said when it was read or written. Misses are not
// remembered, so an entry another isolate writes is found on the next read; a write the shared
// cache refuses is forgotten.
import type { Cache, Clock } from "../ports";

export interface MemoOptions {
  /** Entries kept at most; the least recently used goes first. */
  readonly maxEntries: number;
  /** How long a value read from the shared cache is remembered (its own TTL is unknown on a read). */
  readonly readTtlSeconds: number;
  readonly clock: Clock;
}

interface Entry {
  readonly value: string;
  readonly until: number;
}

export interface MemoCache extends Cache {
  /** For tests and the bench: entries remembered now. */
  readonly size: number;
}

export function memoCache(inner: Cache, options: MemoOptions): MemoCache {
  const memo = new Map<string, Entry>();
  const remember = (key: string, value: string, ttlSeconds: number) => {
    memo.delete(key);
    if (memo.size >= options.maxEntries) memo.delete(memo.keys().next().value as string);
    memo.set(key, { value, until: options.clock.now().getTime() + ttlSeconds * 1000 });
  };
  return {
    get size() {
      return memo.size;
    },
    async get(key) {
      const hit = memo.get(key);
      if (hit) {
        if (hit.until > options.clock.now().getTime()) {
          // Most recently used last, so eviction takes the coldest entry.
          memo.delete(key);
          memo.set(key, hit);
          return hit.value;
        }
        memo.delete(key);
      }
      const value = await inner.get(key);
      if (value !== null) remember(key, value, options.readTtlSeconds);
      return value;
    },
    async put(key, value, opts) {
      // Remembered at once (the value is right whatever becomes of the write, and the write may
      // finish after the response), forgotten if the shared cache refuses it.
      remember(key, value, opts.ttlSeconds);
      const entry = memo.get(key);
      try {
        await inner.put(key, value, opts);
      } catch (err) {
        if (memo.get(key) === entry) memo.delete(key);
        throw err;
      }
    },
  };
}
