// An in-memory registry and lookaside store behind the fetch port, and decide() wired to the signedBy kind.
import { decide, type DecideDeps, type Verdict } from "../../../src/decide";
import { createRequirementKinds } from "../../../src/policy/requirement-kinds";
import type { Cache, DigestResolution } from "../../../src/ports";
import { parseReference } from "../../../src/reference";
import { signedByKind } from "../../../src/requirements/signed-by";
import { allowKind } from "../../../src/requirements/static";
import { base64 } from "./vectors";

export const LOOKASIDE_HOST = "127.0.0.1:8081";
export const LOOKASIDE = `http://${LOOKASIDE_HOST}/sigstore`;

export function memoryCache(): Cache & { store: Map<string, string> } {
  const store = new Map<string, string>();
  return { store, get: async (k) => store.get(k) ?? null, put: async (k, v) => void store.set(k, v) };
}

type Fault = "down" | "timeout" | number | null;

/** One registry host and one lookaside host, both on loopback addresses that are never dialled. */
export function world(registry: string) {
  const files = new Map<string, Uint8Array | string>();
  const extension = new Map<string, unknown>();
  const requests: string[] = [];
  const state = { lookasideFault: null as Fault, registryFault: null as Fault, xrss: false, pingStatus: 401 };
  const fetch = async (req: Request): Promise<Response> => {
    const url = new URL(req.url);
    requests.push(`${req.method} ${url.href}`);
    const fault = url.host === registry ? state.registryFault : url.host === LOOKASIDE_HOST ? state.lookasideFault : null;
    if (fault === "down") throw new TypeError(`connect ECONNREFUSED ${url.host}`);
    if (fault === "timeout") {
      const e = new Error("The operation was aborted due to timeout");
      e.name = "TimeoutError";
      throw e;
    }
    if (typeof fault === "number") return new Response("fault", { status: fault });
    if (url.host === registry) {
      if (url.pathname === "/v2/") {
        const headers: Record<string, string> = state.xrss ? { "X-Registry-Supports-Signatures": "1" } : {};
        return new Response("{}", { status: state.pingStatus, headers });
      }
      const m = /^\/extensions\/v2\/(.+)\/signatures\/(sha256:[a-f0-9]{64})$/.exec(url.pathname);
      if (m && state.xrss) {
        const body = extension.get(`${m[1]}@${m[2]}`);
        return body === undefined ? new Response("{}", { status: 404 }) : new Response(JSON.stringify(body));
      }
      return new Response("not found", { status: 404 });
    }
    if (url.host === LOOKASIDE_HOST) {
      const body = files.get(url.pathname);
      return body === undefined ? new Response("not found", { status: 404 }) : new Response(body);
    }
    throw new TypeError(`test world: no host ${url.host}`);
  };
  return {
    fetch,
    requests,
    state,
    files,
    extension,
    /** Puts signatures at <lookaside>/<repo>@sha256=<hex>/signature-1.. */
    lookaside(repo: string, digest: string, blobs: readonly (Uint8Array | string)[], base = "/sigstore") {
      const dir = `${base}/${repo}@${digest.replace(":", "=")}`;
      for (const key of [...files.keys()]) if (key.startsWith(`${dir}/`)) files.delete(key);
      blobs.forEach((b, i) => files.set(`${dir}/signature-${i + 1}`, b));
    },
    /** Serves the blobs from the X-Registry-Supports-Signatures extension. */
    serveExtension(repo: string, digest: string, blobs: readonly Uint8Array[]) {
      state.xrss = true;
      extension.set(`${repo}@${digest}`, {
        signatures: blobs.map((b, i) => ({ schemaVersion: 2, name: `${digest}@${"0".repeat(31)}${i}`, type: "atomic", content: base64(b) })),
      });
    },
  };
}

export type World = ReturnType<typeof world>;

export function setup(w: World, at: Date | string, registryDigest: string, options: { trustCache?: Cache; recheck?: number } = {}) {
  const work = { fetch: 0, verify: 0 };
  let now = new Date(at);
  const clock = { now: () => now };
  const trustCache = options.trustCache ?? memoryCache();
  const deps: DecideDeps = {
    kinds: createRequirementKinds([allowKind, signedByKind]),
    digests: { resolve: async (): Promise<DigestResolution> => ({ ok: true, digest: registryDigest, cached: false }) },
    verdictCache: memoryCache(),
    verdictTtlSeconds: 300,
    clock,
    verifier: {
      fetch: w.fetch,
      trustCache,
      clock,
      counter: { count: (kind) => void work[kind]++ },
      settings: { upstreamTimeoutMs: 1000, trustRecheckSeconds: options.recheck ?? 60, credentials: {} },
    },
  };
  return {
    deps,
    work,
    trustCache,
    advance(seconds: number) {
      now = new Date(now.getTime() + seconds * 1000);
    },
  };
}

let revision = 0;

/** One decision under a one-rule policy; every call is a new policy revision, so the verdict cache never answers. */
export function run(deps: DecideDeps, image: string, requirement: Record<string, unknown>, view?: { revision: string }): Promise<Verdict> {
  const policy = {
    mode: "enforce" as const,
    patternStyle: "native" as const,
    rules: [{ pattern: "*", require: [{ type: "signedBy", ...requirement }] }],
  };
  return decide({ image, reference: parseReference(image), context: {} }, { id: "p", revision: view?.revision ?? `r${revision++}`, policy }, deps);
}
