// The layering ARCHITECTURE.md draws, checked against the imports the code has: an arrow that points
// up, or between siblings (verifier to verifier, admission to hooks), fails the build.
import { describe, expect, it } from "vitest";
import architecture from "../../ARCHITECTURE.md?raw";

type RawGlob = (pattern: string, options: { query: "?raw"; import: "default"; eager: true }) => Record<string, string>;
// Vite replaces `import.meta.glob(...)` by its full name only, so no alias for it.
const sources = {
  ...(import.meta as ImportMeta & { glob: RawGlob }).glob("../../src/**/*.ts", { query: "?raw", import: "default", eager: true }),
  ...(import.meta as ImportMeta & { glob: RawGlob }).glob("../../worker/**/*.ts", { query: "?raw", import: "default", eager: true }),
};

interface Layer {
  readonly rank: number;
  readonly name: string;
  /** Path prefixes from the repository root; "src/*.ts" means files directly in src/. */
  readonly where: string;
}

/** The table under "## Layers" in ARCHITECTURE.md: | rank | layer | `where` | … |. */
function layersOf(markdown: string): Layer[] {
  const section = markdown.slice(markdown.indexOf("## Layers"));
  const rows = section.slice(0, section.indexOf("\n## ", 1) >= 0 ? section.indexOf("\n## ", 1) : undefined).split("\n");
  const out: Layer[] = [];
  for (const row of rows) {
    const m = /^\| (\d+) \| ([^|]+?) \| `([^`]+)` \|/.exec(row);
    if (m) out.push({ rank: Number(m[1]), name: m[2]!, where: m[3]! });
  }
  return out;
}

/** The layer a repository path is in; verifiers are one layer per folder ("verify/cosign"). */
function layerOf(path: string, layers: readonly Layer[]): { layer: Layer; unit: string } | undefined {
  for (const layer of layers) {
    if (layer.where === "src/*.ts") {
      if (/^src\/[^/]+\.ts$/.test(path)) return { layer, unit: layer.name };
    } else if (layer.where === "src/verify/<kind>/") {
      const m = /^src\/verify\/([^/]+)\//.exec(path);
      if (m && m[1] !== "shared") return { layer, unit: `verify/${m[1]}` };
    } else if (path === layer.where || path.startsWith(layer.where)) {
      return { layer, unit: layer.name };
    }
  }
  return undefined;
}

/** The file an import names: "x" is x.ts, or the folder x's index.ts. */
function resolve(from: string, specifier: string, files: Readonly<Record<string, string>>): string {
  const parts = from.split("/").slice(0, -1);
  for (const piece of specifier.split("/")) {
    if (piece === "..") parts.pop();
    else if (piece !== ".") parts.push(piece);
  }
  const path = parts.join("/");
  if (/\.[cm]?[jt]s$/.test(path)) return path;
  return `${path}/index.ts` in files ? `${path}/index.ts` : `${path}.ts`;
}

const IMPORT_RE = /^\s*(?:import|export)\s[^;]*?from\s+"(\.{1,2}\/[^"]+)"/gm;

/** Every import that points up or sideways: "from → to (layer → layer)". */
export function wrongArrows(files: Readonly<Record<string, string>>, layers: readonly Layer[]): string[] {
  const wrong: string[] = [];
  for (const [file, text] of Object.entries(files)) {
    const from = layerOf(file, layers);
    if (!from) {
      wrong.push(`${file}: in no layer of ARCHITECTURE.md`);
      continue;
    }
    for (const m of text.matchAll(IMPORT_RE)) {
      const target = resolve(file, m[1]!, files);
      // The Worker (the top) may use what lies outside the layers: its dashboard files, the limit
      // it shares with the shim. Nothing below it may.
      if (!/^(src|worker)\//.test(target)) {
        if (from.layer.name !== "worker") wrong.push(`${file} → ${target} (${from.unit} → outside src/)`);
        continue;
      }
      if (/\.(md|json|html|css|js|svg)$/.test(target) || target.includes("?")) continue;
      const to = layerOf(target, layers);
      if (!to) {
        wrong.push(`${file} → ${target}: in no layer of ARCHITECTURE.md`);
        continue;
      }
      if (to.unit === from.unit) continue;
      if (to.layer.rank > from.layer.rank) continue;
      wrong.push(`${file} → ${target} (${from.unit} → ${to.unit})`);
    }
  }
  return wrong;
}

const key = (path: string) => path.replace(/^(\.\.\/)+/, "");
const files = Object.fromEntries(Object.entries(sources).map(([p, t]) => [key(p), t]));
const layers = layersOf(architecture);

describe("layers", () => {
  it("ARCHITECTURE.md draws the layers once, as a table this test reads", () => {
    expect(layers.map((l) => l.name)).toEqual([
      "worker",
      "admission",
      "hooks",
      "decide",
      "requirements",
      "policy",
      "adapters",
      "verify/*",
      "verify/tuf",
      "verify/shared",
      "base",
    ]);
    expect(Object.keys(files).length).toBeGreaterThan(50);
  });

  it("every import in src/ and worker/ points down the table", () => {
    expect(wrongArrows(files, layers)).toEqual([]);
  });

  it("finds an arrow that points the wrong way (the check itself can fail)", () => {
    const bad = {
      "src/verify/cosign/x.ts": 'import { keyId } from "../notary-v1/keys";\nimport { sha256 } from "../shared/encoding";',
      "src/verify/shared/y.ts": 'import type { SignedIdentity } from "../../requirements/identity-schema";',
      "src/decide.ts": 'import { loadConfig } from "../worker/env";',
      "src/admission/z.ts": 'export { imageFor } from "../hooks/common";',
      "src/policy/w.ts": 'import { RegistryClient } from "../adapters/registry-client";',
    };
    expect(wrongArrows(bad, layers)).toEqual([
      "src/verify/cosign/x.ts → src/verify/notary-v1/keys.ts (verify/cosign → verify/notary-v1)",
      "src/verify/shared/y.ts → src/requirements/identity-schema.ts (verify/shared → requirements)",
      "src/decide.ts → worker/env.ts (decide → worker)",
      "src/admission/z.ts → src/hooks/common.ts (admission → hooks)",
      "src/policy/w.ts → src/adapters/registry-client.ts (policy → adapters)",
    ]);
  });
});
