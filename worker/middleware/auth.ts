// Bearer-token auth with two roles; tokens compared in constant time, never logged or echoed.
//
// A token is known by its name (ADMIN_TOKENS / CLIENT_TOKENS entries `name=secret`, or "admin-<n>" /
// "client-<n>" by position); a client token may be restricted to some policies (`name=secret@a|b`).
// Error messages name neither the token given nor any configured one.
import type { Context, MiddlewareHandler } from "hono";
import type { Config, Env, TokenEntry, TokenIdentity } from "../env";
import { loadConfig } from "../env";
import { HttpError } from "../errors";

async function digest(token: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
}

/** The configured secrets' digests, computed once per configuration. */
const digests = new WeakMap<readonly TokenEntry[], Promise<ArrayBuffer[]>>();
function digestsOf(entries: readonly TokenEntry[]): Promise<ArrayBuffer[]> {
  let d = digests.get(entries);
  if (!d) {
    d = Promise.all(entries.map((e) => digest(e.secret)));
    digests.set(entries, d);
  }
  return d;
}

/** The entry whose secret's digest equals the token's; every candidate is compared, in constant time. */
function matchAny(given: ArrayBuffer, entries: readonly TokenEntry[], candidates: readonly ArrayBuffer[]): TokenEntry | undefined {
  // Hashing first gives equal-length inputs, so timingSafeEqual never leaks a length.
  let found: TokenEntry | undefined;
  candidates.forEach((candidate, i) => {
    if (crypto.subtle.timingSafeEqual(given, candidate) && !found) found = entries[i];
  });
  return found;
}

async function identify(token: string, config: Config): Promise<TokenEntry | undefined> {
  // One wait for the token's digest and the configured ones (computed once per configuration).
  const [given, admins, clients] = await Promise.all([digest(token), digestsOf(config.adminTokens), digestsOf(config.clientTokens)]);
  // Both lists are always searched, so an admin token takes as long as a client one.
  const admin = matchAny(given, config.adminTokens, admins);
  const client = matchAny(given, config.clientTokens, clients);
  return admin ?? client;
}

/** Admin tokens may do everything; client tokens only what `role: "client"` routes allow. */
export function requireRole(role: "admin" | "client"): MiddlewareHandler<Env> {
  return async (c, next) => {
    const config = loadConfig(c.env);
    const header = c.req.header("authorization") ?? "";
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) {
      c.header("WWW-Authenticate", 'Bearer realm="trustgate"');
      throw new HttpError(401, "UNAUTHORIZED", "a bearer token is required (Authorization: Bearer <token>)");
    }
    const entry = await identify(m[1]!, config);
    if (!entry) {
      c.header("WWW-Authenticate", 'Bearer realm="trustgate", error="invalid_token"');
      throw new HttpError(401, "UNAUTHORIZED", "the bearer token is not valid");
    }
    if (role === "admin" && entry.role !== "admin") {
      throw new HttpError(403, "FORBIDDEN", "this route needs an admin token; a client token was given");
    }
    const identity: TokenIdentity = { role: entry.role, name: entry.name, policies: entry.policies };
    c.set("role", entry.role);
    c.set("token", identity);
    await next();
  };
}

/** The policies the request's token may use, or null for all of them. */
export function allowedPolicies(c: Context<Env>): readonly string[] | null {
  return c.get("token")?.policies ?? null;
}

/** Refuses a policy the request's token is restricted away from; `id` must already be a valid policy ID. */
export function assertPolicyAllowed(c: Context<Env>, id: string): void {
  const allowed = allowedPolicies(c);
  if (allowed && !allowed.includes(id)) {
    throw new HttpError(403, "FORBIDDEN", `this token may not use policy "${id}"`);
  }
}
