// Worker bindings, and the configuration read from them once into a frozen object.
import type { RegistryCredentials } from "../src/adapters/registry-client";

export interface Bindings {
  readonly POLICIES: KVNamespace;
  readonly TRUST_CACHE: KVNamespace;
  readonly VERDICT_CACHE: KVNamespace;
  readonly VERDICTS: D1Database;
  /** Comma-separated bearer tokens; secrets in production, .dev.vars locally. */
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
}

export type Env = { Bindings: Bindings; Variables: { role: "admin" | "client" } };

export interface Config {
  readonly adminTokens: readonly string[];
  readonly clientTokens: readonly string[];
  readonly insecureRegistries: readonly string[];
  readonly registryCredentials: Readonly<Record<string, RegistryCredentials>>;
  readonly tagCacheTtlSeconds: number;
  readonly verdictCacheTtlSeconds: number;
  readonly verdictRetentionDays: number;
  readonly upstreamTimeoutMs: number;
  readonly trustRecheckSeconds: number;
}

export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

function list(value: string | undefined): string[] {
  return (value ?? "").split(",").map((s) => s.trim()).filter((s) => s !== "");
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
    out[host.toLowerCase()] = c as RegistryCredentials;
  }
  return out;
}

const configs = new WeakMap<Bindings, Config>();

/** Reads and validates the configuration once per isolate and bindings object. */
export function loadConfig(env: Bindings): Config {
  let config = configs.get(env);
  if (!config) {
    config = Object.freeze({
      adminTokens: list(env.ADMIN_TOKENS),
      clientTokens: list(env.CLIENT_TOKENS),
      insecureRegistries: list(env.INSECURE_REGISTRIES).map((h) => h.toLowerCase()),
      registryCredentials: credentials(env.REGISTRY_CREDENTIALS),
      tagCacheTtlSeconds: integer("TAG_CACHE_TTL_SECONDS", env.TAG_CACHE_TTL_SECONDS, 60, 0, 86_400),
      verdictCacheTtlSeconds: integer("VERDICT_CACHE_TTL_SECONDS", env.VERDICT_CACHE_TTL_SECONDS, 300, 0, 86_400),
      verdictRetentionDays: integer("VERDICT_RETENTION_DAYS", env.VERDICT_RETENTION_DAYS, 30, 1, 3650),
      upstreamTimeoutMs: integer("UPSTREAM_TIMEOUT_MS", env.UPSTREAM_TIMEOUT_MS, 3000, 100, 60_000),
      trustRecheckSeconds: integer("TRUST_RECHECK_SECONDS", env.TRUST_RECHECK_SECONDS, 60, 0, 86_400),
    });
    configs.set(env, config);
  }
  return config;
}
