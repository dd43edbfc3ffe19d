// Tag → digest answers kept briefly in a cache, so repeated decisions don't ask the registry.
import { writeBehind, type Background, type Cache, type Clock, type DigestResolution, type DigestResolver, type NamedUpstreams } from "../ports";
import type { ImageReference } from "../reference";
import { isRecord, isTime, readStoredJson } from "../stored";

// What the registry client accepts as a manifest digest; a stored digest must look the same.
const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

/** A stored answer, or undefined for anything that is not one (a miss, never an error or a deny). */
function readEntry(text: string | null): { digest: string; at: number } | undefined {
  const stored = readStoredJson(text);
  if (!stored.ok || !isRecord(stored.value)) return undefined;
  const { digest, at } = stored.value;
  return typeof digest === "string" && DIGEST_RE.test(digest) && isTime(at) ? { digest, at } : undefined;
}

export function cachedDigestResolver(
  inner: DigestResolver,
  cache: Cache,
  ttlSeconds: number,
  clock: Clock,
): DigestResolver {
  if (ttlSeconds <= 0) {
    return {
      resolve(reference, upstreams, _background, onUpstream) {
        onUpstream?.();
        return inner.resolve(reference, upstreams);
      },
    };
  }
  return {
    async resolve(reference: ImageReference, upstreams?: NamedUpstreams, background?: Background, onUpstream?: () => void): Promise<DigestResolution> {
      if (reference.digest) return inner.resolve(reference, upstreams);
      const key = `tag:v1:${reference.name}:${reference.tag ?? "latest"}`;
      const hit = readEntry(await cache.get(key));
      if (hit && clock.now().getTime() - hit.at < ttlSeconds * 1000) return { ok: true, digest: hit.digest, cached: true };
      onUpstream?.();
      const fresh = await inner.resolve(reference, upstreams);
      if (fresh.ok) {
        const put = cache.put(key, JSON.stringify({ digest: fresh.digest, at: clock.now().getTime() }), { ttlSeconds });
        await writeBehind(put, background, "tag cache write");
      }
      return fresh;
    },
  };
}
