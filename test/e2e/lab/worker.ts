// The repo's Worker under `wrangler dev` on 127.0.0.1, with fresh local state and generated tokens.
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { freePort, waitForHttp } from "./ports";
import { startProcess, withoutProxies } from "./process";

const run = promisify(execFile);

/** The repository root, from this file's location (test/e2e/lab/worker.ts), whatever the cwd. */
export const REPO_ROOT = fileURLToPath(new URL("../../../", import.meta.url));

export interface WorkerOptions {
  /** Extra vars (`--var K:V`), e.g. { TAG_CACHE_TTL_SECONDS: "0" }. */
  vars?: Record<string, string>;
  /** Project dir holding wrangler.toml and migrations/; the repo root unless testing the lab itself. */
  projectDir?: string;
  startTimeoutMs?: number;
  /**
   * false: no DevTools connection to the Worker (wrangler then does not ask workerd for a Network
   * event per subrequest and per body chunk, relayed through its proxy to its node process). For
   * the bench's timed instances; wrangler has no flag for it, only its "VS Code debug terminal" mode.
   */
  devtools?: boolean;
}

export interface WorkerHandle {
  /** "http://127.0.0.1:PORT" */
  url: string;
  adminToken: string;
  clientToken: string;
  /** Temp dir with local state (KV, D1) and wrangler's logs. */
  dir: string;
  /** wrangler's inspector proxy (DevTools protocol) for this instance, on 127.0.0.1. */
  inspectorPort: number;
  logs(): string;
  stop(): Promise<void>;
}

/**
 * Environment for wrangler so it never leaves the machine: no metrics or error reports, no
 * banner (its npm update check), no request.cf download, the npm registry pointed at a closed
 * loopback port for any remaining update check, and global config/registry/logs in the temp dir.
 */
export function wranglerEnv(dir: string): NodeJS.ProcessEnv {
  const env = withoutProxies(process.env);
  for (const key of Object.keys(env)) {
    // Credentials would only matter for remote mode; make sure nothing can pick them up.
    if (key.startsWith("CLOUDFLARE_") || key.startsWith("CF_")) delete env[key];
  }
  return {
    ...env,
    CI: "true",
    WRANGLER_SEND_METRICS: "false",
    WRANGLER_SEND_ERROR_REPORTS: "false",
    WRANGLER_HIDE_BANNER: "true",
    CLOUDFLARE_CF_FETCH_ENABLED: "false",
    npm_config_registry: "http://127.0.0.1:9/",
    WRANGLER_REGISTRY_PATH: join(dir, "dev-registry"),
    WRANGLER_LOG_PATH: join(dir, "logs"),
    WRANGLER_CACHE_DIR: join(dir, "cache"),
    XDG_CONFIG_HOME: join(dir, "config"),
    MINIFLARE_CACHE_DIR: join(dir, "cache"),
    NO_COLOR: "1",
    FORCE_COLOR: "0",
  };
}

// The repo's pinned wrangler, also for a throwaway projectDir (which has no node_modules).
export const WRANGLER = join(REPO_ROOT, "node_modules", ".bin", "wrangler");

export async function startWorker(options: WorkerOptions = {}): Promise<WorkerHandle> {
  const projectDir = options.projectDir ?? REPO_ROOT;
  const dir = await mkdtemp(join(tmpdir(), "trustgate-worker-"));
  const persist = join(dir, "state");
  await mkdir(persist);
  const env = wranglerEnv(dir);
  if (options.devtools === false) env.VSCODE_INSPECTOR_OPTIONS = ":::{}";
  const cleanup = async () => {
    if (process.env.TRUSTGATE_LAB_KEEP !== "1") await rm(dir, { recursive: true, force: true });
  };

  try {
    await run(WRANGLER, ["d1", "migrations", "apply", "VERDICTS", "--local", "--persist-to", persist], {
      cwd: projectDir,
      env,
      timeout: 60_000,
    });
  } catch (err) {
    await cleanup();
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`wrangler d1 migrations apply failed: ${e.message}\n${e.stdout ?? ""}\n${e.stderr ?? ""}`);
  }

  const adminToken = `admin-${randomBytes(16).toString("hex")}`;
  const clientToken = `client-${randomBytes(16).toString("hex")}`;
  const vars: Record<string, string> = { ADMIN_TOKENS: adminToken, CLIENT_TOKENS: clientToken, ...options.vars };
  const port = await freePort();
  const inspectorPort = await freePort();
  const args = [
    "dev",
    "--ip", "127.0.0.1",
    "--port", String(port),
    // Each instance gets its own inspector port; the default 9229 would clash between instances.
    "--inspector-ip", "127.0.0.1",
    "--inspector-port", String(inspectorPort),
    "--persist-to", persist,
    "--local",
    "--show-interactive-dev-session=false",
    "--live-reload=false",
    ...Object.entries(vars).flatMap(([key, value]) => ["--var", `${key}:${value}`]),
  ];
  const proc = startProcess({
    command: WRANGLER,
    args,
    cwd: projectDir,
    env,
    logFile: join(dir, "wrangler.log"),
    // wrangler runs workerd as a child: a process group lets stop() end both.
    detached: true,
  });
  const url = `http://127.0.0.1:${port}`;
  try {
    const response = await waitForHttp(`${url}/healthz`, {
      timeoutMs: options.startTimeoutMs ?? 60_000,
      intervalMs: 250,
      accept: (r) => r.status === 200,
      abortIf: () => {
        const exited = proc.exited();
        return exited === undefined ? undefined : `wrangler dev exited (${exited})`;
      },
    });
    await response.body?.cancel();
  } catch (err) {
    await proc.stop();
    await cleanup();
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(`wrangler dev did not become healthy: ${message}\n--- wrangler output (tail) ---\n${proc.tail(60)}`);
  }

  let stopped = false;
  return {
    url,
    adminToken,
    clientToken,
    dir,
    inspectorPort,
    logs: () => proc.output(),
    async stop() {
      if (stopped) return;
      stopped = true;
      await proc.stop();
      await cleanup();
    },
  };
}
