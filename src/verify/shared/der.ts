// A small DER reader and the slice of X.509 the verifiers need: SPKI, CN, validity, CA flag, issuer.

export class DerError extends Error {
  override readonly name = "DerError";
}

export interface DerNode {
  /** Identifier octet (single-byte tags only; X.509 needs no others). */
  readonly tag: number;
  /** The value bytes. */
  readonly value: Uint8Array;
  /** The whole TLV (tag, length and value). */
  readonly raw: Uint8Array;
}

/** Reads one TLV at `offset`; definite, minimal lengths only (DER). */
export function readTlv(bytes: Uint8Array, offset: number): { node: DerNode; next: number } {
  if (offset + 2 > bytes.length) throw new DerError("DER: truncated header");
  const tag = bytes[offset]!;
  if ((tag & 0x1f) === 0x1f) throw new DerError("DER: multi-byte tags are not supported");
  let length = bytes[offset + 1]!;
  let pos = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0) throw new DerError("DER: indefinite length");
    if (count > 4) throw new DerError("DER: length too large");
    if (pos + count > bytes.length) throw new DerError("DER: truncated length");
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[pos + i]!;
    if (bytes[pos] === 0 || length < 0x80) throw new DerError("DER: non-minimal length");
    pos += count;
  }
  const end = pos + length;
  if (end > bytes.length) throw new DerError("DER: value runs past the end");
  return {
    node: { tag, value: bytes.subarray(pos, end), raw: bytes.subarray(offset, end) },
    next: end,
  };
}

/** Parses exactly one TLV covering all of `bytes`. */
export function readSingle(bytes: Uint8Array, expectedTag?: number): DerNode {
  const { node, next } = readTlv(bytes, 0);
  if (next !== bytes.length) throw new DerError("DER: trailing bytes");
  if (expectedTag !== undefined && node.tag !== expectedTag) {
    throw new DerError(`DER: expected tag 0x${expectedTag.toString(16)}, got 0x${node.tag.toString(16)}`);
  }
  return node;
}

/** The children of a constructed value. */
export function children(node: DerNode): DerNode[] {
  if ((node.tag & 0x20) === 0) throw new DerError("DER: not a constructed value");
  const out: DerNode[] = [];
  let offset = 0;
  while (offset < node.value.length) {
    const { node: child, next } = readTlv(node.value, offset);
    out.push(child);
    offset = next;
  }
  return out;
}

export const TAG = {
  BOOLEAN: 0x01,
  INTEGER: 0x02,
  BIT_STRING: 0x03,
  OCTET_STRING: 0x04,
  NULL: 0x05,
  OID: 0x06,
  UTF8_STRING: 0x0c,
  PRINTABLE_STRING: 0x13,
  T61_STRING: 0x14,
  IA5_STRING: 0x16,
  UTC_TIME: 0x17,
  GENERALIZED_TIME: 0x18,
  BMP_STRING: 0x1e,
  SEQUENCE: 0x30,
  SET: 0x31,
} as const;

export function decodeOid(node: DerNode): string {
  if (node.tag !== TAG.OID || node.value.length === 0) throw new DerError("DER: bad OID");
  const parts: number[] = [];
  let acc = 0;
  for (const b of node.value) {
    acc = acc * 128 + (b & 0x7f);
    if (acc > Number.MAX_SAFE_INTEGER) throw new DerError("DER: OID arc too large");
    if ((b & 0x80) === 0) {
      if (parts.length === 0) {
        const first = acc < 80 ? Math.floor(acc / 40) : 2;
        parts.push(first, acc - first * 40);
      } else {
        parts.push(acc);
      }
      acc = 0;
    }
  }
  if ((node.value[node.value.length - 1]! & 0x80) !== 0) throw new DerError("DER: truncated OID");
  return parts.join(".");
}

/** BIT STRING contents with no unused bits (keys and signatures are whole bytes). */
export function bitStringBytes(node: DerNode): Uint8Array {
  if (node.tag !== TAG.BIT_STRING || node.value.length === 0 || node.value[0] !== 0) {
    throw new DerError("DER: bad BIT STRING");
  }
  return node.value.subarray(1);
}

/** Unsigned big-endian magnitude of a non-negative INTEGER (leading zero stripped). */
export function unsignedInteger(node: DerNode): Uint8Array {
  if (node.tag !== TAG.INTEGER || node.value.length === 0) throw new DerError("DER: bad INTEGER");
  if (node.value[0]! & 0x80) throw new DerError("DER: negative INTEGER");
  let start = 0;
  while (start < node.value.length - 1 && node.value[start] === 0) start++;
  return node.value.subarray(start);
}

export const OID = {
  EC_PUBLIC_KEY: "1.2.840.10045.2.1",
  P256: "1.2.840.10045.3.1.7",
  RSA_ENCRYPTION: "1.2.840.113549.1.1.1",
  ED25519: "1.3.101.112",
  COMMON_NAME: "2.5.4.3",
  BASIC_CONSTRAINTS: "2.5.29.19",
  ECDSA_SHA1: "1.2.840.10045.4.1",
  ECDSA_SHA256: "1.2.840.10045.4.3.2",
  ECDSA_SHA384: "1.2.840.10045.4.3.3",
  ECDSA_SHA512: "1.2.840.10045.4.3.4",
  RSA_SHA1: "1.2.840.113549.1.1.5",
  RSA_SHA256: "1.2.840.113549.1.1.11",
  RSA_SHA384: "1.2.840.113549.1.1.12",
  RSA_SHA512: "1.2.840.113549.1.1.13",
  DSA_SHA1: "1.2.840.10040.4.3",
} as const;

export type SpkiAlgorithm = "ecdsa-p256" | "ecdsa-other" | "rsa" | "ed25519" | "unknown";

export interface SpkiInfo {
  readonly algorithm: SpkiAlgorithm;
  /** The whole SubjectPublicKeyInfo DER: what Web Crypto imports and what pins compare. */
  readonly der: Uint8Array;
  /** The subjectPublicKey BIT STRING contents. */
  readonly publicKey: Uint8Array;
}

export function parseSpki(der: Uint8Array): SpkiInfo {
  return spkiFromNode(readSingle(der, TAG.SEQUENCE));
}

function spkiFromNode(node: DerNode): SpkiInfo {
  const [algId, key, ...rest] = children(node);
  if (!algId || !key || rest.length > 0 || algId.tag !== TAG.SEQUENCE) throw new DerError("DER: bad SubjectPublicKeyInfo");
  const [oidNode, params] = children(algId);
  if (!oidNode) throw new DerError("DER: bad AlgorithmIdentifier");
  const oid = decodeOid(oidNode);
  let algorithm: SpkiAlgorithm = "unknown";
  if (oid === OID.EC_PUBLIC_KEY) {
    algorithm = params?.tag === TAG.OID && decodeOid(params) === OID.P256 ? "ecdsa-p256" : "ecdsa-other";
  } else if (oid === OID.RSA_ENCRYPTION) {
    algorithm = "rsa";
  } else if (oid === OID.ED25519) {
    algorithm = "ed25519";
  }
  return { algorithm, der: node.raw, publicKey: bitStringBytes(key) };
}

export interface Certificate {
  /** The certificate DER. */
  readonly der: Uint8Array;
  readonly tbs: Uint8Array;
  readonly signatureAlgorithm: string;
  readonly signature: Uint8Array;
  readonly spki: SpkiInfo;
  /** Subject CN (the last one, as Go's pkix.Name does); "" when absent. */
  readonly commonName: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** basicConstraints cA (Go's IsCA): notary's leaf/intermediate split. */
  readonly isCA: boolean;
  /** Issuer and subject names are byte-identical. */
  readonly selfIssued: boolean;
  /** The issuer and subject Names, DER (chains link where one's issuer is the other's subject). */
  readonly issuerName: Uint8Array;
  readonly subjectName: Uint8Array;
  /** The extensions in certificate order, unparsed. */
  readonly extensions: readonly CertificateExtension[];
  /** The TBSCertificate's fields in order, raw (rebuilding it, e.g. RFC 6962's precertificate TBS). */
  readonly tbsFields: readonly DerNode[];
}

export interface CertificateExtension {
  readonly oid: string;
  readonly critical: boolean;
  /** The extnValue OCTET STRING's contents. */
  readonly value: Uint8Array;
}

export function parseCertificate(der: Uint8Array): Certificate {
  const cert = readSingle(der, TAG.SEQUENCE);
  const [tbs, sigAlg, sigValue, ...extra] = children(cert);
  if (!tbs || !sigAlg || !sigValue || extra.length > 0 || tbs.tag !== TAG.SEQUENCE || sigAlg.tag !== TAG.SEQUENCE) {
    throw new DerError("X.509: bad Certificate");
  }
  const fields = children(tbs);
  let i = 0;
  if (fields[i]?.tag === 0xa0) i++; // [0] EXPLICIT version
  const serial = fields[i++];
  const innerSigAlg = fields[i++];
  const issuer = fields[i++];
  const validity = fields[i++];
  const subject = fields[i++];
  const spkiNode = fields[i++];
  if (
    serial?.tag !== TAG.INTEGER ||
    innerSigAlg?.tag !== TAG.SEQUENCE ||
    issuer?.tag !== TAG.SEQUENCE ||
    validity?.tag !== TAG.SEQUENCE ||
    subject?.tag !== TAG.SEQUENCE ||
    spkiNode?.tag !== TAG.SEQUENCE
  ) {
    throw new DerError("X.509: bad TBSCertificate");
  }
  let isCA = false;
  let extensions: CertificateExtension[] = [];
  for (; i < fields.length; i++) {
    const f = fields[i]!;
    if (f.tag === 0xa3) {
      isCA = basicConstraintsCA(f);
      extensions = extensionsOf(f);
    }
    else if (f.tag !== 0x81 && f.tag !== 0x82 && f.tag !== 0xa1 && f.tag !== 0xa2) {
      throw new DerError("X.509: unexpected TBSCertificate field");
    }
  }
  const [notBefore, notAfter, ...moreTimes] = children(validity);
  if (!notBefore || !notAfter || moreTimes.length > 0) throw new DerError("X.509: bad Validity");
  const [sigOid] = children(sigAlg);
  if (!sigOid) throw new DerError("X.509: bad signatureAlgorithm");
  return {
    der: cert.raw,
    tbs: tbs.raw,
    signatureAlgorithm: decodeOid(sigOid),
    signature: bitStringBytes(sigValue),
    spki: spkiFromNode(spkiNode),
    commonName: commonNameOf(subject),
    notBefore: decodeTime(notBefore),
    notAfter: decodeTime(notAfter),
    isCA,
    selfIssued: bytesSame(issuer.raw, subject.raw),
    issuerName: issuer.raw,
    subjectName: subject.raw,
    extensions,
    tbsFields: fields,
  };
}

function extensionsOf(extensionsWrapper: DerNode): CertificateExtension[] {
  const [list] = children(extensionsWrapper);
  if (!list || list.tag !== TAG.SEQUENCE) throw new DerError("X.509: bad extensions");
  return children(list).map((ext) => {
    const parts = children(ext);
    const oid = parts[0];
    const value = parts[parts.length - 1];
    if (!oid || !value || value.tag !== TAG.OCTET_STRING || parts.length > 3) throw new DerError("X.509: bad extension");
    const flag = parts.length === 3 ? parts[1]! : undefined;
    if (flag && (flag.tag !== TAG.BOOLEAN || flag.value.length !== 1)) throw new DerError("X.509: bad extension");
    return { oid: decodeOid(oid), critical: flag !== undefined && flag.value[0] !== 0, value: value.value };
  });
}

/** One GeneralName of a subjectAltName (RFC 5280 4.2.1.6); kinds other than these come as "other-kind". */
export type GeneralName =
  | { readonly kind: "email" | "dns" | "uri"; readonly value: string }
  | { readonly kind: "otherName"; readonly typeId: string; readonly value: DerNode }
  | { readonly kind: "other-kind"; readonly tag: number };

/** The GeneralNames of a subjectAltName extension's value. */
export function parseSubjectAltNames(value: Uint8Array): GeneralName[] {
  const seq = readSingle(value, TAG.SEQUENCE);
  return children(seq).map((name): GeneralName => {
    switch (name.tag) {
      case 0x81:
        return { kind: "email", value: ia5(name.value) };
      case 0x82:
        return { kind: "dns", value: ia5(name.value) };
      case 0x86:
        return { kind: "uri", value: ia5(name.value) };
      case 0xa0: {
        const [typeId, wrapped, ...rest] = children(name);
        if (!typeId || wrapped?.tag !== 0xa0 || rest.length > 0) throw new DerError("X.509: bad otherName");
        const [inner, ...more] = children(wrapped);
        if (!inner || more.length > 0) throw new DerError("X.509: bad otherName");
        return { kind: "otherName", typeId: decodeOid(typeId), value: inner };
      }
      default:
        return { kind: "other-kind", tag: name.tag };
    }
  });
}

function ia5(bytes: Uint8Array): string {
  for (const b of bytes) if (b > 0x7e || b < 0x20) throw new DerError("X.509: bad IA5String in a name");
  return String.fromCharCode(...bytes);
}

/** The OIDs of an extKeyUsage extension's value. */
export function parseExtendedKeyUsage(value: Uint8Array): string[] {
  return children(readSingle(value, TAG.SEQUENCE)).map(decodeOid);
}

/** keyUsage bits (RFC 5280 4.2.1.3), bit 0 (digitalSignature) first. */
export function parseKeyUsage(value: Uint8Array): boolean[] {
  const node = readSingle(value, TAG.BIT_STRING);
  if (node.value.length === 0 || node.value[0]! > 7 || (node.value.length === 1 && node.value[0] !== 0)) throw new DerError("X.509: bad keyUsage");
  const bits: boolean[] = [];
  const body = node.value.subarray(1);
  for (let i = 0; i < body.length * 8 - node.value[0]!; i++) bits.push((body[i >> 3]! & (0x80 >> (i & 7))) !== 0);
  return bits;
}

/** A string-valued DER node (UTF8String and the other directory strings). */
export function decodeStringValue(node: DerNode): string {
  return decodeDirectoryString(node);
}

function bytesSame(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function basicConstraintsCA(extensionsWrapper: DerNode): boolean {
  const [list] = children(extensionsWrapper);
  if (!list || list.tag !== TAG.SEQUENCE) throw new DerError("X.509: bad extensions");
  for (const ext of children(list)) {
    const parts = children(ext);
    const oid = parts[0];
    const value = parts[parts.length - 1];
    if (!oid || !value || value.tag !== TAG.OCTET_STRING) throw new DerError("X.509: bad extension");
    if (decodeOid(oid) !== OID.BASIC_CONSTRAINTS) continue;
    const bc = readSingle(value.value, TAG.SEQUENCE);
    const first = children(bc)[0];
    return first?.tag === TAG.BOOLEAN && first.value.length === 1 && first.value[0] !== 0;
  }
  return false;
}

function commonNameOf(name: DerNode): string {
  let cn = "";
  for (const rdn of children(name)) {
    if (rdn.tag !== TAG.SET) throw new DerError("X.509: bad RDN");
    for (const atv of children(rdn)) {
      const [type, value] = children(atv);
      if (!type || !value) throw new DerError("X.509: bad AttributeTypeAndValue");
      if (decodeOid(type) === OID.COMMON_NAME) cn = decodeDirectoryString(value);
    }
  }
  return cn;
}

function decodeDirectoryString(node: DerNode): string {
  switch (node.tag) {
    case TAG.UTF8_STRING:
      return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(node.value);
    case TAG.PRINTABLE_STRING:
    case TAG.IA5_STRING:
    case TAG.T61_STRING:
      return String.fromCharCode(...node.value);
    case TAG.BMP_STRING: {
      let s = "";
      for (let i = 0; i + 1 < node.value.length; i += 2) s += String.fromCharCode((node.value[i]! << 8) | node.value[i + 1]!);
      return s;
    }
    default:
      throw new DerError("X.509: unsupported string type in name");
  }
}

function decodeTime(node: DerNode): Date {
  const text = String.fromCharCode(...node.value);
  let m: RegExpMatchArray | null;
  let year: number;
  if (node.tag === TAG.UTC_TIME) {
    m = /^(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
    if (!m) throw new DerError("X.509: bad UTCTime");
    const yy = Number(m[1]);
    year = yy < 50 ? 2000 + yy : 1900 + yy; // RFC 5280 4.1.2.5.1
  } else if (node.tag === TAG.GENERALIZED_TIME) {
    m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})Z$/.exec(text);
    if (!m) throw new DerError("X.509: bad GeneralizedTime");
    year = Number(m[1]);
  } else {
    throw new DerError("X.509: bad Time");
  }
  const date = new Date(0);
  date.setUTCFullYear(year, Number(m[2]) - 1, Number(m[3]));
  date.setUTCHours(Number(m[4]), Number(m[5]), Number(m[6]), 0);
  return date;
}

// --- writing (used to rebuild SPKI for raw Ed25519 keys, and by tests to mint certificates) ---

export function encodeLength(length: number): Uint8Array {
  if (length < 0x80) return Uint8Array.of(length);
  const bytes: number[] = [];
  for (let n = length; n > 0; n = Math.floor(n / 256)) bytes.unshift(n & 0xff);
  return Uint8Array.of(0x80 | bytes.length, ...bytes);
}

export function tlv(tag: number, ...values: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const v of values) length += v.length;
  const len = encodeLength(length);
  const out = new Uint8Array(1 + len.length + length);
  out[0] = tag;
  out.set(len, 1);
  let offset = 1 + len.length;
  for (const v of values) {
    out.set(v, offset);
    offset += v.length;
  }
  return out;
}

/** DER prefix of an Ed25519 SubjectPublicKeyInfo (RFC 8410); append the 32 raw key bytes. */
export const ED25519_SPKI_PREFIX = Uint8Array.of(0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00);
