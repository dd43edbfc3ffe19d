// End to end: reasons do not tell ports apart. A real Worker (wrangler dev, short upstream timeout,
// caches off) is sent to loopback ports that refuse the connection, accept and stay silent, speak
// another protocol, or are asked for TLS while they speak plain HTTP. Every reason must read the same
// once the port number is taken out: a policy author cannot use trustgate to scan a network.
import { readFile } from "node:fs/promises";
import { createServer as createHttpServer, type Server as HttpServer } from "node:http";
import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callApi, type ApiVerdict } from "./lab/api";
import { freePort } from "./lab/ports";
import { REPO_ROOT, startWorker, type WorkerHandle } from "./lab/worker";

const TIMEOUT_MS = 600;
const DIGEST = `sha256:${"5".repeat(64)}`;

/** A TCP server on 127.0.0.1 whose every connection gets `onConnection`; sockets are tracked so close() ends them. */
async function tcpServer(onConnection: (socket: Socket) => void): Promise<{ port: number; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    socket.on("error", () => undefined);
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("no TCP address");
  return {
    port: address.port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe("upstream failures without an HTTP answer read the same", () => {
  let worker: WorkerHandle;
  let silent: Awaited<ReturnType<typeof tcpServer>>;
  let banner: Awaited<ReturnType<typeof tcpServer>>;
  let plainHttp: HttpServer;
  let plainPort: number;
  let registry: HttpServer;
  let registryPort: number;
  let closedPort: number;

  const listen = async (server: HttpServer) => {
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("no TCP address");
    return address.port;
  };

  beforeAll(async () => {
    const booting = startWorker({
      vars: { UPSTREAM_TIMEOUT_MS: String(TIMEOUT_MS), TAG_CACHE_TTL_SECONDS: "0", VERDICT_CACHE_TTL_SECONDS: "0", TRUST_RECHECK_SECONDS: "0" },
    });
    booting.catch(() => undefined);
    closedPort = await freePort();
    // Accepts, reads, never writes: only the Worker's timeout ends the request.
    silent = await tcpServer(() => undefined);
    // Another protocol: an SSH server's greeting, then the connection is closed.
    banner = await tcpServer((socket) => socket.end("SSH-2.0-OpenSSH_9.6\r\n"));
    // Plain HTTP, asked for TLS by an https URL.
    plainHttp = createHttpServer((_req, res) => res.end("plain"));
    plainPort = await listen(plainHttp);
    // A registry whose ping answers (no signature extension), so that the lookaside is asked.
    registry = createHttpServer((req, res) => {
      res.statusCode = req.url === "/v2/" ? 401 : 404;
      res.end("{}");
    });
    registryPort = await listen(registry);
    worker = await booting;
  });

  afterAll(async () => {
    await worker?.stop();
    await silent?.close();
    await banner?.close();
    await new Promise((r) => plainHttp?.close(r));
    await new Promise((r) => registry?.close(r));
  });

  async function put(id: string, doc: unknown) {
    const res = await callApi(worker.url, "PUT", `/v1/policies/${id}`, worker.adminToken, doc);
    expect(res.status, JSON.stringify(res.json)).toBe(200);
  }

  async function decide(policy: string, image: string): Promise<ApiVerdict> {
    const { status, json } = await callApi(worker.url, "POST", "/v1/decisions", worker.clientToken, { image, policy });
    expect(status, JSON.stringify(json)).toBe(200);
    return json as ApiVerdict;
  }

  /** The reasons as a policy author reads them, with the one port that differs written as PORT. */
  const anonymous = (v: ApiVerdict, port: number) => JSON.parse(JSON.stringify(v.reasons).replaceAll(`127.0.0.1:${port}`, "127.0.0.1:PORT"));

  it("registry reads: a closed, a silent and a non-HTTP port give the same reasons", async () => {
    await put("ports-registry", { rules: [{ pattern: "*", require: [{ type: "notary", server: "https://notary.example" }] }] });
    const seen: Record<string, unknown> = {};
    for (const [kind, port] of [
      ["closed", closedPort],
      ["silent", silent.port],
      ["another protocol", banner.port],
    ] as const) {
      const v = await decide("ports-registry", `127.0.0.1:${port}/app/web:v1`);
      expect(v.decision, kind).toBe("deny");
      seen[kind] = anonymous(v, port);
    }
    const expected = [{ code: "REGISTRY_UNREACHABLE", message: "127.0.0.1:PORT could not be reached (no HTTP answer)" }];
    for (const [kind, reasons] of Object.entries(seen)) expect(reasons, kind).toMatchObject(expected);
    expect(seen.silent).toEqual(seen.closed);
    expect(seen["another protocol"]).toEqual(seen.closed);
  });

  it("lookaside reads: a closed, a silent, a non-HTTP port and a failed TLS handshake give the same reasons", async () => {
    const key = await readFile(`${REPO_ROOT}test/vectors/simple-signing/keys/rsa.asc`, "utf8");
    const lookasides = {
      closed: [closedPort, `http://127.0.0.1:${closedPort}/sigs`],
      silent: [silent.port, `http://127.0.0.1:${silent.port}/sigs`],
      "another protocol": [banner.port, `http://127.0.0.1:${banner.port}/sigs`],
      "TLS to a plain HTTP port": [plainPort, `https://127.0.0.1:${plainPort}/sigs`],
    } as const;
    const names = Object.keys(lookasides);
    await put("ports-lookaside", {
      rules: names.map((kind, i) => ({ pattern: `127.0.0.1:${registryPort}/k${i}/*`, require: [{ type: "signedBy", keys: [key], lookaside: lookasides[kind as keyof typeof lookasides][1] }] })),
    });
    const seen: Record<string, unknown> = {};
    for (const [i, kind] of names.entries()) {
      const [port] = lookasides[kind as keyof typeof lookasides];
      const v = await decide("ports-lookaside", `127.0.0.1:${registryPort}/k${i}/app@${DIGEST}`);
      expect(v.decision, kind).toBe("deny");
      // The rules differ by their pattern and lookaside (so the URL by its path, and for TLS its
      // scheme), as the policy author wrote them; beyond that, the reasons must not differ at all.
      const url = (u: unknown) => String(u).replace(`/k${i}/`, "/kN/").replace(/^https:/, "http:");
      seen[kind] = anonymous(v, port).map((r: Record<string, unknown>) => ({ ...r, rule: undefined, url: url(r.url) }));
    }
    for (const [kind, reasons] of Object.entries(seen)) {
      expect(reasons, kind).toMatchObject([{ code: "SIMPLE_LOOKASIDE_UNREACHABLE", message: "lookaside 127.0.0.1:PORT could not be reached (no HTTP answer)", transient: true }]);
      expect(reasons, kind).toEqual(seen.closed);
    }
  });
});
