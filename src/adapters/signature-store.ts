// Simple-signing signatures of (reference, digest): from the registry's X-Registry-Supports-Signatures
// extension when it offers one, else from the lookaside store registries.d(5) would pick, as
// containers/image's docker transport fetches them (docker_image_src.go, registries_d.go).
import type { Credentials, HttpFetch, WorkCounter } from "../ports";
import { noCounter } from "../ports";
import type { ImageReference } from "../reference";
import { readCapped, TooLargeError } from "../streams";
import { base64Decode } from "../verify/shared/encoding";
import { HttpClient, UpstreamError, type RetryOptions } from "./http-client";
import { registryBaseUrl } from "./registry-client";
import { DEFAULT_LIMITS } from "../limits";

/** Bounds on what a store may hand us (`Limits.simpleSigning`). */
export const MAX_SIGNATURES = DEFAULT_LIMITS.simpleSigning.signatures;
export const MAX_SIGNATURE_BYTES = DEFAULT_LIMITS.simpleSigning.signatureBytes;
const MAX_EXTENSION_LIST_BYTES = DEFAULT_LIMITS.simpleSigning.extensionListBytes;

/** The requirement's `lookaside`: one base URL, or registries.d-like scopes with a default. */
export type LookasideSetting = string | { readonly default?: string; readonly scopes?: Readonly<Record<string, string>> } | undefined;

export interface StoredSignature {
  /** 1-based: signature-<index> in a lookaside, position in the extension's list. */
  readonly index: number;
  readonly bytes: Uint8Array;
  /** Where it came from (the lookaside URL, or the extension URL). */
  readonly url: string;
}

export interface StoredSignatures {
  readonly source: "extension" | "lookaside" | "none";
  readonly signatures: readonly StoredSignature[];
  /** The lookaside base URL and the scope that chose it, when the lookaside was read. */
  readonly lookaside?: { readonly base: string; readonly scope: string };
  /** Blobs in another format than simple signing (e.g. sigstore-json), skipped as containers/image skips them. */
  readonly skipped: number;
}

export interface SignatureStoreOptions {
  readonly fetch: HttpFetch;
  readonly timeoutMs?: number;
  readonly counter?: WorkCounter;
  /** Per registry host credentials, for the extension's token flow. */
  readonly credentials?: Readonly<Record<string, Credentials>>;
  readonly insecureRegistries?: readonly string[];
  readonly maxSignatures?: number;
  readonly maxSignatureBytes?: number;
  /** The HTTP client's retries (tests make the backoff instant). */
  readonly retry?: RetryOptions;
}

/**
 * The scopes registries.d searches for an image, most specific first (signatureTopLevel with
 * PolicyConfigurationIdentity and PolicyConfigurationNamespaces): the image with tag or digest,
 * the repository, each parent namespace, the host (with port), then `*.domain` wildcards of the
 * host without port. Names are fully expanded: "docker.io/library/busybox", never "busybox".
 */
export function lookasideScopes(reference: ImageReference): string[] {
  const scopes: string[] = [];
  if (reference.tag !== undefined) scopes.push(`${reference.name}:${reference.tag}`);
  if (reference.digest !== undefined) scopes.push(`${reference.name}@${reference.digest}`);
  let name = reference.name;
  for (;;) {
    scopes.push(name);
    const slash = name.lastIndexOf("/");
    if (slash < 0) break;
    name = name.slice(0, slash);
  }
  // name is now the host[:port]; naming.go strips from the first ':' before the wildcards.
  const colon = name.indexOf(":");
  let host = colon >= 0 ? name.slice(0, colon) : name;
  for (let dot = host.indexOf("."); dot >= 0; dot = host.indexOf(".")) {
    host = host.slice(dot + 1);
    scopes.push(`*.${host}`);
  }
  return scopes;
}

/** The lookaside base for the image: the most specific configured scope, else the default. */
export function lookasideBaseFor(setting: LookasideSetting, reference: ImageReference): { base: string; scope: string } | undefined {
  if (setting === undefined) return undefined;
  if (typeof setting === "string") return { base: setting, scope: "default" };
  const scopes = setting.scopes ?? {};
  for (const scope of lookasideScopes(reference)) {
    const base = Object.prototype.hasOwnProperty.call(scopes, scope) ? scopes[scope] : undefined;
    if (base) return { base, scope };
  }
  return setting.default ? { base: setting.default, scope: "default" } : undefined;
}

/**
 * `<base>/<repository path>@<algorithm>=<hex>/signature-<n>` (lookasideStorageURL): the path has no
 * registry host ("library/busybox"), and is appended to the base's path as written, like Go's
 * url.Path + "/" + repo.
 */
export function lookasideSignatureUrl(base: string, reference: ImageReference, digest: string, index: number): string {
  const colon = digest.indexOf(":");
  return `${base}/${reference.path}@${digest.slice(0, colon)}=${digest.slice(colon + 1)}/signature-${index}`;
}

/** First bytes containers/image recognises as an OpenPGP message (signature.FromBlob). */
const OPENPGP_FIRST_BYTES = new Set([0xa0, 0xa1, 0xa2, 0xa3, 0xc8, 0x90, 0x91, 0x92, 0x3d, 0xc4, 0x88, 0x89, 0x8a, 0x8b, 0xc2]);

/** signature.FromBlob for a lookaside blob: the simple-signing bytes, undefined for another known format. */
export function simpleSigningFromBlob(blob: Uint8Array): { bytes?: Uint8Array; problem?: string } {
  if (blob.length === 0) return { problem: "empty signature blob" };
  const first = blob[0]!;
  if (OPENPGP_FIRST_BYTES.has(first)) return { bytes: blob };
  if (first === 0x00) {
    const newline = blob.indexOf(0x0a, 1);
    if (newline < 0) return { problem: "invalid signature format, missing newline" };
    const format = blob.subarray(1, newline);
    for (const b of format) {
      if (b < 32 || b >= 0x7f) return { problem: `invalid signature format, non-ASCII byte 0x${b.toString(16)}` };
    }
    const name = new TextDecoder().decode(format);
    if (name === "simple-signing") return { bytes: blob.subarray(newline + 1) };
    if (name === "sigstore-json") return {};
    return { problem: `unrecognized signature format ${JSON.stringify(name)}` };
  }
  return { problem: `unrecognized signature format, starting with binary 0x${first.toString(16)}` };
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  408: "Request Timeout",
  429: "Too Many Requests",
  500: "Internal Server Error",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/** Lookaside reads started before they are needed: signature-n → its answer. */
type Ahead = Map<number, Promise<Response>>;

/** Drops the answers read ahead past signature-`after` (no longer needed): their bodies are cancelled. */
function dropAnswers(ahead: Ahead, after: number): void {
  for (const [n, answer] of ahead) {
    // cancel() on a body that already broke off rejects with its error: that is no news either.
    if (n > after) void answer.then((res) => res.body?.cancel()).catch(() => {});
  }
}

const statusWords = (res: Response) => `received unexpected HTTP status: ${res.status} ${res.statusText || STATUS_TEXT[res.status] || ""}`.trimEnd();
const transientStatus = (status: number) => status >= 500 || status === 429 || status === 408;

export class SignatureStore {
  private readonly registryHttp: HttpClient;
  private readonly lookasideHttp: HttpClient;
  private readonly timeoutMs: number;
  private readonly counter: WorkCounter;
  private readonly maxSignatures: number;
  private readonly maxSignatureBytes: number;

  constructor(private readonly options: SignatureStoreOptions) {
    this.timeoutMs = options.timeoutMs ?? DEFAULT_LIMITS.http.timeoutMs;
    this.counter = options.counter ?? noCounter;
    this.maxSignatures = options.maxSignatures ?? MAX_SIGNATURES;
    this.maxSignatureBytes = options.maxSignatureBytes ?? MAX_SIGNATURE_BYTES;
    const http = { fetch: options.fetch, timeoutMs: this.timeoutMs, counter: this.counter, ...(options.retry ? { retry: options.retry } : {}) };
    this.registryHttp = new HttpClient({
      ...http,
      codes: { unreachable: "REGISTRY_UNREACHABLE", auth: "REGISTRY_AUTH_FAILED", badResponse: "REGISTRY_BAD_RESPONSE" },
    });
    this.lookasideHttp = new HttpClient({
      ...http,
      codes: { unreachable: "SIMPLE_LOOKASIDE_UNREACHABLE", auth: "SIMPLE_LOOKASIDE_UNREACHABLE", badResponse: "SIMPLE_LOOKASIDE_UNREACHABLE" },
    });
  }

  /**
   * The image's simple signatures. Throws UpstreamError: REGISTRY_* when the registry cannot be
   * asked, SIMPLE_LOOKASIDE_UNREACHABLE when the lookaside cannot (transient for network errors,
   * timeouts, 5xx, 429; lasting when the egress guard refuses it), SIMPLE_SIGNATURES_REJECTED for a blob no tool could read (as
   * containers/image fails the whole image then).
   */
  async signatures(reference: ImageReference, digest: string, lookaside: LookasideSetting): Promise<StoredSignatures> {
    const chosen = lookasideBaseFor(lookaside, reference);
    // The registry ping and the first lookaside reads go out together (one round trip, not two);
    // the ping then decides which answers count, and the others are dropped unread.
    const ahead: Ahead = new Map();
    if (chosen) this.readAhead(ahead, reference, digest, chosen.base, 1);
    let extension: boolean;
    try {
      // detectProperties: GET /v2/ without credentials; 200 and 401 both tell the header.
      extension = await this.supportsSignatures(reference);
    } catch (err) {
      dropAnswers(ahead, 0);
      throw err;
    }
    if (extension || !chosen) {
      dropAnswers(ahead, 0);
      return extension ? this.fromExtension(reference, digest) : { source: "none", signatures: [], skipped: 0 };
    }
    return this.fromLookaside(reference, digest, chosen, ahead);
  }

  /**
   * Starts reading signature-n … signature-2n that are not started yet (1–2, then 3–6, 7–14, …),
   * never past maxSignatures + 1 (the one that proves there are too many): a store with one
   * signature answers in one round trip, and each later round trip reads twice as many.
   */
  private readAhead(ahead: Ahead, reference: ImageReference, digest: string, base: string, n: number): void {
    for (let i = n; i <= Math.min(2 * n, this.maxSignatures + 1); i++) {
      if (ahead.has(i)) continue;
      const url = lookasideSignatureUrl(base, reference, digest, i);
      const answer = this.plainGet(url, "SIMPLE_LOOKASIDE_UNREACHABLE", `lookaside ${new URL(url).host}`);
      // Answers past the first 404 are never looked at: their failures must not surface.
      answer.catch(() => {});
      ahead.set(i, answer);
    }
  }

  private async supportsSignatures(reference: ImageReference): Promise<boolean> {
    const url = `${registryBaseUrl(reference.registry, this.options.insecureRegistries)}/v2/`;
    const res = await this.plainGet(url, "REGISTRY_UNREACHABLE", `container registry ${reference.registry}`);
    await res.body?.cancel();
    if (res.status !== 200 && res.status !== 401) {
      throw new UpstreamError(
        transientStatus(res.status) ? "REGISTRY_UNREACHABLE" : "REGISTRY_BAD_RESPONSE",
        `pinging container registry ${reference.registry}: ${statusWords(res)}`,
        transientStatus(res.status),
        url,
      );
    }
    return res.headers.get("x-registry-supports-signatures") === "1";
  }

  private async fromExtension(reference: ImageReference, digest: string): Promise<StoredSignatures> {
    const url = `${registryBaseUrl(reference.registry, this.options.insecureRegistries)}/extensions/v2/${reference.path}/signatures/${digest}`;
    const credentials = this.options.credentials?.[reference.registry];
    const res = await this.registryHttp.send({
      url,
      method: "GET",
      accept: "application/json",
      scope: `repository:${reference.path}:pull`,
      host: reference.registry,
      ...(credentials ? { credentials } : {}),
    });
    const where = `downloading signatures for ${digest} in ${reference.name}`;
    if (res.status !== 200) {
      await res.body?.cancel();
      const code = res.status === 401 || res.status === 403 ? "REGISTRY_AUTH_FAILED" : transientStatus(res.status) ? "REGISTRY_UNREACHABLE" : "REGISTRY_BAD_RESPONSE";
      throw new UpstreamError(code, `${where}: ${statusWords(res)}`, transientStatus(res.status), url);
    }
    const body = await this.registryHttp.readBounded(res, url, MAX_EXTENSION_LIST_BYTES);
    const bad = (why: string): never => {
      throw new UpstreamError("REGISTRY_BAD_RESPONSE", `${where}: decoding signature list: ${why}`, false, url);
    };
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(body));
    } catch (err) {
      return bad(err instanceof Error ? err.message : String(err));
    }
    if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return bad("not a JSON object");
    // encoding/json matches field names case-insensitively, an exact match first.
    const field = (obj: object, name: string): unknown => {
      const o = obj as Record<string, unknown>;
      if (Object.prototype.hasOwnProperty.call(o, name)) return o[name];
      const key = Object.keys(o).find((k) => k.toLowerCase() === name.toLowerCase());
      return key === undefined ? undefined : o[key];
    };
    const list = field(parsed, "signatures");
    if (list !== undefined && list !== null && !Array.isArray(list)) return bad("signatures is not an array");
    const signatures: StoredSignature[] = [];
    for (const item of (list ?? []) as unknown[]) {
      if (item === null) continue;
      if (typeof item !== "object" || Array.isArray(item)) return bad("a signature is not an object");
      const version = field(item, "schemaVersion");
      const type = field(item, "type");
      const content = field(item, "content");
      if (version !== undefined && version !== null && typeof version !== "number") return bad("schemaVersion is not a number");
      if (type !== undefined && type !== null && typeof type !== "string") return bad("type is not a string");
      if (content !== undefined && content !== null && typeof content !== "string") return bad("content is not a base64 string");
      // Only schemaVersion 2, type "atomic" entries are simple signatures (extensionSignatureTypeAtomic).
      if (version !== 2 || type !== "atomic") continue;
      const bytes = typeof content === "string" ? base64Decode(content) : new Uint8Array();
      if (!bytes) return bad("content is not valid base64");
      if (bytes.length > this.maxSignatureBytes) return bad(`a signature has ${bytes.length} bytes, more than the ${this.maxSignatureBytes} allowed`);
      if (signatures.length >= this.maxSignatures) {
        return bad(`server provided more than ${this.maxSignatures} signatures, assuming that's unreasonable and a server error`);
      }
      signatures.push({ index: signatures.length + 1, bytes, url });
    }
    return { source: "extension", signatures, skipped: 0 };
  }

  /** signature-1, -2, … up to the first 404, as containers/image reads them; `ahead`: reads started early. */
  private async fromLookaside(
    reference: ImageReference,
    digest: string,
    chosen: { base: string; scope: string },
    ahead: Ahead,
  ): Promise<StoredSignatures> {
    const reading = { n: 0 };
    try {
      return await this.readLookaside(reference, digest, chosen, ahead, reading);
    } finally {
      // However the reading ended, what was read ahead past it is dropped.
      dropAnswers(ahead, reading.n);
    }
  }

  private async readLookaside(
    reference: ImageReference,
    digest: string,
    chosen: { base: string; scope: string },
    ahead: Ahead,
    reading: { n: number },
  ): Promise<StoredSignatures> {
    const signatures: StoredSignature[] = [];
    let skipped = 0;
    for (let n = 1; ; n++) {
      reading.n = n;
      const url = lookasideSignatureUrl(chosen.base, reference, digest, n);
      if (!ahead.has(n)) this.readAhead(ahead, reference, digest, chosen.base, n);
      const res = await ahead.get(n)!;
      if (res.status === 404) {
        await res.body?.cancel();
        break;
      }
      if (n > this.maxSignatures) {
        // appendSignaturesFromLookaside's guard (at 128 there), checked once one more signature is known to exist.
        await res.body?.cancel();
        throw new UpstreamError(
          "SIMPLE_LOOKASIDE_UNREACHABLE",
          `lookaside ${chosen.base}: server provided more than ${this.maxSignatures} signatures, assuming that's unreasonable and a server error`,
          false,
          url,
        );
      }
      if (res.status !== 200) {
        await res.body?.cancel();
        throw new UpstreamError("SIMPLE_LOOKASIDE_UNREACHABLE", `reading signature from ${url}: ${statusWords(res)}`, transientStatus(res.status), url);
      }
      let blob: Uint8Array;
      try {
        blob = await readCapped(res.body, this.maxSignatureBytes);
      } catch (err) {
        if (err instanceof TooLargeError) {
          throw new UpstreamError(
            "SIMPLE_LOOKASIDE_UNREACHABLE",
            `reading signature from ${url}: more than the ${this.maxSignatureBytes} bytes allowed`,
            false,
            url,
            false,
            { cause: err },
          );
        }
        throw new UpstreamError("SIMPLE_LOOKASIDE_UNREACHABLE", `reading signature from ${url}: the response broke off`, true, url, false, { cause: err });
      }
      const parsed = simpleSigningFromBlob(blob);
      if (parsed.problem) throw new UpstreamError("SIMPLE_SIGNATURES_REJECTED", `parsing signature ${url}: ${parsed.problem}`, false, url);
      if (parsed.bytes) signatures.push({ index: n, bytes: parsed.bytes, url });
      else skipped++;
    }
    return { source: "lookaside", signatures, lookaside: chosen, skipped };
  }

  /**
   * A GET without credentials (the lookaside and the registry ping use none), through the HTTP
   * client: retried on connection failures (a keep-alive connection the server closed, most often),
   * 429, 502, 503 and 504 like every registry read, inside one timeout. A network failure is
   * transient; an egress refusal is not (the configuration or the policy decides it, not the
   * network), and its message is the refusal's: "refused to contact <host>: <why>".
   */
  private plainGet(url: string, code: "REGISTRY_UNREACHABLE" | "SIMPLE_LOOKASIDE_UNREACHABLE", what: string): Promise<Response> {
    const http = code === "SIMPLE_LOOKASIDE_UNREACHABLE" ? this.lookasideHttp : this.registryHttp;
    return http.plainGet(url, { redirect: "follow", label: what });
  }
}
