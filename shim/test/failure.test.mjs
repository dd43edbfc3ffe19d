// The failure policy: timeouts, 5xx, 4xx, non-JSON and unusable answers become a denial (Fail) or an admission with a warning (Ignore).
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { answerFor, freePort, json, podReview, post, startFakeTrustgate, startTestShim } from "../testing/helpers.mjs";

/** Asserts a Fail answer: HTTP 200, same uid, allowed=false, a message naming trustgate and matching `cause`. */
function assertDenied(res, uid, cause, code) {
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.kind, "AdmissionReview");
  assert.equal(res.json.response.uid, uid);
  assert.equal(res.json.response.allowed, false);
  assert.equal(res.json.response.status.code, code);
  assert.match(res.json.response.status.message, /trustgate/);
  assert.match(res.json.response.status.message, cause);
  assert.match(res.json.response.status.message, /failure policy is Fail/);
  assert.equal(res.json.response.patch, undefined);
}

/** Asserts an Ignore answer: HTTP 200, same uid, allowed=true, one warning naming trustgate and matching `cause`. */
function assertAdmittedWithWarning(res, uid, cause) {
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json.response.uid, uid);
  assert.equal(res.json.response.allowed, true);
  assert.equal(res.json.response.status, undefined);
  assert.equal(res.json.response.patch, undefined);
  assert.equal(res.json.response.warnings.length, 1);
  assert.match(res.json.response.warnings[0], /trustgate/);
  assert.match(res.json.response.warnings[0], cause);
  assert.match(res.json.response.warnings[0], /failure policy Ignore/);
  assert.ok(res.json.response.warnings[0].length <= 256, "Kubernetes truncates warnings over 256 characters");
}

for (const failurePolicy of ["Fail", "Ignore"]) {
  describe(`FAILURE_POLICY=${failurePolicy}`, () => {
    /** @type {Awaited<ReturnType<typeof startFakeTrustgate>>} */
    let upstream;
    /** @type {Awaited<ReturnType<typeof startTestShim>>} */
    let shim;
    const expect = (res, uid, cause, code) =>
      failurePolicy === "Fail" ? assertDenied(res, uid, cause, code) : assertAdmittedWithWarning(res, uid, cause);

    before(async () => {
      upstream = await startFakeTrustgate();
      shim = await startTestShim({ TRUSTGATE_URL: upstream.url, FAILURE_POLICY: failurePolicy, TRUSTGATE_TIMEOUT_MS: "300" });
    });
    after(async () => {
      await shim.close();
      await upstream.close();
    });

    it("timeout: trustgate never answers", async () => {
      upstream.respond(() => {
        // Hold the request; the shim's timeout must fire first.
      });
      const review = podReview();
      const started = Date.now();
      const res = await post(`${shim.url}/validate`, review);
      const took = Date.now() - started;
      assert.ok(took >= 250 && took < 3_000, `answered after ${took} ms`);
      expect(res, review.request.uid, /did not answer within 300 ms/, 503);
    });

    it("timeout: trustgate sends headers, then stalls in the body", async () => {
      upstream.respond((_req, res) => {
        res.writeHead(200, { "Content-Type": "application/json" });
        res.write('{"apiVersion":');
      });
      const review = podReview();
      const res = await post(`${shim.url}/validate`, review);
      expect(res, review.request.uid, /did not answer within 300 ms/, 503);
    });

    it("5xx from trustgate, with trustgate's error message", async () => {
      upstream.respond((_req, res) => json(res, 503, { error: { code: "SERVICE_MISCONFIGURED", message: "trustgate is misconfigured" } }));
      const review = podReview();
      const res = await post(`${shim.url}/validate`, review);
      expect(res, review.request.uid, /HTTP 503 \(SERVICE_MISCONFIGURED: trustgate is misconfigured\)/, 503);
    });

    it("502 with an HTML body (a proxy in between)", async () => {
      upstream.respond((_req, res) => {
        res.writeHead(502, { "Content-Type": "text/html" });
        res.end("<html><body>Bad gateway</body></html>");
      });
      const review = podReview();
      const res = await post(`${shim.url}/validate`, review);
      expect(res, review.request.uid, /HTTP 502/, 503);
    });

    it("non-JSON 200 answer", async () => {
      upstream.respond((_req, res) => {
        res.writeHead(200, { "Content-Type": "text/plain" });
        res.end("all good");
      });
      const review = podReview();
      const res = await post(`${shim.url}/validate`, review);
      expect(res, review.request.uid, /not JSON/, 500);
    });

    it("4xx: an unknown policy, with trustgate's message", async () => {
      upstream.respond((_req, res) => json(res, 404, { error: { code: "POLICY_NOT_FOUND", message: 'no policy with ID "p"' } }));
      const review = podReview();
      const res = await post(`${shim.url}/validate`, review);
      expect(res, review.request.uid, /HTTP 404 \(POLICY_NOT_FOUND: no policy with ID "p"\)/, 500);
    });

    it("401: trustgate refuses the token", async () => {
      upstream.respond((_req, res) => json(res, 401, { error: { code: "UNAUTHORIZED", message: "the bearer token is not valid" } }));
      const review = podReview();
      const res = await post(`${shim.url}/validate`, review);
      expect(res, review.request.uid, /refused the shim's token: HTTP 401/, 500);
    });

    it("3xx is not followed (the token must not go elsewhere)", async () => {
      const before = upstream.seen.length;
      upstream.respond((_req, res) => {
        res.writeHead(307, { Location: "http://127.0.0.1:9/elsewhere" });
        res.end();
      });
      const review = podReview();
      const res = await post(`${shim.url}/validate`, review);
      expect(res, review.request.uid, /HTTP 307/, 500);
      assert.equal(upstream.seen.length, before + 1);
    });

    it("an answer with another uid is not passed on", async () => {
      upstream.respond((_req, res, body) => {
        const answer = answerFor(body, true);
        answer.response.uid = "someone-else";
        json(res, 200, answer);
      });
      const review = podReview();
      const res = await post(`${shim.url}/validate`, review);
      expect(res, review.request.uid, /different uid/, 500);
    });

    it("JSON that is not an AdmissionReview", async () => {
      upstream.respond((_req, res) => json(res, 200, { decision: "allow" }));
      const review = podReview();
      const res = await post(`${shim.url}/validate`, review);
      expect(res, review.request.uid, /not an AdmissionReview/, 500);
    });

    it("keeps the request's apiVersion (v1beta1) in its own answer", async () => {
      upstream.respond((_req, res) => json(res, 500, { error: { code: "INTERNAL_ERROR", message: "boom" } }));
      const review = podReview({ apiVersion: "admission.k8s.io/v1beta1" });
      const res = await post(`${shim.url}/validate`, review);
      assert.equal(res.json.apiVersion, "admission.k8s.io/v1beta1");
      expect(res, review.request.uid, /HTTP 500/, 503);
    });

    it("a mutating call gets no patch on failure", async () => {
      upstream.respond((_req, res) => json(res, 500, { error: { code: "INTERNAL_ERROR", message: "boom" } }));
      const review = podReview();
      const res = await post(`${shim.url}/mutate`, review);
      expect(res, review.request.uid, /HTTP 500/, 503);
    });

    it("logs the failure with its cause", async () => {
      upstream.respond((_req, res) => json(res, 500, { error: { code: "INTERNAL_ERROR", message: "boom" } }));
      const review = podReview();
      await post(`${shim.url}/validate`, review);
      const line = shim.logs.find((l) => l.fields.uid === review.request.uid);
      assert.equal(line?.fields.outcome, "failure");
      assert.equal(line?.fields.failurePolicy, failurePolicy);
      assert.equal(line?.level, failurePolicy === "Fail" ? "error" : "warn");
      assert.match(String(line?.fields.cause), /HTTP 500/);
    });
  });

  describe(`FAILURE_POLICY=${failurePolicy}, trustgate down`, () => {
    it("unreachable: nothing listens on trustgate's port", async () => {
      const port = await freePort();
      const shim = await startTestShim({ TRUSTGATE_URL: `http://127.0.0.1:${port}`, FAILURE_POLICY: failurePolicy });
      try {
        const review = podReview();
        const res = await post(`${shim.url}/validate`, review);
        if (failurePolicy === "Fail") assertDenied(res, review.request.uid, /unreachable \(ECONNREFUSED/, 503);
        else assertAdmittedWithWarning(res, review.request.uid, /unreachable \(ECONNREFUSED/);
      } finally {
        await shim.close();
      }
    });

    it("the token file is missing", async () => {
      const dir = await mkdtemp(join(tmpdir(), "trustgate-shim-"));
      const upstream = await startFakeTrustgate();
      const shim = await startTestShim({
        TRUSTGATE_URL: upstream.url,
        TRUSTGATE_TOKEN: "",
        TRUSTGATE_TOKEN_FILE: join(dir, "absent"),
        FAILURE_POLICY: failurePolicy,
      });
      try {
        const review = podReview();
        const res = await post(`${shim.url}/validate`, review);
        if (failurePolicy === "Fail") assertDenied(res, review.request.uid, /cannot read the trustgate token file/, 500);
        else assertAdmittedWithWarning(res, review.request.uid, /cannot read the trustgate token file/);
        assert.equal(upstream.seen.length, 0, "nothing is sent without a token");
      } finally {
        await shim.close();
        await upstream.close();
        await rm(dir, { recursive: true, force: true });
      }
    });
  });
}

describe("failure policy defaults", () => {
  it("is Fail when FAILURE_POLICY is unset", async () => {
    const upstream = await startFakeTrustgate((_req, res) => json(res, 500, { error: { code: "INTERNAL_ERROR", message: "boom" } }));
    const shim = await startTestShim({ TRUSTGATE_URL: upstream.url });
    try {
      assert.equal(shim.config.failurePolicy, "Fail");
      const review = podReview();
      const res = await post(`${shim.url}/validate`, review);
      assertDenied(res, review.request.uid, /HTTP 500/, 503);
    } finally {
      await shim.close();
      await upstream.close();
    }
  });

  it("recovers: after a failure, the next review is forwarded again", async () => {
    const upstream = await startFakeTrustgate((_req, res) => json(res, 500, { error: { code: "INTERNAL_ERROR", message: "boom" } }));
    const shim = await startTestShim({ TRUSTGATE_URL: upstream.url });
    try {
      const first = await post(`${shim.url}/validate`, podReview());
      assert.equal(first.json.response.allowed, false);
      upstream.respond((_req, res, body) => json(res, 200, answerFor(body, true)));
      const review = podReview();
      const second = await post(`${shim.url}/validate`, review);
      assert.equal(second.json.response.allowed, true);
      assert.equal(second.json.response.uid, review.request.uid);
    } finally {
      await shim.close();
      await upstream.close();
    }
  });
});
