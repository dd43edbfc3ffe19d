// Measures the Worker bundle as deployed (wrangler's dry run), gzipped, and what takes the room in it.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
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
} finally {
  rmSync(out, { recursive: true, force: true });
}
