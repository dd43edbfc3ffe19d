// Fuzz helpers: structured mutations of valid JSON fixtures, and "throws only X" assertions.
import fc from "fast-check";

type Json = unknown;
type Path = (string | number)[];

/** Every path into a JSON value (the root is []). */
export function pathsOf(value: Json, prefix: Path = [], out: Path[] = []): Path[] {
  out.push(prefix);
  if (Array.isArray(value)) value.forEach((v, i) => pathsOf(v, [...prefix, i], out));
  else if (value !== null && typeof value === "object") {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) pathsOf(v, [...prefix, k], out);
  }
  return out;
}

/** Values of the wrong type, edge values and random JSON: what a hostile document puts in a field. */
export const weirdValue: fc.Arbitrary<Json> = fc.oneof(
  fc.constantFrom<Json>(null, true, false, 0, -1, 1.5, 2 ** 53, -(2 ** 31), 1e308, "", " ", "\u0000", "a".repeat(300), [], {}, [null], { "": null }, "__proto__", "constructor", "toString", "sha256:", "-"),
  fc.string({ maxLength: 20 }),
  fc.integer(),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.jsonValue({ maxDepth: 2 }),
);

type Op = { kind: "replace" | "delete" | "wrap" | "dup" | "rename"; at: number; value: Json; key: string };

const op: fc.Arbitrary<Op> = fc.record({
  kind: fc.constantFrom("replace", "replace", "replace", "delete", "wrap", "dup", "rename") as fc.Arbitrary<Op["kind"]>,
  at: fc.nat(),
  value: weirdValue,
  key: fc.oneof(fc.string({ maxLength: 8 }), fc.constantFrom("__proto__", "constructor", "toString", "hasOwnProperty")),
});

function apply(root: Json, o: Op): Json {
  const paths = pathsOf(root);
  const path = paths[o.at % paths.length]!;
  if (path.length === 0) {
    return o.kind === "wrap" ? [root] : o.kind === "replace" ? structuredClone(o.value) : root;
  }
  const parentPath = path.slice(0, -1);
  let parent: any = root;
  for (const p of parentPath) parent = parent[p];
  const last = path[path.length - 1]!;
  const current = parent[last];
  switch (o.kind) {
    case "replace":
      // A copy: weirdValue's constants ({}, [null], …) are one object each, shared by every run; placed
      // as they are, a later mutation inside one changes the constant, or nests it in itself (a cycle).
      parent[last] = structuredClone(o.value);
      break;
    case "delete":
      if (Array.isArray(parent)) parent.splice(last as number, 1);
      else delete parent[last];
      break;
    case "wrap":
      parent[last] = [current];
      break;
    case "dup":
      if (Array.isArray(parent)) parent.push(structuredClone(current));
      else Object.defineProperty(parent, o.key, { value: structuredClone(current), enumerable: true, writable: true, configurable: true });
      break;
    case "rename":
      if (!Array.isArray(parent)) {
        delete parent[last];
        Object.defineProperty(parent, o.key, { value: current, enumerable: true, writable: true, configurable: true });
      }
      break;
  }
  return root;
}

/** One to four structured mutations of a (cloned) fixture. */
export function mutationOf(fixture: Json): fc.Arbitrary<Json> {
  return fc.array(op, { minLength: 1, maxLength: 4 }).map((ops) => {
    let v = structuredClone(fixture);
    for (const o of ops) v = apply(v, o);
    return v;
  });
}

/** Mutations of any of several fixtures. */
export function mutationOfAny(fixtures: readonly Json[]): fc.Arbitrary<Json> {
  return fc.oneof(...fixtures.map((f) => mutationOf(f)));
}

export const utf8 = (s: string) => new TextEncoder().encode(s);

/** Bytes that are mostly JSON-shaped: random JSON text, text, raw bytes. */
export const jsonishBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((v) => utf8(JSON.stringify(v) ?? "null")),
  fc.string({ unit: "binary", maxLength: 200 }).map(utf8),
  fc.uint8Array({ maxLength: 300 }),
);

type ErrorClass = abstract new (...args: any[]) => Error;

function check(err: unknown, allowed: readonly ErrorClass[], input: unknown): void {
  if (allowed.some((c) => err instanceof c)) return;
  const shown = (() => {
    try {
      return typeof input === "string" ? JSON.stringify(input) : input instanceof Uint8Array ? `bytes(${input.length}) ${new TextDecoder().decode(input).slice(0, 400)}` : JSON.stringify(input)?.slice(0, 800);
    } catch {
      return String(input);
    }
  })();
  const e = err instanceof Error ? `${err.name}: ${err.message}\n${err.stack}` : String(err);
  throw new Error(`unexpected ${e}\ninput: ${shown}`);
}

/** Runs `fn`; it must return or throw one of `allowed`. */
export function onlyThrows<T>(allowed: readonly ErrorClass[], input: unknown, fn: () => T): T | undefined {
  try {
    return fn();
  } catch (err) {
    check(err, allowed, input);
    return undefined;
  }
}

export async function onlyRejects<T>(allowed: readonly ErrorClass[], input: unknown, fn: () => Promise<T>): Promise<T | undefined> {
  try {
    return await fn();
  } catch (err) {
    check(err, allowed, input);
    return undefined;
  }
}
