// Tag → digest answers kept briefly in a cache, so repeated decisions don't ask the registry.
import { writeBehind, type Background, type Cache, type Clock, type DigestResolution, type DigestResolver, type NamedUpstreams } from "../ports";
import type { ImageReference } from "../reference";

// Workers KV refuses expirations under 60 s; shorter TTLs are enforced by the stored timestamp.
const KV_MIN_TTL = 60;

export function cachedDigestResolver(
  inner: DigestResolver,
  cache: Cache,
  ttlSeconds: number,
  clock: Clock,
): DigestResolver {
  if (ttlSeconds <= 0) return inner;
  return {
    async resolve(reference: ImageReference, upstreams?: NamedUpstreams, background?: Background): Promise<DigestResolution> {
      if (reference.digest) return inner.resolve(reference, upstreams);
      const key = `tag:v1:${reference.name}:${reference.tag ?? "latest"}`;
      const hit = await cache.get(key);
      if (hit) {
        const { digest, at } = JSON.parse(hit) as { digest: string; at: number };
        if (clock.now().getTime() - at < ttlSeconds * 1000) return { ok: true, digest, cached: true };
      }
      const fresh = await inner.resolve(reference, upstreams);
      if (fresh.ok) {
        const put = cache.put(key, JSON.stringify({ digest: fresh.digest, at: clock.now().getTime() }), {
          ttlSeconds: Math.max(KV_MIN_TTL, ttlSeconds),
        });
        await writeBehind(put, background, "tag cache write");
      }
      return fresh;
    },
  };
}
