// Reading Sigstore's protobuf-JSON (protojson) documents: bundles and their parts.
//
// protojson accepts a field under its lowerCamelCase JSON name or its proto name, bytes as base64
// in either alphabet with or without padding, and 64-bit integers as strings or numbers; an absent
// scalar is its zero value.
import { base64Decode } from "../shared/encoding";

/** The first of `names` the object holds. */
export function field(obj: Record<string, unknown>, ...names: string[]): unknown {
  for (const name of names) if (obj[name] !== undefined) return obj[name];
  return undefined;
}

/**
 * protojson bytes: standard or URL-safe base64 (not both alphabets in one value), padding optional
 * but, when given, complete. Decoded by the strict shared decoder.
 */
export function protoBytes(value: unknown): Uint8Array | undefined {
  if (typeof value !== "string") return undefined;
  if (/[-_]/.test(value) && /[+/]/.test(value)) return undefined;
  let text = value.replace(/-/g, "+").replace(/_/g, "/");
  if (text.endsWith("=")) {
    if (text.length % 4 !== 0) return undefined;
  } else {
    if (text.length % 4 === 1) return undefined;
    text += "=".repeat((4 - (text.length % 4)) % 4);
  }
  return base64Decode(text);
}

/** protojson int64/uint64 as a non-negative safe integer: a decimal string or a number; absent is 0. */
export function protoUint(value: unknown): number | undefined {
  if (value === undefined || value === null) return 0;
  if (typeof value === "number") return Number.isSafeInteger(value) && value >= 0 ? value : undefined;
  if (typeof value !== "string" || !/^(0|[1-9][0-9]{0,15})$/.test(value)) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}
