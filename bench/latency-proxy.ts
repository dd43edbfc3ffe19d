// For `npm run bench` (cold phase): an HTTP proxy on loopback that holds every request for a fixed
// time before passing it to one upstream, so trustgate and a reference tool can be compared with
// the round-trip time a real trust server has (tens of ms) instead of loopback's (< 1 ms).
import { createServer, request as httpRequest, type Server } from "node:http";
import type { Socket } from "node:net";

export interface LatencyProxy {
  /** "http://127.0.0.1:PORT" */
  readonly url: string;
  close(): Promise<void>;
}

export async function startLatencyProxy(upstream: string, delayMs: number): Promise<LatencyProxy> {
  const target = new URL(upstream);
  if (target.protocol !== "http:") throw new Error(`latency proxy: ${upstream} is not http`);
  const sockets = new Set<Socket>();
  const server: Server = createServer((req, res) => {
    setTimeout(() => {
      const out = httpRequest(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, host: target.host } },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      out.on("error", () => {
        res.writeHead(502);
        res.end();
      });
      req.pipe(out);
    }, delayMs);
  });
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => ok());
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("latency proxy: no TCP address");
  return {
    url: `http://127.0.0.1:${address.port}`,
    close: () =>
      new Promise<void>((ok) => {
        for (const s of sockets) s.destroy();
        server.close(() => ok());
      }),
  };
}
