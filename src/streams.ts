// Reading a whole body with a size cap: more than the cap is an error, never a silent truncation.
import { concatBytes } from "./encoding";

export class TooLargeError extends Error {
  override readonly name = "TooLargeError";
}

export async function readCapped(stream: ReadableStream<Uint8Array> | null, max: number): Promise<Uint8Array> {
  if (!stream) return new Uint8Array();
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel();
      throw new TooLargeError(`more than ${max} bytes`);
    }
    chunks.push(value);
  }
  return concatBytes(...chunks);
}
