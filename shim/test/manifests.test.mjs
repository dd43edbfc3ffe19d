// Every documented Kustomize variant under deploy/kubernetes/examples renders with kubectl, every rendered document is valid
// against the Kubernetes (and cert-manager) OpenAPI schemas, and each variant holds together: webhooks, the shim's Deployment.
import assert from "node:assert/strict";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { describe, it } from "node:test";
import * as core from "kubernetes-models/v1";
import * as apps from "kubernetes-models/apps/v1";
import * as policy from "kubernetes-models/policy/v1";
import * as networking from "kubernetes-models/networking.k8s.io/v1";
import * as admissionregistration from "kubernetes-models/admissionregistration.k8s.io/v1";
import * as certManager from "@kubernetes-models/cert-manager/cert-manager.io/v1";
import { DEFAULT_TIMEOUT_MS, ENV_VARS, loadConfig } from "../shim.mjs";
import { DEPLOY_DIR, SHIM_HOST, exampleNames, parseDocuments, renderExample, shimEnv } from "../testing/kustomize.mjs";

/**
 * What each example is documented to be (README.md): a new example needs its line here.
 * callers: how the API server authenticates to the shim; certificate: where the serving certificate comes from.
 */
const VARIANTS = {
  "shim-cert-manager": { mode: "shim", certificate: "cert-manager", callers: "token", failurePolicy: "Fail", optIn: false, replicas: 3, networkPolicy: true },
  "shim-managed-cluster": { mode: "shim", certificate: "cert-manager", callers: "unauthenticated", failurePolicy: "Fail", optIn: false, replicas: 3, networkPolicy: true },
  "shim-provided-certificate": { mode: "shim", certificate: "provided", callers: "token", failurePolicy: "Fail", optIn: false, replicas: 3, networkPolicy: true },
  "shim-client-certificate": { mode: "shim", certificate: "cert-manager", callers: "client-certificate", failurePolicy: "Fail", optIn: false, replicas: 3, networkPolicy: true },
  "shim-trial": { mode: "shim", certificate: "cert-manager", callers: "token", failurePolicy: "Ignore", optIn: true, replicas: 1, networkPolicy: false },
  direct: { mode: "direct", failurePolicy: "Fail", optIn: false },
  "direct-trial": { mode: "direct", failurePolicy: "Ignore", optIn: true },
};

/** apiVersion → the kubernetes-models module whose classes validate that group's kinds. */
const MODELS = {
  v1: core,
  "apps/v1": apps,
  "policy/v1": policy,
  "networking.k8s.io/v1": networking,
  "admissionregistration.k8s.io/v1": admissionregistration,
  "cert-manager.io/v1": certManager,
};

/**
 * The document as the API server decodes it. kustomize writes long base64 values (Secret data, and the caBundle
 * copied from it) wrapped over lines; Go's base64 decoder skips line breaks, the schemas' "byte" format does not.
 */
function asDecoded(doc) {
  const copy = structuredClone(doc);
  const unwrap = (s) => (typeof s === "string" ? s.replace(/[\r\n]/g, "") : s);
  if (copy.kind === "Secret" && copy.data) for (const key of Object.keys(copy.data)) copy.data[key] = unwrap(copy.data[key]);
  for (const hook of copy.webhooks ?? []) if (hook.clientConfig?.caBundle) hook.clientConfig.caBundle = unwrap(hook.clientConfig.caBundle);
  return copy;
}

function validateAgainstSchema(doc) {
  const Model = MODELS[doc.apiVersion]?.[doc.kind];
  assert.equal(typeof Model, "function", `no schema for ${doc.apiVersion} ${doc.kind}: an unknown kind`);
  new Model(asDecoded(doc)).validate();
}

const RESOURCES = ["pods", "pods/ephemeralcontainers", "deployments", "replicasets", "statefulsets", "daemonsets", "jobs", "cronjobs", "replicationcontrollers"];
const GROUP_OF = { pods: "", "pods/ephemeralcontainers": "", replicationcontrollers: "", deployments: "apps", replicasets: "apps", statefulsets: "apps", daemonsets: "apps", jobs: "batch", cronjobs: "batch" };
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const CLUSTER_SCOPED = new Set(["Namespace", "ValidatingWebhookConfiguration", "MutatingWebhookConfiguration"]);

const examples = await exampleNames();
const rendered = new Map();
for (const name of examples) rendered.set(name, await renderExample(name));
const readme = await readFile(join(DEPLOY_DIR, "README.md"), "utf8");

/** The shim's config from a rendered env (loadConfig reads no file; the token file is swapped for a token). */
const configOf = (env) => loadConfig({ ...env, TRUSTGATE_TOKEN: "t", TRUSTGATE_TOKEN_FILE: undefined });
const envOf = (deployment) => Object.fromEntries(deployment.spec.template.spec.containers[0].env.map((e) => [e.name, e.value]));

describe("deploy/kubernetes: the Kustomize bases, components and examples", () => {
  it("every example is a documented variant with known expectations, and README.md lists it and applies it with -k", () => {
    assert.deepEqual(examples, Object.keys(VARIANTS).sort());
    for (const name of examples) assert.ok(readme.includes(`[\`examples/${name}\`](examples/${name}/kustomization.yaml)`), `README.md lists ${name}`);
    assert.ok(readme.includes(`kubectl apply -k "deploy/kubernetes/examples/$VARIANT" -l 'app.kubernetes.io/component!=webhook'`));
    assert.ok(readme.includes(`kubectl apply -k "deploy/kubernetes/examples/$VARIANT"\n`));
  });

  it("every component is used by some example (so each one is rendered and checked)", async () => {
    const components = (await readdir(join(DEPLOY_DIR, "components"), { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name);
    const used = new Set();
    for (const name of examples) {
      const [kustomization] = parseDocuments(await readFile(join(DEPLOY_DIR, "examples", name, "kustomization.yaml"), "utf8"), name);
      for (const path of kustomization.components ?? []) used.add(path.replace(/^\.\.\/\.\.\/components\//, ""));
    }
    assert.deepEqual([...used].sort(), components.sort());
    for (const component of components) assert.ok(readme.includes(`components/${component}`), `README.md names components/${component}`);
  });
});

for (const name of examples) {
  const variant = VARIANTS[name];
  const { docs, caPem } = rendered.get(name);
  const ofKind = (kind) => docs.filter((d) => d.kind === kind);
  const webhookConfigs = docs.filter((d) => /^(Validating|Mutating)WebhookConfiguration$/.test(d.kind));
  const deployment = ofKind("Deployment").find((d) => d.metadata.name === "trustgate-shim");

  describe(`examples/${name} (kubectl kustomize)`, () => {
    it("every rendered document is valid against the OpenAPI schemas of its kind, and named", () => {
      assert.ok(docs.length >= 2);
      for (const doc of docs) {
        validateAgainstSchema(doc);
        assert.match(doc.metadata?.name ?? "", DNS1123_SUBDOMAIN, `${doc.kind} metadata.name`);
        if (CLUSTER_SCOPED.has(doc.kind)) assert.equal(doc.metadata.namespace, undefined, `${doc.kind} is cluster-scoped`);
        else assert.equal(doc.metadata.namespace, "trustgate-system", `${doc.kind} ${doc.metadata.name} namespace`);
      }
    });

    it(`a ValidatingWebhookConfiguration and a MutatingWebhookConfiguration, ${variant.mode === "direct" ? "to the Worker's URL" : "to the shim's Service"}`, () => {
      assert.deepEqual(webhookConfigs.map((d) => d.kind).sort(), ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"]);
      for (const doc of webhookConfigs) assert.equal(doc.webhooks.length, 1);
      assert.equal(deployment === undefined, variant.mode === "direct");
    });

    for (const doc of webhookConfigs) {
      const [hook] = doc.webhooks;
      it(`${doc.kind} ${hook.name}: required fields, failure policy ${variant.failurePolicy}, timeout, versions`, () => {
        assert.match(hook.name, /^[a-z0-9-]+(\.[a-z0-9-]+){2,}$/, "a fully qualified webhook name");
        assert.equal(hook.failurePolicy, variant.failurePolicy);
        assert.ok(Number.isInteger(hook.timeoutSeconds) && hook.timeoutSeconds >= 1 && hook.timeoutSeconds <= 30);
        assert.equal(hook.sideEffects, "None");
        assert.deepEqual(hook.admissionReviewVersions, ["v1", "v1beta1"]);
        if (doc.kind === "MutatingWebhookConfiguration") assert.ok(["Never", "IfNeeded"].includes(hook.reinvocationPolicy));
      });

      it(`${doc.kind} ${hook.name}: clientConfig is exactly one of url (https, no query: the API server refuses one) or service, with its CA`, () => {
        const { url, service, caBundle } = hook.clientConfig;
        assert.ok((url === undefined) !== (service === undefined));
        if (variant.mode === "direct") {
          const parsed = new URL(url);
          assert.equal(parsed.protocol, "https:");
          assert.equal(parsed.search, "", "query parameters are not permitted in clientConfig.url");
          assert.equal(parsed.hash, "");
          assert.equal(parsed.username, "");
          assert.match(parsed.pathname, /^\/v1\/admission\/[a-z0-9][a-z0-9._-]{0,62}(\/mutate)?$/);
          assert.equal(parsed.pathname.endsWith("/mutate"), doc.kind === "MutatingWebhookConfiguration");
          assert.equal(caBundle, undefined, "a publicly trusted certificate");
          return;
        }
        assert.equal(service.namespace, "trustgate-system");
        assert.equal(service.name, "trustgate-shim");
        assert.equal(service.port, 443);
        // The API server's check: each path segment a DNS-1123 subdomain.
        for (const segment of service.path.slice(1).split("/")) assert.match(segment, DNS1123_SUBDOMAIN);
        assert.equal(service.path, doc.kind === "MutatingWebhookConfiguration" ? "/mutate" : "/validate");
        if (variant.certificate === "cert-manager") {
          assert.equal(doc.metadata.annotations?.["cert-manager.io/inject-ca-from"], "trustgate-system/trustgate-shim");
          assert.equal(caBundle, undefined, "injected by cert-manager");
        } else {
          assert.equal(doc.metadata.annotations?.["cert-manager.io/inject-ca-from"], undefined);
          assert.equal(Buffer.from(caBundle, "base64").toString("utf8"), caPem, "caBundle is the provided ca.crt");
        }
      });

      it(`${doc.kind} ${hook.name}: namespaceSelector leaves out kube-system and the shim's namespace, ${variant.optIn ? "and takes only connaisseur/webhook=validate" : "and connaisseur/webhook=ignore"}`, () => {
        assert.deepEqual(hook.namespaceSelector.matchExpressions, [
          { key: "kubernetes.io/metadata.name", operator: "NotIn", values: ["kube-system", "trustgate-system"] },
          variant.optIn
            ? { key: "securesystemsengineering.connaisseur/webhook", operator: "In", values: ["validate"] }
            : { key: "securesystemsengineering.connaisseur/webhook", operator: "NotIn", values: ["ignore"] },
        ]);
      });

      it(`${doc.kind} ${hook.name}: rules cover every workload resource for CREATE and UPDATE, in the right API group`, () => {
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

    it("only the webhook configurations carry app.kubernetes.io/component=webhook (README.md applies the rest first)", () => {
      for (const doc of docs) {
        const isWebhook = webhookConfigs.includes(doc);
        assert.equal(doc.metadata.labels?.["app.kubernetes.io/component"] === "webhook", isWebhook, `${doc.kind} ${doc.metadata.name}`);
      }
    });

    if (variant.mode === "direct") {
      it("nothing but the webhooks (no shim, no namespace)", () => {
        assert.deepEqual(docs.map((d) => d.kind).sort(), ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"]);
      });
      return;
    }

    it(`the shim's FAILURE_POLICY equals the webhooks' failurePolicy (${variant.failurePolicy}); its timeout is under their timeoutSeconds`, () => {
      const env = envOf(deployment);
      const config = configOf(env);
      assert.equal(config.failurePolicy, variant.failurePolicy);
      assert.equal(config.timeoutMs, DEFAULT_TIMEOUT_MS);
      for (const doc of webhookConfigs) {
        const [hook] = doc.webhooks;
        assert.ok(config.timeoutMs < hook.timeoutSeconds * 1000, `${hook.name}: ${config.timeoutMs} ms < ${hook.timeoutSeconds} s`);
        assert.equal(hook.failurePolicy, config.failurePolicy, `${hook.name}: failurePolicy equals the shim's FAILURE_POLICY`);
      }
      assert.deepEqual(shimEnv(docs), env);
    });

    it(`the shim authenticates its callers by ${variant.callers}`, () => {
      const env = envOf(deployment);
      const config = configOf(env);
      const spec = deployment.spec.template.spec;
      const mounts = Object.fromEntries(spec.containers[0].volumeMounts.map((m) => [m.name, m.mountPath]));
      const volumes = Object.fromEntries(spec.volumes.map((v) => [v.name, v.secret.secretName]));
      assert.equal(config.allowUnauthenticatedCallers, variant.callers === "unauthenticated");
      assert.equal(env.CALLER_TOKEN !== undefined, false, "a caller token comes from a Secret file, never inline");
      if (variant.callers === "token") {
        assert.ok(env.CALLER_TOKEN_FILE.startsWith(`${mounts.caller}/`));
        assert.equal(volumes.caller, "trustgate-shim-caller");
        assert.equal(env.CLIENT_CA_FILE, undefined);
      } else {
        assert.equal(env.CALLER_TOKEN_FILE, undefined);
        assert.equal(volumes.caller, undefined, "no caller token Secret to create");
        assert.equal(mounts.caller, undefined);
      }
      if (variant.callers === "client-certificate") {
        assert.ok(env.CLIENT_CA_FILE.startsWith(`${mounts["client-ca"]}/`));
        assert.equal(volumes["client-ca"], "trustgate-shim-client-ca");
        assert.ok(env.CLIENT_CERT_NAMES.length > 0);
      }
      if (variant.callers === "unauthenticated") {
        assert.ok(variant.networkPolicy, "an open shim comes with its NetworkPolicy");
        assert.equal(env.CLIENT_CA_FILE, undefined);
      }
    });

    it(`the Deployment: ${variant.replicas} replica(s), non-root, read-only root FS, no privileges, resources, probes, known env only`, () => {
      const spec = deployment.spec.template.spec;
      assert.equal(deployment.spec.replicas, variant.replicas);
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
      for (const key of Object.keys(env)) assert.ok(ENV_VARS.includes(key), `the shim reads ${key}`);
      assert.equal(env.TRUSTGATE_TOKEN, undefined, "the token comes from the Secret file, never inline");
      assert.equal(new URL(env.TRUSTGATE_URL).protocol, "https:");
      // Mounted files line up with the env paths and the Secrets README.md has you create.
      const mounts = Object.fromEntries(container.volumeMounts.map((m) => [m.name, m.mountPath]));
      const volumes = Object.fromEntries(spec.volumes.map((v) => [v.name, v.secret.secretName]));
      assert.equal(env.TRUSTGATE_TOKEN_FILE, `${mounts.token}/token`);
      assert.equal(volumes.token, "trustgate-shim-token");
      assert.ok(readme.includes("create secret generic trustgate-shim-token --from-literal=token="));
      if (variant.callers === "token") {
        assert.equal(env.CALLER_TOKEN_FILE, `${mounts.caller}/token`);
        assert.ok(readme.includes("create secret generic trustgate-shim-caller --from-literal=token="));
      }
      assert.equal(env.TLS_CERT_FILE, `${mounts.tls}/tls.crt`);
      assert.equal(env.TLS_KEY_FILE, `${mounts.tls}/tls.key`);
      assert.equal(volumes.tls, "trustgate-shim-tls");
      // Every mount has its volume and every volume is mounted.
      assert.deepEqual(Object.keys(mounts).sort(), Object.keys(volumes).sort());
    });

    it(`the serving certificate (${variant.certificate}) is the Secret trustgate-shim-tls for ${SHIM_HOST}`, () => {
      if (variant.certificate === "cert-manager") {
        const certificate = ofKind("Certificate").find((d) => d.metadata.name === "trustgate-shim");
        assert.equal(certificate.spec.secretName, "trustgate-shim-tls");
        assert.ok(certificate.spec.dnsNames.includes(SHIM_HOST));
        const issuer = ofKind(certificate.spec.issuerRef.kind).find((d) => d.metadata.name === certificate.spec.issuerRef.name);
        assert.ok(issuer, "the Certificate's Issuer is rendered too");
        assert.equal(ofKind("Secret").length, 0);
      } else {
        assert.equal(ofKind("Certificate").length, 0);
        const [secret] = ofKind("Secret");
        assert.equal(secret.metadata.name, "trustgate-shim-tls");
        assert.equal(secret.type, "kubernetes.io/tls");
        assert.deepEqual(Object.keys(secret.data).sort(), ["ca.crt", "tls.crt", "tls.key"]);
      }
    });

    it("the Service and PodDisruptionBudget point at the shim's pods and port", () => {
      const service = ofKind("Service").find((d) => d.metadata.name === "trustgate-shim");
      const labels = deployment.spec.template.metadata.labels;
      for (const [key, value] of Object.entries(service.spec.selector)) assert.equal(labels[key], value);
      const port = service.spec.ports.find((p) => p.port === 443);
      assert.ok(deployment.spec.template.spec.containers[0].ports.some((p) => p.name === port.targetPort));
      const pdbs = ofKind("PodDisruptionBudget");
      // A budget needs a replica to spare; with one replica it would block every node drain.
      assert.equal(pdbs.length, variant.replicas > 1 ? 1 : 0);
      for (const pdb of pdbs) {
        assert.deepEqual(pdb.spec.selector.matchLabels, deployment.spec.selector.matchLabels);
        assert.ok(pdb.spec.minAvailable >= 1 && pdb.spec.minAvailable < deployment.spec.replicas);
      }
    });

    it(`the NetworkPolicy (${variant.networkPolicy ? "present" : "absent"}): the shim's pods, ingress only on the webhook port, egress only DNS and HTTPS`, () => {
      const policies = ofKind("NetworkPolicy");
      assert.equal(policies.length, variant.networkPolicy ? 1 : 0);
      if (!variant.networkPolicy) return;
      const [doc] = policies;
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
}

describe("schema validation catches what it should (the checker itself)", () => {
  const { docs } = rendered.get("shim-cert-manager");
  it("refuses a webhook with an unknown failurePolicy, a Deployment without a selector, and an unknown kind", () => {
    const hook = structuredClone(docs.find((d) => d.kind === "ValidatingWebhookConfiguration"));
    hook.webhooks[0].failurePolicy = 3;
    assert.throws(() => validateAgainstSchema(hook), /failurePolicy/);
    const deployment = structuredClone(docs.find((d) => d.kind === "Deployment"));
    delete deployment.spec.selector;
    assert.throws(() => validateAgainstSchema(deployment), /selector/);
    assert.throws(() => validateAgainstSchema({ apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" } }), /unknown kind/);
  });
});
