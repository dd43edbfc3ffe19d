// Request bodies read with a size cap (413 past 1 MiB, or the route's own cap) and JSON parsed with a 400 on failure.
import type { Context } from "hono";
import type { Schema } from "../src/schema";
import { HttpError } from "./errors";
import { zodIssues } from "../src/policy/issues";
import { concatBytes } from "../src/encoding";
import { TooLargeError } from "../src/streams";
import { DEFAULT_LIMITS } from "../src/limits";

export const MAX_BODY_BYTES = DEFAULT_LIMITS.api.bodyBytes;

/**
 * How much of an over-cap body without a length is still read (and dropped) before giving up on it.
 * A request body left half-read breaks the connection it came on: under `wrangler dev` the 413 may
 * never arrive and the next request to the Worker hangs. Reading to the end costs only the bytes the
 * caller chose to send; past this much, the body is cancelled after all.
 */
const MAX_DRAIN_BYTES = 64 * 1024 * 1024;

/** Reads a body without a declared length, keeping at most `max` bytes; a longer one is drained, then refused. */
async function readUndeclared(stream: ReadableStream<Uint8Array> | null, max: number): Promise<Uint8Array> {
  if (!stream) return new Uint8Array();
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size <= max) chunks.push(value);
    else if (size > max + MAX_DRAIN_BYTES) {
      await reader.cancel();
      break;
    }
  }
  if (size > max) throw new TooLargeError(`more than ${max} bytes`);
  return concatBytes(...chunks);
}

export async function readText(c: Context, max = MAX_BODY_BYTES): Promise<string> {
  const tooLarge = () => new HttpError(413, "PAYLOAD_TOO_LARGE", `the request body is larger than ${max} bytes`);
  const declared = Number(c.req.header("content-length") ?? "0");
  if (declared > max) throw tooLarge();
  let bytes: Uint8Array;
  try {
    // A declared length within the cap is what HTTP framing delivers: read it in one go. Without
    // one (chunked), the stream is read to its end with a running count.
    const declaredOk = c.req.header("content-length") !== undefined && Number.isSafeInteger(declared) && declared >= 0;
    bytes = declaredOk ? new Uint8Array(await c.req.raw.arrayBuffer()) : await readUndeclared(c.req.raw.body, max);
    if (bytes.byteLength > max) throw new TooLargeError(`more than ${max} bytes`);
  } catch (err) {
    if (err instanceof TooLargeError) throw tooLarge();
    throw err;
  }
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new HttpError(400, "INVALID_BODY", "the request body is not valid UTF-8");
  }
}

/** Reads a JSON body and validates it; every problem is reported with its field path. */
export async function readJson<T>(c: Context, schema: Schema<T>, max = MAX_BODY_BYTES): Promise<T> {
  const text = await readText(c, max);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    throw new HttpError(400, "INVALID_JSON", `the request body is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = schema.safeParse(value);
  if (!parsed.success) {
    const issues = zodIssues(parsed.error);
    throw new HttpError(
      400,
      "INVALID_BODY",
      `the request body is invalid: ${issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("; ")}`,
      { issues },
    );
  }
  return parsed.data;
}
