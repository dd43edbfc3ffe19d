// A CPU profile of a wrangler dev instance's Worker isolate, over its inspector (DevTools protocol):
// started before a load and stopped after it, for `BENCH_PROFILE=<file>` (bench/hostile.ts).
import WebSocket from "ws";

export interface Profiler {
  stop(): Promise<CpuProfile>;
}

export interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }; children?: number[] }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export async function startProfiler(inspectorPort: number, intervalUs = 200): Promise<Profiler> {
  const list = (await (await fetch(`http://127.0.0.1:${inspectorPort}/json`)).json()) as { webSocketDebuggerUrl: string; title?: string; url?: string }[];
  const target = list.find((t) => !/proxy|internal/i.test(t.title ?? "")) ?? list[0];
  if (!target) throw new Error(`no inspector target on port ${inspectorPort}`);
  // The ws package: wrangler's inspector proxy resets Node 20's experimental WebSocket.
  const ws = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise<void>((ok, fail) => {
    ws.once("open", () => ok());
    ws.once("error", fail);
  });
  let id = 0;
  const waiting = new Map<number, (v: unknown) => void>();
  ws.on("message", (data: Buffer) => {
    const msg = JSON.parse(data.toString("utf8")) as { id?: number; result?: unknown; error?: unknown };
    if (msg.id !== undefined) waiting.get(msg.id)?.(msg.error ? Promise.reject(new Error(JSON.stringify(msg.error))) : msg.result);
  });
  const call = (method: string, params: object = {}) =>
    new Promise<unknown>((ok) => {
      const n = ++id;
      waiting.set(n, ok);
      ws.send(JSON.stringify({ id: n, method, params }));
    });
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: intervalUs });
  await call("Profiler.start");
  return {
    async stop() {
      const { profile } = (await call("Profiler.stop")) as { profile: CpuProfile };
      ws.close();
      return profile;
    },
  };
}

/**
 * The longest stretches of the isolate running JavaScript without a break, each with the stacks
 * that took most of it: what a request arriving then waits behind. workerd marks no idle time in
 * a profile; the sampler simply takes no samples while the isolate waits, so a gap between two
 * samples longer than `gapMs` ends a stretch.
 */
export function longTasks(profile: CpuProfile, top = 10, gapMs = 1): { ms: number; atMs: number; stacks: [string, number][] }[] {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const frame = (id: number) => {
    const f = byId.get(id)!.callFrame;
    return `${f.functionName || "(anonymous)"}${f.url ? ` ${f.url.replace(/.*\//, "")}:${f.lineNumber + 1}` : ""}`;
  };
  const tasks: { us: number; atUs: number; stacks: Map<string, number> }[] = [];
  let current: (typeof tasks)[number] | undefined;
  let t = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    t += profile.timeDeltas[i] ?? 0;
    const sample = profile.samples[i]!;
    const until = profile.timeDeltas[i + 1] ?? 0;
    if (byId.get(sample)!.callFrame.functionName === "(idle)") {
      current = undefined;
      continue;
    }
    if (!current) tasks.push((current = { us: 0, atUs: t, stacks: new Map() }));
    const weight = Math.min(until, gapMs * 1000);
    current.us += weight;
    const stack: string[] = [];
    for (let n: number | undefined = sample; n !== undefined && stack.length < 4; n = parent.get(n)) stack.push(frame(n));
    const label = stack.join(" < ");
    current.stacks.set(label, (current.stacks.get(label) ?? 0) + weight);
    if (until > gapMs * 1000) current = undefined;
  }
  const ms = (us: number) => Math.round(us / 10) / 100;
  return tasks
    .sort((a, b) => b.us - a.us)
    .slice(0, top)
    .map((x) => ({ ms: ms(x.us), atMs: ms(x.atUs), stacks: [...x.stacks].sort((a, b) => b[1] - a[1]).slice(0, 6).map(([k, v]) => [k, ms(v)]) }));
}
