// Every manifest under deploy/kubernetes parses as YAML and holds together: webhooks, selectors, rules, the shim's Deployment.
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, it } from "node:test";
import { parseAllDocuments } from "yaml";
import { DEFAULT_TIMEOUT_MS, ENV_VARS, loadConfig } from "../shim.mjs";

const DEPLOY = fileURLToPath(new URL("../../deploy/kubernetes/", import.meta.url));

async function yamlFiles(dir) {
  const out = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await yamlFiles(path)));
    else if (/\.ya?ml$/.test(entry.name)) out.push(path);
  }
  return out.sort();
}

/** All documents of all manifests: { file, doc }. */
async function manifests() {
  const out = [];
  for (const file of await yamlFiles(DEPLOY)) {
    const text = await readFile(file, "utf8");
    const docs = parseAllDocuments(text, { prettyErrors: true, strict: true, uniqueKeys: true });
    for (const doc of docs) {
      if (doc.errors.length > 0) throw new Error(`${relative(DEPLOY, file)}: ${doc.errors.map((e) => e.message).join("; ")}`);
      if (doc.warnings.length > 0) throw new Error(`${relative(DEPLOY, file)}: ${doc.warnings.map((e) => e.message).join("; ")}`);
      const value = doc.toJS();
      if (value !== null) out.push({ file: relative(DEPLOY, file), doc: value });
    }
  }
  return out;
}

const all = await manifests();
const ofKind = (kind) => all.filter((m) => m.doc.kind === kind);
const webhookConfigs = all.filter((m) => /^(Validating|Mutating)WebhookConfiguration$/.test(m.doc.kind));
const deployment = ofKind("Deployment").find((m) => m.doc.metadata.name === "trustgate-shim")?.doc;
const envOf = (d) => Object.fromEntries(d.spec.template.spec.containers[0].env.map((e) => [e.name, e.value]));

const RESOURCES = ["pods", "pods/ephemeralcontainers", "deployments", "replicasets", "statefulsets", "daemonsets", "jobs", "cronjobs", "replicationcontrollers"];
const GROUP_OF = { pods: "", "pods/ephemeralcontainers": "", replicationcontrollers: "", deployments: "apps", replicasets: "apps", statefulsets: "apps", daemonsets: "apps", jobs: "batch", cronjobs: "batch" };
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

describe("deploy/kubernetes manifests", () => {
  it("every file parses (strict YAML, no duplicate keys) and every document has apiVersion, kind, metadata.name", () => {
    assert.ok(all.length >= 10, `found ${all.length} documents`);
    for (const { file, doc } of all) {
      assert.equal(typeof doc.apiVersion, "string", file);
      assert.equal(typeof doc.kind, "string", file);
      assert.match(doc.metadata?.name ?? "", DNS1123_SUBDOMAIN, `${file}: ${doc.kind} metadata.name`);
    }
  });

  it("has a ValidatingWebhookConfiguration and a MutatingWebhookConfiguration for each mode (direct, via the shim)", () => {
    const key = (m) => `${m.doc.kind}/${m.doc.webhooks[0].clientConfig.url ? "direct" : "shim"}`;
    assert.deepEqual(webhookConfigs.map(key).sort(), [
      "MutatingWebhookConfiguration/direct",
      "MutatingWebhookConfiguration/shim",
      "ValidatingWebhookConfiguration/direct",
      "ValidatingWebhookConfiguration/shim",
    ]);
  });

  for (const { file, doc } of webhookConfigs) {
    describe(`${file}: ${doc.kind} ${doc.metadata.name}`, () => {
      for (const hook of doc.webhooks) {
        it(`${hook.name}: required fields, failure policy, timeout, versions`, () => {
          assert.match(hook.name, /^[a-z0-9-]+(\.[a-z0-9-]+){2,}$/, "a fully qualified webhook name");
          assert.ok(["Fail", "Ignore"].includes(hook.failurePolicy));
          assert.ok(Number.isInteger(hook.timeoutSeconds) && hook.timeoutSeconds >= 1 && hook.timeoutSeconds <= 30);
          assert.equal(hook.sideEffects, "None");
          assert.deepEqual(hook.admissionReviewVersions, ["v1", "v1beta1"]);
          if (doc.kind === "MutatingWebhookConfiguration") assert.ok(["Never", "IfNeeded"].includes(hook.reinvocationPolicy));
        });

        it(`${hook.name}: clientConfig is exactly one of url (https, no query: the API server refuses one) or service`, () => {
          const { url, service } = hook.clientConfig;
          assert.ok((url === undefined) !== (service === undefined));
          if (url !== undefined) {
            const parsed = new URL(url);
            assert.equal(parsed.protocol, "https:");
            assert.equal(parsed.search, "", "query parameters are not permitted in clientConfig.url");
            assert.equal(parsed.hash, "");
            assert.equal(parsed.username, "");
            assert.match(parsed.pathname, /^\/v1\/admission\/[a-z0-9][a-z0-9._-]{0,62}(\/mutate)?$/);
            assert.equal(parsed.pathname.endsWith("/mutate"), doc.kind === "MutatingWebhookConfiguration");
          } else {
            assert.equal(service.namespace, "trustgate-system");
            assert.equal(service.name, "trustgate-shim");
            assert.equal(service.port, 443);
            // The API server's check: each path segment a DNS-1123 subdomain.
            for (const segment of service.path.slice(1).split("/")) assert.match(segment, DNS1123_SUBDOMAIN);
            assert.equal(service.path, doc.kind === "MutatingWebhookConfiguration" ? "/mutate" : "/validate");
            assert.equal(doc.metadata.annotations?.["cert-manager.io/inject-ca-from"], "trustgate-system/trustgate-shim");
          }
        });

        it(`${hook.name}: namespaceSelector leaves out kube-system, the shim's namespace and connaisseur/webhook=ignore`, () => {
          const expressions = hook.namespaceSelector.matchExpressions;
          assert.deepEqual(expressions, [
            { key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["kube-system", "trustgate-system"] },
            { key: "securesystemsengineering.connaisseur/webhook", operator: "NotIn", values: ["ignore"] },
          ]);
        });

        it(`${hook.name}: rules cover every workload resource for CREATE and UPDATE, in the right API group`, () => {
          const covered = new Set();
          for (const rule of hook.rules) {
            assert.deepEqual(rule.operations, ["CREATE", "UPDATE"]);
            assert.deepEqual(rule.apiVersions, ["v1"]);
            assert.equal(rule.scope, "Namespaced");
            assert.equal(rule.apiGroups.length, 1);
            for (const resource of rule.resources) {
              assert.equal(GROUP_OF[resource], rule.apiGroups[0], `${resource} is in group "${GROUP_OF[resource]}"`);
              covered.add(resource);
            }
          }
          assert.deepEqual([...covered].sort(), [...RESOURCES].sort());
          assert.equal(hook.matchPolicy, "Equivalent");
        });
      }
    });
  }

  it("the shim's timeout is under every shim webhook's timeoutSeconds, and its failure policy matches theirs", () => {
    assert.ok(deployment, "a Deployment trustgate-shim");
    const env = envOf(deployment);
    const config = loadConfig({ ...env, TRUSTGATE_TOKEN: "t", TRUSTGATE_TOKEN_FILE: undefined, TLS_CERT_FILE: undefined, TLS_KEY_FILE: undefined });
    // The Deployment authenticates its callers (the API server) and does not open the door to everyone.
    assert.ok(config.callerTokenFile !== undefined || env.CLIENT_CA_FILE !== undefined, "CALLER_TOKEN_FILE or CLIENT_CA_FILE");
    assert.equal(config.allowUnauthenticatedCallers, false);
    assert.equal(config.timeoutMs, DEFAULT_TIMEOUT_MS);
    for (const { doc } of webhookConfigs) {
      for (const hook of doc.webhooks) {
        if (!hook.clientConfig.service) continue;
        assert.ok(config.timeoutMs < hook.timeoutSeconds * 1000, `${hook.name}: ${config.timeoutMs} ms < ${hook.timeoutSeconds} s`);
        assert.equal(hook.failurePolicy, config.failurePolicy, `${hook.name}: failurePolicy equals the shim's FAILURE_POLICY`);
      }
    }
  });

  it("the Deployment: 2 replicas, non-root, read-only root FS, no privileges, resources, probes, known env only", () => {
    const spec = deployment.spec.template.spec;
    assert.equal(deployment.spec.replicas, 2);
    assert.equal(deployment.metadata.namespace, "trustgate-system");
    assert.equal(spec.automountServiceAccountToken, false);
    assert.equal(spec.securityContext.runAsNonRoot, true);
    assert.ok(spec.securityContext.runAsUser > 0);
    assert.equal(spec.securityContext.seccompProfile.type, "RuntimeDefault");
    const [container] = spec.containers;
    assert.equal(spec.containers.length, 1);
    assert.equal(container.securityContext.readOnlyRootFilesystem, true);
    assert.equal(container.securityContext.allowPrivilegeEscalation, false);
    assert.deepEqual(container.securityContext.capabilities.drop, ["ALL"]);
    assert.ok(container.resources.requests.cpu && container.resources.requests.memory && container.resources.limits.memory);
    assert.equal(container.readinessProbe.httpGet.scheme, "HTTPS");
    assert.equal(container.livenessProbe.httpGet.path, "/healthz");
    const env = envOf(deployment);
    for (const name of Object.keys(env)) assert.ok(ENV_VARS.includes(name), `the shim reads ${name}`);
    assert.equal(env.TRUSTGATE_TOKEN, undefined, "the token comes from the Secret file, never inline");
    // Mounted files line up with the env paths.
    const mounts = Object.fromEntries(container.volumeMounts.map((m) => [m.name, m.mountPath]));
    assert.ok(env.TRUSTGATE_TOKEN_FILE.startsWith(`${mounts.token}/`));
    assert.ok(env.TLS_CERT_FILE.startsWith(`${mounts.tls}/`) && env.TLS_KEY_FILE.startsWith(`${mounts.tls}/`));
    const volumes = Object.fromEntries(spec.volumes.map((v) => [v.name, v.secret.secretName]));
    assert.equal(volumes.token, "trustgate-shim-token");
    assert.equal(volumes.tls, "trustgate-shim-tls");
    // The Secret template provides the key the env path names.
    const secret = ofKind("Secret").find((m) => m.doc.metadata.name === "trustgate-shim-token")?.doc;
    assert.ok(secret && env.TRUSTGATE_TOKEN_FILE.endsWith(`/${Object.keys(secret.stringData)[0]}`));
    // The caller token comes from its own Secret, mounted where CALLER_TOKEN_FILE points.
    assert.ok(env.CALLER_TOKEN_FILE.startsWith(`${mounts.caller}/`));
    assert.equal(volumes.caller, "trustgate-shim-caller");
    const caller = ofKind("Secret").find((m) => m.doc.metadata.name === "trustgate-shim-caller")?.doc;
    assert.ok(caller && env.CALLER_TOKEN_FILE.endsWith(`/${Object.keys(caller.stringData)[0]}`));
  });

  it("the Service, Certificate and PodDisruptionBudget point at the shim's pods and port", () => {
    const service = ofKind("Service").find((m) => m.doc.metadata.name === "trustgate-shim")?.doc;
    const labels = deployment.spec.template.metadata.labels;
    for (const [key, value] of Object.entries(service.spec.selector)) assert.equal(labels[key], value);
    const port = service.spec.ports.find((p) => p.port === 443);
    assert.ok(deployment.spec.template.spec.containers[0].ports.some((p) => p.name === port.targetPort));
    const certificate = ofKind("Certificate").find((m) => m.doc.metadata.name === "trustgate-shim")?.doc;
    assert.equal(certificate.spec.secretName, "trustgate-shim-tls");
    assert.ok(certificate.spec.dnsNames.includes("trustgate-shim.trustgate-system.svc"));
    const pdb = ofKind("PodDisruptionBudget")[0]?.doc;
    assert.deepEqual(pdb.spec.selector.matchLabels, deployment.spec.selector.matchLabels);
    assert.ok(pdb.spec.minAvailable < deployment.spec.replicas);
  });

  it("the NetworkPolicy: the shim's pods, ingress only on the webhook port, egress only DNS and HTTPS to trustgate", () => {
    const policies = ofKind("NetworkPolicy");
    assert.equal(policies.length, 1);
    const { file, doc } = policies[0];
    assert.equal(file, "shim/networkpolicy.yaml");
    assert.equal(doc.apiVersion, "networking.k8s.io/v1");
    assert.equal(doc.metadata.namespace, deployment.metadata.namespace);
    assert.deepEqual(doc.spec.podSelector.matchLabels, deployment.spec.selector.matchLabels);
    assert.deepEqual([...doc.spec.policyTypes].sort(), ["Egress", "Ingress"]);
    // Ingress: one rule, the container's TLS port only (the port the Service targets and the probes use).
    const container = deployment.spec.template.spec.containers[0];
    const https = container.ports.find((p) => p.name === "https");
    const env = envOf(deployment);
    assert.equal(Number(env.PORT), https.containerPort);
    assert.equal(doc.spec.ingress.length, 1);
    assert.deepEqual(doc.spec.ingress[0].ports, [{ protocol: "TCP", port: https.containerPort }]);
    // Egress: DNS over UDP and TCP, and TCP to trustgate's port; nothing else.
    const egress = doc.spec.egress.flatMap((rule) => rule.ports.map((p) => `${p.protocol}/${p.port}`)).sort();
    const trustgate = new URL(env.TRUSTGATE_URL);
    const trustgatePort = Number(trustgate.port || (trustgate.protocol === "https:" ? 443 : 80));
    assert.deepEqual(egress, ["TCP/53", `TCP/${trustgatePort}`, "UDP/53"].sort());
    for (const rule of [...doc.spec.ingress, ...doc.spec.egress]) assert.ok(rule.ports.length > 0, "every rule names its ports");
  });
});
