// TUF public keys as notary writes them: parsing, key IDs, Web Crypto import (cached), certificates and pins.

import { encodeCanonical } from "../shared/canonical-json";
import {
  DerError,
  ED25519_SPKI_PREFIX,
  OID,
  TAG,
  children,
  parseCertificate,
  parseSpki,
  readSingle,
  unsignedInteger,
  type Certificate,
  type SpkiInfo,
} from "../shared/der";
import { base64Decode, base64Encode, concatBytes, parsePem, sha256, toHex, toPem, utf8DecodeStrict } from "../shared/encoding";
import { NotaryV1Error, fail } from "./errors";
import { DEFAULT_LIMITS } from "../../limits";
import { isRecord } from "../../stored";
import { VerifyKeyCache } from "../shared/key-import";

/** The key types notary knows (`tuf/data/types.go`); others parse but never verify. */
export const KEY_TYPES = ["ecdsa", "ecdsa-x509", "rsa", "rsa-x509", "ed25519"] as const;
export type KnownKeyType = (typeof KEY_TYPES)[number];

/** A key as listed in root `keys` or a targets file's `delegations.keys`. */
export interface TufKey {
  readonly keytype: string;
  /** keyval.public, base64-decoded: DER SPKI, PEM certificate text, or 32 raw Ed25519 bytes. */
  readonly public: Uint8Array;
}

export const MIN_RSA_BITS = 2048;

/** Parses `{keytype, keyval: {public, private}}`; `where` names the field for error messages. */
export function parseTufKey(value: unknown, where: string): TufKey {
  if (!isRecord(value)) fail("MALFORMED", `${where}: key must be an object`);
  const { keytype, keyval } = value;
  if (typeof keytype !== "string" || keytype === "") fail("MALFORMED", `${where}: keytype must be a non-empty string`);
  if (!isRecord(keyval)) fail("MALFORMED", `${where}: keyval must be an object`);
  if (typeof keyval.public !== "string") fail("MALFORMED", `${where}: keyval.public must be a base64 string`);
  const pub = base64Decode(keyval.public);
  if (pub === undefined || pub.length === 0) fail("MALFORMED", `${where}: keyval.public is not valid base64`);
  // Public metadata never carries private material; a non-null value is a sign of a broken signer.
  if (keyval.private !== null && keyval.private !== undefined) fail("MALFORMED", `${where}: keyval.private must be null`);
  return { keytype, public: pub };
}

/** The JSON object a key ID is computed over: always with `private: null` (notary TUFKey.ID). */
export function tufKeyJson(key: TufKey): { keytype: string; keyval: { private: null; public: string } } {
  return { keytype: key.keytype, keyval: { private: null, public: base64Encode(key.public) } };
}

const keyIdCache = new WeakMap<TufKey, Promise<string>>();

/** Hex sha256 of the canonical JSON of the key (`tuf/data/keys.go` TUFKey.ID). */
export function keyId(key: TufKey): Promise<string> {
  let id = keyIdCache.get(key);
  if (!id) {
    id = sha256(encodeCanonical(tufKeyJson(key))).then(toHex);
    keyIdCache.set(key, id);
  }
  return id;
}

export type KeyKind = "ecdsa" | "rsa" | "ed25519";

/** What a key holds once decoded: the algorithm family, its SPKI, and certificates for x509 types. */
export interface KeyMaterial {
  readonly kind: KeyKind;
  readonly spki: SpkiInfo;
  /** RSA modulus size in bits (0 for other kinds). */
  readonly rsaBits: number;
  /** For `*-x509` keys: every certificate in the PEM bundle, leaf first. */
  readonly certificates?: readonly Certificate[];
}

const materialCache = new WeakMap<TufKey, KeyMaterial>();

/**
 * Decodes a key's public material. Throws NotaryV1Error UNSUPPORTED_KEY for unknown key types,
 * undecodable DER/PEM, a curve other than P-256, or a key whose type contradicts its SPKI.
 */
export function keyMaterial(key: TufKey): KeyMaterial {
  const cached = materialCache.get(key);
  if (cached) return cached;
  const material = decodeMaterial(key);
  materialCache.set(key, material);
  return material;
}

function decodeMaterial(key: TufKey): KeyMaterial {
  try {
    switch (key.keytype) {
      case "ed25519": {
        if (key.public.length !== 32) fail("UNSUPPORTED_KEY", `ed25519 public key must be 32 bytes, got ${key.public.length}`);
        return { kind: "ed25519", spki: parseSpki(concatBytes(ED25519_SPKI_PREFIX, key.public)), rsaBits: 0 };
      }
      case "ecdsa":
      case "rsa":
        return fromSpki(parseSpki(key.public), key.keytype);
      case "ecdsa-x509":
      case "rsa-x509": {
        const text = utf8DecodeStrict(key.public);
        const blocks = text === undefined ? undefined : parsePem(text);
        if (!blocks || blocks.length === 0) fail("UNSUPPORTED_KEY", `${key.keytype} key holds no PEM certificate`);
        // Verification uses the first block (notary pem.Decode + x509.ParseCertificate).
        if (blocks[0]!.type !== "CERTIFICATE") fail("UNSUPPORTED_KEY", `${key.keytype} key's first PEM block is ${blocks[0]!.type}`);
        const certificates = blocks.filter((b) => b.type === "CERTIFICATE").map((b) => parseCertificate(b.der));
        const base = fromSpki(certificates[0]!.spki, key.keytype === "ecdsa-x509" ? "ecdsa" : "rsa");
        return { ...base, certificates };
      }
      default:
        return fail("UNSUPPORTED_KEY", `unsupported key type ${JSON.stringify(key.keytype)}`);
    }
  } catch (e) {
    if (e instanceof DerError) fail("UNSUPPORTED_KEY", `${key.keytype} key: ${e.message}`, undefined, e);
    throw e;
  }
}

function fromSpki(spki: SpkiInfo, family: "ecdsa" | "rsa"): KeyMaterial {
  if (family === "ecdsa") {
    if (spki.algorithm !== "ecdsa-p256") fail("UNSUPPORTED_KEY", `ecdsa key must be P-256, got ${spki.algorithm}`);
    return { kind: "ecdsa", spki, rsaBits: 0 };
  }
  if (spki.algorithm !== "rsa") fail("UNSUPPORTED_KEY", `rsa key holds a ${spki.algorithm} public key`);
  return { kind: "rsa", spki, rsaBits: rsaModulusBits(spki.publicKey) };
}

function rsaModulusBits(rsaPublicKey: Uint8Array): number {
  const [modulus] = children(readSingle(rsaPublicKey, TAG.SEQUENCE));
  if (!modulus) throw new DerError("RSA: bad RSAPublicKey");
  const n = unsignedInteger(modulus);
  return (n.length - 1) * 8 + (32 - Math.clz32(n[0]!));
}

export type VerifyAlgorithm = "ecdsa" | "ed25519" | "rsa-pss" | "rsa-pkcs1";

const IMPORT_PARAMS: Record<VerifyAlgorithm, SubtleCryptoImportKeyAlgorithm> = {
  ecdsa: { name: "ECDSA", namedCurve: "P-256" },
  ed25519: { name: "Ed25519" },
  "rsa-pss": { name: "RSA-PSS", hash: "SHA-256" },
  "rsa-pkcs1": { name: "RSASSA-PKCS1-v1_5", hash: "SHA-256" },
};

// Imported keys per (key ID, algorithm): key IDs are content hashes.
const importCache = new VerifyKeyCache(DEFAULT_LIMITS.memory.notaryKeys);

/** A Web Crypto verify key for this TUF key, imported once per key ID and algorithm. */
export function importVerifyKey(key: TufKey, id: string, algorithm: VerifyAlgorithm): Promise<CryptoKey> {
  return importCache.import(`${id}:${algorithm}`, keyMaterial(key).spki.der, IMPORT_PARAMS[algorithm]);
}

/**
 * notary's "canonical" key ID: for x509 keys the ID of the plain ecdsa/rsa key holding the
 * certificate's SPKI (`tuf/utils/x509.go` CanonicalKeyID); for other keys the key ID itself.
 */
export async function canonicalKeyId(key: TufKey): Promise<string> {
  if (key.keytype !== "ecdsa-x509" && key.keytype !== "rsa-x509") return keyId(key);
  const material = keyMaterial(key);
  return keyId({ keytype: material.kind, public: material.spki.der });
}

/** Why a certificate is unusable for notary (`tuf/utils/x509.go` ValidateCertificate), or undefined. */
export function certificateProblem(cert: Certificate, now: Date, checkExpiry: boolean): string | undefined {
  if (cert.notBefore.getTime() > cert.notAfter.getTime()) return "certificate validity window is invalid";
  const sha1 = [OID.RSA_SHA1, OID.DSA_SHA1, OID.ECDSA_SHA1] as readonly string[];
  if (sha1.includes(cert.signatureAlgorithm)) return `certificate with CN ${cert.commonName} uses a SHA1 signature algorithm`;
  if (cert.spki.algorithm === "rsa" && rsaModulusBits(cert.spki.publicKey) < MIN_RSA_BITS) return "RSA bit length is too short";
  if (checkExpiry) {
    // One day of leeway on notBefore, none on notAfter, as notary.
    const tomorrow = now.getTime() + 24 * 60 * 60 * 1000;
    if (cert.notBefore.getTime() > tomorrow || now.getTime() > cert.notAfter.getTime()) {
      return `certificate with CN ${cert.commonName} is expired or not yet valid (${cert.notBefore.toISOString()} .. ${cert.notAfter.toISOString()})`;
    }
  }
  return undefined;
}

/** Verifies a certificate's signature with its own public key (is it self-signed?). */
export async function isSelfSigned(cert: Certificate): Promise<boolean> {
  if (!cert.selfIssued) return false;
  try {
    switch (cert.signatureAlgorithm) {
      case OID.ECDSA_SHA256:
      case OID.ECDSA_SHA384:
      case OID.ECDSA_SHA512: {
        if (cert.spki.algorithm !== "ecdsa-p256") return false;
        const hash = { [OID.ECDSA_SHA256]: "SHA-256", [OID.ECDSA_SHA384]: "SHA-384", [OID.ECDSA_SHA512]: "SHA-512" }[cert.signatureAlgorithm];
        const k = await crypto.subtle.importKey("spki", cert.spki.der, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
        const raw = ecdsaDerToRaw(cert.signature, 32);
        return raw !== undefined && (await crypto.subtle.verify({ name: "ECDSA", hash: hash! }, k, raw, cert.tbs));
      }
      case OID.RSA_SHA256:
      case OID.RSA_SHA384:
      case OID.RSA_SHA512: {
        if (cert.spki.algorithm !== "rsa") return false;
        const hash = { [OID.RSA_SHA256]: "SHA-256", [OID.RSA_SHA384]: "SHA-384", [OID.RSA_SHA512]: "SHA-512" }[cert.signatureAlgorithm];
        const k = await crypto.subtle.importKey("spki", cert.spki.der, { name: "RSASSA-PKCS1-v1_5", hash: hash! }, false, ["verify"]);
        return await crypto.subtle.verify("RSASSA-PKCS1-v1_5", k, cert.signature, cert.tbs);
      }
      case OID.ED25519: {
        if (cert.spki.algorithm !== "ed25519") return false;
        const k = await crypto.subtle.importKey("spki", cert.spki.der, { name: "Ed25519" }, false, ["verify"]);
        return await crypto.subtle.verify("Ed25519", k, cert.signature, cert.tbs);
      }
      default:
        return false;
    }
  } catch {
    return false;
  }
}

/** ECDSA-Sig-Value (DER) → r‖s, each left-padded to `size` bytes; undefined if malformed. */
export function ecdsaDerToRaw(der: Uint8Array, size: number): Uint8Array | undefined {
  try {
    const [r, s, ...rest] = children(readSingle(der, TAG.SEQUENCE));
    if (!r || !s || rest.length > 0) return undefined;
    const rb = unsignedInteger(r);
    const sb = unsignedInteger(s);
    if (rb.length > size || sb.length > size) return undefined;
    const out = new Uint8Array(size * 2);
    out.set(rb, size - rb.length);
    out.set(sb, size * 2 - sb.length);
    return out;
  } catch {
    return undefined;
  }
}

/** A user-supplied trust anchor key (PEM `PUBLIC KEY` or `CERTIFICATE`), comparable to TUF keys. */
export interface PinnedKey {
  readonly source: "PUBLIC KEY" | "CERTIFICATE";
  /** SubjectPublicKeyInfo DER: compared byte for byte with a root key's SPKI. */
  readonly spki: Uint8Array;
  /** TUF key IDs this pin is known by (plain-key ID; for certificates also the x509 key ID). */
  readonly keyIds: readonly string[];
  readonly certificate?: Certificate;
}

/** Imports a PEM pin (Connaisseur pins root keys as PEM SPKI; notary can pin certificates). */
export async function importPinnedKey(pem: string): Promise<PinnedKey> {
  const blocks = parsePem(pem);
  const block = blocks?.[0];
  if (!block) fail("UNSUPPORTED_KEY", "pinned key: no PEM block found");
  try {
    if (block.type === "PUBLIC KEY") {
      const spki = parseSpki(block.der);
      const keytype = spki.algorithm === "rsa" ? "rsa" : spki.algorithm === "ed25519" ? "ed25519" : "ecdsa";
      const material = keyMaterial({ keytype, public: keytype === "ed25519" ? spki.publicKey : spki.der });
      const id = await keyId({ keytype, public: keytype === "ed25519" ? material.spki.publicKey : material.spki.der });
      return { source: "PUBLIC KEY", spki: material.spki.der, keyIds: [id] };
    }
    if (block.type === "CERTIFICATE") {
      const certificate = parseCertificate(block.der);
      const family = certificate.spki.algorithm === "rsa" ? "rsa" : "ecdsa";
      const x509Key: TufKey = { keytype: `${family}-x509`, public: new TextEncoder().encode(toPem("CERTIFICATE", certificate.der)) };
      keyMaterial(x509Key); // validates the algorithm
      const ids = [await canonicalKeyId(x509Key), await keyId(x509Key)];
      return { source: "CERTIFICATE", spki: certificate.spki.der, keyIds: ids, certificate };
    }
  } catch (e) {
    if (e instanceof DerError) fail("UNSUPPORTED_KEY", `pinned key: ${e.message}`, undefined, e);
    throw e;
  }
  return fail("UNSUPPORTED_KEY", `pinned key: unsupported PEM block ${block.type}, expected PUBLIC KEY or CERTIFICATE`);
}

/** The SPKI of a TUF key, or undefined when the key cannot be decoded. */
export function spkiOf(key: TufKey): Uint8Array | undefined {
  try {
    return keyMaterial(key).spki.der;
  } catch (e) {
    if (e instanceof NotaryV1Error) return undefined;
    throw e;
  }
}
