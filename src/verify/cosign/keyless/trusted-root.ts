// The Sigstore trust root (`trusted_root.json`, protobuf-specs TrustedRoot, read with protojson's
// rules): Fulcio CAs, Rekor logs, CT logs and timestamp authorities, each with its validity window.
//
// protojson's rules: each field under its lowerCamelCase or its proto (snake_case) name, not both;
// bytes in standard or URL-safe base64, padded or not; Timestamps in RFC 3339 with up to nine
// fractional digits; unknown fields ignored (they cannot add trust: only what is read here is
// trusted). Keys are read now, so a root whose key or certificate does not parse is refused whole.
import { protoBytes } from "../protojson";
import { DerError, TAG, parseCertificate, parseSpki, tlv } from "../../shared/der";
import { utf8DecodeStrict } from "../../shared/encoding";
import { isRecord } from "../../../stored";
import type { Parsed } from "../payload";
import { MAX_CHAIN_CERTIFICATES, MAX_TRUST_ROOT_BYTES, MAX_TRUST_ROOT_ENTRIES } from "./limits";

export interface TrustedLogKey {
  /** sha256 of the DER SubjectPublicKeyInfo (the trust root's logId.keyId). */
  readonly logId: Uint8Array;
  /** DER SubjectPublicKeyInfo. */
  readonly spki: Uint8Array;
  readonly validFrom?: Date;
  readonly validTo?: Date;
  readonly baseUrl?: string;
  /** The trust root's keyDetails (e.g. PKIX_ECDSA_P256_SHA_256), when given. */
  readonly keyDetails?: string;
}

export interface TrustedCertificateAuthority {
  /** DER certificates, leaf-most (the issuing intermediate) first, the root last. */
  readonly chain: readonly Uint8Array[];
  readonly validFrom?: Date;
  readonly validTo?: Date;
  readonly uri?: string;
}

export interface TrustedRoot {
  readonly certificateAuthorities: readonly TrustedCertificateAuthority[];
  readonly tlogs: readonly TrustedLogKey[];
  readonly ctlogs: readonly TrustedLogKey[];
  readonly timestampAuthorities: readonly TrustedCertificateAuthority[];
}

/** The media types sigstore-go reads (TrustedRoot v0.1 and v0.2). */
export const TRUSTED_ROOT_MEDIA_TYPES = [
  "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
  "application/vnd.dev.sigstore.trustedroot.v0.2+json",
] as const;

class RootError extends Error {}

// AlgorithmIdentifier { rsaEncryption, NULL }.
const RSA_ALGORITHM_ID = Uint8Array.of(0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05, 0x00);

export function parseTrustedRoot(bytes: Uint8Array): Parsed<TrustedRoot> {
  if (bytes.length > MAX_TRUST_ROOT_BYTES) return { ok: false, why: `trusted_root.json is ${bytes.length} bytes, over the ${MAX_TRUST_ROOT_BYTES}-byte limit` };
  const text = utf8DecodeStrict(bytes);
  if (text === undefined) return { ok: false, why: "trusted_root.json is not UTF-8" };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { ok: false, why: "trusted_root.json is not JSON" };
  }
  try {
    return { ok: true, value: readRoot(doc) };
  } catch (err) {
    if (err instanceof RootError) return { ok: false, why: `trusted_root.json: ${err.message}` };
    throw err;
  }
}

function readRoot(doc: unknown): TrustedRoot {
  const root = record(doc, "the document");
  const mediaType = field(root, "mediaType", "media_type");
  if (typeof mediaType !== "string" || !(TRUSTED_ROOT_MEDIA_TYPES as readonly string[]).includes(mediaType)) {
    throw new RootError(`mediaType ${JSON.stringify(mediaType ?? null)} is not a trusted root's (${TRUSTED_ROOT_MEDIA_TYPES.join(" or ")})`);
  }
  const trusted: TrustedRoot = {
    certificateAuthorities: list(root, "certificateAuthorities", "certificate_authorities").map((v, i) => readAuthority(v, `certificateAuthorities[${i}]`)),
    tlogs: list(root, "tlogs", "tlogs").map((v, i) => readLog(v, `tlogs[${i}]`)),
    ctlogs: list(root, "ctlogs", "ctlogs").map((v, i) => readLog(v, `ctlogs[${i}]`)),
    timestampAuthorities: list(root, "timestampAuthorities", "timestamp_authorities").map((v, i) => readAuthority(v, `timestampAuthorities[${i}]`)),
  };
  if (trusted.certificateAuthorities.length === 0 && trusted.tlogs.length === 0) {
    throw new RootError("it names neither a certificate authority nor a transparency log");
  }
  return trusted;
}

function readLog(value: unknown, where: string): TrustedLogKey {
  const log = record(value, where);
  const key = record(field(log, "publicKey", "public_key"), `${where}.publicKey`);
  const keyDetails = optionalString(key, "keyDetails", "key_details", `${where}.publicKey.keyDetails`);
  let raw = bytesField(key, "rawBytes", "raw_bytes", `${where}.publicKey.rawBytes`);
  if (!raw) throw new RootError(`${where}.publicKey has no rawBytes`);
  // PKCS1_RSA_* keys are a bare RSAPublicKey (sigstore-go reads them with ParsePKCS1PublicKey).
  if (keyDetails?.startsWith("PKCS1_RSA_")) raw = tlv(TAG.SEQUENCE, RSA_ALGORITHM_ID, tlv(TAG.BIT_STRING, Uint8Array.of(0), raw));
  try {
    parseSpki(raw);
  } catch (err) {
    if (err instanceof DerError) throw new RootError(`${where}.publicKey.rawBytes is not a DER public key (${err.message})`);
    throw err;
  }
  const logIdObj = record(field(log, "logId", "log_id"), `${where}.logId`);
  const logId = bytesField(logIdObj, "keyId", "key_id", `${where}.logId.keyId`);
  if (!logId || logId.length === 0) throw new RootError(`${where}.logId has no keyId`);
  const validity = readValidity(key, `${where}.publicKey`);
  const baseUrl = optionalString(log, "baseUrl", "base_url", `${where}.baseUrl`);
  return { logId, spki: raw, ...validity, ...(baseUrl !== undefined ? { baseUrl } : {}), ...(keyDetails !== undefined ? { keyDetails } : {}) };
}

function readAuthority(value: unknown, where: string): TrustedCertificateAuthority {
  const ca = record(value, where);
  const chainObj = record(field(ca, "certChain", "cert_chain"), `${where}.certChain`);
  const certs = list(chainObj, "certificates", "certificates");
  if (certs.length === 0) throw new RootError(`${where}.certChain has no certificates`);
  if (certs.length > MAX_CHAIN_CERTIFICATES) throw new RootError(`${where}.certChain has ${certs.length} certificates, over the limit of ${MAX_CHAIN_CERTIFICATES}`);
  const chain = certs.map((c, i) => {
    const w = `${where}.certChain.certificates[${i}]`;
    const der = bytesField(record(c, w), "rawBytes", "raw_bytes", `${w}.rawBytes`);
    if (!der) throw new RootError(`${w} has no rawBytes`);
    try {
      parseCertificate(der);
    } catch (err) {
      if (err instanceof DerError) throw new RootError(`${w} is not an X.509 certificate (${err.message})`);
      throw err;
    }
    return der;
  });
  const uri = optionalString(ca, "uri", "uri", `${where}.uri`);
  return { chain, ...readValidity(ca, where), ...(uri !== undefined ? { uri } : {}) };
}

function readValidity(obj: Record<string, unknown>, where: string): { validFrom?: Date; validTo?: Date } {
  const raw = field(obj, "validFor", "valid_for");
  if (raw === undefined || raw === null) return {};
  const validFor = record(raw, `${where}.validFor`);
  const start = field(validFor, "start", "start");
  const end = field(validFor, "end", "end");
  const out: { validFrom?: Date; validTo?: Date } = {};
  // TimeRange.start is required (a missing bound is not "always"; sigstore-conformance refuses it).
  if (start === undefined || start === null) throw new RootError(`${where}.validFor has no start`);
  out.validFrom = timestamp(start, `${where}.validFor.start`);
  if (end !== undefined && end !== null) out.validTo = timestamp(end, `${where}.validFor.end`);
  return out;
}

// protojson's Timestamp: RFC 3339, "Z" or an offset, 0–9 fractional digits, years 1–9999.
const TIMESTAMP = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+-]\d{2}:\d{2})$/;

function timestamp(value: unknown, where: string): Date {
  const m = typeof value === "string" ? TIMESTAMP.exec(value) : null;
  if (!m) throw new RootError(`${where} is not an RFC 3339 timestamp: ${JSON.stringify(value)}`);
  const [, y, mo, d, h, mi, s, frac, zone] = m as unknown as string[];
  const ms = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s), frac ? Number(frac.slice(0, 3).padEnd(3, "0")) : 0);
  const date = new Date(ms);
  if (date.getUTCDate() !== Number(d) || date.getUTCMonth() !== Number(mo) - 1 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 59) {
    throw new RootError(`${where} is not a valid time: ${JSON.stringify(value)}`);
  }
  if (zone !== "Z") {
    const sign = zone!.startsWith("-") ? -1 : 1;
    date.setTime(ms - sign * (Number(zone!.slice(1, 3)) * 60 + Number(zone!.slice(4, 6))) * 60_000);
  }
  return date;
}

function record(value: unknown, where: string): Record<string, unknown> {
  if (!isRecord(value)) throw new RootError(`${where} is not an object`);
  return value;
}

/** A field under its JSON (camelCase) or proto (snake_case) name; both at once is an error, as in protojson. */
function field(obj: Record<string, unknown>, json: string, proto: string): unknown {
  const a = Object.hasOwn(obj, json);
  const b = json !== proto && Object.hasOwn(obj, proto);
  if (a && b) throw new RootError(`both ${json} and ${proto} are given`);
  return a ? obj[json] : b ? obj[proto] : undefined;
}

function list(obj: Record<string, unknown>, json: string, proto: string): unknown[] {
  const value = field(obj, json, proto);
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new RootError(`${json} is not a list`);
  if (value.length > MAX_TRUST_ROOT_ENTRIES) throw new RootError(`${json} has ${value.length} entries, over the limit of ${MAX_TRUST_ROOT_ENTRIES}`);
  return value;
}

function optionalString(obj: Record<string, unknown>, json: string, proto: string, where: string): string | undefined {
  const value = field(obj, json, proto);
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string") throw new RootError(`${where} is not a string`);
  return value;
}

function bytesField(obj: Record<string, unknown>, json: string, proto: string, where: string): Uint8Array | undefined {
  const value = field(obj, json, proto);
  if (value === undefined || value === null) return undefined;
  const bytes = typeof value === "string" ? protojsonBytes(value) : undefined;
  if (!bytes) throw new RootError(`${where} is not base64`);
  return bytes;
}

/** protojson bytes (../protojson.ts): standard or URL-safe base64, padding optional, not both alphabets. */
export const protojsonBytes = (text: string): Uint8Array | undefined => protoBytes(text);
