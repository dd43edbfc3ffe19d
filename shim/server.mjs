// Entry point: `node shim/server.mjs` reads the environment, starts the shim and shuts down gracefully on SIGTERM/SIGINT.
// @ts-check
import { ConfigError, jsonLogger, loadConfig, startShim, VERSION } from "./shim.mjs";

/** How long in-flight reviews may take to finish after SIGTERM before the process exits anyway. */
const SHUTDOWN_GRACE_MS = 15_000;

async function main() {
  let config;
  try {
    config = loadConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`trustgate-shim: configuration error: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const log = jsonLogger(config.logLevel);
  const shim = await startShim(config, { log });
  log("info", "trustgate-shim listening", {
    version: VERSION,
    url: shim.url,
    tls: shim.tls,
    trustgate: config.trustgateUrl.origin,
    policy: config.policy,
    mutate: config.mutate,
    timeoutMs: config.timeoutMs,
    failurePolicy: config.failurePolicy,
    maxBodyBytes: config.maxBodyBytes,
  });
  const callers = [
    ...(config.clientCaFile !== undefined ? ["client-certificate"] : []),
    ...(config.callerToken !== undefined || config.callerTokenFile !== undefined ? ["token"] : []),
  ];
  log("info", "callers", { authenticatedBy: callers, clientCertNames: config.clientCertNames ?? null });
  if (config.allowUnauthenticatedCallers) {
    log("warn", "ALLOW_UNAUTHENTICATED_CALLERS=true: anyone who can reach the port gets decisions; trustgate records their reviews' user and namespace as claimed only");
  }
  if (!shim.tls) log("warn", "serving plain HTTP: the Kubernetes API server only calls webhooks over HTTPS (set TLS_CERT_FILE and TLS_KEY_FILE)");

  let stopping = false;
  const stop = (/** @type {string} */ signal) => {
    if (stopping) return;
    stopping = true;
    // Kubernetes removes the pod from the Service's endpoints only after sending SIGTERM; keep serving
    // for SHUTDOWN_DELAY_MS so the API server's in-flight calls do not meet a closed port.
    log("info", "shutting down", { signal, delayMs: config.shutdownDelayMs });
    setTimeout(() => {
      const hard = setTimeout(() => process.exit(0), SHUTDOWN_GRACE_MS);
      hard.unref();
      shim.close().then(() => process.exit(0));
    }, config.shutdownDelayMs);
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

main().catch((err) => {
  process.stderr.write(`trustgate-shim: failed to start: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
