// For `npm run bench` only: the real code from src/, run N times per request, so its CPU time inside
// workerd can be measured from outside (workerd's clocks do not advance during pure CPU work, so it
// cannot be timed from inside). The bench reads the workerd process's CPU time from /proc around
// requests with a small and a large N; the difference is the work itself, without the per-request
// overhead (HTTP, wrangler's proxy). See bench/README.md, "CPU time".
//
//   GET /notary-chain?n=N   the full Notary v1 chain over the committed vector (notary-chain.ts)
//   GET /decide-warm?n=N    decide() for a Notary rule whose verdict is already in the (in-memory)
//                           verdict cache: the decision core of a warm decision, no KV, no D1
//   GET /decide-cold?n=N    decide() with every cache empty: digest (fake resolver), trust data
//                           (the vector's files from an in-memory fetch), full verification, verdict
//   GET /keyless-cold?n=N   decide() for a keyless cosign rule with every cache empty: a legacy .sig
//                           layer signed under the test PKI, verified against its inline trust root (keyless.ts)
//
// Every answer is checked here (allow, cached or not as expected, the vector's digest); a wrong
// answer is a 500, so the bench never measures the wrong work.
import { decide, type DecideDeps, type PolicyView } from "../../src/decide";
import { importPolicy } from "../../src/policy/import";
import type { VerifierDeps } from "../../src/policy/requirement-kinds";
import { noCounter, type Cache, type Clock, type HttpFetch } from "../../src/ports";
import { parseReference } from "../../src/reference";
import { defaultRequirementKinds } from "../../src/requirements";
import { primeNotaryParsers } from "../../src/verify/notary-v1/prime";
import { keylessColdDecision } from "./keyless";
import { notaryChain, VECTOR_FILES, type NotaryVector, type VectorCase, type VectorFile } from "./notary-chain";
import caseJson from "../../test/vectors/notary-v1/alice-signed/case.json";
import root from "../../test/vectors/notary-v1/alice-signed/root.json";
import root1 from "../../test/vectors/notary-v1/alice-signed/1.root.json";
import root2 from "../../test/vectors/notary-v1/alice-signed/2.root.json";
import timestamp from "../../test/vectors/notary-v1/alice-signed/timestamp.json";
import snapshot from "../../test/vectors/notary-v1/alice-signed/snapshot.json";
import targets from "../../test/vectors/notary-v1/alice-signed/targets.json";
import releases from "../../test/vectors/notary-v1/alice-signed/targets/releases.json";
import alice from "../../test/vectors/notary-v1/alice-signed/targets/alice.json";

const bytes: Record<VectorFile, ArrayBuffer> = {
  "root.json": root,
  "1.root.json": root1,
  "2.root.json": root2,
  "timestamp.json": timestamp,
  "snapshot.json": snapshot,
  "targets.json": targets,
  "targets/releases.json": releases,
  "targets/alice.json": alice,
};
const vector: NotaryVector = {
  case: JSON.parse(new TextDecoder().decode(caseJson)) as VectorCase,
  files: Object.fromEntries(VECTOR_FILES.map((f) => [f, new Uint8Array(bytes[f])])) as Record<VectorFile, Uint8Array>,
};

// As worker/index.ts does at start-up: the first-run figures measure what the Worker's first
// decision costs.
primeNotaryParsers();

const MAX_N = 5000;
const IMAGE = `${vector.case.gun}:v1`;
const TRUST_SERVER = "127.0.0.1:4443";
// The vector's roles are valid at case.now; the clock stays there.
const clock: Clock = { now: () => new Date(vector.case.now) };

/** The vector's role files as a trust server serves them; anything else is a 404. */
const trustServer: HttpFetch = async (request) => {
  const path = new URL(request.url).pathname;
  const prefix = `/v2/${vector.case.gun}/_trust/tuf/`;
  const file = path.startsWith(prefix) ? (path.slice(prefix.length) as VectorFile) : undefined;
  const body = file && VECTOR_FILES.includes(file) ? vector.files[file] : undefined;
  return body ? new Response(body, { headers: { "Content-Type": "application/json" } }) : new Response("not found", { status: 404 });
};

function memoryCache(): Cache {
  const store = new Map<string, string>();
  return {
    get: async (k) => store.get(k) ?? null,
    put: async (k, v) => void store.set(k, v),
  };
}

function deps(): DecideDeps {
  const verifier: VerifierDeps = {
    fetch: trustServer,
    trustCache: memoryCache(),
    clock,
    counter: noCounter,
    settings: { upstreamTimeoutMs: 3000, trustRecheckSeconds: 60, credentials: {} },
  };
  return {
    kinds: defaultRequirementKinds,
    digests: { resolve: async () => ({ ok: true, digest: vector.case.tags.v1.digest, cached: false }) },
    verdictCache: memoryCache(),
    verdictTtlSeconds: 300,
    verifier,
    clock,
  };
}

/** The bench's Notary policy as Connaisseur writes it, imported by the real code (once per isolate). */
let policyView: Promise<PolicyView> | undefined;
function view(): Promise<PolicyView> {
  policyView ??= importPolicy(
    JSON.stringify({
      validators: [
        { name: "deny", type: "static", approve: false },
        { name: "vector-notary", type: "notaryv1", host: TRUST_SERVER, trust_roots: [{ name: "default", key: vector.case.pinnedRoot.publicKeyPem }] },
      ],
      policy: [
        { pattern: "*:*", validator: "deny" },
        { pattern: `${vector.case.gun.split("/")[0]}/demo/*:*`, validator: "vector-notary", with: { trust_root: "default", delegations: ["alice"] } },
      ],
    }),
    "connaisseur",
    defaultRequirementKinds,
  ).then((p) => ({ id: "bench-cpu", revision: p.revision, policy: p.policy }));
  return policyView;
}

async function decideOnce(d: DecideDeps, expectCached: boolean): Promise<void> {
  const v = await decide({ image: IMAGE, reference: parseReference(IMAGE), context: {} }, await view(), d);
  if (v.decision !== "allow" || v.cached !== expectCached || v.digest !== vector.case.tags.v1.digest) {
    throw new Error(`unexpected verdict (expected allow, cached ${expectCached}): ${JSON.stringify(v)}`);
  }
}

/** One set of in-memory ports for the whole isolate; its verdict cache filled by one cold decision. */
let warm: Promise<DecideDeps> | undefined;
function warmDeps(): Promise<DecideDeps> {
  warm ??= (async () => {
    const d = deps();
    await decideOnce(d, false);
    return d;
  })();
  return warm;
}

const work: Record<string, (n: number) => Promise<void>> = {
  "/notary-chain": async (n) => {
    for (let i = 0; i < n; i++) await notaryChain(vector);
  },
  "/decide-warm": async (n) => {
    const d = await warmDeps();
    for (let i = 0; i < n; i++) await decideOnce(d, true);
  },
  "/decide-cold": async (n) => {
    for (let i = 0; i < n; i++) await decideOnce(deps(), false);
  },
  "/keyless-cold": async (n) => {
    for (let i = 0; i < n; i++) await keylessColdDecision();
  },
};

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    // The policy is imported here, before any measured request, as trustgate imports it on PUT;
    // decide() still compiles it on first use per isolate, as in trustgate.
    if (url.pathname === "/healthz") return Response.json({ ok: true, revision: (await view()).revision });
    const run = work[url.pathname];
    if (!run) return Response.json({ error: `unknown path; one of ${Object.keys(work).join(", ")}` }, { status: 404 });
    const n = Number(url.searchParams.get("n") ?? "1");
    if (!Number.isInteger(n) || n < 1 || n > MAX_N) return Response.json({ error: `n must be an integer 1..${MAX_N}` }, { status: 400 });
    try {
      await run(n);
      return Response.json({ ok: true, path: url.pathname, n });
    } catch (err) {
      return Response.json({ ok: false, error: err instanceof Error ? err.message : String(err) }, { status: 500 });
    }
  },
} satisfies ExportedHandler;
