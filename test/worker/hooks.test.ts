// Registry hooks through the HTTP API: distribution envelopes and Harbor webhooks decided, recorded, refused.
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ADMIN, CLIENT, DIGEST_A, DIGEST_B, call, putPolicy, waitForVerdicts } from "./http";

const DIGEST_C = `sha256:${"c".repeat(64)}`;
const HOST = "registry.example.com";
const EVENTS_V1 = "application/vnd.docker.distribution.events.v1+json";

const policy = {
  rules: [
    { pattern: `${HOST}/team/*`, require: [{ type: "allow" }] },
    { pattern: `${HOST}/team/miner`, require: [{ type: "deny", message: "no miners" }] },
  ],
};

let serial = 0;
function manifestPush(repository: string, digest: string, extra: { id?: string; tag?: string | null; action?: string; mediaType?: string } = {}) {
  return {
    id: extra.id ?? `ev-${++serial}`,
    timestamp: "2026-01-02T03:04:05.123Z",
    action: extra.action ?? "push",
    target: {
      mediaType: extra.mediaType ?? "application/vnd.oci.image.manifest.v1+json",
      size: 401,
      digest,
      length: 401,
      repository,
      url: `https://${HOST}/v2/${repository}/manifests/${digest}`,
      ...(extra.tag === null ? {} : { tag: extra.tag ?? "v1" }),
    },
    request: { id: "req", addr: "10.1.2.3:40000", host: HOST, method: "PUT", useragent: "skopeo/1.9.3" },
    actor: { name: "ci-bot" },
    source: { addr: "registry-0:5000", instanceID: "inst" },
  };
}

function harborPush(repoFullName: string, digest: string, tag: string) {
  return {
    type: "PUSH_ARTIFACT",
    occur_at: 1767323045,
    operator: "robot$team+ci",
    event_data: {
      resources: [{ digest, tag, resource_url: `harbor.example.com/${repoFullName}:${tag}` }],
      repository: {
        date_created: 1767323000,
        name: repoFullName.split("/").slice(1).join("/"),
        namespace: repoFullName.split("/")[0],
        repo_full_name: repoFullName,
        repo_type: "private",
      },
    },
  };
}

const postHook = (kind: string, query: string, body: unknown, token: string | null = CLIENT, headers: Record<string, string> = {}) =>
  call("POST", `/v1/hooks/${kind}?${query}`, {
    token,
    ...(typeof body === "string" || body instanceof Uint8Array ? { raw: body } : { body }),
    headers: { "content-type": kind === "distribution" ? EVENTS_V1 : "application/json", ...headers },
  });

describe("POST /v1/hooks/distribution", () => {
  it("decides each manifest push by digest, records it with the hook's context, and ignores the rest", async () => {
    await putPolicy("hook-dist", policy);
    const allowed = manifestPush("team/app", DIGEST_A, { id: "e-allow", tag: "v1" });
    const denied = manifestPush("team/miner", DIGEST_B, { id: "e-deny", tag: null });
    const envelope = {
      events: [
        manifestPush("team/app", DIGEST_C, { id: "e-blob", mediaType: "application/octet-stream", tag: null }),
        allowed,
        manifestPush("team/app", DIGEST_A, { id: "e-pull", action: "pull" }),
        manifestPush("team/app", DIGEST_C, { id: "e-mount", action: "mount", mediaType: "application/octet-stream" }),
        manifestPush("team/app", DIGEST_A, { id: "e-delete", action: "delete" }),
        denied,
        allowed, // the same event twice: decided once
        manifestPush("Team/App", DIGEST_C, { id: "e-bad-name" }),
      ],
    };
    const res = await postHook("distribution", "policy=hook-dist", envelope);
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(res.json).toMatchObject({
      policy: { id: "hook-dist", revision: expect.stringMatching(/^[a-f0-9]{32}$/) },
      pending: [],
      ignored: 5,
    });
    expect(res.json.decided).toEqual([
      {
        eventId: "e-allow",
        image: `${HOST}/team/app@${DIGEST_A}`,
        tag: "v1",
        digest: DIGEST_A,
        decision: "allow",
        allowed: true,
        rule: `${HOST}/team/*`,
        reasons: [expect.objectContaining({ code: "STATIC_ALLOW", requirement: "allow" })],
        verdictId: expect.any(String),
      },
      {
        eventId: "e-deny",
        image: `${HOST}/team/miner@${DIGEST_B}`,
        tag: null,
        digest: DIGEST_B,
        decision: "deny",
        allowed: false,
        rule: `${HOST}/team/miner`,
        reasons: [{ code: "STATIC_DENY", message: "no miners", rule: `${HOST}/team/miner`, requirement: "deny" }],
        verdictId: expect.any(String),
      },
    ]);
    expect(res.json.rejected).toEqual([{ eventId: "e-bad-name", path: "events[7]", message: expect.stringContaining("must be lowercase") }]);

    const verdicts = await waitForVerdicts("policy=hook-dist", 2);
    expect(verdicts).toHaveLength(2);
    const byEvent = Object.fromEntries(verdicts.map((v) => [v.context.eventId, v]));
    expect(byEvent["e-allow"]).toMatchObject({
      id: res.json.decided[0].verdictId,
      image: `${HOST}/team/app@${DIGEST_A}`,
      reference: `${HOST}/team/app@${DIGEST_A}`,
      digest: DIGEST_A,
      decision: "allow",
      source: "hook:distribution",
      context: { hook: "distribution", tag: "v1", eventId: "e-allow", actor: "ci-bot" },
    });
    expect(byEvent["e-deny"]).toMatchObject({
      decision: "deny",
      source: "hook:distribution",
      context: { hook: "distribution", tag: null, eventId: "e-deny", actor: "ci-bot" },
    });
  });

  it("answers 200 with nothing decided for an envelope of pulls and blobs", async () => {
    await putPolicy("hook-quiet", policy);
    const res = await postHook("distribution", "policy=hook-quiet", {
      events: [manifestPush("team/app", DIGEST_A, { action: "pull" }), manifestPush("team/app", DIGEST_C, { mediaType: "application/octet-stream" })],
    });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ decided: [], pending: [], rejected: [], ignored: 2 });
    const history = await call("GET", "/v1/verdicts?policy=hook-quiet", { token: CLIENT });
    expect(history.json.verdicts).toEqual([]);
  });

  it("with wait=0 answers at once and records the verdicts after the answer", async () => {
    await putPolicy("hook-later", policy);
    const res = await postHook("distribution", "policy=hook-later&wait=0", {
      events: [manifestPush("team/app", DIGEST_B, { id: "later-1", tag: "v2" })],
    });
    expect(res.status).toBe(200);
    expect(res.json.decided).toEqual([]);
    expect(res.json.pending).toEqual([{ eventId: "later-1", image: `${HOST}/team/app@${DIGEST_B}`, tag: "v2" }]);
    const [verdict] = await waitForVerdicts("policy=hook-later", 1);
    expect(verdict).toMatchObject({ digest: DIGEST_B, decision: "allow", source: "hook:distribution", context: { eventId: "later-1", tag: "v2" } });
  });

  it("takes the admin token too, and whatever Content-Type the registry sends", async () => {
    await putPolicy("hook-ct", policy);
    const body = { events: [manifestPush("team/app", DIGEST_A)] };
    for (const [token, contentType] of [
      [CLIENT, "application/vnd.docker.distribution.events.v2+json"],
      [ADMIN, "text/plain"],
    ] as const) {
      const res = await postHook("distribution", "policy=hook-ct", body, token, { "content-type": contentType });
      expect(res.status).toBe(200);
      expect(res.json.decided).toHaveLength(1);
    }
  });
});

describe("POST /v1/hooks/harbor", () => {
  it("decides a PUSH_ARTIFACT on the host of resource_url and records it", async () => {
    await putPolicy("hook-harbor", { rules: [{ pattern: "harbor.example.com/team/*", require: [{ type: "allow" }] }] });
    const res = await postHook("harbor", "policy=hook-harbor", harborPush("team/app", DIGEST_C, "1.2.3"));
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(res.json).toMatchObject({
      decided: [{ eventId: null, image: `harbor.example.com/team/app@${DIGEST_C}`, tag: "1.2.3", decision: "allow" }],
      pending: [],
      rejected: [],
      ignored: 0,
    });
    const [verdict] = await waitForVerdicts("policy=hook-harbor", 1);
    expect(verdict).toMatchObject({
      digest: DIGEST_C,
      source: "hook:harbor",
      context: { hook: "harbor", tag: "1.2.3", eventId: null, actor: "robot$team+ci" },
    });
  });

  it("ignores other event types with a 200", async () => {
    await putPolicy("hook-harbor-pull", policy);
    const res = await postHook("harbor", "policy=hook-harbor-pull", { ...harborPush("team/app", DIGEST_C, "v1"), type: "PULL_ARTIFACT" });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({ decided: [], ignored: 1 });
  });

  it("reads the CloudEvents format", async () => {
    await putPolicy("hook-harbor-ce", { rules: [{ pattern: "harbor.example.com/*", require: [{ type: "allow" }] }] });
    const { type: _t, occur_at: _o, event_data, ...rest } = harborPush("team/app", DIGEST_A, "v7");
    const res = await postHook("harbor", "policy=hook-harbor-ce", {
      ...rest,
      specversion: "1.0",
      id: "ce-1",
      source: "/projects/1/webhook/policies/3",
      type: "harbor.artifact.pushed",
      datacontenttype: "application/json",
      time: "2026-01-02T03:04:05Z",
      data: event_data,
    });
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(res.json.decided).toMatchObject([{ eventId: "ce-1", tag: "v7", decision: "allow" }]);
  });
});

describe("hooks refuse what they cannot take", () => {
  const envelope = { events: [manifestPush("team/app", DIGEST_A)] };

  it("401 without a token or with a wrong one, before reading the body", async () => {
    for (const token of [null, "not-a-token"]) {
      for (const kind of ["distribution", "harbor"]) {
        const res = await postHook(kind, "policy=hook-auth", envelope, token);
        expect(res.status).toBe(401);
        expect(res.json.error.code).toBe("UNAUTHORIZED");
      }
    }
    // Harbor's Auth Header without the word Bearer is not accepted.
    const bare = await postHook("harbor", "policy=hook-auth", {}, null, { authorization: CLIENT });
    expect(bare.status).toBe(401);
  });

  it("400 without a policy or with an invalid policy ID, 404 for an unknown policy", async () => {
    const missing = await postHook("distribution", "", envelope);
    expect([missing.status, missing.json.error.code]).toEqual([400, "INVALID_QUERY"]);
    const invalid = await postHook("distribution", "policy=Not_Valid!", envelope);
    expect([invalid.status, invalid.json.error.code]).toEqual([400, "INVALID_POLICY_ID"]);
    const unknown = await postHook("harbor", "policy=hook-nope", harborPush("team/app", DIGEST_A, "v1"));
    expect([unknown.status, unknown.json.error.code]).toEqual([404, "POLICY_NOT_FOUND"]);
  });

  it("400 for a wait that is not 0–10000 ms", async () => {
    await putPolicy("hook-wait", policy);
    for (const wait of ["-1", "1.5", "abc", "10001", ""]) {
      const res = await postHook("distribution", `policy=hook-wait&wait=${wait}`, envelope);
      expect(res.status, wait).toBe(400);
      expect(res.json.error.code).toBe("INVALID_QUERY");
    }
  });

  it("400 with the error body for bodies that are not envelopes or not JSON", async () => {
    await putPolicy("hook-bad", policy);
    const notJson = await postHook("distribution", "policy=hook-bad", "{\"events\": [");
    expect(notJson.status).toBe(400);
    expect(notJson.json.error.code).toBe("INVALID_JSON");

    const wrongShape = await postHook("distribution", "policy=hook-bad", { events: [manifestPush("team/app", DIGEST_A), { action: 7 }] });
    expect(wrongShape.status).toBe(400);
    expect(wrongShape.json.error).toEqual({
      code: "INVALID_BODY",
      message: expect.stringContaining("events[1].action"),
      issues: [{ path: "events[1].action", message: expect.any(String) }],
    });

    const harborToDistribution = await postHook("distribution", "policy=hook-bad", harborPush("team/app", DIGEST_A, "v1"));
    expect(harborToDistribution.json.error).toMatchObject({ code: "INVALID_BODY", issues: [{ path: "events", message: "missing" }] });

    const distributionToHarbor = await postHook("harbor", "policy=hook-bad", envelope);
    expect(distributionToHarbor.json.error).toMatchObject({ code: "INVALID_BODY", issues: [{ path: "type" }] });

    const notUtf8 = await postHook("distribution", "policy=hook-bad", new Uint8Array([0x7b, 0xff, 0x7d]));
    expect(notUtf8.status).toBe(400);

    // Nothing was recorded for any of them.
    const history = await call("GET", "/v1/verdicts?policy=hook-bad", { token: CLIENT });
    expect(history.json.verdicts).toEqual([]);
  });

  it("400 with at most 20 problems listed for an envelope of many bad events", async () => {
    await putPolicy("hook-many", policy);
    const res = await postHook("distribution", "policy=hook-many", { events: Array.from({ length: 30_000 }, () => 1) });
    expect(res.status).toBe(400);
    expect(res.json.error.issues).toEqual([{ path: "events", message: "30000 events; at most 10000 per envelope" }]);
    const some = await postHook("distribution", "policy=hook-many", { events: Array.from({ length: 5_000 }, () => 1) });
    expect(some.json.error.issues).toHaveLength(20);
    expect(some.json.error.moreIssues).toBe(4980);
  });

  it("400 for absurdly nested JSON", async () => {
    await putPolicy("hook-deep", policy);
    const depth = 400_000;
    const res = await postHook("distribution", "policy=hook-deep", "[".repeat(depth) + "]".repeat(depth));
    expect(res.status).toBe(400);
    expect(["INVALID_JSON", "INVALID_BODY"]).toContain(res.json.error.code);
  });

  it("413 past 1 MiB, declared or streamed, and nothing recorded", async () => {
    await putPolicy("hook-huge", policy);
    const pad = "x".repeat(1 << 20);
    const huge = JSON.stringify({ events: [{ ...manifestPush("team/app", DIGEST_A), pad }] });
    const declared = await postHook("distribution", "policy=hook-huge", huge);
    expect(declared.status).toBe(413);
    expect(declared.json.error.code).toBe("PAYLOAD_TOO_LARGE");

    // No Content-Length: the cap cuts the stream while it is read.
    const bytes = new TextEncoder().encode(huge);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 64 * 1024) controller.enqueue(bytes.slice(i, i + 64 * 1024));
        controller.close();
      },
    });
    const streamed = await SELF.fetch("http://trustgate.test/v1/hooks/distribution?policy=hook-huge", {
      method: "POST",
      headers: { authorization: `Bearer ${CLIENT}`, "content-type": EVENTS_V1 },
      body: stream,
    });
    expect(streamed.status).toBe(413);
    expect(((await streamed.json()) as { error: { code: string } }).error.code).toBe("PAYLOAD_TOO_LARGE");

    const history = await call("GET", "/v1/verdicts?policy=hook-huge", { token: CLIENT });
    expect(history.json.verdicts).toEqual([]);
  });

  it("only POST", async () => {
    const res = await call("GET", "/v1/hooks/distribution?policy=x", { token: CLIENT });
    expect(res.status).toBe(404);
  });
});
