// A loopback registry that serves nothing but an image and thousands of bogus cosign signatures
// for it (lab/hostile-signatures.ts), per repository: the distribution API's manifests (HEAD and
// GET, with Docker-Content-Digest), blobs, and the OCI 1.1 referrers API.
import type { IncomingMessage, ServerResponse } from "node:http";
import { hostileSignatures, type HostileContent, type HostileOptions } from "./hostile-signatures";
import { startLoopbackServer } from "./loopback-server";

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
  const content = new Map<string, HostileContent>();
  const server = await startLoopbackServer((req, res) => {
    served++;
    answer(req, res);
  }, { name: "hostile registry", keepAliveTimeout: 5_000 });
  const host = server.host;
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
    close: server.close,
  };
}
