// Measures the Worker bundle as deployed (wrangler's dry run), gzipped, with its largest inputs.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, readdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = mkdtempSync(join(tmpdir(), "trustgate-bundle-"));
execFileSync(join(root, "node_modules/.bin/wrangler"), ["deploy", "--dry-run", "--outdir", out], {
  cwd: root,
  stdio: ["ignore", "ignore", "inherit"],
  env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" },
});
const file = readdirSync(out).find((f) => f.endsWith(".js"));
const code = readFileSync(join(out, file));
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
console.log(`worker bundle: ${kib(code.length)} raw, ${kib(gzipSync(code).length)} gzipped`);

// Which packages take the room: esbuild's metafile of the same entry point.
const meta = (await build({ entryPoints: [join(root, "worker/index.ts")], bundle: true, write: false, format: "esm",
  platform: "neutral", conditions: ["workerd", "worker", "browser"], mainFields: ["module", "main"], minify: true,
  metafile: true, external: ["cloudflare:*", "node:*"], logLevel: "silent" })).metafile;
const byPackage = new Map();
for (const [path, input] of Object.entries(meta.outputs[Object.keys(meta.outputs)[0]].inputs)) {
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  const name = m ? m[1] : "trustgate (src/, worker/)";
  byPackage.set(name, (byPackage.get(name) ?? 0) + input.bytesInOutput);
}
for (const [name, bytes] of [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, 8)) {
  console.log(`  ${name.padEnd(28)} ${kib(bytes)} minified`);
}
