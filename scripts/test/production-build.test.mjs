// CI builds the production configuration: the file npm run deploy writes (wrangler.toml with an
// account's IDs) goes through wrangler's own build and checks (`wrangler deploy --dry-run`), offline,
// so a change that would not deploy fails the test suite.
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { it } from "node:test";
import assert from "node:assert/strict";
import { renderProductionConfig, resourcesOf } from "../deploy.mjs";

const REPO = fileURLToPath(new URL("../../", import.meta.url));

it("the production configuration builds with wrangler deploy --dry-run", async () => {
  const toml = readFileSync(join(REPO, "wrangler.toml"), "utf8");
  const { kv, d1 } = resourcesOf(toml, "trustgate");
  const config = renderProductionConfig(toml, {
    workerName: "trustgate",
    domain: "trustgate.example.com",
    kvIds: Object.fromEntries(kv.map((ns, i) => [ns.binding, `${i + 1}`.repeat(32)])),
    d1: Object.fromEntries(d1.map((db) => [db.binding, { name: db.name, id: "5c0a1d2e-3f40-4a5b-8c6d-7e8f9a0b1c2d" }])),
  });
  // Beside wrangler.toml, so that its relative paths (main, migrations, aliases) resolve the same.
  const configPath = join(REPO, `.wrangler.production-check-${process.pid}.toml`);
  const dir = mkdtempSync(join(tmpdir(), "trustgate-build-"));
  writeFileSync(configPath, config);
  try {
    const env = { ...process.env };
    for (const k of Object.keys(env)) if (k.startsWith("CLOUDFLARE_") || k.startsWith("CF_")) delete env[k];
    const result = await new Promise((resolve) => {
      execFile(
        join(REPO, "node_modules", ".bin", "wrangler"),
        ["deploy", "--dry-run", "--outdir", join(dir, "out"), "--config", configPath],
        {
          cwd: REPO,
          timeout: 120_000,
          env: {
            ...env,
            CI: "true",
            WRANGLER_SEND_METRICS: "false",
            WRANGLER_SEND_ERROR_REPORTS: "false",
            CLOUDFLARE_CF_FETCH_ENABLED: "false",
            npm_config_registry: "http://127.0.0.1:9/",
            XDG_CONFIG_HOME: join(dir, "config"),
            WRANGLER_LOG_PATH: join(dir, "logs"),
            NO_COLOR: "1",
          },
        },
        (err, stdout, stderr) => resolve({ code: err ? err.code : 0, stdout, stderr }),
      );
    });
    const show = `exit ${result.code}\n${result.stdout}\n${result.stderr}`;
    assert.equal(result.code, 0, show);
    assert.match(result.stdout, /--dry-run: exiting now/, show);
    for (const ns of kv) assert.ok(result.stdout.includes(`env.${ns.binding} (`), show);
    assert.ok(result.stdout.includes("env.VERDICTS (trustgate-verdicts)"), show);
    assert.ok(existsSync(join(dir, "out", "index.js")), show);
    assert.match(config, /^routes = /m);
  } finally {
    rmSync(configPath, { force: true });
    rmSync(dir, { recursive: true, force: true });
  }
});
