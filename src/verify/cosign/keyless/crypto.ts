// Signatures under the keys keyless verification meets: Fulcio leaves and CAs, Rekor, CT logs.
// ECDSA (P-256, P-384, P-521) in ASN.1 DER, as Go's ecdsa.VerifyASN1 reads it, verified by Web
// Crypto; RSA PKCS#1 v1.5 for CAs and logs of private deployments; Ed25519 for Rekor v2 logs.
import { sha256, toHex } from "../../shared/encoding";
import { DerError, OID, decodeOid, readSingle, children, TAG, type SpkiInfo } from "../../shared/der";
import { VerifyKeyCache } from "../../shared/key-import";
import { ecdsaDerToRaw } from "../ecdsa-der";
import { MAX_CACHED_KEYS } from "./limits";

export type HashName = "SHA-256" | "SHA-384" | "SHA-512";

const keys = new VerifyKeyCache(MAX_CACHED_KEYS);

const CURVES: Record<string, { name: string; size: number; hash: HashName }> = {
  "1.2.840.10045.3.1.7": { name: "P-256", size: 32, hash: "SHA-256" },
  "1.3.132.0.34": { name: "P-384", size: 48, hash: "SHA-384" },
  "1.3.132.0.35": { name: "P-521", size: 66, hash: "SHA-512" },
};

/** The named curve of an EC SubjectPublicKeyInfo, or undefined for other keys. */
function curveOf(spki: Uint8Array): (typeof CURVES)[string] | undefined {
  try {
    const [algId] = children(readSingle(spki, TAG.SEQUENCE));
    const [oid, params] = children(algId!);
    if (decodeOid(oid!) !== OID.EC_PUBLIC_KEY || params?.tag !== TAG.OID) return undefined;
    return CURVES[decodeOid(params)];
  } catch (err) {
    if (err instanceof DerError) return undefined;
    throw err;
  }
}

/** The hash a key signs with when nothing else says: the curve's (sigstore's default verifiers), SHA-256 otherwise. */
export function defaultHash(spki: SpkiInfo): HashName {
  return (spki.algorithm === "ecdsa-p256" || spki.algorithm === "ecdsa-other" ? curveOf(spki.der)?.hash : undefined) ?? "SHA-256";
}

/** The hash of an X.509 signatureAlgorithm OID, or undefined for algorithms not accepted here. */
export function signatureAlgorithmHash(oid: string): HashName | undefined {
  switch (oid) {
    case OID.ECDSA_SHA256:
    case OID.RSA_SHA256:
      return "SHA-256";
    case OID.ECDSA_SHA384:
    case OID.RSA_SHA384:
      return "SHA-384";
    case OID.ECDSA_SHA512:
    case OID.RSA_SHA512:
      return "SHA-512";
    default:
      return undefined;
  }
}

const asBuffer = (bytes: Uint8Array) => bytes as Uint8Array<ArrayBuffer>;

/**
 * Whether `signature` over `message` verifies under `spki` with `hash`. False for a bad signature,
 * a key of another kind, a key Web Crypto refuses or a signature that is not strict DER: nothing
 * here throws on hostile input.
 */
export async function verifyWithKey(spki: SpkiInfo, hash: HashName, signature: Uint8Array, message: Uint8Array): Promise<boolean> {
  try {
    const id = toHex(await sha256(spki.der));
    if (spki.algorithm === "ecdsa-p256" || spki.algorithm === "ecdsa-other") {
      const curve = curveOf(spki.der);
      if (!curve) return false;
      const raw = ecdsaDerToRaw(signature, curve.size);
      if (!raw) return false;
      const key = await keys.import(`ecdsa:${curve.name}:${id}`, spki.der, { name: "ECDSA", namedCurve: curve.name });
      return await crypto.subtle.verify({ name: "ECDSA", hash }, key, asBuffer(raw), asBuffer(message));
    }
    if (spki.algorithm === "rsa") {
      const key = await keys.import(`rsa:${hash}:${id}`, spki.der, { name: "RSASSA-PKCS1-v1_5", hash });
      return await crypto.subtle.verify("RSASSA-PKCS1-v1_5", key, asBuffer(signature), asBuffer(message));
    }
    if (spki.algorithm === "ed25519") {
      const key = await keys.import(`ed25519:${id}`, spki.der, { name: "Ed25519" });
      return await crypto.subtle.verify("Ed25519", key, asBuffer(signature), asBuffer(message));
    }
    return false;
  } catch {
    // A key Web Crypto will not import, or a signature of the wrong shape: not verified.
    return false;
  }
}
