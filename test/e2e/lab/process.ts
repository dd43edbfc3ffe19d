// Child processes for the lab: output captured to a log file and memory, and a stop() that waits.
import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream } from "node:fs";

export interface LabProcess {
  readonly child: ChildProcess;
  /** Everything the process wrote to stdout and stderr so far. */
  output(): string;
  /** The last n lines of output. */
  tail(lines?: number): string;
  /** Undefined while running; a description ("exit code 1", "signal SIGTERM") once it has exited. */
  exited(): string | undefined;
  /** SIGTERM (the whole process group when detached), SIGKILL after graceMs, and waits for exit. */
  stop(graceMs?: number): Promise<void>;
}

export interface StartProcessOptions {
  command: string;
  args: readonly string[];
  cwd: string;
  env?: NodeJS.ProcessEnv;
  /** File that receives stdout and stderr. */
  logFile: string;
  /** New process group, so stop() also ends the grandchildren (wrangler's workerd). */
  detached?: boolean;
}

export function startProcess(options: StartProcessOptions): LabProcess {
  const log = createWriteStream(options.logFile, { flags: "a" });
  let buffer = "";
  let exitDescription: string | undefined;
  const child = spawn(options.command, [...options.args], {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ["ignore", "pipe", "pipe"],
    detached: options.detached ?? false,
  });
  const onData = (chunk: Buffer) => {
    const text = chunk.toString("utf8");
    buffer += text;
    // Keep memory bounded for long runs; the log file has everything.
    if (buffer.length > 2_000_000) buffer = buffer.slice(-1_000_000);
    log.write(chunk);
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exitedPromise = new Promise<void>((resolve) => {
    child.once("error", (err) => {
      exitDescription = `failed to start: ${err.message}`;
      resolve();
    });
    child.once("exit", (code, signal) => {
      exitDescription = signal !== null ? `signal ${signal}` : `exit code ${code}`;
      resolve();
    });
  });
  const closed = exitedPromise.then(() => new Promise<void>((resolve) => log.end(resolve)));

  const signalAll = (signal: NodeJS.Signals) => {
    if (exitDescription !== undefined && !options.detached) return;
    try {
      if (options.detached && child.pid !== undefined) process.kill(-child.pid, signal);
      else child.kill(signal);
    } catch {
      // Already gone (ESRCH): nothing to signal.
    }
  };

  // Safety net: if the test process exits without stop() (a crash, a timeout), take the servers along.
  const onExit = () => signalAll("SIGKILL");
  process.once("exit", onExit);
  void exitedPromise.then(() => {
    if (!options.detached) process.removeListener("exit", onExit);
  });

  return {
    child,
    output: () => buffer,
    tail: (lines = 40) => buffer.trimEnd().split("\n").slice(-lines).join("\n"),
    exited: () => exitDescription,
    async stop(graceMs = 5_000) {
      signalAll("SIGTERM");
      const timer = setTimeout(() => signalAll("SIGKILL"), graceMs);
      await exitedPromise;
      clearTimeout(timer);
      // The group leader may exit before its children (workerd); make sure none outlive it.
      if (options.detached) {
        await waitGroupGone(child.pid, graceMs);
      }
      process.removeListener("exit", onExit);
      await closed;
    },
  };
}

async function waitGroupGone(pgid: number | undefined, graceMs: number): Promise<void> {
  if (pgid === undefined) return;
  const alive = () => {
    try {
      process.kill(-pgid, 0);
      return true;
    } catch {
      return false;
    }
  };
  const deadline = Date.now() + graceMs;
  while (alive() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (alive()) {
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      // Raced with its exit.
    }
    const hard = Date.now() + 2_000;
    while (alive() && Date.now() < hard) await new Promise((r) => setTimeout(r, 50));
  }
}

/** The environment minus proxy settings: lab traffic stays on loopback, never via a proxy. */
export function withoutProxies(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const out: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(env)) {
    if (/^(https?|all|no)_proxy$/i.test(key)) continue;
    out[key] = value;
  }
  return out;
}
