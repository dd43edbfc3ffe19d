// Byte helpers every verifier uses: strict UTF-8/base64/PEM decoding, hex, and Web Crypto digests.

const utf8Encoder = new TextEncoder();
// fatal: invalid UTF-8 is refused rather than replaced (Go would substitute U+FFFD per byte, which
// TextDecoder does not do identically); ignoreBOM: a BOM stays in the text so JSON.parse rejects
// it, as Go's decoder does.
const utf8Decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

export function utf8(text: string): Uint8Array {
  return utf8Encoder.encode(text);
}

/** Decodes UTF-8 strictly; returns undefined on invalid input. */
export function utf8DecodeStrict(bytes: Uint8Array): string | undefined {
  try {
    return utf8Decoder.decode(bytes);
  } catch {
    return undefined;
  }
}


// One sha256 for the whole core (src/encoding.ts).
export { concatBytes, sha256Bytes as sha256, toHex } from "../../encoding";

const BASE64_BODY = /^[A-Za-z0-9+/]*={0,2}$/;

/**
 * Standard base64 with padding, as Go's encoding/json decodes []byte fields: CR and LF are
 * skipped, anything else outside the alphabet is an error. Returns undefined when invalid.
 */
export function base64Decode(text: string): Uint8Array | undefined {
  const clean = text.includes("\n") || text.includes("\r") ? text.replace(/[\r\n]/g, "") : text;
  if (clean.length % 4 !== 0 || !BASE64_BODY.test(clean)) return undefined;
  let binary: string;
  try {
    binary = atob(clean);
  } catch {
    return undefined;
  }
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

export function base64Encode(bytes: Uint8Array): string {
  let binary = "";
  // Chunked so large inputs do not overflow the argument list.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}


export async function sha512(bytes: Uint8Array): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-512", bytes as Uint8Array<ArrayBuffer>));
}

/** Length-checked comparison without an early exit on the first differing byte. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a[i]! ^ b[i]!;
  return diff === 0;
}

export interface PemBlock {
  readonly type: string;
  /** True when the block had RFC 1421 headers (`Key: value` lines); notary skips such certificates. */
  readonly hasHeaders: boolean;
  readonly der: Uint8Array;
}

const PEM_BLOCK = /-----BEGIN ([^-\r\n]+)-----\r?\n([\s\S]*?)-----END \1-----/g;

/** Every PEM block in the text, in order, like repeated Go pem.Decode calls. Garbage between blocks is skipped. */
export function parsePem(text: string): PemBlock[] | undefined {
  const blocks: PemBlock[] = [];
  for (const match of text.matchAll(PEM_BLOCK)) {
    const type = match[1]!;
    let body = match[2]!;
    let hasHeaders = false;
    const headerEnd = body.search(/\r?\n\r?\n/);
    if (headerEnd >= 0 && body.slice(0, headerEnd).includes(":")) {
      hasHeaders = true;
      body = body.slice(headerEnd).trim();
    } else if (/^[^\r\n]*:/.test(body)) {
      return undefined;
    }
    const der = base64Decode(body.replace(/[ \t\r\n]/g, ""));
    if (der === undefined) return undefined;
    blocks.push({ type, hasHeaders, der });
  }
  return blocks;
}

export function toPem(type: string, der: Uint8Array): string {
  const b64 = base64Encode(der);
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 64) lines.push(b64.slice(i, i + 64));
  return `-----BEGIN ${type}-----\n${lines.join("\n")}\n-----END ${type}-----\n`;
}
