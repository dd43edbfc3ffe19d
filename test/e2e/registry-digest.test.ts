// End to end: decisions against a real loopback registry name the digest the registry serves for the tag.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pushImage, registryDigest, writeOciImage } from "./lab/oci-image";
import { startRegistry, type Registry } from "./lab/registry";
import { startWorker, type WorkerHandle } from "./lab/worker";
import { callApi, type ApiVerdict as Verdict } from "./lab/api";

// "*" stands for the registry's random port; kept in one place while pattern syntax settles.
const DEMO_PATTERN = "127.0.0.1:*/demo/*";
const ALLOW_POLICY = "e2e-allow";
const DENY_POLICY = "e2e-deny";

describe("decisions resolve tags to the registry's digest", () => {
  let registry: Registry;
  let worker: WorkerHandle;
  let work: string;
  const pushed: { v1: string; v2: string } = { v1: "", v2: "" };
  let allowRevision = "";

  const api = (method: string, path: string, token: string, body?: unknown) => callApi(worker.url, method, path, token, body);

  async function decideOk(image: string, policy: string): Promise<Verdict> {
    const { status, json } = await api("POST", "/v1/decisions", worker.clientToken, { image, policy });
    expect(status, JSON.stringify(json)).toBe(200);
    return json as Verdict;
  }

  beforeAll(async () => {
    registry = await startRegistry();
    work = await mkdtemp(join(tmpdir(), "trustgate-e2e-digest-"));
    await writeOciImage(join(work, "one"), { seed: "registry-digest-one" });
    await writeOciImage(join(work, "two"), { seed: "registry-digest-two" });
    pushed.v1 = await pushImage(join(work, "one"), `${registry.host}/demo/app:v1`);
    pushed.v2 = await pushImage(join(work, "two"), `${registry.host}/demo/app:v2`);
    // No tag cache, so a re-pushed tag is seen on the next decision.
    worker = await startWorker({ vars: { TAG_CACHE_TTL_SECONDS: "0" } });
  });

  afterAll(async () => {
    await worker?.stop();
    await registry?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("stores an allow policy and a deny policy for the demo repository", async () => {
    const allow = await api("PUT", `/v1/policies/${ALLOW_POLICY}`, worker.adminToken, {
      mode: "enforce",
      rules: [{ pattern: DEMO_PATTERN, require: [{ type: "allow" }] }],
    });
    expect(allow.status, JSON.stringify(allow.json)).toBe(200);
    expect(allow.json).toMatchObject({ id: ALLOW_POLICY, format: "native" });
    expect(typeof allow.json.revision).toBe("string");
    expect(allow.json.revision.length).toBeGreaterThan(0);
    allowRevision = allow.json.revision;

    const deny = await api("PUT", `/v1/policies/${DENY_POLICY}`, worker.adminToken, {
      mode: "enforce",
      rules: [{ pattern: DEMO_PATTERN, require: [{ type: "deny", message: "no demo images" }] }],
    });
    expect(deny.status, JSON.stringify(deny.json)).toBe(200);
    expect(deny.json).toMatchObject({ id: DENY_POLICY });
    expect(deny.json.revision).not.toBe(allowRevision);
  });

  it("allows v1 and v2 with the digests skopeo pushed", async () => {
    expect(pushed.v1).not.toBe(pushed.v2);
    for (const tag of ["v1", "v2"] as const) {
      const image = `${registry.host}/demo/app:${tag}`;
      const verdict = await decideOk(image, ALLOW_POLICY);
      expect(verdict).toMatchObject({
        decision: "allow",
        allowed: true,
        image,
        reference: image,
        digest: pushed[tag],
        policy: { id: ALLOW_POLICY, revision: allowRevision },
      });
      // The registry agrees: the digest is the tag's Docker-Content-Digest.
      expect(await registryDigest(registry.url, "demo/app", tag)).toBe(verdict.digest);
    }
  });

  it("follows a tag that was re-pushed with other content", async () => {
    const moved = await pushImage(join(work, "two"), `${registry.host}/demo/app:v1`);
    expect(moved).toBe(pushed.v2);
    const verdict = await decideOk(`${registry.host}/demo/app:v1`, ALLOW_POLICY);
    expect(verdict.decision).toBe("allow");
    expect(verdict.digest).toBe(pushed.v2);
  });

  it("denies with the policy's message under a static deny", async () => {
    const image = `${registry.host}/demo/app:v2`;
    const verdict = await decideOk(image, DENY_POLICY);
    expect(verdict.decision).toBe("deny");
    expect(verdict.allowed).toBe(false);
    expect(verdict.reference).toBe(image);
    expect(verdict.reasons).toContainEqual(expect.objectContaining({ code: "STATIC_DENY", message: "no demo images" }));
  });

  it("still allows a tag the registry doesn't have, without a digest", async () => {
    const image = `${registry.host}/demo/app:nope`;
    expect(await registryDigest(registry.url, "demo/app", "nope")).toBeNull();
    const verdict = await decideOk(image, ALLOW_POLICY);
    expect(verdict.decision).toBe("allow");
    expect(verdict.digest ?? null).toBeNull();
  });

  it("lists the recorded verdicts for the policy, newest first", async () => {
    // v1, v2, re-pushed v1, nope: four decisions under the allow policy.
    const verdicts = await recordedVerdicts(ALLOW_POLICY, 4);
    expect(verdicts).toHaveLength(4);
    expect(verdicts.every((v) => v.policy.id === ALLOW_POLICY && v.decision === "allow")).toBe(true);

    const times = verdicts.map((v) => Date.parse(v.evaluatedAt));
    expect(times).toEqual([...times].sort((a, b) => b - a));
    // Newest first: the unknown tag was decided last, the first v1 decision first.
    expect(verdicts[0]).toMatchObject({ reference: `${registry.host}/demo/app:nope` });
    expect(verdicts[0]!.digest ?? null).toBeNull();
    expect(verdicts[3]).toMatchObject({ reference: `${registry.host}/demo/app:v1`, digest: pushed.v1 });
    expect(verdicts.map((v) => v.digest ?? "none").sort()).toEqual([pushed.v1, pushed.v2, pushed.v2, "none"].sort());

    // The deny decision is recorded under its own policy only.
    const denied = await recordedVerdicts(DENY_POLICY, 1);
    expect(denied.map((v) => [v.decision, v.reference])).toEqual([["deny", `${registry.host}/demo/app:v2`]]);
  });

  /** Polls the history until it holds `count` verdicts for the policy: recording happens after the answer. */
  async function recordedVerdicts(policy: string, count: number): Promise<Verdict[]> {
    let verdicts: Verdict[] = [];
    const deadline = Date.now() + 10_000;
    for (;;) {
      const { status, json } = await api("GET", `/v1/verdicts?policy=${policy}`, worker.clientToken);
      expect(status, JSON.stringify(json)).toBe(200);
      verdicts = json.verdicts as Verdict[];
      if (verdicts.length >= count || Date.now() > deadline) return verdicts;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
});
