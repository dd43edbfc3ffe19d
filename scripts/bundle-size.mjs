// Measures the Worker bundle as deployed (wrangler's dry run), gzipped, and what takes the room in it.
// Only the Worker's script counts against the size limit: the static assets (wrangler.toml [assets],
// the dashboard's files) are uploaded separately and are reported on their own line, not added in.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = mkdtempSync(join(tmpdir(), "trustgate-bundle-"));
try {
  // --metafile: the inputs of this very build (wrangler.toml's [alias] and all), not a lookalike.
  execFileSync(join(root, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--outdir", out, "--metafile"], {
    cwd: root,
    stdio: ["ignore", "ignore", "inherit"],
    env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" },
  });
  const meta = JSON.parse(readFileSync(join(out, "bundle-meta.json"), "utf8"));
  const [file, output] = Object.entries(meta.outputs).find(([path]) => path.endsWith(".js"));
  const code = readFileSync(join(out, basename(file)));
  const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
  console.log(`worker bundle: ${kib(code.length)} raw, ${kib(gzipSync(code).length)} gzipped`);

  // Minified bytes per package: a package's files (openpgp's lazily loaded dist chunks too) count as one.
  const byPackage = new Map();
  for (const [path, input] of Object.entries(output.inputs)) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
    const name = m ? m[1] : "trustgate (src/, worker/)";
    byPackage.set(name, (byPackage.get(name) ?? 0) + input.bytesInOutput);
  }
  for (const [name, bytes] of [...byPackage].sort((a, b) => b[1] - a[1])) {
    console.log(`  ${name.padEnd(28)} ${kib(bytes)} minified`);
  }

  // [assets] directory = "..." in wrangler.toml; _headers and the like are configuration, not files served.
  const toml = readFileSync(join(root, "wrangler.toml"), "utf8");
  const assetsTable = /^\[assets\]\s*$([\s\S]*?)(?=^\[|(?![\s\S]))/m.exec(toml)?.[1] ?? "";
  const assetsDir = /^directory\s*=\s*"([^"]+)"/m.exec(assetsTable)?.[1];
  if (assetsDir) {
    const files = readdirSync(join(root, assetsDir), { recursive: true, withFileTypes: true })
      .filter((e) => e.isFile() && !["_headers", "_redirects", ".assetsignore"].includes(e.name))
      .map((e) => readFileSync(join(e.parentPath ?? e.path, e.name))); // parentPath: Node >= 20.12
    const raw = files.reduce((n, f) => n + f.length, 0);
    const gz = files.reduce((n, f) => n + gzipSync(f).length, 0);
    const where = relative(root, join(root, assetsDir));
    console.log(`static assets (${where}, ${files.length} files): ${kib(raw)} raw, ${kib(gz)} gzipped; uploaded separately, not part of the worker bundle`);
  }
} finally {
  rmSync(out, { recursive: true, force: true });
}
