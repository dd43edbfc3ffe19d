// trustgate-shim: forwards Kubernetes AdmissionReviews to trustgate with a bearer token, under a timeout and a failure policy.
// @ts-check
import { readFile } from "node:fs/promises";
import { readFileSync } from "node:fs";
import http from "node:http";
import https from "node:https";
import { CALLER_HEADER, createCallerCheck } from "./callers.mjs";
import { ADMISSION_MAX_BODY_BYTES } from "./limits.mjs";

export const VERSION = "0.1.0";

/** Every environment variable the shim reads (the deploy manifests are checked against this list). */
export const ENV_VARS = Object.freeze([
  "TRUSTGATE_URL",
  "TRUSTGATE_TOKEN",
  "TRUSTGATE_TOKEN_FILE",
  "TRUSTGATE_POLICY",
  "TRUSTGATE_MUTATE",
  "TRUSTGATE_TIMEOUT_MS",
  "TRUSTGATE_ALLOW_HTTP",
  "FAILURE_POLICY",
  "MAX_BODY_BYTES",
  "HOST",
  "PORT",
  "TLS_CERT_FILE",
  "TLS_KEY_FILE",
  "CLIENT_CA_FILE",
  "CLIENT_CERT_NAMES",
  "CALLER_TOKEN",
  "CALLER_TOKEN_FILE",
  "ALLOW_UNAUTHENTICATED_CALLERS",
  "LOG_LEVEL",
  "SHUTDOWN_DELAY_MS",
]);

export const DEFAULT_TIMEOUT_MS = 9_000;
/** The cap trustgate's /v1/admission applies too (shim/limits.mjs): a review the shim accepts, trustgate accepts. */
export const DEFAULT_MAX_BODY_BYTES = ADMISSION_MAX_BODY_BYTES;
/** Same rule as trustgate's policy IDs (worker/stores/policy-store.ts). */
const POLICY_ID_RE = /^[a-z0-9][a-z0-9._-]{0,62}$/;
const LOG_LEVELS = ["debug", "info", "warn", "error", "silent"];
/** How often the TLS files are checked for rotation (cert-manager renews them in place). */
const TLS_RELOAD_INTERVAL_MS = 60_000;
/** Kubernetes truncates long warnings; keep the cause short enough that the point survives. */
const MAX_CAUSE_CHARS = 180;

/**
 * @typedef {"Fail" | "Ignore"} FailurePolicy
 * @typedef {"debug" | "info" | "warn" | "error" | "silent"} LogLevel
 * @typedef {{
 *   trustgateUrl: URL,
 *   token?: string,
 *   tokenFile?: string,
 *   policy: string,
 *   mutate: boolean,
 *   timeoutMs: number,
 *   failurePolicy: FailurePolicy,
 *   maxBodyBytes: number,
 *   host?: string,
 *   port: number,
 *   tlsCertFile?: string,
 *   tlsKeyFile?: string,
 *   clientCaFile?: string,
 *   clientCertNames?: string[],
 *   callerToken?: string,
 *   callerTokenFile?: string,
 *   allowUnauthenticatedCallers: boolean,
 *   logLevel: LogLevel,
 *   shutdownDelayMs: number,
 * }} ShimConfig
 * @typedef {(level: Exclude<LogLevel, "silent">, msg: string, fields?: Record<string, unknown>) => void} Logger
 */

export class ConfigError extends Error {}

/**
 * Reads the shim's configuration from the environment; throws ConfigError naming the variable on bad input.
 * @param {Record<string, string | undefined>} env
 * @returns {ShimConfig}
 */
export function loadConfig(env = process.env) {
  const get = (/** @type {string} */ name) => {
    const value = env[name];
    return value === undefined || value.trim() === "" ? undefined : value.trim();
  };

  const rawUrl = get("TRUSTGATE_URL");
  if (rawUrl === undefined) throw new ConfigError("TRUSTGATE_URL is required (e.g. https://trustgate.example.workers.dev)");
  let trustgateUrl;
  try {
    trustgateUrl = new URL(rawUrl);
  } catch {
    throw new ConfigError(`TRUSTGATE_URL is not a valid URL: ${rawUrl}`);
  }
  if (trustgateUrl.protocol !== "https:" && trustgateUrl.protocol !== "http:") {
    throw new ConfigError(`TRUSTGATE_URL must be https:// (or http:// on loopback), not ${trustgateUrl.protocol}`);
  }
  if (trustgateUrl.username !== "" || trustgateUrl.password !== "" || trustgateUrl.search !== "" || trustgateUrl.hash !== "") {
    throw new ConfigError("TRUSTGATE_URL must be a base URL without credentials, query or fragment");
  }
  if (trustgateUrl.protocol === "http:" && !isLoopbackHost(trustgateUrl.hostname) && !flag(env, "TRUSTGATE_ALLOW_HTTP", false)) {
    throw new ConfigError(
      "TRUSTGATE_URL uses http:// to a non-loopback host: the bearer token would travel in clear text " +
        "(use https://, or set TRUSTGATE_ALLOW_HTTP=true if the network is trusted)",
    );
  }
  if (!trustgateUrl.pathname.endsWith("/")) trustgateUrl.pathname += "/";

  const token = get("TRUSTGATE_TOKEN");
  const tokenFile = get("TRUSTGATE_TOKEN_FILE");
  if (token !== undefined && tokenFile !== undefined) {
    throw new ConfigError("set either TRUSTGATE_TOKEN or TRUSTGATE_TOKEN_FILE, not both");
  }
  if (token === undefined && tokenFile === undefined) {
    throw new ConfigError("TRUSTGATE_TOKEN_FILE (a mounted Secret) or TRUSTGATE_TOKEN is required");
  }
  if (token !== undefined && /\s/.test(token)) throw new ConfigError("TRUSTGATE_TOKEN must not contain whitespace");

  const policy = get("TRUSTGATE_POLICY");
  if (policy === undefined) throw new ConfigError("TRUSTGATE_POLICY is required (the trustgate policy ID to decide with)");
  if (!POLICY_ID_RE.test(policy)) {
    throw new ConfigError(`TRUSTGATE_POLICY "${policy.slice(0, 80)}" is not a valid policy ID (1-63 of a-z 0-9 . _ -)`);
  }

  const failurePolicy = get("FAILURE_POLICY") ?? "Fail";
  if (failurePolicy !== "Fail" && failurePolicy !== "Ignore") {
    throw new ConfigError(`FAILURE_POLICY must be Fail or Ignore, not "${failurePolicy}"`);
  }

  const tlsCertFile = get("TLS_CERT_FILE");
  const tlsKeyFile = get("TLS_KEY_FILE");
  if ((tlsCertFile === undefined) !== (tlsKeyFile === undefined)) {
    throw new ConfigError("set both TLS_CERT_FILE and TLS_KEY_FILE (TLS), or neither (plain HTTP)");
  }

  // Who may call the shim (shim/callers.mjs): the API server's client certificate, a token it sends,
  // or, only when said explicitly, anyone who can reach the port.
  const clientCaFile = get("CLIENT_CA_FILE");
  const clientCertNames = get("CLIENT_CERT_NAMES")?.split(",").map((n) => n.trim()).filter((n) => n !== "");
  const callerToken = get("CALLER_TOKEN");
  const callerTokenFile = get("CALLER_TOKEN_FILE");
  const allowUnauthenticatedCallers = flag(env, "ALLOW_UNAUTHENTICATED_CALLERS", false);
  if (clientCaFile !== undefined && tlsCertFile === undefined) {
    throw new ConfigError("CLIENT_CA_FILE needs TLS_CERT_FILE and TLS_KEY_FILE: client certificates are only seen over TLS");
  }
  if (clientCertNames !== undefined && clientCaFile === undefined) throw new ConfigError("CLIENT_CERT_NAMES needs CLIENT_CA_FILE");
  if (callerToken !== undefined && callerTokenFile !== undefined) {
    throw new ConfigError("set either CALLER_TOKEN or CALLER_TOKEN_FILE, not both");
  }
  if (callerToken !== undefined && /\s/.test(callerToken)) throw new ConfigError("CALLER_TOKEN must not contain whitespace");
  if (clientCaFile === undefined && callerToken === undefined && callerTokenFile === undefined && !allowUnauthenticatedCallers) {
    throw new ConfigError(
      "the shim's callers are not authenticated: set CLIENT_CA_FILE (the API server's client certificate) or " +
        "CALLER_TOKEN_FILE (a token the API server sends from its webhook kubeconfig), or " +
        "ALLOW_UNAUTHENTICATED_CALLERS=true to accept anyone who can reach the port (then restrict it with a NetworkPolicy)",
    );
  }

  const logLevel = get("LOG_LEVEL") ?? "info";
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")}`);

  /** @type {ShimConfig} */
  const config = {
    trustgateUrl,
    policy,
    mutate: flag(env, "TRUSTGATE_MUTATE", false),
    timeoutMs: integer(env, "TRUSTGATE_TIMEOUT_MS", DEFAULT_TIMEOUT_MS, 100, 29_000),
    failurePolicy,
    maxBodyBytes: integer(env, "MAX_BODY_BYTES", DEFAULT_MAX_BODY_BYTES, 1024, ADMISSION_MAX_BODY_BYTES),
    port: integer(env, "PORT", tlsCertFile !== undefined ? 8443 : 8080, 0, 65535),
    logLevel: /** @type {LogLevel} */ (logLevel),
    shutdownDelayMs: integer(env, "SHUTDOWN_DELAY_MS", 0, 0, 60_000),
    allowUnauthenticatedCallers,
  };
  if (clientCaFile !== undefined) config.clientCaFile = clientCaFile;
  if (clientCertNames !== undefined) config.clientCertNames = clientCertNames;
  if (callerToken !== undefined) config.callerToken = callerToken;
  if (callerTokenFile !== undefined) config.callerTokenFile = callerTokenFile;
  if (token !== undefined) config.token = token;
  if (tokenFile !== undefined) config.tokenFile = tokenFile;
  const host = get("HOST");
  if (host !== undefined) config.host = host;
  if (tlsCertFile !== undefined && tlsKeyFile !== undefined) {
    config.tlsCertFile = tlsCertFile;
    config.tlsKeyFile = tlsKeyFile;
  }
  return config;
}

/**
 * @param {Record<string, string | undefined>} env
 * @param {string} name
 * @param {boolean} fallback
 */
function flag(env, name, fallback) {
  const value = env[name]?.trim().toLowerCase();
  if (value === undefined || value === "") return fallback;
  if (value === "true" || value === "1" || value === "yes") return true;
  if (value === "false" || value === "0" || value === "no") return false;
  throw new ConfigError(`${name} must be true or false, not "${env[name]}"`);
}

/**
 * @param {Record<string, string | undefined>} env
 * @param {string} name
 * @param {number} fallback
 * @param {number} min
 * @param {number} max
 */
function integer(env, name, fallback, min, max) {
  const value = env[name]?.trim();
  if (value === undefined || value === "") return fallback;
  if (!/^\d+$/.test(value) || Number(value) < min || Number(value) > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}, not "${value}"`);
  }
  return Number(value);
}

/** @param {string} hostname */
function isLoopbackHost(hostname) {
  return hostname === "localhost" || hostname === "[::1]" || hostname === "::1" || /^127\.\d+\.\d+\.\d+$/.test(hostname);
}

/**
 * JSON lines on stdout/stderr; never the token.
 * @param {LogLevel} level
 * @returns {Logger}
 */
export function jsonLogger(level) {
  const min = LOG_LEVELS.indexOf(level);
  return (lvl, msg, fields = {}) => {
    if (LOG_LEVELS.indexOf(lvl) < min) return;
    const line = JSON.stringify({ time: new Date().toISOString(), level: lvl, msg, ...fields });
    (lvl === "error" || lvl === "warn" ? process.stderr : process.stdout).write(`${line}\n`);
  };
}

/** Why trustgate gave no usable answer; `code` is the status code the denial carries under Fail. */
class UpstreamFailure extends Error {
  /**
   * @param {string} message
   * @param {number} code
   * @param {number} [upstreamStatus]
   */
  constructor(message, code, upstreamStatus) {
    super(message);
    this.code = code;
    this.upstreamStatus = upstreamStatus;
  }
}

class BodyTooLarge extends Error {}

/**
 * Reads a request or response body up to `limit` bytes.
 * @param {import("node:stream").Readable} stream
 * @param {number} limit
 * @returns {Promise<Buffer>}
 */
function readBody(stream, limit) {
  return new Promise((resolve, reject) => {
    /** @type {Buffer[]} */
    const chunks = [];
    let size = 0;
    let done = false;
    const finish = (/** @type {Error | undefined} */ err) => {
      if (done) return;
      done = true;
      stream.removeListener("data", onData);
      if (err) reject(err);
      else resolve(Buffer.concat(chunks, size));
    };
    const onData = (/** @type {Buffer} */ chunk) => {
      size += chunk.length;
      if (size > limit) {
        // Stop buffering; the caller answers (or gives up) and the connection is closed.
        stream.pause();
        finish(new BodyTooLarge(`body larger than ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    stream.on("data", onData);
    stream.once("end", () => finish(undefined));
    stream.once("error", (err) => finish(err));
    stream.once("close", () => finish(new Error("connection closed before the body was complete")));
  });
}

/** @param {unknown} value @returns {value is Record<string, unknown>} */
function isObject(value) {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** @param {string} text @param {number} max */
function clip(text, max) {
  const oneLine = text.replace(/\s+/g, " ").trim();
  return oneLine.length <= max ? oneLine : `${oneLine.slice(0, max - 1)}…`;
}

/**
 * The AdmissionReview the shim answers itself when trustgate gave no usable answer.
 * @param {string} apiVersion
 * @param {string} uid
 * @param {FailurePolicy} failurePolicy
 * @param {UpstreamFailure} failure
 */
function failureReview(apiVersion, uid, failurePolicy, failure) {
  const cause = clip(failure.message, MAX_CAUSE_CHARS);
  if (failurePolicy === "Ignore") {
    return {
      apiVersion,
      kind: "AdmissionReview",
      response: {
        uid,
        allowed: true,
        warnings: [`trustgate-shim: ${cause}; admitted without an image trust decision (failure policy Ignore)`],
      },
    };
  }
  return {
    apiVersion,
    kind: "AdmissionReview",
    response: {
      uid,
      allowed: false,
      status: {
        status: "Failure",
        code: failure.code,
        reason: failure.code === 503 ? "ServiceUnavailable" : "InternalError",
        message: `trustgate-shim: ${cause}; denied because the failure policy is Fail`,
      },
    },
  };
}

/**
 * @typedef {{ status: number, body: Buffer, reusedSocket: boolean }} UpstreamAnswer
 */

/**
 * One POST to trustgate, bounded by `deadline` (epoch ms) for the whole exchange, body included.
 * @param {URL} url
 * @param {Buffer} body
 * @param {string} token
 * @param {number} deadline
 * @param {number} maxBytes
 * @param {http.Agent} agent
 * @param {import("./callers.mjs").CallerMethod} caller
 * @returns {Promise<UpstreamAnswer>}
 */
function postOnce(url, body, token, deadline, maxBytes, agent, caller) {
  return new Promise((resolve, reject) => {
    const client = url.protocol === "https:" ? https : http;
    let settled = false;
    /** @type {http.ClientRequest} */
    let request;
    const fail = (/** @type {Error} */ err) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      reject(Object.assign(err, { reusedSocket: request.reusedSocket }));
    };
    const remaining = deadline - Date.now();
    const timer = setTimeout(() => fail(new TimeoutFailure()), Math.max(0, remaining));
    request = client.request(url, {
      method: "POST",
      agent,
      headers: {
        Authorization: `Bearer ${token}`,
        "Content-Type": "application/json",
        "Content-Length": String(body.length),
        Accept: "application/json",
        "User-Agent": `trustgate-shim/${VERSION}`,
        // How the shim authenticated the API server: trustgate records the review's user and namespace only when it did.
        [CALLER_HEADER]: caller,
      },
    });
    request.once("error", fail);
    request.once("response", (response) => {
      readBody(response, maxBytes).then(
        (data) => {
          if (settled) return;
          settled = true;
          clearTimeout(timer);
          resolve({ status: response.statusCode ?? 0, body: data, reusedSocket: request.reusedSocket });
        },
        (err) => fail(err),
      );
    });
    request.end(body);
  });
}

class TimeoutFailure extends Error {
  constructor() {
    super("timed out");
  }
}

/**
 * Describes a transport error without internals (addresses are fine; nothing secret is in them).
 * @param {unknown} err
 */
function describeTransportError(err) {
  if (!(err instanceof Error)) return String(err);
  const code = /** @type {{ code?: unknown }} */ (err).code;
  return typeof code === "string" ? `${code}: ${err.message}` : err.message;
}

/**
 * The error message inside a trustgate error body ({"error": {"code", "message"}}), if any.
 * @param {Buffer} body
 */
function trustgateError(body) {
  try {
    const parsed = JSON.parse(body.toString("utf8"));
    if (isObject(parsed) && isObject(parsed.error)) {
      const { code, message } = parsed.error;
      const parts = [typeof code === "string" ? code : "", typeof message === "string" ? message : ""].filter(Boolean);
      if (parts.length > 0) return parts.join(": ");
    }
  } catch {
    // Not JSON: fall through to the raw text.
  }
  const text = body.toString("utf8").trim();
  return text === "" ? "empty body" : clip(text, 120);
}

/**
 * Creates the request handler. Paths: POST /validate (never mutate), POST /mutate (mutate=true),
 * POST / (TRUSTGATE_MUTATE decides); GET /healthz, /livez, /readyz.
 * @param {ShimConfig} config
 * @param {{ log?: Logger }} [options]
 */
function createHandler(config, options = {}) {
  const log = options.log ?? jsonLogger(config.logLevel);
  const agent = new (config.trustgateUrl.protocol === "https:" ? https.Agent : http.Agent)({
    keepAlive: true,
    maxSockets: 64,
  });
  // trustgate's answer is the review plus at most a patch; allow the same size as the request with some room.
  const maxAnswerBytes = config.maxBodyBytes + 1024 * 1024;
  const checkCaller = createCallerCheck(config);

  /** @returns {Promise<string>} */
  async function currentToken() {
    if (config.token !== undefined) return config.token;
    // Read every time: a rotated Secret shows up in the mounted file without a restart.
    let text;
    try {
      text = await readFile(/** @type {string} */ (config.tokenFile), "utf8");
    } catch (err) {
      throw new UpstreamFailure(`cannot read the trustgate token file (${describeTransportError(err)})`, 500);
    }
    const token = text.trim();
    if (token === "" || /\s/.test(token)) throw new UpstreamFailure("the trustgate token file is empty or malformed", 500);
    return token;
  }

  /** @param {boolean} mutate */
  function upstreamUrl(mutate) {
    const url = new URL("v1/admission", config.trustgateUrl);
    url.searchParams.set("policy", config.policy);
    if (mutate) url.searchParams.set("mutate", "true");
    return url;
  }

  /**
   * Forwards the raw review; resolves to trustgate's raw answer when it is usable, else throws UpstreamFailure.
   * @param {Buffer} raw
   * @param {string} uid
   * @param {boolean} mutate
   * @param {import("./callers.mjs").CallerMethod} caller
   * @returns {Promise<{ body: Buffer, allowed: boolean, upstreamStatus: number }>}
   */
  async function forward(raw, uid, mutate, caller) {
    const token = await currentToken();
    const url = upstreamUrl(mutate);
    const deadline = Date.now() + config.timeoutMs;
    /** @type {UpstreamAnswer} */
    let answer;
    try {
      try {
        answer = await postOnce(url, raw, token, deadline, maxAnswerBytes, agent, caller);
      } catch (err) {
        // A kept-alive socket the other side had already closed: one retry on a fresh one.
        const reused = /** @type {{ reusedSocket?: boolean }} */ (err).reusedSocket === true;
        const code = /** @type {{ code?: unknown }} */ (err).code;
        if (!reused || (code !== "ECONNRESET" && code !== "EPIPE") || Date.now() >= deadline) throw err;
        answer = await postOnce(url, raw, token, deadline, maxAnswerBytes, agent, caller);
      }
    } catch (err) {
      if (err instanceof TimeoutFailure) {
        throw new UpstreamFailure(`trustgate did not answer within ${config.timeoutMs} ms`, 503);
      }
      if (err instanceof BodyTooLarge) {
        throw new UpstreamFailure(`trustgate's answer is larger than ${maxAnswerBytes} bytes`, 500);
      }
      throw new UpstreamFailure(`trustgate is unreachable (${describeTransportError(err)})`, 503);
    }

    const { status, body } = answer;
    if (status >= 500 || status === 429) {
      throw new UpstreamFailure(`trustgate answered HTTP ${status} (${trustgateError(body)})`, 503, status);
    }
    if (status === 401 || status === 403) {
      throw new UpstreamFailure(`trustgate refused the shim's token: HTTP ${status} (${trustgateError(body)})`, 500, status);
    }
    if (status < 200 || status >= 300) {
      throw new UpstreamFailure(`trustgate answered HTTP ${status} (${trustgateError(body)})`, 500, status);
    }
    let parsed;
    try {
      parsed = JSON.parse(body.toString("utf8"));
    } catch {
      throw new UpstreamFailure(`trustgate answered HTTP ${status} with a body that is not JSON`, 500, status);
    }
    const response = isObject(parsed) ? parsed.response : undefined;
    if (!isObject(parsed) || parsed.kind !== "AdmissionReview" || !isObject(response)) {
      throw new UpstreamFailure("trustgate's answer is not an AdmissionReview with a response", 500, status);
    }
    if (response.uid !== uid) throw new UpstreamFailure("trustgate's answer carries a different uid", 500, status);
    if (typeof response.allowed !== "boolean") {
      throw new UpstreamFailure("trustgate's answer has no boolean response.allowed", 500, status);
    }
    return { body, allowed: response.allowed, upstreamStatus: status };
  }

  /**
   * @param {http.ServerResponse} res
   * @param {number} status
   * @param {unknown} payload
   * @param {Record<string, string>} [headers]
   */
  function sendJson(res, status, payload, headers = {}) {
    const text = Buffer.isBuffer(payload) ? payload : Buffer.from(JSON.stringify(payload));
    res.writeHead(status, {
      "Content-Type": "application/json",
      "Content-Length": String(text.length),
      "Cache-Control": "no-store",
      ...headers,
    });
    res.end(text);
  }

  /**
   * @param {http.ServerResponse} res
   * @param {number} status
   * @param {string} code
   * @param {string} message
   * @param {Record<string, string>} [headers]
   */
  function sendError(res, status, code, message, headers) {
    sendJson(res, status, { error: { code, message } }, headers);
  }

  /**
   * @param {http.IncomingMessage} req
   * @param {http.ServerResponse} res
   */
  async function handle(req, res) {
    const started = Date.now();
    const path = (req.url ?? "/").split("?")[0] ?? "/";

    if (path === "/healthz" || path === "/livez" || path === "/readyz") {
      if (req.method !== "GET" && req.method !== "HEAD") {
        sendError(res, 405, "METHOD_NOT_ALLOWED", `${req.method} is not allowed on ${path}`, { Allow: "GET, HEAD" });
        return;
      }
      sendJson(res, 200, { status: "ok" });
      return;
    }

    /** @type {boolean} */
    let mutate;
    if (path === "/validate") mutate = false;
    else if (path === "/mutate") mutate = true;
    else if (path === "/") mutate = config.mutate;
    else {
      sendError(res, 404, "NOT_FOUND", `no route for ${path}; admission paths are /validate, /mutate and /`);
      return;
    }
    if (req.method !== "POST") {
      sendError(res, 405, "METHOD_NOT_ALLOWED", `${req.method} is not allowed on ${path}`, { Allow: "POST" });
      return;
    }

    // Before the body is read: an unknown caller gets nothing, not even a parse of what it sent.
    const caller = await checkCaller(req);
    if (!caller.ok) {
      log("warn", "caller refused", { path, status: caller.status, remoteAddress: req.socket.remoteAddress });
      const bearer = caller.status === 401 && (config.callerToken !== undefined || config.callerTokenFile !== undefined);
      sendError(res, caller.status, caller.code, caller.message, {
        // The body is not read: close rather than leave it on the connection.
        Connection: "close",
        ...(bearer ? { "WWW-Authenticate": 'Bearer realm="trustgate-shim"' } : {}),
      });
      return;
    }

    const tooLarge = () => {
      log("warn", "request body too large", { path, limit: config.maxBodyBytes });
      // Close the connection: the rest of the body is not read.
      sendError(res, 413, "PAYLOAD_TOO_LARGE", `the AdmissionReview is larger than ${config.maxBodyBytes} bytes`, {
        Connection: "close",
      });
    };
    const declared = Number(req.headers["content-length"]);
    if (Number.isFinite(declared) && declared > config.maxBodyBytes) {
      tooLarge();
      return;
    }
    let raw;
    try {
      raw = await readBody(req, config.maxBodyBytes);
    } catch (err) {
      if (err instanceof BodyTooLarge) tooLarge();
      else req.destroy();
      return;
    }

    let review;
    try {
      review = JSON.parse(raw.toString("utf8"));
    } catch {
      sendError(res, 400, "INVALID_JSON", "the body is not JSON; expected an AdmissionReview");
      return;
    }
    const request = isObject(review) ? review.request : undefined;
    if (!isObject(review) || review.kind !== "AdmissionReview" || !isObject(request) || typeof request.uid !== "string" || request.uid === "") {
      sendError(res, 400, "INVALID_ADMISSION_REVIEW", "expected an AdmissionReview with request.uid");
      return;
    }
    const uid = request.uid;
    const apiVersion = typeof review.apiVersion === "string" ? review.apiVersion : "admission.k8s.io/v1";
    const kind = isObject(request.kind) && typeof request.kind.kind === "string" ? request.kind.kind : undefined;
    const subject = {
      uid,
      path,
      operation: request.operation,
      kind,
      namespace: request.namespace,
      name: request.name,
    };

    try {
      const result = await forward(raw, uid, mutate, caller.method);
      log("info", "admission", { ...subject, caller: caller.method, outcome: "forwarded", allowed: result.allowed, ms: Date.now() - started });
      sendJson(res, 200, result.body);
    } catch (err) {
      const failure =
        err instanceof UpstreamFailure ? err : new UpstreamFailure(`internal error in the shim (${describeTransportError(err)})`, 500);
      const answer = failureReview(apiVersion, uid, config.failurePolicy, failure);
      log(config.failurePolicy === "Fail" ? "error" : "warn", "admission", {
        ...subject,
        caller: caller.method,
        outcome: "failure",
        failurePolicy: config.failurePolicy,
        allowed: answer.response.allowed,
        cause: failure.message,
        upstreamStatus: failure.upstreamStatus,
        ms: Date.now() - started,
      });
      sendJson(res, 200, answer);
    }
  }

  /**
   * @param {http.IncomingMessage} req
   * @param {http.ServerResponse} res
   */
  const handler = (req, res) => {
    handle(req, res).catch((err) => {
      log("error", "unhandled error", { error: describeTransportError(err) });
      if (!res.headersSent) sendError(res, 500, "INTERNAL_ERROR", "internal error in the shim");
      else res.destroy();
    });
  };
  return Object.assign(handler, { close: () => agent.destroy() });
}

/**
 * @param {string} certFile
 * @param {string} keyFile
 * @param {string | undefined} caFile  CAs for client certificates (CLIENT_CA_FILE)
 * @returns {{ cert: Buffer, key: Buffer, ca?: Buffer }}
 */
function readTls(certFile, keyFile, caFile) {
  return { cert: readFileSync(certFile), key: readFileSync(keyFile), ...(caFile !== undefined ? { ca: readFileSync(caFile) } : {}) };
}

/** @param {{ cert: Buffer, key: Buffer, ca?: Buffer }} a @param {{ cert: Buffer, key: Buffer, ca?: Buffer }} b */
function sameTls(a, b) {
  return a.cert.equals(b.cert) && a.key.equals(b.key) && (a.ca === undefined ? b.ca === undefined : b.ca !== undefined && a.ca.equals(b.ca));
}

/**
 * Creates (does not start) the server: HTTPS when TLS files are configured, else plain HTTP.
 * @param {ShimConfig} config
 * @param {{ log?: Logger, tlsReloadIntervalMs?: number }} [options]
 * @returns {{ server: http.Server | https.Server, tls: boolean, close: () => Promise<void> }}
 */
export function createShimServer(config, options = {}) {
  const log = options.log ?? jsonLogger(config.logLevel);
  const handler = createHandler(config, { log });
  /** @type {http.Server | https.Server} */
  let server;
  /** @type {NodeJS.Timeout | undefined} */
  let reloadTimer;
  if (config.tlsCertFile !== undefined && config.tlsKeyFile !== undefined) {
    const certFile = config.tlsCertFile;
    const keyFile = config.tlsKeyFile;
    const caFile = config.clientCaFile;
    let current = readTls(certFile, keyFile, caFile);
    // A client certificate is asked for, not required: kubelet probes and token callers come without one,
    // and a refused caller gets a JSON 401/403 rather than a failed handshake (shim/callers.mjs).
    const tlsServer = https.createServer(
      { ...current, minVersion: "TLSv1.2", requestCert: caFile !== undefined, rejectUnauthorized: false },
      handler,
    );
    server = tlsServer;
    reloadTimer = setInterval(() => {
      try {
        const next = readTls(certFile, keyFile, caFile);
        if (sameTls(next, current)) return;
        tlsServer.setSecureContext({ ...next, minVersion: "TLSv1.2" });
        current = next;
        log("info", "reloaded TLS certificate", { certFile });
      } catch (err) {
        // Mid-rotation (cert and key not yet both replaced): keep the old pair, try again next round.
        log("warn", "TLS reload failed; keeping the current certificate", { error: describeTransportError(err) });
      }
    }, options.tlsReloadIntervalMs ?? TLS_RELOAD_INTERVAL_MS);
    reloadTimer.unref();
  } else {
    server = http.createServer(handler);
  }
  // The API server gives up after timeoutSeconds anyway; do not hold slow or stuck clients longer.
  server.requestTimeout = Math.max(30_000, config.timeoutMs + 5_000);
  server.headersTimeout = 10_000;
  server.keepAliveTimeout = 65_000;

  return {
    server,
    tls: reloadTimer !== undefined,
    close: () =>
      new Promise((resolve) => {
        if (reloadTimer) clearInterval(reloadTimer);
        handler.close();
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}

/**
 * Creates the server and listens; resolves once it accepts connections.
 * @param {ShimConfig} config
 * @param {{ log?: Logger, tlsReloadIntervalMs?: number }} [options]
 */
export async function startShim(config, options = {}) {
  const shim = createShimServer(config, options);
  await new Promise((resolve, reject) => {
    shim.server.once("error", reject);
    const done = () => {
      shim.server.removeListener("error", reject);
      resolve(undefined);
    };
    if (config.host !== undefined) shim.server.listen(config.port, config.host, done);
    else shim.server.listen(config.port, done);
  });
  const address = shim.server.address();
  const port = typeof address === "object" && address !== null ? address.port : config.port;
  const host = config.host === undefined || config.host.includes(":") ? `[${config.host ?? "::"}]` : config.host;
  return { ...shim, port, url: `${shim.tls ? "https" : "http"}://${host}:${port}` };
}
