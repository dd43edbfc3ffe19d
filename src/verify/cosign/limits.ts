// How much of what a registry serves one cosign requirement looks at: anyone can run a registry,
// and cosign itself sets no bound on signatures per image. Every cosign cap lives here.

/** Layers of the legacy `sha256-<hex>.sig` manifest checked; cosign appends one per `cosign sign`. */
export const MAX_SIGNATURE_LAYERS = 10;
/**
 * Referrers (v3 bundles) of the digest fetched and checked. Each costs a manifest and a blob fetch,
 * and under the bench's hostile phase the subrequests, more than the checks, kept other requests
 * waiting.
 */
export const MAX_BUNDLES = 10;
/**
 * Bytes of one bundle blob: a key-based bundle is a few KiB (with its Rekor entry and inclusion
 * proof under 16 KiB); parsing one of a megabyte, twenty times a decision, stalls the isolate.
 */
export const MAX_BUNDLE_BYTES = 64 * 1024;
/** Bytes of one legacy payload blob: cosign's simple-signing payload is a few hundred bytes. */
export const MAX_PAYLOAD_BYTES = 64 * 1024;
/** DSSE signatures checked per bundle: cosign writes exactly one. */
export const MAX_SIGNATURES_PER_BUNDLE = 2;
/**
 * Signature checks (one signature against one key) per requirement and decision. A check costs
 * 0.1 ms with Web Crypto and up to 2.5 ms where noble verifies (Ed25519ph, keys Web Crypto
 * refuses), so this keeps a hostile registry's share of one decision under ~0.1 s of CPU, while
 * leaving room for a few keys over a few signatures each (a key is tried once per signature).
 */
export const MAX_VERIFICATIONS = 32;
