// The Cache port over Workers KV: the core asks for the TTL it means, and this adapter alone makes it
// one KV accepts (at least 60 s, whole seconds). Entries carry their own freshness, so a longer
// life in KV never lengthens their use.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { kvCache } from "../../worker/stores/kv-cache";

describe("kvCache", () => {
  it("stores an entry asked for less than KV's minimum TTL, which KV itself refuses", async () => {
    await expect(env.TRUST_CACHE.put("kv-cache:raw", "x", { expirationTtl: 1 })).rejects.toThrow(/60/);
    const cache = kvCache(env.TRUST_CACHE);
    await cache.put("kv-cache:short", "kept", { ttlSeconds: 1 });
    expect(await cache.get("kv-cache:short")).toBe("kept");
  });

  it("raises a TTL to 60 s and rounds it up to whole seconds; longer ones pass as asked", async () => {
    const asked: (number | undefined)[] = [];
    const kv = { put: async (_k: string, _v: string, o?: KVNamespacePutOptions) => void asked.push(o?.expirationTtl) } as unknown as KVNamespace;
    const cache = kvCache(kv);
    for (const ttlSeconds of [0, 1, 59.2, 60, 90.5, 86_400]) await cache.put("k", "v", { ttlSeconds });
    expect(asked).toEqual([60, 60, 60, 60, 91, 86_400]);
  });
});
