// Image patterns as Kyverno and Sigstore's policy-controller match them (docs/patterns.md,
// "Kyverno and policy-controller"): each tool's wildcard over its own string form of the reference.
// Matching never builds a RegExp from user input and is linear in pattern × text.
import type { ImageReference } from "../reference";
import { matchGlobPieces, matchGlobTokens, type GlobToken } from "./glob-match";
import type { CompiledPattern } from "./pattern";

export type DialectStyle = "kyverno" | "policy-controller";

/**
 * Kyverno's wildcard (ext/wildcard, IGLOU-EU/go-wildcard v1): '*' any run of characters ('/'
 * included), '?' exactly one character, everything else literal; the whole text must match.
 */
export function wildcardMatch(pattern: string, text: string): boolean {
  return matchGlobTokens(tokenize(pattern, "kyverno"), text);
}

function tokenize(pattern: string, style: DialectStyle): GlobToken[] {
  const tokens: GlobToken[] = [];
  for (let i = 0; i < pattern.length; i++) {
    const ch = pattern.charAt(i);
    if (ch === "*") {
      if (style === "policy-controller" && pattern.charAt(i + 1) === "*") {
        // policy-controller: '**' is any run, '/' included; '*' stays inside one path component.
        tokens.push({ stop: "" });
        i++;
      } else {
        tokens.push({ stop: style === "kyverno" ? "" : "/" });
      }
    } else if (ch === "?" && style === "kyverno") {
      tokens.push({ one: true });
    } else {
      tokens.push(ch);
    }
  }
  return tokens;
}

/** policy-controller's allowed glob characters (pkg/apis/glob validGlob). */
const PC_GLOB_CHARS = /^[a-zA-Z0-9\-_:/*.@]+$/;

export class DialectPatternError extends Error {
  override readonly name = "DialectPatternError";
}

/**
 * The strings each tool matches for one image. Both tools match the text a pod spec wrote, so
 * trustgate matches every spelling of the same image the tool could have seen and a rule applies
 * when any of them matches: another spelling (`nginx`, `docker.io/library/nginx`) never changes a
 * verdict. With a digest, both tools drop the tag.
 */
export function dialectSpellings(ref: ImageReference, style: DialectStyle): string[] {
  const suffix = ref.digest !== undefined ? `@${ref.digest}` : `:${ref.tag ?? "latest"}`;
  const registry = ref.registry.toLowerCase();
  const short = registry === "docker.io" && ref.path.startsWith("library/") ? ref.path.slice("library/".length) : undefined;
  const names: string[] = [];
  if (registry !== "docker.io") {
    names.push(`${registry}/${ref.path}`);
  } else if (style === "kyverno") {
    // Kyverno prefixes docker.io to a name without a registry and adds no library/; a pod spec
    // may also have written index.docker.io.
    names.push(`docker.io/${ref.path}`, ...(short !== undefined ? [`docker.io/${short}`] : []), `index.docker.io/${ref.path}`, ...(short !== undefined ? [`index.docker.io/${short}`] : []));
  } else {
    // go-containerregistry's Name() is index.docker.io/library/…; glob.Match also tries the name as written.
    names.push(`index.docker.io/${ref.path}`, `docker.io/${ref.path}`, ref.path, ...(short !== undefined ? [`docker.io/${short}`, short] : []));
  }
  const spellings = names.map((n) => n + suffix);
  // policy-controller also tries the image as written, and `app` is written for `app:latest`.
  if (style === "policy-controller" && ref.digest === undefined && suffix === ":latest") spellings.push(...names);
  return spellings;
}

/** A matcher for one pattern over one string form: the fast path when every wildcard is a star crossing '/'. */
export function dialectTextMatcher(pattern: string, style: DialectStyle): (text: string) => boolean {
  const tokens = tokenize(pattern, style);
  if (!tokens.every((t) => typeof t === "string" || ("stop" in t && t.stop === ""))) return (text) => matchGlobTokens(tokens, text);
  // Literal '*' cannot occur in a kyverno pattern; in policy-controller only '**' crosses '/'.
  const pieces = pattern.split(style === "policy-controller" ? "**" : "*");
  return (text) => matchGlobPieces(pieces, text);
}

class DialectPattern implements CompiledPattern {
  private readonly matchText: (text: string) => boolean;
  constructor(
    readonly source: string,
    readonly style: DialectStyle,
    matched: string,
    /** The registry the pattern names without a wildcard, if any ("registry.local:5000"). */
    readonly literalRegistry: string | undefined,
  ) {
    this.matchText = dialectTextMatcher(matched, style);
    Object.freeze(this);
  }

  matches(ref: ImageReference): boolean {
    return dialectSpellings(ref, this.style).some(this.matchText);
  }
}

export function isDialectPattern(pattern: CompiledPattern): pattern is CompiledPattern & { readonly literalRegistry: string | undefined } {
  return pattern instanceof DialectPattern;
}

export function compileDialectPattern(source: string, style: DialectStyle, maxLength: number): CompiledPattern {
  if (source === "") throw new DialectPatternError("pattern is empty");
  if (source.length > maxLength) throw new DialectPatternError(`pattern is too long: ${source.length} characters, at most ${maxLength} allowed`);
  let matched = source;
  if (style === "policy-controller") {
    // policy-controller's rewrites of the two catch-alls (pkg/apis/glob Compile).
    if (matched === "*/*") matched = "index.docker.io/*/*";
    if (matched === "*") matched = "index.docker.io/library/*";
    if (!PC_GLOB_CHARS.test(matched)) throw new DialectPatternError(`invalid glob ${JSON.stringify(source)}: only letters, digits and "-_:/*.@" may appear`);
  } else if (/\s/.test(matched)) {
    throw new DialectPatternError(`image reference ${JSON.stringify(source)} contains whitespace`);
  }
  const slash = matched.indexOf("/");
  const first = slash > 0 ? matched.slice(0, slash) : "";
  const literal = first !== "" && !/[*?]/.test(first) && (first.includes(".") || first.includes(":") || first === "localhost") ? first.toLowerCase() : undefined;
  return new DialectPattern(source, style, matched, literal);
}
