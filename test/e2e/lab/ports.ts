// Loopback ports for the lab's servers, and waiting for a server to start answering.
import { createServer } from "node:net";

/** A port that was free on 127.0.0.1 a moment ago (the OS picks it; we close and hand it on). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address === null || typeof address === "string") {
        server.close();
        reject(new Error("freePort: no TCP address"));
        return;
      }
      const { port } = address;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

export interface WaitOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Accepts the response; by default any HTTP answer counts. */
  accept?: (response: Response) => boolean;
  /** Gives up early (e.g. the server process exited); return an error message to stop waiting. */
  abortIf?: () => string | undefined;
}

/** Throws unless url points at 127.0.0.1 (or localhost / ::1): the lab never talks to anything else. */
export function assertLoopback(url: string): void {
  const host = new URL(url).hostname;
  if (host !== "127.0.0.1" && host !== "localhost" && host !== "[::1]") {
    throw new Error(`lab: refusing non-loopback address ${url}`);
  }
}

/** Polls url until it answers over HTTP (any status unless `accept` says otherwise). */
export async function waitForHttp(url: string, options: WaitOptions = {}): Promise<Response> {
  assertLoopback(url);
  const timeoutMs = options.timeoutMs ?? 30_000;
  const intervalMs = options.intervalMs ?? 100;
  const deadline = Date.now() + timeoutMs;
  let last = "no attempt";
  for (;;) {
    const aborted = options.abortIf?.();
    if (aborted !== undefined) throw new Error(`waitForHttp ${url}: ${aborted}`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(Math.max(500, Math.min(5_000, deadline - Date.now()))) });
      if (options.accept === undefined || options.accept(response)) return response;
      last = `HTTP ${response.status}`;
      await response.body?.cancel();
    } catch (err) {
      last = err instanceof Error ? `${err.message}${err.cause instanceof Error ? `: ${err.cause.message}` : ""}` : String(err);
    }
    if (Date.now() >= deadline) throw new Error(`waitForHttp ${url}: no answer within ${timeoutMs} ms (last: ${last})`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
