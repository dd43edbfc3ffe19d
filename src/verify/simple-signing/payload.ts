// The signed payload of containers-signature(5), read as strictly as containers/image's signature/simple.go
// (ParanoidUnmarshalJSONObjectExactFields): exact field sets, no duplicates, Go's decoding of each field.
import { SimpleSigningError } from "./errors";
import { JsonSyntaxError, kindName, parseJson, type JsonValue } from "./json";

export const SIGNATURE_TYPE = "atomic container signature";

/** What a payload claims; nothing here is trustworthy until the rules accept it. */
export interface UntrustedSignature {
  readonly dockerManifestDigest: string;
  readonly dockerReference: string;
  readonly creator?: string;
  readonly timestamp?: number;
}

// go-digest's registered algorithms (containers/image links sha256, sha384 and sha512) and their hex lengths.
const DIGEST_SIZES: Readonly<Record<string, number>> = { sha256: 64, sha384: 96, sha512: 128 };
const DIGEST_RE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

const invalid = (message: string): never => {
  throw new SimpleSigningError("INVALID_PAYLOAD", message);
};

// fatal: false, as Go's decoder replaces invalid UTF-8 in strings; ignoreBOM keeps a BOM so it is refused.
const decoder = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/** Parses the payload bytes; throws SimpleSigningError("INVALID_PAYLOAD") with Go's words for each problem. */
export function parseSignaturePayload(bytes: Uint8Array): UntrustedSignature {
  let doc: JsonValue;
  try {
    // json.Unmarshal checks the whole document before decoding any of it.
    doc = parseJson(decoder.decode(bytes));
  } catch (err) {
    if (err instanceof JsonSyntaxError) return invalid(err.message);
    throw err;
  }

  const top = exactFields(doc, ["critical", "optional"]);
  const critical = top.get("critical")!;
  const optional = top.get("optional")!;

  let creator: string | undefined;
  let timestamp: number | undefined;
  for (const [key, value] of objectEntries(optional)) {
    if (key === "creator") creator = goString(value);
    else if (key === "timestamp") timestamp = goFloat(value);
    // Other keys are decoded into `any` and ignored.
  }
  if (timestamp !== undefined) {
    // Go converts to int64 and compares back; fractions (and values beyond int64) fail.
    if (!Number.isInteger(timestamp) || Math.abs(timestamp) >= 2 ** 63) invalid("Field optional.timestamp is not an integer");
  }

  const fields = exactFields(critical, ["type", "image", "identity"]);
  const type = goString(fields.get("type")!);
  if (type !== SIGNATURE_TYPE) invalid(`Unrecognized signature type ${type}`);

  const digest = goString(exactFields(fields.get("image")!, ["docker-manifest-digest"]).get("docker-manifest-digest")!);
  const digestProblem = validateDigest(digest);
  if (digestProblem) invalid(`invalid docker-manifest-digest value ${JSON.stringify(digest)}: ${digestProblem}`);

  const reference = goString(exactFields(fields.get("identity")!, ["docker-reference"]).get("docker-reference")!);
  return {
    dockerManifestDigest: digest,
    dockerReference: reference,
    ...(creator !== undefined ? { creator } : {}),
    ...(timestamp !== undefined ? { timestamp } : {}),
  };
}

/** ParanoidUnmarshalJSONObject: an object whose keys appear once each, in document order. */
function objectEntries(v: JsonValue): readonly (readonly [string, JsonValue])[] {
  if (v.kind !== "object") {
    return invalid(`JSON object expected, got ${kindName(v)}`);
  }
  const seen = new Set<string>();
  for (const [key] of v.entries) {
    if (seen.has(key)) invalid(`Duplicate key ${JSON.stringify(key)}`);
    seen.add(key);
  }
  return v.entries;
}

/** ParanoidUnmarshalJSONObjectExactFields: exactly these keys, each once, nothing else. */
function exactFields(v: JsonValue, names: readonly string[]): Map<string, JsonValue> {
  if (v.kind !== "object") objectEntries(v);
  const out = new Map<string, JsonValue>();
  const seen = new Set<string>();
  for (const [key, value] of v.kind === "object" ? v.entries : []) {
    if (seen.has(key)) invalid(`Duplicate key ${JSON.stringify(key)}`);
    seen.add(key);
    if (!names.includes(key)) invalid(`Unknown key ${JSON.stringify(key)}`);
    out.set(key, value);
  }
  for (const name of names) if (!out.has(name)) invalid(`Key ${JSON.stringify(name)} missing in a JSON object`);
  return out;
}

/** Decoding into a Go string: a JSON string, or null (which leaves the empty string). */
function goString(v: JsonValue): string {
  if (v.kind === "string") return v.value;
  if (v.kind === "null") return "";
  return invalid(`json: cannot unmarshal ${kindName(v)} into Go value of type string`);
}

/** Decoding into a Go float64: a finite JSON number, or null (zero). */
function goFloat(v: JsonValue): number {
  if (v.kind === "null") return 0;
  if (v.kind !== "number") return invalid(`json: cannot unmarshal ${kindName(v)} into Go value of type float64`);
  if (!Number.isFinite(v.value)) invalid(`json: cannot unmarshal number ${v.text} into Go value of type float64`);
  return v.value;
}

/** go-digest's Digest.Validate, with its error words. */
export function validateDigest(s: string): string | undefined {
  const colon = s.indexOf(":");
  if (colon <= 0 || colon + 1 === s.length) return "invalid checksum digest format";
  const algorithm = s.slice(0, colon);
  const encoded = s.slice(colon + 1);
  const size = DIGEST_SIZES[algorithm];
  if (size === undefined) return DIGEST_RE.test(s) ? "unsupported digest algorithm" : "invalid checksum digest format";
  if (encoded.length !== size) return "invalid checksum digest length";
  return /^[a-f0-9]+$/.test(encoded) ? undefined : "invalid checksum digest format";
}
