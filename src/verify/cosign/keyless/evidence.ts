// KeylessEvidence from what the registry holds: a legacy `.sig` layer's annotations, or a Sigstore
// bundle (v0.1, v0.2, v0.3). Reading only: nothing here verifies, and everything is bounded.
//
// Legacy layer (cosign pkg/oci/static, pkg/cosign/bundle): `dev.cosignproject.cosign/signature`
// base64 of the signature over the blob; `dev.sigstore.cosign/certificate` the PEM leaf;
// `dev.sigstore.cosign/chain` PEM intermediates (and root); `dev.sigstore.cosign/bundle` JSON
// {SignedEntryTimestamp: base64, Payload: {body: base64, integratedTime, logIndex, logID: hex}}
// (read as Go's encoding/json reads it: keys case-insensitive, the last match wins);
// `dev.sigstore.cosign/rfc3161timestamp` JSON {SignedRFC3161Timestamp: base64}.
//
// Bundles (protobuf-specs sigstore_bundle.proto, protojson): verificationMaterial holds
// x509CertificateChain.certificates[].rawBytes (v0.1/v0.2) or certificate.rawBytes (v0.3),
// tlogEntries[] {logIndex, logId.keyId, kindVersion, integratedTime, inclusionPromise
// .signedEntryTimestamp, inclusionProof {logIndex, rootHash, treeSize, hashes, checkpoint
// .envelope}, canonicalizedBody} and timestampVerificationData.rfc3161Timestamps[].signedTimestamp;
// the content is a dsseEnvelope or a messageSignature {messageDigest {algorithm, digest},
// signature}. As sigstore-go reads them: a v0.1 entry needs its inclusion promise, a v0.2+ entry
// its inclusion proof.
import { isRecord } from "../../../stored";
import { base64Decode, bytesEqual, parsePem, sha256, utf8DecodeStrict } from "../../shared/encoding";
import { MAX_INCLUSION_PROOF_HASHES, MAX_KEYLESS_CERTIFICATES, MAX_RFC3161_TIMESTAMPS, MAX_TLOG_ENTRIES } from "../limits";
import type { Parsed } from "../payload";
import { field, protoBytes, protoUint } from "../protojson";
import type { KeylessEvidence, SignedContent, TlogEntry } from "./types";

export const CERTIFICATE_ANNOTATION = "dev.sigstore.cosign/certificate";
export const CHAIN_ANNOTATION = "dev.sigstore.cosign/chain";
export const REKOR_BUNDLE_ANNOTATION = "dev.sigstore.cosign/bundle";
export const RFC3161_ANNOTATION = "dev.sigstore.cosign/rfc3161timestamp";
const LEGACY_SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature";

/** The bundle versions trustgate reads, by media type. */
export const BUNDLE_VERSIONS: Readonly<Record<string, BundleVersion>> = {
  "application/vnd.dev.sigstore.bundle+json;version=0.1": "0.1",
  "application/vnd.dev.sigstore.bundle+json;version=0.2": "0.2",
  "application/vnd.dev.sigstore.bundle+json;version=0.3": "0.3",
  "application/vnd.dev.sigstore.bundle.v0.3+json": "0.3",
};

export type BundleVersion = "0.1" | "0.2" | "0.3";

/** What a keyless bundle holds, decoded; the content as the bundle carries it. */
export interface KeylessBundle {
  readonly version: BundleVersion;
  readonly certificate: Uint8Array;
  readonly chain: readonly Uint8Array[];
  readonly content:
    | { readonly kind: "dsse"; readonly payloadType: string; readonly payload: Uint8Array; readonly signature: Uint8Array }
    | { readonly kind: "message"; readonly algorithm: string; readonly digest: Uint8Array; readonly signature: Uint8Array };
  readonly tlogEntries: readonly TlogEntry[];
  readonly rfc3161Timestamps: readonly Uint8Array[];
}

/** True when a legacy layer carries a certificate: a keyless signature (cosign reads the key from it). */
export function isKeylessLayer(annotations: Readonly<Record<string, string>>): boolean {
  return annotations[CERTIFICATE_ANNOTATION] !== undefined;
}

/**
 * The evidence of one legacy `.sig` layer whose blob is `payload` (already checked against its
 * descriptor by the caller). `source` names the layer for people.
 */
export function legacyEvidence(annotations: Readonly<Record<string, string>>, payload: Uint8Array, source: string): Parsed<KeylessEvidence> {
  const b64 = annotations[LEGACY_SIGNATURE_ANNOTATION];
  if (b64 === undefined) return fail(`the layer has no ${LEGACY_SIGNATURE_ANNOTATION} annotation`);
  const signature = base64Decode(b64);
  if (!signature || signature.length === 0) return fail(`the ${LEGACY_SIGNATURE_ANNOTATION} annotation is not base64`);
  const certPem = annotations[CERTIFICATE_ANNOTATION];
  if (certPem === undefined) return fail(`the layer has no ${CERTIFICATE_ANNOTATION} annotation`);
  const leaf = pemCertificates(certPem, CERTIFICATE_ANNOTATION);
  if (!leaf.ok) return leaf;
  if (leaf.value.length !== 1) return fail(`the ${CERTIFICATE_ANNOTATION} annotation holds ${leaf.value.length} certificates, not one`);
  const chainPem = annotations[CHAIN_ANNOTATION];
  const chain = chainPem === undefined || chainPem.trim() === "" ? ok<Uint8Array[]>([]) : pemCertificates(chainPem, CHAIN_ANNOTATION);
  if (!chain.ok) return chain;
  if (chain.value.length + 1 > MAX_KEYLESS_CERTIFICATES) {
    return fail(`the layer carries ${chain.value.length + 1} certificates; at most ${MAX_KEYLESS_CERTIFICATES} are read`);
  }
  const tlogEntries: TlogEntry[] = [];
  const rekor = annotations[REKOR_BUNDLE_ANNOTATION];
  if (rekor !== undefined) {
    const entry = legacyRekorBundle(rekor);
    if (!entry.ok) return entry;
    tlogEntries.push(entry.value);
  }
  const rfc3161Timestamps: Uint8Array[] = [];
  const ts = annotations[RFC3161_ANNOTATION];
  if (ts !== undefined) {
    const token = goField(parseJson(ts), "signedrfc3161timestamp");
    const der = typeof token === "string" ? base64Decode(token) : undefined;
    if (!der || der.length === 0) return fail(`the ${RFC3161_ANNOTATION} annotation is not {"SignedRFC3161Timestamp": base64}`);
    rfc3161Timestamps.push(der);
  }
  return ok({
    source,
    certificate: leaf.value[0]!,
    chain: chain.value,
    signature,
    signed: { kind: "message", payload },
    tlogEntries,
    rfc3161Timestamps,
  });
}

/** cosign's `dev.sigstore.cosign/bundle`: the Rekor entry and its SET, as Go's encoding/json reads it. */
function legacyRekorBundle(text: string): Parsed<TlogEntry> {
  const where = `the ${REKOR_BUNDLE_ANNOTATION} annotation`;
  const root = parseJson(text);
  if (!isRecord(root)) return fail(`${where} is not a JSON object`);
  const setText = goField(root, "signedentrytimestamp");
  const set = typeof setText === "string" ? base64Decode(setText) : undefined;
  if (!set || set.length === 0) return fail(`${where} has no base64 SignedEntryTimestamp`);
  const payload = goField(root, "payload");
  if (!isRecord(payload)) return fail(`${where} has no Payload object`);
  const bodyText = goField(payload, "body");
  const body = typeof bodyText === "string" ? base64Decode(bodyText) : undefined;
  if (!body || body.length === 0) return fail(`${where} has no base64 Payload.body`);
  const integratedTime = goField(payload, "integratedtime");
  const logIndex = goField(payload, "logindex");
  const logIdHex = goField(payload, "logid");
  if (typeof integratedTime !== "number" || !Number.isSafeInteger(integratedTime) || integratedTime < 0) return fail(`${where} has no valid Payload.integratedTime`);
  if (typeof logIndex !== "number" || !Number.isSafeInteger(logIndex) || logIndex < 0) return fail(`${where} has no valid Payload.logIndex`);
  const logId = typeof logIdHex === "string" ? fromHex(logIdHex) : undefined;
  if (!logId || logId.length === 0) return fail(`${where} has no hex Payload.logID`);
  return ok({ logIndex, logId, integratedTime, ...bodyKind(body), canonicalizedBody: body, signedEntryTimestamp: set });
}

/**
 * Reads a keyless bundle's verification material and content. `root` is the parsed bundle JSON,
 * `version` from its media type; the caller has seen a certificate or a chain in it.
 */
export function readKeylessBundle(root: Record<string, unknown>, version: BundleVersion): Parsed<KeylessBundle> {
  const material = field(root, "verificationMaterial", "verification_material");
  if (!isRecord(material)) return fail("the bundle has no verificationMaterial");
  const certs = bundleCertificates(material);
  if (!certs.ok) return certs;
  const [certificate, ...chain] = certs.value;

  const content = bundleContent(root);
  if (!content.ok) return content;

  const rawEntries = field(material, "tlogEntries", "tlog_entries") ?? [];
  if (!Array.isArray(rawEntries)) return fail("the bundle's tlogEntries is not a list");
  if (rawEntries.length > MAX_TLOG_ENTRIES) return fail(`the bundle lists ${rawEntries.length} transparency-log entries; at most ${MAX_TLOG_ENTRIES} are read`);
  const tlogEntries: TlogEntry[] = [];
  for (const [i, raw] of rawEntries.entries()) {
    const entry = bundleTlogEntry(raw, version);
    if (!entry.ok) return fail(`tlogEntries[${i}]: ${entry.why}`);
    tlogEntries.push(entry.value);
  }

  const tsData = field(material, "timestampVerificationData", "timestamp_verification_data") ?? {};
  if (!isRecord(tsData)) return fail("the bundle's timestampVerificationData is not an object");
  const rawTimestamps = field(tsData, "rfc3161Timestamps", "rfc3161_timestamps") ?? [];
  if (!Array.isArray(rawTimestamps)) return fail("the bundle's rfc3161Timestamps is not a list");
  if (rawTimestamps.length > MAX_RFC3161_TIMESTAMPS) return fail(`the bundle lists ${rawTimestamps.length} RFC 3161 timestamps; at most ${MAX_RFC3161_TIMESTAMPS} are read`);
  const rfc3161Timestamps: Uint8Array[] = [];
  for (const [i, raw] of rawTimestamps.entries()) {
    const der = isRecord(raw) ? protoBytes(field(raw, "signedTimestamp", "signed_timestamp")) : undefined;
    if (!der || der.length === 0) return fail(`rfc3161Timestamps[${i}] has no base64 signedTimestamp`);
    rfc3161Timestamps.push(der);
  }
  return ok({ version, certificate: certificate!, chain, content: content.value, tlogEntries, rfc3161Timestamps });
}

/**
 * The evidence of a keyless bundle. A DSSE envelope carries what it signs; a message signature
 * signs an artifact the bundle does not hold: `artifact`, whose digest the bundle must name.
 */
export async function bundleEvidence(bundle: KeylessBundle, source: string, artifact?: Uint8Array): Promise<Parsed<KeylessEvidence>> {
  let signed: SignedContent;
  const { content } = bundle;
  if (content.kind === "dsse") {
    signed = { kind: "dsse", payloadType: content.payloadType, payload: content.payload };
  } else {
    if (!artifact) return fail("the bundle holds a messageSignature (a signed blob), and no artifact was given to check it against");
    if (content.algorithm !== "SHA2_256") return fail(`the messageSignature digest algorithm ${content.algorithm} is not SHA2_256`);
    const actual = await sha256(artifact);
    if (!bytesEqual(actual, content.digest)) return fail("the messageSignature digest is not the artifact's sha256");
    signed = { kind: "message", payload: artifact };
  }
  return ok({
    source,
    certificate: bundle.certificate,
    chain: bundle.chain,
    signature: content.signature,
    signed,
    tlogEntries: bundle.tlogEntries,
    rfc3161Timestamps: bundle.rfc3161Timestamps,
  });
}

/** The certificates of verificationMaterial, leaf first: `certificate` (v0.3) or `x509CertificateChain`. */
function bundleCertificates(material: Record<string, unknown>): Parsed<Uint8Array[]> {
  const single = field(material, "certificate");
  const chain = field(material, "x509CertificateChain", "x509_certificate_chain");
  if (single !== undefined && chain !== undefined) return fail("the bundle has both a certificate and an x509CertificateChain");
  if (single !== undefined) {
    const der = isRecord(single) ? protoBytes(field(single, "rawBytes", "raw_bytes")) : undefined;
    if (!der || der.length === 0) return fail("the bundle's certificate has no base64 rawBytes");
    return ok([der]);
  }
  const list = isRecord(chain) ? field(chain, "certificates") : undefined;
  if (!Array.isArray(list) || list.length === 0) return fail("the bundle's x509CertificateChain has no certificates");
  if (list.length > MAX_KEYLESS_CERTIFICATES) return fail(`the bundle's x509CertificateChain lists ${list.length} certificates; at most ${MAX_KEYLESS_CERTIFICATES} are read`);
  const out: Uint8Array[] = [];
  for (const [i, raw] of list.entries()) {
    const der = isRecord(raw) ? protoBytes(field(raw, "rawBytes", "raw_bytes")) : undefined;
    if (!der || der.length === 0) return fail(`x509CertificateChain.certificates[${i}] has no base64 rawBytes`);
    out.push(der);
  }
  return ok(out);
}

function bundleContent(root: Record<string, unknown>): Parsed<KeylessBundle["content"]> {
  const envelope = field(root, "dsseEnvelope", "dsse_envelope");
  const message = field(root, "messageSignature", "message_signature");
  if (envelope !== undefined && message !== undefined) return fail("the bundle has both a dsseEnvelope and a messageSignature");
  if (isRecord(envelope)) {
    const payloadType = field(envelope, "payloadType", "payload_type");
    const payload = protoBytes(field(envelope, "payload"));
    const signatures = field(envelope, "signatures");
    if (typeof payloadType !== "string") return fail("the DSSE envelope has no payloadType");
    if (!payload) return fail("the DSSE payload is not base64");
    // One certificate, one signature (sigstore-go refuses envelopes with more).
    if (!Array.isArray(signatures) || signatures.length !== 1) {
      return fail(`the DSSE envelope has ${Array.isArray(signatures) ? signatures.length : "no"} signatures; a keyless bundle has exactly one`);
    }
    const sig = isRecord(signatures[0]) ? protoBytes(field(signatures[0], "sig")) : undefined;
    if (!sig || sig.length === 0) return fail("the DSSE signature is not base64");
    return ok({ kind: "dsse", payloadType, payload, signature: sig });
  }
  if (isRecord(message)) {
    const md = field(message, "messageDigest", "message_digest");
    const algorithm = isRecord(md) ? field(md, "algorithm") : undefined;
    const digest = isRecord(md) ? protoBytes(field(md, "digest")) : undefined;
    const signature = protoBytes(field(message, "signature"));
    if (typeof algorithm !== "string" || !digest || digest.length === 0) return fail("the messageSignature has no messageDigest");
    if (!signature || signature.length === 0) return fail("the messageSignature has no base64 signature");
    return ok({ kind: "message", algorithm, digest, signature });
  }
  return fail("the bundle has neither a dsseEnvelope nor a messageSignature");
}

function bundleTlogEntry(raw: unknown, version: BundleVersion): Parsed<TlogEntry> {
  if (!isRecord(raw)) return fail("not an object");
  const logIndex = protoUint(field(raw, "logIndex", "log_index"));
  const integratedTime = protoUint(field(raw, "integratedTime", "integrated_time"));
  if (logIndex === undefined) return fail("logIndex is not an unsigned integer");
  if (integratedTime === undefined) return fail("integratedTime is not an unsigned integer");
  const logIdObj = field(raw, "logId", "log_id");
  const logId = isRecord(logIdObj) ? protoBytes(field(logIdObj, "keyId", "key_id")) : undefined;
  if (!logId || logId.length === 0) return fail("no base64 logId.keyId");
  const body = protoBytes(field(raw, "canonicalizedBody", "canonicalized_body"));
  if (!body || body.length === 0) return fail("no base64 canonicalizedBody");
  const kv = field(raw, "kindVersion", "kind_version");
  const kind = isRecord(kv) && typeof kv.kind === "string" && kv.kind !== "" ? kv.kind : undefined;
  const kvVersion = isRecord(kv) && typeof kv.version === "string" && kv.version !== "" ? kv.version : undefined;

  const promise = field(raw, "inclusionPromise", "inclusion_promise");
  let signedEntryTimestamp: Uint8Array | undefined;
  if (promise !== undefined) {
    signedEntryTimestamp = isRecord(promise) ? protoBytes(field(promise, "signedEntryTimestamp", "signed_entry_timestamp")) : undefined;
    if (!signedEntryTimestamp || signedEntryTimestamp.length === 0) return fail("inclusionPromise has no base64 signedEntryTimestamp");
  }
  const rawProof = field(raw, "inclusionProof", "inclusion_proof");
  let inclusionProof: TlogEntry["inclusionProof"];
  if (rawProof !== undefined) {
    const proof = readProof(rawProof);
    if (!proof.ok) return fail(`inclusionProof: ${proof.why}`);
    inclusionProof = proof.value;
  }
  if (version === "0.1" && !signedEntryTimestamp) return fail("a v0.1 bundle's entry needs an inclusionPromise");
  if (version !== "0.1" && !inclusionProof) return fail(`a v${version} bundle's entry needs an inclusionProof`);
  return ok({
    logIndex,
    logId,
    integratedTime,
    ...(kind !== undefined ? { kind } : {}),
    ...(kvVersion !== undefined ? { version: kvVersion } : {}),
    canonicalizedBody: body,
    ...(signedEntryTimestamp ? { signedEntryTimestamp } : {}),
    ...(inclusionProof ? { inclusionProof } : {}),
  });
}

function readProof(raw: unknown): Parsed<NonNullable<TlogEntry["inclusionProof"]>> {
  if (!isRecord(raw)) return fail("not an object");
  const logIndex = protoUint(field(raw, "logIndex", "log_index"));
  const treeSize = protoUint(field(raw, "treeSize", "tree_size"));
  const rootHash = protoBytes(field(raw, "rootHash", "root_hash"));
  const rawHashes = field(raw, "hashes") ?? [];
  const checkpoint = field(raw, "checkpoint");
  const envelope = isRecord(checkpoint) ? field(checkpoint, "envelope") : undefined;
  if (logIndex === undefined || treeSize === undefined) return fail("logIndex or treeSize is not an unsigned integer");
  if (!rootHash || rootHash.length === 0) return fail("no base64 rootHash");
  if (!Array.isArray(rawHashes)) return fail("hashes is not a list");
  if (rawHashes.length > MAX_INCLUSION_PROOF_HASHES) return fail(`${rawHashes.length} hashes; a proof has at most ${MAX_INCLUSION_PROOF_HASHES}`);
  const hashes: Uint8Array[] = [];
  for (const h of rawHashes) {
    const bytes = protoBytes(h);
    if (!bytes || bytes.length === 0) return fail("a hash is not base64");
    hashes.push(bytes);
  }
  if (typeof envelope !== "string" || envelope === "") return fail("no checkpoint.envelope");
  return ok({ logIndex, rootHash, treeSize, hashes, checkpoint: envelope });
}

/** Every PEM block of an annotation, each a CERTIFICATE. */
function pemCertificates(text: string, annotation: string): Parsed<Uint8Array[]> {
  const blocks = parsePem(text);
  if (!blocks || blocks.length === 0) return fail(`the ${annotation} annotation is not PEM`);
  if (blocks.length > MAX_KEYLESS_CERTIFICATES) return fail(`the ${annotation} annotation holds ${blocks.length} certificates; at most ${MAX_KEYLESS_CERTIFICATES} are read`);
  const out: Uint8Array[] = [];
  for (const b of blocks) {
    if (b.type !== "CERTIFICATE") return fail(`the ${annotation} annotation holds a PEM ${b.type}, not a CERTIFICATE`);
    out.push(b.der);
  }
  return ok(out);
}

/** The entry's kind and apiVersion from its body, when it says (Rekor: {"kind", "apiVersion", "spec"}). */
function bodyKind(body: Uint8Array): { kind?: string; version?: string } {
  const parsed = parseJson(utf8DecodeStrict(body) ?? "");
  if (!isRecord(parsed)) return {};
  return {
    ...(typeof parsed.kind === "string" ? { kind: parsed.kind } : {}),
    ...(typeof parsed.apiVersion === "string" ? { version: parsed.apiVersion } : {}),
  };
}

/** encoding/json's lookup: keys match case-insensitively, the last match wins. */
function goField(obj: unknown, lower: string): unknown {
  if (!isRecord(obj)) return undefined;
  let found: unknown;
  for (const [key, value] of Object.entries(obj)) if (key.toLowerCase() === lower) found = value;
  return found;
}

function fromHex(hex: string): Uint8Array | undefined {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) return undefined;
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(2 * i, 2 * i + 2), 16);
  return out;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function ok<T>(value: T): Parsed<T> {
  return { ok: true, value };
}

function fail(why: string): { readonly ok: false; readonly why: string } {
  return { ok: false, why };
}
