// The shim's HTTP surface: /healthz, body limits (413), routes and methods, malformed reviews.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { ADMISSION_MAX_BODY_BYTES } from "../limits.mjs";
import { DEFAULT_MAX_BODY_BYTES } from "../shim.mjs";
import { podReview, post, rawRequest, startFakeTrustgate, startTestShim } from "../testing/helpers.mjs";

describe("HTTP surface", () => {
  /** @type {Awaited<ReturnType<typeof startFakeTrustgate>>} */
  let upstream;
  /** @type {Awaited<ReturnType<typeof startTestShim>>} */
  let shim;

  before(async () => {
    upstream = await startFakeTrustgate();
    shim = await startTestShim({ TRUSTGATE_URL: upstream.url, MAX_BODY_BYTES: "4096" });
  });
  after(async () => {
    await shim.close();
    await upstream.close();
  });

  it("GET /healthz answers 200 without asking trustgate", async () => {
    const before = upstream.seen.length;
    for (const path of ["/healthz", "/livez", "/readyz"]) {
      const res = await fetch(`${shim.url}${path}`);
      assert.equal(res.status, 200);
      assert.deepEqual(await res.json(), { status: "ok" });
    }
    assert.equal(upstream.seen.length, before);
  });

  it("/healthz answers even when trustgate is down", async () => {
    const down = await startTestShim({ TRUSTGATE_URL: "http://127.0.0.1:9" });
    try {
      const res = await fetch(`${down.url}/healthz`);
      assert.equal(res.status, 200);
    } finally {
      await down.close();
    }
  });

  it("413 when Content-Length is over the limit, before reading the body", async () => {
    const before = upstream.seen.length;
    const res = await post(`${shim.url}/validate`, "x".repeat(4097));
    assert.equal(res.status, 413);
    assert.equal(res.json.error.code, "PAYLOAD_TOO_LARGE");
    assert.equal(upstream.seen.length, before, "nothing forwarded");
  });

  it("413 when a chunked body (no Content-Length) grows over the limit", async () => {
    const before = upstream.seen.length;
    const res = await rawRequest(`${shim.url}/validate`, "POST", (req) => {
      req.write('{"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"x","pad":"');
      req.write("y".repeat(3000));
      req.write("y".repeat(3000));
      req.end('"}}');
    });
    assert.equal(res.status, 413);
    assert.match(res.body, /PAYLOAD_TOO_LARGE/);
    assert.equal(upstream.seen.length, before, "nothing forwarded");
    // The refused body does not linger: the next review is served.
    const review = podReview();
    const next = await post(`${shim.url}/validate`, review);
    assert.equal(next.status, 200);
    assert.equal(next.json.response.uid, review.request.uid);
  });

  it("a review just under the limit is forwarded", async () => {
    const review = podReview();
    const base = JSON.stringify(review).length;
    review.request.object.metadata.annotations = { pad: "z".repeat(4096 - base - 40) };
    const body = JSON.stringify(review);
    assert.ok(body.length <= 4096 && body.length > 4000, `body is ${body.length} bytes`);
    const res = await post(`${shim.url}/validate`, body);
    assert.equal(res.status, 200);
    assert.equal(res.json.response.uid, review.request.uid);
  });

  it("400 for a body that is not JSON, or not an AdmissionReview with request.uid", async () => {
    const before = upstream.seen.length;
    const notJson = await post(`${shim.url}/validate`, "{not json");
    assert.equal(notJson.status, 400);
    assert.equal(notJson.json.error.code, "INVALID_JSON");
    for (const body of [{}, { kind: "AdmissionReview" }, { kind: "AdmissionReview", request: { uid: "" } }, { kind: "Pod", request: { uid: "u" } }]) {
      const res = await post(`${shim.url}/validate`, body);
      assert.equal(res.status, 400, JSON.stringify(body));
      assert.equal(res.json.error.code, "INVALID_ADMISSION_REVIEW");
    }
    assert.equal(upstream.seen.length, before, "nothing forwarded");
  });

  it("404 for unknown paths, 405 for wrong methods", async () => {
    const unknown = await post(`${shim.url}/v1/admission`, podReview());
    assert.equal(unknown.status, 404);
    const get = await fetch(`${shim.url}/validate`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get("allow"), "POST");
    const postHealth = await post(`${shim.url}/healthz`, {});
    assert.equal(postHealth.status, 405);
  });
});

describe("default body limit", () => {
  it("is trustgate's admission cap (shim/limits.mjs, 6 MiB): one byte more is refused with 413", async () => {
    assert.equal(DEFAULT_MAX_BODY_BYTES, ADMISSION_MAX_BODY_BYTES);
    assert.equal(DEFAULT_MAX_BODY_BYTES, 6 * 1024 * 1024);
    const upstream = await startFakeTrustgate();
    const shim = await startTestShim({ TRUSTGATE_URL: upstream.url });
    try {
      assert.equal(shim.config.maxBodyBytes, DEFAULT_MAX_BODY_BYTES);
      const res = await post(`${shim.url}/validate`, "x".repeat(DEFAULT_MAX_BODY_BYTES + 1));
      assert.equal(res.status, 413);
      assert.equal(upstream.seen.length, 0);
    } finally {
      await shim.close();
      await upstream.close();
    }
  });

  it("forwards a 3 MiB UPDATE review (the object and its old version) unchanged", async () => {
    const upstream = await startFakeTrustgate();
    const shim = await startTestShim({ TRUSTGATE_URL: upstream.url });
    try {
      const review = podReview({ operation: "UPDATE" });
      review.request.object.metadata.annotations = { pad: "n".repeat(1.5 * 1024 * 1024) };
      review.request.oldObject = { ...review.request.object, metadata: { name: "web", namespace: "shop", annotations: { pad: "o".repeat(1.5 * 1024 * 1024) } } };
      const body = JSON.stringify(review);
      assert.ok(body.length > 3 * 1024 * 1024);
      const res = await post(`${shim.url}/validate`, body);
      assert.equal(res.status, 200);
      assert.equal(res.json.response.uid, review.request.uid);
      assert.equal(upstream.seen.at(-1).body, body);
    } finally {
      await shim.close();
      await upstream.close();
    }
  });
});
