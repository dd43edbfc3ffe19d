// TLS serving (as the API server calls it), certificate rotation, and the real `node shim/server.mjs` process end to end.
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { loadConfig, startShim } from "../shim.mjs";
import { freePort, podReview, startFakeTrustgate } from "../testing/helpers.mjs";

const run = promisify(execFile);
const SERVER = fileURLToPath(new URL("../server.mjs", import.meta.url));

// openssl makes the test certificates; scripts/install-lab.sh installs it (npm test's pretest).
// Without it these tests fail with the spawn error rather than being skipped.

/** A throwaway self-signed certificate for 127.0.0.1, written to dir/name.{crt,key}. */
async function selfSigned(dir, name) {
  const crt = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  await run("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1",
    "-subj", `/CN=${name}`, "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", crt,
  ]);
  return { crt, key, pem: await readFile(crt, "utf8") };
}

/** HTTPS request trusting only `ca`; resolves status, body and the peer certificate's fingerprint. */
function httpsRequest(url, ca, method = "GET", body) {
  return new Promise((resolve, reject) => {
    const req = https.request(url, { method, ca, agent: false, headers: body ? { "Content-Type": "application/json" } : {} }, (res) => {
      const chunks = [];
      const fingerprint = /** @type {tls.TLSSocket} */ (res.socket).getPeerCertificate().fingerprint256;
      res.on("data", (c) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString("utf8"), fingerprint }));
    });
    req.on("error", reject);
    req.end(body);
  });
}

describe("TLS", () => {
  let dir;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "trustgate-shim-tls-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("serves HTTPS (TLS 1.2+) with the configured certificate and forwards reviews", async () => {
    const cert = await selfSigned(dir, "serving");
    const upstream = await startFakeTrustgate();
    const config = loadConfig({
      HOST: "127.0.0.1", PORT: "0", TRUSTGATE_URL: upstream.url, TRUSTGATE_TOKEN: "t", TRUSTGATE_POLICY: "p", ALLOW_UNAUTHENTICATED_CALLERS: "true",
      TLS_CERT_FILE: cert.crt, TLS_KEY_FILE: cert.key,
    });
    const shim = await startShim(config, { log: () => {} });
    try {
      assert.equal(shim.tls, true);
      assert.match(shim.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const health = await httpsRequest(`${shim.url}/healthz`, cert.pem);
      assert.equal(health.status, 200);
      assert.equal(health.fingerprint, new X509Certificate(cert.pem).fingerprint256);
      const review = podReview();
      const res = await httpsRequest(`${shim.url}/validate`, cert.pem, "POST", JSON.stringify(review));
      assert.equal(res.status, 200);
      assert.equal(JSON.parse(res.body).response.uid, review.request.uid);
      // TLS 1.1 and older are refused.
      await assert.rejects(
        new Promise((resolve, reject) => {
          const socket = tls.connect({ host: "127.0.0.1", port: shim.port, ca: cert.pem, maxVersion: "TLSv1.1", minVersion: "TLSv1" }, () => {
            socket.end();
            resolve(undefined);
          });
          socket.on("error", reject);
        }),
      );
    } finally {
      await shim.close();
      await upstream.close();
    }
  });

  it("picks up a rotated certificate without a restart", async () => {
    const first = await selfSigned(dir, "first");
    const second = await selfSigned(dir, "second");
    const crt = join(dir, "live.crt");
    const key = join(dir, "live.key");
    await writeFile(crt, await readFile(first.crt));
    await writeFile(key, await readFile(first.key));
    const upstream = await startFakeTrustgate();
    const config = loadConfig({
      HOST: "127.0.0.1", PORT: "0", TRUSTGATE_URL: upstream.url, TRUSTGATE_TOKEN: "t", TRUSTGATE_POLICY: "p", ALLOW_UNAUTHENTICATED_CALLERS: "true",
      TLS_CERT_FILE: crt, TLS_KEY_FILE: key,
    });
    const logs = [];
    const shim = await startShim(config, { log: (level, msg) => logs.push(`${level} ${msg}`), tlsReloadIntervalMs: 50 });
    try {
      const before = await httpsRequest(`${shim.url}/healthz`, [first.pem, second.pem]);
      assert.equal(before.fingerprint, new X509Certificate(first.pem).fingerprint256);
      await writeFile(crt, await readFile(second.crt));
      await writeFile(key, await readFile(second.key));
      const deadline = Date.now() + 5_000;
      let now;
      do {
        await new Promise((r) => setTimeout(r, 60));
        now = await httpsRequest(`${shim.url}/healthz`, [first.pem, second.pem]);
      } while (now.fingerprint !== new X509Certificate(second.pem).fingerprint256 && Date.now() < deadline);
      assert.equal(now.fingerprint, new X509Certificate(second.pem).fingerprint256);
      assert.ok(logs.includes("info reloaded TLS certificate"));
    } finally {
      await shim.close();
      await upstream.close();
    }
  });

  it("`node shim/server.mjs` serves over TLS from env and files, and exits 0 on SIGTERM", async () => {
    const cert = await selfSigned(dir, "process");
    const tokenFile = join(dir, "token");
    await writeFile(tokenFile, "file-token\n");
    const upstream = await startFakeTrustgate();
    const port = await freePort();
    const child = spawn(process.execPath, [SERVER], {
      env: {
        PATH: process.env.PATH ?? "",
        HOST: "127.0.0.1",
        PORT: String(port),
        TRUSTGATE_URL: upstream.url,
        TRUSTGATE_TOKEN_FILE: tokenFile,
        TRUSTGATE_POLICY: "prod",
        TLS_CERT_FILE: cert.crt,
        TLS_KEY_FILE: cert.key,
        ALLOW_UNAUTHENTICATED_CALLERS: "true",
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (c) => (output += c));
    child.stderr.on("data", (c) => (output += c));
    const exited = new Promise((resolve) => child.once("exit", (code, signal) => resolve({ code, signal })));
    try {
      const url = `https://127.0.0.1:${port}`;
      const deadline = Date.now() + 10_000;
      for (;;) {
        try {
          const health = await httpsRequest(`${url}/healthz`, cert.pem);
          if (health.status === 200) break;
        } catch (err) {
          if (Date.now() > deadline) throw new Error(`shim did not start: ${err}\n${output}`);
          await new Promise((r) => setTimeout(r, 100));
        }
      }
      const review = podReview();
      const res = await httpsRequest(`${url}/validate`, cert.pem, "POST", JSON.stringify(review));
      assert.equal(res.status, 200);
      assert.equal(JSON.parse(res.body).response.uid, review.request.uid);
      assert.equal(upstream.seen.at(-1).headers.authorization, "Bearer file-token");
      assert.equal(upstream.seen.at(-1).url, "/v1/admission?policy=prod");
      // The log line is written before the answer, but the pipe may deliver it a moment later.
      for (let i = 0; i < 50 && !output.includes(review.request.uid); i++) await new Promise((r) => setTimeout(r, 20));
      const lines = output.trim().split("\n").map((l) => JSON.parse(l));
      assert.ok(lines.some((l) => l.msg === "trustgate-shim listening" && l.tls === true && l.policy === "prod"));
      assert.ok(lines.some((l) => l.msg === "admission" && l.uid === review.request.uid && l.outcome === "forwarded"));
      assert.ok(!output.includes("file-token"), "the token is never logged");
      child.kill("SIGTERM");
      assert.deepEqual(await exited, { code: 0, signal: null });
    } finally {
      child.kill("SIGKILL");
      await upstream.close();
    }
  });
});
