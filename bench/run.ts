// trustgate benchmark: one run, trustgate next to its baselines, on loopback only.
// See bench/README.md for what is measured and the caveats. Bundled and run by bench/run.mjs.
import { execFile } from "node:child_process";
import { readFileSync, readdirSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import autocannon from "autocannon";
import { stringify } from "yaml";
import { callApi } from "../test/e2e/lab/api";
import { createGpgHome, type GpgHome } from "../test/e2e/lab/gpg";
import { startLookaside, type LookasideServer } from "../test/e2e/lab/lookaside";
import { makeKey, NotaryClient, runCommand, startNotaryServer, type NotaryServer } from "../test/e2e/lab/notary";
import { pushImage, writeOciImage } from "../test/e2e/lab/oci-image";
import { startRegistry, type Registry } from "../test/e2e/lab/registry";
import { createSkopeoLab, type SkopeoLab } from "../test/e2e/lab/skopeo-oracle";
import { REPO_ROOT, startWorker, type WorkerHandle } from "../test/e2e/lab/worker";
import { TrustedSet } from "../src/verify/notary-v1/trusted-set";
import { importPinnedKey } from "../src/verify/notary-v1/keys";
import { releasedTarget, roleSignsTarget } from "../src/verify/notary-v1/targets-lookup";

const run = promisify(execFile);

// Bounded sizes: the whole run stays well under 3 minutes.
const AUTOCANNON = { connections: 10, duration: 10, warmup: 2 };
const COLD_N = 25; // trustgate cold decisions per signature kind, sequential
const NOTARY_N = 25; // `notary lookup` runs, sequential
const SKOPEO_N = 15; // `skopeo copy` runs, sequential
const CPU_ITER = 200; // in-process verifications of the vector chain

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
// WRANGLER_LOG_PATH the lab gives each instance, which workerd inherits).

const CLK_TCK = 100; // getconf CLK_TCK on Linux

function workerdPids(handle: WorkerHandle): number[] {
  const marker = `WRANGLER_LOG_PATH=${join(handle.dir, "logs")}`;
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, "utf8").trim();
      if (!comm.startsWith("workerd")) continue;
      const environ = readFileSync(`/proc/${entry}/environ`, "utf8").split("\0");
      if (environ.includes(marker)) pids.push(Number(entry));
    } catch {
      // Gone, or not ours to read.
    }
  }
  return pids;
}

/** utime+stime (ms) summed over the given pids and their threads. */
function cpuMs(pids: number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const statLine = readFileSync(`/proc/${pid}/stat`, "utf8");
      const fields = statLine.slice(statLine.lastIndexOf(")") + 2).split(" ");
      // After "pid (comm) ": field 3 is state; utime is field 14, stime 15 (1-based over the whole line).
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // exited
    }
  }
  return (ticks * 1000) / CLK_TCK;
}

async function withWorkerdCpu<T>(handle: WorkerHandle, fn: () => Promise<T>): Promise<{ value: T; cpuMs: number | null; pids: number }> {
  const pids = workerdPids(handle);
  const before = pids.length ? cpuMs(pids) : 0;
  const value = await fn();
  return { value, cpuMs: pids.length ? cpuMs(pids) - before : null, pids: pids.length };
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
}

async function load(handle: WorkerHandle, path: string, token: string, body: string): Promise<LoadResult> {
  const opts = {
    url: `${handle.url}${path}`,
    method: "POST" as const,
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body,
    connections: AUTOCANNON.connections,
  };
  await autocannon({ ...opts, duration: AUTOCANNON.warmup });
  const { value: r, cpuMs: cpu, pids } = await withWorkerdCpu(handle, () => autocannon({ ...opts, duration: AUTOCANNON.duration }));
  const requests = r.requests.total;
  return {
    rps: r2(r.requests.average),
    p50: r.latency.p50,
    p99: r.latency.p99,
    requests,
    non2xx: r.non2xx,
    errors: r.errors + r.timeouts,
    workerdCpuMsPerRequest: cpu === null || requests === 0 ? null : r2(cpu / requests),
    workerdProcesses: pids,
  };
}

// ---------------------------------------------------------------------------------------------
// Node, same code: the Notary v1 verifier over the committed alice-signed vector.

async function notaryChainCpuInNode() {
  const dir = join(REPO_ROOT, "test/vectors/notary-v1/alice-signed");
  const c = JSON.parse(readFileSync(join(dir, "case.json"), "utf8"));
  const bytes = (f: string) => new Uint8Array(readFileSync(join(dir, f)));
  const files = {
    root: bytes("root.json"),
    timestamp: bytes("timestamp.json"),
    snapshot: bytes("snapshot.json"),
    targets: bytes("targets.json"),
    alice: bytes("targets/alice.json"),
    releases: bytes("targets/releases.json"),
  };
  const digest = c.tags.v1.digest as string;
  const once = async () => {
    // Everything a cold decision verifies: pinned root key import, root, timestamp, snapshot,
    // targets, both delegations, then the tag lookup and the signer requirement.
    const anchor = { kind: "public-keys" as const, keys: [await importPinnedKey(c.pinnedRoot.certificatePem)] };
    const set = await TrustedSet.create(files.root, { anchor, gun: c.gun, now: new Date(c.now) });
    await set.updateTimestamp(files.timestamp);
    await set.updateSnapshot(files.snapshot);
    await set.updateTargets(files.targets);
    await set.updateDelegation("targets/releases", files.releases);
    await set.updateDelegation("targets/alice", files.alice);
    const released = releasedTarget(set, "v1");
    if (released?.digest !== digest) throw new Error(`vector: v1 resolved to ${released?.digest}`);
    const signed = roleSignsTarget(set, "targets/alice", "v1", digest);
    if (!signed.ok) throw new Error("vector: alice does not sign v1");
  };
  const cpuOf = async () => {
    const u = process.cpuUsage();
    await once();
    const d = process.cpuUsage(u);
    return (d.user + d.system) / 1000;
  };
  const first = await cpuOf();
  const samples: number[] = [];
  for (let i = 0; i < CPU_ITER; i++) samples.push(await cpuOf());
  return { firstMs: r2(first), medianMs: r2(median(samples)), p99Ms: r2(quantile(samples, 0.99)), iterations: CPU_ITER, signatures: 6 };
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
  const work = await mkdtemp(join(tmpdir(), "trustgate-bench-"));
  const started: { stop(): Promise<unknown> }[] = [];
  const keep = <T extends { stop(): Promise<unknown> } | { close(): Promise<unknown> }>(x: T): T => {
    // close() where there is one (it also removes temp dirs), else stop().
    started.push("close" in x ? { stop: () => x.close() } : (x as { stop(): Promise<unknown> }));
    return x;
  };
  const results: Record<string, unknown> = { startedAt: new Date().toISOString(), node: process.version, cpus: (await import("node:os")).cpus().length };
  try {
    log("starting workers (trustgate warm, trustgate cold, hello-world), registry, notary-server, lookaside, gpg");
    const zero = { TRUST_RECHECK_SECONDS: "0", TAG_CACHE_TTL_SECONDS: "0", VERDICT_CACHE_TTL_SECONDS: "0" };
    const [warm, cold, hello, registry, notary, gpg, skopeo] = await Promise.all([
      startWorker().then(keep),
      startWorker({ vars: zero }).then(keep),
      startWorker({ projectDir: join(REPO_ROOT, "bench/hello-world") }).then(keep),
      startRegistry().then(keep),
      startNotaryServer().then(keep),
      createGpgHome().then(keep),
      createSkopeoLab().then(keep),
    ] as const);
    await mkdir(join(work, "lookaside"));
    const lookaside: LookasideServer = keep(await startLookaside(join(work, "lookaside")));
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

    // --- Simple signing: skopeo copy --sign-by (GPG RSA 2048), signatures in a loopback lookaside.
    log("simple signing: gpg key, signed push");
    const rsa = await gpg.makeKey("rsa", "rsa");
    const simpleImage = `${h}/bench/simple:v1`;
    const signingDocs = [stringify({ docker: { [h]: { lookaside: lookaside.url, "lookaside-staging": `file://${lookaside.dir}` } } })];
    const readDocs = [stringify({ docker: { [h]: { lookaside: lookaside.url } } })];
    await skopeo.push(join(work, "img"), simpleImage, { signBy: rsa.fingerprint, gpg, registriesD: signingDocs });
    const simplePolicy = {
      default: [{ type: "reject" }],
      transports: { docker: { [`${h}/bench/simple`]: [{ type: "signedBy", keyType: "GPGKeys", keyData: rsa.keyData }] } },
    };

    // --- Policies into both trustgate instances.
    for (const w of [warm, cold]) {
      const put1 = await callApi(w.url, "PUT", "/v1/policies/bench-notary?format=connaisseur", w.adminToken, notaryPolicy, "application/yaml");
      if (put1.status !== 200) throw new Error(`PUT notary policy: ${JSON.stringify(put1.json)}`);
      const put2 = await callApi(w.url, "PUT", "/v1/policies/bench-simple?format=containers-policy", w.adminToken, { policy: simplePolicy, "registries.d": readDocs });
      if (put2.status !== 200) throw new Error(`PUT simple policy: ${JSON.stringify(put2.json)}`);
    }
    const decide = async (w: WorkerHandle, image: string, policy: string) => {
      const r = await callApi(w.url, "POST", "/v1/decisions", w.clientToken, { image, policy });
      if (r.status !== 200 || r.json.decision !== "allow") throw new Error(`decision ${image}: HTTP ${r.status} ${JSON.stringify(r.json)}`);
      return r.json as { cached: boolean; decision: string };
    };

    // --- 1. Warm decisions next to hello world.
    log("1. warm: priming the verdict cache");
    await decide(warm, notaryImage, "bench-notary");
    const primed = await decide(warm, notaryImage, "bench-notary");
    if (!primed.cached) throw new Error(`warm: second decision was not served from the verdict cache: ${JSON.stringify(primed)}`);
    const body = JSON.stringify({ image: notaryImage, policy: "bench-notary" });
    log(`1. warm: autocannon hello-world (${AUTOCANNON.connections} connections, ${AUTOCANNON.warmup}s warm-up + ${AUTOCANNON.duration}s)`);
    const helloLoad = await load(hello, "/v1/decisions", "x", body);
    log("1. warm: autocannon trustgate POST /v1/decisions");
    const warmLoad = await load(warm, "/v1/decisions", warm.clientToken, body);
    const after = await decide(warm, notaryImage, "bench-notary");
    const ratio = r2(warmLoad.rps / helloLoad.rps);
    results.warm = { trustgate: warmLoad, helloWorld: helloLoad, ratio, target: 0.8, stillCachedAfter: after.cached, ...AUTOCANNON };

    // --- 2. Cold decisions next to the reference tools.
    log(`2. cold: trustgate notary x${COLD_N}`);
    let cachedSeen = 0;
    const tgNotary = await withWorkerdCpu(cold, () =>
      timeSequential(COLD_N, async () => {
        if ((await decide(cold, notaryImage, "bench-notary")).cached) cachedSeen++;
      }),
    );
    log(`2. cold: notary lookup x${NOTARY_N} (fresh trust dir each)`);
    const notaryCli = await timeSequential(NOTARY_N, async (i) => {
      const d = join(work, `notary-lookup-${i}`);
      const res = await runCommand("notary", ["-s", notary.url, "-d", d, "lookup", gun, "v1"]);
      if (!res.stdout.includes(oci.manifestDigest.slice(7))) throw new Error(`notary lookup: ${res.stdout} ${res.stderr}`);
    });
    log(`2. cold: trustgate simple signing x${COLD_N}`);
    const tgSimple = await withWorkerdCpu(cold, () =>
      timeSequential(COLD_N, async () => {
        if ((await decide(cold, simpleImage, "bench-simple")).cached) cachedSeen++;
      }),
    );
    log(`2. cold: skopeo copy x${SKOPEO_N}`);
    const skopeoCli = await timeSequential(SKOPEO_N, async () => {
      const v = await skopeo.verdict(simplePolicy, readDocs, simpleImage);
      if (v.verdict !== "accept") throw new Error(`skopeo rejected: ${v.message}`);
    });
    const side = (ms: number[]) => ({ n: ms.length, medianMs: r2(median(ms)), p90Ms: r2(quantile(ms, 0.9)) });
    results.cold = {
      cachedResponses: cachedSeen,
      notaryV1: {
        trustgate: { ...side(tgNotary.value), workerdCpuMsPerDecision: tgNotary.cpuMs === null ? null : r2(tgNotary.cpuMs / COLD_N) },
        reference: { tool: "notary lookup (fresh -d per run)", ...side(notaryCli) },
      },
      simpleSigning: {
        trustgate: { ...side(tgSimple.value), workerdCpuMsPerDecision: tgSimple.cpuMs === null ? null : r2(tgSimple.cpuMs / COLD_N) },
        reference: { tool: "skopeo copy docker:// dir:", ...side(skopeoCli) },
      },
    };

    // --- 3. CPU.
    log(`3. cpu: Notary chain in Node x${CPU_ITER}`);
    results.cpu = {
      notaryChainNodeSameCode: { ...(await notaryChainCpuInNode()), budgetMs: 10, vector: "test/vectors/notary-v1/alice-signed" },
      workerdProcessCpuPerRequest: {
        warmDecision: warmLoad.workerdCpuMsPerRequest,
        helloWorld: helloLoad.workerdCpuMsPerRequest,
        coldNotaryDecision: (results.cold as any).notaryV1.trustgate.workerdCpuMsPerDecision,
        coldSimpleSigningDecision: (results.cold as any).simpleSigning.trustgate.workerdCpuMsPerDecision,
        warmBudgetMs: 1,
      },
    };

    // --- 4. Bundle.
    log("4. bundle size");
    // After the timed parts: wrangler's dry-run build would compete for the CPUs.
    results.bundle = await bundleSize();
  } finally {
    log("stopping");
    await Promise.allSettled(started.reverse().map((s) => s.stop()));
    await rm(work, { recursive: true, force: true });
  }

  results.finishedAt = new Date().toISOString();
  const stamp = (results.startedAt as string).replace(/[:.]/g, "-");
  const out = join(REPO_ROOT, "bench", "results", `${stamp}.json`);
  await mkdir(join(REPO_ROOT, "bench", "results"), { recursive: true });
  await writeFile(out, JSON.stringify(results, null, 2) + "\n");
  console.log(table(results as any));
  console.log(`\nJSON: ${out}`);
}

function table(r: any): string {
  const w = r.warm;
  const c = r.cold;
  const cpu = r.cpu;
  const b = r.bundle;
  const ok = (cond: boolean) => (cond ? "OK  " : "MISS");
  const rows: [string, string, string, string][] = [
    ["1. warm POST /v1/decisions (notary, verdict cached)", `${w.trustgate.rps} req/s, p50 ${w.trustgate.p50} ms, p99 ${w.trustgate.p99} ms`, `hello-world: ${w.helloWorld.rps} req/s, p50 ${w.helloWorld.p50} ms, p99 ${w.helloWorld.p99} ms`, `ratio ${w.ratio} (target >= 0.8) ${ok(w.ratio >= 0.8)}`],
    ["2. cold Notary v1 decision (median)", `${c.notaryV1.trustgate.medianMs} ms (p90 ${c.notaryV1.trustgate.p90Ms}, n=${c.notaryV1.trustgate.n})`, `notary lookup: ${c.notaryV1.reference.medianMs} ms (p90 ${c.notaryV1.reference.p90Ms}, n=${c.notaryV1.reference.n})`, `notary/trustgate = ${r2(c.notaryV1.reference.medianMs / c.notaryV1.trustgate.medianMs)}`],
    ["2. cold simple-signing decision (median)", `${c.simpleSigning.trustgate.medianMs} ms (p90 ${c.simpleSigning.trustgate.p90Ms}, n=${c.simpleSigning.trustgate.n})`, `skopeo copy: ${c.simpleSigning.reference.medianMs} ms (p90 ${c.simpleSigning.reference.p90Ms}, n=${c.simpleSigning.reference.n})`, `skopeo/trustgate = ${r2(c.simpleSigning.reference.medianMs / c.simpleSigning.trustgate.medianMs)}`],
    ["3. CPU Notary chain, 2 delegations (Node, same code)", `median ${cpu.notaryChainNodeSameCode.medianMs} ms, p99 ${cpu.notaryChainNodeSameCode.p99Ms} ms, first ${cpu.notaryChainNodeSameCode.firstMs} ms`, "budget 10 ms", `median ${ok(cpu.notaryChainNodeSameCode.medianMs < 10)}, p99 ${ok(cpu.notaryChainNodeSameCode.p99Ms < 10)}`],
    ["3. CPU per request, whole workerd process (/proc)", `warm ${cpu.workerdProcessCpuPerRequest.warmDecision} ms, cold notary ${cpu.workerdProcessCpuPerRequest.coldNotaryDecision} ms, cold simple ${cpu.workerdProcessCpuPerRequest.coldSimpleSigningDecision} ms`, `hello-world ${cpu.workerdProcessCpuPerRequest.helloWorld} ms`, `warm ${ok(cpu.workerdProcessCpuPerRequest.warmDecision < 1)} (< 1 ms, upper bound)`],
    ["4. bundle (wrangler deploy --dry-run)", `${b.gzipKiB} KiB gzipped (${b.rawKiB} KiB raw)`, b.largest.slice(0, 4).map((d: any) => `${d.name} ${d.minifiedKiB}`).join(", ") + " (KiB min.)", ""],
  ];
  const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((row) => row[i].length), ["what", "trustgate", "next to it", "verdict"][i]!.length));
  const line = (cells: string[]) => cells.map((x, i) => x.padEnd(widths[i]!)).join(" | ");
  return [
    line(["what", "trustgate", "next to it", "verdict"]),
    widths.map((n) => "-".repeat(n)).join("-+-"),
    ...rows.map(line),
    `cold runs: ${c.cachedResponses} of ${c.notaryV1.trustgate.n + c.simpleSigning.trustgate.n} trustgate answers said cached:true (expected 0); ${r.cpus} CPUs, Node ${r.node}`,
  ].join("\n");
}

await main();
