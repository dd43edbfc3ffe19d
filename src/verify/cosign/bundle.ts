// cosign v3 signatures: a Sigstore bundle v0.3 holding a DSSE envelope over an in-toto statement, key-based only.
//
// cosign sign --new-bundle-format (the v3 default) signs the statement
// {"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"sha256":<hex>}}],
//  "predicateType":"https://sigstore.dev/cosign/sign/v1","predicate":{}} (cmd/cosign/cli/sign),
// wraps it in DSSE (payloadType application/vnd.in-toto+json; the signature is over
// PAE = "DSSEv1" SP len(type) SP type SP len(body) SP body), and writes the bundle with protojson
// (sigstore protobuf-specs: mediaType, verificationMaterial.publicKey.hint = base64(sha256(SPKI)),
// dsseEnvelope {payload, payloadType, signatures[{sig, keyid}]}). It is attached as an OCI referrer
// (pkg/oci/remote/write.go WriteAttestationNewBundleFormat, specs/BUNDLE_SPEC.md). protojson reads
// both lowerCamelCase and proto field names and base64 in either alphabet, padded or not.
// cosign accepts a statement when any subject's sha256 is the image's
// (IntotoSubjectClaimVerifier: "no matching subject digest found"). Bundles with a certificate
// (keyless, Fulcio; v0.1, v0.2 and v0.3) are read into `keyless` (keyless/evidence.ts) and
// verified by the keyless verifier; transparency-log entries of key-based bundles are not checked.
import type { ImageReference } from "../../reference";
import type { SignedIdentity } from "../shared/identity";
import { utf8DecodeStrict } from "../shared/encoding";
import { checkWithin } from "./budget";
import type { CheckedSignature, KeyedCheck, KeyResult } from "./checked";
import { unchecked, unreadable } from "./checked";
import { identityProblem } from "./identity";
import { parseDescriptor, type Descriptor } from "./legacy";
import { MAX_SIGNATURES_PER_BUNDLE } from "./limits";
import type { Parsed } from "./payload";
import { verifySignature, type SignatureCheck } from "./signature";
import { isRecord } from "../../stored";
import { BUNDLE_VERSIONS, readKeylessBundle, type KeylessBundle } from "./keyless/evidence";
import { field as get, protoBytes } from "./protojson";

export const BUNDLE_V03_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json";
/** Every bundle media type (and referrer artifact type) trustgate reads: v0.1, v0.2 and v0.3. */
export const BUNDLE_MEDIA_TYPES: readonly string[] = Object.keys(BUNDLE_VERSIONS);
export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";
export const IN_TOTO_STATEMENT_V1 = "https://in-toto.io/Statement/v1";
export const COSIGN_SIGN_PREDICATE_TYPE = "https://sigstore.dev/cosign/sign/v1";

export interface DsseSignature {
  readonly sig: Uint8Array;
  readonly keyid: string;
}

export interface SigstoreBundle {
  readonly mediaType: string;
  /** verificationMaterial.publicKey.hint, when the bundle is key-based. */
  readonly publicKeyHint: string | undefined;
  readonly payloadType: string;
  readonly payload: Uint8Array;
  /** The first MAX_SIGNATURES_PER_BUNDLE DSSE signatures. */
  readonly signatures: readonly DsseSignature[];
  /** How many signatures the envelope lists (cosign writes one). */
  readonly signatureCount: number;
  /**
   * A keyless bundle (a Fulcio certificate, not a key): everything that verifies it. The fields
   * above then mirror its DSSE envelope (empty for a messageSignature); checkBundle is not for it.
   */
  readonly keyless?: KeylessBundle;
}

/** A referrer manifest: which layer holds the bundle, and what it says it refers to. */
export interface ReferrerManifest {
  readonly artifactType: string | undefined;
  readonly subject: string | undefined;
  readonly layers: readonly Descriptor[];
}

export function parseReferrerManifest(bytes: Uint8Array): Parsed<ReferrerManifest> {
  const root = parseJson(bytes);
  if (!isRecord(root) || root.schemaVersion !== 2 || !Array.isArray(root.layers)) {
    return { ok: false, why: "the referrer is not an image manifest (schemaVersion 2 with layers)" };
  }
  const layers: Descriptor[] = [];
  for (const [i, raw] of root.layers.entries()) {
    const d = parseDescriptor(raw);
    if (typeof d === "string") return { ok: false, why: `referrer layer ${i}: ${d}` };
    layers.push(d);
  }
  const config = isRecord(root.config) ? root.config : {};
  // OCI 1.1: the manifest's artifactType, else its config's media type.
  const artifactType =
    typeof root.artifactType === "string" ? root.artifactType : typeof config.mediaType === "string" ? config.mediaType : undefined;
  const subject = isRecord(root.subject) && typeof root.subject.digest === "string" ? root.subject.digest : undefined;
  return { ok: true, value: { artifactType, subject, layers } };
}

export function parseBundle(bytes: Uint8Array): Parsed<SigstoreBundle> {
  const root = parseJson(bytes);
  if (!isRecord(root)) return { ok: false, why: "the bundle is not a JSON object" };
  const mediaType = get(root, "mediaType", "media_type");
  const version = typeof mediaType === "string" ? BUNDLE_VERSIONS[mediaType] : undefined;
  if (version === undefined || typeof mediaType !== "string") {
    return { ok: false, why: `bundle media type ${JSON.stringify(mediaType)} is not supported (only ${BUNDLE_MEDIA_TYPES.join(", ")})` };
  }
  const material = get(root, "verificationMaterial", "verification_material");
  if (!isRecord(material)) return { ok: false, why: "the bundle has no verificationMaterial" };
  const publicKey = get(material, "publicKey", "public_key");
  if (!isRecord(publicKey)) {
    const keyless = get(material, "certificate") !== undefined || get(material, "x509CertificateChain", "x509_certificate_chain") !== undefined;
    if (!keyless) return { ok: false, why: "the bundle's verificationMaterial has no publicKey" };
    const read = readKeylessBundle(root, version);
    if (!read.ok) return { ok: false, why: `keyless bundle: ${read.why}` };
    const content = read.value.content;
    return {
      ok: true,
      value: {
        mediaType,
        publicKeyHint: undefined,
        payloadType: content.kind === "dsse" ? content.payloadType : "",
        payload: content.kind === "dsse" ? content.payload : new Uint8Array(0),
        signatures: content.kind === "dsse" ? [{ sig: content.signature, keyid: "" }] : [],
        signatureCount: content.kind === "dsse" ? 1 : 0,
        keyless: read.value,
      },
    };
  }
  // Key-based bundles are read as cosign v3 writes them: v0.3 only.
  if (mediaType !== BUNDLE_V03_MEDIA_TYPE) {
    return { ok: false, why: `bundle media type ${JSON.stringify(mediaType)} is not supported for a key-based bundle (only ${BUNDLE_V03_MEDIA_TYPE})` };
  }
  const hint = get(publicKey, "hint");
  if (get(root, "messageSignature", "message_signature") !== undefined) {
    return { ok: false, why: "the bundle holds a messageSignature (a signed blob), not the DSSE envelope cosign signs images with" };
  }
  const envelope = get(root, "dsseEnvelope", "dsse_envelope");
  if (!isRecord(envelope)) return { ok: false, why: "the bundle has no dsseEnvelope" };
  const payloadType = get(envelope, "payloadType", "payload_type");
  const payload = protoBytes(get(envelope, "payload"));
  const rawSignatures = get(envelope, "signatures");
  if (typeof payloadType !== "string") return { ok: false, why: "the DSSE envelope has no payloadType" };
  if (!payload) return { ok: false, why: "the DSSE payload is not base64" };
  if (!Array.isArray(rawSignatures) || rawSignatures.length === 0) return { ok: false, why: "the DSSE envelope has no signatures" };
  const signatures: DsseSignature[] = [];
  // Only the first few are read: an envelope may list thousands, each to be tried against a key.
  for (const raw of rawSignatures.slice(0, MAX_SIGNATURES_PER_BUNDLE)) {
    const sig = isRecord(raw) ? protoBytes(get(raw, "sig")) : undefined;
    if (!sig || sig.length === 0) return { ok: false, why: "a DSSE signature is not base64" };
    const keyid = isRecord(raw) ? get(raw, "keyid") : undefined;
    signatures.push({ sig, keyid: typeof keyid === "string" ? keyid : "" });
  }
  return {
    ok: true,
    value: {
      mediaType,
      publicKeyHint: typeof hint === "string" && hint !== "" ? hint : undefined,
      payloadType,
      payload,
      signatures,
      signatureCount: rawSignatures.length,
    },
  };
}

/** DSSE v1 pre-authentication encoding: what a DSSE signature signs. */
export function pae(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = new TextEncoder().encode(payloadType);
  const head = new TextEncoder().encode(`DSSEv1 ${type.length} `);
  const middle = new TextEncoder().encode(` ${payload.length} `);
  const out = new Uint8Array(head.length + type.length + middle.length + payload.length);
  out.set(head, 0);
  out.set(type, head.length);
  out.set(middle, head.length + type.length);
  out.set(payload, head.length + type.length + middle.length);
  return out;
}

export interface Statement {
  readonly type: string;
  readonly predicateType: string;
  readonly subjects: readonly { readonly name?: string; readonly digest: Readonly<Record<string, string>> }[];
}

export function parseStatement(bytes: Uint8Array): Parsed<Statement> {
  const text = utf8DecodeStrict(bytes);
  const root = text === undefined ? undefined : parseJsonText(text);
  if (!isRecord(root)) return { ok: false, why: "the DSSE payload is not a JSON in-toto statement" };
  const subjects: { name?: string; digest: Record<string, string> }[] = [];
  if (Array.isArray(root.subject)) {
    for (const s of root.subject) {
      if (!isRecord(s) || !isRecord(s.digest)) continue;
      const digest: Record<string, string> = {};
      for (const [alg, value] of Object.entries(s.digest)) if (typeof value === "string") digest[alg] = value;
      subjects.push({ ...(typeof s.name === "string" && s.name !== "" ? { name: s.name } : {}), digest });
    }
  }
  return {
    ok: true,
    value: {
      type: typeof root._type === "string" ? root._type : "",
      predicateType: typeof root.predicateType === "string" ? root.predicateType : "",
      subjects,
    },
  };
}

export interface BundleCheck extends KeyedCheck {
  /** Where the bundle came from, e.g. the referrer manifest's digest. */
  readonly source: string;
  readonly bundle: SigstoreBundle;
}

/**
 * Checks a bundle's DSSE signatures, then the statement it signs. A bundle that names its key
 * (verificationMaterial.publicKey.hint) is tried only against the policy keys with that hint;
 * a key listed twice under two names is tried once.
 */
export async function checkBundle(check: BundleCheck): Promise<CheckedSignature> {
  const { bundle, source } = check;
  if (bundle.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    return unreadable(source, "BUNDLE_UNREADABLE", `the DSSE payloadType is ${JSON.stringify(bundle.payloadType)}, not ${IN_TOTO_PAYLOAD_TYPE}`);
  }
  const message = pae(bundle.payloadType, bundle.payload);
  let claim: string | null | undefined; // undefined: not read yet; null: accepted
  const keys: Record<string, KeyResult> = {};
  const byKey = new Map<string, KeyResult>();
  const hint = bundle.publicKeyHint === undefined ? undefined : normalHint(bundle.publicKeyHint);
  for (const key of check.keys) {
    const known = byKey.get(key.hint);
    if (known) {
      keys[key.name] = known;
      continue;
    }
    if (hint !== undefined && normalHint(key.hint) !== hint) {
      keys[key.name] = { ok: false, why: `the bundle names another key (hint ${bundle.publicKeyHint})` };
      continue;
    }
    let result: KeyResult = { ok: false, why: "no DSSE signature" };
    for (const { sig } of bundle.signatures) {
      const verified: SignatureCheck | undefined = await checkWithin(check.budget, () => {
        check.onVerify?.(key);
        return verifySignature(key, sig, message, check.budget?.allowPrehash);
      });
      if (!verified) {
        // Go on: the budget counts each check it refused, for the note.
        result = unchecked(check.budget!.limit);
        continue;
      }
      result = verified;
      if (verified.ok) break;
    }
    if (result.ok) {
      if (claim === undefined) claim = statementProblem(check) ?? null;
      if (claim !== null) result = { ok: false, why: claim, signed: true };
    }
    keys[key.name] = result;
    byKey.set(key.hint, result);
  }
  return { source, keys };
}

function statementProblem(check: BundleCheck): string | undefined {
  return statementClaimProblem(check.bundle.payload, check.digest, check.image, check.signedIdentity);
}

/** Why a cosign-sign in-toto statement does not claim `digest` (and, with signedIdentity, the image), or undefined. */
export function statementClaimProblem(
  payload: Uint8Array,
  digest: string,
  image: ImageReference,
  signedIdentity: SignedIdentity | undefined,
): string | undefined {
  const check = { digest, image, signedIdentity };
  const parsed = parseStatement(payload);
  if (!parsed.ok) return parsed.why;
  const { predicateType, subjects } = parsed.value;
  if (predicateType !== COSIGN_SIGN_PREDICATE_TYPE) {
    return `the statement's predicateType is ${JSON.stringify(predicateType)}: an attestation, not a cosign signature (${COSIGN_SIGN_PREDICATE_TYPE})`;
  }
  const [alg, hex] = check.digest.split(":") as [string, string];
  const subject = subjects.find((s) => s.digest[alg] === hex);
  if (!subject) {
    const named = subjects.flatMap((s) => Object.entries(s.digest).map(([a, h]) => `${a}:${h}`));
    return `no matching subject digest found (the statement names ${named.join(", ") || "no digest"})`;
  }
  if (check.signedIdentity) {
    if (subject.name === undefined) {
      return `a cosign bundle names no docker reference (its subject has no name), so signedIdentity ${check.signedIdentity.type} cannot accept it`;
    }
    return identityProblem(check.signedIdentity, check.image, subject.name);
  }
  return undefined;
}

/** A hint as sigstore writes it, base64 in either alphabet with or without padding, in one spelling. */
function normalHint(hint: string): string {
  return hint.replace(/-/g, "+").replace(/_/g, "/").replace(/=+$/, "");
}

function parseJson(bytes: Uint8Array): unknown {
  const text = utf8DecodeStrict(bytes);
  return text === undefined ? undefined : parseJsonText(text);
}

function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
