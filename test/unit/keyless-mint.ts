// A minimal Sigstore-like PKI minted in memory with Web Crypto, for the verifier's unit tests of what
// real data cannot show (an expired leaf, no SCT, other key usages): a Fulcio-like CA, a leaf with
// an embedded SCT, a Rekor key signing a SET over a hashedrekord entry. Not the e2e generator.
import { tlv, TAG } from "../../src/verify/shared/der";
import type { TrustedRoot } from "../../src/verify/cosign/keyless/trusted-root";
import type { KeylessEvidence } from "../../src/verify/cosign/keyless/types";

const enc = new TextEncoder();
const u8 = (...b: number[]) => Uint8Array.of(...b);
const cat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) (out.set(p, o), (o += p.length));
  return out;
};
const b64 = (b: Uint8Array) => btoa(String.fromCharCode(...b));
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
const sha256 = async (b: Uint8Array) => new Uint8Array(await crypto.subtle.digest("SHA-256", b));

function oid(text: string): Uint8Array {
  const [a, b, ...rest] = text.split(".").map(Number);
  const bytes = [a! * 40 + b!];
  for (const n of rest) {
    const chunk = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    bytes.push(...chunk);
  }
  return tlv(TAG.OID, Uint8Array.from(bytes));
}
const seq = (...p: Uint8Array[]) => tlv(TAG.SEQUENCE, ...p);
const utf8s = (s: string) => tlv(TAG.UTF8_STRING, enc.encode(s));
const name = (cn: string) => seq(tlv(TAG.SET, seq(oid("2.5.4.3"), utf8s(cn))));
const time = (d: Date) => tlv(TAG.GENERALIZED_TIME, enc.encode(d.toISOString().replace(/[-:T]/g, "").slice(0, 14) + "Z"));
const ext = (id: string, value: Uint8Array, critical = false) => seq(oid(id), ...(critical ? [tlv(TAG.BOOLEAN, u8(0xff))] : []), tlv(TAG.OCTET_STRING, value));

export interface Key {
  readonly pair: CryptoKeyPair;
  readonly spki: Uint8Array;
  readonly curve: "P-256" | "P-384";
}

export async function newKey(curve: "P-256" | "P-384" = "P-256"): Promise<Key> {
  const pair = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: curve }, true, ["sign", "verify"])) as CryptoKeyPair;
  return { pair, curve, spki: new Uint8Array((await crypto.subtle.exportKey("spki", pair.publicKey)) as ArrayBuffer) };
}

/** ECDSA in ASN.1 DER, over the curve's hash of `data`. */
export async function sign(key: Key, data: Uint8Array, hash = key.curve === "P-384" ? "SHA-384" : "SHA-256"): Promise<Uint8Array> {
  const raw = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash }, key.pair.privateKey, data));
  const half = raw.length / 2;
  const int = (b: Uint8Array) => {
    let i = 0;
    while (i < b.length - 1 && b[i] === 0) i++;
    const m = b.subarray(i);
    return tlv(TAG.INTEGER, m[0]! & 0x80 ? cat(u8(0), m) : m);
  };
  return seq(int(raw.subarray(0, half)), int(raw.subarray(half)));
}

const sigAlg = (k: Key) => seq(oid(k.curve === "P-384" ? "1.2.840.10045.4.3.3" : "1.2.840.10045.4.3.2"));

export interface CertSpec {
  subject: string;
  issuer: string;
  key: Key;
  signer: Key;
  notBefore: Date;
  notAfter: Date;
  ca?: boolean;
  extensions?: Uint8Array[];
}

function tbsOf(s: CertSpec, extensions: Uint8Array[]): Uint8Array {
  return seq(tlv(0xa0, tlv(TAG.INTEGER, u8(2))), tlv(TAG.INTEGER, u8(1, 2, 3)), sigAlg(s.signer), name(s.issuer), seq(time(s.notBefore), time(s.notAfter)), name(s.subject), s.key.spki, tlv(0xa3, seq(...extensions)));
}

async function certFromTbs(tbs: Uint8Array, signer: Key): Promise<Uint8Array> {
  return seq(tbs, sigAlg(signer), tlv(TAG.BIT_STRING, u8(0), await sign(signer, tbs)));
}

export async function mintCert(s: CertSpec): Promise<Uint8Array> {
  const exts = [...(s.ca ? [ext("2.5.29.19", seq(tlv(TAG.BOOLEAN, u8(0xff))), true), ext("2.5.29.15", tlv(TAG.BIT_STRING, u8(1, 0x06)), true)] : []), ...(s.extensions ?? [])];
  return certFromTbs(tbsOf(s, exts), s.signer);
}

export const LEAF_EXTENSIONS = {
  keyUsageDigitalSignature: ext("2.5.29.15", tlv(TAG.BIT_STRING, u8(7, 0x80)), true),
  keyUsageKeyEncipherment: ext("2.5.29.15", tlv(TAG.BIT_STRING, u8(5, 0x20)), true),
  ekuCodeSigning: ext("2.5.29.37", seq(oid("1.3.6.1.5.5.7.3.3"))),
  ekuServerAuth: ext("2.5.29.37", seq(oid("1.3.6.1.5.5.7.3.1"))),
  san: (email: string) => ext("2.5.29.17", seq(tlv(0x81, enc.encode(email))), true),
  issuer: (iss: string) => ext("1.3.6.1.4.1.57264.1.8", utf8s(iss)),
  unknownCritical: ext("1.2.3.4.5", tlv(TAG.NULL, new Uint8Array()), true),
  /** A critical flag that is an INTEGER, not a BOOLEAN. */
  malformedFlag: seq(oid("1.2.3.4.6"), tlv(TAG.INTEGER, u8(1)), tlv(TAG.OCTET_STRING, tlv(TAG.NULL, new Uint8Array()))),
};

/** A leaf with an embedded SCT by `ct` over its precertificate (the TBS without the SCT list). */
export async function mintLeafWithSct(s: CertSpec, issuerSpki: Uint8Array, ct: Key, sctTime: Date): Promise<Uint8Array> {
  const exts = s.extensions ?? [];
  const preTbs = tbsOf(s, exts);
  const ts = new Uint8Array(8);
  new DataView(ts.buffer).setBigUint64(0, BigInt(sctTime.getTime()));
  const len = (n: number, size: number) => Uint8Array.from({ length: size }, (_, i) => (n >> (8 * (size - 1 - i))) & 0xff);
  const signed = cat(u8(0, 0), ts, u8(0, 1), await sha256(issuerSpki), len(preTbs.length, 3), preTbs, u8(0, 0));
  const sig = await sign(ct, signed);
  const sct = cat(u8(0), await sha256(ct.spki), ts, u8(0, 0), u8(4, 3), len(sig.length, 2), sig);
  const list = cat(len(sct.length + 2, 2), len(sct.length, 2), sct);
  return certFromTbs(tbsOf(s, [...exts, ext("1.3.6.1.4.1.11129.2.4.2", tlv(TAG.OCTET_STRING, list))]), s.signer);
}

export interface World {
  root: TrustedRoot;
  ca: Key;
  ct: Key;
  rekor: Key;
  caCert: Uint8Array;
  signedAt: Date;
  /** Evidence for a leaf made from `leaf` (a certificate minted for `leafKey`), signed and logged. */
  evidence(leaf: Uint8Array, leafKey: Key, payload?: Uint8Array, hash?: string): Promise<KeylessEvidence>;
}

export async function world(): Promise<World> {
  const [ca, ct, rekor] = await Promise.all([newKey("P-384"), newKey(), newKey()]);
  const caCert = await mintCert({ subject: "test-fulcio", issuer: "test-fulcio", key: ca, signer: ca, notBefore: new Date("2020-01-01T00:00:00Z"), notAfter: new Date("2040-01-01T00:00:00Z"), ca: true });
  const logId = await sha256(rekor.spki);
  const root: TrustedRoot = {
    certificateAuthorities: [{ chain: [caCert], validFrom: new Date("2020-01-01T00:00:00Z") }],
    tlogs: [{ logId, spki: rekor.spki, validFrom: new Date("2020-01-01T00:00:00Z") }],
    ctlogs: [{ logId: await sha256(ct.spki), spki: ct.spki, validFrom: new Date("2020-01-01T00:00:00Z") }],
    timestampAuthorities: [],
  };
  const signedAt = new Date("2026-01-02T03:04:05Z");
  return {
    root,
    ca,
    ct,
    rekor,
    caCert,
    signedAt,
    async evidence(leaf, leafKey, payload = enc.encode('{"critical":{}}'), hash) {
      const signature = await sign(leafKey, payload, hash);
      const pem = `-----BEGIN CERTIFICATE-----\n${b64(leaf)}\n-----END CERTIFICATE-----\n`;
      const body = enc.encode(
        JSON.stringify({ apiVersion: "0.0.1", kind: "hashedrekord", spec: { data: { hash: { algorithm: "sha256", value: hex(await sha256(payload)) } }, signature: { content: b64(signature), publicKey: { content: b64(enc.encode(pem)) } } } }),
      );
      const integratedTime = Math.floor(signedAt.getTime() / 1000);
      const set = await sign(rekor, enc.encode(`{"body":"${b64(body)}","integratedTime":${integratedTime},"logID":"${hex(logId)}","logIndex":7}`));
      return {
        source: "minted",
        certificate: leaf,
        chain: [],
        signature,
        signed: { kind: "message", payload },
        tlogEntries: [{ logIndex: 7, logId, integratedTime, kind: "hashedrekord", version: "0.0.1", canonicalizedBody: body, signedEntryTimestamp: set }],
        rfc3161Timestamps: [],
      };
    },
  };
}
