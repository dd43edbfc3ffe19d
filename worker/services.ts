// Per-isolate wiring of the core to the bindings: built once per bindings object, reused after.
import { cachedDigestResolver } from "../src/adapters/cached-digest-resolver";
import { egressFetch } from "../src/adapters/egress";
import { memoCache } from "../src/adapters/memo-cache";
import { RegistryClient } from "../src/adapters/registry-client";
import type { DecideDeps } from "../src/decide";
import { systemClock } from "../src/ports";
import { defaultRequirementKinds } from "../src/requirements";
import { loadConfig, type Bindings, type Config } from "./env";
import { kvCache } from "./stores/kv-cache";
import { PolicyStore } from "./stores/policy-store";
import { VerdictLog } from "./stores/verdict-log";
import { DEFAULT_LIMITS } from "../src/limits";

export interface Services {
  readonly config: Config;
  readonly policies: PolicyStore;
  readonly verdicts: VerdictLog;
  readonly decideDeps: DecideDeps;
}

const services = new WeakMap<Bindings, Services>();

export function servicesFor(env: Bindings): Services {
  let s = services.get(env);
  if (!s) {
    const config = loadConfig(env);
    // Every upstream request (registries, token realms, trust servers, lookasides, redirects) passes
    // the egress guard before any connection is made (docs/security.md).
    const httpFetch = egressFetch((request: Request) => fetch(request), config.egress);
    const trustCache = kvCache(env.TRUST_CACHE);
    const registry = new RegistryClient({
      fetch: httpFetch,
      insecureRegistries: config.insecureRegistries,
      credentials: config.registryCredentials,
      timeoutMs: config.upstreamTimeoutMs,
    });
    s = {
      config,
      policies: new PolicyStore(env.POLICIES),
      verdicts: new VerdictLog(env.VERDICTS),
      decideDeps: {
        kinds: defaultRequirementKinds,
        // Warm decisions are answered from this isolate's memory where it can: tag answers and
        // verdicts carry their own freshness and are keyed by what they depend on. The trust data
        // in TRUST_CACHE (TOFU roots, rollback versions) is always read from KV.
        digests: cachedDigestResolver(
          registry,
          memoCache(trustCache, { maxEntries: DEFAULT_LIMITS.memory.memoEntries, readTtlSeconds: config.tagCacheTtlSeconds, clock: systemClock }),
          config.tagCacheTtlSeconds,
          systemClock,
        ),
        verdictCache: memoCache(kvCache(env.VERDICT_CACHE), {
          maxEntries: DEFAULT_LIMITS.memory.memoEntries,
          readTtlSeconds: config.verdictCacheTtlSeconds,
          clock: systemClock,
        }),
        verdictTtlSeconds: config.verdictCacheTtlSeconds,
        verifier: {
          fetch: httpFetch,
          trustCache,
          clock: systemClock,
          counter: { count: () => {} },
          settings: {
            upstreamTimeoutMs: config.upstreamTimeoutMs,
            trustRecheckSeconds: config.trustRecheckSeconds,
            credentials: config.registryCredentials,
            insecureRegistries: config.insecureRegistries,
            ...(config.sigstoreTufUrl ? { sigstoreTufUrl: config.sigstoreTufUrl } : {}),
            ...(config.sigstoreTufRoot ? { sigstoreTufRoot: config.sigstoreTufRoot } : {}),
          },
        },
        clock: systemClock,
      },
    };
    services.set(env, s);
  }
  return s;
}
