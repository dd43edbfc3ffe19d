// End to end: name:tag@digest against a real loopback registry. A runtime pulls the digest, so the tag
// picks its rule only when the registry says the tag means that digest.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callApi, type ApiVerdict as Verdict } from "./lab/api";
import { pushImage, writeOciImage } from "./lab/oci-image";
import { startRegistry, type Registry } from "./lab/registry";
import { startWorker, type WorkerHandle } from "./lab/worker";

const POLICY = "e2e-tag-digest";

describe("name:tag@digest is decided by its digest", () => {
  let registry: Registry;
  let worker: WorkerHandle;
  let work: string;
  const digest = { one: "", two: "" };

  async function decide(image: string): Promise<Verdict> {
    const { status, json } = await callApi(worker.url, "POST", "/v1/decisions", worker.clientToken, { image, policy: POLICY });
    expect(status, JSON.stringify(json)).toBe(200);
    return json as Verdict;
  }
  const show = (v: Verdict) => JSON.stringify(v.reasons);

  beforeAll(async () => {
    registry = await startRegistry();
    work = await mkdtemp(join(tmpdir(), "trustgate-e2e-tag-digest-"));
    await writeOciImage(join(work, "one"), { seed: "tag-digest-one" });
    await writeOciImage(join(work, "two"), { seed: "tag-digest-two" });
    digest.one = await pushImage(join(work, "one"), `${registry.host}/demo/app:v1`);
    digest.two = await pushImage(join(work, "two"), `${registry.host}/demo/app:v2`);
    // No tag cache: the moved tag is seen on the next decision.
    worker = await startWorker({ vars: { TAG_CACHE_TTL_SECONDS: "0" } });
    // The released tags are allowed by name; everything else in demo/ is denied.
    const put = await callApi(worker.url, "PUT", `/v1/policies/${POLICY}`, worker.adminToken, {
      mode: "enforce",
      rules: [
        { pattern: "127.0.0.1:*/demo/*", require: [{ type: "deny", message: "only released tags of demo images run" }] },
        { pattern: "127.0.0.1:*/demo/app:v1", require: [{ type: "allow" }] },
        { pattern: "127.0.0.1:*/demo/app:rc*", require: [{ type: "allow" }] },
      ],
    });
    expect(put.status, JSON.stringify(put.json)).toBe(200);
  });

  afterAll(async () => {
    await worker?.stop();
    await registry?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("a consistent reference (what digest-pinning bots write) keeps the tag's rule", async () => {
    expect(digest.one).not.toBe(digest.two);
    const image = `${registry.host}/demo/app:v1@${digest.one}`;
    const v = await decide(image);
    expect(v, show(v)).toMatchObject({ decision: "allow", image, digest: digest.one, rule: "127.0.0.1:*/demo/app:v1" });
  });

  it("the tag next to another image's digest does not pick the tag's rule: the two disagree", async () => {
    const v = await decide(`${registry.host}/demo/app:v1@${digest.two}`);
    expect(v, show(v)).toMatchObject({ decision: "deny", digest: digest.two, rule: "127.0.0.1:*/demo/app:v1" });
    expect(v.reasons[0], show(v)).toMatchObject({ code: "TAG_DIGEST_MISMATCH", tag: "v1", tagDigest: digest.one });
  });

  it("a tag that cannot be resolved is no evidence: the image is decided as name@digest", async () => {
    const v = await decide(`${registry.host}/demo/app:rc1@${digest.two}`);
    expect(v, show(v)).toMatchObject({ decision: "deny", rule: "127.0.0.1:*/demo/*" });
    expect(v.reasons.map((r) => r.code), show(v)).toEqual(["STATIC_DENY", "TAG_UNRESOLVED"]);
    expect(v.reasons[1], show(v)).toMatchObject({ cause: "MANIFEST_NOT_FOUND" });
  });

  it("once the tag is moved at the registry, the reference pinned to its old digest is denied", async () => {
    const image = `${registry.host}/demo/app:v1@${digest.one}`;
    expect((await decide(image)).decision).toBe("allow");
    await pushImage(join(work, "two"), `${registry.host}/demo/app:v1`);
    const v = await decide(image);
    expect(v, show(v)).toMatchObject({ decision: "deny", digest: digest.one });
    expect(v.reasons[0], show(v)).toMatchObject({ code: "TAG_DIGEST_MISMATCH", tagDigest: digest.two });
    // and the reference that pins the digest the tag has now is allowed
    const now = await decide(`${registry.host}/demo/app:v1@${digest.two}`);
    expect(now.decision, show(now)).toBe("allow");
  });
});
