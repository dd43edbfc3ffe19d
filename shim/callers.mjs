// Who may call the shim: the API server, known by its client certificate or by a shared token (a bearer token from its webhook kubeconfig).
// @ts-check
import { createHash, timingSafeEqual } from "node:crypto";
import { readFile } from "node:fs/promises";

/**
 * How the caller was authenticated; trustgate is told with the `Trustgate-Caller` header, and records a
 * review's namespace and user as facts only when it was not "unauthenticated" (docs/admission-callers.md).
 * @typedef {"client-certificate" | "token" | "unauthenticated"} CallerMethod
 * @typedef {{
 *   clientCaFile?: string,
 *   clientCertNames?: readonly string[],
 *   callerToken?: string,
 *   callerTokenFile?: string,
 *   allowUnauthenticatedCallers: boolean,
 * }} CallerConfig
 * @typedef {{ ok: true, method: CallerMethod } | { ok: false, status: 401 | 403, code: string, message: string }} CallerCheck
 */

export const CALLER_HEADER = "Trustgate-Caller";

/** @param {string} text */
function sha256(text) {
  return createHash("sha256").update(text).digest();
}

/**
 * The names a client certificate answers to: its subject CN and its DNS subjectAltNames.
 * @param {import("node:tls").PeerCertificate} cert
 */
function certificateNames(cert) {
  const names = [];
  const cn = cert.subject?.CN;
  if (typeof cn === "string") names.push(cn);
  else if (Array.isArray(cn)) names.push(...cn);
  for (const entry of (cert.subjectaltname ?? "").split(",")) {
    const m = /^\s*DNS:(.+?)\s*$/.exec(entry);
    if (m?.[1]) names.push(m[1]);
  }
  return names;
}

/**
 * Checks one request's caller before its body is read.
 * @param {CallerConfig} config
 */
export function createCallerCheck(config) {
  /** @returns {Promise<string | undefined>} the shared token; undefined when none is configured */
  async function callerToken() {
    if (config.callerToken !== undefined) return config.callerToken;
    if (config.callerTokenFile === undefined) return undefined;
    // Read every time, so a rotated Secret applies without a restart; unreadable means nobody gets in.
    const text = await readFile(config.callerTokenFile, "utf8").catch(() => "");
    const token = text.trim();
    return token === "" || /\s/.test(token) ? "" : token;
  }

  /**
   * @param {import("node:http").IncomingMessage} req
   * @returns {Promise<CallerCheck>}
   */
  return async function check(req) {
    // The certificate is verified by TLS against CLIENT_CA_FILE (requestCert, not rejectUnauthorized:
    // probes and token callers connect without one); here only its outcome and names are read.
    const socket = /** @type {import("node:tls").TLSSocket} */ (req.socket);
    if (config.clientCaFile !== undefined && socket.authorized === true) {
      const names = config.clientCertNames;
      if (names === undefined || names.length === 0) return { ok: true, method: "client-certificate" };
      const presented = certificateNames(socket.getPeerCertificate());
      if (presented.some((n) => names.includes(n))) return { ok: true, method: "client-certificate" };
      return {
        ok: false,
        status: 403,
        code: "FORBIDDEN",
        message: "the client certificate is valid but names none of CLIENT_CERT_NAMES",
      };
    }
    const expected = await callerToken();
    if (expected !== undefined) {
      const m = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? "");
      // Hashes first: equal lengths, so the comparison leaks nothing about the token's length.
      if (m?.[1] !== undefined && expected !== "" && timingSafeEqual(sha256(m[1]), sha256(expected))) {
        return { ok: true, method: "token" };
      }
    }
    if (config.allowUnauthenticatedCallers) return { ok: true, method: "unauthenticated" };
    const ways = [
      ...(config.clientCaFile !== undefined ? ["a client certificate signed by CLIENT_CA_FILE"] : []),
      ...(expected !== undefined ? ["the caller token (Authorization: Bearer)"] : []),
    ];
    return { ok: false, status: 401, code: "UNAUTHORIZED", message: `the caller is not authenticated: expected ${ways.join(" or ")}` };
  };
}
