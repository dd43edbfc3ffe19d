// Web Crypto verify keys, imported once: every verifier imports SPKI keys for `verify` and keeps them
// per an ID derived from the key's content, so an entry can never be served for another key.

/** Import parameters, spelled so that both the Workers and the DOM (Node tests) typings accept them. */
export type ImportParams = Parameters<SubtleCrypto["importKey"]>[2];

/** Imported keys by content-derived ID, bounded (oldest out first); a failed import is not kept. */
export class VerifyKeyCache {
  private readonly keys = new Map<string, Promise<CryptoKey>>();

  constructor(private readonly limit: number) {}

  /** The key for `id` (which must name the key's content and the algorithm), imported on first use. */
  import(id: string, spki: Uint8Array, params: ImportParams): Promise<CryptoKey> {
    const hit = this.keys.get(id);
    if (hit) return hit;
    const imported = crypto.subtle.importKey("spki", spki as Uint8Array<ArrayBuffer>, params, false, ["verify"]);
    imported.catch(() => this.keys.delete(id));
    this.keys.set(id, imported);
    if (this.keys.size > this.limit) {
      const oldest = this.keys.keys().next().value;
      if (oldest !== undefined) this.keys.delete(oldest);
    }
    return imported;
  }
}
