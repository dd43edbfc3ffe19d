// For `npm run bench` (cold phase): an HTTP proxy on loopback that holds every request for a fixed
// time before passing it to one upstream, so trustgate and a reference tool can be compared with
// the round-trip time a real trust server has (tens of ms) instead of loopback's (< 1 ms).
import { request as httpRequest } from "node:http";
import { startLoopbackServer } from "../test/e2e/lab/loopback-server";

export interface LatencyProxy {
  /** "http://127.0.0.1:PORT" */
  readonly url: string;
  close(): Promise<void>;
}

export async function startLatencyProxy(upstream: string, delayMs: number): Promise<LatencyProxy> {
  const target = new URL(upstream);
  if (target.protocol !== "http:") throw new Error(`latency proxy: ${upstream} is not http`);
  const { url, close } = await startLoopbackServer((req, res) => {
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
  }, { name: "latency proxy" });
  return { url, close };
}
