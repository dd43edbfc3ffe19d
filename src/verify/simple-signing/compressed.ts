// Compressed data packets (gpg compresses signed messages by default) are decompressed here first,
// completely and with every promise handled, before openpgp.js reads the message.
//
// Why: openpgp.js decompresses ZIP and ZLIB with `stream.pipeThrough(new DecompressionStream(…))`.
// When the compressed body is truncated, workerd's pipe closes the DecompressionStream on incomplete
// data and reports that rejection as "Uncaught (in promise)": the runtime's own promise, which no
// caller can handle, although openpgp.js does see the error and the verdict is right. A body that does
// not decompress cleanly is refused here instead, so openpgp.js only ever decompresses data that does.
//
// Only what openpgp.js would decompress is looked at: every compressed data packet of the message,
// and (one level down) of its decompressed content. A signed message has at most one compression
// layer (openpgp.js's verify() unwraps one and then finds no literal data), so compressed data inside
// compressed data is refused without being decompressed.
import { concatBytes } from "../../encoding";
import { readCapped, TooLargeError } from "../../streams";
import { DEFAULT_LIMITS } from "../../limits";

/** Where a compression bomb stops (`Limits.simpleSigning.decompressedBytes`). */
export const MAX_DECOMPRESSED_BYTES = DEFAULT_LIMITS.simpleSigning.decompressedBytes;

const COMPRESSED_DATA = 8;
/** RFC 4880 §9.3: the algorithms a DecompressionStream speaks. 0 is "uncompressed"; 3 (BZip2) is openpgp.js's own JS code. */
const FORMATS: Readonly<Record<number, "deflate-raw" | "deflate">> = { 1: "deflate-raw", 2: "deflate" };

interface Packet {
  readonly tag: number;
  /** The body as far as the bytes go (partial body lengths joined). */
  readonly body: Uint8Array;
}

/**
 * The packets of `bytes` (RFC 4880 §4.2, old and new formats, partial body lengths) as far as their
 * headers can be read; a packet whose length runs past the end is cut there and ends the list.
 * An unreadable header ends the list too: openpgp.js refuses the message at the same place.
 */
function packetsOf(bytes: Uint8Array): Packet[] {
  const out: Packet[] = [];
  let at = 0;
  const byte = (): number | undefined => (at < bytes.length ? bytes[at++] : undefined);
  const uint = (n: number): number | undefined => {
    if (at + n > bytes.length) return undefined;
    let v = 0;
    for (let i = 0; i < n; i++) v = v * 256 + bytes[at++]!;
    return v;
  };
  while (at < bytes.length) {
    const first = bytes[at++]!;
    if ((first & 0x80) === 0) break;
    let tag: number;
    const parts: Uint8Array[] = [];
    let cut = false;
    const take = (length: number) => {
      const end = Math.min(bytes.length, at + length);
      parts.push(bytes.subarray(at, end));
      cut = at + length > bytes.length;
      at = end;
    };
    if (first & 0x40) {
      tag = first & 0x3f;
      for (;;) {
        // The bytes may end between two partial chunks: what came so far is the (cut) body.
        const l1 = byte();
        if (l1 === undefined) {
          if (parts.length === 0) return out;
          cut = true;
          break;
        }
        if (l1 < 192) {
          take(l1);
        } else if (l1 < 224) {
          const l2 = byte();
          if (l2 === undefined) {
            cut = true;
            break;
          }
          take(((l1 - 192) << 8) + l2 + 192);
        } else if (l1 === 255) {
          const length = uint(4);
          if (length === undefined) {
            cut = true;
            break;
          }
          take(length);
        } else {
          take(1 << (l1 & 0x1f)); // a partial body length: more lengths follow
          if (!cut) continue;
        }
        break;
      }
    } else {
      tag = (first >> 2) & 0x0f;
      const type = first & 0x03;
      if (type === 3) {
        take(bytes.length - at); // indeterminate: to the end
      } else {
        const length = uint(type === 0 ? 1 : type === 1 ? 2 : 4);
        if (length === undefined) return out;
        take(length);
      }
    }
    if (tag === 0 || (cut && parts.length === 0)) break;
    const body = parts.length === 1 ? parts[0]! : concatBytes(...parts);
    out.push({ tag, body });
    if (cut) break;
  }
  return out;
}

class DecompressionProblem extends Error {}

/**
 * Inflates `data` with a DecompressionStream driven by hand (a writer, and readCapped reading; never
 * a pipe), so every failure lands in a promise this function awaits; at most MAX_DECOMPRESSED_BYTES.
 */
async function inflate(format: "deflate-raw" | "deflate", data: Uint8Array): Promise<Uint8Array> {
  const stream = new DecompressionStream(format);
  const writer = stream.writable.getWriter();
  // Written while being read (the stream applies backpressure); its failure is also the reader's.
  const writing = (async () => {
    await writer.write(data);
    await writer.close();
  })();
  writing.catch(() => {});
  try {
    const out = await readCapped(stream.readable, MAX_DECOMPRESSED_BYTES);
    await writing;
    return out;
  } catch (err) {
    await writer.abort().catch(() => {});
    await writing.catch(() => {});
    if (err instanceof TooLargeError) throw new DecompressionProblem(`it decompresses to more than ${MAX_DECOMPRESSED_BYTES} bytes`);
    throw new DecompressionProblem(`it does not decompress (${err instanceof Error ? err.message : String(err)})`);
  }
}

/**
 * Why openpgp.js must not be handed `blob`: a compressed data packet that does not decompress
 * completely (or decompresses past the bound), or compression nested in compression. Undefined when
 * every compressed data packet decompresses cleanly (or there is none).
 */
export async function compressionProblem(blob: Uint8Array, depth = 0): Promise<string | undefined> {
  for (const packet of packetsOf(blob)) {
    if (packet.tag !== COMPRESSED_DATA) continue;
    if (depth > 0) return "compressed data inside compressed data";
    if (packet.body.length === 0) return "an empty compressed data packet";
    const algorithm = packet.body[0]!;
    const data = packet.body.subarray(1);
    let inner: Uint8Array;
    if (algorithm === 0) {
      inner = data;
    } else {
      const format = FORMATS[algorithm];
      // BZip2 and unknown algorithms: openpgp.js's own code answers (no DecompressionStream involved).
      if (!format || typeof DecompressionStream === "undefined") continue;
      try {
        inner = await inflate(format, data);
      } catch (err) {
        return `compressed data packet: ${err instanceof Error ? err.message : String(err)}`;
      }
    }
    const nested = await compressionProblem(inner, depth + 1);
    if (nested) return nested;
  }
  return undefined;
}
