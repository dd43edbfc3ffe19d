// What a key-based check of one signature is given, and what checking any signature found, per key: the common currency of legacy signatures, bundles and the judgement.
import type { ImageReference } from "../../reference";
import type { SignedIdentity } from "../shared/identity";
import type { VerificationBudget } from "./budget";
import type { CosignUnreadableCode } from "./errors";
import type { KeylessFailureCode } from "./keyless/types";
import type { CosignPublicKey } from "./keys";
import type { SignatureScheme } from "./signature";

/** What a key-based check (a legacy layer, a bundle) is given besides the signature: the keys and what the payload must claim. */
export interface KeyedCheck {
  readonly keys: readonly CosignPublicKey[];
  /** The image's manifest digest. */
  readonly digest: string;
  readonly image: ImageReference;
  readonly signedIdentity?: SignedIdentity | undefined;
  /** Called once per signature verification (for the work counter). */
  readonly onVerify?: (key: CosignPublicKey) => void;
  /** Checks left for the whole requirement; unlimited when absent. */
  readonly budget?: VerificationBudget;
}

export type KeyResult =
  | { readonly ok: true; readonly scheme: SignatureScheme | "keyless" }
  /**
   * `signed`: the signature is the key's, but what it signs is refused (another digest, identity).
   * `unchecked`: the key was not tried (the verification budget was spent).
   */
  | { readonly ok: false; readonly why: string; readonly signed?: boolean; readonly unchecked?: boolean };

export type CheckedSignature = {
  /** Where it came from, for people: "sha256-<hex>.sig layer 0", "bundle sha256:<hex>". */
  readonly source: string;
  /** Key name (or keyless identity name) → result; empty when unreadable. */
  readonly keys: Readonly<Record<string, KeyResult>>;
  /** A keyless signature that failed before any identity could accept it: what failed, for the reasons. */
  readonly keyless?: { readonly code: KeylessFailureCode; readonly why: string };
} & (
  | { readonly unreadable?: undefined; readonly problem?: undefined }
  | {
      /** Why the signature could not be checked against any key (unreadable, keyless, damaged blob). */
      readonly unreadable: string;
      /** Which kind of unreadable: the code the requirement maps to a reason code. */
      readonly problem: CosignUnreadableCode;
    }
);

export function unreadable(source: string, problem: CosignUnreadableCode, why: string): CheckedSignature {
  return { source, unreadable: why, problem, keys: {} };
}

/** What a key gets when the requirement's verification budget is spent before its turn. */
export function unchecked(limit: number): KeyResult {
  return { ok: false, why: `not checked: the budget of ${limit} signature checks per decision was spent`, unchecked: true };
}
