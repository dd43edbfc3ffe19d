// Typed errors for Notary v1 verification: one class, a closed set of codes callers can switch on.
import { TrustgateError } from "../../errors";

/** Every way Notary v1 verification can fail. Stable: callers map these to reasons. */
export type NotaryV1ErrorCode =
  /** Bytes are not valid JSON / UTF-8, or a field is missing, of the wrong type or out of range. */
  | "MALFORMED"
  /** `signed._type` is not the type the role requires. */
  | "WRONG_TYPE"
  /** No root key is acceptable to the trust anchor (pins, certificate checks, CN/GUN). */
  | "ROOT_NOT_TRUSTED"
  /** A signature by a role key failed to verify and the threshold was not met. */
  | "BAD_SIGNATURE"
  /** Fewer distinct valid signatures than the role's threshold (none bad, just missing). */
  | "THRESHOLD_NOT_MET"
  /** A key listed under one key ID hashes to another (notary ErrInvalidKeyID). */
  | "KEY_ID_MISMATCH"
  /** The role's `expires` lies before `now`. */
  | "EXPIRED"
  /** A role's version is lower than the last trusted one (or a root update did not increase it). */
  | "ROLLBACK"
  /** Bytes do not hash to what the timestamp/snapshot lists. */
  | "HASH_MISMATCH"
  /** Bytes are larger than the listed length (or a hard size cap). */
  | "LENGTH_EXCEEDED"
  /** The snapshot/timestamp lists no (usable) hashes for a role. */
  | "MISSING_META"
  /** A delegation is not listed by its parent, or its parent is not loaded. */
  | "DELEGATION_NOT_FOUND"
  /** Roles were loaded out of order (e.g. snapshot before timestamp). */
  | "OUT_OF_ORDER"
  /** A key or certificate cannot be used (unsupported type, bad encoding, weak RSA, bad cert). */
  | "UNSUPPORTED_KEY";

export class NotaryV1Error extends TrustgateError<NotaryV1ErrorCode> {
  override readonly name = "NotaryV1Error";
  constructor(
    code: NotaryV1ErrorCode,
    message: string,
    /** The role the error is about, when there is one (`root`, `targets/releases`, ...). */
    readonly role?: string,
    options?: { readonly cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/** Throws; `cause` is the error this one wraps (a DER or JSON problem), kept for logs. */
export function fail(code: NotaryV1ErrorCode, message: string, role?: string, cause?: unknown): never {
  throw new NotaryV1Error(code, message, role, cause === undefined ? undefined : { cause });
}
