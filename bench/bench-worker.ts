// The bench's wrangler dev instances: without wrangler's DevTools connection unless BENCH_DEVTOOLS=1.
//
// With DevTools on (what `npm start` runs), wrangler enables the Network domain on the Worker, and
// workerd sends an event for every subrequest and every chunk of its body through wrangler's proxy
// to its node process, which logs each one: in the hostile phase that took more CPU than the Worker
// (node ~80% of a CPU, the proxy ~45%, against the Worker's ~33%) and tripled the cheap request's
// p99. A deployed Worker has no such connection; the bench measures the Worker.
import { startWorker, type WorkerHandle, type WorkerOptions } from "../test/e2e/lab/worker";

export const BENCH_DEVTOOLS = process.env.BENCH_DEVTOOLS === "1";

export async function startBenchWorker(options: WorkerOptions = {}): Promise<WorkerHandle> {
  const worker = await startWorker({ devtools: BENCH_DEVTOOLS, ...options });
  if (options.devtools ?? BENCH_DEVTOOLS) return worker;
  // wrangler has no flag for this; should a version ignore the debug-terminal mode, the bench
  // would measure DevTools again without saying so. It stops instead.
  const targets = await fetch(`http://127.0.0.1:${worker.inspectorPort}/json`).then(
    (r) => r.text(),
    () => "",
  );
  if (targets.includes("webSocketDebuggerUrl")) {
    await worker.stop();
    throw new Error(`wrangler dev still offers DevTools on ${worker.inspectorPort} with VSCODE_INSPECTOR_OPTIONS set: ${targets}`);
  }
  return worker;
}
