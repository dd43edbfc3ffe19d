// The GitHub Action (action.yml → action/index.mjs) run as the Actions runner runs it: node on the
// entry point, inputs as INPUT_* variables, GITHUB_OUTPUT a file; against the real Worker.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { withoutProxies } from "./lab/process";
import { REPO_ROOT, startWorker, type WorkerHandle } from "./lab/worker";
import { callApi } from "./lab/api";

const POLICY = "action-gate";
const digest = (n: number) => `sha256:${n.toString(16).padStart(64, "0")}`;
const NGINX = `nginx@${digest(0xa1)}`;
const REDIS = `redis@${digest(0xb2)}`;
const BUSYBOX = `busybox@${digest(0xc3)}`;
const ENTRY = join(REPO_ROOT, "action", "index.mjs");

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
}

/** Parses $GITHUB_OUTPUT as the runner does: name=value lines and name<<DELIMITER blocks. */
function parseOutputs(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    const heredoc = /^([^=<]+)<<(.+)$/.exec(line);
    if (heredoc) {
      const end = lines.indexOf(heredoc[2]!, i + 1);
      out[heredoc[1]!] = lines.slice(i + 1, end).join("\n");
      i = end;
    } else if (line.includes("=")) {
      out[line.slice(0, line.indexOf("="))] = line.slice(line.indexOf("=") + 1);
    }
  }
  return out;
}

describe("the GitHub Action", () => {
  let worker: WorkerHandle;
  let dir: string;
  let n = 0;

  async function action(inputs: Record<string, string>): Promise<Run> {
    const outputFile = join(dir, `output-${++n}`);
    await writeFile(outputFile, "");
    const env = withoutProxies(process.env);
    for (const key of Object.keys(env)) if (key.startsWith("TRUSTGATE_") || key.startsWith("GITHUB_") || key.startsWith("INPUT_")) delete env[key];
    Object.assign(env, { GITHUB_ACTIONS: "true", GITHUB_OUTPUT: outputFile });
    // The runner sets every declared input, with its default when the workflow gives none.
    for (const [name, value] of Object.entries({ context: "", timeout: "30", ...inputs })) env[`INPUT_${name.toUpperCase()}`] = value;
    const r = await new Promise<Omit<Run, "outputs">>((resolve) => {
      execFile(process.execPath, [ENTRY], { cwd: dir, env, timeout: 60_000 }, (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === "number" ? err.code : null) : 0, stdout, stderr });
      });
    });
    return { ...r, outputs: parseOutputs(await readFile(outputFile, "utf8")) };
  }

  const show = (r: Run) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "trustgate-action-"));
    worker = await startWorker();
    const put = await callApi(worker.url, "PUT", `/v1/policies/${POLICY}`, worker.adminToken, {
      rules: [
        { pattern: "docker.io/library/*", require: [{ type: "allow" }] },
        { pattern: "docker.io/library/busybox", require: [{ type: "deny", message: "busybox: use distroless" }] },
      ],
    });
    expect(put.status, JSON.stringify(put.json)).toBe(200);
  });

  afterAll(async () => {
    await worker?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("action.yml runs action/index.mjs on node20 and declares the inputs the entry point reads", async () => {
    const yml = await readFile(join(REPO_ROOT, "action.yml"), "utf8");
    expect(yml).toMatch(/^runs:\n {2}using: node20\n {2}main: action\/index\.mjs$/m);
    for (const name of ["images", "policy", "url", "token", "context", "timeout"]) expect(yml).toMatch(new RegExp(`^  ${name}:$`, "m"));
    for (const name of ["allowed", "denied", "verdicts"]) expect(yml).toMatch(new RegExp(`^  ${name}:\\n    description:`, "m"));
  });

  it("allowed: exit 0, allowed=true and the verdicts as outputs, no annotation, the token masked", async () => {
    const r = await action({
      images: `${NGINX}\n  ${REDIS}\n`,
      policy: POLICY,
      url: worker.url,
      token: worker.clientToken,
      context: "pipeline=build-7\nrepo=acme/api",
    });
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout.split("\n")[0]).toBe(`::add-mask::${worker.clientToken}`);
    expect(r.stdout).toContain(`ALLOW  ${NGINX}`);
    expect(r.stdout).not.toContain("::error");
    expect(r.outputs.allowed).toBe("true");
    expect(r.outputs.denied).toBe("");
    const verdicts = JSON.parse(r.outputs.verdicts!);
    expect(verdicts.map((v: { image: string; decision: string }) => [v.image, v.decision])).toEqual([
      [NGINX, "allow"],
      [REDIS, "allow"],
    ]);
    const history = await callApi(worker.url, "GET", `/v1/verdicts?policy=${POLICY}&limit=50`, worker.clientToken);
    for (let i = 0; i < 50; i++) {
      const recorded = (await callApi(worker.url, "GET", `/v1/verdicts?policy=${POLICY}&limit=50`, worker.clientToken)).json.verdicts.find(
        (v: { id: string }) => v.id === verdicts[0].id,
      );
      if (recorded) {
        expect(recorded.context).toEqual({ pipeline: "build-7", repo: "acme/api" });
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`verdict ${verdicts[0].id} not in the history: ${JSON.stringify(history.json)}`);
  });

  it("denied: exit 1, an ::error annotation per denied image with its reasons, allowed=false", async () => {
    const r = await action({ images: `${NGINX} ${BUSYBOX}`, policy: POLICY, url: worker.url, token: worker.clientToken });
    expect(r.code, show(r)).toBe(1);
    const errors = r.stdout.split("\n").filter((l) => l.startsWith("::error"));
    expect(errors).toEqual([
      `::error title=trustgate denied ${BUSYBOX.replace(/:/g, "%3A")}::${BUSYBOX} is denied by policy ${POLICY}%0ASTATIC_DENY: busybox: use distroless`,
    ]);
    expect(r.outputs.allowed).toBe("false");
    expect(r.outputs.denied).toBe(BUSYBOX);
    expect(JSON.parse(r.outputs.verdicts!)[1]).toMatchObject({ image: BUSYBOX, decision: "deny" });
  });

  it("no answer (a wrong token): exit 2, an ::error annotation, no allowed output", async () => {
    const r = await action({ images: NGINX, policy: POLICY, url: worker.url, token: "not-a-token" });
    expect(r.code, show(r)).toBe(2);
    expect(r.stdout).toMatch(/^::error title=trustgate check failed::.*HTTP 401/m);
    expect(r.outputs.allowed).toBeUndefined();
  });

  it("bad inputs: exit 2 with an annotation naming the input", async () => {
    const r = await action({ images: NGINX, policy: "", url: worker.url, token: worker.clientToken });
    expect(r.code, show(r)).toBe(2);
    expect(r.stdout).toMatch(/^::error title=trustgate%3A bad input::input policy <id> is required/m);
  });
});
