// A strict JSON reader that keeps every object member in order, duplicates included, so the payload
// can be checked the way containers/image's ParanoidUnmarshalJSONObject does (JSON.parse keeps the last).

export type JsonValue =
  | { readonly kind: "object"; readonly entries: readonly (readonly [string, JsonValue])[] }
  | { readonly kind: "array"; readonly items: readonly JsonValue[] }
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "number"; readonly value: number; readonly text: string }
  | { readonly kind: "bool"; readonly value: boolean }
  | { readonly kind: "null" };

export class JsonSyntaxError extends Error {
  override readonly name = "JsonSyntaxError";
}

/** Nesting bound: payloads are a few hundred bytes; this only stops hostile input from exhausting the stack. */
const MAX_DEPTH = 256;

/**
 * Parses one JSON document (RFC 8259, as Go's encoding/json reads it: whitespace is space, tab, CR,
 * LF; anything after the value other than whitespace is an error). Invalid surrogate escapes become
 * U+FFFD, as in Go.
 */
export function parseJson(text: string): JsonValue {
  let at = 0;
  const fail = (what: string): never => {
    throw new JsonSyntaxError(at >= text.length ? `unexpected end of JSON input` : `invalid character ${describe(text[at]!)} ${what}`);
  };
  const skipSpace = () => {
    while (at < text.length) {
      const c = text.charCodeAt(at);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) at++;
      else break;
    }
  };
  const literal = (word: string, value: JsonValue): JsonValue => {
    for (let i = 0; i < word.length; i++) {
      if (text[at + i] !== word[i]) {
        at += i;
        fail(`in literal ${word} (expecting ${describe(word[i]!)})`);
      }
    }
    at += word.length;
    return value;
  };
  const string = (): string => {
    at++; // opening quote
    let out = "";
    let start = at;
    for (;;) {
      if (at >= text.length) fail("");
      const c = text.charCodeAt(at);
      if (c === 0x22) {
        out += text.slice(start, at);
        at++;
        return out;
      }
      if (c < 0x20) fail("in string literal");
      if (c !== 0x5c) {
        at++;
        continue;
      }
      out += text.slice(start, at);
      at++;
      const e = text[at];
      switch (e) {
        case '"':
        case "\\":
        case "/":
          out += e;
          at++;
          break;
        case "b":
          out += "\b";
          at++;
          break;
        case "f":
          out += "\f";
          at++;
          break;
        case "n":
          out += "\n";
          at++;
          break;
        case "r":
          out += "\r";
          at++;
          break;
        case "t":
          out += "\t";
          at++;
          break;
        case "u": {
          const unit = hex4(at + 1);
          at += 5;
          if (unit >= 0xd800 && unit < 0xdc00) {
            // A high surrogate counts only when a low one follows; otherwise U+FFFD, as Go does.
            if (text[at] === "\\" && text[at + 1] === "u") {
              const low = hex4(at + 2);
              if (low >= 0xdc00 && low < 0xe000) {
                out += String.fromCharCode(unit, low);
                at += 6;
                break;
              }
            }
            out += "\ufffd";
          } else if (unit >= 0xdc00 && unit < 0xe000) {
            out += "\ufffd";
          } else {
            out += String.fromCharCode(unit);
          }
          break;
        }
        default:
          fail("in string escape code");
      }
      start = at;
    }
  };
  const hex4 = (from: number): number => {
    const digits = text.slice(from, from + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(digits)) {
      at = from + (/^[0-9a-fA-F]*/.exec(digits)?.[0].length ?? 0);
      fail("in \\u hexadecimal character escape");
    }
    return parseInt(digits, 16);
  };
  const number = (): JsonValue => {
    const m = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/.exec(text.slice(at));
    if (!m || m[0] === "-") {
      if (m) at++;
      fail("in numeric literal");
    }
    const raw = m![0];
    at += raw.length;
    return { kind: "number", value: Number(raw), text: raw };
  };
  const value = (depth: number): JsonValue => {
    if (depth > MAX_DEPTH) throw new JsonSyntaxError(`exceeded max depth ${MAX_DEPTH}`);
    skipSpace();
    const c = text[at];
    if (c === "{") {
      at++;
      const entries: [string, JsonValue][] = [];
      skipSpace();
      if (text[at] === "}") {
        at++;
        return { kind: "object", entries };
      }
      for (;;) {
        skipSpace();
        if (text[at] !== '"') fail("looking for beginning of object key string");
        const key = string();
        skipSpace();
        if (text[at] !== ":") fail("after object key");
        at++;
        entries.push([key, value(depth + 1)]);
        skipSpace();
        if (text[at] === ",") {
          at++;
          continue;
        }
        if (text[at] === "}") {
          at++;
          return { kind: "object", entries };
        }
        fail("after object key:value pair");
      }
    }
    if (c === "[") {
      at++;
      const items: JsonValue[] = [];
      skipSpace();
      if (text[at] === "]") {
        at++;
        return { kind: "array", items };
      }
      for (;;) {
        items.push(value(depth + 1));
        skipSpace();
        if (text[at] === ",") {
          at++;
          continue;
        }
        if (text[at] === "]") {
          at++;
          return { kind: "array", items };
        }
        fail("after array element");
      }
    }
    if (c === '"') return { kind: "string", value: string() };
    if (c === "t") return literal("true", { kind: "bool", value: true });
    if (c === "f") return literal("false", { kind: "bool", value: false });
    if (c === "n") return literal("null", { kind: "null" });
    if (c === "-" || (c !== undefined && c >= "0" && c <= "9")) return number();
    return fail("looking for beginning of value");
  };

  const result = value(0);
  skipSpace();
  if (at < text.length) fail("after top-level value");
  return result;
}

/**
 * How Go's encoding/json names the offending byte in its errors: 'x', a quoted escape for the
 * invisible, and for a multi-byte character its first byte read as Latin-1 (a BOM is 'ï').
 */
function describe(ch: string): string {
  if (ch === "'") return "'\\''";
  if (ch === '"') return "'\"'";
  const cp = ch.codePointAt(0) ?? 0;
  if (cp < 0x20 || cp === 0x7f) return `'\\x${cp.toString(16).padStart(2, "0")}'`;
  if (cp < 0x80) return `'${ch}'`;
  return `'${String.fromCharCode(new TextEncoder().encode(ch)[0]!)}'`;
}

/** A JSON kind as Go names it in "JSON object expected, got …" and type errors. */
export function kindName(v: JsonValue): string {
  switch (v.kind) {
    case "object":
      return "object";
    case "array":
      return "array";
    case "string":
      return "string";
    case "number":
      return "number";
    case "bool":
      return "bool";
    case "null":
      return "null";
  }
}
