// The only ways out of the decision core: HTTP, a key-value cache, and the clock.
// Adapters in worker/ (KV, fetch) and in tests implement these.

/**
 * Upstream hosts the matching rule of one decision names literally, "host" or "host:port" (no port:
 * the scheme's default): its pattern's registry when the pattern has no wildcard there, and what its
 * requirements name (a trust server, a lookaside, a signature repository). The egress guard lets
 * that decision contact them even on a private address; never a metadata one (docs/security.md).
 */
export type NamedUpstreams = readonly string[];

/** The Web `fetch` signature; the core never calls the global directly. */
export interface HttpFetch {
  (request: Request): Promise<Response>;
  /**
   * The same port for a decision whose matching rule names `hosts` (the egress guard has it; a port
   * without it ignores such names). The same hosts give the same port back.
   */
  readonly naming?: (hosts: NamedUpstreams) => HttpFetch;
}

export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/**
 * Where work that need not delay the verdict goes: cache writes after a verification (Workers:
 * `ctx.waitUntil`). Absent, such work is awaited in line.
 */
export type Background = (work: Promise<unknown>) => void;

/** Hands a cache write to `background`, logging its failure there; without one, awaits it. */
export function writeBehind(work: Promise<unknown>, background: Background | undefined, what: string): Promise<void> {
  if (!background) return work.then(() => {});
  background(work.catch((err: unknown) => console.error(`${what} failed:`, err)));
  return Promise.resolve();
}

/** A string cache with expiry (Workers KV in production, maps in tests). */
export interface Cache {
  get(key: string): Promise<string | null>;
  /** `ttlSeconds` is the TTL meant; an adapter whose store has a minimum (KV: 60 s) raises it there. */
  put(key: string, value: string, options: { ttlSeconds: number }): Promise<void>;
}

/** Credentials for a registry or trust server's token flow. */
export interface Credentials {
  readonly username?: string;
  readonly password?: string;
  /** A ready bearer token (registry tokens from a CI system, say). */
  readonly token?: string;
}

/** Counts of expensive work, so tests can prove a warm decision does none of it. */
export interface WorkCounter {
  count(kind: "fetch" | "verify", detail: string): void;
}

export const noCounter: WorkCounter = { count: () => {} };

import type { ImageReference } from "./reference";
import type { Reason } from "./reasons";

export type DigestResolution =
  | { readonly ok: true; readonly digest: string; readonly cached: boolean }
  | { readonly ok: false; readonly reason: Reason; readonly transient: boolean };

/** Tag → manifest digest (the registry client, usually behind a short cache). */
export interface DigestResolver {
  /**
   * `upstreams`: the hosts the decision's matching rule names, which the registry may be one of.
   * `onUpstream`: called once the answer is known to come from the registry rather than a cache, just
   * before the registry is asked (decide() then starts the work that does not need the digest).
   */
  resolve(reference: ImageReference, upstreams?: NamedUpstreams, background?: Background, onUpstream?: () => void): Promise<DigestResolution>;
}
