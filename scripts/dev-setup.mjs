// Prepares a local `wrangler dev`: dev tokens in .dev.vars, D1 migrations applied to the local database.
import { copyFileSync, existsSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
if (!existsSync(join(root, ".dev.vars"))) {
  copyFileSync(join(root, ".dev.vars.example"), join(root, ".dev.vars"));
  console.log("created .dev.vars with the dev tokens from .dev.vars.example");
}
execFileSync(join(root, "node_modules/.bin/wrangler"), ["d1", "migrations", "apply", "VERDICTS", "--local"], {
  cwd: root,
  stdio: "inherit",
  env: { ...process.env, CI: "true", WRANGLER_SEND_METRICS: "false" },
});
