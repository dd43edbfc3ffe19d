// A private Sigstore-like PKI for tests: a Fulcio-like CA, a CT log, a Rekor-like log and the
// trusted_root.json naming them, plus the signatures cosign writes with them (legacy `.sig` layer
// annotations, Sigstore bundles v0.1–v0.3). Pure WebCrypto and a small DER writer, no node:
// imports, so workerd unit tests and node e2e tests share it.
//
// Formats, read from the upstream sources (facts only):
// - Fulcio leaves (fulcio pkg/ca, sigstore-go pkg/fulcio/certificate): empty subject, SAN email or
//   URI (critical), KeyUsage digitalSignature, EKU codeSigning, issuer in 1.3.6.1.4.1.57264.1.1 as
//   raw bytes and in .1.8 as a DER UTF8String; .1.2–.1.6 raw, .1.9+ UTF8String.
// - Embedded SCTs (RFC 6962 §3.2, §3.3): the CT log signs the precertificate's TBS without the
//   poison extension 1.3.6.1.4.1.11129.2.4.3, with sha256 of the issuer's SPKI; the final
//   certificate carries the TLS-encoded SCT list, wrapped in an OCTET STRING, in 1.3.6.1.4.1.11129.2.4.2.
// - Rekor entry bodies (rekor pkg/types/{hashedrekord,dsse}/v0.0.1, canonicalised as JCS):
//   hashedrekord {data.hash{algorithm,value}, signature{content, publicKey.content = base64(PEM)}};
//   dsse {envelopeHash, payloadHash, signatures[{signature, verifier = base64(PEM)}]}.
// - SET: ECDSA-SHA256 by the log key over JCS {body, integratedTime, logID (hex), logIndex}.
// - Checkpoints (rekor pkg/util/checkpoint.go, transparency-dev formats/log): a signed note
//   "<origin>\n<size>\n<base64 root>\nTimestamp: <ns>\n\n— <name> base64(keyhint ‖ sig)\n",
//   keyhint = the first 4 bytes of the log ID; sigstore-js matches <name> inside the log's baseUrl.
// - Bundles: protobuf-specs Bundle JSON (protojson: lowerCamel names, int64 as strings, bytes base64).
import { FULCIO_EXTENSIONS, type FulcioExtensionName, type KeylessEvidence, type TlogEntry } from "../../src/verify/cosign/keyless/types";
import { tlv } from "../../src/verify/shared/der";
// src/encoding.ts rather than verify/shared/encoding.ts: the latter does not type-check under the
// node (DOM) typings the e2e tests use.
import { concatBytes, sha256Bytes as sha256, stableStringify, toHex } from "../../src/encoding";

const utf8 = (text: string) => new TextEncoder().encode(text);

export function base64Encode(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}

export function toPem(type: string, der: Uint8Array): string {
  const lines = base64Encode(der).match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${type}-----\n${lines.join("\n")}\n-----END ${type}-----\n`;
}

// ---------------------------------------------------------------------------------------------
// A small DER writer.

const T = { INT: 0x02, BIT: 0x03, OCTET: 0x04, OID: 0x06, UTF8: 0x0c, PRINTABLE: 0x13, IA5: 0x16, UTC: 0x17, GEN: 0x18, SEQ: 0x30, SET: 0x31 } as const;

export function derSeq(...items: readonly Uint8Array[]): Uint8Array {
  return tlv(T.SEQ, ...items);
}

export function derOid(oid: string): Uint8Array {
  const arcs = oid.split(".").map(Number);
  const out: number[] = [];
  const push = (n: number) => {
    const bytes = [n & 0x7f];
    for (n = Math.floor(n / 128); n > 0; n = Math.floor(n / 128)) bytes.unshift((n & 0x7f) | 0x80);
    out.push(...bytes);
  };
  push(arcs[0]! * 40 + arcs[1]!);
  for (const arc of arcs.slice(2)) push(arc);
  return tlv(T.OID, Uint8Array.from(out));
}

/** A non-negative INTEGER from big-endian magnitude bytes. */
export function derUint(magnitude: Uint8Array): Uint8Array {
  let start = 0;
  while (start < magnitude.length - 1 && magnitude[start] === 0) start++;
  const m = magnitude.subarray(start);
  return tlv(T.INT, m[0]! & 0x80 ? concatBytes(Uint8Array.of(0), m) : m);
}

export function derSmallInt(n: number): Uint8Array {
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return derUint(Uint8Array.from(bytes.length ? bytes : [0]));
}

const derBool = (v: boolean) => tlv(0x01, Uint8Array.of(v ? 0xff : 0));
const derOctets = (bytes: Uint8Array) => tlv(T.OCTET, bytes);
const derUtf8 = (s: string) => tlv(T.UTF8, utf8(s));
const derBits = (bytes: Uint8Array, unused = 0) => tlv(T.BIT, Uint8Array.of(unused), bytes);
const explicit = (n: number, inner: Uint8Array) => tlv(0xa0 | n, inner);

/** UTCTime before 2050, GeneralizedTime after (RFC 5280 4.1.2.5). */
function derTime(date: Date): Uint8Array {
  const iso = date.toISOString(); // YYYY-MM-DDTHH:MM:SS.mmmZ
  const digits = iso.slice(0, 19).replace(/[-T:]/g, "");
  return date.getUTCFullYear() < 2050 ? tlv(T.UTC, utf8(`${digits.slice(2)}Z`)) : tlv(T.GEN, utf8(`${digits}Z`));
}

/** A Name of O and CN (empty SEQUENCE when both are absent: Fulcio leaves). */
function derName(name: { organization?: string; commonName?: string }): Uint8Array {
  const rdns: Uint8Array[] = [];
  if (name.organization !== undefined) rdns.push(tlv(T.SET, derSeq(derOid("2.5.4.10"), derUtf8(name.organization))));
  if (name.commonName !== undefined) rdns.push(tlv(T.SET, derSeq(derOid("2.5.4.3"), derUtf8(name.commonName))));
  return derSeq(...rdns);
}

function extension(oid: string, critical: boolean, value: Uint8Array): Uint8Array {
  return critical ? derSeq(derOid(oid), derBool(true), derOctets(value)) : derSeq(derOid(oid), derOctets(value));
}

// ---------------------------------------------------------------------------------------------
// Keys and signatures.

export type Curve = "P-256" | "P-384";

export interface EcKey {
  readonly curve: Curve;
  readonly privateKey: CryptoKey;
  readonly publicKey: CryptoKey;
  /** DER SubjectPublicKeyInfo. */
  readonly spki: Uint8Array;
  /** sha256(spki): a log's ID. */
  readonly keyId: Uint8Array;
}

export async function generateEcKey(curve: Curve = "P-256"): Promise<EcKey> {
  const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: curve }, true, ["sign", "verify"])) as CryptoKeyPair;
  const spki = new Uint8Array((await crypto.subtle.exportKey("spki", pair.publicKey)) as ArrayBuffer);
  return { curve, privateKey: pair.privateKey, publicKey: pair.publicKey, spki, keyId: await sha256(spki) };
}

const hashOf = (curve: Curve) => (curve === "P-384" ? "SHA-384" : "SHA-256");
const sigAlgOid = (curve: Curve) => (curve === "P-384" ? "1.2.840.10045.4.3.3" : "1.2.840.10045.4.3.2");

/** ASN.1 DER ECDSA signature (Go's ecdsa.SignASN1) with the curve's usual hash. */
export async function ecdsaSign(key: EcKey, data: Uint8Array): Promise<Uint8Array> {
  const raw = new Uint8Array(
    await crypto.subtle.sign({ name: "ECDSA", hash: hashOf(key.curve) }, key.privateKey, data as Uint8Array<ArrayBuffer>),
  );
  const half = raw.length / 2;
  return derSeq(derUint(raw.subarray(0, half)), derUint(raw.subarray(half)));
}

function randomSerial(): Uint8Array {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0]! & 0x7f) | 0x01;
  return bytes;
}

// ---------------------------------------------------------------------------------------------
// Certificates.

export interface IssuedCertificate {
  readonly der: Uint8Array;
  readonly pem: string;
  readonly key: EcKey;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** The DER Name, for children's issuer field. */
  readonly subjectName: Uint8Array;
}

async function subjectKeyId(key: EcKey): Promise<Uint8Array> {
  // RFC 5280 4.2.1.2 method 1: SHA-1 of the subjectPublicKey bits (the SPKI tail after the BIT STRING header).
  const bits = key.spki.subarray(key.spki.length - (key.curve === "P-384" ? 97 : 65));
  return new Uint8Array(await crypto.subtle.digest("SHA-1", bits as Uint8Array<ArrayBuffer>));
}

async function signTbs(tbs: Uint8Array, issuerKey: EcKey): Promise<Uint8Array> {
  return derSeq(tbs, derSeq(derOid(sigAlgOid(issuerKey.curve))), derBits(await ecdsaSign(issuerKey, tbs)));
}

function tbsCertificate(fields: {
  serial: Uint8Array;
  issuerKey: EcKey;
  issuerName: Uint8Array;
  notBefore: Date;
  notAfter: Date;
  subjectName: Uint8Array;
  spki: Uint8Array;
  extensions: readonly Uint8Array[];
}): Uint8Array {
  return derSeq(
    explicit(0, derSmallInt(2)),
    derUint(fields.serial),
    derSeq(derOid(sigAlgOid(fields.issuerKey.curve))),
    fields.issuerName,
    derSeq(derTime(fields.notBefore), derTime(fields.notAfter)),
    fields.subjectName,
    fields.spki,
    explicit(3, derSeq(...fields.extensions)),
  );
}

const KU_DIGITAL_SIGNATURE = derBits(Uint8Array.of(0x80), 7);
const KU_CERT_SIGN_CRL_SIGN = derBits(Uint8Array.of(0x06), 1);
const EKU_CODE_SIGNING = "1.3.6.1.5.5.7.3.3";

async function issueCa(
  name: { organization: string; commonName: string },
  key: EcKey,
  validity: { notBefore: Date; notAfter: Date },
  issuer?: IssuedCertificate,
): Promise<IssuedCertificate> {
  const subjectName = derName(name);
  const ski = await subjectKeyId(key);
  const extensions = [
    extension("2.5.29.15", true, KU_CERT_SIGN_CRL_SIGN),
    // cA TRUE; the intermediate gets pathLenConstraint 0 and the EKU Fulcio's intermediate has.
    extension("2.5.29.19", true, issuer ? derSeq(derBool(true), derSmallInt(0)) : derSeq(derBool(true))),
    ...(issuer ? [extension("2.5.29.37", false, derSeq(derOid(EKU_CODE_SIGNING)))] : []),
    extension("2.5.29.14", false, derOctets(ski)),
    ...(issuer ? [extension("2.5.29.35", false, derSeq(tlv(0x80, await subjectKeyId(issuer.key))))] : []),
  ];
  const signer = issuer?.key ?? key;
  const tbs = tbsCertificate({
    serial: randomSerial(),
    issuerKey: signer,
    issuerName: issuer?.subjectName ?? subjectName,
    ...validity,
    subjectName,
    spki: key.spki,
    extensions,
  });
  const der = await signTbs(tbs, signer);
  return { der, pem: toPem("CERTIFICATE", der), key, ...validity, subjectName };
}

// ---------------------------------------------------------------------------------------------
// The PKI.

export interface LogKeyInfo {
  readonly key: EcKey;
  readonly baseUrl: string;
}

export interface SigstorePki {
  readonly root: IssuedCertificate;
  readonly intermediate: IssuedCertificate;
  readonly ctLog: LogKeyInfo;
  readonly rekor: LogKeyInfo & { readonly origin: string; readonly treeId: string };
  /** Keys the trust root does not name: a rogue CA, CT log and Rekor, for the negative cases. */
  readonly rogue: {
    readonly root: IssuedCertificate;
    readonly intermediate: IssuedCertificate;
    readonly ctLog: LogKeyInfo;
    readonly rekor: LogKeyInfo;
  };
  /** protobuf-specs TrustedRoot JSON (an object; `trustedRootJson` is its text). */
  readonly trustedRoot: Record<string, unknown>;
  readonly trustedRootJson: string;
  /** The log's leaves so far (entry bodies and filler), in order. */
  readonly log: Uint8Array[];
}

export interface PkiOptions {
  /** Fulcio root/intermediate curve (public good: P-384). */
  caCurve?: Curve;
  /** When the CA, CT log and Rekor keys start being valid (default: now − 1 day). */
  validFrom?: Date;
  /** A name used in subjects and URLs (default "trustgate-test"). */
  name?: string;
}

const HOUR = 3600_000;
const DAY = 24 * HOUR;

export async function createSigstorePki(options: PkiOptions = {}): Promise<SigstorePki> {
  const name = options.name ?? "trustgate-test";
  const caCurve = options.caCurve ?? "P-384";
  const validFrom = options.validFrom ?? new Date(Date.now() - DAY);
  const caValidity = { notBefore: validFrom, notAfter: new Date(validFrom.getTime() + 3650 * DAY) };

  const makeCa = async (label: string) => {
    const root = await issueCa({ organization: label, commonName: label }, await generateEcKey(caCurve), caValidity);
    const intermediate = await issueCa({ organization: label, commonName: `${label}-intermediate` }, await generateEcKey(caCurve), caValidity, root);
    return { root, intermediate };
  };
  const { root, intermediate } = await makeCa(name);
  const rogueCa = await makeCa(`${name}-rogue`);
  const ctLog: LogKeyInfo = { key: await generateEcKey("P-256"), baseUrl: `https://ctfe.${name}.test/test` };
  const rekorKey = await generateEcKey("P-256");
  const rekorHost = `rekor.${name}.test`;
  const treeId = "1193050959916656506";
  const rekor = { key: rekorKey, baseUrl: `https://${rekorHost}`, origin: `${rekorHost} - ${treeId}`, treeId };
  const rogue = {
    ...rogueCa,
    ctLog: { key: await generateEcKey("P-256"), baseUrl: `https://ctfe.${name}-rogue.test/test` },
    // Same host name as the trusted log: only the key tells them apart.
    rekor: { key: await generateEcKey("P-256"), baseUrl: rekor.baseUrl },
  };

  const start = validFrom.toISOString();
  const logJson = (log: LogKeyInfo) => ({
    baseUrl: log.baseUrl,
    hashAlgorithm: "SHA2_256",
    publicKey: { rawBytes: base64Encode(log.key.spki), keyDetails: "PKIX_ECDSA_P256_SHA_256", validFor: { start } },
    logId: { keyId: base64Encode(log.key.keyId) },
  });
  const trustedRoot = {
    mediaType: "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
    tlogs: [logJson(rekor)],
    certificateAuthorities: [
      {
        subject: { organization: name, commonName: `${name}-intermediate` },
        uri: `https://fulcio.${name}.test`,
        certChain: { certificates: [{ rawBytes: base64Encode(intermediate.der) }, { rawBytes: base64Encode(root.der) }] },
        validFor: { start },
      },
    ],
    ctlogs: [logJson(ctLog)],
    timestampAuthorities: [],
  };
  // Filler leaves so that inclusion proofs have real audit paths.
  const log: Uint8Array[] = [];
  for (let i = 0; i < 5; i++) log.push(utf8(`filler entry ${i} ${toHex(crypto.getRandomValues(new Uint8Array(8)))}`));
  return { root, intermediate, ctLog, rekor, rogue, trustedRoot, trustedRootJson: JSON.stringify(trustedRoot, null, 2), log };
}

// ---------------------------------------------------------------------------------------------
// Leaf certificates with embedded SCTs.

export interface LeafOptions {
  /** The SAN: an email address, or a URI (CI workflows). */
  subject: string;
  subjectKind?: "email" | "uri";
  /** OIDC issuer, written into .1.8 (UTF8String) and the legacy .1.1 (raw). */
  issuer: string;
  /** Write the legacy .1.1 issuer extension too (default true). */
  legacyIssuer?: boolean;
  /** Write the .1.8 issuer extension (default true). */
  issuerV2?: boolean;
  extensions?: Partial<Record<FulcioExtensionName, string>>;
  notBefore?: Date;
  /** Default notBefore + 10 minutes, as Fulcio issues them. */
  notAfter?: Date;
  /** "trusted" (default), "none" (no SCT list), "rogue" (signed by a CT log the root does not name). */
  sct?: "trusted" | "none" | "rogue";
  /** Issue under the rogue CA instead of the trusted one. */
  rogueCa?: boolean;
  /** Leave KeyUsage/EKU out (not a code-signing certificate). */
  noCodeSigning?: boolean;
}

export interface Leaf extends IssuedCertificate {
  /** The precertificate (poison extension, no SCT), as the CT log saw it. */
  readonly precertificate: Uint8Array;
  /** The TBS the SCT signs: the leaf's TBS without the SCT list. */
  readonly sctSignedTbs: Uint8Array;
  readonly sctTimestamp?: number;
  /** DER certificates above the leaf: intermediate, root. */
  readonly chain: readonly Uint8Array[];
  readonly chainPem: string;
}

const OID_SCT_LIST = "1.3.6.1.4.1.11129.2.4.2";
const OID_CT_POISON = "1.3.6.1.4.1.11129.2.4.3";
const OID_ISSUER_V1 = "1.3.6.1.4.1.57264.1.1";
const OID_ISSUER_V2 = "1.3.6.1.4.1.57264.1.8";

const u16 = (n: number) => Uint8Array.of((n >> 8) & 0xff, n & 0xff);
const u24 = (n: number) => Uint8Array.of((n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff);
function u64(n: number): Uint8Array {
  const out = new Uint8Array(8);
  new DataView(out.buffer).setBigUint64(0, BigInt(n));
  return out;
}

/** The bytes a CT log signs for a precertificate entry (RFC 6962 §3.2). */
export function sctSignedData(timestamp: number, issuerKeyHash: Uint8Array, tbs: Uint8Array): Uint8Array {
  return concatBytes(Uint8Array.of(0, 0), u64(timestamp), u16(1), issuerKeyHash, u24(tbs.length), tbs, u16(0));
}

export async function issueLeaf(pki: SigstorePki, options: LeafOptions, key?: EcKey): Promise<Leaf> {
  const leafKey = key ?? (await generateEcKey("P-256"));
  const ca = options.rogueCa ? pki.rogue : pki;
  const notBefore = options.notBefore ?? new Date(Date.now() - 60_000);
  const notAfter = options.notAfter ?? new Date(notBefore.getTime() + 10 * 60_000);
  const san =
    (options.subjectKind ?? (options.subject.includes("://") ? "uri" : "email")) === "uri"
      ? tlv(0x86, utf8(options.subject))
      : tlv(0x81, utf8(options.subject));
  const exts: Uint8Array[] = [];
  if (!options.noCodeSigning) {
    exts.push(extension("2.5.29.15", true, KU_DIGITAL_SIGNATURE));
    exts.push(extension("2.5.29.37", false, derSeq(derOid(EKU_CODE_SIGNING))));
  }
  exts.push(extension("2.5.29.14", false, derOctets(await subjectKeyId(leafKey))));
  exts.push(extension("2.5.29.35", false, derSeq(tlv(0x80, await subjectKeyId(ca.intermediate.key)))));
  exts.push(extension("2.5.29.17", true, derSeq(san)));
  if (options.legacyIssuer ?? true) exts.push(extension(OID_ISSUER_V1, false, utf8(options.issuer)));
  for (const [name, value] of Object.entries(options.extensions ?? {}) as [FulcioExtensionName, string][]) {
    const oid = FULCIO_EXTENSIONS[name];
    const legacy = Number(oid.split(".").pop()) <= 6;
    exts.push(extension(oid, false, legacy ? utf8(value) : derUtf8(value)));
  }
  if (options.issuerV2 ?? true) exts.push(extension(OID_ISSUER_V2, false, derUtf8(options.issuer)));

  const serial = randomSerial();
  const base = {
    serial,
    issuerKey: ca.intermediate.key,
    issuerName: ca.intermediate.subjectName,
    notBefore,
    notAfter,
    subjectName: derSeq(),
    spki: leafKey.spki,
  };
  // The precertificate carries the poison; the SCT signs its TBS with the poison removed, which is
  // the final TBS without the SCT list (same extensions, same order).
  const precertTbs = tbsCertificate({ ...base, extensions: [...exts, extension(OID_CT_POISON, true, tlv(0x05, new Uint8Array(0)))] });
  const precertificate = await signTbs(precertTbs, ca.intermediate.key);
  const sctSignedTbs = tbsCertificate({ ...base, extensions: exts });

  const sctMode = options.sct ?? "trusted";
  let finalExts = exts;
  let sctTimestamp: number | undefined;
  if (sctMode !== "none") {
    const ctKey = sctMode === "rogue" ? pki.rogue.ctLog.key : pki.ctLog.key;
    sctTimestamp = notBefore.getTime() + 1000;
    const issuerKeyHash = await sha256(ca.intermediate.key.spki);
    const signature = await ecdsaSign(ctKey, sctSignedData(sctTimestamp, issuerKeyHash, sctSignedTbs));
    // SignedCertificateTimestamp v1: version, log id, timestamp, no extensions, sha256/ecdsa (4, 3).
    const sct = concatBytes(Uint8Array.of(0), ctKey.keyId, u64(sctTimestamp), u16(0), Uint8Array.of(4, 3), u16(signature.length), signature);
    const list = concatBytes(u16(sct.length + 2), u16(sct.length), sct);
    finalExts = [...exts, extension(OID_SCT_LIST, false, derOctets(list))];
  }
  const der = await signTbs(tbsCertificate({ ...base, extensions: finalExts }), ca.intermediate.key);
  const chain = [ca.intermediate.der, ca.root.der];
  return {
    der,
    pem: toPem("CERTIFICATE", der),
    key: leafKey,
    notBefore,
    notAfter,
    subjectName: base.subjectName,
    precertificate,
    sctSignedTbs,
    sctTimestamp,
    chain,
    chainPem: ca.intermediate.pem + ca.root.pem,
  };
}

// ---------------------------------------------------------------------------------------------
// Merkle tree (RFC 6962 §2.1).

export async function leafHash(data: Uint8Array): Promise<Uint8Array> {
  return sha256(concatBytes(Uint8Array.of(0), data));
}

async function nodeHash(left: Uint8Array, right: Uint8Array): Promise<Uint8Array> {
  return sha256(concatBytes(Uint8Array.of(1), left, right));
}

const splitPoint = (n: number) => {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
};

/** MTH(D[n]) over leaf hashes. */
export async function merkleRoot(leaves: readonly Uint8Array[]): Promise<Uint8Array> {
  if (leaves.length === 0) return sha256(new Uint8Array(0));
  if (leaves.length === 1) return leaves[0]!;
  const k = splitPoint(leaves.length);
  return nodeHash(await merkleRoot(leaves.slice(0, k)), await merkleRoot(leaves.slice(k)));
}

/** PATH(m, D[n]): the audit path for leaf m, leaf-most sibling first. */
export async function inclusionPath(m: number, leaves: readonly Uint8Array[]): Promise<Uint8Array[]> {
  if (leaves.length <= 1) return [];
  const k = splitPoint(leaves.length);
  if (m < k) return [...(await inclusionPath(m, leaves.slice(0, k))), await merkleRoot(leaves.slice(k))];
  return [...(await inclusionPath(m - k, leaves.slice(k))), await merkleRoot(leaves.slice(0, k))];
}

/** Recomputes the root from a leaf hash and its audit path (RFC 9162 §2.1.3.2). */
export async function rootFromInclusionProof(index: number, treeSize: number, leaf: Uint8Array, path: readonly Uint8Array[]): Promise<Uint8Array> {
  let fn = index;
  let sn = treeSize - 1;
  let r = leaf;
  for (const p of path) {
    if (sn === 0) throw new Error("inclusion proof too long");
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2);
        sn = Math.floor(sn / 2);
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) throw new Error("inclusion proof too short");
  return r;
}

// ---------------------------------------------------------------------------------------------
// Rekor entries, SETs, checkpoints.

/** JCS for the plain values Rekor bodies hold (strings, safe integers, objects, arrays). */
export function canonicalJson(value: unknown): Uint8Array {
  return utf8(stableStringify(value));
}

const b64 = (bytes: Uint8Array) => base64Encode(bytes);

export async function hashedRekordBody(message: Uint8Array, signature: Uint8Array, certificatePem: string): Promise<Uint8Array> {
  return canonicalJson({
    apiVersion: "0.0.1",
    kind: "hashedrekord",
    spec: {
      data: { hash: { algorithm: "sha256", value: toHex(await sha256(message)) } },
      signature: { content: b64(signature), publicKey: { content: b64(utf8(certificatePem)) } },
    },
  });
}

export async function dsseBody(envelopeJson: Uint8Array, payload: Uint8Array, signature: Uint8Array, certificatePem: string): Promise<Uint8Array> {
  return canonicalJson({
    apiVersion: "0.0.1",
    kind: "dsse",
    spec: {
      envelopeHash: { algorithm: "sha256", value: toHex(await sha256(envelopeJson)) },
      payloadHash: { algorithm: "sha256", value: toHex(await sha256(payload)) },
      signatures: [{ signature: b64(signature), verifier: b64(utf8(certificatePem)) }],
    },
  });
}

/** The JCS text a SET signs. */
export function setPayload(body: Uint8Array, integratedTime: number, logId: Uint8Array, logIndex: number): Uint8Array {
  return canonicalJson({ body: b64(body), integratedTime, logID: toHex(logId), logIndex });
}

/** A Rekor v1 checkpoint as a signed note. */
export async function signCheckpoint(
  signer: EcKey,
  origin: string,
  treeSize: number,
  rootHash: Uint8Array,
  timestampNs: bigint,
  name = origin.split(" ")[0]!,
): Promise<string> {
  const text = `${origin}\n${treeSize}\n${b64(rootHash)}\nTimestamp: ${timestampNs}\n`;
  const sig = await ecdsaSign(signer, utf8(text));
  return `${text}\n\u2014 ${name} ${b64(concatBytes(signer.keyId.subarray(0, 4), sig))}\n`;
}

/** DSSE pre-authentication encoding. */
export function pae(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = utf8(payloadType);
  return concatBytes(utf8(`DSSEv1 ${type.length} `), type, utf8(` ${payload.length} `), payload);
}

// ---------------------------------------------------------------------------------------------
// Signing.

export type Content =
  | { readonly kind: "message"; readonly payload: Uint8Array }
  | { readonly kind: "dsse"; readonly payloadType: string; readonly payload: Uint8Array };

export interface SignOptions extends Partial<LeafOptions> {
  /** Seconds; default now. Put it outside the leaf's validity for "expired at signing time". */
  integratedTime?: number;
  /** Who signs the SET: "trusted" (default), "rogue" (a log the root does not name: logID is the rogue key's), "forged" (the trusted logID, the rogue key's signature). */
  set?: "trusted" | "rogue" | "forged" | "none";
  /** Who signs the checkpoint, likewise; "none" leaves the inclusion proof out. */
  checkpoint?: "trusted" | "rogue" | "none";
  /** Change the body after the log signed it (one byte of the signature's base64 in the body). */
  tamperBody?: boolean;
  /** Sign other bytes than the content (a signature that does not verify). */
  corruptSignature?: boolean;
  /** The leaf key (default fresh). */
  key?: EcKey;
}

export interface KeylessSignature {
  readonly content: Content;
  readonly leaf: Leaf;
  readonly signature: Uint8Array;
  /** For DSSE: the envelope JSON as the bundle carries it. */
  readonly envelope?: { payload: string; payloadType: string; signatures: { sig: string }[] };
  readonly kind: "hashedrekord" | "dsse";
  readonly body: Uint8Array;
  readonly logIndex: number;
  readonly logId: Uint8Array;
  readonly integratedTime: number;
  readonly set?: Uint8Array;
  readonly inclusionProof?: {
    readonly logIndex: number;
    readonly treeSize: number;
    readonly rootHash: Uint8Array;
    readonly hashes: readonly Uint8Array[];
    readonly checkpoint: string;
  };
}

export const DEFAULT_IDENTITY = {
  subject: "https://github.com/trustgate/demo/.github/workflows/release.yml@refs/heads/main",
  issuer: "https://token.actions.githubusercontent.com",
} as const;

/** Signs `content` keylessly: a leaf for the identity, the signature, the Rekor entry with its SET and inclusion proof. */
export async function signKeyless(pki: SigstorePki, content: Content, options: SignOptions = {}): Promise<KeylessSignature> {
  const leaf = await issueLeaf(pki, { ...DEFAULT_IDENTITY, ...options }, options.key);
  const signed = content.kind === "dsse" ? pae(content.payloadType, content.payload) : content.payload;
  const signature = await ecdsaSign(leaf.key, options.corruptSignature ? concatBytes(signed, utf8(" ")) : signed);

  let envelope: KeylessSignature["envelope"];
  let body: Uint8Array;
  if (content.kind === "dsse") {
    envelope = { payload: b64(content.payload), payloadType: content.payloadType, signatures: [{ sig: b64(signature) }] };
    body = await dsseBody(utf8(JSON.stringify(envelope)), content.payload, signature, leaf.pem);
  } else {
    body = await hashedRekordBody(content.payload, signature, leaf.pem);
  }

  const integratedTime = options.integratedTime ?? Math.floor(Date.now() / 1000);
  const logIndex = pki.log.length;
  pki.log.push(body);
  const leaves = await Promise.all(pki.log.map(leafHash));
  const treeSize = leaves.length;
  const rootHash = await merkleRoot(leaves);
  const hashes = await inclusionPath(logIndex, leaves);

  const setMode = options.set ?? "trusted";
  const logId = setMode === "rogue" ? pki.rogue.rekor.key.keyId : pki.rekor.key.keyId;
  let set: Uint8Array | undefined;
  if (setMode !== "none") {
    const setKey = setMode === "trusted" ? pki.rekor.key : pki.rogue.rekor.key;
    set = await ecdsaSign(setKey, setPayload(body, integratedTime, logId, logIndex));
  }
  const cpMode = options.checkpoint ?? "trusted";
  let inclusionProof: KeylessSignature["inclusionProof"];
  if (cpMode !== "none") {
    const cpKey = cpMode === "trusted" ? pki.rekor.key : pki.rogue.rekor.key;
    const checkpoint = await signCheckpoint(cpKey, pki.rekor.origin, treeSize, rootHash, BigInt(integratedTime) * 1_000_000_000n);
    inclusionProof = { logIndex, treeSize, rootHash, hashes, checkpoint };
  }
  if (options.tamperBody) body = tamper(body);
  return { content, leaf, signature, envelope, kind: content.kind === "dsse" ? "dsse" : "hashedrekord", body, logIndex, logId, integratedTime, set, inclusionProof };
}

/** Flips one character inside the body's signature content (the JSON stays valid). */
function tamper(body: Uint8Array): Uint8Array {
  const text = new TextDecoder().decode(body);
  const m = /"(content|signature)":"([A-Za-z0-9+/])/.exec(text);
  if (!m) throw new Error("tamper: no signature in the body");
  const at = m.index + m[0].length - 1;
  return utf8(text.slice(0, at) + (m[2] === "A" ? "B" : "A") + text.slice(at + 1));
}

// ---------------------------------------------------------------------------------------------
// Emitters.

/** cosign's simple-signing payload for an image (Go field order, optional null). */
export function cosignPayload(dockerReference: string, digest: string): Uint8Array {
  return utf8(
    JSON.stringify({
      critical: { identity: { "docker-reference": dockerReference }, image: { "docker-manifest-digest": digest }, type: "cosign container image signature" },
      optional: null,
    }),
  );
}

/** The in-toto statement `cosign sign` (v3) puts in its DSSE envelope. */
export function cosignStatement(digest: string, predicateType = "https://sigstore.dev/cosign/sign/v1"): Uint8Array {
  return utf8(
    JSON.stringify({
      _type: "https://in-toto.io/Statement/v1",
      subject: [{ digest: { sha256: digest.replace(/^sha256:/, "") }, annotations: {} }],
      predicateType,
      predicate: {},
    }),
  );
}

export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";

/** A keyless signature over cosignPayload(dockerReference, digest), as a legacy `.sig` layer carries it. */
export function signCosignPayload(pki: SigstorePki, dockerReference: string, digest: string, options?: SignOptions): Promise<KeylessSignature> {
  return signKeyless(pki, { kind: "message", payload: cosignPayload(dockerReference, digest) }, options);
}

/** A keyless DSSE signature over cosignStatement(digest), as cosign v3's bundle carries it. */
export function signCosignStatement(pki: SigstorePki, digest: string, options?: SignOptions): Promise<KeylessSignature> {
  return signKeyless(pki, { kind: "dsse", payloadType: IN_TOTO_PAYLOAD_TYPE, payload: cosignStatement(digest) }, options);
}

export const ANNOTATIONS = {
  signature: "dev.cosignproject.cosign/signature",
  certificate: "dev.sigstore.cosign/certificate",
  chain: "dev.sigstore.cosign/chain",
  bundle: "dev.sigstore.cosign/bundle",
} as const;

/** A legacy `.sig` layer: the blob (payload) and its annotations as cosign writes them. */
export function legacyLayer(sig: KeylessSignature, options: { omitChain?: boolean; omitBundle?: boolean } = {}): {
  payload: Uint8Array;
  annotations: Record<string, string>;
} {
  if (sig.content.kind !== "message") throw new Error("legacy layers hold message signatures");
  const annotations: Record<string, string> = {
    [ANNOTATIONS.signature]: b64(sig.signature),
    [ANNOTATIONS.certificate]: sig.leaf.pem,
  };
  if (!options.omitChain) annotations[ANNOTATIONS.chain] = sig.leaf.chainPem;
  if (!options.omitBundle && sig.set) {
    // cosign pkg/bundle RekorBundle: {SignedEntryTimestamp, Payload{body, integratedTime, logIndex, logID}}.
    annotations[ANNOTATIONS.bundle] = JSON.stringify({
      SignedEntryTimestamp: b64(sig.set),
      Payload: { body: b64(sig.body), integratedTime: sig.integratedTime, logIndex: sig.logIndex, logID: toHex(sig.logId) },
    });
  }
  return { payload: sig.content.payload, annotations };
}

function tlogEntryJson(sig: KeylessSignature): Record<string, unknown> {
  return {
    logIndex: String(sig.logIndex),
    logId: { keyId: b64(sig.logId) },
    kindVersion: { kind: sig.kind, version: "0.0.1" },
    integratedTime: String(sig.integratedTime),
    ...(sig.set ? { inclusionPromise: { signedEntryTimestamp: b64(sig.set) } } : {}),
    ...(sig.inclusionProof
      ? {
          inclusionProof: {
            logIndex: String(sig.inclusionProof.logIndex),
            rootHash: b64(sig.inclusionProof.rootHash),
            treeSize: String(sig.inclusionProof.treeSize),
            hashes: sig.inclusionProof.hashes.map(b64),
            checkpoint: { envelope: sig.inclusionProof.checkpoint },
          },
        }
      : {}),
    canonicalizedBody: b64(sig.body),
  };
}

export const BUNDLE_MEDIA_TYPES = {
  "0.1": "application/vnd.dev.sigstore.bundle+json;version=0.1",
  "0.2": "application/vnd.dev.sigstore.bundle+json;version=0.2",
  "0.3": "application/vnd.dev.sigstore.bundle.v0.3+json",
} as const;

/**
 * A Sigstore bundle: v0.1/v0.2 carry the chain (leaf, intermediate, root) as x509CertificateChain,
 * v0.3 the leaf alone. A message signature gives messageDigest (sha256 of the message) and the
 * signature; DSSE gives the envelope.
 */
export async function bundleJson(sig: KeylessSignature, version: keyof typeof BUNDLE_MEDIA_TYPES): Promise<Record<string, unknown>> {
  const verificationMaterial: Record<string, unknown> =
    version === "0.3"
      ? { certificate: { rawBytes: b64(sig.leaf.der) } }
      : { x509CertificateChain: { certificates: [sig.leaf.der, ...sig.leaf.chain].map((c) => ({ rawBytes: b64(c) })) } };
  verificationMaterial.tlogEntries = [tlogEntryJson(sig)];
  const content =
    sig.content.kind === "dsse"
      ? { dsseEnvelope: sig.envelope }
      : { messageSignature: { messageDigest: { algorithm: "SHA2_256", digest: b64(await sha256(sig.content.payload)) }, signature: b64(sig.signature) } };
  return { mediaType: BUNDLE_MEDIA_TYPES[version], verificationMaterial, ...content };
}

/** The same signature as the verifier's contract takes it (what the evidence readers should produce). */
export function toEvidence(sig: KeylessSignature, source = "sigstore-pki"): KeylessEvidence {
  const entry: TlogEntry = {
    logIndex: sig.logIndex,
    logId: sig.logId,
    integratedTime: sig.integratedTime,
    kind: sig.kind,
    version: "0.0.1",
    canonicalizedBody: sig.body,
    ...(sig.set ? { signedEntryTimestamp: sig.set } : {}),
    ...(sig.inclusionProof ? { inclusionProof: sig.inclusionProof } : {}),
  };
  return {
    source,
    certificate: sig.leaf.der,
    chain: sig.leaf.chain,
    signature: sig.signature,
    signed: sig.content,
    tlogEntries: [entry],
    rfc3161Timestamps: [],
  };
}
