// Loads the simple-signing vectors made by real gpg and skopeo (test/vectors/simple-signing, see its README).
type RawGlob = (pattern: string, options: { query: "?raw"; import: "default"; eager: true }) => Record<string, string>;
// The cast only informs the type checker; Vite still sees (and expands) import.meta.glob.
const files = (import.meta as ImportMeta & { glob: RawGlob }).glob("../../vectors/simple-signing/**/*", {
  query: "?raw",
  import: "default",
  eager: true,
});
const PREFIX = "../../vectors/simple-signing/";

export type KeyName = "rsa" | "ed25519" | "subkey" | "other" | "old" | "shortlived" | "revoked";

export interface OracleCase {
  name: string;
  image: string;
  keys: KeyName[];
  signedIdentity: Record<string, string> | null;
  signatures: string[];
  skopeo: { accepted: boolean; message?: string };
}

export interface Vectors {
  generatedAt: string;
  tools: Record<string, string>;
  registry: string;
  repository: string;
  digest: string;
  otherDigest: string;
  keys: Record<KeyName, { file: string; fingerprint: string; subkeys: string[] }>;
  signatures: Record<string, { file: string; note: string; signer?: KeyName; identity: string }>;
  cases: OracleCase[];
}

function file(path: string): string {
  const text = files[PREFIX + path];
  if (text === undefined) throw new Error(`no vector file ${path}`);
  return text;
}

export const vectors = JSON.parse(file("cases.json")) as Vectors;

/** The time the vectors were made (and skopeo judged them): what tests use as "now". */
export const NOW = new Date(vectors.generatedAt);

export function armoredKey(name: KeyName): string {
  return file(vectors.keys[name].file);
}

export function signature(name: string): Uint8Array {
  const entry = vectors.signatures[name];
  if (!entry) throw new Error(`no signature vector ${name}`);
  const bin = atob(file(entry.file).replace(/\s+/g, ""));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

export function manifest(which: "manifest.json" | "manifest-other.json" = "manifest.json"): string {
  return file(which);
}

export function base64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/** Base64 of the binary public key (policy.json keyData), from the armored export. */
export function keyData(name: KeyName): string {
  const armored = armoredKey(name);
  const body = armored
    .split("\n")
    .filter((l) => l !== "" && !l.startsWith("-----") && !l.startsWith("=") && !/^[A-Za-z-]+: /.test(l))
    .join("");
  return body;
}
