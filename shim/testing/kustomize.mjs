// Renders deploy/kubernetes's Kustomize examples with the machine's kubectl (offline), for the manifest checks and the e2e test.
// @ts-check
import { execFile } from "node:child_process";
import { cp, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";

const run = promisify(execFile);

export const DEPLOY_DIR = fileURLToPath(new URL("../../deploy/kubernetes/", import.meta.url));
export const SHIM_HOST = "trustgate-shim.trustgate-system.svc";

/** The example directories (each a documented variant), sorted. */
export async function exampleNames() {
  const entries = await readdir(join(DEPLOY_DIR, "examples"), { withFileTypes: true });
  return entries.filter((e) => e.isDirectory()).map((e) => e.name).sort();
}

/**
 * A self-signed serving certificate for the shim's Service name, made with openssl as README.md says.
 * @param {string} dir
 * @returns {Promise<{ cert: string, key: string }>} the file paths
 */
export async function makeServingCertificate(dir) {
  const cert = join(dir, "tls.crt");
  const key = join(dir, "tls.key");
  await run("openssl", [
    "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "365",
    "-subj", `/CN=${SHIM_HOST}`,
    "-addext", `subjectAltName=DNS:${SHIM_HOST},DNS:${SHIM_HOST}.cluster.local`,
    "-keyout", key, "-out", cert,
  ]);
  return { cert, key };
}

/**
 * Parses a multi-document YAML stream strictly (no duplicate keys, no warnings).
 * @param {string} text
 * @param {string} what named in errors
 * @returns {any[]}
 */
export function parseDocuments(text, what) {
  const out = [];
  for (const doc of parseAllDocuments(text, { prettyErrors: true, strict: true, uniqueKeys: true })) {
    const problems = [...doc.errors, ...doc.warnings];
    if (problems.length > 0) throw new Error(`${what}: ${problems.map((e) => e.message).join("; ")}`);
    const value = doc.toJS();
    if (value !== null) out.push(value);
  }
  return out;
}

/**
 * `kubectl kustomize examples/<name>` on a copy of deploy/kubernetes, with the certificate files
 * examples/shim-provided-certificate expects (tls.crt, tls.key, ca.crt) made first in every example
 * (the others do not read them), as a user following README.md would.
 * @param {string} name
 * @returns {Promise<{ docs: any[], caPem: string }>} the rendered documents, and the PEM written as ca.crt
 */
export async function renderExample(name) {
  const root = await mkdtemp(join(tmpdir(), "trustgate-kustomize-"));
  try {
    await cp(DEPLOY_DIR, root, { recursive: true });
    const dir = join(root, "examples", name);
    const { cert } = await makeServingCertificate(dir);
    await cp(cert, join(dir, "ca.crt"));
    const caPem = await readFile(cert, "utf8");
    const { stdout } = await run("kubectl", ["kustomize", dir], { maxBuffer: 16 * 1024 * 1024 });
    return { docs: parseDocuments(stdout, `kubectl kustomize examples/${name}`), caPem };
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

/**
 * The shim container's env (name → value) of the rendered Deployment trustgate-shim.
 * @param {any[]} docs
 * @returns {Record<string, string>}
 */
export function shimEnv(docs) {
  const deployment = docs.find((d) => d.kind === "Deployment" && d.metadata?.name === "trustgate-shim");
  if (!deployment) throw new Error("no Deployment trustgate-shim in the rendered documents");
  const container = deployment.spec.template.spec.containers.find((/** @type {any} */ c) => c.name === "shim");
  return Object.fromEntries(container.env.map((/** @type {any} */ e) => [e.name, e.value]));
}
