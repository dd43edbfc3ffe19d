// Signature checks as notary's verifiers do them (tuf/signed/verifiers.go, verify.go), on Web Crypto.

import { CanonicalJsonError, encodeCanonical } from "../shared/canonical-json";
import { NotaryV1Error, fail } from "./errors";
import { MIN_RSA_BITS, importVerifyKey, keyId, keyMaterial, type TufKey, type VerifyAlgorithm } from "./keys";
import type { SignedEnvelope } from "./roles";
import { DEFAULT_LIMITS } from "../../limits";

/** Signature methods notary verifies (`tuf/data/types.go`); compared lower-cased. */
export type SignatureMethod = "ecdsa" | "eddsa" | "rsapss" | "rsapkcs1v15";

const METHOD_ALGORITHM: Record<SignatureMethod, VerifyAlgorithm> = {
  ecdsa: "ecdsa",
  eddsa: "ed25519",
  rsapss: "rsa-pss",
  rsapkcs1v15: "rsa-pkcs1",
};

const VERIFY_PARAMS: Record<VerifyAlgorithm, SubtleCryptoSignAlgorithm> = {
  ecdsa: { name: "ECDSA", hash: "SHA-256" },
  ed25519: { name: "Ed25519" },
  // Salt length = hash size, exactly (notary rsa.PSSOptions{SaltLength: sha256.Size}).
  "rsa-pss": { name: "RSA-PSS", saltLength: 32 },
  "rsa-pkcs1": { name: "RSASSA-PKCS1-v1_5" },
};

/** Outcome of one signature check; `why` says what failed. */
export type SignatureCheck = { readonly ok: true } | { readonly ok: false; readonly why: string };

/**
 * Checks one signature; never throws for a bad signature, bad key or unknown method (those are
 * `{ok: false}`), only for misuse (non-bytes arguments).
 */
export async function checkSignature(method: string, key: TufKey, signature: Uint8Array, message: Uint8Array): Promise<SignatureCheck> {
  if (!(signature instanceof Uint8Array) || !(message instanceof Uint8Array)) {
    throw new TypeError("checkSignature: signature and message must be Uint8Array");
  }
  const m = method.toLowerCase();
  if (!Object.hasOwn(METHOD_ALGORITHM, m)) return { ok: false, why: `unsupported signature method ${JSON.stringify(method)}` };
  const algorithm = METHOD_ALGORITHM[m as SignatureMethod];

  let material;
  try {
    material = keyMaterial(key);
  } catch (e) {
    if (e instanceof NotaryV1Error) return { ok: false, why: e.message };
    throw e;
  }
  const wanted = algorithm === "ecdsa" ? "ecdsa" : algorithm === "ed25519" ? "ed25519" : "rsa";
  if (material.kind !== wanted) return { ok: false, why: `method ${m} cannot be used with a ${key.keytype} key` };

  switch (algorithm) {
    case "ecdsa":
      // Notary's own format: r‖s, 32 bytes each for P-256. ASN.1 DER is refused.
      if (signature.length !== 64) return { ok: false, why: `ecdsa signature must be 64 bytes (raw r||s), got ${signature.length}` };
      break;
    case "ed25519":
      if (signature.length !== 64) return { ok: false, why: `ed25519 signature must be 64 bytes, got ${signature.length}` };
      break;
    default:
      if (material.rsaBits < MIN_RSA_BITS) return { ok: false, why: `RSA key of ${material.rsaBits} bits is below ${MIN_RSA_BITS}` };
      if (signature.length < MIN_RSA_BITS / 8) return { ok: false, why: `RSA signature of ${signature.length} bytes is too short` };
  }

  let cryptoKey: CryptoKey;
  try {
    cryptoKey = await importVerifyKey(key, await keyId(key), algorithm);
  } catch (e) {
    return { ok: false, why: `key cannot be imported: ${e instanceof Error ? e.message : String(e)}` };
  }
  let ok: boolean;
  try {
    ok = await crypto.subtle.verify(VERIFY_PARAMS[algorithm], cryptoKey, signature, message);
  } catch (e) {
    return { ok: false, why: `verification error: ${e instanceof Error ? e.message : String(e)}` };
  }
  return ok ? { ok: true } : { ok: false, why: "signature does not verify" };
}

/** True when `signature` by `key` over `message` verifies with `method` (notary semantics). */
export async function verifySignature(method: string, key: TufKey, signature: Uint8Array, message: Uint8Array): Promise<boolean> {
  return (await checkSignature(method, key, signature, message)).ok;
}

export interface RoleVerification {
  /** Distinct key IDs with at least one valid signature. */
  readonly valid: readonly string[];
  /** Signatures by role keys that failed (a key ID may appear here and in `valid`). */
  readonly invalid: readonly { readonly keyid: string; readonly why: string }[];
  /** Signatures by key IDs the role does not list (skipped, as notary does). */
  readonly ignored: readonly string[];
  readonly threshold: number;
  readonly thresholdMet: boolean;
}

const canonicalCache = new WeakMap<SignedEnvelope, Uint8Array>();

/** The bytes a signature covers: canonical JSON of `signed` (computed once per envelope). */
export function signedBytes(envelope: SignedEnvelope): Uint8Array {
  let bytes = canonicalCache.get(envelope);
  if (!bytes) {
    try {
      bytes = encodeCanonical(envelope.signed);
    } catch (err) {
      // A value canonical JSON cannot encode (a fraction, a number past int64) is malformed metadata.
      if (err instanceof CanonicalJsonError) fail("MALFORMED", `signed: ${err.message}`, undefined, err);
      throw err;
    }
    canonicalCache.set(envelope, bytes);
  }
  return bytes;
}

/** Signatures checked per key ID in one role file (`Limits.notary.signaturesPerKey` says why). */
export const MAX_SIGNATURES_PER_KEY = DEFAULT_LIMITS.notary.signaturesPerKey;

/**
 * Verifies a role's signatures (notary VerifySignatures): signatures by key IDs outside `roleKeys`
 * are skipped, distinct valid key IDs are counted against `threshold`, and no key ID is checked
 * more than MAX_SIGNATURES_PER_KEY times (later ones count as ignored). Signatures are checked in
 * parallel. Returns a result for "not verified"; throws NotaryV1Error KEY_ID_MISMATCH when a
 * listed key hashes to a different ID than the one it signs under, and TypeError on misuse.
 */
export async function verifyRole(
  envelope: SignedEnvelope,
  roleKeys: ReadonlyMap<string, TufKey>,
  threshold: number,
): Promise<RoleVerification> {
  if (!Number.isSafeInteger(threshold) || threshold < 1) throw new TypeError(`verifyRole: threshold must be an integer >= 1, got ${threshold}`);
  const message = signedBytes(envelope);
  const ignored: string[] = [];
  const mismatched: string[] = [];
  const perKey = new Map<string, number>();
  const checks = await Promise.all(
    envelope.signatures.map(async (sig) => {
      const key = roleKeys.get(sig.keyid);
      const seen = perKey.get(sig.keyid) ?? 0;
      if (!key || seen >= MAX_SIGNATURES_PER_KEY) {
        ignored.push(sig.keyid);
        return undefined;
      }
      perKey.set(sig.keyid, seen + 1);
      const actual = await keyId(key);
      if (actual !== sig.keyid) {
        mismatched.push(`${sig.keyid} (key hashes to ${actual})`);
        return undefined;
      }
      return { keyid: sig.keyid, check: await checkSignature(sig.method, key, sig.sig, message) };
    }),
  );
  if (mismatched.length > 0) fail("KEY_ID_MISMATCH", `key ID does not match its key: ${mismatched.join(", ")}`);
  const valid = new Set<string>();
  const invalid: { keyid: string; why: string }[] = [];
  for (const c of checks) {
    if (!c) continue;
    if (c.check.ok) valid.add(c.keyid);
    else invalid.push({ keyid: c.keyid, why: c.check.why });
  }
  return { valid: [...valid], invalid, ignored, threshold, thresholdMet: valid.size >= threshold };
}
