// Rule patterns: anchored globs over normalised references, and "most specific wins".
import { splitHostPort } from "../hosts";
import { canonicalRegistry, type ImageReference } from "../reference";
import { DEFAULT_LIMITS } from "../limits";
import { compileDialectPattern, DialectPatternError, isDialectPattern } from "./dialect-pattern";
import { matchGlobPieces, matchGlobTokens } from "./glob-match";

/**
 * Which tool's specificity rule ranks matching patterns. Matching itself is the same for every
 * style (see docs/patterns.md): the imported tools' unanchored matching is what we refuse to copy.
 */
export type PatternStyle = "native" | "portieris" | "connaisseur" | "containers-policy" | "kyverno" | "policy-controller";

export const PATTERN_STYLES: readonly PatternStyle[] = ["native", "portieris", "connaisseur", "containers-policy", "kyverno", "policy-controller"];

/**
 * containers/image looks a reference up by its policy identity: with a digest, the tag is dropped
 * (name:tag@digest is name@digest). Otherwise the containers-policy style is the native one.
 */
function identityFor(style: PatternStyle, ref: ImageReference): ImageReference {
  if (style !== "containers-policy" || ref.digest === undefined || ref.tag === undefined) return ref;
  return { registry: ref.registry, path: ref.path, name: ref.name, digest: ref.digest, canonical: `${ref.name}@${ref.digest}` };
}

export interface CompiledPattern {
  readonly source: string;
  readonly style: PatternStyle;
  matches(ref: ImageReference): boolean;
}

export class PatternSyntaxError extends Error {
  override readonly name = "PatternSyntaxError";
}

/** Hostile-input bound; a real pattern is far shorter than a reference may be. */
export const MAX_PATTERN_LENGTH = DEFAULT_LIMITS.api.patternLength;

const DEFAULT_REGISTRY = "docker.io";
const OFFICIAL_PREFIX = "library/";

const REGISTRY_CHARS = /^[a-z0-9.\-:[\]*]+$/;
const PATH_CHARS = /^[a-z0-9._\-/*]+$/;
const TAG_CHARS = /^[A-Za-z0-9_.\-*]+$/;
const DIGEST_CHARS = /^[A-Za-z0-9_+.\-:=*]+$/;
const PORT_GLOB = /^[0-9*]+$/;
/** Everything a pattern may contain anywhere; the parts narrow it down further. */
const PATTERN_CHARS = /^[A-Za-z0-9._\-/:@*[\]+=]+$/;

// ---------------------------------------------------------------------------------------------
// Globs: '*' is the only wildcard. Compiled once; matching never builds a RegExp.

/** A literal character, or a star that may not match the characters in `stop` ("" = any run). */
type Token = string | { readonly stop: string };

/** An anchored glob over one part of a reference. */
class Glob {
  /** Split on '*' (for stars that match anything): n pieces = n-1 stars. */
  private readonly pieces: readonly string[];
  /** Set only when some star is restricted; then matching simulates the glob as an NFA. */
  private readonly tokens: readonly Token[] | undefined;

  constructor(
    readonly text: string,
    starStop: (index: number) => string,
  ) {
    this.pieces = text.split("*");
    const tokens: Token[] = [];
    let restricted = false;
    for (let i = 0; i < text.length; i++) {
      const ch = text.charAt(i);
      if (ch === "*") {
        const stop = starStop(i);
        if (stop !== "") restricted = true;
        tokens.push({ stop });
      } else {
        tokens.push(ch);
      }
    }
    this.tokens = restricted ? tokens : undefined;
  }

  get isAny(): boolean {
    return this.text === "*";
  }

  matches(s: string): boolean {
    if (this.pieces.length === 1) return s === this.text;
    return this.tokens ? matchGlobTokens(this.tokens, s) : matchGlobPieces(this.pieces, s);
  }
}

const ANYTHING = (): string => "";

// ---------------------------------------------------------------------------------------------
// Parsing

interface ParsedPattern {
  /** undefined: the catch-all name "*" (any registry, any path). */
  readonly registry: string | undefined;
  readonly path: string | undefined;
  readonly tag: string | undefined;
  readonly digest: string | undefined;
  /** The pattern as it is matched and ranked: short names expanded, registry lower-cased. */
  readonly normalized: string;
}

function quote(s: string): string {
  return JSON.stringify(s);
}

function parsePattern(source: string): ParsedPattern {
  const fail = (problem: string): never => {
    throw new PatternSyntaxError(`invalid pattern ${quote(source)}: ${problem}`);
  };

  const ws = source.search(/\s/);
  if (ws >= 0) fail(`contains whitespace at position ${ws + 1}`);
  if (!PATTERN_CHARS.test(source)) {
    const bad = [...source].find((ch) => !PATTERN_CHARS.test(ch)) ?? "";
    if ("?{}!^\\".includes(bad)) fail(`${quote(bad)} is not supported: '*' is the only wildcard`);
    fail(`character ${quote(bad)} cannot appear in an image reference`);
  }
  if ((source.includes("[") || source.includes("]")) && !source.startsWith("[")) {
    fail("'[' and ']' are not supported: '*' is the only wildcard (brackets may only enclose an IPv6 registry)");
  }
  // '*' already crosses '/', so '**' would only suggest a difference that does not exist.
  const stars = source.indexOf("**");
  if (stars >= 0) fail(`'**' at position ${stars + 1}: use a single '*', which already matches across '/'`);

  let rest = source;
  let digest: string | undefined;
  const at = source.indexOf("@");
  if (at >= 0) {
    if (source.indexOf("@", at + 1) >= 0) fail("more than one '@'");
    digest = source.slice(at + 1);
    rest = source.slice(0, at);
    if (digest === "") fail("digest is empty after '@' (write '@*' for any digest)");
    if (!DIGEST_CHARS.test(digest)) fail(`digest ${quote(digest)} may contain only letters, digits, '_+.-:=' and '*'`);
    if (rest === "") fail("name is missing before '@' (write '*@…' to match any name)");
  }

  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(":");
  const lastSlash = rest.lastIndexOf("/");
  // As in references: only a ':' after the last '/' starts a tag; before it, ':' is a port.
  if (lastColon > lastSlash) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
    if (tag === "") fail("tag is empty after ':' (write ':*' for any tag)");
    if (!TAG_CHARS.test(tag)) fail(`tag ${quote(tag)} may contain only letters, digits, '_', '.', '-' and '*'`);
    if (rest === "") fail("name is missing before ':' (write '*:…' to match any name)");
  }

  const suffix = (tag !== undefined ? `:${tag}` : "") + (digest !== undefined ? `@${digest}` : "");
  const slash = rest.indexOf("/");

  if (slash < 0) {
    if (rest === "*") return { registry: undefined, path: undefined, tag, digest, normalized: `*${suffix}` };
    if (rest.includes("*")) {
      const host = (rest.endsWith("*") ? rest.slice(0, -1) : rest).toLowerCase();
      const hint = looksLikeRegistry(rest.replaceAll("*", "")) ? `${host}/*` : `docker.io/library/${rest}`;
      fail(
        "a name without '/' may use '*' only as the whole name (\"*\" matches every image); " +
          `otherwise registry and path cannot be told apart: write e.g. ${quote(hint)}`,
      );
    }
    if (rest !== rest.toLowerCase()) fail(`repository name ${quote(rest)} must be lowercase`);
    if (looksLikeRegistry(rest)) {
      // Docker would read "k8s.gcr.io" as docker.io/library/k8s.gcr.io; nobody means that.
      fail(
        `${quote(rest)} looks like a registry, but a name without '/' is a Docker Hub repository; ` +
          `write ${quote(`${rest}/*`)} for every image on that registry`,
      );
    }
    rest = `${DEFAULT_REGISTRY}/${OFFICIAL_PREFIX}${rest}`;
  }

  const cut = rest.indexOf("/");
  const first = rest.slice(0, cut);
  let registry: string;
  let path: string;
  if (first.includes("*") || looksLikeRegistry(first)) {
    path = rest.slice(cut + 1);
    validateRegistry(first.toLowerCase(), fail);
    if (path === "") fail(`repository path is missing after registry ${quote(first)}`);
    // The canonical form references have, so "Registry-1.Docker.IO:443/x" is docker.io/x here too.
    registry = canonicalRegistry(first);
    // Docker's "docker.io/nginx" = "docker.io/library/nginx"; a glob like "docker.io/*" stays as written.
    if (registry === DEFAULT_REGISTRY && !path.includes("/") && !path.includes("*")) path = OFFICIAL_PREFIX + path;
  } else {
    registry = DEFAULT_REGISTRY;
    path = rest;
  }
  validatePath(path, fail);
  return { registry, path, tag, digest, normalized: `${registry}/${path}${suffix}` };
}

/** Docker's test for "the first component is a registry", plus '*' handled by the caller. */
function looksLikeRegistry(component: string): boolean {
  return (
    component === "localhost" ||
    component.includes(".") ||
    component.includes(":") ||
    component !== component.toLowerCase()
  );
}

function validateRegistry(registry: string, fail: (problem: string) => never): void {
  if (!REGISTRY_CHARS.test(registry)) {
    fail(`registry ${quote(registry)} may contain only letters, digits, '.', '-', ':', '[', ']' and '*'`);
  }
  if (registry === "*") return;
  const { host, port } = splitHostPort(registry, fail, quote);
  // A star may widen a host only inside a domain the pattern names in full: "registry*.example.com"
  // stays under example.com, but "docker.io*" reaches docker.io.evil.com and "*trusted.io" eviltrusted.io.
  const lastStar = host.lastIndexOf("*");
  if (host !== "*" && lastStar >= 0) {
    const after = host.slice(lastStar + 1);
    const dot = after.indexOf(".");
    const fixedLabels = dot < 0 ? 0 : after.slice(dot + 1).split(".").length;
    if (fixedLabels < 2) {
      fail(
        `registry host ${quote(host)}: after its last '*' it must end in a fixed domain of at least two ` +
          `whole labels, as in "*.example.com" or "registry*.example.com"; otherwise it also matches ` +
          `hosts someone else can own (use "*" alone for any registry)`,
      );
    }
  }
  if (port !== undefined) {
    if (port === "") fail(`registry ${quote(registry)} has an empty port after ':'`);
    if (!PORT_GLOB.test(port)) fail(`registry ${quote(registry)}: port ${quote(port)} may contain only digits and '*'`);
  }
}

function validatePath(path: string, fail: (problem: string) => never): void {
  if (/[A-Z]/.test(path)) fail(`repository path ${quote(path)} must be lowercase (references are)`);
  if (!PATH_CHARS.test(path)) {
    fail(`repository path ${quote(path)} may contain only lowercase letters, digits, '.', '_', '-', '/' and '*'`);
  }
  if (path.split("/").includes("")) {
    fail(`repository path ${quote(path)} has an empty component (leading, trailing or double '/')`);
  }
}

/** A registry star never crosses into the port (nor, being inside the registry, into the path). */
const NOT_PAST_PORT = (): string => ":";

// ---------------------------------------------------------------------------------------------
// Compiled patterns

class GlobPattern implements CompiledPattern {
  readonly normalized: string;
  /** No '*' anywhere: eligible for "exact match wins". */
  readonly wildcardFree: boolean;
  /** len(normalized) − count('*'), Portieris's match quality. */
  readonly literalLength: number;
  readonly starCount: number;
  /** Characters before the first '*'. */
  readonly literalPrefix: number;
  /** normalized split on '/', for Connaisseur's ranking. */
  readonly components: readonly string[];
  /** The registry (host and port) when written without a wildcard: the host the pattern names. */
  readonly literalRegistry: string | undefined;
  private readonly registry: Glob | undefined;
  private readonly path: Glob | undefined;
  private readonly tag: Glob | undefined;
  private readonly digest: Glob | undefined;

  constructor(
    readonly source: string,
    readonly style: PatternStyle,
    parsed: ParsedPattern,
  ) {
    this.normalized = parsed.normalized;
    this.starCount = parsed.normalized.split("*").length - 1;
    this.wildcardFree = this.starCount === 0;
    this.literalLength = parsed.normalized.length - this.starCount;
    const firstStar = parsed.normalized.indexOf("*");
    this.literalPrefix = firstStar < 0 ? parsed.normalized.length : firstStar;
    this.components = parsed.normalized.split("/");
    this.literalRegistry = parsed.registry !== undefined && !parsed.registry.includes("*") ? parsed.registry : undefined;
    this.registry = parsed.registry === undefined ? undefined : new Glob(parsed.registry, NOT_PAST_PORT);
    this.path = parsed.path === undefined ? undefined : new Glob(parsed.path, ANYTHING);
    this.tag = parsed.tag === undefined ? undefined : new Glob(parsed.tag, ANYTHING);
    this.digest = parsed.digest === undefined ? undefined : new Glob(parsed.digest, ANYTHING);
    Object.freeze(this);
  }

  matches(reference: ImageReference): boolean {
    const ref = identityFor(this.style, reference);
    // Each part is globbed on its own, so no star can carry the registry into the path.
    if (this.registry && !this.registry.isAny && !this.registry.matches(ref.registry.toLowerCase())) return false;
    if (this.path && !this.path.matches(ref.path)) return false;
    if (this.tag && !this.tag.isAny) {
      // A bare ':*' means "whatever the tag" and so keeps covering digest-only references.
      if (ref.tag === undefined || !this.tag.matches(ref.tag)) return false;
    }
    if (this.digest && (ref.digest === undefined || !this.digest.matches(ref.digest))) return false;
    return true;
  }
}

/** Compiles a pattern once; throws PatternSyntaxError naming the problem. */
export function compilePattern(source: string, style: PatternStyle): CompiledPattern {
  // Callers may hand over values decoded from JSON; do not trust the static types.
  if (typeof source !== "string") {
    throw new PatternSyntaxError(`pattern must be a string, got ${source === null ? "null" : typeof source}`);
  }
  if (!PATTERN_STYLES.includes(style)) throw new TypeError(`unknown pattern style ${quote(String(style))}`);
  if (source === "") throw new PatternSyntaxError("pattern is empty (write \"*\" to match every image)");
  if (source.length > MAX_PATTERN_LENGTH) {
    throw new PatternSyntaxError(
      `pattern is too long: ${source.length} characters, at most ${MAX_PATTERN_LENGTH} allowed`,
    );
  }
  // Kyverno and policy-controller match their own string forms with their own wildcards
  // (dialect-pattern.ts); their policies take every matching rule, so they are never ranked.
  if (style === "kyverno" || style === "policy-controller") {
    try {
      return compileDialectPattern(source, style, MAX_PATTERN_LENGTH);
    } catch (err) {
      if (err instanceof DialectPatternError) throw new PatternSyntaxError(err.message);
      throw err;
    }
  }
  return new GlobPattern(source, style, parsePattern(source));
}

// The registry a pattern names literally, host and port as written ("10.0.0.5:5000" for
// "10.0.0.5:5000/app/*"); undefined when its registry part has a '*' in the host or the port
// ("*:5000/*", "127.0.0.1:*/demo/*") or the pattern is a catch-all ("*", "*:v1").
export function literalRegistry(pattern: CompiledPattern): string | undefined {
  if (isDialectPattern(pattern)) return pattern.literalRegistry;
  return own(pattern).literalRegistry;
}

/** The pattern in the form it is matched and ranked in ("nginx:1.*" → "docker.io/library/nginx:1.*"). */
export function normalizedPattern(pattern: CompiledPattern): string {
  if (isDialectPattern(pattern)) return pattern.source;
  return own(pattern).normalized;
}

// ---------------------------------------------------------------------------------------------
// Specificity

/** What ranking needs from the reference, computed once per pick. */
interface RefView {
  /** canonical with the registry lower-cased, as patterns' registries are. */
  readonly canonical: string;
  readonly components: readonly string[];
}

function viewOf(ref: ImageReference): RefView {
  const canonical = ref.registry.toLowerCase() + ref.canonical.slice(ref.registry.length);
  return { canonical, components: canonical.split("/") };
}

function own(pattern: CompiledPattern): GlobPattern {
  if (!(pattern instanceof GlobPattern)) throw new TypeError("pattern was not made by compilePattern");
  return pattern;
}

const sign = (n: number): number => (n > 0 ? 1 : n < 0 ? -1 : 0);

/** Portieris: a wildcard-free pattern equal to the image wins outright; else most literal characters. */
function comparePortieris(a: GlobPattern, b: GlobPattern, ref: RefView): number {
  const exact = Number(isExact(a, ref)) - Number(isExact(b, ref));
  if (exact !== 0) return exact;
  return sign(a.literalLength - b.literalLength);
}

/** Native: Portieris's rule, then fewer stars, then the longer literal prefix. */
function compareNative(a: GlobPattern, b: GlobPattern, ref: RefView): number {
  const first = comparePortieris(a, b, ref);
  if (first !== 0) return first;
  if (a.starCount !== b.starCount) return sign(b.starCount - a.starCount);
  return sign(a.literalPrefix - b.literalPrefix);
}

/**
 * Connaisseur: more '/'-components; then, leftmost first, the longer common prefix of a pattern
 * component with the image's component; then, leftmost first, the longer component.
 */
function compareConnaisseur(a: GlobPattern, b: GlobPattern, ref: RefView): number {
  if (a.components.length !== b.components.length) return sign(a.components.length - b.components.length);
  for (let i = 0; i < a.components.length; i++) {
    const image = ref.components[i] ?? "";
    const d = commonPrefix(a.components[i] ?? "", image) - commonPrefix(b.components[i] ?? "", image);
    if (d !== 0) return sign(d);
  }
  for (let i = 0; i < a.components.length; i++) {
    const d = (a.components[i] ?? "").length - (b.components[i] ?? "").length;
    if (d !== 0) return sign(d);
  }
  return 0;
}

function isExact(p: GlobPattern, ref: RefView): boolean {
  return p.wildcardFree && p.normalized === ref.canonical;
}

function commonPrefix(x: string, y: string): number {
  const n = Math.min(x.length, y.length);
  let i = 0;
  while (i < n && x.charCodeAt(i) === y.charCodeAt(i)) i++;
  return i;
}

const COMPARATORS: Readonly<Record<PatternStyle, (a: GlobPattern, b: GlobPattern, ref: RefView) => number>> = {
  native: compareNative,
  portieris: comparePortieris,
  connaisseur: compareConnaisseur,
  "containers-policy": compareNative,
  // Never reached: dialect patterns are not GlobPatterns (compilePattern).
  kyverno: () => 0,
  "policy-controller": () => 0,
};

/**
 * > 0 when a is more specific than b for ref under their style, < 0 when less, 0 on a tie (the
 * first declared then wins). Both must have the same style; neither needs to match ref.
 */
export function compareSpecificity(ref: ImageReference, a: CompiledPattern, b: CompiledPattern): number {
  const pa = own(a);
  const pb = own(b);
  if (pa.style !== pb.style) throw new TypeError(`cannot rank a ${pa.style} pattern against a ${pb.style} one`);
  return COMPARATORS[pa.style](pa, pb, viewOf(identityFor(pa.style, ref)));
}

/** Among candidates whose pattern matches ref, the most specific one (first declared on a tie). */
export function pickMostSpecific<T extends { readonly pattern: CompiledPattern }>(
  ref: ImageReference,
  candidates: readonly T[],
): T | undefined {
  let view: RefView | undefined;
  let best: T | undefined;
  let bestPattern: GlobPattern | undefined;
  let style: PatternStyle | undefined;
  for (const candidate of candidates) {
    // Dialect patterns have no ranking of their own: the first declared that matches.
    if (isDialectPattern(candidate.pattern)) {
      if (candidate.pattern.matches(ref)) return candidate;
      continue;
    }
    const p = own(candidate.pattern);
    // One policy has one style; mixing them has no meaningful order.
    style ??= p.style;
    if (p.style !== style) throw new TypeError(`cannot rank a ${p.style} pattern against a ${style} one`);
    if (!p.matches(ref)) continue;
    view ??= viewOf(identityFor(style, ref));
    // Strictly greater only, so the first declared keeps a tie.
    if (bestPattern === undefined || COMPARATORS[style](p, bestPattern, view) > 0) {
      best = candidate;
      bestPattern = p;
    }
  }
  return best;
}
