// Runs one vitest project for `npm test`, passing its output through, and keeps the lines that
// say a runtime saw an uncaught exception (.test-results/<project>.noise.txt): expected failures
// (a refused upstream, a malformed body) must be handled without them, so test-summary.mjs fails
// the run when any are left.
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";

const project = process.argv[2];
if (!project) {
  console.error("usage: node scripts/vitest-project.mjs <project>");
  process.exit(2);
}
mkdirSync(".test-results", { recursive: true });
const args = ["vitest", "run", "--project", project, "--reporter=default", "--reporter=json", `--outputFile.json=.test-results/${project}.json`];
const child = spawn("npx", args, { stdio: ["inherit", "pipe", "pipe"] });
const noise = [];
const NOISE = /uncaught exception/i;

function pass(stream, out) {
  let rest = "";
  stream.on("data", (chunk) => {
    out.write(chunk);
    const lines = (rest + chunk.toString("utf8")).split("\n");
    rest = lines.pop() ?? "";
    for (const line of lines) if (NOISE.test(line)) noise.push(line);
  });
  stream.on("end", () => {
    if (NOISE.test(rest)) noise.push(rest);
  });
}
pass(child.stdout, process.stdout);
pass(child.stderr, process.stderr);
child.on("close", (code, signal) => {
  writeFileSync(`.test-results/${project}.noise.txt`, noise.map((l) => `${l}\n`).join(""));
  if (noise.length > 0) console.error(`\n${noise.length} "uncaught exception" line(s) in the ${project} run (see .test-results/${project}.noise.txt)`);
  process.exit(signal ? 1 : (code ?? 1));
});
