// The isolate-level memory in front of a Cache: hits without a read, bounded, expiring, and never
// remembering a miss or a failed write.
import { describe, expect, it } from "vitest";
import { memoCache } from "../../src/adapters/memo-cache";
import type { Cache, Clock } from "../../src/ports";

function mapCache() {
  const data = new Map<string, string>();
  const reads: string[] = [];
  let failPuts = false;
  const cache: Cache = {
    async get(key) {
      reads.push(key);
      return data.get(key) ?? null;
    },
    async put(key, value) {
      if (failPuts) throw new Error("KV write failed");
      data.set(key, value);
    },
  };
  return { cache, data, reads, failPutsFromNowOn: () => (failPuts = true) };
}

function manualClock(start = 1_700_000_000_000) {
  let t = start;
  const clock: Clock = { now: () => new Date(t) };
  return { clock, advance: (ms: number) => (t += ms) };
}

describe("memoCache", () => {
  it("answers a repeated read from memory, and a written key without any read", async () => {
    const inner = mapCache();
    inner.data.set("a", "1");
    const memo = memoCache(inner.cache, { maxEntries: 10, readTtlSeconds: 60, clock: manualClock().clock });
    expect(await memo.get("a")).toBe("1");
    expect(await memo.get("a")).toBe("1");
    expect(inner.reads).toEqual(["a"]);
    await memo.put("b", "2", { ttlSeconds: 60 });
    expect(await memo.get("b")).toBe("2");
    expect(inner.reads).toEqual(["a"]);
  });

  it("does not remember a miss: a value another isolate writes later is found", async () => {
    const inner = mapCache();
    const memo = memoCache(inner.cache, { maxEntries: 10, readTtlSeconds: 60, clock: manualClock().clock });
    expect(await memo.get("k")).toBeNull();
    inner.data.set("k", "later");
    expect(await memo.get("k")).toBe("later");
    expect(inner.reads).toEqual(["k", "k"]);
  });

  it("forgets a read value after readTtlSeconds and a written one after its own TTL", async () => {
    const inner = mapCache();
    inner.data.set("r", "old");
    const { clock, advance } = manualClock();
    const memo = memoCache(inner.cache, { maxEntries: 10, readTtlSeconds: 5, clock });
    await memo.get("r");
    await memo.put("w", "x", { ttlSeconds: 60 });
    inner.data.set("r", "new");
    inner.data.set("w", "y");
    advance(5_001);
    expect(await memo.get("r")).toBe("new");
    expect(await memo.get("w")).toBe("x");
    advance(55_000);
    expect(await memo.get("w")).toBe("y");
  });

  it("keeps at most maxEntries, dropping the least recently used", async () => {
    const inner = mapCache();
    const memo = memoCache(inner.cache, { maxEntries: 2, readTtlSeconds: 60, clock: manualClock().clock });
    await memo.put("a", "1", { ttlSeconds: 60 });
    await memo.put("b", "2", { ttlSeconds: 60 });
    await memo.get("a"); // a is now the most recent
    await memo.put("c", "3", { ttlSeconds: 60 });
    expect(memo.size).toBe(2);
    inner.reads.length = 0;
    await memo.get("a");
    await memo.get("c");
    expect(inner.reads).toEqual([]);
    await memo.get("b");
    expect(inner.reads).toEqual(["b"]);
  });

  it("does not remember a value whose write failed", async () => {
    const inner = mapCache();
    inner.failPutsFromNowOn();
    const memo = memoCache(inner.cache, { maxEntries: 10, readTtlSeconds: 60, clock: manualClock().clock });
    await expect(memo.put("v", "1", { ttlSeconds: 60 })).rejects.toThrow("KV write failed");
    expect(await memo.get("v")).toBeNull();
  });

  it("serves a written value while the shared cache is still writing it", async () => {
    const inner = mapCache();
    let release!: () => void;
    const held = new Promise<void>((r) => (release = r));
    const slow: Cache = { get: inner.cache.get, put: async (k, v, o) => (await held, inner.cache.put(k, v, o)) };
    const memo = memoCache(slow, { maxEntries: 10, readTtlSeconds: 60, clock: manualClock().clock });
    const writing = memo.put("w", "1", { ttlSeconds: 60 });
    expect(await memo.get("w")).toBe("1");
    expect(inner.reads).toEqual([]);
    release();
    await writing;
    expect(inner.data.get("w")).toBe("1");
  });
});

