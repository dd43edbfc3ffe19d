// A real OCI registry (CNCF distribution, Debian's docker-registry) on 127.0.0.1, storage in a temp dir.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { assertLoopback, freePort, waitForHttp } from "./ports";
import { startProcess, withoutProxies, type LabProcess } from "./process";

export interface NotificationEndpoint {
  name: string;
  /** Must be a loopback URL. */
  url: string;
  headers?: Record<string, string[]>;
  timeout?: string;
  threshold?: number;
  backoff?: string;
  ignoredmediatypes?: string[];
}

export interface RegistryOptions {
  /** Webhook endpoints the registry notifies on push/pull/delete. */
  notifications?: { endpoints: NotificationEndpoint[] };
  startTimeoutMs?: number;
}

export interface Registry {
  /** "127.0.0.1:PORT": the registry part of image references. */
  host: string;
  /** "http://127.0.0.1:PORT" */
  url: string;
  /** Temp dir holding config.yml, storage and registry.log. */
  dir: string;
  logs(): string;
  stop(): Promise<void>;
}

export async function startRegistry(options: RegistryOptions = {}): Promise<Registry> {
  for (const endpoint of options.notifications?.endpoints ?? []) assertLoopback(endpoint.url);
  const dir = await mkdtemp(join(tmpdir(), "trustgate-registry-"));
  // freePort() can race with another process grabbing the port; retry a couple of times.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      return await startOnce(dir, options);
    } catch (err) {
      lastError = err;
      if (!(err instanceof Error && /address already in use/i.test(err.message))) break;
    }
  }
  if (process.env.TRUSTGATE_LAB_KEEP !== "1") await rm(dir, { recursive: true, force: true });
  throw lastError;
}

async function startOnce(dir: string, options: RegistryOptions): Promise<Registry> {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const url = `http://${host}`;
  const config: Record<string, unknown> = {
    version: 0.1,
    log: { level: "warn", formatter: "text", accesslog: { disabled: true } },
    // No blob-descriptor cache (storage.cache): deletes and re-pushes must be visible at once.
    storage: {
      filesystem: { rootdirectory: join(dir, "storage") },
      delete: { enabled: true },
      maintenance: { uploadpurging: { enabled: false } },
    },
    http: {
      addr: host,
      // A fixed secret avoids the "generated random secret" warning; single instance anyway.
      secret: "trustgate-lab",
      headers: { "X-Content-Type-Options": ["nosniff"] },
    },
  };
  if (options.notifications) config.notifications = options.notifications;
  const configPath = join(dir, "config.yml");
  await writeFile(configPath, stringify(config));

  const proc: LabProcess = startProcess({
    command: "docker-registry",
    args: ["serve", configPath],
    cwd: dir,
    env: withoutProxies(process.env),
    logFile: join(dir, "registry.log"),
  });
  try {
    const response = await waitForHttp(`${url}/v2/`, {
      timeoutMs: options.startTimeoutMs ?? 20_000,
      abortIf: () => proc.exited(),
    });
    await response.body?.cancel();
    if (response.status !== 200) throw new Error(`GET /v2/ answered ${response.status}`);
  } catch (err) {
    await proc.stop();
    const message = err instanceof Error ? err.message : String(err);
    throw new Error(`docker-registry did not start on ${host}: ${message}\n--- registry.log (tail) ---\n${proc.tail(30)}`);
  }

  let stopped = false;
  return {
    host,
    url,
    dir,
    logs: () => proc.output(),
    async stop() {
      if (stopped) return;
      stopped = true;
      await proc.stop();
      if (process.env.TRUSTGATE_LAB_KEEP !== "1") await rm(dir, { recursive: true, force: true });
    },
  };
}
