// Why cosign material was not used: a closed set of codes, as Notary's and simple signing's.
//
// A key the policy names that cannot be used is thrown (CosignKeyError, a configuration error);
// a signature source that cannot be read is a result (checked.ts `unreadable`), never a throw, as
// one unreadable signature must not hide the others. Both carry a code from here.
import { TrustgateError } from "../../errors";

/** A signature source nothing could be checked against. Stable: the requirement maps each to a reason code. */
export type CosignUnreadableCode =
  /** The `.sig` manifest is not an image manifest, or one of its layer descriptors is not one. */
  | "MANIFEST_UNREADABLE"
  /** A payload blob does not hash to, or is not the size of, its descriptor. */
  | "PAYLOAD_MISMATCH"
  /** A legacy layer has no signature annotation, or it is not base64. */
  | "SIGNATURE_UNREADABLE"
  /** A referrer manifest is missing, does not parse, names another subject, or holds no bundle. */
  | "REFERRER_UNREADABLE"
  /** A bundle blob is larger than trustgate reads (its descriptor says so; it is not fetched). */
  | "BUNDLE_TOO_LARGE"
  /** A bundle does not parse, is keyless under a rule without identities, or holds something other than a DSSE in-toto envelope. */
  | "BUNDLE_UNREADABLE"
  /** The registry would not serve one signature's manifest or blob (a lasting failure; transient ones fail the search). */
  | "SOURCE_UNAVAILABLE";

export type CosignErrorCode =
  /** A key the policy names cannot be used: not a PEM public key, another algorithm, not a point. */
  | "INVALID_KEY"
  | CosignUnreadableCode;

export class CosignError extends TrustgateError<CosignErrorCode> {
  override readonly name: string = "CosignError";
}

/** A key the policy names cannot be used: a configuration error, not a verification result. */
export class CosignKeyError extends CosignError {
  override readonly name = "CosignKeyError";
  constructor(message: string, options?: { readonly cause?: unknown }) {
    super("INVALID_KEY", message, options);
  }
}
