// A loopback HTTP proxy in front of a real registry that can misbehave on demand: answer 500,
// answer slowly, truncate bodies, lie in (or drop) Docker-Content-Digest. Passes through otherwise.
import { request as httpRequest, type IncomingMessage, type ServerResponse } from "node:http";
import { createHash } from "node:crypto";
import { startLoopbackServer } from "./loopback-server";
import { assertLoopback } from "./ports";

/**
 * - "500": every matching request answers HTTP 500 with a distribution-style error body;
 * - "slow": the answer (headers and all) comes after `delayMs`;
 * - "truncate": a GET body is cut to `keep` bytes (default: half). With `declareLength` the
 *   original Content-Length is sent and the connection is then dropped (a body broken off);
 *   without, the shorter body is sent whole (a body that hashes to something else);
 * - "lie": Docker-Content-Digest names another digest than the bytes'.
 * `head` says what a HEAD on a manifest answers meanwhile: "pass" (the upstream's answer),
 * "no-digest" (Docker-Content-Digest removed, so a client must GET and hash), or "405".
 */
export type RegistryFault =
  | { kind: "500" }
  | { kind: "slow"; delayMs: number }
  | { kind: "truncate"; keep?: number; declareLength?: boolean }
  | { kind: "lie"; digest?: string };

export interface FaultSetting {
  fault: RegistryFault;
  /** Only requests whose path matches (default: manifests, /v2/<name>/manifests/<ref>). */
  path?: RegExp;
  /** What HEAD on a matching manifest answers while the fault is on; default "pass". */
  head?: "pass" | "no-digest" | "405";
}

export interface FaultyRegistry {
  /** "127.0.0.1:PORT": the registry part of image references sent to the Worker. */
  host: string;
  /** "http://127.0.0.1:PORT" */
  url: string;
  /** The faults applied now; null passes everything through untouched. */
  setFault(setting: FaultSetting | null): void;
  /** "METHOD path → status" for every request seen, in order. */
  requests(): readonly string[];
  close(): Promise<void>;
}

const MANIFEST_PATH = /^\/v2\/.+\/manifests\/[^/]+$/;
export const LIE_DIGEST = `sha256:${"d".repeat(64)}`;

export async function startFaultyRegistry(upstreamUrl: string): Promise<FaultyRegistry> {
  assertLoopback(upstreamUrl);
  const upstream = new URL(upstreamUrl);
  let setting: FaultSetting | null = null;
  const seen: string[] = [];
  const timers = new Set<NodeJS.Timeout>();

  const forward = (req: IncomingMessage, body: Buffer): Promise<{ status: number; headers: Record<string, string | string[]>; body: Buffer }> =>
    new Promise((resolve, reject) => {
      const headers = { ...req.headers, host: upstream.host };
      const out = httpRequest(
        { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers },
        (res) => {
          const chunks: Buffer[] = [];
          res.on("data", (c: Buffer) => chunks.push(c));
          res.on("end", () => {
            const h: Record<string, string | string[]> = {};
            for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) h[k] = v;
            resolve({ status: res.statusCode ?? 502, headers: h, body: Buffer.concat(chunks) });
          });
          res.on("error", reject);
        },
      );
      out.on("error", reject);
      out.end(body);
    });

  const readBody = (req: IncomingMessage): Promise<Buffer> =>
    new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => resolve(Buffer.concat(chunks)));
      req.on("error", reject);
    });

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const t = setTimeout(() => {
        timers.delete(t);
        resolve();
      }, ms);
      timers.add(t);
    });

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<string> {
    const path = (req.url ?? "/").split("?")[0]!;
    const active = setting && (setting.path ?? MANIFEST_PATH).test(path) ? setting : null;
    const fault = active?.fault;
    const requestBody = await readBody(req);

    if (fault?.kind === "500") {
      res.writeHead(500, { "Content-Type": "application/json" });
      res.end(JSON.stringify({ errors: [{ code: "UNKNOWN", message: "lab: injected internal server error" }] }));
      return "500";
    }
    if (fault?.kind === "slow") await sleep(fault.delayMs);
    if (req.method === "HEAD" && active && active.head === "405") {
      res.writeHead(405, { Allow: "GET" }).end();
      return "405";
    }

    const up = await forward(req, requestBody);
    const headers = { ...up.headers };
    delete headers["transfer-encoding"];
    delete headers.connection;
    delete headers["keep-alive"];
    if (req.method === "HEAD" && active?.head === "no-digest") delete headers["docker-content-digest"];

    if (fault?.kind === "lie" && up.status < 300 && (req.method !== "HEAD" || active?.head !== "no-digest")) {
      headers["docker-content-digest"] = fault.digest ?? LIE_DIGEST;
    }
    if (fault?.kind === "truncate" && req.method === "GET" && up.status < 300 && up.body.length > 1) {
      const keep = Math.min(fault.keep ?? Math.floor(up.body.length / 2), up.body.length - 1);
      const cut = up.body.subarray(0, keep);
      if (fault.declareLength) {
        // Promise the whole body, send part of it, and hang up: a response broken off mid-body.
        headers["content-length"] = String(up.body.length);
        res.writeHead(up.status, headers);
        res.write(cut);
        await sleep(50);
        res.socket?.destroy();
        return `${up.status} (broken off after ${keep}/${up.body.length} bytes)`;
      }
      headers["content-length"] = String(cut.length);
      res.writeHead(up.status, headers);
      res.end(cut);
      return `${up.status} (truncated to ${keep}/${up.body.length} bytes, sha256:${createHash("sha256").update(cut).digest("hex").slice(0, 12)}…)`;
    }
    res.writeHead(up.status, headers);
    res.end(req.method === "HEAD" ? undefined : up.body);
    return String(up.status);
  }

  const server = await startLoopbackServer((req, res) => {
    const line = `${req.method} ${req.url}`;
    handle(req, res).then(
      (outcome) => seen.push(`${line} → ${outcome}${setting ? ` [${setting.fault.kind}]` : ""}`),
      (err: unknown) => {
        seen.push(`${line} → proxy error ${String(err)}`);
        if (!res.headersSent) res.writeHead(502, { "Content-Type": "text/plain" });
        res.end("lab proxy: upstream failed\n");
      },
    );
  }, { name: "faulty registry", keepAliveTimeout: 1_000 });
  const host = server.host;

  return {
    host,
    url: `http://${host}`,
    setFault(next) {
      setting = next;
    },
    requests: () => seen,
    close: () => {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      return server.close();
    },
  };
}
