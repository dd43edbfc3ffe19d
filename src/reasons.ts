// Reason codes: part of the API (documented in docs/reasons.md), each with words a user can act on.

export const REASON_CODES = [
  // decision outcome
  "STATIC_ALLOW",
  "STATIC_DENY",
  "NO_MATCHING_RULE",
  "AUDIT_MODE",
  "REQUIREMENT_UNAVAILABLE",
  "VERIFICATION_ERROR",
  // registry
  "DIGEST_UNRESOLVED",
  "MANIFEST_NOT_FOUND",
  "REGISTRY_UNREACHABLE",
  "REGISTRY_AUTH_FAILED",
  "REGISTRY_DIGEST_MISMATCH",
  "REGISTRY_BAD_RESPONSE",
] as const;

export type ReasonCode = (typeof REASON_CODES)[number];

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
