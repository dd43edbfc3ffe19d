// The dashboard the Worker serves (worker/dashboard/build/, committed) is the build of its sources.
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { buildDashboard } from "../build-dashboard.mjs";

test("worker/dashboard/build/ is current: npm run build:dashboard after editing worker/dashboard/*.js or app.css", async () => {
  for (const [name, text] of Object.entries(await buildDashboard())) {
    assert.equal(readFileSync(`worker/dashboard/build/${name}`, "utf8"), text, `worker/dashboard/build/${name} is stale`);
  }
});
