// One keyless signature against the policy's keyless identities: the verifier's check, then which
// identities the certificate satisfies, then what the signed payload claims.
//
// Each identity is a signer of its own (as each policy-controller authority is judged on its own):
// a certificate counts for every identity it satisfies. verifyKeyless reports the first; the others
// are matched here against the identity it verified.
import { checkWithin, type VerificationBudget } from "./budget";
import type { CheckedSignature, KeyResult } from "./checked";
import { describeMatcher, verifyKeyless } from "./keyless/verify";
import type { TrustedRoot } from "./keyless/trusted-root";
import type { FulcioIdentity, IdentityMatcher, KeylessEvidence, KeylessFailureCode } from "./keyless/types";
import { matcherProblem } from "./keyless/identity";

export interface KeylessSigner {
  /** The signer's name in the judgement. */
  readonly name: string;
  readonly matcher: IdentityMatcher;
}

export interface KeylessSignatureCheck {
  readonly evidence: KeylessEvidence;
  readonly root: TrustedRoot;
  readonly signers: readonly KeylessSigner[];
  readonly ignoreSCT: boolean;
  readonly ignoreTlog: boolean;
  /** Why the signed payload does not claim the image (another digest, identity), or undefined. */
  readonly claimProblem: () => string | undefined;
  readonly budget?: VerificationBudget;
  readonly onVerify?: () => void;
}

/** Checks one keyless signature; identities it does not satisfy get why not. Never unreadable: a failure is a result. */
export async function checkKeylessSignature(check: KeylessSignatureCheck): Promise<CheckedSignature> {
  const { evidence, signers } = check;
  const source = evidence.source;
  const result = await checkWithin(check.budget, () => {
    check.onVerify?.();
    return verifyKeyless(evidence, check.root, {
      identities: signers.map((s) => s.matcher),
      ignoreSCT: check.ignoreSCT,
      ignoreTlog: check.ignoreTlog,
    });
  });
  if (!result) {
    const why = `not checked: the budget of ${check.budget!.limit} signature checks per decision was spent`;
    return { source, keys: everyone(signers, { ok: false, why, unchecked: true }) };
  }
  if (!result.ok) return failed(source, signers, result.code, result.why);
  const claim = check.claimProblem();
  const keys: Record<string, KeyResult> = {};
  signers.forEach((s, i) => {
    const matches = i === result.matched || (i > result.matched && identityMatches(s.matcher, result.identity));
    if (!matches) keys[s.name] = { ok: false, why: mismatch(result.identity, s.matcher) };
    else if (claim !== undefined) keys[s.name] = { ok: false, why: claim, signed: true };
    else keys[s.name] = { ok: true, scheme: "keyless" };
  });
  return { source, keys };
}

/** A keyless signature that could not be checked at all (its material unreadable, no trust root): every identity fails with `why`. */
export function failed(source: string, signers: readonly KeylessSigner[], code: KeylessFailureCode, why: string): CheckedSignature {
  return { source, keys: everyone(signers, { ok: false, why }), keyless: { code, why } };
}

function everyone(signers: readonly KeylessSigner[], result: KeyResult): Record<string, KeyResult> {
  return Object.fromEntries(signers.map((s) => [s.name, result]));
}

/** Found versus wanted, in cosign's terms. */
function mismatch(found: FulcioIdentity, wanted: IdentityMatcher): string {
  const problem = matcherProblem(wanted, found);
  return `the certificate is for issuer ${found.issuer}, subject ${found.subject}${problem ? ` (${problem})` : ""}; wanted ${describeMatcher(wanted)}${extensionsText(wanted)}`;
}

function extensionsText(m: IdentityMatcher): string {
  const ext = Object.entries(m.extensions ?? {});
  return ext.length === 0 ? "" : ` with ${ext.map(([k, v]) => `${k} ${v}`).join(", ")}`;
}

/** Whether a verified identity satisfies a matcher (the verifier's own rules: exact, unanchored RE2-compatible regexps, extensions). */
export function identityMatches(m: IdentityMatcher, id: FulcioIdentity): boolean {
  return matcherProblem(m, id) === undefined;
}
