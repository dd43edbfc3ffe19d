// Drives the Worker through its fetch handler inside workerd, as a client would over HTTP.
import { SELF } from "cloudflare:test";

export const ADMIN = "test-admin-token";
export const CLIENT = "test-client-token";

export interface Call {
  token?: string | null;
  body?: unknown;
  raw?: string | Uint8Array;
  headers?: Record<string, string>;
}

export async function call(method: string, path: string, opts: Call = {}): Promise<{ status: number; json: any; headers: Headers }> {
  const headers: Record<string, string> = { ...opts.headers };
  if (opts.token !== null && opts.token !== undefined) headers.authorization = `Bearer ${opts.token}`;
  let body: BodyInit | undefined;
  if (opts.raw !== undefined) body = opts.raw;
  else if (opts.body !== undefined) {
    body = JSON.stringify(opts.body);
    headers["content-type"] ??= "application/json";
  }
  const res = await SELF.fetch(`http://trustgate.test${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json, headers: res.headers };
}

export async function putPolicy(id: string, doc: unknown, format?: string) {
  return call("PUT", `/v1/policies/${id}${format ? `?format=${format}` : ""}`, {
    token: ADMIN,
    ...(typeof doc === "string" ? { raw: doc } : { body: doc }),
  });
}

export async function decideImage(image: string, policy: string, context?: Record<string, unknown>) {
  return call("POST", "/v1/decisions", { token: CLIENT, body: { image, policy, ...(context ? { context } : {}) } });
}

/** Verdicts are written after the response (waitUntil); poll until the expected count is there. */
export async function waitForVerdicts(query: string, atLeast: number): Promise<any[]> {
  for (let i = 0; i < 100; i++) {
    const res = await call("GET", `/v1/verdicts?${query}`, { token: CLIENT });
    if (res.status !== 200) throw new Error(`verdicts: HTTP ${res.status} ${JSON.stringify(res.json)}`);
    if (res.json.verdicts.length >= atLeast) return res.json.verdicts;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`fewer than ${atLeast} verdicts for ${query}`);
}

export const DIGEST_A = `sha256:${"a".repeat(64)}`;
export const DIGEST_B = `sha256:${"b".repeat(64)}`;
