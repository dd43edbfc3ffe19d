// For `npm run bench` (cold phase): how many upstream round trips one cold decision waits for one
// after the other (its critical path), per signature kind. decide() runs here in Node with the real
// kinds, registry client and egress guard, against the lab's servers, through a fetch that traces
// every request. See bench/README.md, "Cold decisions".
import { cachedDigestResolver } from "../src/adapters/cached-digest-resolver";
import { egressFetch } from "../src/adapters/egress";
import { RegistryClient } from "../src/adapters/registry-client";
import { decide, type DecideDeps } from "../src/decide";
import { importPolicy } from "../src/policy/import";
import type { VerifierDeps } from "../src/policy/requirement-kinds";
import { noCounter, systemClock, type Cache, type HttpFetch } from "../src/ports";
import { parseReference } from "../src/reference";
import { defaultRequirementKinds } from "../src/requirements";

/**
 * Added before each request is sent. It makes the count independent of how fast loopback is:
 * requests started together (a parallel fetch) are all still in flight when the next one starts, so
 * only a request that waited for another's answer counts as one more round trip. A request started
 * late for want of CPU after an unrelated answer can still count one too many on a loaded machine,
 * hence several decisions and their median.
 */
export const TRACE_LATENCY_MS = 40;

export interface TracedRequest {
  readonly method: string;
  readonly url: string;
  readonly status: number;
  /** 1 + the deepest request that had been answered when this one started. */
  readonly depth: number;
}

export interface RoundTrips {
  /** Critical-path depth: requests one after the other. */
  readonly sequential: number;
  readonly total: number;
  readonly requests: readonly TracedRequest[];
}

export interface RoundTripCase {
  readonly image: string;
  readonly format: string;
  readonly document: string;
}

/**
 * The fetch port, traced. A request's depth is one more than the deepest request answered (body
 * read) before it started: a request that needed another's answer can only start after it.
 */
function tracingFetch(trace: { answered: number; log: TracedRequest[] }): HttpFetch {
  return async (request) => {
    const depth = trace.answered + 1;
    await new Promise((resolve) => setTimeout(resolve, TRACE_LATENCY_MS));
    const res = await fetch(request);
    const body = request.method === "HEAD" || res.status === 204 || res.status === 304 ? null : await res.arrayBuffer();
    trace.answered = Math.max(trace.answered, depth);
    trace.log.push({ method: request.method, url: request.url, status: res.status, depth });
    return new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers });
  };
}

function memoryCache(): Cache {
  const store = new Map<string, string>();
  return { get: async (k) => store.get(k) ?? null, put: async (k, v) => void store.set(k, v) };
}

/**
 * `decisions` cold decisions of one image, in one "isolate" (clients, tokens and the trust state
 * kept, as in trustgate's cold bench instance: no tag cache, no verdict cache, trust data re-checked
 * every time). The first is an isolate's first decision.
 */
export async function coldRoundTrips(c: RoundTripCase, decisions = 5): Promise<RoundTrips[]> {
  const imported = await importPolicy(c.document, c.format, defaultRequirementKinds);
  const view = { id: "round-trips", revision: imported.revision, policy: imported.policy };
  // Reset before each decision.
  const trace = { answered: 0, log: [] as TracedRequest[] };
  const httpFetch = egressFetch(tracingFetch(trace));
  const verifier: VerifierDeps = {
    fetch: httpFetch,
    trustCache: memoryCache(),
    clock: systemClock,
    counter: noCounter,
    settings: { upstreamTimeoutMs: 5000, trustRecheckSeconds: 0, credentials: {} },
  };
  // Wired as worker/services.ts does, with the cold instance's tag cache TTL of 0: every answer is
  // the registry's, and decide() starts the work that needs no digest (Notary's trust data) with it.
  const registry = cachedDigestResolver(new RegistryClient({ fetch: httpFetch, timeoutMs: 5000 }), memoryCache(), 0, systemClock);
  const out: RoundTrips[] = [];
  for (let i = 0; i < decisions; i++) {
    trace.answered = 0;
    trace.log = [];
    const deps: DecideDeps = { kinds: defaultRequirementKinds, digests: registry, verdictCache: memoryCache(), verdictTtlSeconds: 0, verifier, clock: systemClock };
    const v = await decide({ image: c.image, reference: parseReference(c.image), context: {} }, view, deps);
    if (v.decision !== "allow" || v.cached) throw new Error(`round trips of ${c.image}: expected a cold allow, got ${JSON.stringify(v)}`);
    const requests = [...trace.log].sort((a, b) => a.depth - b.depth);
    out.push({ sequential: Math.max(0, ...requests.map((r) => r.depth)), total: requests.length, requests });
  }
  return out;
}
