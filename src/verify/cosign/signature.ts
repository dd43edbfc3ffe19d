// One signature against one key, as cosign checks it: ECDSA P-256 over SHA-256 in ASN.1 DER, Ed25519 pure or prehashed.
//
// Web Crypto verifies (fast in workerd); @noble/curves covers what it lacks: Ed25519ph, and any
// key Web Crypto would not import.
// - ECDSA: sigstore's ECDSAVerifier = Go ecdsa.VerifyASN1 over sha256(message); DER only, high S
//   accepted (no low-S rule), raw r‖s refused ("invalid ASN.1 from signature").
// - Ed25519: older cosign signed the message itself (pure Ed25519); later 2.x releases and v3 load
//   Ed25519 keys with options.WithED25519ph() by default (pkg/cosign/keys.go GetDefaultLoadOptions:
//   "the only available option for hashedrekord entries"), i.e. Ed25519ph over SHA-512(message).
//   cosign's own verifier accepts both for a --key (pkg/cosign ed25519CompatibleVerifier), and so
//   does this one. noble runs with zip215: false (RFC 8032's strict encodings, as Go's ed25519).
import { ed25519, ed25519ph } from "@noble/curves/ed25519.js";
import { p256 } from "@noble/curves/nist.js";
import { ecdsaDerToRaw } from "./ecdsa-der";
import type { CosignPublicKey } from "./keys";

export type SignatureScheme = "ecdsa-p256-sha256" | "ed25519" | "ed25519ph";

export type SignatureCheck = { readonly ok: true; readonly scheme: SignatureScheme } | { readonly ok: false; readonly why: string };

const asBuffer = (bytes: Uint8Array) => bytes as Uint8Array<ArrayBuffer>;

/**
 * `allowPrehash`: asked before a failed Ed25519 check is tried again as Ed25519ph in JS (the
 * decision's VerificationBudget); no: the check ends there. Absent: always tried.
 */
export async function verifySignature(
  key: CosignPublicKey,
  signature: Uint8Array,
  message: Uint8Array,
  allowPrehash?: () => boolean,
): Promise<SignatureCheck> {
  if (key.algorithm === "ecdsa-p256") {
    const raw = ecdsaDerToRaw(signature);
    if (!raw) {
      return {
        ok: false,
        why:
          signature.length === 64
            ? "the signature is a raw 64-byte r‖s, not ASN.1 DER; cosign refuses it (invalid ASN.1 from signature)"
            : "the signature is not an ASN.1 DER ECDSA signature (invalid ASN.1 from signature)",
      };
    }
    const valid = key.cryptoKey
      ? await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key.cryptoKey, asBuffer(raw), asBuffer(message))
      : p256.verify(raw, message, key.publicKey, { prehash: true, lowS: false, format: "compact" });
    return valid
      ? { ok: true, scheme: "ecdsa-p256-sha256" }
      : { ok: false, why: "invalid signature when validating ASN.1 encoded signature" };
  }
  if (signature.length !== 64) return { ok: false, why: `an Ed25519 signature is 64 bytes, got ${signature.length}` };
  const pure = key.cryptoKey
    ? await crypto.subtle.verify("Ed25519", key.cryptoKey, asBuffer(signature), asBuffer(message))
    : ed25519.verify(signature, message, key.publicKey, { zip215: false });
  if (pure) return { ok: true, scheme: "ed25519" };
  if (allowPrehash && !allowPrehash()) {
    return { ok: false, why: "the signature does not verify as Ed25519; not tried as Ed25519ph: this decision's JS fallbacks were spent" };
  }
  if (ed25519ph.verify(signature, message, key.publicKey, { zip215: false })) return { ok: true, scheme: "ed25519ph" };
  return { ok: false, why: "the signature verifies neither as Ed25519 nor as Ed25519ph" };
}

