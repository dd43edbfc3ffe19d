// Canonical JSON exactly as docker/go canonical/json MarshalCanonical writes it: the bytes Notary v1 signs.
// TUF 1.0 metadata (securesystemslib's encode_canonical, go-securesystemslib cjson, which sign
// Sigstore's repository) follows the same rules for the integers, strings and objects it holds, so
// verify/tuf reads these bytes too.
//
// Rules (docker/go canonical/json encode.go, canonical mode):
// - no whitespace; object keys sorted by their UTF-8 bytes (Go string order, not UTF-16 order);
// - in strings only `"` and `\` are escaped; control characters, `<>&`, U+2028/9 and all
//   non-ASCII are written raw;
// - numbers must be integers. Notary's verifier decodes `signed` into interface{} (float64) and
//   writes floats as int64 decimals, so a number is the decimal of the double JSON.parse gives:
//   digits beyond 2^53 were already rounded on both sides, and we match notary bit for bit up to
//   |n| < 2^63. Beyond that Go's int64 conversion overflows; we refuse instead of emulating it.

import { utf8 } from "./encoding";

export class CanonicalJsonError extends Error {
  override readonly name = "CanonicalJsonError";
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const INT64_LIMIT = 2 ** 63;

/** Encodes a JSON value (as produced by JSON.parse) to docker/go canonical JSON bytes. */
export function encodeCanonical(value: unknown): Uint8Array {
  const out = new ByteWriter();
  writeValue(out, value, 0);
  return out.finish();
}

/** Same as encodeCanonical, as a string (convenient in tests and for key IDs). */
export function encodeCanonicalString(value: unknown): string {
  return new TextDecoder().decode(encodeCanonical(value));
}

const MAX_DEPTH = 64;

function writeValue(out: ByteWriter, value: unknown, depth: number): void {
  if (depth > MAX_DEPTH) throw new CanonicalJsonError("canonical JSON: nesting too deep");
  switch (typeof value) {
    case "string":
      writeString(out, value);
      return;
    case "number":
      writeNumber(out, value);
      return;
    case "boolean":
      out.ascii(value ? "true" : "false");
      return;
    case "object":
      if (value === null) {
        out.ascii("null");
        return;
      }
      if (Array.isArray(value)) {
        out.byte(0x5b);
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out.byte(0x2c);
          writeValue(out, value[i], depth + 1);
        }
        out.byte(0x5d);
        return;
      }
      writeObject(out, value as Record<string, unknown>, depth);
      return;
    default:
      throw new CanonicalJsonError(`canonical JSON: cannot encode a ${typeof value}`);
  }
}

function writeObject(out: ByteWriter, obj: Record<string, unknown>, depth: number): void {
  const proto = Object.getPrototypeOf(obj) as unknown;
  if (proto !== Object.prototype && proto !== null) {
    throw new CanonicalJsonError("canonical JSON: only plain objects can be encoded");
  }
  const keys = Object.keys(obj);
  // UTF-16 code unit order equals UTF-8 byte order unless a key holds a surrogate or a code unit
  // at/above U+D800 (surrogate pairs sort below U+E000..U+FFFF in UTF-16, above them in UTF-8).
  if (keys.some(hasHighCodeUnit)) {
    const encoded = new Map(keys.map((k) => [k, utf8(k)]));
    keys.sort((a, b) => compareBytes(encoded.get(a)!, encoded.get(b)!));
  } else {
    keys.sort();
  }
  out.byte(0x7b);
  for (let i = 0; i < keys.length; i++) {
    if (i > 0) out.byte(0x2c);
    const key = keys[i]!;
    writeString(out, key);
    out.byte(0x3a);
    writeValue(out, obj[key], depth + 1);
  }
  out.byte(0x7d);
}

function hasHighCodeUnit(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0xd800) return true;
  return false;
}

/**
 * Writes a string as UTF-8 between quotes, escaping only `"` and `\`. Lone surrogates become
 * U+FFFD, as Go's decoder turns "\ud800" into U+FFFD (and as TextEncoder would).
 */
function writeString(out: ByteWriter, value: string): void {
  out.reserve(value.length * 3 + 2);
  out.byteUnchecked(QUOTE);
  for (let i = 0; i < value.length; i++) {
    let c = value.charCodeAt(i);
    if (c < 0x80) {
      if (c === QUOTE || c === BACKSLASH) out.byteUnchecked(BACKSLASH);
      out.byteUnchecked(c);
    } else if (c < 0x800) {
      out.byteUnchecked(0xc0 | (c >> 6));
      out.byteUnchecked(0x80 | (c & 0x3f));
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = value.charCodeAt(i + 1);
      if (c <= 0xdbff && next >= 0xdc00 && next <= 0xdfff) {
        c = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        i++;
        out.byteUnchecked(0xf0 | (c >> 18));
        out.byteUnchecked(0x80 | ((c >> 12) & 0x3f));
        out.byteUnchecked(0x80 | ((c >> 6) & 0x3f));
        out.byteUnchecked(0x80 | (c & 0x3f));
      } else {
        out.byteUnchecked(0xef);
        out.byteUnchecked(0xbf);
        out.byteUnchecked(0xbd);
      }
    } else {
      out.byteUnchecked(0xe0 | (c >> 12));
      out.byteUnchecked(0x80 | ((c >> 6) & 0x3f));
      out.byteUnchecked(0x80 | (c & 0x3f));
    }
  }
  out.byteUnchecked(QUOTE);
}

function writeNumber(out: ByteWriter, value: number): void {
  if (!Number.isFinite(value) || !Number.isInteger(value)) {
    throw new CanonicalJsonError(`canonical JSON: ${value} is not an integer`);
  }
  if (Math.abs(value) >= INT64_LIMIT) {
    throw new CanonicalJsonError(`canonical JSON: ${value} does not fit in an int64`);
  }
  // BigInt gives the exact decimal of the double (String() would switch to exponent form at 1e21);
  // -0 becomes "0" as in Go.
  out.ascii(BigInt(value).toString());
}

export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = a[i]! - b[i]!;
    if (d !== 0) return d;
  }
  return a.length - b.length;
}

/** Growable byte buffer: avoids building intermediate strings for large targets files. */
class ByteWriter {
  private buf = new Uint8Array(4096);
  private len = 0;

  /** Makes room for `extra` more bytes (for the unchecked writes that follow). */
  reserve(extra: number): void {
    if (this.len + extra <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + extra) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  byteUnchecked(b: number): void {
    this.buf[this.len++] = b;
  }

  byte(b: number): void {
    this.reserve(1);
    this.buf[this.len++] = b;
  }

  ascii(text: string): void {
    this.reserve(text.length);
    for (let i = 0; i < text.length; i++) this.buf[this.len++] = text.charCodeAt(i);
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}
