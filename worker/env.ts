// Worker bindings, and the configuration read from them once into a frozen object.
import type { RegistryCredentials } from "../src/adapters/registry-client";
import type { EgressPolicy } from "../src/adapters/egress";
import { canonicalRegistry } from "../src/reference";
import { POLICY_ID_RE } from "./stores/policy-store";
import { DEFAULT_LIMITS } from "../src/limits";

export interface Bindings {
  readonly POLICIES: KVNamespace;
  readonly TRUST_CACHE: KVNamespace;
  readonly VERDICT_CACHE: KVNamespace;
  readonly VERDICTS: D1Database;
  /**
   * Comma-separated bearer tokens; secrets in production, .dev.vars locally. Each entry is
   * `secret`, `name=secret`, or (client tokens only) `name=secret@policyA|policyB`; see parseTokens.
   */
  readonly ADMIN_TOKENS?: string;
  readonly CLIENT_TOKENS?: string;
  readonly INSECURE_REGISTRIES?: string;
  /** JSON: { "<registry host>": { "username", "password" } | { "token" } }. A secret. */
  readonly REGISTRY_CREDENTIALS?: string;
  readonly TAG_CACHE_TTL_SECONDS?: string;
  readonly VERDICT_CACHE_TTL_SECONDS?: string;
  readonly VERDICT_RETENTION_DAYS?: string;
  readonly UPSTREAM_TIMEOUT_MS?: string;
  readonly TRUST_RECHECK_SECONDS?: string;
  /** Notary repositories the daily cron refreshes per run (0: none); docs/deploy.md. */
  readonly TRUST_REFRESH_PER_RUN?: string;
  /** Images a policy preview replays per request (worker/preview.ts says why 24); tests set fewer. */
  readonly PREVIEW_IMAGES_PER_REQUEST?: string;
  /** Comma-separated hosts (host or host:port), on private addresses or internal names, that upstream requests may reach. */
  readonly EGRESS_ALLOWED_HOSTS?: string;
  /** "false" refuses loopback upstreams (127/8, ::1, localhost); default true (the test lab uses 127.0.0.1). */
  readonly ALLOW_LOOPBACK_UPSTREAMS?: string;
  /** Comma-separated token names whose admission reviews come from the API server (worker/admission-caller.ts). */
  readonly ADMISSION_CALLERS?: string;
}

/** The token a request authenticated with: its name (never the secret) and policy restriction. */
export interface TokenIdentity {
  readonly role: "admin" | "client";
  readonly name: string;
  /** Policy IDs this token may use; null when it may use every policy. */
  readonly policies: readonly string[] | null;
}

export type Env = { Bindings: Bindings; Variables: { role: "admin" | "client"; token: TokenIdentity } };

/** One configured token. `secret` is only ever compared (hashed, in constant time), never logged or echoed. */
export interface TokenEntry extends TokenIdentity {
  readonly secret: string;
}

export interface Config {
  readonly adminTokens: readonly TokenEntry[];
  readonly clientTokens: readonly TokenEntry[];
  readonly insecureRegistries: readonly string[];
  readonly registryCredentials: Readonly<Record<string, RegistryCredentials>>;
  readonly tagCacheTtlSeconds: number;
  readonly verdictCacheTtlSeconds: number;
  readonly verdictRetentionDays: number;
  readonly upstreamTimeoutMs: number;
  readonly trustRecheckSeconds: number;
  readonly trustRefreshPerRun: number;
  readonly previewImagesPerRequest: number;
  /** Which upstream addresses may be contacted (docs/security.md). */
  readonly egress: EgressPolicy;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

function list(value: string | undefined): string[] {
  return (value ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
}

// RFC 6750 token68: `=` only as trailing padding, so `=` followed by anything else marks a name, and
// `@`, `|`, `,` can never be part of a secret. Names follow the policy-ID alphabet plus upper case.
const SECRET_RE = /^[A-Za-z0-9._~+/-]+=*$/;
const NAME_RE = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
const NAMED_RE = /^([^=]*)=(?!=*$)(.*)$/s;

/**
 * Parses ADMIN_TOKENS / CLIENT_TOKENS. Error messages name the variable and the entry's position,
 * never its text: a malformed entry may well be (part of) a secret.
 */
export function parseTokens(variable: string, value: string | undefined, role: "admin" | "client"): TokenEntry[] {
  const out: TokenEntry[] = [];
  list(value).forEach((entry, i) => {
    const where = `${variable} entry ${i + 1}`;
    const named = NAMED_RE.exec(entry);
    if (!named) {
      if (!SECRET_RE.test(entry)) {
        throw new ConfigError(
          `${where} is not a valid token: use secret, name=secret or name=secret@policy|policy, the secret made of A-Z a-z 0-9 - . _ ~ + / (then optional trailing =)`,
        );
      }
      out.push({ role, name: `${role}-${i + 1}`, secret: entry, policies: null });
      return;
    }
    const name = named[1]!;
    const rest = named[2]!;
    if (!NAME_RE.test(name)) {
      throw new ConfigError(`${where} has an invalid name: use 1 to 63 characters A-Z, a-z, 0-9, ".", "_", "-", starting with a letter or digit`);
    }
    const at = rest.indexOf("@");
    const secret = at === -1 ? rest : rest.slice(0, at);
    if (!SECRET_RE.test(secret)) {
      throw new ConfigError(`${where} (${name}) has an invalid secret: use A-Z a-z 0-9 - . _ ~ + / (then optional trailing =)`);
    }
    let policies: string[] | null = null;
    if (at !== -1) {
      if (role === "admin") throw new ConfigError(`${where} (${name}): admin tokens cannot be restricted to policies`);
      policies = rest.slice(at + 1).split("|");
      if (policies.some((p) => !POLICY_ID_RE.test(p))) {
        throw new ConfigError(`${where} (${name}) has an invalid policy list: use policy IDs separated by "|" after "@"`);
      }
      policies = [...new Set(policies)];
    }
    out.push({ role, name, secret, policies });
  });
  return out;
}

function tokens(env: Bindings): { adminTokens: TokenEntry[]; clientTokens: TokenEntry[] } {
  const adminTokens = parseTokens("ADMIN_TOKENS", env.ADMIN_TOKENS, "admin");
  const clientTokens = parseTokens("CLIENT_TOKENS", env.CLIENT_TOKENS, "client");
  const seen = new Set<string>();
  for (const t of [...adminTokens, ...clientTokens]) {
    // Names are what the audit log records, so each must say which token it was.
    if (seen.has(t.name)) throw new ConfigError(`the token name "${t.name}" is used more than once in ADMIN_TOKENS / CLIENT_TOKENS`);
    seen.add(t.name);
  }
  return { adminTokens, clientTokens };
}

function integer(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || value.trim() === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new ConfigError(`${name} must be a whole number from ${min} to ${max}, not "${value}"`);
  }
  return n;
}

function credentials(value: string | undefined): Record<string, RegistryCredentials> {
  if (!value) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new ConfigError("REGISTRY_CREDENTIALS is not valid JSON");
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new ConfigError("REGISTRY_CREDENTIALS must be a JSON object keyed by registry host");
  }
  const out: Record<string, RegistryCredentials> = {};
  for (const [host, c] of Object.entries(parsed as Record<string, unknown>)) {
    if (typeof c !== "object" || c === null) throw new ConfigError(`REGISTRY_CREDENTIALS.${host} must be an object`);
    const { username, password, token } = c as Record<string, unknown>;
    for (const [k, v] of Object.entries({ username, password, token })) {
      if (v !== undefined && typeof v !== "string") throw new ConfigError(`REGISTRY_CREDENTIALS.${host}.${k} must be a string`);
    }
    // Keyed like references are (src/reference.ts canonicalRegistry), so any spelling finds them.
    out[canonicalRegistry(host)] = c as RegistryCredentials;
  }
  return out;
}

function flag(name: string, value: string | undefined, fallback: boolean): boolean {
  if (value === undefined || value.trim() === "") return fallback;
  const v = value.trim().toLowerCase();
  if (v === "true" || v === "1") return true;
  if (v === "false" || v === "0") return false;
  throw new ConfigError(`${name} must be true or false, not "${value}"`);
}

const configs = new WeakMap<Bindings, Config>();

/** Reads and validates the configuration once per isolate and bindings object. */
export function loadConfig(env: Bindings): Config {
  let config = configs.get(env);
  if (!config) {
    const insecureRegistries = list(env.INSECURE_REGISTRIES).map(canonicalRegistry);
    const registryCredentials = credentials(env.REGISTRY_CREDENTIALS);
    config = Object.freeze({
      ...tokens(env),
      insecureRegistries,
      registryCredentials,
      tagCacheTtlSeconds: integer("TAG_CACHE_TTL_SECONDS", env.TAG_CACHE_TTL_SECONDS, 60, 0, 86_400),
      verdictCacheTtlSeconds: integer("VERDICT_CACHE_TTL_SECONDS", env.VERDICT_CACHE_TTL_SECONDS, 300, 0, 86_400),
      verdictRetentionDays: integer("VERDICT_RETENTION_DAYS", env.VERDICT_RETENTION_DAYS, 90, 1, 3650),
      upstreamTimeoutMs: integer("UPSTREAM_TIMEOUT_MS", env.UPSTREAM_TIMEOUT_MS, DEFAULT_LIMITS.http.timeoutMs, 100, 60_000),
      trustRecheckSeconds: integer("TRUST_RECHECK_SECONDS", env.TRUST_RECHECK_SECONDS, 60, 0, 86_400),
      trustRefreshPerRun: integer("TRUST_REFRESH_PER_RUN", env.TRUST_REFRESH_PER_RUN, 4, 0, 200),
      previewImagesPerRequest: integer("PREVIEW_IMAGES_PER_REQUEST", env.PREVIEW_IMAGES_PER_REQUEST, 24, 1, 200),
      // Hosts the operator names in configuration count as named explicitly: EGRESS_ALLOWED_HOSTS,
      // INSECURE_REGISTRIES and the hosts REGISTRY_CREDENTIALS holds credentials for.
      egress: Object.freeze({
        allowLoopback: flag("ALLOW_LOOPBACK_UPSTREAMS", env.ALLOW_LOOPBACK_UPSTREAMS, true),
        namedHosts: Object.freeze([
          ...list(env.EGRESS_ALLOWED_HOSTS).map((h) => h.toLowerCase()),
          ...insecureRegistries,
          ...Object.keys(registryCredentials),
        ]),
        maxRedirects: DEFAULT_LIMITS.http.redirects,
      }),
    });
    configs.set(env, config);
  }
  return config;
}
