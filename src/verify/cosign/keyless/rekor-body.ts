// Whether a Rekor entry's body records this signature, this certificate and this content, as
// sigstore-go compares them for Rekor v1 entries (verify/tlog.go, tlog/entry.go):
// - hashedrekord 0.0.1 (message signatures): spec.signature.content = the signature,
//   spec.signature.publicKey.content = base64(PEM) of the signing certificate,
//   spec.data.hash = {algorithm, hex digest of the payload}.
// - dsse 0.0.1 (DSSE): spec.payloadHash = sha256 of the payload, and a spec.signatures item with
//   signature = base64(signature) and verifier = base64(PEM certificate).
// - intoto 0.0.2 (DSSE): spec.content.payloadHash as above, and an envelope signature with
//   sig = base64(base64(signature)) and publicKey = base64(PEM certificate).
import { base64Decode, bytesEqual, parsePem, toHex, utf8DecodeStrict } from "../../shared/encoding";
import { isRecord } from "../../../stored";
import { MAX_ENTRY_BODY_BYTES } from "./limits";
import type { SignedContent, TlogEntry } from "./types";

export type BodyCheck = { readonly ok: true } | { readonly ok: false; readonly malformed: boolean; readonly why: string };

const HASHES: Record<string, string> = { sha256: "SHA-256", sha384: "SHA-384", sha512: "SHA-512" };

async function digest(name: string, bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest(name, bytes as Uint8Array<ArrayBuffer>));
}

class BodyError extends Error {}

export async function matchEntryBody(entry: TlogEntry, signature: Uint8Array, certificate: Uint8Array, signed: SignedContent): Promise<BodyCheck> {
  if (entry.canonicalizedBody.length > MAX_ENTRY_BODY_BYTES) return { ok: false, malformed: true, why: `the log entry's body is over ${MAX_ENTRY_BODY_BYTES} bytes` };
  const text = utf8DecodeStrict(entry.canonicalizedBody);
  let body: unknown;
  try {
    body = text === undefined ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (!isRecord(body)) return { ok: false, malformed: true, why: "the log entry's body is not a JSON object" };
  const kind = body.kind;
  const version = body.apiVersion;
  if ((entry.kind !== undefined && entry.kind !== kind) || (entry.version !== undefined && entry.version !== version)) {
    return { ok: false, malformed: true, why: `the log entry says it is ${entry.kind} ${entry.version}, its body is ${String(kind)} ${String(version)}` };
  }
  try {
    const spec = rec(body.spec, "spec");
    const mismatch =
      kind === "hashedrekord" && version === "0.0.1"
        ? await hashedRekord(spec, signature, certificate, signed)
        : kind === "dsse" && version === "0.0.1"
          ? await dsse(spec, signature, certificate, signed)
          : kind === "intoto" && version === "0.0.2"
            ? await intoto(spec, signature, certificate, signed)
            : `a ${String(kind)} ${String(version)} entry cannot record this signature (hashedrekord 0.0.1, dsse 0.0.1 and intoto 0.0.2 are read)`;
    return mismatch === undefined ? { ok: true } : { ok: false, malformed: false, why: mismatch };
  } catch (err) {
    if (err instanceof BodyError) return { ok: false, malformed: true, why: `the log entry's ${String(kind)} body is malformed: ${err.message}` };
    throw err;
  }
}

async function hashedRekord(spec: Record<string, unknown>, signature: Uint8Array, certificate: Uint8Array, signed: SignedContent): Promise<string | undefined> {
  if (signed.kind !== "message") return "the log entry is a hashedrekord, but the signature is a DSSE envelope's";
  const sig = rec(spec.signature, "spec.signature");
  const hash = rec(rec(spec.data, "spec.data").hash, "spec.data.hash");
  const algorithm = str(hash.algorithm, "spec.data.hash.algorithm");
  const name = HASHES[algorithm];
  if (!name) throw new BodyError(`unknown hash algorithm ${JSON.stringify(algorithm)}`);
  const wanted = toHex(await digest(name, signed.payload));
  const recorded = str(hash.value, "spec.data.hash.value").toLowerCase();
  if (recorded !== wanted) return `the log entry records ${algorithm} ${recorded}, not this payload's ${wanted}`;
  if (!bytesEqual(b64(sig.content, "spec.signature.content"), signature)) return "the log entry records another signature";
  return certificateProblem(b64(rec(sig.publicKey, "spec.signature.publicKey").content, "spec.signature.publicKey.content"), certificate);
}

async function dsse(spec: Record<string, unknown>, signature: Uint8Array, certificate: Uint8Array, signed: SignedContent): Promise<string | undefined> {
  if (signed.kind !== "dsse") return "the log entry is a dsse entry, but the signature is a message signature";
  const problem = await payloadHashProblem(spec.payloadHash, "spec.payloadHash", signed.payload);
  if (problem) return problem;
  const signatures = arr(spec.signatures, "spec.signatures");
  let certProblem: string | undefined = "the log entry records another signature";
  for (const [i, s] of signatures.entries()) {
    const item = rec(s, `spec.signatures[${i}]`);
    const sigBytes = base64Decode(str(item.signature, `spec.signatures[${i}].signature`));
    if (!sigBytes) throw new BodyError(`spec.signatures[${i}].signature is not base64`);
    if (!bytesEqual(sigBytes, signature)) continue;
    certProblem = certificateProblem(b64(item.verifier, `spec.signatures[${i}].verifier`), certificate);
    if (certProblem === undefined) return undefined;
  }
  return certProblem;
}

async function intoto(spec: Record<string, unknown>, signature: Uint8Array, certificate: Uint8Array, signed: SignedContent): Promise<string | undefined> {
  if (signed.kind !== "dsse") return "the log entry is an intoto entry, but the signature is a message signature";
  const content = rec(spec.content, "spec.content");
  const problem = await payloadHashProblem(content.payloadHash, "spec.content.payloadHash", signed.payload);
  if (problem) return problem;
  const envelope = rec(content.envelope, "spec.content.envelope");
  if (envelope.payloadType !== undefined && envelope.payloadType !== signed.payloadType) {
    return `the log entry records payload type ${JSON.stringify(envelope.payloadType)}, not ${JSON.stringify(signed.payloadType)}`;
  }
  const signatures = arr(envelope.signatures, "spec.content.envelope.signatures");
  let certProblem: string | undefined = "the log entry records another signature";
  for (const [i, s] of signatures.entries()) {
    const item = rec(s, `spec.content.envelope.signatures[${i}]`);
    const inner = utf8DecodeStrict(b64(item.sig, `spec.content.envelope.signatures[${i}].sig`));
    const sigBytes = inner === undefined ? undefined : base64Decode(inner);
    if (!sigBytes) throw new BodyError(`spec.content.envelope.signatures[${i}].sig is not base64 of base64`);
    if (!bytesEqual(sigBytes, signature)) continue;
    certProblem = certificateProblem(b64(item.publicKey, `spec.content.envelope.signatures[${i}].publicKey`), certificate);
    if (certProblem === undefined) return undefined;
  }
  return certProblem;
}

async function payloadHashProblem(value: unknown, where: string, payload: Uint8Array): Promise<string | undefined> {
  const hash = rec(value, where);
  if (hash.algorithm !== "sha256") throw new BodyError(`${where}.algorithm is not sha256`);
  const recorded = str(hash.value, `${where}.value`).toLowerCase();
  const wanted = toHex(await digest("SHA-256", payload));
  return recorded === wanted ? undefined : `the log entry records payload sha256 ${recorded}, not this payload's ${wanted}`;
}

/** Why a recorded PEM is not the signing certificate, or undefined when it is. */
function certificateProblem(pem: Uint8Array, certificate: Uint8Array): string | undefined {
  const text = utf8DecodeStrict(pem);
  const block = text === undefined ? undefined : parsePem(text)?.[0];
  if (!block) throw new BodyError("the recorded key is not PEM");
  if (block.type !== "CERTIFICATE") return `the log entry records a ${block.type}, not the signing certificate`;
  return bytesEqual(block.der, certificate) ? undefined : "the log entry records another certificate";
}

function rec(value: unknown, where: string): Record<string, unknown> {
  if (!isRecord(value)) throw new BodyError(`${where} is not an object`);
  return value;
}

function arr(value: unknown, where: string): unknown[] {
  if (!Array.isArray(value) || value.length === 0) throw new BodyError(`${where} is not a non-empty list`);
  if (value.length > 16) throw new BodyError(`${where} has over 16 items`);
  return value;
}

function str(value: unknown, where: string): string {
  if (typeof value !== "string") throw new BodyError(`${where} is not a string`);
  return value;
}

function b64(value: unknown, where: string): Uint8Array {
  const bytes = base64Decode(str(value, where));
  if (!bytes) throw new BodyError(`${where} is not base64`);
  return bytes;
}
