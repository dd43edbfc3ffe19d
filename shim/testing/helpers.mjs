// Test helpers for the shim: a fake trustgate on loopback, a shim started in-process, and AdmissionReview builders.
// @ts-check
import http from "node:http";
import net from "node:net";
import { randomUUID } from "node:crypto";
import { loadConfig, startShim } from "../shim.mjs";

/** @typedef {{ method: string, url: string, headers: http.IncomingHttpHeaders, body: string }} Seen */
/** @typedef {(req: http.IncomingMessage, res: http.ServerResponse, body: string) => void} Behaviour */

/** A digest reference per image name (the tests never pull anything). */
const DIGEST = `sha256:${"ab".repeat(32)}`;

/**
 * A Pod AdmissionReview as the API server sends it.
 * @param {{ uid?: string, images?: string[], apiVersion?: string, operation?: string }} [options]
 */
export function podReview(options = {}) {
  const uid = options.uid ?? randomUUID();
  const images = options.images ?? [`nginx@${DIGEST}`];
  return {
    apiVersion: options.apiVersion ?? "admission.k8s.io/v1",
    kind: "AdmissionReview",
    request: {
      uid,
      kind: { group: "", version: "v1", kind: "Pod" },
      resource: { group: "", version: "v1", resource: "pods" },
      requestKind: { group: "", version: "v1", kind: "Pod" },
      requestResource: { group: "", version: "v1", resource: "pods" },
      name: "web",
      namespace: "shop",
      operation: options.operation ?? "CREATE",
      userInfo: { username: "alice", groups: ["system:authenticated"] },
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
  };
}

/**
 * The answer a well-behaved trustgate gives for a review body.
 * @param {string} body
 * @param {boolean} allowed
 * @param {string} [message]
 */
export function answerFor(body, allowed, message) {
  const review = JSON.parse(body);
  return {
    apiVersion: review.apiVersion,
    kind: "AdmissionReview",
    response: {
      uid: review.request.uid,
      allowed,
      ...(allowed ? {} : { status: { code: 403, message: message ?? "denied" } }),
    },
  };
}

/**
 * A fake trustgate on 127.0.0.1: records every request, answers with `behaviour` (replaceable per test).
 * @param {Behaviour} [initial]
 */
export async function startFakeTrustgate(initial) {
  /** @type {Seen[]} */
  const seen = [];
  /** @type {Behaviour} */
  let behaviour =
    initial ??
    ((_req, res, body) => {
      json(res, 200, answerFor(body, true));
    });
  /** @type {Set<import("node:net").Socket>} */
  const sockets = new Set();
  const server = http.createServer((req, res) => {
    /** @type {Buffer[]} */
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks).toString("utf8");
      seen.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers, body });
      behaviour(req, res, body);
    });
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("fake trustgate: no TCP address");
  return {
    url: `http://127.0.0.1:${address.port}`,
    seen,
    /** @param {Behaviour} next */
    respond(next) {
      behaviour = next;
    },
    close() {
      for (const socket of sockets) socket.destroy();
      return new Promise((resolve) => server.close(() => resolve(undefined)));
    },
  };
}

/**
 * @param {http.ServerResponse} res
 * @param {number} status
 * @param {unknown} payload
 */
export function json(res, status, payload) {
  const text = JSON.stringify(payload);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

/**
 * The shim in-process on 127.0.0.1 (plain HTTP), configured from env-style settings. Callers are not
 * authenticated unless `env` says how (shim/test/callers.test.mjs covers that).
 * @param {Record<string, string>} env
 */
export async function startTestShim(env) {
  /** @type {Array<{ level: string, msg: string, fields: Record<string, unknown> }>} */
  const logs = [];
  const config = loadConfig({
    HOST: "127.0.0.1",
    PORT: "0",
    TRUSTGATE_POLICY: "p",
    TRUSTGATE_TOKEN: "test-token",
    ALLOW_UNAUTHENTICATED_CALLERS: "true",
    ...env,
  });
  const shim = await startShim(config, {
    log: (level, msg, fields = {}) => {
      logs.push({ level, msg, fields });
    },
  });
  return { ...shim, logs, config };
}

/**
 * POSTs a body (object → JSON) to the shim and returns status, headers and parsed JSON.
 * @param {string} url
 * @param {unknown} body
 * @param {Record<string, string>} [headers]
 */
export async function post(url, body, headers = {}) {
  const response = await fetch(url, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
  const text = await response.text();
  /** @type {any} */
  let parsed;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  return { status: response.status, headers: response.headers, text, json: parsed };
}

/**
 * Raw HTTP/1.1 request over a socket, for cases fetch cannot express (chunked bodies without a length).
 * @param {string} url
 * @param {string} method
 * @param {(req: http.ClientRequest) => void} write
 * @returns {Promise<{ status: number, body: string }>}
 */
export function rawRequest(url, method, write) {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers: { "Content-Type": "application/json" } }, (res) => {
      /** @type {Buffer[]} */
      const chunks = [];
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("error", reject);
    write(req);
  });
}

/** A loopback port nothing listens on (bound, then closed): free to listen on, or to find closed. */
export async function freePort() {
  const server = net.createServer();
  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
  const address = server.address();
  await new Promise((resolve) => server.close(() => resolve(undefined)));
  if (address === null || typeof address === "string") throw new Error("no port");
  return address.port;
}
