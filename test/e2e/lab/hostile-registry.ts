// A loopback registry that serves nothing but an image and thousands of bogus cosign signatures
// for it (lab/hostile-signatures.ts), per repository: the distribution API's manifests (HEAD and
// GET, with Docker-Content-Digest), blobs, and the OCI 1.1 referrers API.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import { hostileSignatures, type HostileContent, type HostileOptions } from "./hostile-signatures";

export interface HostileRegistry {
  /** "127.0.0.1:PORT" */
  host: string;
  url: string;
  /** What each repository serves (its image's digest among it). */
  content: ReadonlyMap<string, HostileContent>;
  /** Requests served so far. */
  requests(): number;
  close(): Promise<void>;
}

/** Repositories ("hostile/legacy") and what each serves; `repository` in the options is filled in. */
export async function startHostileRegistry(repos: Record<string, Omit<HostileOptions, "repository">>): Promise<HostileRegistry> {
  let served = 0;
  const sockets = new Set<Socket>();
  const content = new Map<string, HostileContent>();
  const server: Server = createServer((req, res) => {
    served++;
    answer(req, res);
  });
  server.keepAliveTimeout = 5_000;
  server.on("connection", (s: Socket) => {
    sockets.add(s);
    s.on("close", () => sockets.delete(s));
  });
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => ok());
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("hostile registry: no TCP address");
  const host = `127.0.0.1:${address.port}`;
  for (const [repo, options] of Object.entries(repos)) content.set(repo, await hostileSignatures({ ...options, repository: `${host}/${repo}` }));

  function answer(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? "/").split("?")[0]!;
    if (path === "/v2/" || path === "/v2") {
      res.writeHead(200, { "Content-Type": "application/json", "Docker-Distribution-API-Version": "registry/2.0" }).end("{}");
      return;
    }
    const m = /^\/v2\/(.+)\/(manifests|blobs|referrers)\/([^/]+)$/.exec(path);
    const repo = m ? content.get(m[1]!) : undefined;
    if (!m || !repo) {
      res.writeHead(404, { "Content-Type": "application/json" }).end('{"errors":[{"code":"NAME_UNKNOWN"}]}');
      return;
    }
    const [, , kind, ref] = m as unknown as [string, string, string, string];
    let body: Uint8Array | undefined;
    let type = "application/octet-stream";
    if (kind === "referrers") {
      body = ref === repo.digest ? repo.referrersIndex : new TextEncoder().encode('{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]}');
      type = "application/vnd.oci.image.index.v1+json";
    } else if (kind === "manifests") {
      const hit = repo.manifests.get(ref);
      if (hit) [body, type] = [hit.bytes, hit.mediaType];
    } else {
      body = repo.blobs.get(ref);
    }
    if (!body) {
      res.writeHead(404, { "Content-Type": "application/json" }).end('{"errors":[{"code":"MANIFEST_UNKNOWN"}]}');
      return;
    }
    const headers: Record<string, string> = { "Content-Type": type, "Content-Length": String(body.length) };
    if (kind === "manifests") headers["Docker-Content-Digest"] = ref.startsWith("sha256:") ? ref : repo.digest;
    res.writeHead(200, headers);
    res.end(req.method === "HEAD" ? undefined : body);
  }

  return {
    host,
    url: `http://${host}`,
    content,
    requests: () => served,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        for (const s of sockets) s.destroy();
      }),
  };
}
