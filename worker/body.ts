// Request bodies read with a size cap (413 past 1 MiB, or the route's own cap) and JSON parsed with a 400 on failure.
import type { Context } from "hono";
import type { Schema } from "../src/schema";
import { HttpError } from "./errors";
import { zodIssues } from "../src/policy/issues";
import { readCapped, TooLargeError } from "../src/streams";
import { DEFAULT_LIMITS } from "../src/limits";

export const MAX_BODY_BYTES = DEFAULT_LIMITS.api.bodyBytes;


export async function readText(c: Context, max = MAX_BODY_BYTES): Promise<string> {
  const tooLarge = () => new HttpError(413, "PAYLOAD_TOO_LARGE", `the request body is larger than ${max} bytes`);
  const declared = Number(c.req.header("content-length") ?? "0");
  if (declared > max) throw tooLarge();
  let bytes: Uint8Array;
  try {
    // A declared length within the cap is what HTTP framing delivers: read it in one go. Without
    // one (chunked), the stream is read to its end with a running count.
    const declaredOk = c.req.header("content-length") !== undefined && Number.isSafeInteger(declared) && declared >= 0;
    bytes = declaredOk ? new Uint8Array(await c.req.raw.arrayBuffer()) : await readCapped(c.req.raw.body, max, DEFAULT_LIMITS.api.drainBytes);
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
