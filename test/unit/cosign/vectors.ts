// Loads test/vectors/cosign and serves a case's registry from memory through the fetch port.
const files = import.meta.glob("../../vectors/cosign/**/*.{json,pub}", { query: "?raw", import: "default", eager: true }) as Record<string, string>;

export type KeyName = "alice" | "bob" | "carol" | "mallory";

export interface Expectation {
  valid: boolean;
  why?: string;
  signed?: boolean;
  unreadable?: string;
  schemes?: string[];
}

export interface VectorCase {
  name: string;
  description: string;
  layout: "legacy" | "bundle-referrers-api" | "bundle-fallback-tag";
  signatureRepository?: string;
  identity?: { signedIdentity: { type: string }; expect: Record<string, Expectation> };
  expect: Record<string, Expectation>;
  image: { repository: string; digest: string; size: number; manifest: string };
  otherDigest: string;
}

export interface ServedRegistry {
  referrersApi: boolean;
  manifests: Record<string, Record<string, { mediaType: string; base64: string }>>;
  blobs: Record<string, Record<string, string>>;
  referrers: Record<string, Record<string, string>>;
}

const file = (path: string) => {
  const text = files[`../../vectors/cosign/${path}`];
  if (text === undefined) throw new Error(`no vector file ${path}`);
  return text;
};

export const CASES = Object.keys(files)
  .map((p) => /^\.\.\/\.\.\/vectors\/cosign\/([^/]+)\/case\.json$/.exec(p)?.[1])
  .filter((n): n is string => n !== undefined)
  .sort();

export function vector(name: string): { meta: VectorCase; registry: ServedRegistry } {
  return { meta: JSON.parse(file(`${name}/case.json`)) as VectorCase, registry: JSON.parse(file(`${name}/registry.json`)) as ServedRegistry };
}

export function publicKey(name: KeyName): string {
  return file(`keys/${name}.pub`);
}

export function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0));
}

export interface FakeRegistry {
  fetch: (req: Request) => Promise<Response>;
  /** Paths asked for, in order. */
  readonly requests: string[];
  /** Serve several cases at once (their manifests, blobs and referrers merged). */
  add(other: ServedRegistry): void;
  /** Every answer becomes this status (503: down) until called with undefined. */
  fail(status: number | undefined): void;
  /** Throw as an unreachable host would. */
  down(): void;
}

/** A registry in memory: /v2/<repo>/manifests|blobs|referrers from a vector's registry.json. */
export function fakeRegistry(...served: ServedRegistry[]): FakeRegistry {
  const manifests: ServedRegistry["manifests"] = {};
  const blobs: ServedRegistry["blobs"] = {};
  const referrers: ServedRegistry["referrers"] = {};
  let referrersApi = false;
  let failing: number | undefined;
  let unreachable = false;
  const requests: string[] = [];
  const add = (s: ServedRegistry) => {
    referrersApi ||= s.referrersApi;
    for (const [repo, m] of Object.entries(s.manifests)) Object.assign((manifests[repo] ??= {}), m);
    for (const [repo, b] of Object.entries(s.blobs)) Object.assign((blobs[repo] ??= {}), b);
    for (const [repo, r] of Object.entries(s.referrers)) Object.assign((referrers[repo] ??= {}), r);
  };
  served.forEach(add);
  return {
    requests,
    add,
    fail: (status) => void (failing = status),
    down: () => void (unreachable = true),
    fetch: async (req) => {
      const url = new URL(req.url);
      requests.push(`${url.pathname}${url.search}`);
      if (unreachable) throw new TypeError("connect ECONNREFUSED 127.0.0.1:5000");
      if (failing !== undefined) return new Response("unavailable", { status: failing });
      const m = /^\/v2\/(.+)\/(manifests|blobs|referrers)\/([^/]+)$/.exec(url.pathname);
      if (!m) return new Response("not found", { status: 404 });
      const [, repo, kind, ref] = m as unknown as [string, string, string, string];
      if (kind === "manifests") {
        const hit = manifests[repo]?.[ref];
        return hit ? new Response(fromBase64(hit.base64), { headers: { "content-type": hit.mediaType } }) : new Response("{}", { status: 404 });
      }
      if (kind === "blobs") {
        const hit = blobs[repo]?.[ref];
        return hit ? new Response(fromBase64(hit)) : new Response("{}", { status: 404 });
      }
      if (!referrersApi) return new Response("{}", { status: 404 });
      const hit = referrers[repo]?.[ref];
      const body = hit ? fromBase64(hit) : new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [] }));
      return new Response(body, { headers: { "content-type": "application/vnd.oci.image.index.v1+json" } });
    },
  };
}
