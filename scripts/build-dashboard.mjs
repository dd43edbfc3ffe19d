// `npm run build:dashboard`: the dashboard as the Worker serves it, in worker/dashboard/build/ (committed):
// app.js, the modules of worker/dashboard/*.js bundled into one and minified; app.css minified.
// One file instead of seven, and no comments or indentation, keeps the Worker bundle ~10 KiB
// (gzipped) smaller. scripts/test/dashboard-build.test.mjs fails when the build is not current.
import { build } from "esbuild";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const source = join(root, "worker/dashboard");

const BANNERS = {
  js: "// The dashboard's script, built by scripts/build-dashboard.mjs from worker/dashboard/*.js: edit those, then npm run build:dashboard.",
  css: "/* The dashboard's stylesheet, built by scripts/build-dashboard.mjs from worker/dashboard/app.css: edit that, then npm run build:dashboard. */",
};

/** The built files, by name: what build/ must hold. */
export async function buildDashboard() {
  const common = { bundle: true, minify: true, write: false, logLevel: "silent", legalComments: "none", target: "es2022" };
  const [js, css] = await Promise.all([
    build({ ...common, entryPoints: [join(source, "app.js")], format: "esm", banner: { js: BANNERS.js } }),
    build({ ...common, entryPoints: [join(source, "app.css")], banner: { css: BANNERS.css } }),
  ]);
  return { "app.js": js.outputFiles[0].text, "app.css": css.outputFiles[0].text };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const out = join(source, "build");
  mkdirSync(out, { recursive: true });
  for (const [name, text] of Object.entries(await buildDashboard())) {
    writeFileSync(join(out, name), text);
    console.log(`worker/dashboard/build/${name}: ${text.length} bytes`);
  }
}
