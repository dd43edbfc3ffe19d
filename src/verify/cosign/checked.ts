// What checking one signature found, per key: the common currency of legacy signatures, bundles and the judgement.
import type { SignatureScheme } from "./signature";

export type KeyResult =
  | { readonly ok: true; readonly scheme: SignatureScheme }
  /** `signed`: the signature is the key's, but what it signs is refused (another digest, identity). */
  | { readonly ok: false; readonly why: string; readonly signed?: boolean };

export interface CheckedSignature {
  /** Where it came from, for people: "sha256-<hex>.sig layer 0", "bundle sha256:<hex>". */
  readonly source: string;
  /** Set when the signature could not be checked against any key (unreadable, keyless, damaged blob). */
  readonly unreadable?: string;
  /** Key name → result; empty when unreadable. */
  readonly keys: Readonly<Record<string, KeyResult>>;
}

export function unreadable(source: string, why: string): CheckedSignature {
  return { source, unreadable: why, keys: {} };
}
