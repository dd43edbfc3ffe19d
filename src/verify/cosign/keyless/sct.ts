// The SCT Fulcio embeds in its certificates (RFC 6962 3.3), checked as sigstore-go does
// (verify/sct.go with certificate-transparency-go): the SignedCertificateTimestampList extension
// read from the leaf, each SCT by a CT log of the trust root whose key was valid at the SCT's
// time, its signature over the precertificate entry: version 0, type certificate_timestamp, the
// timestamp, entry type precert_entry, sha256 of the issuer's SubjectPublicKeyInfo, and the leaf's
// TBSCertificate without the SCT list extension. One verified SCT is enough.
import { DerError, TAG, children, decodeOid, readSingle, tlv, type Certificate } from "../../shared/der";
import { bytesEqual, concatBytes, sha256, toHex } from "../../shared/encoding";
import { verifyWithKey, type HashName } from "./crypto";
import { MAX_SCTS } from "./limits";
import { parseSpki } from "../../shared/der";
import type { TrustedLogKey } from "./trusted-root";

export const SCT_LIST_OID = "1.3.6.1.4.1.11129.2.4.2";

export interface Sct {
  readonly version: number;
  readonly logId: Uint8Array;
  readonly timestamp: number;
  readonly extensions: Uint8Array;
  readonly hashAlgorithm: number;
  readonly signatureAlgorithm: number;
  readonly signature: Uint8Array;
}

export type SctCheck = { readonly ok: true; readonly logId: Uint8Array } | { readonly ok: false; readonly code: "SCT_MISSING" | "SCT_INVALID" | "MALFORMED"; readonly why: string };

/** The SCTs of the leaf's SignedCertificateTimestampList extension; [] when it has none. */
export function embeddedScts(leaf: Certificate): Sct[] {
  const ext = leaf.extensions.find((e) => e.oid === SCT_LIST_OID);
  if (!ext) return [];
  const list = readSingle(ext.value, TAG.OCTET_STRING).value;
  const r = new TlsReader(list);
  const all = r.sub(2);
  r.end();
  const out: Sct[] = [];
  while (!all.done()) {
    if (out.length >= MAX_SCTS) throw new DerError(`SCT: more than ${MAX_SCTS} SCTs`);
    const s = all.sub(2);
    const sct: Sct = {
      version: s.u(1),
      logId: s.bytes(32),
      timestamp: s.u(8),
      extensions: s.sub(2).rest(),
      hashAlgorithm: s.u(1),
      signatureAlgorithm: s.u(1),
      signature: s.sub(2).rest(),
    };
    s.end();
    out.push(sct);
  }
  return out;
}

/** The leaf's TBSCertificate without the SCT list extension (what the CT log signed). */
export function precertificateTbs(leaf: Certificate): Uint8Array {
  const fields = leaf.tbsFields.map((f) => {
    if (f.tag !== 0xa3) return f.raw;
    const [list] = children(f);
    const kept = children(list!).filter((ext) => decodeOid(children(ext)[0]!) !== SCT_LIST_OID);
    return tlv(0xa3, tlv(TAG.SEQUENCE, ...kept.map((e) => e.raw)));
  });
  return tlv(TAG.SEQUENCE, ...fields);
}

const HASHES: Record<number, HashName> = { 4: "SHA-256", 5: "SHA-384", 6: "SHA-512" };

export async function verifyEmbeddedScts(leaf: Certificate, issuer: Certificate, ctlogs: readonly TrustedLogKey[]): Promise<SctCheck> {
  let scts: Sct[];
  try {
    scts = embeddedScts(leaf);
  } catch (err) {
    if (err instanceof DerError) return { ok: false, code: "MALFORMED", why: `the certificate's SCT list does not parse: ${err.message}` };
    throw err;
  }
  if (scts.length === 0) return { ok: false, code: "SCT_MISSING", why: "the certificate has no embedded SCT (a Fulcio certificate carries one; set ignoreSCT for a CA that does not log)" };
  const issuerKeyHash = await sha256(issuer.spki.der);
  const tbs = precertificateTbs(leaf);
  const problems: string[] = [];
  for (const sct of scts) {
    const log = ctlogs.find((l) => bytesEqual(l.logId, sct.logId));
    if (!log) {
      problems.push(`SCT by CT log ${toHex(sct.logId)}, which the trust root does not know`);
      continue;
    }
    const time = new Date(sct.timestamp);
    if ((log.validFrom && time < log.validFrom) || (log.validTo && time > log.validTo)) {
      problems.push(`SCT by CT log ${toHex(sct.logId)} at ${time.toISOString()}, outside the key's validity in the trust root`);
      continue;
    }
    const hash = HASHES[sct.hashAlgorithm];
    if (sct.version !== 0 || !hash) {
      problems.push(`SCT by CT log ${toHex(sct.logId)} has version ${sct.version} or hash algorithm ${sct.hashAlgorithm}, which are not read`);
      continue;
    }
    const signed = concatBytes(
      Uint8Array.of(0, 0),
      uint(sct.timestamp, 8),
      Uint8Array.of(0, 1),
      issuerKeyHash,
      uint(tbs.length, 3),
      tbs,
      uint(sct.extensions.length, 2),
      sct.extensions,
    );
    if (await verifyWithKey(parseSpki(log.spki), hash, sct.signature, signed)) return { ok: true, logId: sct.logId };
    problems.push(`the SCT by CT log ${toHex(sct.logId)} does not verify`);
  }
  return { ok: false, code: "SCT_INVALID", why: problems.join("; ") };
}

function uint(value: number, size: number): Uint8Array {
  const out = new Uint8Array(size);
  for (let i = size - 1, v = value; i >= 0; i--, v = Math.floor(v / 256)) out[i] = v % 256;
  return out;
}

/** TLS presentation-language reader (big-endian integers, length-prefixed vectors); throws DerError. */
class TlsReader {
  private pos = 0;
  constructor(private readonly data: Uint8Array) {}
  done(): boolean {
    return this.pos >= this.data.length;
  }
  bytes(n: number): Uint8Array {
    if (this.pos + n > this.data.length) throw new DerError("SCT: truncated");
    const out = this.data.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }
  u(n: number): number {
    let v = 0;
    for (const b of this.bytes(n)) v = v * 256 + b;
    if (!Number.isSafeInteger(v)) throw new DerError("SCT: number too large");
    return v;
  }
  sub(lengthBytes: number): TlsReader {
    return new TlsReader(this.bytes(this.u(lengthBytes)));
  }
  rest(): Uint8Array {
    return this.bytes(this.data.length - this.pos);
  }
  end(): void {
    if (!this.done()) throw new DerError("SCT: trailing bytes");
  }
}
