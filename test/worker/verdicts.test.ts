// The verdict history: every decision recorded in D1, filters, pagination, retention.
import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import worker from "../../worker/index";
import { CLIENT, DIGEST_A, DIGEST_B, call, decideImage, putPolicy, waitForVerdicts } from "./http";

const policy = {
  rules: [
    { pattern: "docker.io/library/*", require: [{ type: "allow" }] },
    { pattern: "docker.io/library/busybox", require: [{ type: "deny" }] },
  ],
};

describe("GET /v1/verdicts", () => {
  it("records every decision, newest first, with reasons and context", async () => {
    await putPolicy("hist-a", policy);
    await decideImage(`nginx@${DIGEST_A}`, "hist-a", { namespace: "prod", caller: "ci" });
    await decideImage(`busybox@${DIGEST_B}`, "hist-a");
    const verdicts = await waitForVerdicts("policy=hist-a", 2);
    expect(verdicts).toHaveLength(2);
    expect(verdicts[0]).toMatchObject({
      image: `busybox@${DIGEST_B}`,
      decision: "deny",
      allowed: false,
      digest: DIGEST_B,
      reference: `docker.io/library/busybox@${DIGEST_B}`,
      rule: "docker.io/library/busybox",
      policy: { id: "hist-a" },
      source: "decisions",
    });
    expect(verdicts[0].reasons[0].code).toBe("STATIC_DENY");
    expect(verdicts[1]).toMatchObject({ image: `nginx@${DIGEST_A}`, decision: "allow", context: { namespace: "prod", caller: "ci" } });
    expect(verdicts[0].id > verdicts[1].id || verdicts[0].evaluatedAt > verdicts[1].evaluatedAt).toBe(true);
  });

  it("records each image of a batch", async () => {
    await putPolicy("hist-batch", policy);
    await call("POST", "/v1/decisions:batch", {
      token: CLIENT,
      body: { policy: "hist-batch", images: [`nginx@${DIGEST_A}`, `busybox@${DIGEST_A}`, `redis@${DIGEST_B}`] },
    });
    const verdicts = await waitForVerdicts("policy=hist-batch", 3);
    expect(verdicts.map((v) => v.source)).toEqual(["batch", "batch", "batch"]);
  });

  it("filters by decision and by image (repository or exact reference)", async () => {
    await putPolicy("hist-f", policy);
    await decideImage(`nginx:1.27@${DIGEST_A}`, "hist-f");
    await decideImage(`nginx@${DIGEST_B}`, "hist-f");
    await decideImage(`busybox@${DIGEST_A}`, "hist-f");
    await waitForVerdicts("policy=hist-f", 3);

    const denies = await call("GET", "/v1/verdicts?policy=hist-f&decision=deny", { token: CLIENT });
    expect(denies.json.verdicts.map((v: { image: string }) => v.image)).toEqual([`busybox@${DIGEST_A}`]);

    const repo = await call("GET", "/v1/verdicts?policy=hist-f&image=nginx", { token: CLIENT });
    expect(repo.json.verdicts).toHaveLength(2);

    const exact = await call("GET", `/v1/verdicts?policy=hist-f&image=${encodeURIComponent(`docker.io/library/nginx@${DIGEST_B}`)}`, { token: CLIENT });
    expect(exact.json.verdicts.map((v: { digest: string }) => v.digest)).toEqual([DIGEST_B]);
  });

  it("records and filters by the canonical reference: another spelling of a registry is the same image", async () => {
    await putPolicy("hist-canon", policy);
    await decideImage(`Registry-1.Docker.IO:443/library/busybox@${DIGEST_A}`, "hist-canon");
    await decideImage(`index.docker.io/library/busybox@${DIGEST_B}`, "hist-canon");
    const verdicts = await waitForVerdicts("policy=hist-canon", 2);
    // The image as it was sent, the reference in canonical form, decided by the busybox rule.
    expect(verdicts.map((v) => [v.image, v.reference, v.decision])).toEqual([
      [`index.docker.io/library/busybox@${DIGEST_B}`, `docker.io/library/busybox@${DIGEST_B}`, "deny"],
      [`Registry-1.Docker.IO:443/library/busybox@${DIGEST_A}`, `docker.io/library/busybox@${DIGEST_A}`, "deny"],
    ]);
    // Any spelling of the repository filters the same history.
    for (const image of ["busybox", "docker.io/library/busybox", "REGISTRY.hub.docker.com/busybox"]) {
      const res = await call("GET", `/v1/verdicts?policy=hist-canon&image=${encodeURIComponent(image)}`, { token: CLIENT });
      expect(res.json.verdicts, image).toHaveLength(2);
    }
    const exact = await call("GET", `/v1/verdicts?policy=hist-canon&image=${encodeURIComponent(`registry-1.docker.io/busybox@${DIGEST_A}`)}`, { token: CLIENT });
    expect(exact.json.verdicts.map((v: { digest: string }) => v.digest)).toEqual([DIGEST_A]);
  });

  it("pages with an opaque cursor, without repeats or gaps", async () => {
    await putPolicy("hist-page", policy);
    for (let i = 0; i < 5; i++) await decideImage(`nginx@sha256:${String(i).repeat(64)}`, "hist-page");
    await waitForVerdicts("policy=hist-page", 5);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: { json: { verdicts: { id: string }[]; nextCursor: string | null } } = await call(
        "GET",
        `/v1/verdicts?policy=hist-page&limit=2${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
        { token: CLIENT },
      );
      expect(res.json.verdicts.length).toBeLessThanOrEqual(2);
      seen.push(...res.json.verdicts.map((v) => v.id));
      cursor = res.json.nextCursor;
    } while (cursor);
    expect(seen).toHaveLength(5);
    expect(new Set(seen).size).toBe(5);
  });

  const badQueries: [string, string][] = [
    ["limit=0", "INVALID_QUERY"],
    ["limit=501", "INVALID_QUERY"],
    ["limit=ten", "INVALID_QUERY"],
    ["decision=maybe", "INVALID_QUERY"],
    ["cursor=not-a-cursor", "INVALID_QUERY"],
    ["policy=Bad%20Id", "INVALID_POLICY_ID"],
    ["image=UPPER", "INVALID_REFERENCE"],
  ];
  for (const [query, code] of badQueries) {
    it(`rejects ?${query} with 400 ${code}`, async () => {
      const res = await call("GET", `/v1/verdicts?${query}`, { token: CLIENT });
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe(code);
    });
  }
});

describe("retention", () => {
  it("the daily cron deletes verdicts older than VERDICT_RETENTION_DAYS and keeps the rest", async () => {
    const old = Date.now() - 91 * 86_400_000; // VERDICT_RETENTION_DAYS is 90
    await env.VERDICTS.prepare(
      `INSERT INTO verdicts (id, evaluated_at, evaluated_ms, image, reference, repository, digest, policy_id,
         policy_revision, decision, mode, rule, cached, reasons, context, source)
       VALUES ('old-one', ?1, ?2, 'nginx', 'docker.io/library/nginx:latest', 'docker.io/library/nginx', NULL,
         'hist-old', 'r', 'allow', 'enforce', NULL, 0, '[]', NULL, 'decisions')`,
    )
      .bind(new Date(old).toISOString(), old)
      .run();
    await putPolicy("hist-old", policy);
    await decideImage(`nginx@${DIGEST_A}`, "hist-old");
    await waitForVerdicts("policy=hist-old", 2);

    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: new Date(), cron: "17 3 * * *" }), env, ctx);
    await waitOnExecutionContext(ctx);

    const left = await call("GET", "/v1/verdicts?policy=hist-old", { token: CLIENT });
    expect(left.json.verdicts.map((v: { id: string }) => v.id)).not.toContain("old-one");
    expect(left.json.verdicts).toHaveLength(1);
  });
});
