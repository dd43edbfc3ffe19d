// trustgate benchmark: one run, trustgate next to its baselines, on loopback only.
// See bench/README.md for what is measured and the caveats. Bundled and run by bench/run.mjs.
// BENCH_PHASES=warm,cold,cpu,keyless,bundle,hostile,stats (any subset, comma-separated) runs only those phases.
import { execFile } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { cpus, tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import autocannon from "autocannon";
import { stringify } from "yaml";
import { callApi } from "../test/e2e/lab/api";
import { makeCosignKey, signImage } from "../test/e2e/lab/cosign";
import { createGpgHome } from "../test/e2e/lab/gpg";
import { startLookaside, type LookasideServer } from "../test/e2e/lab/lookaside";
import { makeKey, NotaryClient, runCommand, startNotaryServer } from "../test/e2e/lab/notary";
import { startLatencyProxy } from "./latency-proxy";
import { pushImage, writeOciImage } from "../test/e2e/lab/oci-image";
import { startRegistry } from "../test/e2e/lab/registry";
import { createSkopeoLab } from "../test/e2e/lab/skopeo-oracle";
import { REPO_ROOT, type WorkerHandle } from "../test/e2e/lab/worker";
import { startBenchWorker } from "./bench-worker";
import { coldRoundTrips, TRACE_LATENCY_MS, type RoundTrips } from "./round-trips";
import { hostilePhase, hostileRows, type HostileResult } from "./hostile";
import { statsPhase, statsRows, type StatsResult } from "./stats";
import { notaryChain, SIGNATURES_PER_CHAIN, VECTOR_FILES, type NotaryVector, type VectorFile } from "./cpu-worker/notary-chain";

const run = promisify(execFile);

// Bounded sizes: the whole run stays well under 3 minutes.
// Warm phase: hello-world and trustgate take turns (rounds, order swapped each round), so a change
// in what else the machine is doing falls on both rather than on whichever ran second.
const AUTOCANNON = { connections: 10, duration: 5, warmup: 2, rounds: 3 };
/** Fresh instances per first-run figure (the first Notary chain, the first cold decision). */
const FIRST_RUN_SAMPLES = 3;
const COLD_N = 25; // trustgate cold decisions per signature kind, sequential
const NOTARY_N = 25; // `notary lookup` runs, sequential
/** Added to each trust-server request in the "far" Notary comparison: a nearby region's round trip. */
const UPSTREAM_LATENCY_MS = 20;
const SKOPEO_N = 15; // `skopeo copy` runs per signature kind, sequential
const NODE_CPU_ITER = 200; // in-process verifications of the vector chain (Node cross-check)
// Inside workerd (bench/cpu-worker): `requests` requests asking for `lo` runs each, then `requests`
// asking for `hi` runs each; per run = (CPU(hi batch) - CPU(lo batch)) / ((hi - lo) * requests).
const IN_WORKERD = {
  notaryChain: { path: "/notary-chain", lo: 1, hi: 50, requests: 20 },
  warmDecision: { path: "/decide-warm", lo: 1, hi: 1000, requests: 20 },
  coldDecision: { path: "/decide-cold", lo: 1, hi: 20, requests: 10 },
  keylessDecision: { path: "/keyless-cold", lo: 1, hi: 20, requests: 10 },
} as const;

const PHASES = ["warm", "cold", "cpu", "keyless", "bundle", "hostile", "stats"] as const;
type Phase = (typeof PHASES)[number];

/** BENCH_PHASES, e.g. "warm,cpu": the phases to run; unset or empty: all of them. */
function selectedPhases(): Set<Phase> {
  const raw = (process.env.BENCH_PHASES ?? "").trim();
  if (raw === "") return new Set(PHASES);
  const asked = raw.split(",").map((p) => p.trim()).filter(Boolean);
  const unknown = asked.filter((p) => !(PHASES as readonly string[]).includes(p));
  if (unknown.length > 0) throw new Error(`BENCH_PHASES: unknown phase ${unknown.join(", ")}; phases are ${PHASES.join(", ")}`);
  return new Set(asked as Phase[]);
}

const log = (msg: string) => console.error(`[bench ${((performance.now() - T0) / 1000).toFixed(1)}s] ${msg}`);
const T0 = performance.now();

// ---------------------------------------------------------------------------------------------
// Small statistics helpers.

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
function quantile(xs: number[], q: number): number {
  const s = sorted(xs);
  if (s.length === 0) return NaN;
  const i = (s.length - 1) * q;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return s[lo]! + (s[hi]! - s[lo]!) * (i - lo);
}
const median = (xs: number[]) => quantile(xs, 0.5);
const r2 = (n: number) => Math.round(n * 100) / 100;
const r3 = (n: number) => Math.round(n * 1000) / 1000;

async function timeSequential(n: number, fn: (i: number) => Promise<void>): Promise<number[]> {
  const ms: number[] = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await fn(i);
    ms.push(performance.now() - t);
  }
  return ms;
}

// ---------------------------------------------------------------------------------------------
// CPU time of workerd, from /proc: the workerd process of one `wrangler dev` (found by the
// WRANGLER_LOG_PATH the lab gives each instance, which workerd inherits). Each thread's
// /proc/<pid>/task/<tid>/schedstat gives its time on CPU in ns (utime+stime in /proc/<pid>/stat
// would only give 10 ms ticks, too coarse for one request).

/**
 * Every process of one `wrangler dev`, by role: the workerd serving the dev port (wrangler's proxy,
 * which also relays the inspector), the workerd running the Worker (with the KV/D1 simulations),
 * and wrangler's own node processes (the request log of each request passes through it).
 */
interface DevProcesses {
  proxy: number[];
  runtime: number[];
  wrangler: number[];
}

function devProcesses(handle: WorkerHandle): DevProcesses {
  const marker = `WRANGLER_LOG_PATH=${join(handle.dir, "logs")}`;
  const entry = `--socket-addr=entry=127.0.0.1:${new URL(handle.url).port}`;
  const found: DevProcesses = { proxy: [], runtime: [], wrangler: [] };
  for (const entryName of readdirSync("/proc")) {
    if (!/^\d+$/.test(entryName)) continue;
    try {
      const comm = readFileSync(`/proc/${entryName}/comm`, "utf8").trim();
      if (comm !== "node" && !comm.startsWith("workerd")) continue;
      if (!readFileSync(`/proc/${entryName}/environ`, "utf8").split("\0").includes(marker)) continue;
      const pid = Number(entryName);
      if (comm === "node") found.wrangler.push(pid);
      else if (readFileSync(`/proc/${entryName}/cmdline`, "utf8").split("\0").includes(entry)) found.proxy.push(pid);
      else found.runtime.push(pid);
    } catch {
      // Gone, or not ours to read.
    }
  }
  return found;
}

/** The workerd processes of one `wrangler dev` (proxy and runtime). */
function workerdPids(handle: WorkerHandle): number[] {
  const { proxy, runtime } = devProcesses(handle);
  return [...proxy, ...runtime].sort((a, b) => a - b);
}

/** Time on CPU (ms, ns resolution) summed over every thread of the given processes. */
function cpuMs(pids: readonly number[]): number {
  let ns = 0;
  for (const pid of pids) {
    let tids: string[];
    try {
      tids = readdirSync(`/proc/${pid}/task`);
    } catch {
      continue; // exited
    }
    for (const tid of tids) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
      } catch {
        // thread exited
      }
    }
  }
  return ns / 1e6;
}

// wrangler dev rebuilds and restarts the Worker's workerd process when a source file changes (on a
// shared machine, someone else's edit under src/ or worker/). A measurement across such a restart is
// worthless: the process set is compared before and after every measured span, and a change is
// recorded here (and printed under the table), or the span measured again where that is possible.
const reloads: string[] = [];
const samePids = (a: readonly number[], b: readonly number[]) => a.join(",") === b.join(",");

class Reloaded extends Error {}

type ByProcess = Record<keyof DevProcesses, number>;

async function withWorkerdCpu<T>(handle: WorkerHandle, label: string, fn: () => Promise<T>): Promise<{ value: T; cpuMs: number | null; pids: number; byProcess: ByProcess | null }> {
  const dev = devProcesses(handle);
  const pids = [...dev.proxy, ...dev.runtime].sort((a, b) => a - b);
  const roles = Object.keys(dev) as (keyof DevProcesses)[];
  const each = () => Object.fromEntries(roles.map((role) => [role, cpuMs(dev[role])])) as ByProcess;
  const before = each();
  const value = await fn();
  const after = each();
  if (!samePids(pids, workerdPids(handle))) {
    reloads.push(label);
    return { value, cpuMs: null, pids: pids.length, byProcess: null };
  }
  const byProcess = Object.fromEntries(roles.map((role) => [role, after[role] - before[role]])) as ByProcess;
  // workerd only (proxy and runtime), as the earlier figure was; byProcess adds wrangler's node.
  return { value, cpuMs: pids.length ? byProcess.proxy + byProcess.runtime : null, pids: pids.length, byProcess };
}

// ---------------------------------------------------------------------------------------------
// autocannon

interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  errors: number;
  workerdCpuMsPerRequest: number | null;
  workerdProcesses: number;
  /** CPU per request (ms) of each of wrangler dev's processes, node included (devProcesses). */
  cpuMsPerRequestByProcess: ByProcess | null;
}

async function load(handle: WorkerHandle, label: string, path: string, token: string, body: string, warmup = true): Promise<LoadResult> {
  const opts = {
    url: `${handle.url}${path}`,
    method: "POST" as const,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body,
    connections: AUTOCANNON.connections,
  };
  if (warmup) await autocannon({ ...opts, duration: AUTOCANNON.warmup });
  const { value: r, cpuMs: cpu, pids, byProcess } = await withWorkerdCpu(handle, label, () => autocannon({ ...opts, duration: AUTOCANNON.duration }));
  const requests = r.requests.total;
  return {
    rps: r2(r.requests.average),
    p50: r.latency.p50,
    p99: r.latency.p99,
    requests,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
    workerdCpuMsPerRequest: cpu === null || requests === 0 ? null : r3(cpu / requests),
    workerdProcesses: pids,
    cpuMsPerRequestByProcess: byProcess === null || requests === 0 ? null : perRequest(byProcess, requests),
  };
}

/** Rounds of one target as one figure: rate over the whole time, median latencies, CPU per request. */
function combine(rounds: readonly LoadResult[]): LoadResult & { rounds: number } {
  const requests = rounds.reduce((n, r) => n + r.requests, 0);
  const cpu = rounds.every((r) => r.workerdCpuMsPerRequest !== null)
    ? rounds.reduce((t, r) => t + r.workerdCpuMsPerRequest! * r.requests, 0)
    : null;
  return {
    rps: r2(requests / (AUTOCANNON.duration * rounds.length)),
    p50: median(rounds.map((r) => r.p50)),
    p99: median(rounds.map((r) => r.p99)),
    requests,
    non2xx: rounds.reduce((n, r) => n + r.non2xx, 0),
    errors: rounds.reduce((n, r) => n + r.errors, 0),
    workerdCpuMsPerRequest: cpu === null || requests === 0 ? null : r3(cpu / requests),
    workerdProcesses: Math.max(...rounds.map((r) => r.workerdProcesses)),
    cpuMsPerRequestByProcess: rounds.every((r) => r.cpuMsPerRequestByProcess !== null) && requests > 0
      ? perRequest(
          {
            proxy: rounds.reduce((t, r) => t + r.cpuMsPerRequestByProcess!.proxy * r.requests, 0),
            runtime: rounds.reduce((t, r) => t + r.cpuMsPerRequestByProcess!.runtime * r.requests, 0),
            wrangler: rounds.reduce((t, r) => t + r.cpuMsPerRequestByProcess!.wrangler * r.requests, 0),
          },
          requests,
        )
      : null,
    rounds: rounds.length,
  };
}

function perRequest(total: ByProcess, requests: number): ByProcess {
  return { proxy: r3(total.proxy / requests), runtime: r3(total.runtime / requests), wrangler: r3(total.wrangler / requests) };
}

// ---------------------------------------------------------------------------------------------
// CPU inside workerd: bench/cpu-worker runs the real code N times per request; the workerd
// process's CPU time is read around requests with a small and a large N. The difference is the
// work itself: per-request overhead (HTTP, wrangler's proxy, routing) is the same in both.

const settle = () => new Promise((r) => setTimeout(r, 200));

/** One request; throws unless the Worker says the work was done and checked. */
async function cpuRequest(handle: WorkerHandle, path: string, n: number): Promise<void> {
  const response = await fetch(`${handle.url}${path}?n=${n}`);
  const text = await response.text();
  if (response.status !== 200 || !(JSON.parse(text) as { ok?: boolean }).ok) throw new Error(`cpu-worker ${path}?n=${n}: HTTP ${response.status} ${text.slice(0, 500)}`);
}

/** CPU of each request (ms) and of the whole batch, settling time included (same for every batch). */
async function cpuBatch(handle: WorkerHandle, pids: readonly number[], path: string, n: number, requests: number) {
  const perRequest: number[] = [];
  await settle();
  const start = cpuMs(pids);
  for (let i = 0; i < requests; i++) {
    const before = cpuMs(pids);
    await cpuRequest(handle, path, n);
    perRequest.push(cpuMs(pids) - before);
  }
  await settle();
  return { totalMs: cpuMs(pids) - start, perRequest };
}

interface InWorkerd {
  path: string;
  lo: number;
  hi: number;
  requests: number;
  /** (CPU(hi batch) - CPU(lo batch)) / ((hi - lo) * requests): CPU per run, ms. */
  perRunMs: number;
  /** The same from each hi request against the lo batch's mean: its spread. */
  perRunMedianMs: number;
  perRunP90Ms: number;
  /** CPU per lo request that is not the work: HTTP, proxy, routing (ms). */
  overheadPerRequestMs: number;
  loBatchMs: number;
  hiBatchMs: number;
}

/** Measured again (up to 3 times) when wrangler restarts workerd in the middle. */
async function inWorkerd(handle: WorkerHandle, spec: { path: string; lo: number; hi: number; requests: number }): Promise<InWorkerd> {
  for (let attempt = 1; ; attempt++) {
    const pids = workerdPids(handle);
    try {
      if (pids.length === 0) throw new Reloaded("no workerd process found");
      const result = await inWorkerdOnce(handle, pids, spec);
      if (!samePids(pids, workerdPids(handle))) throw new Reloaded("workerd restarted");
      return result;
    } catch (err) {
      if (!(err instanceof Reloaded) || attempt === 3) throw err;
      log(`3. cpu: ${spec.path}: ${err.message} (wrangler reloaded after a source change); measuring again`);
      reloads.push(`cpu ${spec.path} (measured again)`);
    }
  }
}

async function inWorkerdOnce(handle: WorkerHandle, pids: readonly number[], spec: { path: string; lo: number; hi: number; requests: number }): Promise<InWorkerd> {
  const { path, lo, hi, requests } = spec;
  // Warm-up, discarded: JIT, first-use costs, and the warm decision's primed verdict cache.
  for (let i = 0; i < 3; i++) {
    await cpuRequest(handle, path, lo);
    await cpuRequest(handle, path, hi);
  }
  const loBatch = await cpuBatch(handle, pids, path, lo, requests);
  const hiBatch = await cpuBatch(handle, pids, path, hi, requests);
  const perRun = (hiBatch.totalMs - loBatch.totalMs) / ((hi - lo) * requests);
  const loMean = loBatch.perRequest.reduce((a, b) => a + b, 0) / requests;
  const each = hiBatch.perRequest.map((ms) => (ms - loMean) / (hi - lo));
  return {
    path,
    lo,
    hi,
    requests,
    perRunMs: r3(perRun),
    perRunMedianMs: r3(median(each)),
    perRunP90Ms: r3(quantile(each, 0.9)),
    overheadPerRequestMs: r3(loMean - lo * perRun),
    loBatchMs: r2(loBatch.totalMs),
    hiBatchMs: r2(hiBatch.totalMs),
  };
}

// ---------------------------------------------------------------------------------------------
// Node, same code (bench/cpu-worker/notary-chain.ts): a cross-check of the in-workerd figure.

function readVector(): NotaryVector {
  const dir = join(REPO_ROOT, "test/vectors/notary-v1/alice-signed");
  const files = Object.fromEntries(VECTOR_FILES.map((f) => [f, new Uint8Array(readFileSync(join(dir, f)))])) as Record<VectorFile, Uint8Array>;
  return { case: JSON.parse(readFileSync(join(dir, "case.json"), "utf8")), files };
}

async function notaryChainCpuInNode() {
  const vector = readVector();
  const cpuOf = async () => {
    const u = process.cpuUsage();
    await notaryChain(vector);
    const d = process.cpuUsage(u);
    return (d.user + d.system) / 1000;
  };
  const first = await cpuOf();
  const samples: number[] = [];
  for (let i = 0; i < NODE_CPU_ITER; i++) samples.push(await cpuOf());
  return { firstMs: r2(first), medianMs: r3(median(samples)), p99Ms: r3(quantile(samples, 0.99)), iterations: NODE_CPU_ITER };
}

// ---------------------------------------------------------------------------------------------
// Bundle size: scripts/bundle-size.mjs as it is, its output parsed.

async function bundleSize() {
  try {
    const { stdout } = await run(process.execPath, [join(REPO_ROOT, "scripts/bundle-size.mjs")], {
      cwd: REPO_ROOT,
      timeout: 120_000,
      env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false", WRANGLER_SEND_ERROR_REPORTS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false" },
    });
    const head = /worker bundle: ([\d.]+) KiB raw, ([\d.]+) KiB gzipped/.exec(stdout);
    const deps = [...stdout.matchAll(/^ {2}(\S.*?)\s+([\d.]+) KiB minified$/gm)].map((m) => ({ name: m[1]!.trim(), minifiedKiB: Number(m[2]) }));
    return { rawKiB: head ? Number(head[1]) : null, gzipKiB: head ? Number(head[2]) : null, largest: deps, output: stdout.trim() };
  } catch (err) {
    return { rawKiB: null, gzipKiB: null, largest: [], output: `bundle-size failed: ${err instanceof Error ? err.message : String(err)}` };
  }
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const phases = selectedPhases();
  const has = (p: Phase) => phases.has(p);
  const work = await mkdtemp(join(tmpdir(), "trustgate-bench-"));
  const started: { stop(): Promise<unknown> }[] = [];
  const keep = <T extends { stop(): Promise<unknown> } | { close(): Promise<unknown> }>(x: T): T => {
    // close() where there is one (it also removes temp dirs), else stop().
    started.push("close" in x ? { stop: () => x.close() } : (x as { stop(): Promise<unknown> }));
    return x;
  };
  const maybe = <T extends { stop(): Promise<unknown> } | { close(): Promise<unknown> }>(wanted: boolean, start: () => Promise<T>): Promise<T | undefined> =>
    wanted ? start().then(keep) : Promise.resolve(undefined);
  const results: Record<string, unknown> = { startedAt: new Date().toISOString(), node: process.version, cpus: cpus().length, phases: [...phases] };
  try {
    const lab = has("warm") || has("cold");
    log(`phases: ${[...phases].join(", ")}; starting what they need`);
    const zero = { TRUST_RECHECK_SECONDS: "0", TAG_CACHE_TTL_SECONDS: "0", VERDICT_CACHE_TTL_SECONDS: "0" };
    const cpuProject = { projectDir: join(REPO_ROOT, "bench/cpu-worker") };
    // First runs in a fresh isolate are single samples that swing by half from one instance to the
    // next: FIRST_RUN_SAMPLES instances for the first chain (the first of them then serves every
    // other CPU figure) and as many for the first cold decision, each untouched until then.
    const freshCpuWorkers = () => Promise.all(Array.from({ length: FIRST_RUN_SAMPLES }, () => maybe(has("cpu"), () => startBenchWorker(cpuProject))));
    const [warm, cold, hello, chainFresh, decideFresh, registry, notary, gpg, skopeo, keylessWorker] = await Promise.all([
      maybe(has("warm"), () => startBenchWorker()),
      maybe(has("cold"), () => startBenchWorker({ vars: zero })),
      maybe(has("warm"), () => startBenchWorker({ projectDir: join(REPO_ROOT, "bench/hello-world") })),
      freshCpuWorkers(),
      freshCpuWorkers(),
      maybe(lab, () => startRegistry()),
      maybe(lab, () => startNotaryServer()),
      maybe(has("cold"), () => createGpgHome()),
      maybe(has("cold"), () => createSkopeoLab()),
      // Its own instance: the keyless phase runs alone as often as with the cpu phase.
      maybe(has("keyless"), () => startBenchWorker(cpuProject)),
    ] as const);

    if (registry && notary) {
      const h = registry.host;

      // --- Notary v1: root pinned, targets/releases + targets/ci delegated to ci, v1 signed into both.
      log("notary: keys, image, trust data");
      const owner = keep(await NotaryClient.create(notary));
      const keys = join(work, "keys");
      const [root, ci] = await Promise.all([makeKey(keys, "root"), makeKey(keys, "ci")]);
      const oci = await writeOciImage(join(work, "img"), { seed: "bench" });
      const { size } = await stat(join(work, "img", "blobs", "sha256", oci.manifestDigest.slice(7)));
      const notaryRepo = "bench/notary";
      const gun = `${h}/${notaryRepo}`;
      const notaryImage = `${gun}:v1`;
      await pushImage(join(work, "img"), notaryImage);
      await owner.importKey(ci.keyFile, { role: "ci" });
      await owner.init(gun, { rootKey: root.keyFile });
      await owner.addSigner(gun, "ci", { keyFile: ci.publicKeyFile });
      await owner.addTarget(gun, "v1", oci.manifestDigest, size, { roles: ["targets/releases", "targets/ci"] });
      await owner.publish(gun);

      const notaryPolicy = stringify({
        validators: [
          { name: "deny", type: "static", approve: false },
          { name: "lab-notary", type: "notaryv1", host: new URL(notary.url).host, trust_roots: [{ name: "default", key: root.publicKeyPem }] },
        ],
        policy: [
          { pattern: "*:*", validator: "deny" },
          { pattern: `${h}/bench/*:*`, validator: "lab-notary", with: { trust_root: "default", delegations: ["ci"] } },
        ],
      });
      const putPolicy = async (w: WorkerHandle, id: string, format: string, body: unknown, contentType?: string) => {
        const put = await callApi(w.url, "PUT", `/v1/policies/${id}?format=${format}`, w.adminToken, body, contentType);
        if (put.status !== 200) throw new Error(`PUT ${id}: ${JSON.stringify(put.json)}`);
      };
      const decide = async (w: WorkerHandle, image: string, policy: string) => {
        const r = await callApi(w.url, "POST", "/v1/decisions", w.clientToken, { image, policy });
        if (r.status !== 200 || r.json.decision !== "allow") throw new Error(`decision ${image}: HTTP ${r.status} ${JSON.stringify(r.json)}`);
        return r.json as { cached: boolean; decision: string };
      };
      for (const w of [warm, cold]) if (w) await putPolicy(w, "bench-notary", "connaisseur", notaryPolicy, "application/yaml");

      // --- 1. Warm decisions next to hello world.
      if (warm && hello) {
        log("1. warm: priming the verdict cache");
        await decide(warm, notaryImage, "bench-notary");
        const primed = await decide(warm, notaryImage, "bench-notary");
        if (!primed.cached) throw new Error(`warm: second decision was not served from the verdict cache: ${JSON.stringify(primed)}`);
        const body = JSON.stringify({ image: notaryImage, policy: "bench-notary" });
        const helloRounds: LoadResult[] = [];
        const warmRounds: LoadResult[] = [];
        const runHello = async (i: number) => {
          log(`1. warm: round ${i + 1}/${AUTOCANNON.rounds}: autocannon hello-world (${AUTOCANNON.connections} connections${i === 0 ? `, ${AUTOCANNON.warmup}s warm-up` : ""}, ${AUTOCANNON.duration}s)`);
          helloRounds.push(await load(hello, "warm: hello-world", "/v1/decisions", "x", body, i === 0));
        };
        const runWarm = async (i: number) => {
          log(`1. warm: round ${i + 1}/${AUTOCANNON.rounds}: autocannon trustgate POST /v1/decisions`);
          warmRounds.push(await load(warm, "warm: trustgate", "/v1/decisions", warm.clientToken, body, i === 0));
        };
        for (let i = 0; i < AUTOCANNON.rounds; i++) {
          if (i % 2 === 0) {
            await runHello(i);
            await runWarm(i);
          } else {
            await runWarm(i);
            await runHello(i);
          }
        }
        const helloLoad = combine(helloRounds);
        const warmLoad = combine(warmRounds);
        const after = await decide(warm, notaryImage, "bench-notary");
        const ratio = r2(warmLoad.rps / helloLoad.rps);
        const roundRatios = warmRounds.map((w, i) => r2(w.rps / helloRounds[i]!.rps));
        results.warm = { trustgate: warmLoad, helloWorld: helloLoad, ratio, roundRatios, target: 0.8, stillCachedAfter: after.cached, ...AUTOCANNON };
      }

      // --- 2. Cold decisions next to the reference tools.
      if (cold && gpg && skopeo) {
        // Simple signing: skopeo copy --sign-by (GPG RSA 2048), signatures in a loopback lookaside.
        log("simple signing: gpg key, signed push");
        await mkdir(join(work, "lookaside"));
        const lookaside: LookasideServer = keep(await startLookaside(join(work, "lookaside")));
        const rsa = await gpg.makeKey("rsa", "rsa");
        const simpleImage = `${h}/bench/simple:v1`;
        const signingDocs = [stringify({ docker: { [h]: { lookaside: lookaside.url, "lookaside-staging": `file://${lookaside.dir}` } } })];
        const readDocs = [stringify({ docker: { [h]: { lookaside: lookaside.url } } })];
        await skopeo.push(join(work, "img"), simpleImage, { signBy: rsa.fingerprint, gpg, registriesD: signingDocs });
        const simplePolicy = {
          default: [{ type: "reject" }],
          transports: { docker: { [`${h}/bench/simple`]: [{ type: "signedBy", keyType: "GPGKeys", keyData: rsa.keyData }] } },
        };
        const simpleDoc = { policy: simplePolicy, "registries.d": readDocs };
        await putPolicy(cold, "bench-simple", "containers-policy", simpleDoc);

        // cosign: an ECDSA P-256 key as `cosign generate-key-pair` makes, the signature written as
        // `cosign sign --key` writes it (the `sha256-<hex>.sig` tag; test/e2e/lab/cosign.ts).
        log("cosign: key, image, signature");
        const cosignKey = makeCosignKey("ci");
        const cosignRepo = "bench/cosign";
        const cosignImage = `${h}/${cosignRepo}:v1`;
        await pushImage(join(work, "img"), cosignImage);
        await signImage(registry, cosignRepo, oci.manifestDigest, [cosignKey]);
        const cosignDoc = {
          rules: [{ pattern: `${h}/${cosignRepo}`, require: [{ type: "cosign", keys: [{ name: "ci", key: cosignKey.publicKeyPem }] }] }],
        };
        await putPolicy(cold, "bench-cosign", "native", cosignDoc);
        // No cosign CLI in Debian. The same requirement for skopeo would be containers/image's
        // sigstoreSigned (it reads cosign's `.sig` tags with use-sigstore-attachments), but Debian's
        // skopeo is built with it disabled ("Debian-local change: sigstore disabled"). Probed once:
        // a skopeo that accepts gets timed next to trustgate, otherwise its answer is recorded.
        const sigstorePolicy = {
          default: [{ type: "reject" }],
          transports: {
            docker: {
              [`${h}/${cosignRepo}`]: [
                { type: "sigstoreSigned", keyData: Buffer.from(cosignKey.publicKeyPem).toString("base64"), signedIdentity: { type: "matchRepository" } },
              ],
            },
          },
        };
        const sigstoreDocs = [stringify({ docker: { [h]: { "use-sigstore-attachments": true } } })];

        let cachedSeen = 0;
        const coldRun = async (image: string, policy: string) =>
          withWorkerdCpu(cold, `cold: trustgate ${policy}`, () =>
            timeSequential(COLD_N, async () => {
              if ((await decide(cold, image, policy)).cached) cachedSeen++;
            }),
          );
        log(`2. cold: trustgate notary x${COLD_N}`);
        const tgNotary = await coldRun(notaryImage, "bench-notary");
        log(`2. cold: notary lookup x${NOTARY_N} (fresh trust dir each)`);
        const notaryCli = await timeSequential(NOTARY_N, async (i) => {
          const d = join(work, `notary-lookup-${i}`);
          const res = await runCommand("notary", ["-s", notary.url, "-d", d, "lookup", gun, "v1"]);
          if (!res.stdout.includes(oci.manifestDigest.slice(7))) throw new Error(`notary lookup: ${res.stdout} ${res.stderr}`);
        });
        // The same, with a trust server as far away as a real one: each request to notary-server
        // held UPSTREAM_LATENCY_MS by a proxy (bench/latency-proxy.ts), for trustgate and notary lookup alike.
        log(`2. cold: notary, ${UPSTREAM_LATENCY_MS} ms per trust-server request (delaying proxy), trustgate x${COLD_N} and notary lookup x${NOTARY_N}`);
        const far = keep(await startLatencyProxy(notary.url, UPSTREAM_LATENCY_MS));
        await putPolicy(cold, "bench-notary-far", "connaisseur", notaryPolicy.replace(new URL(notary.url).host, new URL(far.url).host), "application/yaml");
        const tgNotaryFar = await coldRun(notaryImage, "bench-notary-far");
        const notaryCliFar = await timeSequential(NOTARY_N, async (i) => {
          const d = join(work, `notary-lookup-far-${i}`);
          const res = await runCommand("notary", ["-s", far.url, "-d", d, "lookup", gun, "v1"]);
          if (!res.stdout.includes(oci.manifestDigest.slice(7))) throw new Error(`notary lookup (far): ${res.stdout} ${res.stderr}`);
        });
        log(`2. cold: trustgate simple signing x${COLD_N}`);
        const tgSimple = await coldRun(simpleImage, "bench-simple");
        log(`2. cold: skopeo copy (signedBy) x${SKOPEO_N}`);
        const skopeoCli = await timeSequential(SKOPEO_N, async () => {
          const v = await skopeo.verdict(simplePolicy, readDocs, simpleImage);
          if (v.verdict !== "accept") throw new Error(`skopeo rejected: ${v.message}`);
        });
        log(`2. cold: trustgate cosign x${COLD_N}`);
        const tgCosign = await coldRun(cosignImage, "bench-cosign");
        log("2. cold: skopeo copy (sigstoreSigned), probe");
        const probe = await skopeo.verdict(sigstorePolicy, sigstoreDocs, cosignImage);
        let skopeoCosign: number[] | null = null;
        if (probe.verdict === "accept") {
          log(`2. cold: skopeo copy (sigstoreSigned) x${SKOPEO_N}`);
          skopeoCosign = await timeSequential(SKOPEO_N, async () => {
            const v = await skopeo.verdict(sigstorePolicy, sigstoreDocs, cosignImage);
            if (v.verdict !== "accept") throw new Error(`skopeo rejected the cosign signature: ${v.message}`);
          });
        }

        // Round trips one after the other per cold decision (bench/round-trips.ts: decide() in Node
        // against the same servers, every request traced).
        log(`2. cold: round trips per decision (traced, ${TRACE_LATENCY_MS} ms added per request)`);
        const trips = async (image: string, format: string, document: string) => {
          const runs = await coldRoundTrips({ image, format, document });
          const last = runs[runs.length - 1]!;
          return {
            sequential: median(runs.map((r) => r.sequential)),
            total: median(runs.map((r) => r.total)),
            perDecision: runs.map((r: RoundTrips) => `${r.sequential}/${r.total}`),
            requests: last.requests.map((r) => `${r.depth}: ${r.method} ${r.url} ${r.status}`),
          };
        };
        const notaryTrips = await trips(notaryImage, "connaisseur", notaryPolicy);
        const simpleTrips = await trips(simpleImage, "containers-policy", JSON.stringify(simpleDoc));
        const cosignTrips = await trips(cosignImage, "native", JSON.stringify(cosignDoc));

        const side = (ms: number[]) => ({ n: ms.length, medianMs: r2(median(ms)), p90Ms: r2(quantile(ms, 0.9)) });
        const ours = (t: { value: number[]; cpuMs: number | null }) => ({ ...side(t.value), workerdCpuMsPerDecision: t.cpuMs === null ? null : r2(t.cpuMs / COLD_N) });
        results.cold = {
          cachedResponses: cachedSeen,
          roundTripLatencyMs: TRACE_LATENCY_MS,
          notaryV1: {
            trustgate: ours(tgNotary),
            roundTrips: notaryTrips,
            reference: { tool: "notary lookup (fresh -d per run)", ...side(notaryCli) },
            withUpstreamLatency: { latencyMs: UPSTREAM_LATENCY_MS, trustgate: ours(tgNotaryFar), reference: { tool: "notary lookup (fresh -d per run)", ...side(notaryCliFar) } },
          },
          simpleSigning: { trustgate: ours(tgSimple), roundTrips: simpleTrips, reference: { tool: "skopeo copy docker:// dir: (signedBy)", ...side(skopeoCli) } },
          cosign: {
            trustgate: ours(tgCosign),
            roundTrips: cosignTrips,
            reference: skopeoCosign
              ? { tool: "skopeo copy docker:// dir: (sigstoreSigned)", ...side(skopeoCosign) }
              : { tool: null, why: `no cosign CLI in Debian; skopeo copy (sigstoreSigned) refuses: ${probe.message}` },
          },
        };
      }
    }

    // --- 3. CPU inside workerd, and the Node cross-check.
    const cpuWorker = chainFresh[0];
    if (cpuWorker) {
      // First runs: each instance has only answered /healthz so far (module evaluated, policy
      // imported, nothing run). /healthz once more first: after a reload the new isolate has not.
      const firstRequest = async (handle: WorkerHandle, path: string): Promise<number | null> => {
        const health = await fetch(`${handle.url}/healthz`);
        await health.text();
        await settle();
        return (await withWorkerdCpu(handle, `cpu first run ${path} (not measured)`, () => cpuRequest(handle, path, 1))).cpuMs;
      };
      log(`3. cpu: first Notary chain, and first cold decision, each in a fresh isolate (${FIRST_RUN_SAMPLES} instances each)`);
      const firstRequests = async (handles: (WorkerHandle | undefined)[], path: string) => {
        const ms: (number | null)[] = [];
        for (const h of handles) ms.push(h ? await firstRequest(h, path) : null);
        return ms;
      };
      const firstRequestMs = await firstRequests(chainFresh, IN_WORKERD.notaryChain.path);
      const firstColdRequestMs = await firstRequests(decideFresh, IN_WORKERD.coldDecision.path);
      const spec = IN_WORKERD.notaryChain;
      log(`3. cpu: Notary chain in workerd, ${spec.requests} requests x ${spec.lo} then x ${spec.hi}`);
      const chain = await inWorkerd(cpuWorker, spec);
      log("3. cpu: warm and cold decision core in workerd");
      const warmCore = await inWorkerd(cpuWorker, IN_WORKERD.warmDecision);
      const coldCore = await inWorkerd(cpuWorker, IN_WORKERD.coldDecision);
      // Each first request's CPU less what a later n=1 request costs besides the work; the median of the samples.
      const firstRun = (requestsMs: (number | null)[], overheadMs: number) => {
        const samples = requestsMs.filter((ms): ms is number => ms !== null).map((ms) => r2(ms - overheadMs));
        return { firstRunMs: samples.length === 0 ? null : r2(median(samples)), firstRunSamplesMs: samples };
      };
      const pids = workerdPids(cpuWorker);
      log(`3. cpu: Notary chain in Node x${NODE_CPU_ITER} (cross-check)`);
      const node = await notaryChainCpuInNode();
      const w = results.warm as { trustgate: LoadResult; helloWorld: LoadResult } | undefined;
      const c = results.cold as Record<"notaryV1" | "simpleSigning" | "cosign", { trustgate: { workerdCpuMsPerDecision: number | null } }> | undefined;
      results.cpu = {
        vector: "test/vectors/notary-v1/alice-signed",
        signaturesPerChain: SIGNATURES_PER_CHAIN,
        notaryChainInWorkerd: {
          ...chain,
          ...firstRun(firstRequestMs, chain.overheadPerRequestMs),
          firstRequestsMs: firstRequestMs.map((ms) => (ms === null ? null : r2(ms))),
          budgetMs: 10,
        },
        warmDecisionCoreInWorkerd: { ...warmCore, budgetMs: 1 },
        coldNotaryDecisionCoreInWorkerd: {
          ...coldCore,
          // Measured on instances of their own; the per-request overhead from this one (same Worker).
          ...firstRun(firstColdRequestMs, coldCore.overheadPerRequestMs),
          firstRequestsMs: firstColdRequestMs.map((ms) => (ms === null ? null : r2(ms))),
          budgetMs: 10,
        },
        notaryChainNodeSameCode: node,
        workerdPids: pids.length,
        // The whole workerd process of the trustgate instances per request (an upper bound).
        workerdProcessCpuPerRequest: {
          warmDecision: w?.trustgate.workerdCpuMsPerRequest ?? null,
          helloWorld: w?.helloWorld.workerdCpuMsPerRequest ?? null,
          coldNotaryDecision: c?.notaryV1.trustgate.workerdCpuMsPerDecision ?? null,
          coldSimpleSigningDecision: c?.simpleSigning.trustgate.workerdCpuMsPerDecision ?? null,
          coldCosignDecision: c?.cosign.trustgate.workerdCpuMsPerDecision ?? null,
        },
      };
    }

    // --- 3b. CPU of a cold keyless cosign decision inside workerd (bench/cpu-worker/keyless.ts).
    if (keylessWorker) {
      const spec = IN_WORKERD.keylessDecision;
      log(`3b. keyless: cold keyless cosign decide() in workerd, ${spec.requests} requests x ${spec.lo} then x ${spec.hi}`);
      results.keyless = { ...(await inWorkerd(keylessWorker, spec)), budgetMs: 5 };
    }

    // --- 5. Hostile registry (bench/hostile.ts): its own Worker, after the timed phases above.
    if (has("hostile")) results.hostile = await hostilePhase(log);

    // --- 6. Stats (bench/stats.ts): a million verdict rows in a local D1, each stats query timed.
    if (has("stats")) results.stats = await statsPhase(log);

    // --- 4. Bundle.
    if (has("bundle")) {
      log("4. bundle size");
      // After the timed parts: wrangler's dry-run build would compete for the CPUs.
      results.bundle = await bundleSize();
    }
  } finally {
    log("stopping");
    await Promise.allSettled(started.reverse().map((s) => s.stop()));
    await rm(work, { recursive: true, force: true });
  }

  results.reloads = reloads;
  results.finishedAt = new Date().toISOString();
  const stamp = (results.startedAt as string).replace(/[:.]/g, "-");
  const out = join(REPO_ROOT, "bench", "results", `${stamp}.json`);
  await mkdir(join(REPO_ROOT, "bench", "results"), { recursive: true });
  await writeFile(out, JSON.stringify(results, null, 2) + "\n");
  console.log(table(results));
  console.log(`\nJSON: ${out}`);
}

function table(r: any): string {
  const ok = (cond: boolean) => (cond ? "OK  " : "MISS");
  const rows: [string, string, string, string][] = [];
  const w = r.warm;
  if (w) {
    rows.push(["1. warm POST /v1/decisions (notary, verdict cached)", `${w.trustgate.rps} req/s, p50 ${w.trustgate.p50} ms, p99 ${w.trustgate.p99} ms`, `hello-world: ${w.helloWorld.rps} req/s, p50 ${w.helloWorld.p50} ms, p99 ${w.helloWorld.p99} ms`, `ratio ${w.ratio} (rounds ${(w.roundRatios ?? []).join(", ")}; target >= 0.8) ${ok(w.ratio >= 0.8)}`]);
    const by = (x: ByProcess | null) => (x ? `runtime ${x.runtime}, proxy ${x.proxy}, wrangler ${x.wrangler} ms` : "not measured (reload)");
    rows.push(["1. warm CPU per request, by wrangler dev process", by(w.trustgate.cpuMsPerRequestByProcess), `hello-world: ${by(w.helloWorld.cpuMsPerRequestByProcess)}`, "workerd runtime, workerd proxy, node"]);
  }
  const c = r.cold;
  if (c) {
    const cold = (label: string, x: any, name: string) => {
      const t = x.trustgate;
      const ref = x.reference;
      rows.push([`2. cold ${label} decision (median)`, `${t.medianMs} ms (p90 ${t.p90Ms}, n=${t.n})`, `${name}: ${ref.medianMs} ms (p90 ${ref.p90Ms}, n=${ref.n})`, `${name.split(" ")[0]}/trustgate = ${r2(ref.medianMs / t.medianMs)}`]);
    };
    cold("Notary v1", c.notaryV1, "notary lookup");
    if (c.notaryV1.withUpstreamLatency) cold(`Notary v1, ${c.notaryV1.withUpstreamLatency.latencyMs} ms per trust-server request`, c.notaryV1.withUpstreamLatency, "notary lookup");
    cold("simple-signing", c.simpleSigning, "skopeo copy");
    if (c.cosign.reference.tool) cold("cosign", c.cosign, "skopeo copy (sigstoreSigned)");
    else {
      const t = c.cosign.trustgate;
      const why = /sigstore disabled/.test(c.cosign.reference.why) ? "Debian's skopeo: sigstore disabled" : "skopeo sigstoreSigned refused (see JSON)";
      rows.push(["2. cold cosign decision (median)", `${t.medianMs} ms (p90 ${t.p90Ms}, n=${t.n})`, `none: no cosign CLI in Debian; ${why}`, "trustgate only"]);
    }
    const trips = (x: any) => `${x.roundTrips.sequential} (${x.roundTrips.total} requests)`;
    rows.push([
      "2. cold round trips one after the other per decision",
      `notary ${trips(c.notaryV1)}, simple ${trips(c.simpleSigning)}, cosign ${trips(c.cosign)}`,
      "traced in Node against the same servers",
      "critical path, digest included",
    ]);
  }
  const cpu = r.cpu;
  if (cpu) {
    const ch = cpu.notaryChainInWorkerd;
    const wc = cpu.warmDecisionCoreInWorkerd;
    const cc = cpu.coldNotaryDecisionCoreInWorkerd;
    const node = cpu.notaryChainNodeSameCode;
    const first = (ms: number | null, samples: number[] = []) =>
      ms === null ? "not measured (reload)" : `${ms} ms${samples.length > 1 ? ` (median of ${samples.join(", ")})` : ""}`;
    const firstOk = (ms: number | null) => (ms === null ? "n/a" : ok(ms < 10));
    rows.push([
      "3. CPU Notary chain, 2 delegations, inside workerd",
      `${ch.perRunMs} ms/chain (per request: median ${ch.perRunMedianMs}, p90 ${ch.perRunP90Ms}); first run in a fresh isolate ${first(ch.firstRunMs, ch.firstRunSamplesMs)}`,
      `budget 10 ms; Node, same code: median ${node.medianMs} ms, first ${node.firstMs} ms`,
      `${ok(ch.perRunMs < 10)}, p90 ${ok(ch.perRunP90Ms < 10)}, first ${firstOk(ch.firstRunMs)}`,
    ]);
    rows.push([
      "3. CPU cold Notary decide(), inside workerd",
      `${cc.perRunMs} ms/decision (p90 ${cc.perRunP90Ms}); first in a fresh isolate ${first(cc.firstRunMs, cc.firstRunSamplesMs)}`,
      "budget 10 ms; trust data from an in-memory fetch",
      `${ok(cc.perRunMs < 10)}, p90 ${ok(cc.perRunP90Ms < 10)}, first ${firstOk(cc.firstRunMs)}`,
    ]);
    rows.push(["3. CPU warm decide(), inside workerd", `${wc.perRunMs} ms/decision (p90 ${wc.perRunP90Ms}); verdict cache hit, no KV/D1`, "budget 1 ms", ok(wc.perRunMs < 1)]);
    const p = cpu.workerdProcessCpuPerRequest;
    if (p.warmDecision !== null || p.coldNotaryDecision !== null) {
      rows.push([
        "3. CPU per request, whole workerd process (upper bound)",
        `warm ${p.warmDecision ?? "-"} ms, cold notary ${p.coldNotaryDecision ?? "-"}, simple ${p.coldSimpleSigningDecision ?? "-"}, cosign ${p.coldCosignDecision ?? "-"} ms`,
        `hello-world ${p.helloWorld ?? "-"} ms`,
        "incl. proxy, KV/D1 simulation",
      ]);
    }
  }
  const k = r.keyless;
  if (k) {
    rows.push([
      "3b. CPU cold keyless cosign decide(), inside workerd",
      `${k.perRunMs} ms/decision (per request: median ${k.perRunMedianMs}, p90 ${k.perRunP90Ms})`,
      "budget 5 ms; legacy .sig layer, inline trust root, registry in memory",
      `${ok(k.perRunMs < 5)}, p90 ${ok(k.perRunP90Ms < 5)}`,
    ]);
  }
  const b = r.bundle;
  if (b) rows.push(["4. bundle (wrangler deploy --dry-run)", `${b.gzipKiB} KiB gzipped (${b.rawKiB} KiB raw)`, b.largest.slice(0, 4).map((d: any) => `${d.name} ${d.minifiedKiB}`).join(", ") + " (KiB min.)", ""]);
  if (r.hostile) rows.push(...hostileRows(r.hostile as HostileResult));
  if (r.stats) rows.push(...statsRows(r.stats as StatsResult));
  const head = ["what", "trustgate", "next to it", "verdict"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((x, i) => x.padEnd(widths[i]!)).join(" | ");
  const foot = [`${r.cpus} CPUs, Node ${r.node}, phases ${r.phases.join(",")}`];
  if (r.reloads.length > 0) {
    foot.push(`WARNING: wrangler restarted workerd (a source file changed) during: ${r.reloads.join("; ")}. Figures of those spans are unreliable; run again on a quiet tree.`);
  }
  if (c) {
    const n = c.notaryV1.trustgate.n + c.simpleSigning.trustgate.n + c.cosign.trustgate.n;
    foot.unshift(`cold runs: ${c.cachedResponses} of ${n} trustgate answers said cached:true (expected 0)`);
  }
  return [line(head), widths.map((n) => "-".repeat(n)).join("-+-"), ...rows.map(line), ...foot].join("\n");
}

await main();
