// The shim forwards AdmissionReviews to trustgate with the token and query, and returns the answer unchanged with the uid.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { answerFor, json, podReview, post, startFakeTrustgate, startTestShim } from "../testing/helpers.mjs";

describe("forwarding", () => {
  /** @type {Awaited<ReturnType<typeof startFakeTrustgate>>} */
  let upstream;
  /** @type {Awaited<ReturnType<typeof startTestShim>>} */
  let shim;

  before(async () => {
    upstream = await startFakeTrustgate();
    shim = await startTestShim({ TRUSTGATE_URL: upstream.url, TRUSTGATE_POLICY: "prod-images", TRUSTGATE_TOKEN: "s3cret" });
  });
  after(async () => {
    await shim.close();
    await upstream.close();
  });

  it("posts the review unchanged to /v1/admission?policy=… with the bearer token", async () => {
    const review = podReview();
    const raw = JSON.stringify(review);
    const before = upstream.seen.length;
    const res = await post(`${shim.url}/validate`, raw);
    assert.equal(res.status, 200);
    assert.equal(upstream.seen.length, before + 1);
    const seen = upstream.seen.at(-1);
    assert.equal(seen.method, "POST");
    assert.equal(seen.url, "/v1/admission?policy=prod-images");
    assert.equal(seen.headers.authorization, "Bearer s3cret");
    assert.equal(seen.headers["content-type"], "application/json");
    assert.equal(seen.body, raw, "the body reaches trustgate byte for byte");
  });

  it("returns trustgate's answer byte for byte, keeping the uid", async () => {
    const review = podReview({ uid: "4b0c8a7e-1f2d-4e5a-9c3b-000000000001" });
    // An answer with fields the shim does not know (patch, warnings, auditAnnotations) and odd spacing.
    let sent = "";
    upstream.respond((_req, res, body) => {
      const answer = answerFor(body, false, "no busybox");
      answer.response.warnings = ["image busybox is not trusted"];
      answer.response.auditAnnotations = { "trustgate/policy": "prod-images" };
      sent = JSON.stringify(answer, null, 1);
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(sent);
    });
    const res = await post(`${shim.url}/validate`, review);
    assert.equal(res.status, 200);
    assert.equal(res.text, sent);
    assert.equal(res.json.response.uid, review.request.uid);
    assert.equal(res.json.response.allowed, false);
    assert.equal(res.json.response.status.message, "no busybox");
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  });

  it("keeps the uid and apiVersion of a v1beta1 review", async () => {
    upstream.respond((_req, res, body) => json(res, 200, answerFor(body, true)));
    const review = podReview({ apiVersion: "admission.k8s.io/v1beta1" });
    const res = await post(`${shim.url}/validate`, review);
    assert.equal(res.json.apiVersion, "admission.k8s.io/v1beta1");
    assert.equal(res.json.response.uid, review.request.uid);
    assert.equal(res.json.response.allowed, true);
  });

  it("/mutate asks for mutate=true; /validate never does; / follows TRUSTGATE_MUTATE (false here)", async () => {
    upstream.respond((_req, res, body) => json(res, 200, answerFor(body, true)));
    await post(`${shim.url}/mutate`, podReview());
    assert.equal(upstream.seen.at(-1).url, "/v1/admission?policy=prod-images&mutate=true");
    await post(`${shim.url}/validate`, podReview());
    assert.equal(upstream.seen.at(-1).url, "/v1/admission?policy=prod-images");
    await post(`${shim.url}/`, podReview());
    assert.equal(upstream.seen.at(-1).url, "/v1/admission?policy=prod-images");
  });

  it("ignores a query string sent to the shim (the policy comes from TRUSTGATE_POLICY only)", async () => {
    upstream.respond((_req, res, body) => json(res, 200, answerFor(body, true)));
    await post(`${shim.url}/validate?policy=other&mutate=true`, podReview());
    assert.equal(upstream.seen.at(-1).url, "/v1/admission?policy=prod-images");
  });

  it("logs one line per review with the outcome and never the token", async () => {
    upstream.respond((_req, res, body) => json(res, 200, answerFor(body, true)));
    const review = podReview();
    await post(`${shim.url}/validate`, review);
    const line = shim.logs.find((l) => l.fields.uid === review.request.uid);
    assert.ok(line, "a log line for the review");
    assert.equal(line.fields.outcome, "forwarded");
    assert.equal(line.fields.allowed, true);
    assert.equal(line.fields.kind, "Pod");
    assert.equal(line.fields.namespace, "shop");
    assert.ok(!JSON.stringify(shim.logs).includes("s3cret"));
  });
});

describe("forwarding options", () => {
  it("retries once on a fresh connection when a kept-alive connection was closed by trustgate", async () => {
    const used = new WeakSet();
    let dropped = 0;
    const upstream = await startFakeTrustgate((req, res, body) => {
      if (used.has(req.socket)) {
        // The second request on a kept-alive connection: hang up without answering, as an idle-closed peer would.
        dropped++;
        req.socket.destroy();
        return;
      }
      used.add(req.socket);
      json(res, 200, answerFor(body, true));
    });
    const shim = await startTestShim({ TRUSTGATE_URL: upstream.url });
    try {
      const first = await post(`${shim.url}/validate`, podReview());
      assert.equal(first.json.response.allowed, true);
      const review = podReview();
      const second = await post(`${shim.url}/validate`, review);
      assert.equal(dropped, 1, "the kept-alive connection was reused and dropped");
      assert.equal(second.json.response.allowed, true);
      assert.equal(second.json.response.uid, review.request.uid);
    } finally {
      await shim.close();
      await upstream.close();
    }
  });

  it("TRUSTGATE_MUTATE=true makes / ask for mutate=true; a base path in TRUSTGATE_URL is kept", async () => {
    const upstream = await startFakeTrustgate();
    const shim = await startTestShim({ TRUSTGATE_URL: `${upstream.url}/trustgate`, TRUSTGATE_MUTATE: "true" });
    try {
      const res = await post(`${shim.url}/`, podReview());
      assert.equal(res.json.response.allowed, true);
      assert.equal(upstream.seen.at(-1).url, "/trustgate/v1/admission?policy=p&mutate=true");
      await post(`${shim.url}/validate`, podReview());
      assert.equal(upstream.seen.at(-1).url, "/trustgate/v1/admission?policy=p");
    } finally {
      await shim.close();
      await upstream.close();
    }
  });

  it("reads the token from TRUSTGATE_TOKEN_FILE on every request (trimmed), so a rotated Secret applies", async () => {
    const dir = await mkdtemp(join(tmpdir(), "trustgate-shim-"));
    const file = join(dir, "token");
    await writeFile(file, "first-token\n");
    const upstream = await startFakeTrustgate();
    const shim = await startTestShim({ TRUSTGATE_URL: upstream.url, TRUSTGATE_TOKEN: "", TRUSTGATE_TOKEN_FILE: file });
    try {
      await post(`${shim.url}/validate`, podReview());
      assert.equal(upstream.seen.at(-1).headers.authorization, "Bearer first-token");
      await writeFile(file, "second-token");
      await post(`${shim.url}/validate`, podReview());
      assert.equal(upstream.seen.at(-1).headers.authorization, "Bearer second-token");
    } finally {
      await shim.close();
      await upstream.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
