// End to end under wrangler dev: a body over the cap sent without a length (chunked) gets its 413, and the Worker keeps serving.
import net from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorker, type WorkerHandle } from "./lab/worker";

/**
 * One raw HTTP/1.1 POST with a chunked body of `total` bytes, written in full; resolves with the status
 * line once an answer has arrived and the client has closed its side, as curl does.
 */
function chunkedPost(url: string, path: string, token: string, total: number): Promise<{ statusLine: string; body: string }> {
  const { hostname, port, host } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(port), hostname);
    let received = "";
    let settled = false;
    const done = () => {
      if (settled) return;
      settled = true;
      const [head = "", body = ""] = received.split("\r\n\r\n");
      resolve({ statusLine: head.split("\r\n")[0] ?? "", body });
    };
    socket.on("data", (data) => {
      received += data.toString("latin1");
      // The whole JSON error body is there: close our side, as a client does once it has its answer.
      if (/\r\n\r\n\{.*\}$/s.test(received)) socket.end();
    });
    socket.on("close", done);
    socket.on("error", (err) => (received ? done() : reject(err)));
    socket.write(
      `POST ${path} HTTP/1.1\r\nHost: ${host}\r\nAuthorization: Bearer ${token}\r\n` +
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
    );
    const chunk = Buffer.alloc(64 * 1024 - 4, 0x61);
    let sent = 0;
    const pump = () => {
      while (sent < total) {
        sent += chunk.length;
        const more = socket.write(`${chunk.length.toString(16)}\r\n`) && socket.write(chunk) && socket.write("\r\n");
        if (!more) return void socket.once("drain", pump);
      }
      socket.write("0\r\n\r\n");
    };
    pump();
  });
}

describe("a chunked body over the cap, under wrangler dev", () => {
  let worker: WorkerHandle;
  beforeAll(async () => {
    worker = await startWorker();
  });
  afterAll(async () => {
    await worker?.stop();
  });

  for (const [route, path, total] of [
    ["/v1/decisions (1 MiB)", "/v1/decisions", 3 * 1024 * 1024],
    ["/v1/admission (the admission cap)", "/v1/admission?policy=none", 8 * 1024 * 1024],
  ] as const) {
    it(`${route}: the 413 arrives, and the next requests are served`, async () => {
      const answer = await chunkedPost(worker.url, path, worker.clientToken, total);
      expect(answer.statusLine).toBe("HTTP/1.1 413 Payload Too Large");
      expect(JSON.parse(answer.body).error.code).toBe("PAYLOAD_TOO_LARGE");
      // Before the fix the first of these hung (the body had been left half-read).
      for (let i = 0; i < 3; i++) {
        const next = await fetch(`${worker.url}/healthz`, { signal: AbortSignal.timeout(10_000) });
        expect(next.status).toBe(200);
        expect(await next.json()).toEqual({ status: "ok" });
      }
    });
  }
});
