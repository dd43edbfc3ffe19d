// Bench phase `hostile`: cosign decisions against a loopback registry serving thousands of bogus
// signatures (test/e2e/lab/hostile-registry.ts), while a cheap request (GET /healthz) keeps going
// to the same Worker and, in turn, to a second, idle one (the control: what the machine's load
// alone does to the same request). Reports both latencies, the Worker's idle latency, and every
// hostile decision's outcome and time against the decision budget. See bench/README.md.
import { spawn } from "node:child_process";
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { callApi } from "../test/e2e/lab/api";
import { makeCosignKey, publicKeyHint } from "../test/e2e/lab/cosign";
import { startHostileRegistry } from "../test/e2e/lab/hostile-registry";
import { REPO_ROOT, startWorker, type WorkerHandle } from "../test/e2e/lab/worker";
import { BENCH_DEVTOOLS, startBenchWorker } from "./bench-worker";
import { longTasks, startProfiler } from "./profile";
import { DEFAULT_DECISION_BUDGET_MS } from "../src/decide";

/** Hostile decisions in all, how many at once, and the cheap requests timed on an idle Worker. */
const HOSTILE = { decisions: 120, concurrency: 4, idleRequests: 300 } as const;
/** The cheap request's p99 under hostile load must stay below this. */
export const CHEAP_P99_TARGET_MS = 50;

const REPOS = {
  legacy: "hostile/legacy", // 3,000 .sig layers, ECDSA P-256 key
  bundles: "hostile/bundles", // 4,000 referrers × 500 DSSE signatures, Ed25519 key's hint
  fat: "hostile/fat", // 30 referrers of a 0.5 MB bundle (5,000 signatures)
  benign: "hostile/benign", // one bad signature, no referrers: the floor (only with BENCH_HOSTILE_ONLY)
} as const;

interface Stats {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

export interface HostileResult {
  registry: { layers: number; referrers: number; signaturesPerBundle: number; fatBundleSignatures: number; only: string | null };
  budgetMs: number;
  decisions: {
    n: number;
    concurrency: number;
    denies: number;
    overBudgetDenies: number;
    notes: number;
    medianMs: number;
    maxMs: number;
    /** CPU of the Worker's workerd runtime process over the hostile span, per decision (null: not found). */
    runtimeCpuMsPerDecision: number | null;
  };
  cheap: {
    idle: Stats;
    underLoad: Stats;
    /** The same request to an idle twin Worker, interleaved with `underLoad`. */
    control: Stats;
  };
}

function quantile(xs: readonly number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  if (s.length === 0) return NaN;
  const i = (s.length - 1) * q;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return s[lo]! + (s[hi]! - s[lo]!) * (i - lo);
}
const r2 = (n: number) => Math.round(n * 100) / 100;
const stats = (xs: readonly number[]): Stats => ({ n: xs.length, p50: r2(quantile(xs, 0.5)), p99: r2(quantile(xs, 0.99)), max: r2(Math.max(...xs)) });

/**
 * CPU time (ms) of the workerd process running one `wrangler dev`'s Worker: found, as run.ts finds
 * it, by the WRANGLER_LOG_PATH the lab gives the instance and its not being the dev-port proxy;
 * summed over its threads' schedstat. Null when no such process is readable.
 */
function runtimeCpuMs(handle: WorkerHandle): number | null {
  const marker = `WRANGLER_LOG_PATH=${join(handle.dir, "logs")}`;
  const proxy = `--socket-addr=entry=127.0.0.1:${new URL(handle.url).port}`;
  let ns = 0;
  let found = false;
  for (const pid of readdirSync("/proc").filter((e) => /^\d+$/.test(e))) {
    try {
      if (!readFileSync(`/proc/${pid}/comm`, "utf8").startsWith("workerd")) continue;
      if (!readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(marker)) continue;
      if (readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").includes(proxy)) continue;
      for (const tid of readdirSync(`/proc/${pid}/task`)) ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, "utf8").split(" ")[0]);
      found = true;
    } catch {
      // gone, or not ours
    }
  }
  return found ? ns / 1e6 : null;
}

export async function hostilePhase(log: (msg: string) => void): Promise<HostileResult> {
  // The most a listing can hold under the 256 KiB cap (registry.artifactManifestBytes): larger ones are refused unparsed.
  const shape = { layers: 800, referrers: 900, signaturesPerBundle: 500, fatBundleSignatures: 5000 };
  const alice = makeCosignKey("alice");
  const erin = makeCosignKey("erin", "ed25519");
  log("5. hostile: starting a Worker (verdict, tag and trust caches off), an idle twin and the hostile registry");
  const [worker, twin, registry] = await Promise.all([
    // A profile is taken over DevTools (bench/profile.ts).
    startWorker({ devtools: BENCH_DEVTOOLS || !!process.env.BENCH_PROFILE, vars: { TRUST_RECHECK_SECONDS: "0", TAG_CACHE_TTL_SECONDS: "0", VERDICT_CACHE_TTL_SECONDS: "0" } }),
    startBenchWorker(),
    startHostileRegistry({
      [REPOS.legacy]: { algorithm: "ecdsa-p256", layers: shape.layers, referrers: 0, signaturesPerBundle: 1 },
      [REPOS.bundles]: { algorithm: "ed25519", hint: publicKeyHint(erin), layers: 0, referrers: shape.referrers, signaturesPerBundle: shape.signaturesPerBundle },
      [REPOS.benign]: { algorithm: "ed25519", layers: 1, referrers: 0, signaturesPerBundle: 1 },
      [REPOS.fat]: { algorithm: "ed25519", hint: publicKeyHint(erin), layers: 0, referrers: 30, signaturesPerBundle: shape.fatBundleSignatures },
    }),
  ]);
  try {
    const policy = {
      mode: "enforce",
      rules: [
        { pattern: `${registry.host}/${REPOS.legacy}`, require: [{ type: "cosign", keys: [{ name: "alice", key: alice.publicKeyPem }] }] },
        { pattern: `${registry.host}/hostile/*`, require: [{ type: "cosign", keys: [{ name: "erin", key: erin.publicKeyPem }] }] },
      ],
    };
    const put = await callApi(worker.url, "PUT", "/v1/policies/bench-hostile?format=native", worker.adminToken, policy);
    if (put.status !== 200) throw new Error(`PUT bench-hostile: ${JSON.stringify(put.json)}`);

    const cheap = async (base = worker.url): Promise<number> => {
      const t = performance.now();
      const res = await fetch(`${base}/healthz`);
      await res.arrayBuffer();
      if (res.status !== 200) throw new Error(`GET /healthz: HTTP ${res.status}`);
      return performance.now() - t;
    };
    log(`5. hostile: ${HOSTILE.idleRequests} GET /healthz on the idle Worker`);
    const idle: number[] = [];
    for (let i = 0; i < 20; i++) await Promise.all([cheap(), cheap(twin.url)]); // connections and isolates warmed up, discarded
    for (let i = 0; i < HOSTILE.idleRequests; i++) idle.push(await cheap());

    log(`5. hostile: ${HOSTILE.decisions} hostile decisions, ${HOSTILE.concurrency} at a time, with GET /healthz alongside`);
    const times: number[] = [];
    let denies = 0;
    let overBudget = 0;
    let notes = 0;
    let next = 0;
    // BENCH_HOSTILE_ONLY=legacy|bundles|fat|benign: one kind of repository instead of the three hostile ones in turn.
    const only = process.env.BENCH_HOSTILE_ONLY as keyof typeof REPOS | undefined;
    if (only !== undefined && !(only in REPOS)) throw new Error(`BENCH_HOSTILE_ONLY: one of ${Object.keys(REPOS).join(", ")}`);
    const decideOne = async (): Promise<void> => {
      while (next < HOSTILE.decisions) {
        const i = next++;
        const repo = only ? REPOS[only] : [REPOS.bundles, REPOS.legacy, REPOS.fat][i % 3]!;
        const t = performance.now();
        const r = await callApi(worker.url, "POST", "/v1/decisions", worker.clientToken, { image: `${registry.host}/${repo}:v1`, policy: "bench-hostile" });
        times.push(performance.now() - t);
        if (r.status !== 200) throw new Error(`hostile decision: HTTP ${r.status} ${JSON.stringify(r.json)}`);
        const reasons = r.json.reasons as { code: string; message: string }[];
        if (r.json.decision === "deny") denies++;
        if (reasons.some((x) => x.code === "VERIFICATION_ERROR" && x.message.startsWith("the decision took longer"))) overBudget++;
        if (reasons.some((x) => x.code === "COSIGN_LIMIT_REACHED")) notes++;
      }
    };
    // The cheap requests come from their own process: this one serves the hostile registry, and its
    // event loop's work would otherwise show in the times as the Worker's.
    const loop = spawn(process.execPath, [join(REPO_ROOT, "bench/cheap-loop.mjs"), worker.url, twin.url], { stdio: ["pipe", "pipe", "inherit"] });
    let out = "";
    loop.stdout.on("data", (chunk: Buffer) => void (out += chunk.toString("utf8")));
    const exited = new Promise<void>((ok, fail) => loop.on("exit", (code) => (code === 0 ? ok() : fail(new Error(`cheap loop exited with ${code}`)))));
    while (!out.includes("ready\n")) await new Promise((r) => setTimeout(r, 10));
    const profiling = process.env.BENCH_PROFILE ? await startProfiler(worker.inspectorPort) : undefined;
    const cpuBefore = runtimeCpuMs(worker);
    await Promise.all(Array.from({ length: HOSTILE.concurrency }, decideOne));
    const cpuAfter = runtimeCpuMs(worker);
    if (profiling) {
      const profile = await profiling.stop();
      writeFileSync(process.env.BENCH_PROFILE!, JSON.stringify(profile));
      writeFileSync(`${process.env.BENCH_PROFILE!}.tasks.json`, JSON.stringify(longTasks(profile, 15), null, 1));
      log(`5. hostile: CPU profile in ${process.env.BENCH_PROFILE}, longest tasks in ${process.env.BENCH_PROFILE}.tasks.json`);
    }
    loop.stdin.end();
    await exited;
    const timed = JSON.parse(out.slice(out.indexOf("ready\n") + "ready\n".length)) as Record<string, number[]>;
    const underLoad = timed[worker.url]!;
    const control = timed[twin.url]!;

    return {
      registry: { ...shape, only: only ?? null },
      budgetMs: DEFAULT_DECISION_BUDGET_MS,
      decisions: {
        n: times.length,
        concurrency: HOSTILE.concurrency,
        denies,
        overBudgetDenies: overBudget,
        notes,
        medianMs: r2(quantile(times, 0.5)),
        maxMs: r2(Math.max(...times)),
        runtimeCpuMsPerDecision: cpuBefore === null || cpuAfter === null ? null : r2((cpuAfter - cpuBefore) / times.length),
      },
      cheap: { idle: stats(idle), underLoad: stats(underLoad), control: stats(control) },
    };
  } finally {
    await Promise.allSettled([worker.stop(), twin.stop(), registry.close()]);
  }
}

/** Table rows: [what, trustgate, next to it, verdict]. */
export function hostileRows(h: HostileResult): [string, string, string, string][] {
  const ok = (cond: boolean) => (cond ? "OK  " : "MISS");
  const d = h.decisions;
  const c = h.cheap;
  const allDenied = d.denies === d.n && d.overBudgetDenies === 0 && d.maxMs < h.budgetMs;
  return [
    [
      "5. hostile: GET /healthz during hostile cosign decisions",
      `p50 ${c.underLoad.p50} ms, p99 ${c.underLoad.p99} ms, max ${c.underLoad.max} ms (n=${c.underLoad.n})`,
      `idle twin Worker meanwhile: p50 ${c.control.p50} ms, p99 ${c.control.p99} ms; same Worker idle before: p50 ${c.idle.p50}, p99 ${c.idle.p99} ms`,
      `target p99 < ${CHEAP_P99_TARGET_MS} ms ${ok(c.underLoad.p99 < CHEAP_P99_TARGET_MS)}`,
    ],
    [
      "5. hostile: cosign decisions, registry with thousands of bogus signatures",
      `${d.denies}/${d.n} deny (${d.concurrency} at a time), median ${d.medianMs} ms, max ${d.maxMs} ms; ${d.notes} name the caps reached; workerd CPU ${d.runtimeCpuMsPerDecision ?? "-"} ms/decision`,
      `${h.registry.only ? `only ${h.registry.only}: ` : ""}${h.registry.layers} .sig layers; ${h.registry.referrers} referrers × ${h.registry.signaturesPerBundle} signatures; 30 × ${h.registry.fatBundleSignatures}`,
      `all deny within the ${h.budgetMs} ms budget (${d.overBudgetDenies} by the budget) ${ok(allDenied)}`,
    ],
  ];
}
