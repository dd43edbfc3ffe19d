// The core's Cache port over a Workers KV namespace.
import type { Cache } from "../../src/ports";

/**
 * KV refuses an expiration under 60 s (and takes whole seconds). The core asks for the TTL it means
 * and bounds an entry's use by what the entry says (`until`, `at`); here the TTL only becomes one
 * KV accepts.
 */
const KV_MIN_TTL_SECONDS = 60;

export function kvCache(kv: KVNamespace): Cache {
  return {
    get: (key) => kv.get(key),
    put: (key, value, { ttlSeconds }) => kv.put(key, value, { expirationTtl: Math.max(KV_MIN_TTL_SECONDS, Math.ceil(ttlSeconds)) }),
  };
}
