// End to end: `trustgate preview`, run as a real process against the real Worker on loopback. The
// Worker replays 2 images per request here (PREVIEW_IMAGES_PER_REQUEST), so 5 images make a job the
// CLI polls, with a progress line.
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withoutProxies } from "./lab/process";
import { REPO_ROOT, startWorker, type WorkerHandle } from "./lab/worker";
import { callApi } from "./lab/api";

const CLI = join(REPO_ROOT, "cli", "bin", "trustgate.mjs");
const POLICY = "cli-preview";
const digest = (n: number) => `sha256:${n.toString(16).padStart(64, "0")}`;
const IMAGES = ["nginx", "busybox", "redis", "alpine", "caddy"].map((name, i) => `${name}@${digest(0xa0 + i)}`);

const CURRENT = {
  rules: [
    { pattern: "docker.io/library/*", require: [{ type: "allow" }] },
    { pattern: "docker.io/library/busybox", require: [{ type: "deny", message: "busybox is banned" }] },
  ],
};
/** nginx newly denied, busybox newly allowed. */
const CANDIDATE_YAML = `rules:
  - pattern: "docker.io/library/*"
    require: [{ type: allow }]
  - pattern: docker.io/library/nginx
    require: [{ type: deny, message: "nginx is retired: use caddy" }]
`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(args: string[], input?: string): Promise<Run> {
  const base = withoutProxies(process.env);
  for (const key of Object.keys(base)) if (key.startsWith("TRUSTGATE_") || key.startsWith("GITHUB_") || key === "FORCE_COLOR") delete base[key];
  return new Promise((resolve) => {
    const child = execFile(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, env: { ...base, NO_COLOR: "1" }, timeout: 60_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === "number" ? err.code : null) : 0, stdout, stderr });
    });
    child.stdin?.end(input ?? "");
  });
}

const show = (r: Run) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

describe("trustgate preview (CLI)", () => {
  let worker: WorkerHandle;
  let dir: string;
  let admin: string[];

  beforeAll(async () => {
    worker = await startWorker({ vars: { PREVIEW_IMAGES_PER_REQUEST: "2" } });
    admin = ["--policy", POLICY, "--url", worker.url, "--token", worker.adminToken];
    dir = await mkdtemp(join(tmpdir(), "trustgate-preview-"));
    await writeFile(join(dir, "candidate.yaml"), CANDIDATE_YAML);
    await writeFile(join(dir, "same.json"), JSON.stringify(CURRENT));
    await writeFile(join(dir, "invalid.yaml"), "rules:\n  - pattern: docker.io/library/*\n    require: [{ type: cosign }]\n");
    const put = await callApi(worker.url, "PUT", `/v1/policies/${POLICY}`, worker.adminToken, CURRENT);
    expect(put.status, JSON.stringify(put.json)).toBe(200);
    const decided = await callApi(worker.url, "POST", "/v1/decisions:batch", worker.clientToken, { policy: POLICY, images: IMAGES, context: { namespace: "web" } });
    expect(decided.status).toBe(200);
    // Verdicts are written after the response.
    for (let i = 0; i < 100; i++) {
      const res = await callApi(worker.url, "GET", `/v1/verdicts?policy=${POLICY}`, worker.clientToken);
      if (res.json.verdicts.length >= IMAGES.length) break;
      await new Promise((r) => setTimeout(r, 100));
    }
  });

  afterAll(async () => {
    await worker?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("prints what would change, polls the job with a progress line, and exits 1 when an image would become denied", async () => {
    const r = await cli(["preview", join(dir, "candidate.yaml"), ...admin]);
    expect(r.code, show(r)).toBe(1);
    expect(r.stderr).toMatch(/^preview: 0\/5 images replayed$/m);
    expect(r.stdout).toContain(`replayed 5 image(s) from 5 verdict(s) recorded`);
    expect(r.stdout).toMatch(new RegExp(`NEWLY DENIED   ${IMAGES[0]!.replace(/[@]/g, "\\$&")}`));
    expect(r.stdout).toContain("STATIC_DENY: nginx is retired: use caddy");
    expect(r.stdout).toMatch(/NEWLY ALLOWED  busybox@/);
    expect(r.stdout).toContain("context   namespace=web");
    expect(r.stdout.indexOf("NEWLY DENIED")).toBeLessThan(r.stdout.indexOf("NEWLY ALLOWED"));
    expect(r.stdout).toContain("1 newly denied, 1 newly allowed, 3 unchanged, 0 not replayed");
  });

  it("exits 0 when nothing would become denied, and reads the policy from stdin with -", async () => {
    const r = await cli(["preview", "-", ...admin], JSON.stringify(CURRENT));
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toContain("0 newly denied, 0 newly allowed, 5 unchanged, 0 not replayed");
    expect(r.stdout).not.toContain("NEWLY");
  });

  it("--json prints the service's answer; --limit bounds the images", async () => {
    const r = await cli(["preview", join(dir, "candidate.yaml"), ...admin, "--json", "--limit", "2"]);
    expect([0, 1], show(r)).toContain(r.code);
    const answer = JSON.parse(r.stdout);
    expect(Object.keys(answer)).toEqual(["candidate", "window", "summary", "changes"]);
    expect(answer.window.images).toBe(2);
  });

  it("exits 2 on an invalid candidate, printing the importer's issues", async () => {
    const r = await cli(["preview", join(dir, "invalid.yaml"), ...admin]);
    expect(r.code, show(r)).toBe(2);
    expect(r.stderr).toContain("INVALID_POLICY");
    expect(r.stderr).toMatch(/^ {2}rules\[0\]\.require\[0\]/m);
    expect(r.stdout).toBe("");
  });

  it("exits 2 with a client token (the preview is for admins), a bad --since, or a file that is not there", async () => {
    const client = await cli(["preview", join(dir, "candidate.yaml"), "--policy", POLICY, "--url", worker.url, "--token", worker.clientToken]);
    expect(client.code, show(client)).toBe(2);
    expect(client.stderr).toContain("HTTP 403 FORBIDDEN");
    const since = await cli(["preview", join(dir, "candidate.yaml"), ...admin, "--since", "yesterday"]);
    expect(since.code, show(since)).toBe(2);
    expect(since.stderr).toContain("INVALID_QUERY");
    const missing = await cli(["preview", join(dir, "nope.yaml"), ...admin]);
    expect(missing.code, show(missing)).toBe(2);
    expect(missing.stderr).toContain("cannot read the policy file");
  });

  it("exits 2 on usage errors", async () => {
    const noFile = await cli(["preview", ...admin]);
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toContain("exactly one policy file");
    const context = await cli(["preview", join(dir, "candidate.yaml"), ...admin, "--context", "a=b"]);
    expect(context.code).toBe(2);
    expect(context.stderr).toContain("--context is not an option of preview");
  });
});
