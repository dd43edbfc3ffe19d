// A requirement's verdict over all of an image's signatures, as prSignedBy.isRunningImageAllowed
// reaches it: the first accepted signature suffices; otherwise every rejection is reported.
import type { SimpleSigningError } from "./errors";
import { verifySimpleSignature, type AcceptedSignature, type SignatureExpectations } from "./verify";

export interface Rejection {
  /** 1-based position among the signatures (signature-<n> in a lookaside). */
  readonly index: number;
  readonly error: SimpleSigningError;
}

export type Judgement =
  | { readonly satisfied: true; readonly index: number; readonly signature: AcceptedSignature; readonly rejected: readonly Rejection[] }
  | { readonly satisfied: false; readonly missing: boolean; readonly message: string; readonly rejected: readonly Rejection[] };

export const NO_SIGNATURE = "A signature was required, but no signature exists";

/** Verifies the signatures in order and stops at the first accepted one. `onVerify` counts the work. */
export async function judgeSignatures(
  signatures: readonly Uint8Array[],
  expect: SignatureExpectations,
  onVerify: (index: number) => void = () => {},
): Promise<Judgement> {
  const rejected: Rejection[] = [];
  for (const [i, blob] of signatures.entries()) {
    onVerify(i + 1);
    const verdict = await verifySimpleSignature(blob, expect);
    if (verdict.accepted) return { satisfied: true, index: i + 1, signature: verdict.signature, rejected };
    rejected.push({ index: i + 1, error: verdict.error });
  }
  return { satisfied: false, missing: rejected.length === 0, message: summarize(rejected), rejected };
}

/** policy_eval_signedby.go's summary: none, the one reason, or all of them joined with "; ". */
export function summarize(rejected: readonly Rejection[]): string {
  if (rejected.length === 0) return NO_SIGNATURE;
  if (rejected.length === 1) return rejected[0]!.error.message;
  return `None of the signatures were accepted, reasons: ${rejected.map((r) => r.error.message).join("; ")}`;
}
