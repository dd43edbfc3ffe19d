// Whether an admission review's caller is known to be the API server, and what of the review is then recorded as fact.
//
// The review's namespace and user (request.namespace, request.userInfo) are whatever its sender wrote;
// any holder of a client token can send a review naming any user. They are recorded as facts only when
// the request authenticates as the API server's: its token is one of ADMISSION_CALLERS (the shim's,
// or the one the API server itself sends in direct mode), and, when a shim forwarded it, the shim says
// it authenticated its own caller (Trustgate-Caller: client-certificate or token; docs/admission-callers.md).
// Otherwise they are kept under `claimed`. The decision itself still uses the namespace (namespaced
// rules); only the history's reading of it changes.
import type { Context } from "hono";
import { type Bindings, ConfigError, type Env, loadConfig } from "./env";

/** The header a shim sets on each forwarded review: how it authenticated the caller that sent it. */
export const CALLER_HEADER = "trustgate-caller";
const AUTHENTICATED_BY = new Set(["client-certificate", "token"]);
/** What a review claims about who sent it and where: facts only from an authenticated caller. */
const CLAIMS = ["namespace", "user", "groups"] as const;

const callers = new WeakMap<Bindings, ReadonlySet<string>>();

/** ADMISSION_CALLERS: comma-separated token names; each must be a configured token. */
export function admissionCallers(env: Bindings): ReadonlySet<string> {
  let names = callers.get(env);
  if (!names) {
    const config = loadConfig(env);
    const known = new Set([...config.clientTokens, ...config.adminTokens].map((t) => t.name));
    const listed = (env.ADMISSION_CALLERS ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
    listed.forEach((name, i) => {
      // Position only: a mistyped entry may be a secret pasted in the wrong place.
      if (!known.has(name)) throw new ConfigError(`ADMISSION_CALLERS entry ${i + 1} is not the name of a configured token`);
    });
    names = new Set(listed);
    callers.set(env, names);
  }
  return names;
}

/** True when the review comes from the API server as far as trustgate can tell (see the header). */
export function callerAuthenticated(c: Context<Env>): boolean {
  const token = c.get("token");
  if (!token || !admissionCallers(c.env).has(token.name)) return false;
  const said = c.req.header(CALLER_HEADER);
  // No header: the token's holder called directly, and it is the API server's token.
  return said === undefined || AUTHENTICATED_BY.has(said.trim().toLowerCase());
}

/** The context to record: as it is for an authenticated caller, else with its claims moved under `claimed`. */
export function recordedContext(context: Readonly<Record<string, unknown>>, authenticated: boolean): Record<string, unknown> {
  if (authenticated) return { ...context };
  const recorded: Record<string, unknown> = {};
  const claimed: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(context)) {
    if ((CLAIMS as readonly string[]).includes(key)) claimed[key] = value;
    else recorded[key] = value;
  }
  if (Object.keys(claimed).length > 0) recorded.claimed = claimed;
  return recorded;
}
