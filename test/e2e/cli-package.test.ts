// The CLI as users get it: `npm pack` of cli/, installed from the tarball into an empty folder
// (offline: it has no dependencies), and the installed `trustgate` run against the real Worker.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withoutProxies } from "./lab/process";
import { REPO_ROOT, startWorker, type WorkerHandle } from "./lab/worker";
import { callApi } from "./lab/api";

const POLICY = "package-gate";
const digest = (n: number) => `sha256:${n.toString(16).padStart(64, "0")}`;
const NGINX = `nginx@${digest(0xa1)}`;
const BUSYBOX = `busybox@${digest(0xc3)}`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function exec(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd, env, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : null) : 0, stdout, stderr });
    });
  });
}

const show = (r: Run) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

describe("the @trustgate/cli package", () => {
  let worker: WorkerHandle;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let files: string[];
  let bin: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "trustgate-cli-package-"));
    env = withoutProxies(process.env);
    for (const key of Object.keys(env)) if (key.startsWith("TRUSTGATE_") || key.startsWith("GITHUB_") || key.startsWith("npm_")) delete env[key];
    // npm may not reach any registry: a closed loopback port, and a cache of its own.
    Object.assign(env, { npm_config_registry: "http://127.0.0.1:9/", npm_config_cache: join(dir, "npm-cache"), npm_config_update_notifier: "false", npm_config_audit: "false", npm_config_fund: "false" });

    const pack = await exec("npm", ["pack", join(REPO_ROOT, "cli"), "--json", "--pack-destination", dir], dir, env);
    expect(pack.code, show(pack)).toBe(0);
    const [info] = JSON.parse(pack.stdout) as [{ name: string; filename: string; files: { path: string }[] }];
    expect(info.name).toBe("@trustgate/cli");
    files = info.files.map((f) => f.path).sort();

    const install = join(dir, "empty");
    await exec("mkdir", ["-p", install], dir, env);
    const installed = await exec("npm", ["install", "--offline", join(dir, info.filename)], install, env);
    expect(installed.code, show(installed)).toBe(0);
    bin = join(install, "node_modules", ".bin", "trustgate");

    worker = await startWorker();
    const put = await callApi(worker.url, "PUT", `/v1/policies/${POLICY}`, worker.adminToken, {
      rules: [
        { pattern: "docker.io/library/*", require: [{ type: "allow" }] },
        { pattern: "docker.io/library/busybox", require: [{ type: "deny", message: "no busybox" }] },
      ],
    });
    expect(put.status, JSON.stringify(put.json)).toBe(200);
  });

  afterAll(async () => {
    await worker?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("holds only the command, its manifest and README, and depends on nothing", async () => {
    expect(files).toEqual(["README.md", "bin/trustgate.mjs", "package.json"]);
    const manifest = JSON.parse(await readFile(join(REPO_ROOT, "cli", "package.json"), "utf8"));
    expect(manifest.dependencies).toBeUndefined();
    expect(manifest.private).toBeUndefined();
    expect(manifest.bin).toEqual({ trustgate: "bin/trustgate.mjs" });
  });

  it("the installed trustgate prints its version", async () => {
    const r = await exec(bin, ["--version"], dir, env);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout.trim()).toBe(JSON.parse(await readFile(join(REPO_ROOT, "cli", "package.json"), "utf8")).version);
  });

  it("the installed trustgate gates on the live Worker's verdicts: 0 when allowed, 1 on a deny", async () => {
    const auth = { ...env, TRUSTGATE_URL: worker.url, TRUSTGATE_TOKEN: worker.clientToken };
    const allowed = await exec(bin, ["check", NGINX, "--policy", POLICY], dir, auth);
    expect(allowed.code, show(allowed)).toBe(0);
    expect(allowed.stdout).toContain(`ALLOW  ${NGINX}`);
    const denied = await exec(bin, ["check", NGINX, BUSYBOX, "--policy", POLICY], dir, auth);
    expect(denied.code, show(denied)).toBe(1);
    expect(denied.stdout).toContain(`DENY   ${BUSYBOX}`);
    expect(denied.stdout).toContain("- STATIC_DENY: no busybox");
  });
});
