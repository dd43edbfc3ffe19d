// End to end: a real docker-registry notifies the Worker on push, and the verdict is recorded with no other call.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pushImage, writeOciImage } from "./lab/oci-image";
import { startRegistry, type NotificationEndpoint, type Registry } from "./lab/registry";
import { startWorker, type WorkerHandle } from "./lab/worker";
import { callApi } from "./lab/api";

// "*" stands for the registry's random port, as in registry-digest.test.ts.
const DEMO_PATTERN = "127.0.0.1:*/demo/*";
const ALLOW = "p";
const DENY = "q";

interface RecordedVerdict {
  id: string;
  decision: "allow" | "deny";
  image: string;
  reference: string;
  digest: string | null;
  policy: { id: string; revision: string };
  reasons: { code: string; message: string }[];
  source: string;
  context: Record<string, unknown> | null;
  evaluatedAt: string;
}

describe("docker-registry notifications reach /v1/hooks/distribution", () => {
  let worker: WorkerHandle;
  let registry: Registry;
  let work: string;

  const api = (method: string, path: string, token: string, body?: unknown) => callApi(worker.url, method, path, token, body);

  /** Polls the history (the only call the test makes) until `until` holds or ~20 s have passed. */
  async function verdictsUntil(policy: string, until: (vs: RecordedVerdict[]) => boolean): Promise<RecordedVerdict[]> {
    const deadline = Date.now() + 20_000;
    for (;;) {
      const { status, json } = await api("GET", `/v1/verdicts?policy=${policy}`, worker.clientToken);
      expect(status, JSON.stringify(json)).toBe(200);
      const verdicts = json.verdicts as RecordedVerdict[];
      if (until(verdicts)) return verdicts;
      if (Date.now() > deadline) {
        throw new Error(
          `no such verdicts for policy ${policy} after 20 s: ${JSON.stringify(verdicts)}\n` +
            `--- registry log ---\n${registry.logs().slice(-3000)}\n--- wrangler log ---\n${worker.logs().slice(-3000)}`,
        );
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  beforeAll(async () => {
    // The registry needs the Worker's URL in its config: the Worker first.
    worker = await startWorker();
    for (const [id, require] of [
      [ALLOW, { type: "allow" }],
      [DENY, { type: "deny", message: "demo images are not for production" }],
    ] as const) {
      const res = await api("PUT", `/v1/policies/${id}`, worker.adminToken, { rules: [{ pattern: DEMO_PATTERN, require: [require] }] });
      expect(res.status, JSON.stringify(res.json)).toBe(200);
    }
    const endpoint = (policy: string): NotificationEndpoint => ({
      name: `trustgate-${policy}`,
      url: `${worker.url}/v1/hooks/distribution?policy=${policy}`,
      headers: { Authorization: [`Bearer ${worker.clientToken}`] },
      timeout: "5s",
      threshold: 1,
      backoff: "500ms",
    });
    registry = await startRegistry({ notifications: { endpoints: [endpoint(ALLOW), endpoint(DENY)] } });
    work = await mkdtemp(join(tmpdir(), "trustgate-e2e-hooks-"));
    await writeOciImage(join(work, "app"), { seed: "hooks-app" });
  });

  afterAll(async () => {
    await registry?.stop();
    await worker?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  let pushed = "";

  it("records the verdict of a skopeo push by digest, with the tag in its context", async () => {
    const started = Date.now();
    pushed = await pushImage(join(work, "app"), `${registry.host}/demo/app:v1`);
    const pushedAt = Date.now();
    const [verdict] = await verdictsUntil(ALLOW, (vs) => vs.some((v) => v.digest === pushed));
    const seenAt = Date.now();
    console.log(`hooks e2e: push took ${pushedAt - started} ms; the verdict was readable ${seenAt - pushedAt} ms after skopeo returned`);

    expect(verdict).toMatchObject({
      decision: "allow",
      image: `${registry.host}/demo/app@${pushed}`,
      reference: `${registry.host}/demo/app@${pushed}`,
      digest: pushed,
      policy: { id: ALLOW },
      source: "hook:distribution",
      context: { hook: "distribution", tag: "v1", eventId: expect.any(String), actor: null },
    });
  });

  it("records a deny under the second endpoint's policy, and the registry still counts it delivered", async () => {
    const [verdict] = await verdictsUntil(DENY, (vs) => vs.some((v) => v.digest === pushed));
    expect(verdict).toMatchObject({ decision: "deny", digest: pushed, source: "hook:distribution", context: { tag: "v1" } });
    expect(verdict!.reasons).toContainEqual(expect.objectContaining({ code: "STATIC_DENY", message: "demo images are not for production" }));
  });

  it("decides only the manifest: the blob pushes before it leave no verdict, and every envelope got a 2xx", async () => {
    // Per endpoint the registry sends events one by one, in order: blobs first, then the manifest.
    const verdicts = await verdictsUntil(ALLOW, (vs) => vs.length >= 1);
    expect(verdicts.map((v) => v.digest)).toEqual([pushed]);
    // A non-2xx answer would be logged as "… response status … unaccepted" and retried.
    expect(registry.logs()).not.toMatch(/unaccepted|error writing events/);
  });

  it("records a second tag of the same image as its own push", async () => {
    const again = await pushImage(join(work, "app"), `${registry.host}/demo/app:v2`);
    expect(again).toBe(pushed);
    const verdicts = await verdictsUntil(ALLOW, (vs) => vs.length >= 2);
    expect(verdicts.map((v) => [v.digest, v.context?.tag])).toEqual([
      [pushed, "v2"],
      [pushed, "v1"],
    ]);
    expect(new Set(verdicts.map((v) => v.context?.eventId)).size).toBe(2);
  });
});
