// OCI distribution client: manifests by tag or digest, the anonymous/credentialed bearer-token
// flow, and Docker-Content-Digest checked against the bytes whenever the body is fetched.
import type { DigestResolution, DigestResolver, HttpFetch, WorkCounter } from "../ports";
import { noCounter } from "../ports";
import type { ImageReference } from "../reference";
import type { ReasonCode } from "../reasons";
import { sha256Hex } from "../encoding";

export const MANIFEST_ACCEPT = [
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
].join(", ");

export interface RegistryCredentials {
  readonly username?: string;
  readonly password?: string;
  /** A ready bearer token (registry tokens from a CI system, say). */
  readonly token?: string;
}

export interface RegistryClientOptions {
  readonly fetch: HttpFetch;
  /** Hosts (host or host:port) spoken to over plain http besides loopback. */
  readonly insecureRegistries?: readonly string[];
  readonly credentials?: Readonly<Record<string, RegistryCredentials>>;
  readonly timeoutMs?: number;
  readonly maxManifestBytes?: number;
  readonly counter?: WorkCounter;
}

export class RegistryError extends Error {
  override readonly name = "RegistryError";
  constructor(
    readonly code: ReasonCode,
    message: string,
    readonly transient: boolean,
    readonly url?: string,
  ) {
    super(message);
  }
}

export interface Manifest {
  readonly bytes: Uint8Array;
  readonly digest: string;
  readonly mediaType: string;
}

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

/** Loopback registries are spoken to over http, as Docker does. */
export function isLoopbackHost(registry: string): boolean {
  const host = registry.startsWith("[") ? registry.slice(0, registry.indexOf("]") + 1) : registry.split(":")[0]!;
  return host === "localhost" || host === "[::1]" || /^127(\.\d{1,3}){3}$/.test(host);
}

export function registryBaseUrl(registry: string, insecure: readonly string[] = []): string {
  if (registry === "docker.io") return "https://registry-1.docker.io";
  const scheme = isLoopbackHost(registry) || insecure.includes(registry) ? "http" : "https";
  return `${scheme}://${registry}`;
}

interface Challenge {
  readonly scheme: string;
  readonly params: Readonly<Record<string, string>>;
}

export function parseChallenge(header: string | null): Challenge | undefined {
  if (!header) return undefined;
  const m = /^\s*(\w+)\s*(.*)$/.exec(header);
  if (!m) return undefined;
  const params: Record<string, string> = {};
  for (const p of m[2]!.matchAll(/(\w+)\s*=\s*"([^"]*)"/g)) params[p[1]!.toLowerCase()] = p[2]!;
  return { scheme: m[1]!.toLowerCase(), params };
}

export class RegistryClient implements DigestResolver {
  private readonly tokens = new Map<string, { value: string; expiresAt: number }>();
  private readonly timeoutMs: number;
  private readonly maxManifestBytes: number;
  private readonly counter: WorkCounter;

  constructor(private readonly options: RegistryClientOptions) {
    this.timeoutMs = options.timeoutMs ?? 3000;
    this.maxManifestBytes = options.maxManifestBytes ?? 4 * 1024 * 1024;
    this.counter = options.counter ?? noCounter;
  }

  async resolve(reference: ImageReference): Promise<DigestResolution> {
    if (reference.digest) return { ok: true, digest: reference.digest, cached: false };
    try {
      return { ok: true, digest: await this.resolveTag(reference), cached: false };
    } catch (err) {
      if (!(err instanceof RegistryError)) throw err;
      return {
        ok: false,
        transient: err.transient,
        reason: { code: err.code, message: err.message, ...(err.url ? { url: err.url } : {}) },
      };
    }
  }

  /** The digest a tag points at now: HEAD first (cheap), GET and hash when HEAD gives no digest. */
  async resolveTag(reference: ImageReference): Promise<string> {
    const ref = reference.tag ?? "latest";
    const url = this.manifestUrl(reference, ref);
    const head = await this.send(reference, url, "HEAD");
    if (head.ok) {
      const digest = head.headers.get("docker-content-digest");
      if (digest && DIGEST_RE.test(digest)) return digest;
    } else if (head.status !== 405 && head.status !== 400) {
      this.throwForStatus(head, reference, url);
    }
    return (await this.fetchManifest(reference, ref)).digest;
  }

  async fetchManifest(reference: ImageReference, ref: string): Promise<Manifest> {
    const url = this.manifestUrl(reference, ref);
    const res = await this.send(reference, url, "GET");
    if (!res.ok) this.throwForStatus(res, reference, url);
    const bytes = await this.readBounded(res, url);
    const digest = `sha256:${await sha256Hex(bytes)}`;
    const claimed = res.headers.get("docker-content-digest");
    if (claimed && claimed !== digest) {
      throw new RegistryError(
        "REGISTRY_DIGEST_MISMATCH",
        `registry ${reference.registry} said the manifest of ${reference.name}:${ref} has digest ${claimed}, but its bytes hash to ${digest}`,
        true,
        url,
      );
    }
    if (ref.startsWith("sha256:") && ref !== digest) {
      throw new RegistryError(
        "REGISTRY_DIGEST_MISMATCH",
        `registry ${reference.registry} served a manifest for ${reference.name}@${ref} whose bytes hash to ${digest}`,
        true,
        url,
      );
    }
    const mediaType = (res.headers.get("content-type") ?? "").split(";")[0]!.trim();
    return { bytes, digest, mediaType };
  }

  private manifestUrl(reference: ImageReference, ref: string): string {
    return `${registryBaseUrl(reference.registry, this.options.insecureRegistries)}/v2/${reference.path}/manifests/${ref}`;
  }

  private throwForStatus(res: Response, reference: ImageReference, url: string): never {
    const where = `${reference.name}:${reference.tag ?? reference.digest ?? "latest"}`;
    if (res.status === 404) {
      throw new RegistryError("MANIFEST_NOT_FOUND", `manifest unknown: ${where} does not exist in registry ${reference.registry}`, false, url);
    }
    if (res.status === 401 || res.status === 403) {
      throw new RegistryError(
        "REGISTRY_AUTH_FAILED",
        `registry ${reference.registry} refused access to ${reference.path} (HTTP ${res.status}); configure credentials for it`,
        false,
        url,
      );
    }
    throw new RegistryError(
      res.status >= 500 ? "REGISTRY_UNREACHABLE" : "REGISTRY_BAD_RESPONSE",
      `registry ${reference.registry} answered HTTP ${res.status} for ${where}`,
      res.status >= 500 || res.status === 429,
      url,
    );
  }

  /** One request with the auth flow: retry once with a token when challenged. */
  private async send(reference: ImageReference, url: string, method: "GET" | "HEAD"): Promise<Response> {
    const scope = `repository:${reference.path}:pull`;
    const creds = this.options.credentials?.[reference.registry];
    const cachedToken = this.tokens.get(`${reference.registry} ${scope}`);
    let auth: string | undefined =
      creds?.token !== undefined
        ? `Bearer ${creds.token}`
        : cachedToken && cachedToken.expiresAt > Date.now()
          ? `Bearer ${cachedToken.value}`
          : undefined;
    let res = await this.request(url, method, auth);
    if (res.status !== 401 || creds?.token !== undefined) return res;
    const challenge = parseChallenge(res.headers.get("www-authenticate"));
    await res.body?.cancel();
    if (challenge?.scheme === "bearer" && challenge.params.realm) {
      auth = `Bearer ${await this.fetchToken(reference, challenge.params, scope)}`;
    } else if (challenge?.scheme === "basic" && creds?.username !== undefined) {
      auth = `Basic ${btoa(`${creds.username}:${creds.password ?? ""}`)}`;
    } else {
      return res;
    }
    res = await this.request(url, method, auth);
    return res;
  }

  private async fetchToken(
    reference: ImageReference,
    params: Readonly<Record<string, string>>,
    scope: string,
  ): Promise<string> {
    const realm = new URL(params.realm!);
    if (params.service) realm.searchParams.set("service", params.service);
    realm.searchParams.set("scope", params.scope ?? scope);
    const creds = this.options.credentials?.[reference.registry];
    const auth = creds?.username !== undefined ? `Basic ${btoa(`${creds.username}:${creds.password ?? ""}`)}` : undefined;
    const res = await this.request(realm.toString(), "GET", auth);
    if (!res.ok) {
      await res.body?.cancel();
      throw new RegistryError(
        "REGISTRY_AUTH_FAILED",
        `token service ${realm.host} refused a pull token for ${reference.name} (HTTP ${res.status})`,
        res.status >= 500,
        realm.toString(),
      );
    }
    const body = JSON.parse(new TextDecoder().decode(await this.readBounded(res, realm.toString(), 64 * 1024))) as {
      token?: unknown;
      access_token?: unknown;
      expires_in?: unknown;
    };
    const token = typeof body.token === "string" ? body.token : body.access_token;
    if (typeof token !== "string" || token === "") {
      throw new RegistryError("REGISTRY_AUTH_FAILED", `token service ${realm.host} returned no token`, false);
    }
    const ttl = typeof body.expires_in === "number" ? body.expires_in : 60;
    this.tokens.set(`${reference.registry} ${scope}`, { value: token, expiresAt: Date.now() + (ttl - 5) * 1000 });
    return token;
  }

  private async request(url: string, method: "GET" | "HEAD", auth: string | undefined): Promise<Response> {
    this.counter.count("fetch", `${method} ${url}`);
    const headers: Record<string, string> = { accept: MANIFEST_ACCEPT };
    if (auth) headers.authorization = auth;
    try {
      return await this.options.fetch(
        new Request(url, { method, headers, redirect: "follow", signal: AbortSignal.timeout(this.timeoutMs) }),
      );
    } catch (err) {
      const what = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError")
        ? `did not answer within ${this.timeoutMs} ms`
        : `could not be reached (${err instanceof Error ? err.message : String(err)})`;
      throw new RegistryError("REGISTRY_UNREACHABLE", `${new URL(url).host} ${what}`, true, url);
    }
  }

  private async readBounded(res: Response, url: string, max = this.maxManifestBytes): Promise<Uint8Array> {
    const declared = Number(res.headers.get("content-length") ?? "0");
    if (declared > max) {
      await res.body?.cancel();
      throw new RegistryError("REGISTRY_BAD_RESPONSE", `${new URL(url).host} sent ${declared} bytes, more than the ${max} allowed`, false, url);
    }
    if (!res.body) return new Uint8Array();
    const reader = res.body.getReader();
    const chunks: Uint8Array[] = [];
    let size = 0;
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        size += value.byteLength;
        if (size > max) {
          await reader.cancel();
          throw new RegistryError("REGISTRY_BAD_RESPONSE", `${new URL(url).host} sent more than the ${max} bytes allowed`, false, url);
        }
        chunks.push(value);
      }
    } catch (err) {
      if (err instanceof RegistryError) throw err;
      throw new RegistryError("REGISTRY_UNREACHABLE", `${new URL(url).host} broke off the response: ${String(err)}`, true, url);
    }
    const out = new Uint8Array(size);
    let at = 0;
    for (const c of chunks) {
      out.set(c, at);
      at += c.byteLength;
    }
    return out;
  }
}
