// The core's Cache port over a Workers KV namespace.
import type { Cache } from "../../src/ports";

export function kvCache(kv: KVNamespace): Cache {
  return {
    get: (key) => kv.get(key),
    put: (key, value, { ttlSeconds }) => kv.put(key, value, { expirationTtl: Math.max(60, ttlSeconds) }),
  };
}
