// Worker entry: HTTP through the Hono app; a daily cron refreshes Notary trust data that is due and
// Sigstore's trust root (TUF), and prunes the verdict history (docs/deploy.md "The cron").
import { createApp } from "./app";
import type { Bindings } from "./env";
import { servicesFor } from "./services";
import { primeNotaryParsers } from "../src/verify/notary-v1/prime";
import { primeCosignFallbacks } from "../src/verify/cosign/prime";
import { DEFAULT_REFRESH_LIMITS, RECENT_TRUST_PREFIX, refreshDueNotaryTrust } from "../src/requirements/notary-refresh";
import { refreshSigstoreTrustedRoot, sigstoreTufUrl } from "../src/requirements/sigstore-root";

// At start-up, so the first Notary decision of an isolate does not pay for compiling its parsers,
// nor the first Ed25519 cosign check for the JS fallback's tables.
primeNotaryParsers();
primeCosignFallbacks();

const app = createApp();

/** The recorded repositories, up to the run's budget (KV lists 1,000 keys per call). */
async function recentTrustKeys(kv: KVNamespace, max: number): Promise<string[]> {
  const keys: string[] = [];
  let cursor: string | undefined;
  do {
    const page: KVNamespaceListResult<unknown, string> = await kv.list({ prefix: RECENT_TRUST_PREFIX, ...(cursor ? { cursor } : {}) });
    keys.push(...page.keys.map((k) => k.name));
    cursor = page.list_complete ? undefined : page.cursor;
  } while (cursor && keys.length < max);
  return keys.slice(0, max);
}

async function refreshTrust(env: Bindings): Promise<void> {
  const { config, decideDeps } = servicesFor(env);
  if (config.trustRefreshPerRun === 0) return;
  const keys = await recentTrustKeys(env.TRUST_CACHE, DEFAULT_REFRESH_LIMITS.maxRecords);
  const report = await refreshDueNotaryTrust(decideDeps.verifier, keys, { ...DEFAULT_REFRESH_LIMITS, maxRefreshes: config.trustRefreshPerRun });
  // Failures change nothing: the next decision re-verifies and denies with the reason if it must.
  for (const f of report.failed) console.warn(`trust refresh: ${f.server} ${f.gun}: ${f.error}`);
  console.log(`trust refresh: ${report.considered} recorded, ${report.refreshed.length} refreshed, ${report.failed.length} failed, ${report.deferred} deferred`);
}

/** Sigstore's trust root through TUF, once a decision has used it: a failure is logged, the last verified root stays. */
async function refreshSigstoreRoot(env: Bindings): Promise<void> {
  const { decideDeps } = servicesFor(env);
  const url = sigstoreTufUrl(decideDeps.verifier);
  const result = await refreshSigstoreTrustedRoot(decideDeps.verifier);
  // A failure was logged where it happened.
  if (result?.ok && !result.note) console.log(`sigstore trust root refresh: ${url} verified`);
}

export default {
  fetch: app.fetch,
  async scheduled(_controller: ScheduledController, env: Bindings, ctx: ExecutionContext): Promise<void> {
    const { config, verdicts } = servicesFor(env);
    ctx.waitUntil(verdicts.deleteOlderThan(Date.now() - config.verdictRetentionDays * 86_400_000));
    ctx.waitUntil(refreshTrust(env));
    ctx.waitUntil(refreshSigstoreRoot(env));
  },
} satisfies ExportedHandler<Bindings>;
