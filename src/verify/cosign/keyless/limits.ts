// Bounds on what one keyless signature may make the verifier do; real Sigstore material sits far
// below each, so anything past them is refused as malformed rather than worked through.

/** Certificates between the leaf and a trust-root CA (Fulcio: leaf, intermediate, root). */
export const MAX_CHAIN_CERTIFICATES = 5;
/** Bytes of one certificate (Fulcio leaves are ~1.5 KiB). */
export const MAX_CERTIFICATE_BYTES = 16 * 1024;
/** SCTs in one certificate (Fulcio embeds one). */
export const MAX_SCTS = 8;
/** Transparency-log entries per signature (sigstore-go allows 32; cosign writes one). */
export const MAX_TLOG_ENTRIES = 8;
/** Bytes of one canonicalized Rekor entry body (a certificate, a signature, hashes: a few KiB). */
export const MAX_ENTRY_BODY_BYTES = 64 * 1024;
/** Hashes in an inclusion proof: a tree of 2^64 leaves needs 64. */
export const MAX_PROOF_HASHES = 64;
/** Bytes of a checkpoint (a signed note: a few lines and a signature or a few). */
export const MAX_CHECKPOINT_BYTES = 8 * 1024;
/** Signature lines of a checkpoint looked at. */
export const MAX_CHECKPOINT_SIGNATURES = 8;
/** Entries per list in a trust root (public good has a handful of each). */
export const MAX_TRUST_ROOT_ENTRIES = 64;
/** Bytes of trusted_root.json (public good: ~7 KiB). */
export const MAX_TRUST_ROOT_BYTES = 1024 * 1024;
/** Characters of an identity regular expression. */
export const MAX_REGEXP_LENGTH = 1024;
/** Imported trust-root and certificate keys kept per isolate. */
export const MAX_CACHED_KEYS = 256;
