// npm run deploy (scripts/deploy.mjs) against a fake wrangler on PATH that keeps a fake account in
// a JSON file: what a run creates, applies, deploys and sets, and that a second run does nothing.
import { execFile } from "node:child_process";
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, describe, it } from "node:test";
import assert from "node:assert/strict";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const FAKE_BIN = fileURLToPath(new URL("./fake-wrangler/", import.meta.url));
const MUTATING = [
  ["kv", "namespace", "create"],
  ["d1", "create"],
  ["d1", "migrations", "apply"],
  ["deploy"],
  ["secret", "put"],
];
const dirs = [];
after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

/** A project folder with the repository's wrangler.toml and migrations, and an account. */
function project(account = {}) {
  const dir = mkdtempSync(join(tmpdir(), "trustgate-deploy-"));
  dirs.push(dir);
  cpSync(join(REPO, "wrangler.toml"), join(dir, "wrangler.toml"));
  cpSync(join(REPO, "migrations"), join(dir, "migrations"), { recursive: true });
  writeFileSync(join(dir, "account.json"), JSON.stringify(account));
  return dir;
}

function run(dir, args = [], env = {}) {
  const log = join(dir, `calls-${Date.now()}-${Math.random()}.log`);
  writeFileSync(log, "");
  const base = { ...process.env };
  for (const k of Object.keys(base)) if (k.startsWith("TRUSTGATE_") || k.startsWith("CLOUDFLARE_")) delete base[k];
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(REPO, "scripts", "deploy.mjs"), ...args],
      {
        cwd: dir,
        env: { ...base, PATH: `${FAKE_BIN}${delimiter}${process.env.PATH}`, FAKE_WRANGLER_STATE: join(dir, "account.json"), FAKE_WRANGLER_LOG: log, ...env },
        timeout: 60_000,
      },
      (err, stdout, stderr) => {
        const calls = readFileSync(log, "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
        const changes = calls.filter((c) => MUTATING.some((m) => m.every((w, i) => c[i] === w)) && !c.includes("--dry-run"));
        resolve({ code: err ? err.code : 0, stdout, stderr, calls, changes, account: JSON.parse(readFileSync(join(dir, "account.json"), "utf8")) });
      },
    );
  });
}

const show = (r) => `exit ${r.code}\n${r.stdout}\n${r.stderr}\n${r.calls.map((c) => c.join(" ")).join("\n")}`;
/** Each state-changing call as a short label, e.g. "kv namespace create trustgate-policies". */
const words = (r) =>
  r.changes.map((c) => (c[0] === "deploy" ? "deploy" : c[1] === "migrations" ? "d1 migrations apply" : c.slice(0, c[0] === "kv" ? 4 : 3).join(" ")));

describe("npm run deploy", { concurrency: true }, () => {
  it("takes a fresh account to a running trustgate: resources, config, migrations, Worker, secrets", async () => {
    const dir = project();
    const committed = readFileSync(join(dir, "wrangler.toml"), "utf8");
    const r = await run(dir);
    assert.equal(r.code, 0, show(r));
    assert.deepEqual(words(r), [
      "kv namespace create trustgate-policies",
      "kv namespace create trustgate-trust-cache",
      "kv namespace create trustgate-verdict-cache",
      "d1 create trustgate-verdicts",
      "d1 migrations apply",
      "deploy",
      "secret put ADMIN_TOKENS",
      "secret put CLIENT_TOKENS",
    ], show(r));
    assert.deepEqual(r.account.applied, ["trustgate-verdicts/0001_verdicts.sql", "trustgate-verdicts/0002_policy_audit.sql", "trustgate-verdicts/0003_verdict_stats.sql", "trustgate-verdicts/0004_preview_images.sql"]);

    // The IDs are in the generated file, the committed one is untouched.
    assert.equal(readFileSync(join(dir, "wrangler.toml"), "utf8"), committed);
    const generated = readFileSync(join(dir, "wrangler.production.toml"), "utf8");
    assert.equal(r.account.deployedConfig, generated);
    for (const ns of r.account.kv) assert.match(generated, new RegExp(`^id = "${ns.id}"`, "m"));
    assert.match(generated, new RegExp(`^database_id = "${r.account.d1[0].uuid}"`, "m"));
    assert.doesNotMatch(generated, /trustgate-policies"|00000000-0000-4000-8000-000000000000/);
    const deploy = r.changes.find((c) => c[0] === "deploy");
    assert.deepEqual(deploy.slice(0, 3), ["deploy", "--config", join(dir, "wrangler.production.toml")]);

    // Generated tokens: stored as the secrets, shown once, and used in the first curl.
    assert.match(r.account.secrets.ADMIN_TOKENS, /^admin=[A-Za-z0-9_-]{43}$/);
    assert.match(r.account.secrets.CLIENT_TOKENS, /^ci=[A-Za-z0-9_-]{43}$/);
    assert.ok(r.stdout.includes(`ADMIN_TOKENS=${r.account.secrets.ADMIN_TOKENS}`), r.stdout);
    assert.match(r.stdout, /URL: https:\/\/trustgate\.acme\.workers\.dev\n/);
    assert.ok(r.stdout.includes(`curl -s https://trustgate.acme.workers.dev/healthz`), r.stdout);
    assert.ok(r.stdout.includes(`Bearer ${r.account.secrets.ADMIN_TOKENS.slice("admin=".length)}"`), r.stdout);

    // Run twice, it changes nothing, and still says where the service is.
    const again = await run(dir);
    assert.equal(again.code, 0, show(again));
    assert.deepEqual(again.changes, [], show(again));
    assert.match(again.stdout, /nothing to change/);
    assert.match(again.stdout, /URL: https:\/\/trustgate\.acme\.workers\.dev\n/);
    assert.doesNotMatch(again.stdout, /Generated tokens/);
    assert.equal(readFileSync(join(dir, "wrangler.production.toml"), "utf8"), generated);
  });

  it("--dry-run on a fresh account prints the plan and changes nothing", async () => {
    const dir = project();
    const r = await run(dir, ["--dry-run"]);
    assert.equal(r.code, 0, show(r));
    assert.deepEqual(r.changes, [], show(r));
    assert.deepEqual(r.account, {});
    for (const line of [
      "would create KV namespace trustgate-policies",
      "would create KV namespace trustgate-trust-cache",
      "would create KV namespace trustgate-verdict-cache",
      "would create D1 database trustgate-verdicts",
      "would write wrangler.production.toml",
      "would apply every migration to trustgate-verdicts",
      "would deploy Worker trustgate",
      "would set secret ADMIN_TOKENS",
      "would set secret CLIENT_TOKENS",
      "dry run: 9 change(s) planned, none made",
    ]) {
      assert.ok(r.stdout.includes(line), `${line}\n${show(r)}`);
    }
    assert.equal(existsSync(join(dir, "wrangler.production.toml")), false);
    assert.deepEqual(
      (await import("node:fs")).readdirSync(dir).filter((f) => f.includes("production")),
      [],
    );
  });

  it("--dry-run on an account that is set up: nothing to change", async () => {
    const dir = project();
    assert.equal((await run(dir)).code, 0);
    const r = await run(dir, ["--dry-run"]);
    assert.equal(r.code, 0, show(r));
    assert.deepEqual(r.changes, []);
    assert.match(r.stdout, /dry run: nothing to change/);
  });

  it("finishes a partly set-up account, leaving what exists and the secrets that are set", async () => {
    const dir = project({
      kv: [{ id: "policiesid0000000000000000000000", title: "trustgate-policies" }],
      d1: [{ uuid: "11111111-2222-4333-8444-555555555555", name: "trustgate-verdicts" }],
      applied: ["trustgate-verdicts/0001_verdicts.sql"],
      versions: [{ id: "old", annotations: { "workers/tag": "build-0000000000000000" } }],
      live: "old",
      secrets: { ADMIN_TOKENS: "kept" },
    });
    const r = await run(dir, [], { TRUSTGATE_CLIENT_TOKENS: "ci=given-by-the-operator" });
    assert.equal(r.code, 0, show(r));
    assert.deepEqual(words(r), [
      "kv namespace create trustgate-trust-cache",
      "kv namespace create trustgate-verdict-cache",
      "d1 migrations apply",
      "deploy",
      "secret put CLIENT_TOKENS",
    ], show(r));
    assert.match(r.stdout, /apply migrations 0002_policy_audit\.sql, 0003_verdict_stats\.sql, 0004_preview_images\.sql to trustgate-verdicts/);
    assert.deepEqual(r.account.secrets, { ADMIN_TOKENS: "kept", CLIENT_TOKENS: "ci=given-by-the-operator" });
    assert.doesNotMatch(r.stdout, /Generated tokens/);
    const generated = readFileSync(join(dir, "wrangler.production.toml"), "utf8");
    assert.match(generated, /^id = "policiesid0000000000000000000000"/m);
    assert.match(generated, /^database_id = "11111111-2222-4333-8444-555555555555"/m);
  });

  it("a changed build is deployed again; --name names the Worker and its resources, --domain adds a Custom Domain", async () => {
    const dir = project();
    const first = await run(dir, ["--name", "tg-eu", "--domain", "trustgate.example.com"]);
    assert.equal(first.code, 0, show(first));
    assert.match(first.stdout, /URL: https:\/\/trustgate\.example\.com\n/);
    assert.match(readFileSync(join(dir, "wrangler.production.toml"), "utf8"), /^routes = \[\{ pattern = "trustgate\.example\.com", custom_domain = true \}\]$/m);
    const account = JSON.parse(readFileSync(join(dir, "account.json"), "utf8"));
    assert.deepEqual(account.kv.map((k) => k.title), ["tg-eu-policies", "tg-eu-trust-cache", "tg-eu-verdict-cache"]);
    writeFileSync(join(dir, "account.json"), JSON.stringify({ ...account, bundle: "export default { changed: true };" }));
    const r = await run(dir, ["--name", "tg-eu", "--domain", "trustgate.example.com"]);
    assert.equal(r.code, 0, show(r));
    assert.deepEqual(words(r), ["deploy"], show(r));
    assert.match(readFileSync(join(dir, "wrangler.production.toml"), "utf8"), /^name = "tg-eu"/m);
  });
});
