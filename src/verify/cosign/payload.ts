// The payload a legacy cosign signature signs: simple signing JSON, read the way cosign's Go code reads it.
//
// sigstore pkg/signature/payload: {"critical":{"identity":{"docker-reference":R},"image":
// {"docker-manifest-digest":D},"type":"cosign container image signature"},"optional":null|{…}}.
// cosign unmarshals it with encoding/json into that struct, so: object keys match case-insensitively
// (the spec's own example writes "Docker-manifest-digest"), the last of several matching keys wins,
// unknown keys are ignored, null reads as the zero value, a value of the wrong JSON type is an error.
// cosign's SimpleClaimVerifier then compares only the digest ("invalid or missing digest in claim");
// trustgate also requires the cosign type, which every cosign-made payload carries.
import { utf8DecodeStrict } from "../shared/encoding";
import { isRecord } from "../../stored";

export const SIMPLE_SIGNING_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json";
export const COSIGN_SIGNATURE_TYPE = "cosign container image signature";

export interface SimpleSigningPayload {
  readonly type: string;
  readonly dockerManifestDigest: string;
  /** critical.identity.docker-reference: the repository cosign signed for (no tag); "" when absent. */
  readonly dockerReference: string;
  readonly optional: Readonly<Record<string, unknown>> | null;
}

export type Parsed<T> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly why: string };

export function parseSimpleSigningPayload(bytes: Uint8Array): Parsed<SimpleSigningPayload> {
  const text = utf8DecodeStrict(bytes);
  if (text === undefined) return { ok: false, why: "the payload is not UTF-8" };
  let root: unknown;
  try {
    root = JSON.parse(text);
  } catch {
    return { ok: false, why: "the payload is not JSON" };
  }
  try {
    const top = object(root, "payload");
    const critical = object(field(top, "critical"), "critical");
    const identity = object(field(critical, "identity"), "critical.identity");
    const image = object(field(critical, "image"), "critical.image");
    const optional = field(top, "optional");
    if (optional !== undefined && optional !== null && !isRecord(optional)) throw new Error("optional is not an object");
    return {
      ok: true,
      value: {
        type: string(field(critical, "type"), "critical.type"),
        dockerManifestDigest: string(field(image, "docker-manifest-digest"), "critical.image.docker-manifest-digest"),
        dockerReference: string(field(identity, "docker-reference"), "critical.identity.docker-reference"),
        optional: isRecord(optional) ? optional : null,
      },
    };
  } catch (err) {
    return { ok: false, why: `the payload does not parse as cosign's: ${(err as Error).message}` };
  }
}

/** cosign's claim check plus the payload type: why the payload does not claim `digest`, or undefined. */
export function claimProblem(payload: SimpleSigningPayload, digest: string): string | undefined {
  if (payload.type !== COSIGN_SIGNATURE_TYPE) return `the payload's type is ${JSON.stringify(payload.type)}, not "${COSIGN_SIGNATURE_TYPE}"`;
  // pkg/cosign/verifiers.go SimpleClaimVerifier, word for word.
  if (payload.dockerManifestDigest !== digest) return `invalid or missing digest in claim: ${payload.dockerManifestDigest}`;
  return undefined;
}

/** encoding/json's field lookup: case-insensitive, the last matching key wins. */
function field(obj: Record<string, unknown>, name: string): unknown {
  let found: unknown;
  for (const [key, value] of Object.entries(obj)) if (key.toLowerCase() === name) found = value;
  return found;
}

function object(value: unknown, where: string): Record<string, unknown> {
  if (value === undefined || value === null) return {};
  if (!isRecord(value)) throw new Error(`${where} is not an object`);
  return value;
}

function string(value: unknown, where: string): string {
  if (value === undefined || value === null) return "";
  if (typeof value !== "string") throw new Error(`${where} is not a string`);
  return value;
}
