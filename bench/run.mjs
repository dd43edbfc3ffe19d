// `npm run bench`: Node 20 cannot run TypeScript, and the lab (test/e2e/lab/*.ts) is TypeScript.
// esbuild bundles bench/run.ts with the lab into bench/results/.build/run.mjs (gitignored) and
// runs it. The output sits three directories below the repo root on purpose: the lab finds the
// repository from import.meta.url ("../../../"), which after bundling is the bundle's location.
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const outfile = join(here, "results", ".build", "run.mjs");
await build({
  entryPoints: [join(here, "run.ts")],
  outfile,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node20",
  packages: "external",
  // openpgp exports its lightweight build for browsers only; Node (bench/round-trips.ts runs the
  // simple-signing verifier) takes the package's Node build, the same API.
  alias: { "openpgp/lightweight": "openpgp" },
  sourcemap: "inline",
  logLevel: "warning",
});
const result = spawnSync(process.execPath, ["--enable-source-maps", outfile, ...process.argv.slice(2)], { stdio: "inherit" });
process.exit(result.status ?? 1);
