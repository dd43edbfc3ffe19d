// End to end: the `trustgate check` CI command, run as a real process against the real Worker on loopback.
import { execFile } from "node:child_process";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "./lab/ports";
import { withoutProxies } from "./lab/process";
import { REPO_ROOT, startWorker, type WorkerHandle } from "./lab/worker";
import { callApi } from "./lab/api";

const CLI = join(REPO_ROOT, "cli", "bin", "trustgate.mjs");
const POLICY = "cli-gate";
const AUDIT_POLICY = "cli-audit";
const DENY_MESSAGE = "busybox: 100% banned, use distroless";

const digest = (n: number) => `sha256:${n.toString(16).padStart(64, "0")}`;
const NGINX = `nginx@${digest(0xa1)}`;
const REDIS = `redis@${digest(0xb2)}`;
const BUSYBOX = `busybox@${digest(0xc3)}`;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node cli/bin/trustgate.mjs ...args` with a clean environment plus `env`. */
function cli(args: string[], env: Record<string, string> = {}): Promise<Run> {
  const base = withoutProxies(process.env);
  for (const key of Object.keys(base)) {
    if (key.startsWith("TRUSTGATE_") || key.startsWith("GITHUB_") || key === "NO_COLOR" || key === "FORCE_COLOR") delete base[key];
  }
  return new Promise((resolve) => {
    execFile(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, env: { ...base, ...env }, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === "number" ? err.code : null) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

const show = (r: Run) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

/** A loopback HTTP server with a canned behaviour, for the service failures the Worker never shows. */
async function stubServer(handler: Parameters<typeof createServer>[1]): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe("trustgate check (CLI)", () => {
  let worker: WorkerHandle;
  let auth: string[];

  const api = (method: string, path: string, token: string, body?: unknown) => callApi(worker.url, method, path, token, body);

  beforeAll(async () => {
    worker = await startWorker();
    auth = ["--url", worker.url, "--token", worker.clientToken];
    const put = await api("PUT", `/v1/policies/${POLICY}`, worker.adminToken, {
      mode: "enforce",
      rules: [
        { pattern: "docker.io/library/*", require: [{ type: "allow" }] },
        { pattern: "docker.io/library/busybox", require: [{ type: "deny", message: DENY_MESSAGE }] },
      ],
    });
    expect(put.status, JSON.stringify(put.json)).toBe(200);
    const audit = await api("PUT", `/v1/policies/${AUDIT_POLICY}`, worker.adminToken, {
      mode: "audit",
      rules: [{ pattern: "docker.io/library/*", require: [{ type: "deny", message: "would be denied" }] }],
    });
    expect(audit.status, JSON.stringify(audit.json)).toBe(200);
  });

  afterAll(async () => {
    await worker?.stop();
  });

  it("exits 0 when every image is allowed, printing each verdict with its reasons", async () => {
    const r = await cli(["check", NGINX, REDIS, "--policy", POLICY, ...auth]);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toContain(`ALLOW  ${NGINX}`);
    expect(r.stdout).toContain(`ALLOW  ${REDIS}`);
    expect(r.stdout).toContain(digest(0xa1));
    expect(r.stdout).toContain("docker.io/library/*");
    expect(r.stdout).toContain("STATIC_ALLOW");
    expect(r.stdout).toMatch(/policy cli-gate \(revision [0-9a-f]+\): 2 checked, 2 allowed, all allowed/);
    expect(r.stdout).not.toContain("::error");
  });

  it("exits 1 when one image is denied, with the reason code and message", async () => {
    const r = await cli(["check", NGINX, BUSYBOX, "--policy", POLICY, ...auth]);
    expect(r.code, show(r)).toBe(1);
    expect(r.stdout).toContain(`ALLOW  ${NGINX}`);
    expect(r.stdout).toContain(`DENY   ${BUSYBOX}`);
    expect(r.stdout).toContain(`rule      docker.io/library/busybox`);
    expect(r.stdout).toContain(`- STATIC_DENY: ${DENY_MESSAGE}`);
    expect(r.stdout).toContain("2 checked, 1 allowed, 1 denied");
  });

  it("takes URL and token from TRUSTGATE_URL and TRUSTGATE_TOKEN", async () => {
    const r = await cli(["check", BUSYBOX, "-p", POLICY], { TRUSTGATE_URL: `${worker.url}/`, TRUSTGATE_TOKEN: worker.clientToken });
    expect(r.code, show(r)).toBe(1);
    expect(r.stdout).toContain("STATIC_DENY");
  });

  it("audit mode allows (exit 0) and still prints the deny reasons", async () => {
    const r = await cli(["check", BUSYBOX, "--policy", AUDIT_POLICY, ...auth]);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toContain(`ALLOW  ${BUSYBOX} (audit mode)`);
    expect(r.stdout).toContain("would be denied");
  });

  it("--json prints the verdicts in input order, and --context is recorded with them", async () => {
    const r = await cli(["check", BUSYBOX, NGINX, "--policy", POLICY, "--json", "--context", "pipeline=build-42", "-c", "repo=acme/api", ...auth]);
    expect(r.code, show(r)).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out).toMatchObject({ policy: POLICY, allowed: false });
    expect(out.verdicts.map((v: { image: string; decision: string }) => [v.image, v.decision])).toEqual([
      [BUSYBOX, "deny"],
      [NGINX, "allow"],
    ]);
    expect(out.verdicts[0].reasons[0]).toMatchObject({ code: "STATIC_DENY", message: DENY_MESSAGE });
    expect(out.verdicts[0].digest).toBe(digest(0xc3));

    const id = out.verdicts[0].id as string;
    let recorded: any;
    for (let i = 0; i < 50 && !recorded; i++) {
      const history = await api("GET", `/v1/verdicts?policy=${POLICY}&decision=deny&limit=50`, worker.clientToken);
      recorded = history.json.verdicts.find((v: { id: string }) => v.id === id);
      if (!recorded) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(recorded).toMatchObject({ source: "batch", context: { pipeline: "build-42", repo: "acme/api" } });
  });

  it("splits more images than one batch allows (256) into several requests, keeping the order", async () => {
    const images = Array.from({ length: 300 }, (_, i) => `nginx@${digest(0x1000 + i)}`);
    const r = await cli(["check", ...images, "--policy", POLICY, "--json", ...auth]);
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.allowed).toBe(true);
    expect(out.verdicts.map((v: { image: string }) => v.image)).toEqual(images);
  });

  it("exits 2 for an unknown policy, with the service's error", async () => {
    const r = await cli(["check", NGINX, "--policy", "no-such-policy", ...auth]);
    expect(r.code, show(r)).toBe(2);
    expect(r.stderr).toContain("HTTP 404 POLICY_NOT_FOUND");
    expect(r.stdout).toBe("");
  });

  it("exits 2 for an invalid image reference (HTTP 400)", async () => {
    const r = await cli(["check", "Nginx", "--policy", POLICY, ...auth]);
    expect(r.code, show(r)).toBe(2);
    expect(r.stderr).toContain("HTTP 400 INVALID_REFERENCE");
  });

  it("exits 2 without a token (401), saying how to give one", async () => {
    const r = await cli(["check", NGINX, "--policy", POLICY, "--url", worker.url]);
    expect(r.code, show(r)).toBe(2);
    expect(r.stderr).toContain("HTTP 401 UNAUTHORIZED");
    expect(r.stderr).toContain("TRUSTGATE_TOKEN");
  });

  it("exits 2 with a wrong token (401)", async () => {
    const r = await cli(["check", NGINX, "--policy", POLICY, "--url", worker.url, "--token", "not-a-token"]);
    expect(r.code, show(r)).toBe(2);
    expect(r.stderr).toContain("HTTP 401");
    expect(r.stderr).not.toContain("not-a-token");
  });

  it("exits 2 when the service is down (a closed loopback port)", async () => {
    const port = await freePort();
    const r = await cli(["check", NGINX, "--policy", POLICY, "--url", `http://127.0.0.1:${port}`, "--token", "t"]);
    expect(r.code, show(r)).toBe(2);
    expect(r.stderr).toContain(`cannot reach http://127.0.0.1:${port}/v1/decisions:batch`);
    expect(r.stderr).toContain("ECONNREFUSED");
  });

  it("exits 2 when the service does not answer within --timeout", async () => {
    const stub = await stubServer(() => {
      /* never answers */
    });
    try {
      const started = Date.now();
      const r = await cli(["check", NGINX, "--policy", POLICY, "--url", stub.url, "--token", "t", "--timeout", "0.5"]);
      expect(r.code, show(r)).toBe(2);
      expect(r.stderr).toContain("no answer from");
      expect(r.stderr).toContain("within 0.5 s");
      expect(Date.now() - started).toBeLessThan(20_000);
    } finally {
      await stub.close();
    }
  });

  const badAnswers: [string, number, string, string, string][] = [
    ["a 502 with an HTML page", 502, "text/html", "<html>bad gateway</html>", "HTTP 502"],
    ["a 200 that is not JSON", 200, "text/plain", "ok", "not JSON"],
    ["a 200 without verdicts", 200, "application/json", '{"result":"allow"}', "without one verdict per image"],
    ["a 200 with a malformed verdict", 200, "application/json", '{"verdicts":[{"decision":"allow","allowed":false,"reasons":[]}]}', "malformed verdict"],
    ["a redirect", 302, "text/plain", "", "HTTP 302"],
  ];
  for (const [name, status, type, body, expected] of badAnswers) {
    it(`exits 2 on ${name}`, async () => {
      const stub = await stubServer((_req, res) => {
        res.writeHead(status, { "content-type": type, ...(status === 302 ? { location: "http://127.0.0.1:1/" } : {}) });
        res.end(body);
      });
      try {
        const r = await cli(["check", NGINX, "--policy", POLICY, "--url", stub.url, "--token", "t"]);
        expect(r.code, show(r)).toBe(2);
        expect(r.stderr).toContain(expected);
      } finally {
        await stub.close();
      }
    });
  }

  const usageErrors: [string, string[], string][] = [
    ["no command", [], "no command given"],
    ["an unknown command", ["verify", NGINX], 'unknown command "verify"'],
    ["no images", ["check", "--policy", POLICY], "at least one image"],
    ["no --policy", ["check", NGINX], "--policy <id> is required"],
    ["an unknown option", ["check", NGINX, "--policy", POLICY, "--bogus"], "--bogus"],
    ["a --context without =", ["check", NGINX, "--policy", POLICY, "--context", "pipeline"], "expected key=value"],
    ["a --context key twice", ["check", NGINX, "--policy", POLICY, "-c", "a=1", "-c", "a=2"], '"a" is given twice'],
    ["a bad --timeout", ["check", NGINX, "--policy", POLICY, "--timeout", "soon"], "--timeout"],
    ["a URL that is not http(s)", ["check", NGINX, "--policy", POLICY, "--url", "ftp://127.0.0.1/"], "must be http or https"],
  ];
  for (const [name, args, message] of usageErrors) {
    it(`exits 2 on a usage error: ${name}`, async () => {
      const r = await cli(args.includes("--url") ? args : [...args, "--url", worker.url, "--token", worker.clientToken]);
      expect(r.code, show(r)).toBe(2);
      expect(r.stderr).toContain(message);
      expect(r.stderr).toContain("trustgate --help");
      expect(r.stdout).toBe("");
    });
  }

  it("exits 2 without a service URL", async () => {
    const r = await cli(["check", NGINX, "--policy", POLICY]);
    expect(r.code, show(r)).toBe(2);
    expect(r.stderr).toContain("TRUSTGATE_URL");
  });

  it("--help prints the usage and exits 0", async () => {
    const r = await cli(["--help"]);
    expect(r.code, show(r)).toBe(0);
    expect(r.stdout).toContain("trustgate check <image>... --policy <id>");
    expect(r.stdout).toContain("Exit status:");
  });

  it("writes GitHub ::error annotations for denies when GITHUB_ACTIONS=true, escaped", async () => {
    const r = await cli(["check", NGINX, BUSYBOX, "--policy", POLICY, ...auth], { GITHUB_ACTIONS: "true" });
    expect(r.code, show(r)).toBe(1);
    const lines = r.stdout.split("\n").filter((l) => l.startsWith("::"));
    const hex = digest(0xc3).slice("sha256:".length);
    // Title: ':' and ',' escaped as properties; message: '%' and the newline between lines escaped.
    expect(lines).toEqual([
      `::error title=trustgate denied busybox@sha256%3A${hex}::${BUSYBOX} is denied by policy ${POLICY}%0ASTATIC_DENY: busybox: 100%25 banned, use distroless`,
    ]);
  });

  it("keeps stdout valid JSON under GitHub Actions (annotations go to stderr with --json)", async () => {
    const r = await cli(["check", BUSYBOX, "--policy", POLICY, "--json", ...auth], { GITHUB_ACTIONS: "true" });
    expect(r.code, show(r)).toBe(1);
    expect(JSON.parse(r.stdout).verdicts[0].decision).toBe("deny");
    expect(r.stderr).toMatch(/^::error title=trustgate denied busybox@sha256%3A/m);
  });

  it("annotates a service error under GitHub Actions too", async () => {
    const port = await freePort();
    const r = await cli(["check", NGINX, "--policy", POLICY, "--url", `http://127.0.0.1:${port}`, "--token", "t"], { GITHUB_ACTIONS: "true" });
    expect(r.code, show(r)).toBe(2);
    expect(r.stdout).toMatch(/^::error title=trustgate check failed::cannot reach http:\/\/127\.0\.0\.1:\d+\/v1\/decisions:batch/m);
  });
});
