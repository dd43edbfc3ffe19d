// Reading a whole body with a size cap: more than the cap is an error, never a silent truncation.
import { concatBytes } from "./encoding";

export class TooLargeError extends Error {
  override readonly name = "TooLargeError";
}

/**
 * The whole stream, or TooLargeError past `max` bytes. `drain`: how many bytes past `max` are still
 * read (and dropped) before the stream is cancelled, for a caller whose connection must see its
 * request read to the end (an HTTP request body); 0, the default, cancels at once.
 */
export async function readCapped(stream: ReadableStream<Uint8Array> | null, max: number, drain = 0): Promise<Uint8Array> {
  if (!stream) return new Uint8Array();
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max + drain) {
      await reader.cancel();
      break;
    }
    if (size <= max) chunks.push(value);
  }
  if (size > max) throw new TooLargeError(`more than ${max} bytes`);
  return concatBytes(...chunks);
}
