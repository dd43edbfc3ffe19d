// Kubernetes objects in a submitted stream (one object, a YAML stream, a List) for the Kyverno and
// policy-controller importers, and what both read the same way.
import { at, isRecord, optionalList, typeName, type Issues } from "./shared";

/** A List inside a List inside a stream is as deep as kubectl output goes. */
const MAX_NESTING = 4;

export interface Located {
  readonly obj: Record<string, unknown>;
  readonly path: string;
}

export function collectObjects(value: unknown, path: string, depth: number, out: Located[], issues: Issues, expected: string): void {
  if (Array.isArray(value)) {
    if (depth >= MAX_NESTING) {
      issues.push({ path, message: "lists nested too deeply" });
      return;
    }
    value.forEach((item, i) => collectObjects(item, at(path, i), depth + 1, out, issues, expected));
    return;
  }
  if (!isRecord(value)) {
    issues.push({ path, message: `expected a Kubernetes object (${expected}), got ${typeName(value)}` });
    return;
  }
  const kind = value.kind;
  if (typeof kind === "string" && kind.endsWith("List") && "items" in value) {
    const itemsPath = at(path, "items");
    const items = optionalList(value.items, itemsPath, issues) ?? [];
    if (depth >= MAX_NESTING) {
      issues.push({ path: itemsPath, message: "lists nested too deeply" });
      return;
    }
    items.forEach((item, i) => collectObjects(item, at(itemsPath, i), depth + 1, out, issues, expected));
    return;
  }
  out.push({ obj: value, path });
}

/** Key references trustgate cannot follow: it holds no cluster credentials and no KMS client. */
const KEY_REFERENCE = /^(k8s|awskms|gcpkms|azurekms|hashivault|kms|env|pkcs11):\/\//i;

export function keyReferenceProblem(value: string): string | undefined {
  const scheme = KEY_REFERENCE.exec(value.trim());
  if (!scheme) return undefined;
  return `${scheme[0]} keys are references trustgate cannot follow (it reads no Secrets and calls no KMS): give the PEM public key inline instead (cosign public-key --key ${scheme[0]}… prints it)`;
}

const PEM_BLOCKS = /-----BEGIN [A-Z0-9 ]+-----[\s\S]*?-----END [A-Z0-9 ]+-----/g;

/** Every PEM block in a string (Kyverno's publicKeys may hold several), trimmed. */
export function splitPems(text: string): string[] {
  return [...text.matchAll(PEM_BLOCKS)].map((m) => m[0].trim());
}

/** The public-good Sigstore services: the native keyless default trust root (TUF) covers them. */
export const PUBLIC_FULCIO = new Set(["https://fulcio.sigstore.dev", "https://fulcio.sigstore.dev/"]);
export const PUBLIC_REKOR = new Set(["https://rekor.sigstore.dev", "https://rekor.sigstore.dev/"]);

/**
 * A Kyverno wildcard ('*' any run, '?' one character, matched over the whole value) as an identity:
 * exact when it has no wildcard, else an anchored regular expression meaning the same.
 */
export function wildcardIdentity(value: string): { exact: string } | { regExp: string } {
  if (!/[*?]/.test(value)) return { exact: value };
  let out = "^";
  for (const ch of value) {
    if (ch === "*") out += ".*";
    else if (ch === "?") out += ".";
    else out += /[\\^$.+()[\]{}|]/.test(ch) ? `\\${ch}` : ch;
  }
  return { regExp: `${out}$` };
}

/** Kyverno's additionalExtensions keys (cosign's CertExtensionMap names or OIDs) → trustgate's FULCIO_EXTENSIONS names. */
export const KYVERNO_EXTENSIONS: Readonly<Record<string, string>> = {
  githubWorkflowTrigger: "githubWorkflowTrigger",
  "1.3.6.1.4.1.57264.1.2": "githubWorkflowTrigger",
  githubWorkflowSha: "githubWorkflowSHA",
  "1.3.6.1.4.1.57264.1.3": "githubWorkflowSHA",
  githubWorkflowName: "githubWorkflowName",
  "1.3.6.1.4.1.57264.1.4": "githubWorkflowName",
  githubWorkflowRepository: "githubWorkflowRepository",
  "1.3.6.1.4.1.57264.1.5": "githubWorkflowRepository",
  githubWorkflowRef: "githubWorkflowRef",
  "1.3.6.1.4.1.57264.1.6": "githubWorkflowRef",
};

/**
 * Every pattern of an allMatching policy is matched against every image decided, so their total
 * length is bounded (real policies hold a few hundred characters of them).
 */
export const MAX_PATTERN_CHARACTERS = 32 * 1024;

export function patternBudgetProblem(rules: readonly { pattern: string; patterns?: readonly string[]; skip?: readonly string[] }[]): string | undefined {
  let total = 0;
  for (const r of rules) for (const p of [r.pattern, ...(r.patterns ?? []), ...(r.skip ?? [])]) total += p.length;
  if (total <= MAX_PATTERN_CHARACTERS) return undefined;
  return `the image patterns total ${total} characters, at most ${MAX_PATTERN_CHARACTERS}: each is matched against every image decided; merge them into fewer wildcards`;
}
