// OCI distribution client: manifests by tag or digest, with Docker-Content-Digest checked
// against the bytes whenever the body is fetched. Auth, timeouts and caps come from HttpClient.
import type { DigestResolution, DigestResolver, HttpFetch, NamedUpstreams, WorkCounter } from "../ports";
import type { ImageReference } from "../reference";
import { sha256Hex } from "../encoding";
import { isLoopbackHost } from "../hosts";
import { HttpClient, UpstreamError, type Credentials } from "./http-client";
import { DEFAULT_LIMITS } from "../limits";

export { parseChallenge } from "./http-client";
export type RegistryCredentials = Credentials;

export const MANIFEST_ACCEPT = [
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
].join(", ");

export interface RegistryClientOptions {
  readonly fetch: HttpFetch;
  /** Hosts (host or host:port) spoken to over plain http besides loopback. */
  readonly insecureRegistries?: readonly string[];
  readonly credentials?: Readonly<Record<string, Credentials>>;
  readonly timeoutMs?: number;
  readonly maxManifestBytes?: number;
  readonly counter?: WorkCounter;
}

export interface Manifest {
  readonly bytes: Uint8Array;
  readonly digest: string;
  readonly mediaType: string;
}

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

export { isLoopbackHost };

export function registryBaseUrl(registry: string, insecure: readonly string[] = []): string {
  if (registry === "docker.io") return "https://registry-1.docker.io";
  const scheme = isLoopbackHost(registry) || insecure.includes(registry) ? "http" : "https";
  return `${scheme}://${registry}`;
}

export class RegistryClient implements DigestResolver {
  private readonly http: HttpClient;
  private readonly maxManifestBytes: number;
  /** The same client for decisions whose rule names upstreams, per fetch port the guard gives back. */
  private readonly naming = new WeakMap<HttpFetch, RegistryClient>();

  constructor(private readonly options: RegistryClientOptions) {
    this.http = new HttpClient({
      fetch: options.fetch,
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      ...(options.counter ? { counter: options.counter } : {}),
    });
    this.maxManifestBytes = options.maxManifestBytes ?? DEFAULT_LIMITS.registry.manifestBytes;
  }

  /** `upstreams`: hosts the decision's matching rule names, which the egress guard then lets us contact. */
  async resolve(reference: ImageReference, upstreams?: NamedUpstreams): Promise<DigestResolution> {
    if (reference.digest) return { ok: true, digest: reference.digest, cached: false };
    const client = upstreams?.length ? this.namingClient(upstreams) : this;
    try {
      return { ok: true, digest: await client.resolveTag(reference), cached: false };
    } catch (err) {
      if (!(err instanceof UpstreamError)) throw err;
      return {
        ok: false,
        transient: err.transient,
        reason: { code: err.code, message: err.message, ...(err.url ? { url: err.url } : {}) },
      };
    }
  }

  private namingClient(upstreams: NamedUpstreams): RegistryClient {
    const fetch = this.options.fetch.naming?.(upstreams);
    if (!fetch || fetch === this.options.fetch) return this;
    let client = this.naming.get(fetch);
    if (!client) {
      client = new RegistryClient({ ...this.options, fetch });
      this.naming.set(fetch, client);
    }
    return client;
  }

  /** The digest a tag points at now: HEAD first (cheap), GET and hash when HEAD gives no digest. */
  async resolveTag(reference: ImageReference): Promise<string> {
    const ref = reference.tag ?? "latest";
    const head = await this.send(reference, ref, "HEAD");
    if (head.ok) {
      const digest = head.headers.get("docker-content-digest");
      if (digest && DIGEST_RE.test(digest)) return digest;
    } else if (head.status !== 405 && head.status !== 400) {
      this.throwForStatus(head, reference, this.manifestUrl(reference, ref));
    }
    return (await this.fetchManifest(reference, ref)).digest;
  }

  async fetchManifest(reference: ImageReference, ref: string): Promise<Manifest> {
    const url = this.manifestUrl(reference, ref);
    const res = await this.send(reference, ref, "GET");
    if (!res.ok) this.throwForStatus(res, reference, url);
    const bytes = await this.http.readBounded(res, url, this.maxManifestBytes);
    const digest = `sha256:${await sha256Hex(bytes)}`;
    const claimed = res.headers.get("docker-content-digest");
    if (claimed && claimed !== digest) {
      throw new UpstreamError(
        "REGISTRY_DIGEST_MISMATCH",
        `registry ${reference.registry} said the manifest of ${reference.name}:${ref} has digest ${claimed}, but its bytes hash to ${digest}`,
        true,
        url,
      );
    }
    if (ref.startsWith("sha256:") && ref !== digest) {
      throw new UpstreamError(
        "REGISTRY_DIGEST_MISMATCH",
        `registry ${reference.registry} served a manifest for ${reference.name}@${ref} whose bytes hash to ${digest}`,
        true,
        url,
      );
    }
    const mediaType = (res.headers.get("content-type") ?? "").split(";")[0]!.trim();
    return { bytes, digest, mediaType };
  }

  private send(reference: ImageReference, ref: string, method: "GET" | "HEAD"): Promise<Response> {
    const credentials = this.options.credentials?.[reference.registry];
    return this.http.send({
      url: this.manifestUrl(reference, ref),
      method,
      accept: MANIFEST_ACCEPT,
      scope: `repository:${reference.path}:pull`,
      host: reference.registry,
      ...(credentials ? { credentials } : {}),
    });
  }

  private manifestUrl(reference: ImageReference, ref: string): string {
    return `${registryBaseUrl(reference.registry, this.options.insecureRegistries)}/v2/${reference.path}/manifests/${ref}`;
  }

  private throwForStatus(res: Response, reference: ImageReference, url: string): never {
    const where = `${reference.name}:${reference.tag ?? reference.digest ?? "latest"}`;
    if (res.status === 404) {
      throw new UpstreamError("MANIFEST_NOT_FOUND", `manifest unknown: ${where} does not exist in registry ${reference.registry}`, false, url);
    }
    if (res.status === 401 || res.status === 403) {
      throw new UpstreamError(
        "REGISTRY_AUTH_FAILED",
        `registry ${reference.registry} refused access to ${reference.path} (HTTP ${res.status}); configure credentials for it`,
        false,
        url,
      );
    }
    throw new UpstreamError(
      res.status >= 500 ? "REGISTRY_UNREACHABLE" : "REGISTRY_BAD_RESPONSE",
      `registry ${reference.registry} answered HTTP ${res.status} for ${where}`,
      res.status >= 500 || res.status === 429,
      url,
    );
  }
}
