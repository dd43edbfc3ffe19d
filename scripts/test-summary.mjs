// Prints one closing line for the whole suite ("tests: N passed, N failed") from vitest's JSON
// reports and node --test's JUnit reports (the cluster shim, scripts/test: deploy and production build),
// and fails it when a vitest run printed "uncaught exception" lines (scripts/vitest-project.mjs).
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";

const dir = ".test-results";
let passed = 0;
let failed = 0;
let skipped = 0;
let noise = 0;
for (const file of readdirSync(dir)) {
  const text = readFileSync(join(dir, file), "utf8");
  if (file.endsWith(".json")) {
    const report = JSON.parse(text);
    passed += report.numPassedTests;
    failed += report.numFailedTests;
    skipped += report.numPendingTests + report.numTodoTests;
  } else if (file.endsWith(".noise.txt")) {
    // scripts/vitest-project.mjs: "uncaught exception" lines a run printed (expected failures print none).
    noise += text.split("\n").filter((l) => l.trim() !== "").length;
  } else if (file.endsWith(".xml")) {
    // One <testcase> per test; a failed one holds <failure>, a skipped one <skipped>.
    for (const testcase of text.match(/<testcase\b[\s\S]*?(?:\/>|<\/testcase>)/g) ?? []) {
      if (/<failure\b/.test(testcase)) failed++;
      else if (/<skipped\b/.test(testcase)) skipped++;
      else passed++;
    }
  }
}
console.log(`tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ""}${noise ? `, ${noise} uncaught exception lines` : ""}`);
process.exit(failed > 0 || noise > 0 || passed === 0 ? 1 : 0);
