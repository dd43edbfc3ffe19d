// Why a simple-signing signature was not accepted: a typed code for machines, containers/image's words for people.
import { TrustgateError } from "../../errors";

export type SimpleSigningErrorCode =
  /** The policy's key material could not be read (a policy problem, not a signature problem). */
  | "INVALID_KEYS"
  /** Not an OpenPGP signed message: garbage, cleartext, detached, encrypted, unexpected packets. */
  | "MALFORMED_MESSAGE"
  /** A well-formed message with no signature, or more than one (gpgme expects exactly one). */
  | "SIGNATURE_COUNT"
  /** Signed by a key that is not among the requirement's keys. */
  | "UNKNOWN_KEY"
  /** The cryptography does not hold (tampered data or signature, unusable key, bad hash). */
  | "BAD_SIGNATURE"
  | "EXPIRED_SIGNATURE"
  | "KEY_EXPIRED"
  | "KEY_REVOKED"
  /** Verified, but the signer's identity is not accepted (containers/image's "signature by key %s is not accepted"). */
  | "KEY_NOT_ACCEPTED"
  /** The signed payload is not the strict JSON containers-signature(5) defines. */
  | "INVALID_PAYLOAD"
  | "DIGEST_MISMATCH"
  | "IDENTITY_NOT_ACCEPTED";

export class SimpleSigningError extends TrustgateError<SimpleSigningErrorCode> {
  override readonly name = "SimpleSigningError";
}

/** Go's %q for the strings these messages quote: printable text kept, the rest escaped. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\t") out += "\\t";
    else if (ch === "\r") out += "\\r";
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, "0")}`;
    else out += ch;
  }
  return `${out}"`;
}
