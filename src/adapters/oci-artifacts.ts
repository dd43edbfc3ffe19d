// OCI artifacts around an image: manifests by tag or digest, blobs by digest, and the referrers API with its tag fallback.
//
// OCI distribution spec 1.1: GET /v2/<name>/manifests/<reference>, GET /v2/<name>/blobs/<digest>,
// GET /v2/<name>/referrers/<digest>[?artifactType=…] (an image index; a 404 means the registry has
// no referrers API, and clients fall back to the index at tag <alg>-<hex>, the "referrers tag
// schema"; a registry may ignore the filter, and says so with OCI-Filters-Applied, so the filter is
// applied here again). Index entries written to the fallback tag do not always say what they are:
// go-containerregistry wrote config.mediaType (the empty descriptor's type) or nothing as the
// entry's artifactType (sigstore/cosign#4641), so such entries pass the filter and the caller reads
// the referrer manifest itself. A 404 for a manifest means "nothing there"; 5xx, 429 and unreachable
// hosts are transient (UpstreamError.transient). Everything fetched by digest is hashed and compared.
import { sha256Hex } from "../encoding";
import type { Credentials } from "../ports";
import { type HttpClient, UpstreamError } from "./http-client";
import { registryBaseUrl } from "./registry-client";
import { DEFAULT_LIMITS } from "../limits";

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
export const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
export const OCI_EMPTY = "application/vnd.oci.empty.v1+json";
const MANIFEST_ACCEPT = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, "application/vnd.docker.distribution.manifest.list.v2+json"].join(", ");
const SHA256_RE = /^sha256:[a-f0-9]{64}$/;
const DIGEST_RE = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/** A repository in a registry: "ghcr.io" + "org/app". */
export interface Repository {
  readonly registry: string;
  readonly path: string;
}

export interface FetchedManifest {
  readonly bytes: Uint8Array;
  /** sha256 of the bytes as served. */
  readonly digest: string;
  readonly mediaType: string;
}

export interface IndexDescriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface Referrers {
  /** Where the list came from: the referrers API, or the fallback tag (also when that tag is absent). */
  readonly via: "api" | "tag";
  readonly descriptors: readonly IndexDescriptor[];
}

export interface OciArtifactOptions {
  readonly http: HttpClient;
  readonly credentials?: Readonly<Record<string, Credentials>>;
  readonly insecureRegistries?: readonly string[];
  readonly maxManifestBytes?: number;
  readonly maxBlobBytes?: number;
}

/** The referrers tag schema: <alg>-<hex>, the algorithm cut to 32 and the hex to 64 characters. */
export function referrersTag(digest: string): string {
  const [alg = "", hex = ""] = digest.split(":");
  return `${alg.slice(0, 32)}-${hex.slice(0, 64)}`;
}

export class OciArtifactClient {
  private readonly maxManifestBytes: number;
  private readonly maxBlobBytes: number;

  constructor(private readonly options: OciArtifactOptions) {
    this.maxManifestBytes = options.maxManifestBytes ?? DEFAULT_LIMITS.registry.artifactManifestBytes;
    this.maxBlobBytes = options.maxBlobBytes ?? DEFAULT_LIMITS.registry.artifactBlobBytes;
  }

  /** A manifest by tag or digest; undefined when the registry has none (404). By digest, the bytes must hash to it. */
  async manifest(repo: Repository, reference: string): Promise<FetchedManifest | undefined> {
    const url = this.url(repo, `manifests/${reference}`);
    const res = await this.get(repo, url, MANIFEST_ACCEPT);
    if (res.status === 404) {
      await res.body?.cancel();
      return undefined;
    }
    if (!res.ok) this.fail(res, repo, url, `manifest ${reference}`);
    const bytes = await this.options.http.readBounded(res, url, this.maxManifestBytes);
    const digest = `sha256:${await sha256Hex(bytes)}`;
    if (DIGEST_RE.test(reference) && reference !== digest) {
      throw new UpstreamError(
        "REGISTRY_DIGEST_MISMATCH",
        `registry ${repo.registry} served a manifest for ${repo.path}@${reference} whose bytes hash to ${digest}`,
        false,
        url,
      );
    }
    return { bytes, digest, mediaType: (res.headers.get("content-type") ?? "").split(";")[0]!.trim() };
  }

  /** A blob by its sha256 digest, hashed and compared; a missing blob is an error (its manifest names it). */
  async blob(repo: Repository, digest: string, maxBytes = this.maxBlobBytes): Promise<Uint8Array> {
    const url = this.url(repo, `blobs/${digest}`);
    if (!SHA256_RE.test(digest)) {
      throw new UpstreamError("REGISTRY_BAD_RESPONSE", `blob digest ${digest} is not sha256:<64 hex>`, false, url);
    }
    const res = await this.get(repo, url, "*/*");
    if (res.status === 404) {
      await res.body?.cancel();
      throw new UpstreamError("REGISTRY_BAD_RESPONSE", `blob unknown: ${repo.registry}/${repo.path} has no blob ${digest}`, false, url);
    }
    if (!res.ok) this.fail(res, repo, url, `blob ${digest}`);
    const bytes = await this.options.http.readBounded(res, url, Math.min(maxBytes, this.maxBlobBytes));
    const actual = `sha256:${await sha256Hex(bytes)}`;
    if (actual !== digest) {
      throw new UpstreamError(
        "REGISTRY_DIGEST_MISMATCH",
        `registry ${repo.registry} served blob ${digest} of ${repo.path} with bytes that hash to ${actual}`,
        false,
        url,
      );
    }
    return bytes;
  }

  /**
   * Manifests that name `digest` as their subject, of `artifactType` when given; entries that do not
   * say their type (none, or the empty config's) are kept for the caller to look at.
   */
  async referrers(repo: Repository, digest: string, artifactType?: string): Promise<Referrers> {
    const query = artifactType ? `?artifactType=${encodeURIComponent(artifactType)}` : "";
    const url = this.url(repo, `referrers/${digest}${query}`);
    const res = await this.get(repo, url, OCI_INDEX);
    let via: Referrers["via"] = "api";
    let bytes: Uint8Array | undefined;
    if (res.status === 404 || res.status === 405) {
      // No referrers API: the index at the fallback tag, if anyone wrote one.
      await res.body?.cancel();
      via = "tag";
      bytes = (await this.manifest(repo, referrersTag(digest)))?.bytes;
    } else if (res.ok) {
      bytes = await this.options.http.readBounded(res, url, this.maxManifestBytes);
    } else {
      this.fail(res, repo, url, `the referrers of ${digest}`);
    }
    if (!bytes) return { via, descriptors: [] };
    const descriptors = parseIndex(bytes);
    if (!descriptors) {
      throw new UpstreamError(
        "REGISTRY_BAD_RESPONSE",
        `registry ${repo.registry} answered the referrers of ${repo.path}@${digest} with something that is not an image index`,
        false,
        url,
      );
    }
    const unsaid = (d: IndexDescriptor) => d.artifactType === undefined || d.artifactType === OCI_EMPTY;
    return { via, descriptors: artifactType ? descriptors.filter((d) => d.artifactType === artifactType || unsaid(d)) : descriptors };
  }

  private url(repo: Repository, rest: string): string {
    return `${registryBaseUrl(repo.registry, this.options.insecureRegistries)}/v2/${repo.path}/${rest}`;
  }

  private get(repo: Repository, url: string, accept: string): Promise<Response> {
    const credentials = this.options.credentials?.[repo.registry];
    return this.options.http.send({
      url,
      method: "GET",
      accept,
      scope: `repository:${repo.path}:pull`,
      host: repo.registry,
      ...(credentials ? { credentials } : {}),
    });
  }

  private fail(res: Response, repo: Repository, url: string, what: string): never {
    void res.body?.cancel();
    if (res.status === 401 || res.status === 403) {
      throw new UpstreamError(
        "REGISTRY_AUTH_FAILED",
        `registry ${repo.registry} refused access to ${repo.path} (HTTP ${res.status}); configure credentials for it`,
        false,
        url,
      );
    }
    const transient = res.status >= 500 || res.status === 429;
    throw new UpstreamError(
      transient ? "REGISTRY_UNREACHABLE" : "REGISTRY_BAD_RESPONSE",
      `registry ${repo.registry} answered HTTP ${res.status} for ${what} of ${repo.path}`,
      transient,
      url,
    );
  }
}

/** The descriptors of an image index; undefined when it is not one. Malformed entries are dropped. */
function parseIndex(bytes: Uint8Array): IndexDescriptor[] | undefined {
  let index: unknown;
  try {
    index = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return undefined;
  }
  if (typeof index !== "object" || index === null || !Array.isArray((index as { manifests?: unknown }).manifests)) return undefined;
  const out: IndexDescriptor[] = [];
  for (const raw of (index as { manifests: unknown[] }).manifests) {
    if (typeof raw !== "object" || raw === null) continue;
    const { mediaType, digest, size, artifactType, annotations } = raw as Record<string, unknown>;
    if (typeof mediaType !== "string" || typeof digest !== "string" || !DIGEST_RE.test(digest) || typeof size !== "number") continue;
    out.push({
      mediaType,
      digest,
      size,
      ...(typeof artifactType === "string" ? { artifactType } : {}),
      ...(typeof annotations === "object" && annotations !== null ? { annotations: annotations as Record<string, string> } : {}),
    });
  }
  return out;
}
