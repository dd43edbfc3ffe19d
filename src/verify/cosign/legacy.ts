// Legacy cosign signatures: the `sha256-<hex>.sig` manifest, one layer per signature, checked per key.
//
// Layout (sigstore/cosign pkg/oci/static/signature.go, specs/SIGNATURE_SPEC.md): each layer's blob
// is the payload; its annotation `dev.cosignproject.cosign/signature` is base64 of the signature
// over those exact bytes. cosign tries every layer whatever its media type (ociremote.Signatures →
// sigs.Get), so this does too; the payload's parse and type decide. Order per signature, as cosign
// (pkg/cosign/verify.go VerifyImageSignature): the blob against its descriptor (digest and size,
// as go-containerregistry's verifying reader), the signature, then the claims.
import { sha256Hex } from "../../encoding";
import { base64Decode } from "../shared/encoding";
import { checkWithin } from "./budget";
import type { CheckedSignature, KeyedCheck, KeyResult } from "./checked";
import { unchecked, unreadable } from "./checked";
import { identityProblem } from "./identity";
import { claimProblem, parseSimpleSigningPayload, type Parsed, type SimpleSigningPayload } from "./payload";
import { verifySignature } from "./signature";
import { isRecord } from "../../stored";

export const SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature";

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly artifactType?: string;
  readonly annotations: Readonly<Record<string, string>>;
}

export interface SignatureLayer extends Descriptor {
  readonly index: number;
}

/** The tag cosign stores signatures of `digest` under: sha256:<hex> → sha256-<hex>.sig. */
export function signatureTag(digest: string): string {
  return `${digest.replace(":", "-")}.sig`;
}

export interface SignatureLayers {
  /** The first `limit` layers, parsed. */
  readonly layers: readonly SignatureLayer[];
  /** How many layers the manifest lists. */
  readonly total: number;
}

/**
 * The layers of a signature manifest (OCI or Docker image manifest): the last (newest) `limit`
 * parsed, the rest only counted (a registry may list thousands). `cosign sign` appends a layer, so
 * after key rotation and re-signing the newest layers are the ones that hold current keys.
 */
export function parseSignatureManifest(bytes: Uint8Array, limit = Infinity): Parsed<SignatureLayers> {
  let manifest: unknown;
  try {
    manifest = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return { ok: false, why: "the signature manifest is not JSON" };
  }
  if (!isRecord(manifest) || manifest.schemaVersion !== 2 || !Array.isArray(manifest.layers)) {
    return { ok: false, why: "the signature manifest is not an image manifest (schemaVersion 2 with layers)" };
  }
  const layers: SignatureLayer[] = [];
  const first = Math.max(0, manifest.layers.length - limit);
  for (const [offset, raw] of manifest.layers.slice(first).entries()) {
    const index = first + offset;
    const descriptor = parseDescriptor(raw);
    if (typeof descriptor === "string") return { ok: false, why: `signature manifest layer ${index}: ${descriptor}` };
    layers.push({ ...descriptor, index });
  }
  return { ok: true, value: { layers, total: manifest.layers.length } };
}

/** An OCI descriptor with a sha256 digest; a string says what is wrong with it. */
export function parseDescriptor(raw: unknown): Descriptor | string {
  if (!isRecord(raw)) return "not a descriptor";
  const { mediaType, digest, size, artifactType, annotations } = raw;
  if (typeof mediaType !== "string") return "no mediaType";
  if (typeof digest !== "string" || !DIGEST_RE.test(digest)) return `digest ${JSON.stringify(digest)} is not sha256:<64 hex>`;
  if (typeof size !== "number" || !Number.isSafeInteger(size) || size < 0) return "no valid size";
  if (artifactType !== undefined && typeof artifactType !== "string") return "artifactType is not a string";
  if (annotations !== undefined && annotations !== null) {
    if (!isRecord(annotations) || Object.values(annotations).some((v) => typeof v !== "string")) return "annotations are not strings";
  }
  return {
    mediaType,
    digest,
    size,
    ...(artifactType !== undefined ? { artifactType } : {}),
    annotations: (annotations ?? {}) as Record<string, string>,
  };
}

export interface LegacyCheck extends KeyedCheck {
  readonly layer: SignatureLayer;
  /** The blob as the registry served it for layer.digest. */
  readonly payload: Uint8Array;
}

/** Why a layer's blob is not the one its descriptor names (digest, then size), or undefined. */
export async function payloadMismatch(layer: Descriptor, payload: Uint8Array): Promise<string | undefined> {
  const actual = `sha256:${await sha256Hex(payload)}`;
  if (actual !== layer.digest) return `the payload blob hashes to ${actual}, not ${layer.digest} as its descriptor says`;
  if (payload.length !== layer.size) return `the payload blob has ${payload.length} bytes, its descriptor says ${layer.size}`;
  return undefined;
}

/** Checks one legacy signature against every key (a key listed twice under two names, once). */
export async function checkLegacySignature(check: LegacyCheck): Promise<CheckedSignature> {
  const { layer, payload } = check;
  const source = `${signatureTag(check.digest)} layer ${layer.index}`;
  const mismatch = await payloadMismatch(layer, payload);
  if (mismatch) return unreadable(source, "PAYLOAD_MISMATCH", mismatch);
  const b64 = layer.annotations[SIGNATURE_ANNOTATION];
  if (b64 === undefined) return unreadable(source, "SIGNATURE_UNREADABLE", `the layer has no ${SIGNATURE_ANNOTATION} annotation`);
  const signature = base64Decode(b64);
  if (!signature) return unreadable(source, "SIGNATURE_UNREADABLE", `the ${SIGNATURE_ANNOTATION} annotation is not base64`);

  let parsed: Parsed<SimpleSigningPayload> | undefined;
  const keys: Record<string, KeyResult> = {};
  const byKey = new Map<string, KeyResult>();
  for (const key of check.keys) {
    const known = byKey.get(key.hint);
    if (known) {
      keys[key.name] = known;
      continue;
    }
    const result = await checkWithin(check.budget, () => {
      check.onVerify?.(key);
      return verifySignature(key, signature, payload, check.budget?.allowPrehash);
    });
    if (!result) {
      keys[key.name] = unchecked(check.budget!.limit);
      continue;
    }
    if (!result.ok) {
      keys[key.name] = result;
      byKey.set(key.hint, result);
      continue;
    }
    // The cryptography holds; only now is the payload worth reading.
    parsed ??= parseSimpleSigningPayload(payload);
    const problem = !parsed.ok
      ? parsed.why
      : (claimProblem(parsed.value, check.digest) ??
        (check.signedIdentity ? identityProblem(check.signedIdentity, check.image, parsed.value.dockerReference) : undefined));
    keys[key.name] = problem === undefined ? result : { ok: false, why: problem, signed: true };
    byKey.set(key.hint, keys[key.name]!);
  }
  return { source, keys };
}
