// Configuration from the environment: defaults, validation, and `node shim/server.mjs` refusing bad settings.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { describe, it } from "node:test";
import { ConfigError, DEFAULT_MAX_BODY_BYTES, DEFAULT_TIMEOUT_MS, loadConfig } from "../shim.mjs";

const run = promisify(execFile);
const SERVER = fileURLToPath(new URL("../server.mjs", import.meta.url));
const BASE = { TRUSTGATE_URL: "https://trustgate.example.workers.dev", TRUSTGATE_TOKEN: "t", TRUSTGATE_POLICY: "prod", CALLER_TOKEN: "c" };

describe("loadConfig", () => {
  it("has the documented defaults", () => {
    const config = loadConfig(BASE);
    assert.equal(config.trustgateUrl.href, "https://trustgate.example.workers.dev/");
    assert.equal(config.policy, "prod");
    assert.equal(config.mutate, false);
    assert.equal(config.timeoutMs, DEFAULT_TIMEOUT_MS);
    assert.equal(config.timeoutMs, 9_000);
    assert.equal(config.failurePolicy, "Fail");
    assert.equal(config.maxBodyBytes, DEFAULT_MAX_BODY_BYTES);
    assert.equal(config.port, 8080, "plain HTTP without TLS files");
    assert.equal(config.host, undefined);
    assert.equal(config.logLevel, "info");
    assert.equal(config.shutdownDelayMs, 0);
  });

  it("uses port 8443 with TLS files, and reads every setting", () => {
    const config = loadConfig({
      ...BASE,
      TRUSTGATE_MUTATE: "true",
      TRUSTGATE_TIMEOUT_MS: "4000",
      FAILURE_POLICY: "Ignore",
      MAX_BODY_BYTES: "1048576",
      TLS_CERT_FILE: "/tls/tls.crt",
      TLS_KEY_FILE: "/tls/tls.key",
      HOST: "0.0.0.0",
      LOG_LEVEL: "warn",
      SHUTDOWN_DELAY_MS: "5000",
    });
    assert.equal(config.mutate, true);
    assert.equal(config.timeoutMs, 4000);
    assert.equal(config.failurePolicy, "Ignore");
    assert.equal(config.maxBodyBytes, 1048576);
    assert.equal(config.port, 8443);
    assert.equal(config.tlsCertFile, "/tls/tls.crt");
    assert.equal(config.host, "0.0.0.0");
    assert.equal(config.logLevel, "warn");
    assert.equal(config.shutdownDelayMs, 5000);
  });

  const bad = [
    [{ TRUSTGATE_URL: undefined }, /TRUSTGATE_URL is required/],
    [{ TRUSTGATE_URL: "not a url" }, /not a valid URL/],
    [{ TRUSTGATE_URL: "ftp://x.example" }, /must be https/],
    [{ TRUSTGATE_URL: "https://x.example/?policy=p" }, /without credentials, query or fragment/],
    [{ TRUSTGATE_URL: "https://user:pw@x.example" }, /without credentials/],
    [{ TRUSTGATE_URL: "http://trustgate.example.com" }, /clear text/],
    [{ TRUSTGATE_TOKEN: undefined }, /TRUSTGATE_TOKEN_FILE .* or TRUSTGATE_TOKEN is required/],
    [{ TRUSTGATE_TOKEN_FILE: "/x" }, /not both/],
    [{ TRUSTGATE_TOKEN: "a b" }, /whitespace/],
    [{ TRUSTGATE_POLICY: undefined }, /TRUSTGATE_POLICY is required/],
    [{ TRUSTGATE_POLICY: "Prod!" }, /not a valid policy ID/],
    [{ FAILURE_POLICY: "fail" }, /FAILURE_POLICY must be Fail or Ignore/],
    [{ TRUSTGATE_MUTATE: "maybe" }, /TRUSTGATE_MUTATE must be true or false/],
    [{ TRUSTGATE_TIMEOUT_MS: "9s" }, /TRUSTGATE_TIMEOUT_MS must be an integer/],
    [{ TRUSTGATE_TIMEOUT_MS: "30000" }, /from 100 to 29000/],
    [{ MAX_BODY_BYTES: "-1" }, /MAX_BODY_BYTES/],
    // Over trustgate's own cap, the shim would forward reviews trustgate refuses.
    [{ MAX_BODY_BYTES: String(6 * 1024 * 1024 + 1) }, /MAX_BODY_BYTES must be an integer from 1024 to 6291456/],
    [{ TLS_CERT_FILE: "/tls/tls.crt" }, /both TLS_CERT_FILE and TLS_KEY_FILE/],
    [{ LOG_LEVEL: "loud" }, /LOG_LEVEL/],
  ];
  for (const [overrides, message] of bad) {
    it(`refuses ${JSON.stringify(overrides)}`, () => {
      assert.throws(() => loadConfig({ ...BASE, ...overrides }), (err) => err instanceof ConfigError && message.test(err.message));
    });
  }

  it("allows http:// on loopback, and elsewhere only with TRUSTGATE_ALLOW_HTTP=true", () => {
    assert.equal(loadConfig({ ...BASE, TRUSTGATE_URL: "http://127.0.0.1:8787" }).trustgateUrl.port, "8787");
    assert.equal(loadConfig({ ...BASE, TRUSTGATE_URL: "http://localhost:8787" }).trustgateUrl.hostname, "localhost");
    const config = loadConfig({ ...BASE, TRUSTGATE_URL: "http://trustgate.internal", TRUSTGATE_ALLOW_HTTP: "true" });
    assert.equal(config.trustgateUrl.protocol, "http:");
  });
});

describe("node shim/server.mjs", () => {
  it("exits with code 2 and names the variable on a configuration error", async () => {
    const env = { PATH: process.env.PATH ?? "", TRUSTGATE_URL: "https://x.example", TRUSTGATE_TOKEN: "t", CALLER_TOKEN: "c" };
    await assert.rejects(run(process.execPath, [SERVER], { env, timeout: 10_000 }), (err) => {
      assert.equal(err.code, 2);
      assert.match(err.stderr, /configuration error: TRUSTGATE_POLICY is required/);
      return true;
    });
  });
});
