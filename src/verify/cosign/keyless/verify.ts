// Keyless verification of one signature: certificate chain, SCT, transparency log, identity.
import type { IdentityMatcher, KeylessCheck, KeylessEvidence, KeylessOptions } from "./types";
import type { TrustedRoot } from "./trusted-root";

/** CONTRACT STUB (issue 15): replaced by the real verifier. */
export async function verifyKeyless(_evidence: KeylessEvidence, _root: TrustedRoot, _options: KeylessOptions): Promise<KeylessCheck> {
  return { ok: false, code: "MALFORMED", why: "keyless verification is not implemented yet" };
}

/** How a matcher is said in reasons: "issuer https://… subject ~^https://github.com/org/". */
export function describeMatcher(m: IdentityMatcher): string {
  const issuer = m.issuer ?? (m.issuerRegExp === undefined ? "any issuer" : `issuer matching ${m.issuerRegExp}`);
  const subject = m.subject ?? (m.subjectRegExp === undefined ? "any subject" : `subject matching ${m.subjectRegExp}`);
  return `${issuer}, ${subject}`;
}
