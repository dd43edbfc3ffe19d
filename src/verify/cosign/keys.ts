// The public keys a cosign requirement names (PEM SPKI, as cosign.pub): ECDSA P-256 or Ed25519, imported once.
import { ed25519 } from "@noble/curves/ed25519.js";
import { p256 } from "@noble/curves/nist.js";
import { sha256Bytes } from "../../encoding";
import { DerError, parseSpki } from "../shared/der";
import { base64Encode, parsePem } from "../shared/encoding";
import { DEFAULT_LIMITS } from "../../limits";
import { CosignKeyError } from "./errors";
import { VerifyKeyCache } from "../shared/key-import";

// Where importCosignKey's callers have always found it.
export { CosignKeyError };

export type CosignKeyAlgorithm = "ecdsa-p256" | "ed25519";

export interface CosignPublicKey {
  /** The name the policy gives the key (a Connaisseur trust root's name). */
  readonly name: string;
  readonly algorithm: CosignKeyAlgorithm;
  /** SubjectPublicKeyInfo DER. */
  readonly spki: Uint8Array;
  /** The subjectPublicKey bits: a SEC1 point (ECDSA) or the 32 bytes (Ed25519), for the noble fallback. */
  readonly publicKey: Uint8Array;
  /** base64(sha256(SPKI)): the hint sigstore-go writes into a bundle's verificationMaterial.publicKey. */
  readonly hint: string;
  /** Web Crypto verify key; undefined where the runtime could not import it (noble verifies then). */
  readonly cryptoKey: CryptoKey | undefined;
}

// Imported keys by SPKI; a small bound keeps an isolate's memory flat.
const imported = new VerifyKeyCache(DEFAULT_LIMITS.memory.cosignKeys);

/**
 * Parses a PEM `PUBLIC KEY` (the first PEM block, as Go's pem.Decode reads it) and imports it.
 * Throws CosignKeyError for anything else: certificates, RSA or other curves, garbage.
 */
export async function importCosignKey(name: string, pem: string): Promise<CosignPublicKey> {
  const block = parsePem(pem)?.[0];
  if (!block) throw new CosignKeyError(`key ${name}: no PEM block found`);
  if (block.type !== "PUBLIC KEY") throw new CosignKeyError(`key ${name}: expected a PEM PUBLIC KEY, got ${block.type}`);
  let spki;
  try {
    spki = parseSpki(block.der);
  } catch (err) {
    if (err instanceof DerError) throw new CosignKeyError(`key ${name}: ${err.message}`, { cause: err });
    throw err;
  }
  if (spki.algorithm !== "ecdsa-p256" && spki.algorithm !== "ed25519") {
    throw new CosignKeyError(`key ${name}: ${spki.algorithm} keys are not supported; cosign keys here are ECDSA P-256 or Ed25519`);
  }
  if (spki.algorithm === "ed25519" && spki.publicKey.length !== 32) {
    throw new CosignKeyError(`key ${name}: an Ed25519 public key is 32 bytes, got ${spki.publicKey.length}`);
  }
  const hint = base64Encode(await sha256Bytes(spki.der));
  const cryptoKey = await webCryptoKey(spki.algorithm, spki.der, hint);
  if (!cryptoKey) {
    // Web Crypto refused it: noble decides whether the point is a key at all.
    try {
      if (spki.algorithm === "ed25519") ed25519.Point.fromBytes(spki.publicKey);
      else p256.Point.fromBytes(spki.publicKey);
    } catch (err) {
      throw new CosignKeyError(`key ${name}: not a valid ${spki.algorithm} public key (${err instanceof Error ? err.message : String(err)})`, { cause: err });
    }
  }
  return {
    name,
    algorithm: spki.algorithm,
    spki: spki.der,
    publicKey: spki.publicKey,
    hint,
    cryptoKey,
  };
}

/** The Web Crypto key (the hint is the SPKI's sha256), or undefined where the runtime refuses it: noble verifies then. */
function webCryptoKey(algorithm: CosignKeyAlgorithm, spki: Uint8Array, hint: string): Promise<CryptoKey | undefined> {
  const params: SubtleCryptoImportKeyAlgorithm = algorithm === "ed25519" ? { name: "Ed25519" } : { name: "ECDSA", namedCurve: "P-256" };
  return imported.import(`${algorithm}:${hint}`, spki, params).catch(() => undefined);
}
