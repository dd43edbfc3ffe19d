// End to end: the real cluster shim (node shim/server.mjs) in front of the real Worker, then the failure policy once the Worker is gone.
// Each shim runs with the env of a Deployment rendered from deploy/kubernetes/examples (kubectl kustomize), changed only where
// loopback must differ: trustgate's URL and policy, the listening address, the Secrets' files, plain HTTP.
import { randomUUID } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort, waitForHttp } from "./lab/ports";
import { startProcess, type LabProcess } from "./lab/process";
import { REPO_ROOT, startWorker, type WorkerHandle } from "./lab/worker";
import { renderExample, shimEnv } from "../../shim/testing/kustomize.mjs";

const POLICY_ID = "p";
const POLICY = {
  rules: [
    { pattern: "docker.io/library/*", require: [{ type: "allow" }] },
    { pattern: "docker.io/library/busybox", require: [{ type: "deny", message: "no busybox" }] },
  ],
};
const NGINX = `nginx@sha256:${"a1".repeat(32)}`;
/** The token the API server sends to the shim (the trustgate-shim-caller Secret's file). */
const CALLER_TOKEN = "e2e-caller-token";
const BUSYBOX = `busybox@sha256:${"b2".repeat(32)}`;

interface Shim {
  url: string;
  process: LabProcess;
}

interface AdmissionAnswer {
  apiVersion: string;
  kind: string;
  response: {
    uid: string;
    allowed: boolean;
    status?: { code?: number; message?: string };
    warnings?: string[];
    patch?: string;
    patchType?: string;
  };
}

function podReview(images: string[], apiVersion = "admission.k8s.io/v1") {
  const uid = randomUUID();
  return {
    uid,
    review: {
      apiVersion,
      kind: "AdmissionReview",
      request: {
        uid,
        kind: { group: "", version: "v1", kind: "Pod" },
        resource: { group: "", version: "v1", resource: "pods" },
        requestKind: { group: "", version: "v1", kind: "Pod" },
        requestResource: { group: "", version: "v1", resource: "pods" },
        name: "web",
        namespace: "shop",
        operation: "CREATE",
        userInfo: { username: "system:serviceaccount:kube-system:replicaset-controller", groups: ["system:serviceaccounts"] },
        object: {
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name: "web", namespace: "shop" },
          spec: { containers: images.map((image, i) => ({ name: `c${i}`, image })) },
        },
        oldObject: null,
        dryRun: false,
        options: { apiVersion: "meta.k8s.io/v1", kind: "CreateOptions" },
      },
    },
  };
}

async function admit(shim: Shim, path: string, review: unknown): Promise<AdmissionAnswer> {
  const response = await fetch(`${shim.url}${path}`, {
    method: "POST",
    headers: { "Content-Type": "application/json", Authorization: `Bearer ${CALLER_TOKEN}` },
    body: JSON.stringify(review),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  expect(response.status, text).toBe(200);
  return JSON.parse(text) as AdmissionAnswer;
}

describe("the cluster shim in front of the Worker", () => {
  let worker: WorkerHandle;
  let dir: string;
  const shims: Shim[] = [];
  let failShim: Shim;
  let ignoreShim: Shim;
  let unknownPolicyShim: Shim;
  let openShim: Shim;

  /** The recorded context of the verdicts for one review's uid (written after the answer: polled). */
  async function recordedContexts(uid: string): Promise<Record<string, unknown>[]> {
    for (let i = 0; i < 100; i++) {
      const res = await fetch(`${worker.url}/v1/verdicts?policy=${POLICY_ID}&limit=100`, {
        headers: { Authorization: `Bearer ${worker.clientToken}` },
      });
      const body = (await res.json()) as { verdicts: { context: Record<string, unknown> | null }[] };
      const mine = body.verdicts.filter((v) => v.context?.uid === uid).map((v) => v.context!);
      if (mine.length > 0) return mine;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no verdict recorded for review ${uid}`);
  }

  /** The shim container's env of examples/<variant> as kubectl kustomize renders it. */
  async function renderedEnv(variant: string): Promise<Record<string, string>> {
    return shimEnv((await renderExample(variant)).docs);
  }

  /**
   * Starts the shim with a rendered Deployment's env, replacing only what differs on loopback: the Secrets' mount
   * paths become temporary files with the same contents' roles, no TLS (the API server's HTTPS is tested in
   * shim/test/tls.test.mjs), no shutdown delay (no endpoints controller to wait for here).
   */
  async function startShim(name: string, rendered: Record<string, string>, overrides: Record<string, string> = {}): Promise<Shim> {
    const port = await freePort();
    const url = `http://127.0.0.1:${port}`;
    const { TLS_CERT_FILE: _cert, TLS_KEY_FILE: _key, ...env } = rendered;
    const tokenFile = join(dir, `${name}.token`);
    await writeFile(tokenFile, worker.clientToken);
    const loopback: Record<string, string> = {
      HOST: "127.0.0.1",
      PORT: String(port),
      TRUSTGATE_URL: worker.url,
      TRUSTGATE_POLICY: POLICY_ID,
      TRUSTGATE_TOKEN_FILE: tokenFile,
      SHUTDOWN_DELAY_MS: "0",
    };
    if (env.CALLER_TOKEN_FILE !== undefined) {
      loopback.CALLER_TOKEN_FILE = join(dir, `${name}.caller`);
      await writeFile(loopback.CALLER_TOKEN_FILE, CALLER_TOKEN);
    }
    const proc = startProcess({
      command: process.execPath,
      args: [join(REPO_ROOT, "shim", "server.mjs")],
      cwd: REPO_ROOT,
      // Only what the shim needs: no proxies, no tokens from the test's environment.
      env: { PATH: process.env.PATH ?? "", ...env, ...loopback, ...overrides },
      logFile: join(dir, `${name}.log`),
    });
    const shim = { url, process: proc };
    shims.push(shim);
    try {
      const response = await waitForHttp(`${url}/healthz`, {
        timeoutMs: 15_000,
        accept: (r) => r.status === 200,
        abortIf: () => {
          const exited = proc.exited();
          return exited === undefined ? undefined : `shim ${name} exited (${exited})`;
        },
      });
      await response.body?.cancel();
    } catch (err) {
      throw new Error(`${err instanceof Error ? err.message : String(err)}\n--- shim ${name} output ---\n${proc.tail(40)}`);
    }
    return shim;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "trustgate-shim-e2e-"));
    // The lab's one client token (client-1) is the shims' token: its reviews come from the API server.
    worker = await startWorker({ vars: { ADMISSION_CALLERS: "client-1" } });
    const put = await fetch(`${worker.url}/v1/policies/${POLICY_ID}`, {
      method: "PUT",
      headers: { Authorization: `Bearer ${worker.adminToken}`, "Content-Type": "application/json" },
      body: JSON.stringify(POLICY),
    });
    expect(put.status, await put.text()).toBe(200);
    // Fail and a caller token; Ignore (components/failure-ignore); no caller credentials (components/unauthenticated-callers).
    const [failEnv, ignoreEnv, openEnv] = await Promise.all(["shim-cert-manager", "shim-trial", "shim-managed-cluster"].map(renderedEnv));
    expect([failEnv!.FAILURE_POLICY, ignoreEnv!.FAILURE_POLICY, openEnv!.ALLOW_UNAUTHENTICATED_CALLERS]).toEqual(["Fail", "Ignore", "true"]);
    expect(openEnv!.CALLER_TOKEN_FILE).toBeUndefined();
    failShim = await startShim("fail", failEnv!);
    ignoreShim = await startShim("ignore", ignoreEnv!);
    unknownPolicyShim = await startShim("unknown-policy", failEnv!, { TRUSTGATE_POLICY: "no-such-policy" });
    openShim = await startShim("open", openEnv!);
  });

  afterAll(async () => {
    await Promise.all(shims.map((s) => s.process.stop()));
    await worker?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("allows a digest-pinned nginx Pod, with the uid", async () => {
    const { uid, review } = podReview([NGINX]);
    const answer = await admit(failShim, "/validate", review);
    expect(answer.apiVersion).toBe("admission.k8s.io/v1");
    expect(answer.kind).toBe("AdmissionReview");
    expect(answer.response.uid).toBe(uid);
    expect(answer.response.allowed, JSON.stringify(answer)).toBe(true);
  });

  it("denies a busybox Pod with the policy's message, with the uid", async () => {
    const { uid, review } = podReview([NGINX, BUSYBOX]);
    const answer = await admit(failShim, "/validate", review);
    expect(answer.response.uid).toBe(uid);
    expect(answer.response.allowed).toBe(false);
    expect(answer.response.status?.message).toContain("no busybox");
    expect(answer.response.status?.message).toContain("busybox");
    expect(answer.response.status?.message).not.toContain("trustgate-shim");
  });

  it("refuses a caller without the caller token with 401, before asking trustgate", async () => {
    const { review } = podReview([NGINX]);
    const attempts: Record<string, string>[] = [{}, { Authorization: `Bearer ${worker.clientToken}` }];
    for (const headers of attempts) {
      const response = await fetch(`${failShim.url}/validate`, {
        method: "POST",
        headers: { "Content-Type": "application/json", ...headers },
        body: JSON.stringify(review),
        signal: AbortSignal.timeout(30_000),
      });
      expect(response.status).toBe(401);
      expect(((await response.json()) as { error: { code: string } }).error.code).toBe("UNAUTHORIZED");
    }
  });

  it("the history records the namespace and user of a review the shim authenticated; from an open shim, as claimed", async () => {
    const trusted = podReview([NGINX]);
    expect((await admit(failShim, "/validate", trusted.review)).response.allowed).toBe(true);
    const [fact] = await recordedContexts(trusted.uid);
    expect(fact).toMatchObject({ namespace: "shop", user: "system:serviceaccount:kube-system:replicaset-controller" });
    expect(fact).not.toHaveProperty("claimed");

    const open = podReview([NGINX]);
    const response = await fetch(`${openShim.url}/validate`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(open.review),
      signal: AbortSignal.timeout(30_000),
    });
    expect(response.status).toBe(200);
    const [claimed] = await recordedContexts(open.uid);
    expect(claimed).not.toHaveProperty("namespace");
    expect(claimed).not.toHaveProperty("user");
    expect(claimed?.claimed).toMatchObject({ namespace: "shop", user: "system:serviceaccount:kube-system:replicaset-controller" });
  });

  it("a 3 MiB UPDATE review (object and old version) goes through the shim and is decided", async () => {
    const { uid, review } = podReview([NGINX]);
    const request = review.request as Record<string, any>;
    request.operation = "UPDATE";
    request.object.metadata.annotations = { pad: "n".repeat(1.5 * 1024 * 1024) };
    request.oldObject = { ...request.object, metadata: { name: "web", namespace: "shop", annotations: { pad: "o".repeat(1.5 * 1024 * 1024) } } };
    expect(JSON.stringify(review).length).toBeGreaterThan(3 * 1024 * 1024);
    const answer = await admit(failShim, "/validate", review);
    expect(answer.response.uid).toBe(uid);
    expect(answer.response.allowed, JSON.stringify(answer)).toBe(true);
  });

  it("passes a v1beta1 review through with its apiVersion", async () => {
    const { uid, review } = podReview([NGINX], "admission.k8s.io/v1beta1");
    const answer = await admit(ignoreShim, "/validate", review);
    expect(answer.apiVersion).toBe("admission.k8s.io/v1beta1");
    expect(answer.response.uid).toBe(uid);
    expect(answer.response.allowed).toBe(true);
  });

  it("/mutate asks trustgate with mutate=true and returns its answer", async () => {
    const { uid, review } = podReview([NGINX]);
    const answer = await admit(failShim, "/mutate", review);
    expect(answer.response.uid).toBe(uid);
    expect(answer.response.allowed).toBe(true);
    // Already pinned by digest: nothing to patch.
    expect(answer.response.patch).toBeUndefined();
  });

  it("an unknown policy (trustgate's 404) is a failure: denied under Fail, naming the policy", async () => {
    const { uid, review } = podReview([NGINX]);
    const answer = await admit(unknownPolicyShim, "/validate", review);
    expect(answer.response.uid).toBe(uid);
    expect(answer.response.allowed).toBe(false);
    expect(answer.response.status?.message).toMatch(/trustgate answered HTTP 404 \(POLICY_NOT_FOUND: no policy with ID "no-such-policy"\)/);
  });

  it("once the Worker is gone: Fail denies, Ignore admits with a warning, both naming trustgate", async () => {
    await worker.stop();

    const denied = podReview([NGINX]);
    const failAnswer = await admit(failShim, "/validate", denied.review);
    expect(failAnswer.response.uid).toBe(denied.uid);
    expect(failAnswer.response.allowed).toBe(false);
    expect(failAnswer.response.status?.code).toBe(503);
    expect(failAnswer.response.status?.message).toMatch(/trustgate is unreachable \(ECONNREFUSED/);
    expect(failAnswer.response.status?.message).toMatch(/failure policy is Fail/);

    const admitted = podReview([BUSYBOX]);
    const ignoreAnswer = await admit(ignoreShim, "/validate", admitted.review);
    expect(ignoreAnswer.response.uid).toBe(admitted.uid);
    expect(ignoreAnswer.response.allowed).toBe(true);
    expect(ignoreAnswer.response.warnings).toHaveLength(1);
    expect(ignoreAnswer.response.warnings?.[0]).toMatch(/trustgate is unreachable .*failure policy Ignore/);

    // The shims themselves stay healthy: their liveness does not depend on trustgate.
    const health = await fetch(`${failShim.url}/healthz`);
    expect(health.status).toBe(200);
  });
});
