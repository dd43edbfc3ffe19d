// Image references: parsed and normalised as Docker does (distribution/reference grammar).
import { isLoopbackHost, splitHostPort } from "./hosts";
import { DEFAULT_LIMITS } from "./limits";

export interface ImageReference {
  /**
   * The registry in its canonical form (canonicalRegistry): "docker.io", "127.0.0.1:5000". One
   * registry has one spelling, so no rule, cache key or history filter is escaped by another one.
   */
  readonly registry: string;
  /** Repository path inside the registry: "library/nginx". */
  readonly path: string;
  /** registry + "/" + path: "docker.io/library/nginx" (also the Notary GUN). */
  readonly name: string;
  /** Tag; "latest" when neither tag nor digest was given. */
  readonly tag?: string;
  /** "sha256:<64 hex>" when given (sha384:<96 hex> and sha512:<128 hex> are accepted too, as Docker does). */
  readonly digest?: string;
  /** Normalised string: name[:tag][@digest], e.g. "docker.io/library/nginx:latest". */
  readonly canonical: string;
}

export class InvalidReferenceError extends Error {
  override readonly name = "InvalidReferenceError";
}

/** Hostile-input bound, checked before any other work. */
export const MAX_REFERENCE_LENGTH = DEFAULT_LIMITS.api.referenceLength;

// distribution/reference limits and defaults (normalize.go, reference.go, regexp.go).
const MAX_PATH_LENGTH = 255;
const MAX_TAG_LENGTH = 128;
const DEFAULT_DOMAIN = "docker.io";
/** Other names of Docker Hub's registry: docker pulls from each of them as from docker.io. */
const DOCKER_HUB_ALIASES: ReadonlySet<string> = new Set(["index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"]);
const OFFICIAL_REPO_PREFIX = "library/";
const DEFAULT_TAG = "latest";

// Each pattern is anchored and applied to one already-split piece, so matching stays linear.
const PATH_COMPONENT_RE = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const DOMAIN_LABEL_RE = /^[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$/;
const IPV6_HOST_RE = /^\[[a-fA-F0-9:]+\]$/;
const PORT_RE = /^[0-9]+$/;
const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
const IDENTIFIER_RE = /^[a-f0-9]{64}$/;
const SCHEME_RE = /^[A-Za-z][A-Za-z0-9+.-]*:\/\//;
const LOWER_HEX_RE = /^[a-f0-9]*$/;
const ANY_HEX_RE = /^[a-fA-F0-9]*$/;

// go-digest's registered algorithms that Docker links in, with their hex lengths.
const DIGEST_HEX_LENGTHS: ReadonlyMap<string, number> = new Map([
  ["sha256", 64],
  ["sha384", 96],
  ["sha512", 128],
]);

type Fail = (problem: string) => never;

/** Parses and normalises an image reference; throws InvalidReferenceError with a precise message. */
export function parseReference(input: string): ImageReference {
  // Callers may hand over values decoded from JSON; do not trust the static type.
  if (typeof input !== "string") {
    throw new InvalidReferenceError(`image reference must be a string, got ${input === null ? "null" : typeof input}`);
  }
  if (input.length === 0) throw new InvalidReferenceError("image reference is empty");
  if (input.length > MAX_REFERENCE_LENGTH) {
    // Not echoed: it could be anything, and large.
    throw new InvalidReferenceError(
      `image reference is too long: ${input.length} characters, at most ${MAX_REFERENCE_LENGTH} allowed`,
    );
  }
  const fail: Fail = (problem) => {
    throw new InvalidReferenceError(`invalid image reference ${quote(input)}: ${problem}`);
  };

  if (SCHEME_RE.test(input)) {
    fail(`must not start with a URL scheme ("${input.slice(0, input.indexOf("://") + 3)}"); use host/path[:tag][@digest]`);
  }
  checkCharacters(input, fail);
  // Docker refuses a bare image ID here: it would be ambiguous with a repository name.
  if (IDENTIFIER_RE.test(input)) {
    fail("a 64-character hexadecimal string is an image ID, not a repository name");
  }

  let rest = input;
  let digest: string | undefined;
  const at = input.indexOf("@");
  if (at >= 0) {
    const second = input.indexOf("@", at + 1);
    if (second >= 0) fail(`more than one '@' (at positions ${at + 1} and ${second + 1})`);
    digest = validateDigest(input.slice(at + 1), fail);
    rest = input.slice(0, at);
    if (rest === "") fail("repository name is missing before '@'");
  }

  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(":");
  const lastSlash = rest.lastIndexOf("/");
  if (lastSlash < 0 && rest.startsWith("[")) {
    fail(`registry ${quote(rest)} must be followed by '/' and a repository path`);
  }
  // A tag can hold neither ':' nor '/', so only a ':' after the last '/' starts one.
  if (lastColon > lastSlash) {
    tag = validateTag(rest.slice(lastColon + 1), fail);
    rest = rest.slice(0, lastColon);
    if (rest === "") fail("repository name is missing before ':'");
  }

  const { registry, path } = splitRegistry(rest, fail);
  validatePath(path, fail);

  if (tag === undefined && digest === undefined) tag = DEFAULT_TAG;
  const name = `${registry}/${path}`;
  const canonical = name + (tag !== undefined ? `:${tag}` : "") + (digest !== undefined ? `@${digest}` : "");
  return {
    registry,
    path,
    name,
    ...(tag !== undefined ? { tag } : {}),
    ...(digest !== undefined ? { digest } : {}),
    canonical,
  };
}

/** Docker's splitDockerDomain, followed by validation of the registry it picked. */
function splitRegistry(name: string, fail: Fail): { registry: string; path: string } {
  const slash = name.indexOf("/");
  if (slash < 0) {
    // Familiar single-component names are official images, even "localhost" or "example.com".
    return { registry: DEFAULT_DOMAIN, path: OFFICIAL_REPO_PREFIX + name };
  }
  const first = name.slice(0, slash);
  const remainder = name.slice(slash + 1);
  // Docker's rule: localhost, or anything with '.' or ':', or anything with upper case (names must be
  // lower case, so it cannot be a namespace) is a registry; everything else is a Docker Hub namespace.
  const isRegistry =
    first === "localhost" || first.includes(".") || first.includes(":") || first !== first.toLowerCase();
  if (!isRegistry) return { registry: DEFAULT_DOMAIN, path: name };

  validateRegistry(first, fail);
  if (remainder === "") fail(`repository path is missing after registry ${quote(first)}`);
  const registry = canonicalRegistry(first);
  if (!registry.includes(".") && !registry.includes(":") && registry !== "localhost") {
    // Lower-cased, "Foo" would read as the Docker Hub namespace "foo": one reference, two registries.
    fail(`registry ${quote(first)} is a single-label host name in upper case; write it in lower case with its domain or port`);
  }
  const path = registry === DEFAULT_DOMAIN && !remainder.includes("/") ? OFFICIAL_REPO_PREFIX + remainder : remainder;
  return { registry, path };
}

/**
 * One spelling per registry (docs/patterns.md, "Canonical form"): the host lower-cased (DNS is
 * case-insensitive), the scheme's default port dropped (443; 80 for loopback registries, which are
 * spoken to over plain http), Docker Hub's other names mapped to docker.io. Takes a registry valid
 * under Docker's grammar, or a pattern's registry part (a '*' passes through unchanged).
 */
export function canonicalRegistry(registry: string): string {
  let r = registry.toLowerCase();
  const colon = r.lastIndexOf(":");
  // A ':' inside the brackets of an IPv6 address separates no port.
  if (colon > r.lastIndexOf("]")) {
    const host = r.slice(0, colon);
    const port = r.slice(colon + 1);
    const defaultPort = isLoopbackHost(host) ? 80 : 443;
    if (/^[0-9]+$/.test(port) && Number(port) === defaultPort) r = host;
  }
  return DOCKER_HUB_ALIASES.has(r) ? DEFAULT_DOMAIN : r;
}

/**
 * host[:port] where host is DNS-like labels or a bracketed IPv6 address (no zone). Docker's grammar
 * accepts any digit string as port and any hex/':' mix in brackets; so do we.
 */
function validateRegistry(registry: string, fail: Fail): void {
  const { host, port } = splitHostPort(registry, fail, quote);
  if (host.startsWith("[")) {
    if (!IPV6_HOST_RE.test(host)) {
      fail(`registry ${quote(registry)}: IPv6 address ${quote(host)} may contain only hex digits and ':'`);
    }
  } else {
    for (const label of host.split(".")) {
      if (!DOMAIN_LABEL_RE.test(label)) {
        // Also where Docker would silently treat e.g. "foo_bar.com/x" as a registry-less path: refuse it.
        fail(
          `registry host ${quote(host)}: label ${quote(label)} must be letters, digits and inner '-' only`,
        );
      }
    }
  }
  if (port !== undefined) {
    if (port === "") fail(`registry ${quote(registry)} has an empty port after ':'`);
    if (!PORT_RE.test(port)) fail(`registry ${quote(registry)}: port ${quote(port)} must be digits only`);
  }
}

function validatePath(path: string, fail: Fail): void {
  if (/[A-Z]/.test(path)) fail(`repository name ${quote(path)} must be lowercase`);
  if (path.length > MAX_PATH_LENGTH) {
    fail(`repository name is too long: ${path.length} characters, at most ${MAX_PATH_LENGTH} allowed`);
  }
  for (const component of path.split("/")) {
    if (component === "") {
      fail(`repository name ${quote(path)} has an empty path component (leading, trailing or double '/')`);
    }
    if (!PATH_COMPONENT_RE.test(component)) {
      fail(
        `path component ${quote(component)} is invalid: it must be lowercase letters and digits, ` +
          "separated by one '.', one or two '_', or one or more '-'",
      );
    }
  }
}

function validateTag(tag: string, fail: Fail): string {
  if (tag === "") fail("tag is empty after ':'");
  if (tag.length > MAX_TAG_LENGTH) {
    fail(`tag is too long: ${tag.length} characters, at most ${MAX_TAG_LENGTH} allowed`);
  }
  if (!TAG_RE.test(tag)) {
    fail(
      `tag ${quote(tag)} is invalid: it must start with a letter, digit or '_' ` +
        "and contain only letters, digits, '_', '.' and '-'",
    );
  }
  return tag;
}

/** The reference grammar, then go-digest's Validate: a registered algorithm and exact lower-case hex. */
function validateDigest(digest: string, fail: Fail): string {
  if (digest === "") fail("digest is empty after '@'");
  const colon = digest.indexOf(":");
  if (colon < 0) fail(`digest ${quote(digest)} must have the form algorithm:hex, e.g. sha256:<64 hex>`);
  const algorithm = digest.slice(0, colon);
  const hex = digest.slice(colon + 1);
  if (algorithm === "") fail(`digest ${quote(digest)} has no algorithm before ':'`);
  const expected = DIGEST_HEX_LENGTHS.get(algorithm);
  if (expected === undefined) {
    fail(`unsupported digest algorithm ${quote(algorithm)} (supported: ${[...DIGEST_HEX_LENGTHS.keys()].join(", ")})`);
  }
  if (!LOWER_HEX_RE.test(hex)) {
    fail(
      ANY_HEX_RE.test(hex)
        ? `${algorithm} digest must be lowercase hex`
        : `${algorithm} digest ${quote(hex)} contains non-hex characters`,
    );
  }
  if (hex.length !== expected) {
    fail(`${algorithm} digest must have ${expected} hex characters, got ${hex.length}`);
  }
  return digest;
}

/** Rejects, with its 1-based position, the first character no part of the grammar can contain. */
function checkCharacters(input: string, fail: Fail): void {
  for (let i = 0; i < input.length; i++) {
    const code = input.charCodeAt(i);
    const ok =
      (code >= 0x30 && code <= 0x39) || // 0-9
      (code >= 0x41 && code <= 0x5a) || // A-Z
      (code >= 0x61 && code <= 0x7a) || // a-z
      code === 0x2e || // .
      code === 0x5f || // _
      code === 0x2d || // -
      code === 0x3a || // :
      code === 0x2f || // /
      code === 0x40 || // @
      code === 0x5b || // [
      code === 0x5d || // ]
      code === 0x2b; // + (digest algorithm separator; refused later with a better message)
    if (ok) continue;
    const cp = input.codePointAt(i) ?? code;
    const shown = cp > 0x20 && cp < 0x7f ? `'${String.fromCodePoint(cp)}'` : codePointName(cp);
    const what = /\s/.test(String.fromCodePoint(cp)) ? `whitespace (${codePointName(cp)})` : `invalid character ${shown}`;
    fail(`${what} at position ${i + 1}`);
  }
}

function codePointName(cp: number): string {
  return `U+${cp.toString(16).toUpperCase().padStart(4, "0")}`;
}

/** Double-quoted, with anything outside printable ASCII escaped, so messages are safe to log and show. */
function quote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (cp >= 0x20 && cp < 0x7f) out += ch;
    else out += `\\u{${cp.toString(16).toUpperCase()}}`;
  }
  return `${out}"`;
}

/** The short form docker and podman print: docker.io/library/busybox:latest → busybox:latest. */
export function familiarName(ref: ImageReference): string {
  if (ref.registry !== "docker.io") return ref.canonical;
  const rest = ref.canonical.slice("docker.io/".length);
  return rest.startsWith("library/") && !ref.path.slice("library/".length).includes("/") ? rest.slice("library/".length) : rest;
}
