// One simple signature judged as containers/image's prSignedBy does: cryptography first, then the
// strict payload, then the manifest digest, then the identity rule (signature/simple.go, policy_eval_signedby.go).
import type { SignedIdentity } from "../shared/identity";
import type { ImageReference } from "../../reference";
import { goQuote, SimpleSigningError } from "./errors";
import { matchesDockerReference } from "../shared/identity";
import type { TrustedKeys } from "./keys";
import { verifySignedMessage } from "./message";
import { parseSignaturePayload } from "./payload";

export const DEFAULT_SIGNED_IDENTITY: SignedIdentity = { type: "matchRepoDigestOrExact" };

export interface SignatureExpectations {
  readonly trusted: TrustedKeys;
  /** The manifest digest the registry serves for the image. */
  readonly digest: string;
  /** The image as named by the caller (what matchExact and friends compare with). */
  readonly image: ImageReference;
  readonly signedIdentity?: SignedIdentity;
  readonly now: Date;
}

/** What an accepted signature vouches for. */
export interface AcceptedSignature {
  readonly dockerManifestDigest: string;
  readonly dockerReference: string;
  readonly keyIdentity: string;
  readonly signingKey: string;
  readonly signedAt: Date;
  readonly validUntil?: Date;
}

export type SignatureVerdict =
  | { readonly accepted: true; readonly signature: AcceptedSignature }
  | { readonly accepted: false; readonly error: SimpleSigningError };

/** Verifies one signature blob. "Not accepted" is a result; only bugs throw. */
export async function verifySimpleSignature(blob: Uint8Array, expect: SignatureExpectations): Promise<SignatureVerdict> {
  try {
    return { accepted: true, signature: await acceptOrThrow(blob, expect) };
  } catch (err) {
    if (err instanceof SimpleSigningError) return { accepted: false, error: err };
    throw err;
  }
}

async function acceptOrThrow(blob: Uint8Array, expect: SignatureExpectations): Promise<AcceptedSignature> {
  // 1. The cryptography, before a byte of the payload is interpreted.
  const verified = await verifySignedMessage(blob, expect.trusted, expect.now);
  // 2. The payload, strictly.
  const untrusted = parseSignaturePayload(verified.payload);
  // 3. The manifest digest (validateSignedDockerManifestDigest). The registry's digest is sha256; a
  //    signature naming the same manifest by another algorithm cannot be checked without its bytes.
  if (untrusted.dockerManifestDigest !== expect.digest) {
    throw new SimpleSigningError("DIGEST_MISMATCH", `Signature for digest ${untrusted.dockerManifestDigest} does not match`);
  }
  // 4. The identity (validateSignedDockerReference).
  if (!matchesDockerReference(expect.signedIdentity ?? DEFAULT_SIGNED_IDENTITY, expect.image, untrusted.dockerReference)) {
    throw new SimpleSigningError("IDENTITY_NOT_ACCEPTED", `Signature for identity ${goQuote(untrusted.dockerReference)} is not accepted`);
  }
  return {
    dockerManifestDigest: untrusted.dockerManifestDigest,
    dockerReference: untrusted.dockerReference,
    keyIdentity: verified.keyIdentity,
    signingKey: verified.signingKey,
    signedAt: verified.signedAt,
    ...(verified.validUntil ? { validUntil: verified.validUntil } : {}),
  };
}
