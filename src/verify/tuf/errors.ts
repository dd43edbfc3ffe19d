// Typed errors for the TUF client: one class, a closed set of codes, the file they are about.
import { TrustgateError } from "../../errors";

/** Every way a TUF update can fail. */
export type TufErrorCode =
  /** Bytes are not UTF-8 JSON, or a field is missing, of the wrong type or out of range. */
  | "MALFORMED"
  /** `signed._type` is not the file's type. */
  | "WRONG_TYPE"
  /** Fewer distinct keys with valid signatures than the role's threshold. */
  | "THRESHOLD_NOT_MET"
  /** The file's `expires` is not after the update's start. */
  | "EXPIRED"
  /** A version lower than the trusted one, or one other than the version a referring file names. */
  | "BAD_VERSION"
  /** Bytes do not hash to what the referring file lists. */
  | "HASH_MISMATCH"
  /** Bytes are longer or shorter than the referring file lists, or past a size bound. */
  | "LENGTH_MISMATCH"
  /** More root versions than one update walks. */
  | "TOO_MANY_ROTATIONS"
  /** A file the workflow needs is not listed (snapshot in timestamp, targets in snapshot, the target). */
  | "NOT_LISTED"
  /** A file was used before what it depends on (programming error). */
  | "OUT_OF_ORDER";

export class TufError extends TrustgateError<TufErrorCode> {
  override readonly name = "TufError";
}

/** Throws a TufError; `cause` is the error this one wraps (a JSON problem), kept for logs. */
export function fail(code: TufErrorCode, message: string, cause?: unknown): never {
  throw new TufError(code, message, cause === undefined ? undefined : { cause });
}
