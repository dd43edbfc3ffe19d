// Threshold and required signers over checked signatures, with the words Connaisseur's users know.
//
// Connaisseur 3 (internal/validator/cosign/validator.go ValidateImage) fails with
// "validation threshold not reached (%d/%d)" and then "missing required signatures from %+v"
// (Go's %+v of a []string: "[alice bob]"); cosign says "no signatures found" and
// "no matching signatures". Unlike Connaisseur, which counts valid signatures, the threshold here
// counts distinct keys: two signatures by one key are one signer, and so is one public key the
// policy lists twice under two names (the threshold counts key material, not names).
import type { CheckedSignature } from "./checked";
import type { CosignUnreadableCode } from "./errors";

export interface SignerPolicy {
  /** Key names, in the policy's order. */
  readonly keys: readonly string[];
  readonly threshold: number;
  readonly required: readonly string[];
  /**
   * Key name → what identifies its key material (base64 sha256 of the SPKI): names sharing one
   * count as one signer. A name absent here is its own key.
   */
  readonly identities?: Readonly<Record<string, string>>;
  /** What the signers are, for messages: "key" (default), or "key or identity" with keyless identities. */
  readonly noun?: string;
}

export interface Judgement {
  readonly satisfied: boolean;
  /** No signature of any kind was found (nothing to check). */
  readonly noSignatures: boolean;
  /** Keys with at least one valid signature, in the policy's order. */
  readonly signers: readonly string[];
  /** Distinct key material among the signers: what the threshold counts. */
  readonly distinctSigners: number;
  /** Why each other key did not sign, in the policy's order. */
  readonly failures: Readonly<Record<string, string>>;
  readonly threshold: number;
  readonly thresholdMet: boolean;
  /** Required keys without a valid signature. */
  readonly missing: readonly string[];
  /** Signatures nothing could be checked against, with why. */
  readonly unreadable: readonly { readonly source: string; readonly why: string; readonly code: CosignUnreadableCode }[];
  /** SignerPolicy.noun. */
  readonly noun?: string;
}

export function judgeSignatures(policy: SignerPolicy, signatures: readonly CheckedSignature[]): Judgement {
  const signers: string[] = [];
  const failures: Record<string, string> = {};
  const checkable = signatures.filter((s) => !s.unreadable);
  for (const key of policy.keys) {
    if (checkable.some((s) => s.keys[key]?.ok)) {
      signers.push(key);
      continue;
    }
    failures[key] = whyNot(key, checkable, signatures.length);
  }
  const distinctSigners = new Set(signers.map((name) => policy.identities?.[name] ?? `name:${name}`)).size;
  const thresholdMet = distinctSigners >= policy.threshold;
  const missing = policy.required.filter((name) => !signers.includes(name));
  return {
    satisfied: thresholdMet && missing.length === 0,
    noSignatures: signatures.length === 0,
    signers,
    distinctSigners,
    failures,
    threshold: policy.threshold,
    thresholdMet,
    missing,
    unreadable: signatures.flatMap((s) => (s.unreadable ? [{ source: s.source, why: s.unreadable, code: s.problem }] : [])),
    ...(policy.noun !== undefined ? { noun: policy.noun } : {}),
  };
}

function whyNot(key: string, checkable: readonly CheckedSignature[], total: number): string {
  if (total === 0) return "no signatures found";
  if (checkable.length === 0) return "no readable signatures";
  // A signature that is the key's but signs something else says more than a bad one.
  for (const s of checkable) {
    const r = s.keys[key];
    if (r && !r.ok && r.signed) return `${s.source}: ${r.why}`;
  }
  const reasons = [...new Set(checkable.flatMap((s) => (s.keys[key] && !s.keys[key]!.ok ? [(s.keys[key] as { why: string }).why] : [])))];
  return `no matching signatures (${checkable.length} checked): ${reasons.slice(0, 3).join("; ")}`;
}

/** Connaisseur's threshold wording, then who signed and why the others did not. */
export function thresholdMessage(j: Judgement): string {
  return `validation threshold not reached (${j.distinctSigners}/${j.threshold}): ${details(j, Object.keys(j.failures))}`;
}

/** Connaisseur's required-signers wording, then why each missing one did not sign. */
export function requiredMessage(j: Judgement): string {
  return `missing required signatures from [${j.missing.join(" ")}]: ${details(j, j.missing)}`;
}

function details(j: Judgement, failed: readonly string[]): string {
  const parts = [j.signers.length > 0 ? `valid signatures from ${j.signers.join(", ")}` : `no valid signature from any ${j.noun ?? "key"}`];
  if (j.distinctSigners < j.signers.length) parts[0] += ` (${j.distinctSigners} distinct ${j.distinctSigners === 1 ? "key" : "keys"}: some names hold the same public key)`;
  for (const key of failed) parts.push(`${key}: ${j.failures[key]}`);
  return parts.join("; ");
}
