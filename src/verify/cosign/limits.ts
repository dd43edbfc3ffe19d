// The cosign caps under the names the verifier, the requirement and the tests use; the numbers and
// why each is what it is live in `src/limits.ts` (`Limits.cosign`).
import { DEFAULT_LIMITS } from "../../limits";

export const MAX_SIGNATURE_LAYERS = DEFAULT_LIMITS.cosign.signatureLayers;
export const MAX_BUNDLES = DEFAULT_LIMITS.cosign.bundles;
export const MAX_BUNDLE_BYTES = DEFAULT_LIMITS.cosign.bundleBytes;
export const MAX_PAYLOAD_BYTES = DEFAULT_LIMITS.cosign.payloadBytes;
export const MAX_SIGNATURES_PER_BUNDLE = DEFAULT_LIMITS.cosign.signaturesPerBundle;
export const MAX_VERIFICATIONS = DEFAULT_LIMITS.cosign.verifications;
export const MAX_PREHASH_FALLBACKS = DEFAULT_LIMITS.cosign.prehashFallbacks;
export const MAX_KEYLESS_CERTIFICATES = DEFAULT_LIMITS.cosign.keylessCertificates;
export const MAX_TLOG_ENTRIES = DEFAULT_LIMITS.cosign.tlogEntries;
export const MAX_RFC3161_TIMESTAMPS = DEFAULT_LIMITS.cosign.rfc3161Timestamps;
export const MAX_INCLUSION_PROOF_HASHES = DEFAULT_LIMITS.cosign.inclusionProofHashes;
