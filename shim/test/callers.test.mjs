// Only the API server may call the shim: its client certificate (verified against CLIENT_CA_FILE) or the caller token; others get 401/403 and nothing is forwarded.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import https from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { after, before, describe, it } from "node:test";
import { ConfigError, loadConfig, startShim } from "../shim.mjs";
import { podReview, post, startFakeTrustgate, startTestShim } from "../testing/helpers.mjs";

const run = promisify(execFile);
const SERVER = fileURLToPath(new URL("../server.mjs", import.meta.url));
const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

/** A throwaway CA: dir/name.{crt,key}. */
async function makeCa(dir, name) {
  const crt = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  await run("openssl", ["req", "-x509", ...EC, "-days", "1", "-subj", `/CN=${name}`, "-keyout", key, "-out", crt]);
  return { crt, key, pem: await readFile(crt, "utf8") };
}

/** A certificate signed by `ca`, for `usage` (serverAuth or clientAuth), with a CN and subjectAltNames. */
async function issue(dir, ca, name, usage, san) {
  const crt = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const ext = join(dir, `${name}.ext`);
  await run("openssl", ["req", "-new", ...EC, "-subj", `/CN=${name}`, "-keyout", key, "-out", csr]);
  await writeFile(ext, `extendedKeyUsage=${usage}\nsubjectAltName=${san}\n`);
  await run("openssl", ["x509", "-req", "-in", csr, "-CA", ca.crt, "-CAkey", ca.key, "-CAcreateserial", "-days", "1", "-extfile", ext, "-out", crt]);
  return { crt, key, pem: await readFile(crt, "utf8"), keyPem: await readFile(key, "utf8") };
}

/** An HTTPS request trusting `ca`, presenting `client` ({ pem, keyPem }) when given. */
function request(url, ca, { method = "GET", body, client, headers = {} } = {}) {
  return new Promise((resolve, reject) => {
    const req = https.request(
      url,
      {
        method,
        ca,
        agent: false,
        ...(client ? { cert: client.pem, key: client.keyPem } : {}),
        headers: { ...(body ? { "Content-Type": "application/json" } : {}), ...headers },
      },
      (res) => {
        const chunks = [];
        res.on("data", (c) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let json;
          try {
            json = JSON.parse(text);
          } catch {
            json = undefined;
          }
          resolve({ status: res.statusCode, headers: res.headers, json });
        });
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

describe("caller configuration", () => {
  const BASE = { TRUSTGATE_URL: "https://trustgate.example.workers.dev", TRUSTGATE_TOKEN: "t", TRUSTGATE_POLICY: "prod" };
  const refused = [
    [{}, /callers are not authenticated: set CLIENT_CA_FILE .* or CALLER_TOKEN_FILE .* or ALLOW_UNAUTHENTICATED_CALLERS=true/],
    [{ CLIENT_CA_FILE: "/ca.pem" }, /CLIENT_CA_FILE needs TLS_CERT_FILE/],
    [{ CALLER_TOKEN: "c", CLIENT_CERT_NAMES: "kube-apiserver" }, /CLIENT_CERT_NAMES needs CLIENT_CA_FILE/],
    [{ CALLER_TOKEN: "c", CALLER_TOKEN_FILE: "/c" }, /not both/],
    [{ CALLER_TOKEN: "a b" }, /CALLER_TOKEN must not contain whitespace/],
    [{ ALLOW_UNAUTHENTICATED_CALLERS: "perhaps" }, /ALLOW_UNAUTHENTICATED_CALLERS must be true or false/],
  ];
  for (const [overrides, message] of refused) {
    it(`refuses ${JSON.stringify(overrides)}`, () => {
      assert.throws(() => loadConfig({ ...BASE, ...overrides }), (err) => err instanceof ConfigError && message.test(err.message));
    });
  }

  it("reads every caller setting; unauthenticated callers only when said explicitly", () => {
    const config = loadConfig({
      ...BASE,
      TLS_CERT_FILE: "/tls/tls.crt",
      TLS_KEY_FILE: "/tls/tls.key",
      CLIENT_CA_FILE: "/tls/ca.crt",
      CLIENT_CERT_NAMES: "kube-apiserver, apiserver.example",
      CALLER_TOKEN_FILE: "/caller/token",
    });
    assert.equal(config.clientCaFile, "/tls/ca.crt");
    assert.deepEqual(config.clientCertNames, ["kube-apiserver", "apiserver.example"]);
    assert.equal(config.callerTokenFile, "/caller/token");
    assert.equal(config.allowUnauthenticatedCallers, false);
    assert.equal(loadConfig({ ...BASE, ALLOW_UNAUTHENTICATED_CALLERS: "true" }).allowUnauthenticatedCallers, true);
  });

  it("`node shim/server.mjs` without any caller setting exits with code 2", async () => {
    const env = { PATH: process.env.PATH ?? "", ...BASE };
    await assert.rejects(run(process.execPath, [SERVER], { env, timeout: 10_000 }), (err) => {
      assert.equal(err.code, 2);
      assert.match(err.stderr, /configuration error: the shim's callers are not authenticated/);
      return true;
    });
  });
});

describe("the caller token", () => {
  let upstream;
  let shim;
  let dir;
  let file;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "trustgate-shim-callers-"));
    file = join(dir, "caller-token");
    await writeFile(file, "first-caller\n");
    upstream = await startFakeTrustgate();
    shim = await startTestShim({ TRUSTGATE_URL: upstream.url, TRUSTGATE_TOKEN: "shim-token", ALLOW_UNAUTHENTICATED_CALLERS: "false", CALLER_TOKEN_FILE: file });
  });
  after(async () => {
    await shim.close();
    await upstream.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("refuses a review without it, or with another, with 401 before forwarding anything", async () => {
    const before = upstream.seen.length;
    for (const headers of [{}, { Authorization: "Bearer wrong" }, { Authorization: "Basic Zmlyc3QtY2FsbGVy" }, { Authorization: "Bearer shim-token" }]) {
      const res = await post(`${shim.url}/validate`, podReview(), headers);
      assert.equal(res.status, 401, JSON.stringify(headers));
      assert.equal(res.json.error.code, "UNAUTHORIZED");
      assert.equal(res.headers.get("www-authenticate"), 'Bearer realm="trustgate-shim"');
    }
    assert.equal(upstream.seen.length, before, "nothing forwarded");
    assert.ok(shim.logs.some((l) => l.msg === "caller refused" && l.fields.status === 401));
  });

  it("forwards a review that carries it, with the shim's own token and Trustgate-Caller: token", async () => {
    const review = podReview();
    const res = await post(`${shim.url}/validate`, review, { Authorization: "Bearer first-caller" });
    assert.equal(res.status, 200);
    assert.equal(res.json.response.uid, review.request.uid);
    const seen = upstream.seen.at(-1);
    assert.equal(seen.headers.authorization, "Bearer shim-token", "the caller's token never reaches trustgate");
    assert.equal(seen.headers["trustgate-caller"], "token");
    assert.equal(shim.logs.find((l) => l.fields.uid === review.request.uid)?.fields.caller, "token");
  });

  it("is read from its file on every request, so a rotated Secret applies", async () => {
    await writeFile(file, "second-caller");
    assert.equal((await post(`${shim.url}/validate`, podReview(), { Authorization: "Bearer first-caller" })).status, 401);
    assert.equal((await post(`${shim.url}/validate`, podReview(), { Authorization: "Bearer second-caller" })).status, 200);
  });

  it("health endpoints need no credentials (kubelet probes send none)", async () => {
    assert.equal((await fetch(`${shim.url}/healthz`)).status, 200);
  });
});

describe("ALLOW_UNAUTHENTICATED_CALLERS=true", () => {
  it("forwards any caller's review and tells trustgate: Trustgate-Caller: unauthenticated", async () => {
    const upstream = await startFakeTrustgate();
    const shim = await startTestShim({ TRUSTGATE_URL: upstream.url });
    try {
      const res = await post(`${shim.url}/validate`, podReview());
      assert.equal(res.status, 200);
      assert.equal(upstream.seen.at(-1).headers["trustgate-caller"], "unauthenticated");
    } finally {
      await shim.close();
      await upstream.close();
    }
  });
});

describe("the API server's client certificate (mTLS)", () => {
  let dir;
  let ca;
  let otherCa;
  let serving;
  let apiserver;
  let stranger;
  let upstream;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "trustgate-shim-mtls-"));
    ca = await makeCa(dir, "cluster-ca");
    otherCa = await makeCa(dir, "other-ca");
    serving = await issue(dir, ca, "trustgate-shim", "serverAuth", "IP:127.0.0.1");
    apiserver = await issue(dir, ca, "kube-apiserver", "clientAuth", "DNS:apiserver.cluster.example");
    stranger = await issue(dir, otherCa, "kube-apiserver-lookalike", "clientAuth", "DNS:apiserver.cluster.example");
    upstream = await startFakeTrustgate();
  });
  after(async () => {
    await upstream.close();
    await rm(dir, { recursive: true, force: true });
  });

  async function start(extra = {}) {
    const config = loadConfig({
      HOST: "127.0.0.1", PORT: "0", TRUSTGATE_URL: upstream.url, TRUSTGATE_TOKEN: "shim-token", TRUSTGATE_POLICY: "p",
      TLS_CERT_FILE: serving.crt, TLS_KEY_FILE: serving.key, CLIENT_CA_FILE: ca.crt, ...extra,
    });
    const logs = [];
    const shim = await startShim(config, { log: (level, msg, fields) => logs.push({ level, msg, fields }) });
    return { ...shim, logs };
  }

  it("forwards a review from a client certificate the CA signed, with Trustgate-Caller: client-certificate", async () => {
    const shim = await start();
    try {
      const review = podReview();
      const res = await request(`${shim.url}/validate`, ca.pem, { method: "POST", body: JSON.stringify(review), client: apiserver });
      assert.equal(res.status, 200);
      assert.equal(res.json.response.uid, review.request.uid);
      assert.equal(upstream.seen.at(-1).headers["trustgate-caller"], "client-certificate");
      assert.equal(upstream.seen.at(-1).headers.authorization, "Bearer shim-token");
    } finally {
      await shim.close();
    }
  });

  it("refuses no certificate, or one another CA signed, with 401; probes still pass without one", async () => {
    const shim = await start();
    try {
      const before = upstream.seen.length;
      for (const client of [undefined, stranger]) {
        const res = await request(`${shim.url}/validate`, ca.pem, { method: "POST", body: JSON.stringify(podReview()), client });
        assert.equal(res.status, 401, client ? "a stranger's certificate" : "no certificate");
        assert.equal(res.json.error.code, "UNAUTHORIZED");
        assert.match(res.json.error.message, /client certificate signed by CLIENT_CA_FILE/);
      }
      assert.equal(upstream.seen.length, before, "nothing forwarded");
      assert.equal((await request(`${shim.url}/readyz`, ca.pem)).status, 200);
    } finally {
      await shim.close();
    }
  });

  it("CLIENT_CERT_NAMES: a valid certificate must name one of them (CN or DNS subjectAltName), else 403", async () => {
    for (const [names, status] of [["kube-apiserver", 200], ["apiserver.cluster.example", 200], ["someone-else", 403]]) {
      const shim = await start({ CLIENT_CERT_NAMES: names });
      try {
        const res = await request(`${shim.url}/validate`, ca.pem, { method: "POST", body: JSON.stringify(podReview()), client: apiserver });
        assert.equal(res.status, status, names);
        if (status === 403) assert.equal(res.json.error.code, "FORBIDDEN");
      } finally {
        await shim.close();
      }
    }
  });

  it("with a caller token as well, either one is enough", async () => {
    const shim = await start({ CALLER_TOKEN: "caller-secret" });
    try {
      const body = JSON.stringify(podReview());
      assert.equal((await request(`${shim.url}/validate`, ca.pem, { method: "POST", body, client: apiserver })).status, 200);
      const byToken = await request(`${shim.url}/validate`, ca.pem, { method: "POST", body, headers: { Authorization: "Bearer caller-secret" } });
      assert.equal(byToken.status, 200);
      assert.equal(upstream.seen.at(-1).headers["trustgate-caller"], "token");
      assert.equal((await request(`${shim.url}/validate`, ca.pem, { method: "POST", body, client: stranger })).status, 401);
    } finally {
      await shim.close();
    }
  });
});
