// Egress (SSRF) guard: which upstream addresses trustgate may contact, and how redirects are
// followed. It wraps the `HttpFetch` port, so every caller (registry client, trust servers, token
// realms, lookaside stores, referrers, blobs) goes through it. See docs/security.md.
//
// What it can see: the URL. Host names that are IP literals (any form the WHATWG URL parser
// normalises: "0x7f.1", "2130706433", "[::ffff:a9fe:a9fe]") are classified directly, an IPv4
// address inside an IPv6 one (mapped, compatible, NAT64, 6to4) by that IPv4 address. DNS names
// cannot be resolved from a Worker, so names are judged by their spelling: well-known metadata
// names, and names only an inside resolver answers (single-label, .local, .internal, ...).
//
// Named hosts come from two places: the configuration (EgressPolicy.namedHosts, for every request)
// and, per decision, the matching rule of the policy (the hosts it names literally: its pattern's
// registry, a requirement's trust server, lookaside or signature repository). `egressFetch(...)
// .naming(hosts)` is the same guard for one such decision. A rule's names open the first hop only:
// redirects go where the configuration allows, never further.
import type { HttpFetch, NamedUpstreams } from "../ports";
import { DEFAULT_LIMITS } from "../limits";

export type AddressClass =
  | "public"
  | "loopback"
  | "private"
  | "link-local"
  | "unique-local"
  | "metadata"
  | "unspecified"
  | "reserved"
  /** A name only a resolver inside the network answers: single-label, *.local, *.localdomain, *.internal, *.localhost. */
  | "internal-name";

export interface EgressPolicy {
  /** Loopback upstreams (127/8, ::1, localhost) are allowed: the test lab runs on 127.0.0.1. */
  readonly allowLoopback: boolean;
  /**
   * Hosts ("host" or "host:port") named explicitly by the operator: they may be contacted even when
   * their address is private, link-local or unique-local, or their name an internal one. Metadata
   * addresses are never allowed.
   */
  readonly namedHosts: readonly string[];
  /** Redirect hops followed at most for one request. */
  readonly maxRedirects: number;
}

export const DEFAULT_EGRESS_POLICY: EgressPolicy = Object.freeze({ allowLoopback: true, namedHosts: [], maxRedirects: DEFAULT_LIMITS.http.redirects });

export class EgressRefusedError extends Error {
  override readonly name = "EgressRefusedError";
  constructor(
    readonly host: string,
    readonly why: string,
    readonly addressClass: AddressClass | "scheme" | "redirect",
  ) {
    super(`refused to contact ${host}: ${why}`);
  }
}

const METADATA_NAMES = new Set(["metadata.google.internal", "metadata.goog", "metadata", "instance-data", "instance-data.ec2.internal"]);

/** The four bytes of a dotted-quad IPv4 literal, else undefined. */
function ipv4(host: string): number[] | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host);
  if (!m) return undefined;
  const bytes = m.slice(1).map(Number);
  return bytes.every((b) => b <= 255) ? bytes : undefined;
}

/** The eight 16-bit groups of an IPv6 literal (brackets optional), else undefined. */
function ipv6(host: string): number[] | undefined {
  let h = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (!h.includes(":")) return undefined;
  const zone = h.indexOf("%");
  if (zone >= 0) h = h.slice(0, zone);
  const lastColon = h.lastIndexOf(":");
  const v4 = ipv4(h.slice(lastColon + 1));
  if (v4) h = `${h.slice(0, lastColon + 1)}${((v4[0]! << 8) | v4[1]!).toString(16)}:${((v4[2]! << 8) | v4[3]!).toString(16)}`;
  const parseGroups = (s: string): number[] | undefined => {
    if (s === "") return [];
    const out: number[] = [];
    for (const g of s.split(":")) {
      if (!/^[0-9a-f]{1,4}$/i.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const parts = h.split("::");
  if (parts.length > 2) return undefined;
  const head = parseGroups(parts[0]!);
  const rest = parts.length === 2 ? parseGroups(parts[1]!) : [];
  if (!head || !rest) return undefined;
  const given = head.length + rest.length;
  if (parts.length === 1 && given !== 8) return undefined;
  if (given > 8) return undefined;
  if (parts.length === 2 && given === 8) return undefined;
  return [...head, ...new Array<number>(8 - given).fill(0), ...rest];
}

function classifyV4([a, b, c, d]: number[]): AddressClass {
  if (a === 169 && b === 254 && c === 169 && d === 254) return "metadata";
  if (a === 100 && b === 100 && c === 100 && d === 200) return "metadata"; // Alibaba Cloud
  if (a === 127) return "loopback";
  if (a === 0) return "unspecified";
  if (a === 10 || (a === 172 && b! >= 16 && b! <= 31) || (a === 192 && b === 168)) return "private";
  if (a === 100 && b! >= 64 && b! <= 127) return "private"; // carrier-grade NAT, 100.64/10
  if (a === 198 && (b === 18 || b === 19)) return "private"; // benchmarking, 198.18/15: never routed on the Internet
  if (a === 169 && b === 254) return "link-local";
  if (a! >= 224) return "reserved"; // multicast, 240/4, broadcast
  return "public";
}

/** What a host name points at, as far as its spelling tells, with what messages should add. */
interface Classification {
  readonly cls: AddressClass;
  /** How the address was read, for messages: "NAT64 of 10.0.0.1", "site-local fec0::/10". */
  readonly note?: string;
  /**
   * Reached through a translator or relay (NAT64, 6to4, SIIT): a loopback address there is another
   * machine's, which ALLOW_LOOPBACK_UPSTREAMS (this machine's lab) does not cover.
   */
  readonly translated?: boolean;
}

const dotted = (v4: readonly number[]) => v4.join(".");

/** An IPv6 address carrying an IPv4 one is judged by the IPv4 address. */
function embedding(v4: number[], how: string, translated: boolean): Classification {
  return { cls: classifyV4(v4), note: `${how} ${dotted(v4)}`, translated };
}

/** The IPv4 address where RFC 6052 puts it for a translation prefix of `length` bits (byte 8 is reserved, zero). */
function rfc6052(bytes: readonly number[], length: 48 | 56 | 64 | 96): number[] | undefined {
  const at = { 48: [6, 7, 9, 10], 56: [7, 9, 10, 11], 64: [9, 10, 11, 12], 96: [12, 13, 14, 15] }[length];
  if (length !== 96 && bytes[8] !== 0) return undefined;
  return at.map((i) => bytes[i]!);
}

function classifyV6(g: number[]): Classification {
  const [g0, g1, g2, g3, g4, g5, g6, g7] = g as [number, number, number, number, number, number, number, number];
  const bytes = g.flatMap((x) => [x >> 8, x & 0xff]);
  const zeroHead = g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0;
  if (zeroHead && g5 === 0 && g6 === 0 && g7 === 0) return { cls: "unspecified" };
  if (zeroHead && g5 === 0 && g6 === 0 && g7 === 1) return { cls: "loopback" };
  const last32 = bytes.slice(12);
  // ::ffff:a.b.c.d and the deprecated ::a.b.c.d: this host's own IPv4 stack, so loopback is this machine's.
  if (zeroHead && g5 === 0xffff) return embedding(last32, "IPv4-mapped", false);
  if (zeroHead && g5 === 0) return embedding(last32, "IPv4-compatible", false);
  // Through a translator or relay: SIIT ::ffff:0:a.b.c.d, NAT64 64:ff9b::/96 (RFC 6052), 6to4 2002:AABB:CCDD::/48 (RFC 3056).
  if (g0 === 0 && g1 === 0 && g2 === 0 && g3 === 0 && g4 === 0xffff && g5 === 0) return embedding(last32, "IPv4-translated", true);
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0) return embedding(last32, "NAT64 of", true);
  if (g0 === 0x2002) return embedding(bytes.slice(2, 6), "6to4 of", true);
  if (g0 === 0x64 && g1 === 0xff9b && g2 === 1) {
    // Local-use NAT64 (RFC 8215) leads into the operator's own IPv4 network, with a prefix length
    // only the operator knows: inside whatever it carries, and metadata where any layout reads metadata.
    const layouts = ([48, 56, 64, 96] as const).map((l) => rfc6052(bytes, l)).filter((v4) => v4 !== undefined);
    const note = "local-use NAT64 64:ff9b:1::/48";
    return { cls: layouts.some((v4) => classifyV4(v4) === "metadata") ? "metadata" : "private", note, translated: true };
  }
  if (g0 === 0xfd00 && g1 === 0x0ec2 && g2 === 0 && g3 === 0 && g4 === 0 && g5 === 0 && g6 === 0 && g7 === 0x254) return { cls: "metadata" };
  if ((g0 & 0xffc0) === 0xfe80) return { cls: "link-local" };
  if ((g0 & 0xffc0) === 0xfec0) return { cls: "private", note: "site-local fec0::/10" }; // deprecated (RFC 3879), still routed inside some sites
  if ((g0 & 0xfe00) === 0xfc00) return { cls: "unique-local" };
  if ((g0 & 0xff00) === 0xff00) return { cls: "reserved" }; // multicast
  return { cls: "public" };
}

/** Suffixes only resolvers inside a network answer (mDNS, resolver defaults, cloud-internal zones). */
const INTERNAL_SUFFIXES = [".local", ".localdomain", ".internal", ".localhost"];

function classify(hostname: string): Classification {
  const host = hostname.toLowerCase().replace(/\.$/, "");
  const v4 = ipv4(host);
  if (v4) return { cls: classifyV4(v4) };
  const v6 = ipv6(host);
  if (v6) return classifyV6(v6);
  // "localhost" is loopback by definition (RFC 6761), and what the lab and Docker call it.
  if (host === "localhost") return { cls: "loopback" };
  if (METADATA_NAMES.has(host)) return { cls: "metadata" };
  // A single label ("registry", "svc") is completed by the resolver's search domains: inside.
  if (!host.includes(".") || INTERNAL_SUFFIXES.some((s) => host.endsWith(s))) return { cls: "internal-name" };
  return { cls: "public" };
}

/** What a URL host name (as `new URL().hostname` gives it) points at, as far as the name alone tells. */
export function classifyHost(hostname: string): AddressClass {
  return classify(hostname).cls;
}

const WHAT: Readonly<Record<AddressClass, string>> = {
  public: "a public address",
  loopback: "a loopback address",
  private: "a private address",
  "link-local": "a link-local address",
  "unique-local": "a unique-local address",
  metadata: "a cloud metadata address",
  unspecified: "an unspecified (0.0.0.0/8, ::) address",
  reserved: "a multicast or reserved address",
  "internal-name": "an internal name (single-label, or under .local, .localdomain, .internal or .localhost)",
};

/** "a private address (6to4 of 10.0.0.1)", "an internal name (...)": what a refusal says the host is. */
function describe(c: Classification): string {
  return c.note ? `${WHAT[c.cls]} (${c.note})` : WHAT[c.cls];
}

/** An upstream a policy rule names: its host name as a URL normalises it, and the port it names. */
interface RuleEndpoint {
  readonly hostname: string;
  /** Undefined: the scheme's default port only (a registry written without a port). */
  readonly port: number | undefined;
}

/** "host", "host:port", "[v6]" or "[v6]:port" → an endpoint; undefined for anything else. */
function ruleEndpoint(entry: string): RuleEndpoint | undefined {
  const m = /^(\[[0-9a-fA-F:.%]+\]|[^:[\]/?#@\s]+)(?::(\d{1,5}))?$/.exec(entry.trim());
  if (!m) return undefined;
  const port = m[2] === undefined ? undefined : Number(m[2]);
  if (port !== undefined && (port < 1 || port > 65_535)) return undefined;
  try {
    return { hostname: new URL(`http://${m[1]}`).hostname, port };
  } catch {
    return undefined;
  }
}

const effectivePort = (url: URL): number => (url.port !== "" ? Number(url.port) : url.protocol === "https:" ? 443 : 80);

/** A rule names the URL's host exactly, on the port it names (no port: the scheme's default). */
function ruleNames(url: URL, endpoints: readonly RuleEndpoint[]): boolean {
  return endpoints.some((e) => e.hostname === url.hostname && (e.port === undefined ? url.port === "" : e.port === effectivePort(url)));
}

const configured = new WeakMap<EgressPolicy, readonly RuleEndpoint[]>();

/**
 * The configuration names the URL's host: "host" on every port, "host:port" on that port (the
 * scheme's default one included: "h:443" names https://h/). Parsed once per policy object.
 */
function named(url: URL, policy: EgressPolicy): boolean {
  let endpoints = configured.get(policy);
  if (!endpoints) configured.set(policy, (endpoints = endpointsOf(policy.namedHosts)));
  return endpoints.some((e) => e.hostname === url.hostname && (e.port === undefined || e.port === effectivePort(url)));
}

export type EgressCheck = { readonly ok: true; readonly addressClass: AddressClass } | { readonly ok: false; readonly error: EgressRefusedError };

/**
 * May `url` be contacted under `policy`, by a decision whose matching rule names `ruleHosts`
 * ("host" or "host:port", see NamedUpstreams)? Metadata, unspecified and reserved addresses never.
 */
export function checkEgress(url: URL, policy: EgressPolicy, ruleHosts: NamedUpstreams = []): EgressCheck {
  return check(url, policy, endpointsOf(ruleHosts), "first");
}

function endpointsOf(hosts: NamedUpstreams): RuleEndpoint[] {
  return hosts.map(ruleEndpoint).filter((e): e is RuleEndpoint => e !== undefined);
}

/** A redirect hop is checked against the configuration alone: a rule's names never widen redirects. */
function check(url: URL, policy: EgressPolicy, endpoints: readonly RuleEndpoint[], hop: "first" | "redirect"): EgressCheck {
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    return { ok: false, error: new EgressRefusedError(url.host || url.href, `scheme ${url.protocol} is not http or https`, "scheme") };
  }
  const c = classify(url.hostname);
  const cls = c.cls;
  const refuse = (why: string): EgressCheck => ({ ok: false, error: new EgressRefusedError(url.host, why, cls) });
  const isNamed = () => named(url, policy) || (hop === "first" && ruleNames(url, endpoints));
  switch (cls) {
    case "public":
      return { ok: true, addressClass: cls };
    case "metadata":
      return refuse(`it is ${describe(c)}, never an upstream`);
    case "unspecified":
    case "reserved":
      return refuse(`it is ${describe(c)}`);
    default:
      // This machine's loopback is the lab's (ALLOW_LOOPBACK_UPSTREAMS); a translator's loopback is
      // another machine's: only a name opens it, like a private address.
      if (cls === "loopback" && !c.translated && policy.allowLoopback) return { ok: true, addressClass: cls };
      if (cls === "loopback" && !c.translated && !isNamed()) return refuse("loopback upstreams are disabled (ALLOW_LOOPBACK_UPSTREAMS)");
      if (isNamed()) return { ok: true, addressClass: cls };
      return refuse(
        hop === "first"
          ? `it is ${describe(c)}, and neither the configuration (EGRESS_ALLOWED_HOSTS) nor the matching rule names it`
          : `it is ${describe(c)}, and no configuration names it (EGRESS_ALLOWED_HOSTS; redirects go only where the configuration allows)`,
      );
  }
}

/** Address classes a name opens: naming a public host changes nothing, naming a metadata one nothing either. */
function nameable({ cls, translated }: Classification, policy: EgressPolicy): boolean {
  if (cls === "loopback") return translated === true || !policy.allowLoopback;
  return cls === "private" || cls === "link-local" || cls === "unique-local" || cls === "internal-name";
}

/** Per-decision guards kept per set of rule names, at most this many (policies name few hosts). */
const MAX_NAMED_GUARDS = DEFAULT_LIMITS.memory.namedGuards;

const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/**
 * The fetch port behind the egress guard: each URL is checked before any connection, redirects are
 * followed here (never by the runtime) hop by hop, each hop checked again:
 * - at most `maxRedirects` hops, GET and HEAD only;
 * - never from https down to http;
 * - to a non-public address (loopback, or a private one the configuration names) only when the
 *   request started at a non-public address: a public registry cannot bounce us inside;
 * - a host only the decision's matching rule names is a first hop, never a redirect target;
 * - the Authorization header is dropped when the redirect leaves the origin (blob downloads go to
 *   object storage with signed URLs; the registry's token must not follow them).
 * Its `naming(hosts)` is the same guard for a decision whose matching rule names `hosts`: kept per
 * set of names (the root itself when none of them opens anything), so clients built on it are reused.
 */
export function egressFetch(inner: HttpFetch, policy: EgressPolicy = DEFAULT_EGRESS_POLICY): HttpFetch {
  const guards = new Map<string, HttpFetch>();
  const root = guard(inner, policy, [], naming);
  function naming(hosts: NamedUpstreams): HttpFetch {
    const useful = hosts
      .map((h) => ({ h: h.trim().toLowerCase(), e: ruleEndpoint(h) }))
      .filter(({ e }) => e !== undefined && nameable(classify(e.hostname), policy));
    if (useful.length === 0) return root;
    const key = [...new Set(useful.map(({ h }) => h))].sort().join(" ");
    let g = guards.get(key);
    if (!g) {
      if (guards.size >= MAX_NAMED_GUARDS) guards.delete(guards.keys().next().value as string);
      g = guard(inner, policy, useful.map(({ e }) => e!), naming);
      guards.set(key, g);
    }
    return g;
  }
  return root;
}

function guard(inner: HttpFetch, policy: EgressPolicy, endpoints: readonly RuleEndpoint[], naming: (hosts: NamedUpstreams) => HttpFetch): HttpFetch {
  const fetch = async (request: Request): Promise<Response> => {
    let url = new URL(request.url);
    const first = check(url, policy, endpoints, "first");
    if (!first.ok) throw first.error;
    const startedInside = first.addressClass !== "public";
    let current = new Request(request, { redirect: "manual" });
    for (let hop = 0; ; hop++) {
      const res = await inner(current);
      const location = res.headers.get("location");
      if (!REDIRECTS.has(res.status) || location === null) return res;
      if (current.method !== "GET" && current.method !== "HEAD") return res;
      await res.body?.cancel();
      let next: URL;
      try {
        next = new URL(location, url);
      } catch {
        throw new EgressRefusedError(url.host, `it redirected to an invalid location ${JSON.stringify(location.slice(0, 200))}`, "redirect");
      }
      if (hop + 1 > policy.maxRedirects) {
        throw new EgressRefusedError(next.host, `more than ${policy.maxRedirects} redirects starting at ${new URL(request.url).host}`, "redirect");
      }
      if (url.protocol === "https:" && next.protocol !== "https:") {
        throw new EgressRefusedError(next.host, `${url.host} redirected from https down to ${next.protocol}`, "redirect");
      }
      const hopCheck = check(next, policy, endpoints, "redirect");
      if (!hopCheck.ok) throw new EgressRefusedError(next.host, `redirect from ${url.host}: ${hopCheck.error.why}`, hopCheck.error.addressClass);
      if (hopCheck.addressClass !== "public" && !startedInside) {
        throw new EgressRefusedError(next.host, `a public upstream (${url.host}) may not redirect to ${describe(classify(next.hostname))}`, "redirect");
      }
      const headers = new Headers(current.headers);
      if (next.origin !== url.origin) headers.delete("authorization");
      current = new Request(next.toString(), { method: current.method, headers, redirect: "manual", signal: request.signal });
      url = next;
    }
  };
  // Naming more hosts starts again from the configuration: names of two rules never add up.
  return Object.assign(fetch, { naming });
}
