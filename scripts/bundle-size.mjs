// Measures the Worker bundle as deployed (wrangler's dry run), gzipped, and what takes the room in it.
// The upload is the script plus the text modules wrangler.toml's [[rules]] bundle beside it (the
// dashboard's files): both count against the size limit, so the figure is their sum.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
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
  // Text modules: every other file of the dry run's output but its README and source map.
  const modules = readdirSync(out)
    .filter((name) => name !== basename(file) && name !== "README.md" && !name.endsWith(".map") && name !== "bundle-meta.json")
    .map((name) => readFileSync(join(out, name)));
  const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
  const raw = code.length + modules.reduce((n, m) => n + m.length, 0);
  const scriptGz = gzipSync(code).length;
  const modulesGz = modules.reduce((n, m) => n + gzipSync(m).length, 0);
  console.log(`worker bundle: ${kib(raw)} raw, ${kib(scriptGz + modulesGz)} gzipped`);
  console.log(`  script ${kib(scriptGz)} gzipped; ${modules.length} text modules (the dashboard) ${kib(modulesGz)} gzipped`);

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

} finally {
  rmSync(out, { recursive: true, force: true });
}
