// GET/HEAD with timeouts, size caps and the registry bearer-token flow (also used by Notary
// servers). Shared by the registry client and the trust-server client.
import { TrustgateError } from "../errors";
import type { Credentials, HttpFetch, WorkCounter } from "../ports";
import { noCounter } from "../ports";
import type { ReasonCode } from "../reasons";
import { readCapped, TooLargeError } from "../streams";
import { EgressRefusedError } from "./egress";
import { DEFAULT_LIMITS } from "../limits";

export type { Credentials };

/** The reason codes an upstream failure may carry: each goes into a reason as it is. */
export type UpstreamReasonCode = Extract<
  ReasonCode,
  | "MANIFEST_NOT_FOUND"
  | "REGISTRY_UNREACHABLE"
  | "REGISTRY_AUTH_FAILED"
  | "REGISTRY_DIGEST_MISMATCH"
  | "REGISTRY_BAD_RESPONSE"
  | "NOTARY_TRUST_SERVER_UNREACHABLE"
  | "NOTARY_TRUST_SERVER_AUTH_FAILED"
  | "SIMPLE_LOOKASIDE_UNREACHABLE"
  | "SIMPLE_SIGNATURES_REJECTED"
>;

export class UpstreamError extends TrustgateError<UpstreamReasonCode> {
  override readonly name = "UpstreamError";
  constructor(
    code: UpstreamReasonCode,
    message: string,
    readonly transient: boolean,
    readonly url?: string,
    /**
     * The egress guard refused the address: lasting, but it depends on the decision's matching rule
     * (the hosts it names), so it is not remembered where another rule could read it back.
     */
    readonly refused: boolean = false,
    options?: { readonly cause?: unknown },
  ) {
    super(code, message, options);
  }
}

/**
 * A request that got no HTTP answer: a refused or reset connection, a timeout, a TLS failure and a
 * port speaking another protocol all read the same, so that reasons (which policy authors read)
 * cannot be used to scan ports behind the guard. The runtime's own error stays on `cause`, for logs.
 */
export function noAnswer(code: UpstreamReasonCode, what: string, url: string, cause: unknown): UpstreamError {
  return new UpstreamError(code, `${what} could not be reached (no HTTP answer)`, true, url, false, { cause });
}

export interface HttpClientOptions {
  readonly fetch: HttpFetch;
  readonly timeoutMs?: number;
  readonly counter?: WorkCounter;
  /** Which reason code stands for "could not reach" and "refused access" in this client's errors. */
  readonly codes?: { readonly unreachable: UpstreamReasonCode; readonly auth: UpstreamReasonCode; readonly badResponse: UpstreamReasonCode };
  /** Retries of idempotent requests (GET/HEAD) on network errors, 429, 502, 503 and 504. */
  readonly retry?: RetryOptions;
  /** Where bearer tokens are kept; default: the isolate's (`isolateTokens`), shared by every client. */
  readonly tokens?: TokenStore;
}

export interface RetryOptions {
  /** Retries after the first attempt (default `Limits.http.retries`). */
  readonly retries?: number;
  /** Backoff before retry n (0-based) is random() * min(maxDelayMs, baseDelayMs * 2^n): full jitter. */
  readonly baseDelayMs?: number;
  readonly maxDelayMs?: number;
  /** A Retry-After longer than this is not waited for: the answer is returned as it is (default `Limits.http`). */
  readonly retryAfterCapMs?: number;
  readonly random?: () => number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly now?: () => number;
}

const RETRY_STATUSES = new Set([429, 502, 503, 504]);

/** Retry-After in ms (delta-seconds or an HTTP date); undefined when absent or unreadable. */
export function retryAfterMs(header: string | null, now: number): number | undefined {
  if (header === null) return undefined;
  const trimmed = header.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

export interface AuthorizedRequest {
  readonly url: string;
  readonly method: "GET" | "HEAD";
  readonly accept?: string;
  /** Token scope asked for when challenged, e.g. repository:library/nginx:pull. */
  readonly scope: string;
  /** Key for cached tokens and credentials: the upstream's host. */
  readonly host: string;
  readonly credentials?: Credentials;
  /** Aborted when the caller no longer needs the answer: no further attempt is made. */
  readonly signal?: AbortSignal;
}

/** How one request goes out, beyond its URL and headers. */
export interface RequestOptions {
  readonly redirect?: "follow" | "manual";
  /** Names the upstream in errors and logs ("lookaside 127.0.0.1:8081"); the URL's host by default. */
  readonly label?: string;
  readonly signal?: AbortSignal;
}

/** One line per upstream that could not be reached, with its reason code: never a stack. */
function logUnreachable(code: UpstreamReasonCode, method: string, url: string, message: string): void {
  console.warn(`upstream ${code}: ${method} ${url}: ${message}`.replace(/\s*[\r\n]+\s*/g, " "));
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

const basic = (c: Credentials) => `Basic ${btoa(`${c.username ?? ""}:${c.password ?? ""}`)}`;

/** A bearer challenge as far as it names the token service: where, and for which service. */
interface TokenService {
  readonly realm: string;
  readonly service?: string;
}

/**
 * Bearer tokens per (realm, service, scope, credentials) for their lifetime, and the token service
 * each host's last challenge named. Shared by every client of an isolate: the registry client, the
 * verifiers' clients and later decisions reuse a token instead of each doing the 401 → token →
 * retry dance, and a host known to challenge is sent a token with its first request. Concurrent
 * requests for the same token wait for one token fetch.
 */
export class TokenStore {
  private readonly tokens = new Map<string, { readonly value: string; readonly expiresAt: number }>();
  private readonly pending = new Map<string, Promise<string>>();
  private readonly services = new Map<string, TokenService>();
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: { readonly maxEntries?: number; readonly now?: () => number } = {}) {
    this.maxEntries = options.maxEntries ?? DEFAULT_LIMITS.memory.tokenEntries;
    this.now = options.now ?? Date.now;
  }

  /** The token service `host` last challenged with, if it did. */
  serviceOf(host: string): TokenService | undefined {
    return this.services.get(host);
  }

  rememberService(host: string, service: TokenService): void {
    this.services.delete(host);
    bounded(this.services, this.maxEntries).set(host, service);
  }

  /**
   * The token for `key`: a live one, the one being fetched, or `fetch()`'s (kept for its `ttlSeconds`
   * less a 5 s margin). `fresh`: the held one was refused, so ask again.
   */
  async token(key: string, fetch: () => Promise<{ value: string; ttlSeconds: number }>, fresh = false): Promise<string> {
    const held = this.tokens.get(key);
    if (!fresh && held && held.expiresAt > this.now()) return held.value;
    if (fresh && held) this.tokens.delete(key);
    const waiting = this.pending.get(key);
    if (waiting) return waiting;
    const fetching = fetch()
      .then(({ value, ttlSeconds }) => {
        bounded(this.tokens, this.maxEntries).set(key, { value, expiresAt: this.now() + (ttlSeconds - 5) * 1000 });
        return value;
      })
      .finally(() => this.pending.delete(key));
    this.pending.set(key, fetching);
    return fetching;
  }
}

/** Drops the oldest entries of a map about to take one more. */
function bounded<K, V>(map: Map<K, V>, max: number): Map<K, V> {
  for (const key of map.keys()) {
    if (map.size < max) break;
    map.delete(key);
  }
  return map;
}

/** The isolate's tokens: every HttpClient made without its own store uses this one. */
export const isolateTokens = new TokenStore();

export class HttpClient {
  private readonly tokens: TokenStore;
  readonly timeoutMs: number;
  private readonly counter: WorkCounter;
  private readonly codes: NonNullable<HttpClientOptions["codes"]>;
  private readonly retry: Required<RetryOptions>;

  constructor(private readonly options: HttpClientOptions) {
    const limits = DEFAULT_LIMITS.http;
    this.timeoutMs = options.timeoutMs ?? limits.timeoutMs;
    const r = options.retry ?? {};
    this.retry = {
      retries: r.retries ?? limits.retries,
      baseDelayMs: r.baseDelayMs ?? limits.baseDelayMs,
      maxDelayMs: r.maxDelayMs ?? limits.maxDelayMs,
      retryAfterCapMs: r.retryAfterCapMs ?? limits.retryAfterCapMs,
      random: r.random ?? Math.random,
      sleep: r.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
      now: r.now ?? Date.now,
    };
    this.counter = options.counter ?? noCounter;
    this.tokens = options.tokens ?? isolateTokens;
    this.codes = options.codes ?? {
      unreachable: "REGISTRY_UNREACHABLE",
      auth: "REGISTRY_AUTH_FAILED",
      badResponse: "REGISTRY_BAD_RESPONSE",
    };
  }

  /**
   * One request with the auth flow: retry once with a token (or Basic) when challenged. A host that
   * challenged before gets its token (reused while it lives) with the first request.
   */
  async send(req: AuthorizedRequest): Promise<Response> {
    if (req.credentials?.token !== undefined) return this.request(req.url, req.method, `Bearer ${req.credentials.token}`, req.accept, req);
    const known = this.tokens.serviceOf(req.host);
    // Should that token service fail now, the request goes out bare and the challenge decides.
    let auth = known ? await this.token(req, { ...known, scope: req.scope }).then((t) => `Bearer ${t}`, () => undefined) : undefined;
    const res = await this.request(req.url, req.method, auth, req.accept, req);
    if (res.status !== 401) return res;
    const challenge = parseChallenge(res.headers.get("www-authenticate"));
    if (challenge?.scheme === "bearer" && challenge.params.realm) {
      await res.body?.cancel();
      const { realm, service, scope } = challenge.params;
      const named: TokenService = { realm, ...(service !== undefined ? { service } : {}) };
      // A token just sent and refused is not taken from the store again.
      auth = `Bearer ${await this.token(req, { ...named, scope: scope ?? req.scope }, auth !== undefined)}`;
      this.tokens.rememberService(req.host, named);
    } else if (challenge?.scheme === "basic" && req.credentials?.username !== undefined) {
      await res.body?.cancel();
      auth = basic(req.credentials);
    } else {
      return res;
    }
    return this.request(req.url, req.method, auth, req.accept, req);
  }

  /** A GET without credentials or the token flow (lookaside stores, the registry ping), retried like every request. */
  plainGet(url: string, options: RequestOptions = {}): Promise<Response> {
    return this.request(url, "GET", undefined, undefined, options);
  }

  /** A token for (realm, service, scope) and the request's credentials, from the store or fetched. */
  private token(req: AuthorizedRequest, params: TokenService & { readonly scope: string }, fresh = false): Promise<string> {
    const who = req.credentials?.username !== undefined ? basic(req.credentials) : "anonymous";
    const key = JSON.stringify([params.realm, params.service ?? null, params.scope, who]);
    return this.tokens.token(key, () => this.fetchToken(req, params), fresh);
  }

  private async fetchToken(req: AuthorizedRequest, params: TokenService & { readonly scope: string }): Promise<{ value: string; ttlSeconds: number }> {
    let realm: URL;
    try {
      realm = new URL(params.realm);
    } catch {
      throw new UpstreamError(this.codes.auth, `${req.host} sent a token challenge with an invalid realm`, false, req.url);
    }
    // A realm is trusted as far as the registry that names it: any public https host (Docker Hub's
    // realm is auth.docker.io for registry-1.docker.io), never plain http from an https registry,
    // and never a private address (the egress guard in the fetch port refuses those).
    if (realm.protocol !== "https:" && realm.protocol !== "http:") {
      throw new UpstreamError(this.codes.auth, `${req.host} sent a token realm with scheme ${realm.protocol}`, false, req.url);
    }
    if (realm.protocol === "http:" && new URL(req.url).protocol === "https:") {
      throw new UpstreamError(this.codes.auth, `${req.host} sent a token realm over plain http (${realm.host}); refused`, false, req.url);
    }
    if (params.service) realm.searchParams.set("service", params.service);
    realm.searchParams.set("scope", params.scope);
    const creds = req.credentials?.username !== undefined ? basic(req.credentials) : undefined;
    const res = await this.request(realm.toString(), "GET", creds, "application/json");
    if (!res.ok) {
      await res.body?.cancel();
      throw new UpstreamError(
        this.codes.auth,
        `token service ${realm.host} refused a pull token for ${req.host} (HTTP ${res.status})`,
        res.status >= 500,
        realm.toString(),
      );
    }
    let body: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse(new TextDecoder().decode(await this.readBounded(res, realm.toString(), DEFAULT_LIMITS.http.tokenBodyBytes)));
    } catch (err) {
      if (err instanceof UpstreamError) throw err;
      throw new UpstreamError(this.codes.auth, `token service ${realm.host} answered something that is not JSON`, false, undefined, false, { cause: err });
    }
    const token = typeof body.token === "string" ? body.token : body.access_token;
    if (typeof token !== "string" || token === "") {
      throw new UpstreamError(this.codes.auth, `token service ${realm.host} returned no token`, false);
    }
    // The distribution token spec's default lifetime is 60 s.
    return { value: token, ttlSeconds: typeof body.expires_in === "number" ? body.expires_in : 60 };
  }

  /**
   * One GET or HEAD, retried on network errors, 429, 502, 503 and 504 with full-jitter backoff
   * (Retry-After honoured up to a cap), all inside one budget of `timeoutMs`. Each attempt is
   * counted. Other statuses (4xx included) are returned at once. An egress refusal is final.
   */
  private async request(url: string, method: "GET" | "HEAD", auth: string | undefined, accept: string | undefined, options: RequestOptions = {}): Promise<Response> {
    const headers: Record<string, string> = {};
    if (accept) headers.accept = accept;
    if (auth) headers.authorization = auth;
    const { now, sleep, random, retries } = this.retry;
    const deadline = now() + this.timeoutMs;
    const host = () => options.label ?? new URL(url).host;
    const { signal } = options;
    /** Waits before the next attempt when the budget allows it (leaving the attempt some time). */
    const wait = async (attempt: number, retryAfter?: number): Promise<boolean> => {
      if (attempt >= retries || signal?.aborted) return false;
      let delay: number;
      if (retryAfter !== undefined) {
        if (retryAfter > this.retry.retryAfterCapMs) return false;
        delay = retryAfter;
      } else {
        delay = Math.floor(random() * Math.min(this.retry.maxDelayMs, this.retry.baseDelayMs * 2 ** attempt));
      }
      if (now() + delay + 50 >= deadline) return false;
      if (delay > 0) await sleep(delay);
      return true;
    };
    const abandoned = () => new UpstreamError(this.codes.unreachable, `${host()}: the request was abandoned, its answer no longer needed`, true, url);
    for (let attempt = 0; ; attempt++) {
      if (signal?.aborted) throw abandoned();
      this.counter.count("fetch", `${method} ${url}`);
      const remaining = Math.max(1, deadline - now());
      const timeout = AbortSignal.timeout(remaining);
      let res: Response;
      try {
        res = await this.options.fetch(
          new Request(url, { method, headers, redirect: options.redirect ?? "manual", signal: signal ? AbortSignal.any([timeout, signal]) : timeout }),
        );
      } catch (err) {
        if (signal?.aborted) throw abandoned();
        if (err instanceof EgressRefusedError) {
          throw new UpstreamError(this.codes.unreachable, `${err.message} (egress policy, see docs/security.md)`, false, url, true, { cause: err });
        }
        const timedOut = err instanceof Error && (err.name === "TimeoutError" || err.name === "AbortError");
        if (!timedOut && (await wait(attempt))) continue;
        const unreachable = noAnswer(this.codes.unreachable, host(), url, err);
        // The reason reads the same for every failure without an answer; the log keeps the detail.
        const detail = timedOut
          ? `did not answer within ${this.timeoutMs} ms`
          : `could not be reached (${err instanceof Error ? err.message : String(err)})`;
        logUnreachable(this.codes.unreachable, method, url, `${host()} ${detail}`);
        throw unreachable;
      }
      if (RETRY_STATUSES.has(res.status) && (await wait(attempt, retryAfterMs(res.headers.get("retry-after"), now())))) {
        await res.body?.cancel();
        continue;
      }
      return res;
    }
  }

  /** Reads a body up to `max` bytes; more is an error, never a silent truncation. */
  async readBounded(res: Response, url: string, max: number): Promise<Uint8Array> {
    const host = new URL(url).host;
    const declared = Number(res.headers.get("content-length") ?? "0");
    if (declared > max) {
      await res.body?.cancel();
      throw new UpstreamError(this.codes.badResponse, `${host} sent ${declared} bytes, more than the ${max} allowed`, false, url);
    }
    try {
      return await readCapped(res.body, max);
    } catch (err) {
      if (err instanceof TooLargeError) {
        throw new UpstreamError(this.codes.badResponse, `${host} sent more than the ${max} bytes allowed`, false, url, false, { cause: err });
      }
      // Like noAnswer: the runtime's text (reset, timeout) goes to `cause`, not into the reason.
      throw new UpstreamError(this.codes.unreachable, `${host} broke off the response`, true, url, false, { cause: err });
    }
  }
}
