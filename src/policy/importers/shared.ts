// Helpers the tool importers share: reading untyped YAML values with paths, trust server URLs,
// PEM checks, and validating a built requirement with issues pointing back into the user's document.
import { isLoopbackHost } from "../../hosts";
import * as z from "../../schema";
import { joinPath, zodIssues } from "../issues";
import type { PolicyIssue, Requirement } from "../model";
import { parseRequirement } from "../native";
import type { RequirementKinds } from "../requirement-kinds";

export type Issues = PolicyIssue[];

/** The most rules (Portieris: repositories) one imported document may turn into. */
export const MAX_RULES = 1000;

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** A YAML key with nothing after it (`trust_roots:`) reads as null: treat it like a missing key. */
export function isAbsent(value: unknown): value is null | undefined {
  return value === null || value === undefined;
}

export function at(path: string, key: string | number): string {
  return joinPath(path, typeof key === "number" ? `[${key}]` : key);
}

export function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  return `a ${typeof value}`;
}

/** A mapping, or undefined (with an issue) when value is something else; absent gives undefined quietly. */
export function optionalRecord(value: unknown, path: string, issues: Issues): Record<string, unknown> | undefined {
  if (isAbsent(value)) return undefined;
  if (isRecord(value)) return value;
  issues.push({ path, message: `expected a mapping, got ${typeName(value)}` });
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Shapes: zod schemas with the importers' wording

const got = (what: string) => ({ error: (issue: { input?: unknown }) => `expected ${what}, got ${typeName(issue.input)}` });

/** A mapping of which only these fields are read (a Kubernetes object's metadata). */
export function mappingWith<T extends z.core.$ZodLooseShape>(shape: T) {
  return z.object(shape, got("a mapping"));
}
/** A field that may be left out or left empty (null): both read as absent. */
const absent = z.nullish;
/** A field read by its own shape (or only in some cases) where it is translated. */
export const nested = () => z.optional(z.unknown());
export const text = () => absent(z.string(got("a string")));
export const flag = () => absent(z.boolean(got("true or false")));
export const dictionary = () => absent(z.record(z.string(), z.unknown(), got("a mapping")));
export const list = () => absent(z.array(z.unknown(), got("a list")));
/** A string that must be given and not be empty. */
export const requiredText = () =>
  z
    .string({ error: (issue) => (isAbsent(issue.input) ? "required" : `expected a string, got ${typeName(issue.input)}`) })
    // Not minLength: that would also run on a list (it has a length) and call it "required" too.
    .check(z.refine((value) => value !== "", "required"));

/** One value read against a field shape: undefined when absent or wrong (reported). */
function field<T>(schema: z.Schema<T | null | undefined>): (value: unknown, path: string, issues: Issues) => T | undefined {
  return (value, path, issues) => {
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data ?? undefined;
    issues.push(...zodIssues(parsed.error, path));
    return undefined;
  };
}
export const optionalList = field(list());
export const optionalBoolean = field(flag());
export const optionalString = field(text());
export const requiredString = field(requiredText());

/** A mapping with exactly these fields; `what` names it when the value is something else. */
export function mapping<T extends z.core.$ZodLooseShape>(shape: T, what = "a mapping") {
  return z.strictObject(shape, got(what));
}

/** A mapping's fields as read: a field with a problem (reported) reads as absent and is named in `invalid`. */
export interface Read<T> {
  readonly data: Partial<T>;
  readonly invalid: ReadonlySet<string>;
}

/**
 * Parses one mapping of the user's document against its shape, reporting every problem at its path
 * (unknown fields first, as the tools' loaders name them). Undefined when raw is not a mapping at all.
 */
export function readShape<S extends z.ZodMiniObject>(schema: S, raw: unknown, path: string, issues: Issues): Read<z.infer<S>> | undefined {
  const parsed = schema.safeParse(raw);
  if (parsed.success) return { data: parsed.data as z.infer<S>, invalid: new Set() };
  const found = [...parsed.error.issues].sort((a, b) => Number(b.code === "unrecognized_keys") - Number(a.code === "unrecognized_keys"));
  issues.push(...zodIssues({ issues: found }, path));
  if (!isRecord(raw)) return undefined;
  // The rest of the mapping still counts, so one wrong field does not hide the problems behind the
  // others. The shapes do not transform values: the fields that passed are already as parsed.
  const invalid = new Set(found.flatMap((issue) => (issue.code === "unrecognized_keys" ? issue.keys : [String(issue.path[0])])));
  return { data: Object.fromEntries(Object.entries(raw).filter(([key]) => !invalid.has(key))) as Partial<z.infer<S>>, invalid };
}

// ---------------------------------------------------------------------------------------------
// Trust servers

const SCHEME = /^(https?):\/\//i;

/** The host of "host[:port][/path]", without brackets or port. */
function hostOf(authority: string): string {
  const end = authority.search(/[/?#]/);
  const hostPort = end < 0 ? authority : authority.slice(0, end);
  if (hostPort.startsWith("[")) {
    const close = hostPort.indexOf("]");
    return close < 0 ? hostPort : hostPort.slice(1, close);
  }
  const colon = hostPort.indexOf(":");
  return (colon < 0 ? hostPort : hostPort.slice(0, colon)).toLowerCase();
}


/**
 * A trust server as the tools write it ("notary.docker.io", "10.0.0.5:4443", "https://…") as a
 * URL: an explicit scheme is kept, otherwise https, except loopback hosts, which only speak http here.
 */
export function trustServerUrl(written: string): string {
  const trimmed = written.trim().replace(/\/+$/, "");
  const scheme = SCHEME.exec(trimmed);
  if (scheme) return `${(scheme[1] ?? "").toLowerCase()}://${trimmed.slice(scheme[0].length)}`;
  return `${isLoopbackHost(hostOf(trimmed)) ? "http" : "https"}://${trimmed}`;
}

// ---------------------------------------------------------------------------------------------
// Keys

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/;

/**
 * Checks that text holds a PEM public key or certificate whose body is base64. Headers such as
 * "role: root" (what `docker trust key generate` writes) are allowed; the verifier parses the DER.
 */
export function pemProblem(text: string): string | undefined {
  const block = PEM_BLOCK.exec(text);
  if (!block) return "expected a PEM public key (-----BEGIN PUBLIC KEY----- … -----END PUBLIC KEY-----)";
  const label = block[1] ?? "";
  if (label !== "PUBLIC KEY" && label !== "CERTIFICATE") {
    return `expected a PEM PUBLIC KEY or CERTIFICATE, got ${label}${label.includes("PRIVATE") ? " (never hand over a private key)" : ""}`;
  }
  const body = (block[2] ?? "")
    .split("\n")
    .filter((line) => !line.includes(":"))
    .join("")
    .replace(/\s+/g, "");
  if (body === "" || !/^[A-Za-z0-9+/]+={0,2}$/.test(body) || body.length % 4 !== 0) {
    return "the PEM body is not base64 (is it a placeholder?)";
  }
  return undefined;
}

/** PEM text as stored in a policy: surrounding blank lines and indentation trimmed. */
export function normalizePem(text: string): string {
  return text.trim();
}

/** Kubernetes Secret `data` values are base64 of the bytes; undefined when the text is not base64. */
export function decodeBase64Text(value: string): string | undefined {
  const compact = value.replace(/\s+/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 !== 0) return undefined;
  try {
    const binary = atob(compact);
    const bytes = Uint8Array.from(binary, (ch) => ch.charCodeAt(0));
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Requirements

/**
 * Validates a requirement the importer assembled from several places of the user's document.
 * `sources` maps a field path of the requirement ("server", "signers[0].keys") to where its value
 * came from; an issue on a field goes to the longest mapped prefix, else to sources[""].
 */
export function checkRequirement(
  raw: Requirement,
  kinds: RequirementKinds,
  sources: Readonly<Record<string, string>>,
  issues: Issues,
  warnings?: Issues,
): Requirement {
  const local: PolicyIssue[] = [];
  const review = warnings ? { warnings, where: (path: string) => remap(path, sources) } : undefined;
  const parsed = parseRequirement(raw, kinds, "", local, review);
  for (const issue of local) issues.push({ path: remap(issue.path, sources), message: issue.message });
  return parsed;
}

function remap(path: string, sources: Readonly<Record<string, string>>): string {
  let best = "";
  for (const key of Object.keys(sources)) {
    if (key.length <= best.length) continue;
    if (path === key || path.startsWith(`${key}.`) || path.startsWith(`${key}[`)) best = key;
  }
  // Whatever lies below the mapped prefix is a field of our own making, not one the user wrote.
  return sources[best] ?? "";
}

/** One issue per path and message: a value shared by several built requirements is reported once. */
export function distinctIssues(issues: Issues): Issues {
  const seen = new Set<string>();
  return issues.filter((issue) => {
    const key = `${issue.path}\u0000${issue.message}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
