// RFC 3161 signed timestamps over the signature, as sigstore-go checks them against the trust
// root's timestamp authorities (root/timestamping_authority.go with timestamp-authority's
// VerifyTimestampResponse): a TimeStampResp (or a bare TimeStampToken) whose CMS SignedData holds
// a TSTInfo; its messageImprint is the hash of the signature bytes; the SignerInfo's signed
// attributes name the TSTInfo content type and its digest, and their signature verifies under the
// TSA's leaf certificate of the trust root (chain[0]), which chains to the TSA's root, allows
// time stamping, and like the rest of the chain was valid at genTime; the TSA's validFor covers
// genTime.
import { DerError, TAG, children, decodeOid, parseCertificate, parseExtendedKeyUsage, readSingle, tlv, type Certificate, type DerNode } from "../../shared/der";
import { bytesEqual } from "../../shared/encoding";
import { linkProblem, validAt } from "./chain";
import { verifyWithKey, type HashName } from "./crypto";
import type { TrustedCertificateAuthority } from "./trusted-root";

const OID_SIGNED_DATA = "1.2.840.113549.1.7.2";
const OID_TSTINFO = "1.2.840.113549.1.9.16.1.4";
const OID_CONTENT_TYPE = "1.2.840.113549.1.9.3";
const OID_MESSAGE_DIGEST = "1.2.840.113549.1.9.4";
const EKU_TIME_STAMPING = "1.3.6.1.5.5.7.3.8";
const DIGESTS: Record<string, HashName> = {
  "2.16.840.1.101.3.4.2.1": "SHA-256",
  "2.16.840.1.101.3.4.2.2": "SHA-384",
  "2.16.840.1.101.3.4.2.3": "SHA-512",
};
/** Bytes of one timestamp (a response with the TSA's chain is 1–4 KiB). */
export const MAX_TIMESTAMP_BYTES = 32 * 1024;

export type TimestampCheck = { readonly ok: true; readonly time: Date; readonly authority: TrustedCertificateAuthority } | { readonly ok: false; readonly why: string };

interface Token {
  readonly genTime: Date;
  readonly imprintHash: HashName;
  readonly imprint: Uint8Array;
  readonly digestHash: HashName;
  readonly signedAttrs: Uint8Array;
  readonly signature: Uint8Array;
  readonly eContent: Uint8Array;
  readonly messageDigest: Uint8Array;
}

const digest = async (hash: HashName, bytes: Uint8Array) => new Uint8Array(await crypto.subtle.digest(hash, bytes as Uint8Array<ArrayBuffer>));

function expect(node: DerNode | undefined, tag: number, what: string): DerNode {
  if (!node || node.tag !== tag) throw new DerError(`RFC 3161: bad ${what}`);
  return node;
}

function hashOf(algId: DerNode | undefined, what: string): HashName {
  const [oid] = children(expect(algId, TAG.SEQUENCE, what));
  const hash = DIGESTS[decodeOid(expect(oid, TAG.OID, what))];
  if (!hash) throw new DerError(`RFC 3161: unsupported ${what}`);
  return hash;
}

function generalizedTime(node: DerNode): Date {
  const text = String.fromCharCode(...expect(node, TAG.GENERALIZED_TIME, "genTime").value);
  const m = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})(\d{2})(?:\.(\d{1,9}))?Z$/.exec(text);
  if (!m) throw new DerError("RFC 3161: bad genTime");
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!, m[7] ? Number(m[7].slice(0, 3).padEnd(3, "0")) : 0));
}

/** Reads a TimeStampResp or a TimeStampToken; throws DerError. */
export function parseTimestamp(der: Uint8Array): Token {
  if (der.length > MAX_TIMESTAMP_BYTES) throw new DerError(`RFC 3161: the timestamp is over ${MAX_TIMESTAMP_BYTES} bytes`);
  let contentInfo = readSingle(der, TAG.SEQUENCE);
  const first = children(contentInfo);
  if (first[0]?.tag === TAG.SEQUENCE) {
    // TimeStampResp { status PKIStatusInfo, timeStampToken }: granted (0) or grantedWithMods (1).
    const status = children(first[0])[0];
    const value = expect(status, TAG.INTEGER, "status").value;
    if (value.length !== 1 || value[0]! > 1) throw new DerError("RFC 3161: the response does not grant a timestamp");
    contentInfo = expect(first[1], TAG.SEQUENCE, "timeStampToken");
  }
  const [type, wrapped] = children(contentInfo);
  if (decodeOid(expect(type, TAG.OID, "contentType")) !== OID_SIGNED_DATA) throw new DerError("RFC 3161: the token is not CMS SignedData");
  const signedData = expect(children(expect(wrapped, 0xa0, "content"))[0], TAG.SEQUENCE, "SignedData");
  const parts = children(signedData);
  const encap = expect(parts[2], TAG.SEQUENCE, "encapContentInfo");
  const signerInfos = expect(parts[parts.length - 1], TAG.SET, "signerInfos");
  const [eType, eWrapped] = children(encap);
  if (decodeOid(expect(eType, TAG.OID, "eContentType")) !== OID_TSTINFO) throw new DerError("RFC 3161: the token does not hold a TSTInfo");
  const eContent = expect(children(expect(eWrapped, 0xa0, "eContent"))[0], TAG.OCTET_STRING, "eContent").value;

  const tst = children(readSingle(eContent, TAG.SEQUENCE));
  const imprint = children(expect(tst[2], TAG.SEQUENCE, "messageImprint"));
  const genTime = generalizedTime(tst[4]!);

  const signers = children(signerInfos);
  if (signers.length !== 1) throw new DerError(`RFC 3161: the token has ${signers.length} signers, not one`);
  const si = children(expect(signers[0], TAG.SEQUENCE, "SignerInfo"));
  const digestHash = hashOf(si[2], "digestAlgorithm");
  const attrs = expect(si[3], 0xa0, "signedAttrs (they are required)");
  const signature = expect(si[5], TAG.OCTET_STRING, "signature").value;
  let contentTypeOk = false;
  let messageDigest: Uint8Array | undefined;
  for (const attr of children(attrs)) {
    const [oid, values] = children(attr);
    const id = decodeOid(expect(oid, TAG.OID, "attribute"));
    const [value, ...more] = children(expect(values, TAG.SET, "attribute values"));
    if (more.length > 0) throw new DerError("RFC 3161: an attribute with several values");
    if (id === OID_CONTENT_TYPE) contentTypeOk = decodeOid(expect(value, TAG.OID, "contentType attribute")) === OID_TSTINFO;
    if (id === OID_MESSAGE_DIGEST) messageDigest = expect(value, TAG.OCTET_STRING, "messageDigest attribute").value;
  }
  if (!contentTypeOk || !messageDigest) throw new DerError("RFC 3161: the signed attributes lack the TSTInfo content type or its digest");
  return {
    genTime,
    imprintHash: hashOf(imprint[0], "messageImprint hash algorithm"),
    imprint: expect(imprint[1], TAG.OCTET_STRING, "hashedMessage").value,
    digestHash,
    // Signed as a DER SET OF (the [0] IMPLICIT tag replaced), RFC 5652 5.4.
    signedAttrs: tlv(TAG.SET, attrs.value),
    signature,
    eContent,
    messageDigest,
  };
}

/** The TSA's certificates, parsed, and whether its own links verify; kept per parsed root. */
const authorities = new WeakMap<TrustedCertificateAuthority, { certs: Certificate[]; links: Promise<string | undefined> }>();

function authorityOf(tsa: TrustedCertificateAuthority) {
  let a = authorities.get(tsa);
  if (!a) {
    const certs = tsa.chain.map((der) => parseCertificate(der));
    const links = (async () => {
      for (let i = 0; i + 1 < certs.length; i++) {
        const problem = await linkProblem(certs[i]!, certs[i + 1]!);
        if (problem) return problem;
      }
      return undefined;
    })();
    a = { certs, links };
    authorities.set(tsa, a);
  }
  return a;
}

export async function verifyTimestamp(der: Uint8Array, signature: Uint8Array, tsas: readonly TrustedCertificateAuthority[]): Promise<TimestampCheck> {
  let token: Token;
  try {
    token = parseTimestamp(der);
  } catch (err) {
    if (err instanceof DerError) return { ok: false, why: `the RFC 3161 timestamp does not parse: ${err.message}` };
    throw err;
  }
  if (!bytesEqual(await digest(token.imprintHash, signature), token.imprint)) return { ok: false, why: "the RFC 3161 timestamp is over other bytes than this signature" };
  if (!bytesEqual(await digest(token.digestHash, token.eContent), token.messageDigest)) return { ok: false, why: "the RFC 3161 timestamp's signed digest is not its TSTInfo's" };
  if (tsas.length === 0) return { ok: false, why: "the trust root names no timestamp authority" };
  const at = token.genTime;
  const problems: string[] = [];
  for (const tsa of tsas) {
    const { certs, links } = authorityOf(tsa);
    const leaf = certs[0]!;
    if (!(await verifyWithKey(leaf.spki, token.digestHash, token.signature, token.signedAttrs))) {
      problems.push(`not signed by ${tsa.uri ?? "a timestamp authority"} of the trust root`);
      continue;
    }
    const broken = await links;
    if (broken) return { ok: false, why: `the trust root's timestamp authority chain is broken: ${broken}` };
    const eku = leaf.extensions.find((e) => e.oid === "2.5.29.37");
    if (certs.length > 1 && (!eku || !parseExtendedKeyUsage(eku.value).includes(EKU_TIME_STAMPING))) return { ok: false, why: "the timestamp authority's certificate does not allow time stamping" };
    if ((tsa.validFrom && at < tsa.validFrom) || (tsa.validTo && at > tsa.validTo)) {
      return { ok: false, why: `the RFC 3161 timestamp's time ${at.toISOString()} is outside the validity of ${tsa.uri ?? "the timestamp authority"} in the trust root` };
    }
    const expired = certs.find((c) => !validAt(c, at));
    if (expired) return { ok: false, why: `the timestamp authority's certificate "${expired.commonName}" was valid from ${expired.notBefore.toISOString()} to ${expired.notAfter.toISOString()}, not at ${at.toISOString()}` };
    return { ok: true, time: at, authority: tsa };
  }
  return { ok: false, why: `the RFC 3161 timestamp is ${[...new Set(problems)].join("; ")}` };
}
