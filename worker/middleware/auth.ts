// Bearer-token auth with two roles; tokens compared in constant time, never logged or echoed.
import type { MiddlewareHandler } from "hono";
import type { Env } from "../env";
import { loadConfig } from "../env";
import { HttpError } from "../errors";

async function digest(token: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest("SHA-256", new TextEncoder().encode(token));
}

/** True when the token equals one of the candidates; every candidate is compared, in constant time. */
async function matchesAny(token: string, candidates: readonly string[]): Promise<boolean> {
  // Hashing first gives equal-length inputs, so timingSafeEqual never leaks a length.
  const given = await digest(token);
  let found = false;
  for (const candidate of candidates) {
    if (crypto.subtle.timingSafeEqual(given, await digest(candidate))) found = true;
  }
  return found;
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
    const token = m[1]!;
    if (await matchesAny(token, config.adminTokens)) {
      c.set("role", "admin");
    } else if (await matchesAny(token, config.clientTokens)) {
      if (role === "admin") throw new HttpError(403, "FORBIDDEN", "this route needs an admin token; a client token was given");
      c.set("role", "client");
    } else {
      c.header("WWW-Authenticate", 'Bearer realm="trustgate", error="invalid_token"');
      throw new HttpError(401, "UNAUTHORIZED", "the bearer token is not valid");
    }
    await next();
  };
}
