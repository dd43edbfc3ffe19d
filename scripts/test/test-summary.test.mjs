// The closing line of `npm test`: counts from the reports, and a failure when a vitest run printed
// "uncaught exception" lines (scripts/vitest-project.mjs keeps them in <project>.noise.txt).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const SUMMARY = resolve("scripts/test-summary.mjs");

function run(files) {
  const dir = mkdtempSync(join(tmpdir(), "summary-"));
  mkdirSync(join(dir, ".test-results"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, ".test-results", name), text);
  return spawnSync(process.execPath, [SUMMARY], { cwd: dir, encoding: "utf8" });
}

const report = (passed, failed = 0) => JSON.stringify({ numPassedTests: passed, numFailedTests: failed, numPendingTests: 0, numTodoTests: 0 });

test("passes when every test passed and no run printed an uncaught exception", () => {
  const r = run({ "workers.json": report(5), "workers.noise.txt": "", "e2e.json": report(2), "e2e.noise.txt": "" });
  assert.equal(r.stdout.trim(), "tests: 7 passed, 0 failed");
  assert.equal(r.status, 0);
});

test("fails when a run printed uncaught exception lines, even with every test passing", () => {
  const r = run({ "workers.json": report(5), "workers.noise.txt": "workerd/io/worker.c++:2101: info: uncaught exception; exception = ...\n" });
  assert.equal(r.stdout.trim(), "tests: 5 passed, 0 failed, 1 uncaught exception lines");
  assert.equal(r.status, 1);
});

test("fails on a failed test", () => {
  const r = run({ "workers.json": report(5, 1) });
  assert.equal(r.status, 1);
});
