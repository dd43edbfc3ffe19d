// Decisions through the HTTP API: static rules, audit mode, no matching rule, batches, bad input.
import { describe, expect, it } from "vitest";
import { ADMIN, CLIENT, DIGEST_A, DIGEST_B, call, decideImage, putPolicy } from "./http";

const policy = {
  mode: "enforce",
  rules: [
    { pattern: "docker.io/library/*", require: [{ type: "allow" }] },
    { pattern: "docker.io/library/busybox", require: [{ type: "deny", message: "busybox is not allowed here" }] },
    { pattern: "registry.example.com/*", require: [{ type: "deny" }] },
  ],
};

describe("POST /v1/decisions", () => {
  it("denies with the policy's own message, naming the rule", async () => {
    await putPolicy("dec-static", policy);
    const res = await decideImage(`busybox@${DIGEST_A}`, "dec-static", { namespace: "default" });
    expect(res.status).toBe(200);
    expect(res.json).toMatchObject({
      decision: "deny",
      allowed: false,
      image: `busybox@${DIGEST_A}`,
      reference: `docker.io/library/busybox@${DIGEST_A}`,
      digest: DIGEST_A,
      policy: { id: "dec-static", revision: expect.stringMatching(/^[a-f0-9]{32}$/) },
      rule: "docker.io/library/busybox",
      mode: "enforce",
      cached: false,
    });
    expect(res.json.reasons).toEqual([
      { code: "STATIC_DENY", message: "busybox is not allowed here", rule: "docker.io/library/busybox", requirement: "deny" },
    ]);
    expect(Date.parse(res.json.evaluatedAt)).not.toBeNaN();
  });

  it("uses Connaisseur's wording for a deny without a message", async () => {
    await putPolicy("dec-static", policy);
    const res = await decideImage(`registry.example.com/team/app@${DIGEST_B}`, "dec-static");
    expect(res.json.decision).toBe("deny");
    expect(res.json.reasons[0].message).toBe(
      `static deny for image registry.example.com/team/app@${DIGEST_B} using rule registry.example.com/*`,
    );
  });

  it("allows by a static rule and keeps the digest of a digest reference", async () => {
    await putPolicy("dec-static", policy);
    const res = await decideImage(`nginx@${DIGEST_A}`, "dec-static");
    expect(res.json).toMatchObject({ decision: "allow", allowed: true, digest: DIGEST_A, rule: "docker.io/library/*" });
    expect(res.json.reasons[0].code).toBe("STATIC_ALLOW");
  });

  it("denies when no rule matches (fail closed)", async () => {
    await putPolicy("dec-static", policy);
    const res = await decideImage(`quay.io/org/app@${DIGEST_A}`, "dec-static");
    expect(res.json).toMatchObject({ decision: "deny", allowed: false, rule: null });
    expect(res.json.reasons).toEqual([
      {
        code: "NO_MATCHING_RULE",
        message: `no matching rule: no rule of policy dec-static matches quay.io/org/app@${DIGEST_A}`,
        rule: null,
      },
    ]);
  });

  it("allows in audit mode and still reports why it would have denied", async () => {
    await putPolicy("dec-audit", { ...policy, mode: "audit" });
    const res = await decideImage(`busybox@${DIGEST_A}`, "dec-audit");
    expect(res.json).toMatchObject({ decision: "allow", allowed: true, mode: "audit" });
    expect(res.json.reasons.map((r: { code: string }) => r.code)).toEqual(["STATIC_DENY", "AUDIT_MODE"]);
  });

  it("allows a tag whose registry cannot be reached, saying the digest is unknown", async () => {
    // 240.0.0.1 is reserved: the egress guard refuses it before any connection, so nothing leaves
    // the machine (a refused loopback port would do, but workerd prints "uncaught exception" lines
    // for each refused connection; real refusals are decided in test/e2e/port-failures.test.ts).
    await putPolicy("dec-loopback", { rules: [{ pattern: "240.0.0.1:9/*", require: [{ type: "allow" }] }] });
    const res = await decideImage("240.0.0.1:9/demo/app:v1", "dec-loopback");
    expect(res.json).toMatchObject({ decision: "allow", digest: null, reference: "240.0.0.1:9/demo/app:v1" });
    const note = res.json.reasons.find((r: { code: string }) => r.code === "DIGEST_UNRESOLVED");
    expect(note).toMatchObject({ cause: "REGISTRY_UNREACHABLE" });
  });

  it("normalises the reference the way Docker does", async () => {
    await putPolicy("dec-static", policy);
    const res = await decideImage(`library/nginx:1.27@${DIGEST_A}`, "dec-static");
    expect(res.json.reference).toBe(`docker.io/library/nginx:1.27@${DIGEST_A}`);
  });

  it("decides by a changed or deleted policy at once, although decisions reuse a policy read moments ago", async () => {
    const allow = { rules: [{ pattern: "docker.io/library/*", require: [{ type: "allow" }] }] };
    const deny = { rules: [{ pattern: "docker.io/library/*", require: [{ type: "deny", message: "changed" }] }] };
    const first = await putPolicy("dec-change", allow);
    expect((await decideImage(`nginx@${DIGEST_A}`, "dec-change")).json).toMatchObject({ decision: "allow", policy: { revision: first.json.revision } });
    const second = await putPolicy("dec-change", deny);
    const after = await decideImage(`nginx@${DIGEST_A}`, "dec-change");
    expect(after.json).toMatchObject({ decision: "deny", policy: { revision: second.json.revision } });
    expect(after.json.reasons[0].message).toBe("changed");
    expect((await call("DELETE", "/v1/policies/dec-change", { token: ADMIN })).status).toBe(200);
    expect((await decideImage(`nginx@${DIGEST_A}`, "dec-change")).status).toBe(404);
  });

  it("answers 404 POLICY_NOT_FOUND for an unknown policy", async () => {
    const res = await decideImage("nginx", "no-such-policy");
    expect(res.status).toBe(404);
    expect(res.json.error.code).toBe("POLICY_NOT_FOUND");
  });

  const bad: [string, Parameters<typeof call>[2], number, string][] = [
    ["not JSON", { raw: "{image:", headers: { "content-type": "application/json" } }, 400, "INVALID_JSON"],
    ["an array", { body: [] }, 400, "INVALID_BODY"],
    ["image of the wrong type", { body: { image: 5, policy: "p" } }, 400, "INVALID_BODY"],
    ["no image", { body: { policy: "p" } }, 400, "INVALID_BODY"],
    ["an unknown field", { body: { image: "nginx", policy: "p", extra: true } }, 400, "INVALID_BODY"],
    ["context not an object", { body: { image: "nginx", policy: "p", context: "ns" } }, 400, "INVALID_BODY"],
    ["an invalid reference", { body: { image: "NGINX:latest", policy: "dec-static" } }, 400, "INVALID_REFERENCE"],
    ["a reference with a scheme", { body: { image: "https://evil.example/x", policy: "dec-static" } }, 400, "INVALID_REFERENCE"],
    ["a bad digest", { body: { image: "nginx@sha256:abc", policy: "dec-static" } }, 400, "INVALID_REFERENCE"],
    ["an invalid policy ID", { body: { image: "nginx", policy: "../etc" } }, 400, "INVALID_POLICY_ID"],
    ["a body over 1 MiB", { raw: JSON.stringify({ image: "nginx", policy: "p", context: { x: "y".repeat(1 << 20) } }) }, 413, "PAYLOAD_TOO_LARGE"],
    ["invalid UTF-8", { raw: new Uint8Array([0x7b, 0xff, 0xfe, 0x7d]) }, 400, "INVALID_BODY"],
  ];
  for (const [name, opts, status, code] of bad) {
    it(`rejects ${name} with ${status} ${code}`, async () => {
      await putPolicy("dec-static", policy);
      const res = await call("POST", "/v1/decisions", { token: CLIENT, ...opts });
      expect(res.status).toBe(status);
      expect(res.json.error.code).toBe(code);
      expect(typeof res.json.error.message).toBe("string");
      expect(res.json.error.message).not.toMatch(/at .*\.ts:\d+/); // no stack trace
    });
  }

  it("names the offending field for wrong types", async () => {
    const res = await call("POST", "/v1/decisions", { token: CLIENT, body: { image: ["x"], policy: "p" } });
    expect(res.json.error.issues).toEqual([{ path: "image", message: expect.any(String) }]);
  });
});

describe("POST /v1/decisions:batch", () => {
  it("answers in input order, one verdict per image, duplicates included", async () => {
    await putPolicy("dec-static", policy);
    const images = [`busybox@${DIGEST_A}`, `nginx@${DIGEST_B}`, `quay.io/x/y@${DIGEST_A}`, `busybox@${DIGEST_A}`];
    const res = await call("POST", "/v1/decisions:batch", { token: CLIENT, body: { policy: "dec-static", images } });
    expect(res.status).toBe(200);
    expect(res.json.verdicts.map((v: { image: string }) => v.image)).toEqual(images);
    expect(res.json.verdicts.map((v: { decision: string }) => v.decision)).toEqual(["deny", "allow", "deny", "deny"]);
  });

  it("rejects the batch naming the index of an invalid reference", async () => {
    await putPolicy("dec-static", policy);
    const res = await call("POST", "/v1/decisions:batch", {
      token: CLIENT,
      body: { policy: "dec-static", images: ["nginx", "Bad Image"] },
    });
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: "INVALID_REFERENCE", path: "images[1]" });
  });

  it("rejects an empty batch and one with too many images", async () => {
    for (const images of [[], Array(257).fill("nginx")]) {
      const res = await call("POST", "/v1/decisions:batch", { token: CLIENT, body: { policy: "dec-static", images } });
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe("INVALID_BODY");
    }
  });
});
