// Reason codes: part of the API (documented in docs/reasons.md), each with words a user can act on.

export const REASON_CODES = [
  // decision outcome
  "STATIC_ALLOW",
  "STATIC_DENY",
  "NO_MATCHING_RULE",
  "INVALID_REFERENCE",
  "AUDIT_MODE",
  "REQUIREMENT_UNAVAILABLE",
  "VERIFICATION_ERROR",
  // registry
  "DIGEST_UNRESOLVED",
  "TAG_DIGEST_MISMATCH",
  "TAG_UNRESOLVED",
  "MANIFEST_NOT_FOUND",
  "REGISTRY_UNREACHABLE",
  "REGISTRY_AUTH_FAILED",
  "REGISTRY_DIGEST_MISMATCH",
  "REGISTRY_BAD_RESPONSE",
  // notary v1 (Docker Content Trust)
  "NOTARY_NO_TRUST_DATA",
  "NOTARY_SIGNER_MISSING",
  "NOTARY_DIGEST_MISMATCH",
  "NOTARY_ROOT_NOT_TRUSTED",
  "NOTARY_BAD_SIGNATURE",
  "NOTARY_THRESHOLD_NOT_MET",
  "NOTARY_EXPIRED",
  "NOTARY_ROLLBACK",
  "NOTARY_HASH_MISMATCH",
  "NOTARY_DELEGATION_NOT_FOUND",
  "NOTARY_MALFORMED",
  "NOTARY_TRUST_SERVER_UNREACHABLE",
  "NOTARY_TRUST_SERVER_AUTH_FAILED",
  "NOTARY_STALE_TRUST_DATA",
  "NOTARY_TRUST_STATE_UNREADABLE",
  "NOTARY_SIGNED",
  // Red Hat simple signing (GPG), containers-policy.json
  "SIMPLE_SIGNED",
  "SIMPLE_SIGNATURE_MISSING",
  "SIMPLE_SIGNATURES_REJECTED",
  "SIMPLE_LOOKASIDE_UNREACHABLE",
  // cosign
  "COSIGN_SIGNED",
  "COSIGN_NO_SIGNATURES",
  "COSIGN_THRESHOLD_UNMET",
  "COSIGN_REQUIRED_SIGNER_MISSING",
  "COSIGN_SIGNATURES_UNREADABLE",
  "COSIGN_LIMIT_REACHED",
  "COSIGN_CERTIFICATE_UNTRUSTED",
  "COSIGN_CERTIFICATE_EXPIRED",
  "COSIGN_CERTIFICATE_NOT_CODE_SIGNING",
  "COSIGN_SCT_MISSING",
  "COSIGN_SCT_INVALID",
  "COSIGN_TLOG_MISSING",
  "COSIGN_TLOG_UNTRUSTED",
  "COSIGN_TLOG_INVALID",
  "COSIGN_TLOG_MISMATCH",
  "COSIGN_TIMESTAMP_INVALID",
  "COSIGN_KEYLESS_SIGNATURE_INVALID",
  "COSIGN_IDENTITY_MISMATCH",
  "COSIGN_KEYLESS_UNREADABLE",
  "COSIGN_TRUST_ROOT_UNAVAILABLE",
  "COSIGN_TRUST_ROOT_STALE",
  // several rules, combinators (Kyverno, policy-controller)
  "NO_RULE_APPLIES",
  "ANY_OF_UNMET",
  "DIGEST_NOT_PINNED",
] as const;

export type ReasonCode = (typeof REASON_CODES)[number];

/**
 * Codes that say why an image passed, or note something about how it was decided: never a reason
 * to deny, even inside a deny verdict (e.g. stale trust data next to a missing signer).
 */
export const NOT_DENY_REASONS: ReadonlySet<ReasonCode> = new Set<ReasonCode>([
  "STATIC_ALLOW",
  "NOTARY_SIGNED",
  "SIMPLE_SIGNED",
  "COSIGN_SIGNED",
  "DIGEST_UNRESOLVED",
  "TAG_UNRESOLVED",
  "AUDIT_MODE",
  "NOTARY_STALE_TRUST_DATA",
  "COSIGN_TRUST_ROOT_STALE",
  "NO_RULE_APPLIES",
]);

export interface Reason {
  code: ReasonCode;
  message: string;
  /** Pattern of the rule the reason comes from, when one matched. */
  rule?: string | null;
  /** Type of the requirement the reason comes from (`allow`, `deny`, `notary`, ...). */
  requirement?: string;
  /** Extra machine-readable facts (upstream URL, key IDs, counts). */
  [detail: string]: unknown;
}
