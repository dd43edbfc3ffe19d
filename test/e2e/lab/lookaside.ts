// A loopback lookaside signature store: a directory served read-only over HTTP, with fault switches.
import { readFile, stat } from "node:fs/promises";
import { resolve, sep } from "node:path";
import { startLoopbackServer } from "./loopback-server";

/**
 * What the server answers instead of the stored file:
 * - "404": every path is missing (a store that lost its signatures, a wrong base URL);
 * - "garbage": 200 with an HTML page for every path (a web server's catch-all page);
 * - "500": a server error for every path (not a verdict: skopeo fails without deciding).
 */
export type LookasideFault = "404" | "garbage" | "500";

export const GARBAGE_BODY = "<!doctype html><html><body><h1>Welcome</h1><p>Not a signature.</p></body></html>\n";

export interface LookasideServer {
  /** "http://127.0.0.1:PORT": the registries.d `lookaside` base for the stored files. */
  url: string;
  /** The directory served (also skopeo's `lookaside-staging: file://<dir>`). */
  dir: string;
  /**
   * A base URL whose every answer is the fault ("http://127.0.0.1:PORT/_fault/404"), for
   * registries.d scopes that must see a broken store while the others see the real one.
   */
  faultUrl(fault: LookasideFault): string;
  /** Global switch: every request answers the fault until set back to null. */
  setFault(fault: LookasideFault | null): void;
  /**
   * The next `n` requests get no answer: their connection is closed, as a server closes a
   * keep-alive connection the client is about to reuse (0 switches it off).
   */
  dropConnections(n: number): void;
  /** Paths requested so far (for assertions and debugging). */
  requests(): readonly string[];
  close(): Promise<void>;
}

const FAULT_PREFIX = /^\/_fault\/(404|garbage|500)(?=\/|$)/;

export async function startLookaside(dir: string): Promise<LookasideServer> {
  const root = resolve(dir);
  let globalFault: LookasideFault | null = null;
  let drops = 0;
  const seen: string[] = [];

  const server = await startLoopbackServer((req, res) => {
    void (async () => {
      const path = (req.url ?? "/").split("?")[0]!;
      seen.push(path);
      if (drops > 0) {
        drops--;
        req.socket.destroy();
        return;
      }
      if (req.method !== "GET" && req.method !== "HEAD") {
        res.writeHead(405, { Allow: "GET, HEAD" }).end();
        return;
      }
      const prefixed = FAULT_PREFIX.exec(path);
      const fault = globalFault ?? (prefixed ? (prefixed[1] as LookasideFault) : null);
      if (fault === "404") {
        res.writeHead(404, { "Content-Type": "text/plain" }).end("not found\n");
        return;
      }
      if (fault === "500") {
        res.writeHead(500, { "Content-Type": "text/plain" }).end("internal error\n");
        return;
      }
      if (fault === "garbage") {
        res.writeHead(200, { "Content-Type": "text/html" }).end(req.method === "HEAD" ? undefined : GARBAGE_BODY);
        return;
      }
      let decoded: string;
      try {
        decoded = decodeURIComponent(path);
      } catch {
        res.writeHead(400).end();
        return;
      }
      const file = resolve(root, `.${decoded}`);
      if (file !== root && !file.startsWith(root + sep)) {
        res.writeHead(404).end();
        return;
      }
      try {
        if (!(await stat(file)).isFile()) throw new Error("not a file");
        const body = await readFile(file);
        res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": body.length });
        res.end(req.method === "HEAD" ? undefined : body);
      } catch {
        res.writeHead(404, { "Content-Type": "text/plain" }).end("not found\n");
      }
    })().catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  }, { name: "lookaside", keepAliveTimeout: 1_000 });
  const url = server.url;

  return {
    url,
    dir: root,
    faultUrl: (fault) => `${url}/_fault/${fault}`,
    setFault(fault) {
      globalFault = fault;
    },
    dropConnections(n) {
      drops = n;
    },
    requests: () => seen,
    close: server.close,
  };
}
