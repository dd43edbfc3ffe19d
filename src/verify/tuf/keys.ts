// TUF public keys as Sigstore's repository lists them, and signature checks on Web Crypto.
//
// Keys: `{keytype, scheme, keyval: {public}}`. ECDSA P-256 is keytype "ecdsa" (current
// securesystemslib) or "ecdsa-sha2-nistp256" (older), scheme "ecdsa-sha2-nistp256", public a PEM
// SubjectPublicKeyInfo or (older roots) the hex uncompressed point; Ed25519 is keytype and scheme
// "ed25519", public 32 bytes in hex. Signatures are hex: ECDSA as an ASN.1 DER Ecdsa-Sig-Value
// over SHA-256 of the canonical `signed`, Ed25519 as 64 raw bytes. Other keys parse but never
// verify (as python-tuf treats an unsupported scheme). Key IDs are names here: Sigstore's are not
// all the hash of the key, so distinct keys are told apart by their public key (signatures.ts).
import { DerError, ED25519_SPKI_PREFIX, TAG, children, parseSpki, readSingle, unsignedInteger } from "../shared/der";
import { concatBytes, parsePem, toHex } from "../shared/encoding";
import { VerifyKeyCache } from "../shared/key-import";
import { isRecord } from "../../stored";
import { fail } from "./errors";

export type KeyAlgorithm = "ecdsa-p256" | "ed25519";

export interface TufKey {
  readonly keytype: string;
  readonly scheme: string;
  /** The key's SubjectPublicKeyInfo, when it is a kind this client verifies. */
  readonly spki?: Uint8Array;
  readonly algorithm?: KeyAlgorithm;
  /** Why the key can never verify, when it cannot. */
  readonly unusable?: string;
}

const P256_SPKI_PREFIX = Uint8Array.from([
  0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03,
  0x42, 0x00,
]);

/** Hex, even length; undefined otherwise. */
export function hexDecode(text: string): Uint8Array | undefined {
  if (text.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(text)) return undefined;
  const out = new Uint8Array(text.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(text.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/** Parses `{keytype, scheme, keyval: {public}}`; `where` names the field in errors. */
export function parseKey(value: unknown, where: string): TufKey {
  if (!isRecord(value)) fail("MALFORMED", `${where} must be an object`);
  const { keytype, scheme, keyval } = value;
  if (typeof keytype !== "string" || typeof scheme !== "string") fail("MALFORMED", `${where}: keytype and scheme must be strings`);
  if (!isRecord(keyval) || typeof keyval.public !== "string") fail("MALFORMED", `${where}: keyval.public must be a string`);
  const material = decodePublic(keytype, scheme, keyval.public);
  return typeof material === "string" ? { keytype, scheme, unusable: material } : { keytype, scheme, ...material };
}

function decodePublic(keytype: string, scheme: string, pub: string): { spki: Uint8Array; algorithm: KeyAlgorithm } | string {
  if ((keytype === "ecdsa" || keytype === "ecdsa-sha2-nistp256") && scheme === "ecdsa-sha2-nistp256") {
    let spki: Uint8Array | undefined;
    if (pub.startsWith("-----BEGIN")) {
      const blocks = parsePem(pub);
      if (blocks?.length !== 1 || blocks[0]!.type !== "PUBLIC KEY") return "its public key is not one PEM PUBLIC KEY block";
      spki = blocks[0]!.der;
    } else {
      const point = hexDecode(pub);
      if (point?.length !== 65 || point[0] !== 0x04) return "its public key is neither PEM nor an uncompressed P-256 point in hex";
      spki = concatBytes(P256_SPKI_PREFIX, point);
    }
    try {
      if (parseSpki(spki).algorithm !== "ecdsa-p256") return "its public key is not a P-256 key";
    } catch (e) {
      if (e instanceof DerError) return `its public key does not parse (${e.message})`;
      throw e;
    }
    return { spki, algorithm: "ecdsa-p256" };
  }
  if (keytype === "ed25519" && scheme === "ed25519") {
    const raw = hexDecode(pub);
    if (raw?.length !== 32) return "its public key is not 32 bytes in hex";
    return { spki: concatBytes(ED25519_SPKI_PREFIX, raw), algorithm: "ed25519" };
  }
  return `key type ${JSON.stringify(keytype)} with scheme ${JSON.stringify(scheme)} is not supported`;
}

/** The key's identity for threshold counting: its public key, whatever ID it is listed under. */
export function keyIdentity(key: TufKey): string | undefined {
  return key.spki ? `${key.algorithm}:${toHex(key.spki)}` : undefined;
}

// Imported keys by their identity (the public key itself), bounded.
const imported = new VerifyKeyCache(64);

const IMPORT: Record<KeyAlgorithm, SubtleCryptoImportKeyAlgorithm> = {
  "ecdsa-p256": { name: "ECDSA", namedCurve: "P-256" },
  ed25519: { name: "Ed25519" },
};

/** True when `sig` by `key` verifies over `message`; false for anything else (never throws on bad input). */
export async function verifyWithKey(key: TufKey, sig: Uint8Array, message: Uint8Array): Promise<boolean> {
  const id = keyIdentity(key);
  if (!id || !key.algorithm || !key.spki) return false;
  let raw: Uint8Array | undefined = sig;
  if (key.algorithm === "ecdsa-p256") raw = ecdsaDerToRaw(sig);
  else if (sig.length !== 64) raw = undefined;
  if (!raw) return false;
  try {
    const cryptoKey = await imported.import(id, key.spki, IMPORT[key.algorithm]);
    const params = key.algorithm === "ed25519" ? { name: "Ed25519" } : { name: "ECDSA", hash: "SHA-256" };
    return await crypto.subtle.verify(params, cryptoKey, raw as Uint8Array<ArrayBuffer>, message as Uint8Array<ArrayBuffer>);
  } catch {
    return false;
  }
}

/** Ecdsa-Sig-Value (DER, nothing after it) → r‖s of 32 bytes each; undefined if malformed. */
export function ecdsaDerToRaw(der: Uint8Array): Uint8Array | undefined {
  try {
    const seq = readSingle(der, TAG.SEQUENCE);
    const [r, s, ...rest] = children(seq);
    if (!r || !s || rest.length > 0 || r.tag !== TAG.INTEGER || s.tag !== TAG.INTEGER) return undefined;
    const rb = unsignedInteger(r);
    const sb = unsignedInteger(s);
    if (rb.length > 32 || sb.length > 32) return undefined;
    const out = new Uint8Array(64);
    out.set(rb, 32 - rb.length);
    out.set(sb, 64 - sb.length);
    return out;
  } catch {
    return undefined;
  }
}
