// POST /v1/admission through the Worker: AdmissionReviews as the API server sends them, for every workload kind.
import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ADMISSION_MAX_BODY_BYTES } from "../../shim/limits.mjs";
import { admissionCallers, recordedContext } from "../../worker/admission-caller";
import { ConfigError, type Bindings } from "../../worker/env";
import { ADMIN, CLIENT, call, putPolicy, waitForVerdicts } from "./http";
import {
  APP,
  DEBUG,
  MIGRATE,
  PROXY,
  WORKLOAD_VECTORS,
  applyPatch,
  decodePatch,
  getPointer,
  review,
} from "../unit/admission/helpers";

const LABEL = "securesystemsengineering.connaisseur/webhook";
const LAB_DIGEST = `sha256:${"c3".repeat(32)}`;

// Images by digest (no registry asked) and tags on 240.0.0.1:9: a reserved address the egress guard
// refuses before any connection (a refused connection would print workerd noise).
const allowAll = {
  rules: [
    { pattern: "registry.example.com/team/*", require: [{ type: "allow" }] },
    { pattern: "240.0.0.1:9/*", require: [{ type: "allow" }] },
  ],
};
const denyLab = {
  rules: [
    { pattern: "registry.example.com/team/*", require: [{ type: "allow" }] },
    { pattern: "240.0.0.1:9/*", require: [{ type: "deny", message: "images from the lab registry are not signed" }] },
  ],
};
const LAB_DENIAL = `\nDeny "${APP}", images from the lab registry are not signed`;

function admit(policy: string, body: unknown, query = "") {
  return call("POST", `/v1/admission?policy=${policy}${query}`, { token: CLIENT, body });
}

/** The tag → digest answer a registry would give, put where the digest resolver looks first. */
async function knowTag(name: string, tag: string, digest: string): Promise<void> {
  await env.TRUST_CACHE.put(`tag:v1:${name}:${tag}`, JSON.stringify({ digest, at: Date.now() }), { expirationTtl: 600 });
}

describe("POST /v1/admission: every workload kind", () => {
  for (const { file, kind } of WORKLOAD_VECTORS) {
    it(`allows a ${kind} whose images are all allowed, answering with its uid`, async () => {
      await putPolicy("adm-allow", allowAll);
      const doc = review(file);
      const res = await admit("adm-allow", doc);
      expect(res.status, JSON.stringify(res.json)).toBe(200);
      expect(res.json).toMatchObject({
        apiVersion: "admission.k8s.io/v1",
        kind: "AdmissionReview",
        response: { uid: doc.request.uid, allowed: true },
      });
      expect(res.json.response).not.toHaveProperty("patch");
      expect(res.json.response).not.toHaveProperty("warnings");
    });

    it(`denies a ${kind} with an image the policy denies, in Portieris's words`, async () => {
      await putPolicy("adm-deny", denyLab);
      const doc = review(file);
      const res = await admit("adm-deny", doc);
      expect(res.status).toBe(200);
      expect(res.json.response).toMatchObject({
        uid: doc.request.uid,
        allowed: false,
        status: { code: 403, reason: "Forbidden", message: LAB_DENIAL },
      });
    });
  }

  it("records one verdict per distinct image, source admission, with the request as context", async () => {
    await putPolicy("adm-record", denyLab);
    const doc = review("deployment-create.json");
    await admit("adm-record", doc);
    const verdicts = await waitForVerdicts("policy=adm-record", 3);
    expect(verdicts).toHaveLength(3);
    expect(verdicts.map((v) => v.image).sort()).toEqual([APP, MIGRATE, PROXY].sort());
    for (const v of verdicts) {
      expect(v.source).toBe("admission");
      expect(v.context).toEqual({
        namespace: "payments",
        kind: "Deployment",
        name: "web",
        operation: "CREATE",
        user: "alice@example.com",
        groups: ["team-payments", "system:authenticated"],
        uid: doc.request.uid,
      });
    }
    expect(verdicts.find((v) => v.image === APP)).toMatchObject({ decision: "deny", rule: "240.0.0.1:9/*" });
  });

  it("answers a v1beta1 review as v1beta1", async () => {
    await putPolicy("adm-deny", denyLab);
    const doc = review("deployment-update-v1beta1.json");
    const res = await admit("adm-deny", doc);
    expect(res.json).toMatchObject({
      apiVersion: "admission.k8s.io/v1beta1",
      kind: "AdmissionReview",
      response: { uid: doc.request.uid, allowed: false, status: { code: 403, message: `\nDeny "240.0.0.1:9/team/app:1.5.0", images from the lab registry are not signed` } },
    });
  });

  it("decides a Pod with ownerReferences like any other: no approval because of an owner", async () => {
    await putPolicy("adm-deny", denyLab);
    const doc = review("pod-create-owned.json");
    expect(doc.request.object.metadata.ownerReferences[0].kind).toBe("ReplicaSet");
    const res = await admit("adm-deny", doc);
    expect(res.json.response).toMatchObject({ allowed: false, status: { code: 403, message: LAB_DENIAL } });
  });

  it("decides the ephemeral container kubectl debug adds", async () => {
    await putPolicy("adm-allow", allowAll);
    const res = await admit("adm-allow", review("pod-ephemeral-containers.json"));
    expect(res.json.response).toMatchObject({
      allowed: false,
      status: { code: 403, message: `\nDeny "${DEBUG}", no matching rule: no rule of policy adm-allow matches ${DEBUG}` },
    });
  });

  it("names every denied image, one line each, an unparsable one included (a deny, not a 400)", async () => {
    await putPolicy("adm-invalid", denyLab);
    const doc = review("pod-create.json");
    doc.request.object.spec.initContainers[0].image = "Registry.Example.com/Team/Migrate:1";
    doc.request.object.spec.containers.push({ name: "miner", image: "quay.io/evil/miner@sha256:" + "e".repeat(64) });
    const res = await admit("adm-invalid", doc);
    expect(res.status).toBe(200);
    expect(res.json.response.allowed).toBe(false);
    expect(res.json.response.status.message.split("\n")).toEqual([
      "",
      'Deny "Registry.Example.com/Team/Migrate:1", invalid image name: repository name "Team/Migrate" must be lowercase',
      `Deny "${APP}", images from the lab registry are not signed`,
      `Deny "quay.io/evil/miner@sha256:${"e".repeat(64)}", no matching rule: no rule of policy adm-invalid matches quay.io/evil/miner@sha256:${"e".repeat(64)}`,
    ]);
    // Every image is in the history (three decided, one unparsable).
    const recorded = await waitForVerdicts("policy=adm-invalid", 4);
    expect(recorded).toHaveLength(4);
    const invalid = recorded.find((v: { image: string }) => v.image === "Registry.Example.com/Team/Migrate:1");
    expect(invalid).toMatchObject({
      decision: "deny",
      reference: "Registry.Example.com/Team/Migrate:1",
      digest: null,
      rule: null,
      source: "admission",
      reasons: [{ code: "INVALID_REFERENCE", message: 'invalid image name: repository name "Team/Migrate" must be lowercase', rule: null }],
    });
  });

  it("keeps a Portieris policy's own `Deny \"<image>\", …` wording without repeating it", async () => {
    const portieris = `apiVersion: portieris.cloud.ibm.com/v1
kind: ClusterImagePolicy
metadata:
  name: team
spec:
  repositories:
    - name: "registry.example.com/team/*"
      policy:
`;
    expect((await putPolicy("adm-portieris", portieris, "portieris")).status).toBe(200);
    const res = await admit("adm-portieris", review("pod-create.json"));
    expect(res.json.response.status.message).toBe(
      `\nDeny "${APP}", no matching repositories in ClusterImagePolicy and no ImagePolicies in the "payments" namespace`,
    );
  });

  it("allows in audit mode and returns what would have been denied as warnings", async () => {
    await putPolicy("adm-audit", { ...denyLab, mode: "audit" });
    const res = await admit("adm-audit", review("statefulset-create.json"));
    expect(res.json.response).toMatchObject({ allowed: true });
    expect(res.json.response.warnings).toEqual([`"${APP}" would be denied: images from the lab registry are not signed (audit mode: allowed)`]);
    expect(res.json.response).not.toHaveProperty("status");
  });
});

describe("POST /v1/admission: requests it does not decide", () => {
  const skipped: [string, string][] = [
    ["pod-delete.json", "DELETE requests start no containers: not checked"],
    ["pod-exec-connect.json", "CONNECT requests start no containers: not checked"],
    ["pod-status-update.json", "the status subresource does not change images: not checked"],
    ["configmap-create.json", "ConfigMap is not a workload trustgate checks: not checked"],
  ];
  for (const [file, reason] of skipped) {
    it(`allows ${file} without deciding`, async () => {
      await putPolicy("adm-deny", denyLab);
      const doc = review(file);
      const res = await admit("adm-deny", doc);
      expect(res.json.response).toMatchObject({ uid: doc.request.uid, allowed: true, status: { code: 200, message: reason } });
    });
  }

  it("records no verdict for them", async () => {
    await putPolicy("adm-skip-log", denyLab);
    for (const [file] of skipped) await admit("adm-skip-log", review(file));
    await admit("adm-skip-log", review("pod-create.json"));
    const verdicts = await waitForVerdicts("policy=adm-skip-log", 3);
    expect(verdicts).toHaveLength(3);
    expect(verdicts.every((v) => v.context.operation === "CREATE" && v.context.kind === "Pod")).toBe(true);
  });
});

describe("POST /v1/admission?mutate=true: pin to the digest as Portieris's mutateImage does", () => {
  for (const { file, kind, spec } of WORKLOAD_VECTORS) {
    it(`patches the tagged image of a ${kind} at ${spec}/containers/0/image; pinned images stay`, async () => {
      await putPolicy("adm-allow", allowAll);
      await knowTag("240.0.0.1:9/team/app", "1.4.2", LAB_DIGEST);
      const doc = review(file);
      const res = await admit("adm-allow", doc, "&mutate=true");
      expect(res.json.response).toMatchObject({ uid: doc.request.uid, allowed: true, patchType: "JSONPatch" });
      const patch = decodePatch(res.json.response);
      expect(patch).toEqual([{ op: "replace", path: `${spec}/containers/0/image`, value: `240.0.0.1:9/team/app@${LAB_DIGEST}` }]);
      const patched = applyPatch(doc.request.object, patch);
      expect(getPointer(patched, `${spec}/containers/0/image`)).toBe(`240.0.0.1:9/team/app@${LAB_DIGEST}`);
      expect(getPointer(patched, `${spec}/containers/1/image`)).toBe(PROXY);
      expect(getPointer(patched, `${spec}/initContainers/0/image`)).toBe(MIGRATE);
      // Everything else is untouched.
      expect(applyPatch(patched, [{ op: "replace", path: `${spec}/containers/0/image`, value: APP }])).toEqual(doc.request.object);
    });
  }

  it("sends no patch when nothing changes: the tag's digest is unknown (registry down)", async () => {
    await putPolicy("adm-allow", allowAll);
    const doc = review("pod-create.json");
    doc.request.object.spec.containers[0].image = "240.0.0.1:9/team/app:never-pushed";
    const res = await admit("adm-allow", doc, "&mutate=true");
    expect(res.json.response.allowed).toBe(true);
    expect(res.json.response).not.toHaveProperty("patch");
    expect(res.json.response).not.toHaveProperty("patchType");
  });

  it("sends no patch when every image is pinned already", async () => {
    await putPolicy("adm-allow", allowAll);
    const doc = review("deployment-create.json");
    doc.request.object.spec.template.spec.containers[0].image = `240.0.0.1:9/team/app:1.4.2@${LAB_DIGEST}`;
    const res = await admit("adm-allow", doc, "&mutate=true");
    expect(res.json.response.allowed).toBe(true);
    expect(res.json.response).not.toHaveProperty("patch");
  });

  it("sends no patch with a denial, nor without mutate=true", async () => {
    await putPolicy("adm-deny", denyLab);
    await putPolicy("adm-allow", allowAll);
    await knowTag("240.0.0.1:9/team/app", "1.4.2", LAB_DIGEST);
    const denied = await admit("adm-deny", review("job-create.json"), "&mutate=true");
    expect(denied.json.response.allowed).toBe(false);
    expect(denied.json.response).not.toHaveProperty("patch");
    const plain = await admit("adm-allow", review("job-create.json"), "&mutate=false");
    expect(plain.json.response.allowed).toBe(true);
    expect(plain.json.response).not.toHaveProperty("patch");
  });
});

describe("POST /v1/admission: namespaced validation", () => {
  const withNamespace = (file: string, labels: Record<string, string> | undefined) => {
    const doc = review(file);
    doc.request.namespaceObject = { apiVersion: "v1", kind: "Namespace", metadata: { name: doc.request.namespace, ...(labels ? { labels } : {}) } };
    return doc;
  };

  it("mode ignore: a namespace labelled ignore is not validated, and the answer says so", async () => {
    await putPolicy("adm-ns-ignore", { ...denyLab, namespacedValidation: { mode: "ignore" } });
    const res = await admit("adm-ns-ignore", withNamespace("deployment-create.json", { [LABEL]: "ignore" }));
    expect(res.json.response).toMatchObject({
      allowed: true,
      status: { code: 200, message: `namespace "payments" is labelled ${LABEL}=ignore: its images are not validated (namespaced validation, mode ignore)` },
    });
    const other = await admit("adm-ns-ignore", withNamespace("deployment-create.json", { "kubernetes.io/metadata.name": "payments" }));
    expect(other.json.response).toMatchObject({ allowed: false, status: { message: LAB_DENIAL } });
  });

  it("mode validate: only a namespace labelled validate is validated", async () => {
    await putPolicy("adm-ns-validate", { ...denyLab, namespacedValidation: { mode: "validate" } });
    const unlabelled = await admit("adm-ns-validate", withNamespace("cronjob-create.json", undefined));
    expect(unlabelled.json.response).toMatchObject({ allowed: true, status: { code: 200, message: expect.stringMatching(/is not labelled .*=validate/) } });
    const labelled = await admit("adm-ns-validate", withNamespace("cronjob-create.json", { [LABEL]: "validate" }));
    expect(labelled.json.response).toMatchObject({ allowed: false, status: { message: LAB_DENIAL } });
  });

  it("takes the labels from context.namespaceLabels too", async () => {
    await putPolicy("adm-ns-validate", { ...denyLab, namespacedValidation: { mode: "validate" } });
    const doc = review("pod-create.json");
    doc.context = { namespaceLabels: { [LABEL]: "validate" } };
    expect((await admit("adm-ns-validate", doc)).json.response.allowed).toBe(false);
    doc.context = { namespaceLabels: {} };
    expect((await admit("adm-ns-validate", doc)).json.response.allowed).toBe(true);
  });

  it("validates when the labels are unknown (fail closed), and says so in the denial", async () => {
    await putPolicy("adm-ns-validate", { ...denyLab, namespacedValidation: { mode: "validate" } });
    const res = await admit("adm-ns-validate", review("pod-create.json"));
    expect(res.json.response.allowed).toBe(false);
    expect(res.json.response.status.message).toBe(
      `${LAB_DENIAL}\n(namespaced validation (mode validate) is on, but the labels of namespace "payments" are unknown: validated (fail closed); ` +
        "pass them as request.namespaceObject or context.namespaceLabels, or let the webhook's namespaceSelector skip the namespace)",
    );
  });

  it("imports Connaisseur's namespacedValidation and applies it", async () => {
    const values = `validators:
  - name: allow
    type: static
    approve: true
  - name: deny
    type: static
    approve: false
policy:
  - pattern: "*:*"
    validator: deny
  - pattern: "registry.example.com/team/*:*"
    validator: allow
namespacedValidation:
  enabled: true
  mode: validate
`;
    expect((await putPolicy("adm-conn", values, "connaisseur")).status).toBe(200);
    const stored = await call("GET", "/v1/policies/adm-conn", { token: ADMIN });
    expect(stored.json.policy.namespacedValidation).toEqual({ mode: "validate" });
    const skipped = await admit("adm-conn", withNamespace("daemonset-create.json", {}));
    expect(skipped.json.response.allowed).toBe(true);
    const validated = await admit("adm-conn", withNamespace("daemonset-create.json", { [LABEL]: "validate" }));
    expect(validated.json.response).toMatchObject({
      allowed: false,
      status: { code: 403, message: `\nDeny "${APP}", static deny for image ${APP} using rule *:*` },
    });
  });

  it("refuses a Namespace object that is not the request's namespace", async () => {
    await putPolicy("adm-ns-ignore", { ...denyLab, namespacedValidation: { mode: "ignore" } });
    const doc = withNamespace("pod-create.json", { [LABEL]: "ignore" });
    doc.request.namespaceObject.metadata.name = "legacy";
    const res = await admit("adm-ns-ignore", doc);
    expect(res.status).toBe(400);
    expect(res.json.error).toMatchObject({ code: "INVALID_BODY", issues: [{ path: "request.namespaceObject.metadata.name", message: expect.any(String) }] });
  });
});

describe("POST /v1/admission: bad requests", () => {
  const bad: [string, () => Parameters<typeof call>[2], string, number, string][] = [
    ["not JSON", () => ({ raw: "{apiVersion:", headers: { "content-type": "application/json" } }), "?policy=adm-deny", 400, "INVALID_JSON"],
    ["no request.uid", () => ({ body: (() => { const d = review("pod-create.json"); delete d.request.uid; return d; })() }), "?policy=adm-deny", 400, "INVALID_BODY"],
    ["another apiVersion", () => ({ body: { ...review("pod-create.json"), apiVersion: "admission.k8s.io/v2" } }), "?policy=adm-deny", 400, "INVALID_BODY"],
    ["another kind", () => ({ body: { ...review("pod-create.json"), kind: "ConversionReview" } }), "?policy=adm-deny", 400, "INVALID_BODY"],
    ["a response instead of a request", () => ({ body: { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response: { uid: "x", allowed: true } } }), "?policy=adm-deny", 400, "INVALID_BODY"],
    ["containers that are not a list", () => ({ body: (() => { const d = review("pod-create.json"); d.request.object.spec.containers = { app: "nginx" }; return d; })() }), "?policy=adm-deny", 400, "INVALID_BODY"],
    ["no policy", () => ({ body: review("pod-create.json") }), "", 400, "INVALID_QUERY"],
    ["a bad mutate flag", () => ({ body: review("pod-create.json") }), "?policy=adm-deny&mutate=yes", 400, "INVALID_QUERY"],
    ["an invalid policy ID", () => ({ body: review("pod-create.json") }), "?policy=../etc", 400, "INVALID_POLICY_ID"],
    ["an unknown policy", () => ({ body: review("pod-create.json") }), "?policy=no-such-policy", 404, "POLICY_NOT_FOUND"],
  ];
  for (const [name, opts, query, status, code] of bad) {
    it(`answers ${status} ${code} for ${name}`, async () => {
      await putPolicy("adm-deny", denyLab);
      const res = await call("POST", `/v1/admission${query}`, { token: CLIENT, ...opts() });
      expect(res.status).toBe(status);
      expect(res.json.error.code).toBe(code);
      expect(typeof res.json.error.message).toBe("string");
    });
  }

  it("names the missing field", async () => {
    await putPolicy("adm-deny", denyLab);
    const doc = review("pod-create.json");
    delete doc.request.uid;
    const res = await admit("adm-deny", doc);
    expect(res.json.error.issues).toEqual([{ path: "request.uid", message: expect.any(String) }]);
  });
});

/** A Pod UPDATE as the API server sends it: the object and its old version, each padded to `bytes`. */
function bigUpdate(bytes: number): any {
  const doc = review("pod-create.json");
  doc.request.operation = "UPDATE";
  doc.request.options = { apiVersion: "meta.k8s.io/v1", kind: "UpdateOptions" };
  doc.request.object.metadata.annotations = { pad: "n".repeat(bytes) };
  doc.request.oldObject = structuredClone(doc.request.object);
  doc.request.oldObject.metadata.annotations = { pad: "o".repeat(bytes) };
  return doc;
}

/** A body without a length (chunked), pulled in 64 KiB pieces; `pulled()` says how much was read. */
function countedStream(bytes: Uint8Array): { stream: ReadableStream<Uint8Array>; pulled: () => number } {
  let offset = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= bytes.length) return controller.close();
      controller.enqueue(bytes.slice(offset, offset + 64 * 1024));
      offset += 64 * 1024;
    },
  });
  return { stream, pulled: () => Math.min(offset, bytes.length) };
}

describe("POST /v1/admission: body size", () => {
  it("accepts a 3 MiB UPDATE review (object and old version), as the API server sends it", async () => {
    await putPolicy("adm-allow", allowAll);
    const doc = bigUpdate(1.5 * 1024 * 1024);
    const body = JSON.stringify(doc);
    expect(body.length).toBeGreaterThan(3 * 1024 * 1024);
    const res = await call("POST", "/v1/admission?policy=adm-allow", { token: CLIENT, raw: body, headers: { "content-type": "application/json" } });
    expect(res.status, JSON.stringify(res.json).slice(0, 300)).toBe(200);
    expect(res.json.response).toMatchObject({ uid: doc.request.uid, allowed: true });
  });

  it("takes the cap the shim uses: up to ADMISSION_MAX_BODY_BYTES, 413 past it", async () => {
    await putPolicy("adm-allow", allowAll);
    const base = JSON.stringify(bigUpdate(0)).length;
    const fits = JSON.stringify(bigUpdate(Math.floor((ADMISSION_MAX_BODY_BYTES - base) / 2)));
    expect(fits.length).toBeLessThanOrEqual(ADMISSION_MAX_BODY_BYTES);
    expect(fits.length).toBeGreaterThan(ADMISSION_MAX_BODY_BYTES - 4);
    const ok = await call("POST", "/v1/admission?policy=adm-allow", { token: CLIENT, raw: fits, headers: { "content-type": "application/json" } });
    expect(ok.status).toBe(200);
    const over = await call("POST", "/v1/admission?policy=adm-allow", { token: CLIENT, raw: `${fits} `.padEnd(ADMISSION_MAX_BODY_BYTES + 1), headers: { "content-type": "application/json" } });
    expect(over.status).toBe(413);
    expect(over.json.error.code).toBe("PAYLOAD_TOO_LARGE");
  });

  it("a chunked body over the cap is read to its end, then refused with 413 (nothing left half-read)", async () => {
    await putPolicy("adm-allow", allowAll);
    const bytes = new TextEncoder().encode(JSON.stringify(bigUpdate(ADMISSION_MAX_BODY_BYTES / 2 + 1024)));
    const { stream, pulled } = countedStream(bytes);
    const res = await SELF.fetch("http://trustgate.test/v1/admission?policy=adm-allow", {
      method: "POST",
      headers: { authorization: `Bearer ${CLIENT}`, "content-type": "application/json" },
      body: stream,
    });
    expect(res.status).toBe(413);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("PAYLOAD_TOO_LARGE");
    expect(pulled()).toBe(bytes.length);
  });
});

describe("POST /v1/admission: the review's namespace and user are recorded as fact only from an authenticated caller", () => {
  // test-client-token is client-1, the one ADMISSION_CALLERS names (vitest.config.ts); second-client-token is client-2.
  const SECOND = "second-client-token";
  const claims = { namespace: "payments", user: "alice@example.com", groups: ["team-payments", "system:authenticated"] };

  async function recordedFor(policy: string, token: string, headers: Record<string, string> = {}): Promise<any> {
    await putPolicy(policy, denyLab);
    const doc = review("pod-create.json");
    const res = await call("POST", `/v1/admission?policy=${policy}`, { token, body: doc, headers });
    expect(res.status).toBe(200);
    const [verdict] = await waitForVerdicts(`policy=${policy}`, 1);
    expect(verdict.context.uid).toBe(doc.request.uid);
    return verdict.context;
  }

  it("the API server's own token (no shim in between): as sent", async () => {
    const context = await recordedFor("adm-caller-direct", CLIENT);
    expect(context).toMatchObject(claims);
    expect(context).not.toHaveProperty("claimed");
  });

  it("a shim that authenticated its caller (client certificate or token): as sent", async () => {
    for (const [i, said] of ["client-certificate", "token"].entries()) {
      const context = await recordedFor(`adm-caller-shim-${i}`, CLIENT, { "Trustgate-Caller": said });
      expect(context).toMatchObject(claims);
      expect(context).not.toHaveProperty("claimed");
    }
  });

  it("a shim that did not authenticate its caller: under `claimed`", async () => {
    const context = await recordedFor("adm-caller-unauth", CLIENT, { "Trustgate-Caller": "unauthenticated" });
    expect(context.claimed).toEqual(claims);
    for (const key of Object.keys(claims)) expect(context).not.toHaveProperty(key);
    expect(context).toMatchObject({ kind: "Pod", operation: "CREATE" });
  });

  it("a token ADMISSION_CALLERS does not name: under `claimed`, whatever it says about its caller", async () => {
    const plain = await recordedFor("adm-caller-other", SECOND);
    expect(plain.claimed).toEqual(claims);
    expect(plain).not.toHaveProperty("user");
    const forged = await recordedFor("adm-caller-forged", SECOND, { "Trustgate-Caller": "client-certificate" });
    expect(forged.claimed).toEqual(claims);
    expect(forged).not.toHaveProperty("namespace");
  });

  it("the decision still reads the namespace (namespaced rules): an unauthenticated review is decided the same", async () => {
    // Unscoped: the lab registry is allowed; in "payments" (the vector's namespace): denied.
    await putPolicy("adm-caller-ns", {
      rules: [
        ...allowAll.rules,
        { pattern: "240.0.0.1:9/*", namespace: "payments", require: [{ type: "deny", message: "not in payments" }] },
      ],
    });
    const doc = review("pod-create.json");
    for (const token of [CLIENT, SECOND]) {
      const res = await call("POST", "/v1/admission?policy=adm-caller-ns", { token, body: doc });
      expect(res.json.response.allowed).toBe(false);
      expect(res.json.response.status.message).toContain("not in payments");
    }
  });

  it("ADMISSION_CALLERS must name configured tokens (by position in the error, never the text)", () => {
    expect([...admissionCallers({ ...env, ADMISSION_CALLERS: " client-2 , admin-1" } as Bindings)]).toEqual(["client-2", "admin-1"]);
    expect([...admissionCallers({ ...env, ADMISSION_CALLERS: undefined } as Bindings)]).toEqual([]);
    expect(() => admissionCallers({ ...env, ADMISSION_CALLERS: "client-1,s3cret-pasted-here" } as Bindings)).toThrow(
      new ConfigError("ADMISSION_CALLERS entry 2 is not the name of a configured token"),
    );
  });

  it("recordedContext moves only namespace, user and groups", () => {
    expect(recordedContext({ kind: "Pod", namespace: "a", user: "u", uid: "1" }, false)).toEqual({ kind: "Pod", uid: "1", claimed: { namespace: "a", user: "u" } });
    expect(recordedContext({ kind: "Pod", uid: "1" }, false)).toEqual({ kind: "Pod", uid: "1" });
    expect(recordedContext({ kind: "Pod", namespace: "a" }, true)).toEqual({ kind: "Pod", namespace: "a" });
  });
});

describe("POST /v1/admission: auth", () => {
  it("needs a token: none or a wrong one → 401", async () => {
    await putPolicy("adm-allow", allowAll);
    for (const token of [null, "not-a-token"]) {
      const res = await call("POST", "/v1/admission?policy=adm-allow", { token, body: review("pod-create.json") });
      expect(res.status).toBe(401);
      expect(res.json.error.code).toBe("UNAUTHORIZED");
    }
  });

  it("accepts a client or an admin token", async () => {
    await putPolicy("adm-allow", allowAll);
    for (const token of [CLIENT, ADMIN]) {
      const res = await call("POST", "/v1/admission?policy=adm-allow", { token, body: review("pod-create.json") });
      expect(res.status).toBe(200);
    }
  });
});

describe("POST /v1/admission/<policy>[/mutate]: the path forms a webhook URL can use (no query string allowed)", () => {
  it("decides and pins exactly as the query forms do", async () => {
    await putPolicy("adm-allow", allowAll);
    await knowTag("240.0.0.1:9/team/app", "1.4.2", LAB_DIGEST);
    const doc = review("pod-create.json");
    const plain = await call("POST", "/v1/admission/adm-allow", { token: CLIENT, body: doc });
    expect(plain.json.response).toMatchObject({ uid: doc.request.uid, allowed: true });
    expect(plain.json.response).not.toHaveProperty("patch");
    const mutating = await call("POST", "/v1/admission/adm-allow/mutate", { token: CLIENT, body: doc });
    expect(decodePatch(mutating.json.response)).toEqual([
      { op: "replace", path: "/spec/containers/0/image", value: `240.0.0.1:9/team/app@${LAB_DIGEST}` },
    ]);
  });

  it("needs the token, and checks the policy ID in the path", async () => {
    const doc = review("pod-create.json");
    expect((await call("POST", "/v1/admission/adm-allow", { body: doc })).status).toBe(401);
    const bad = await call("POST", "/v1/admission/Bad_ID", { token: CLIENT, body: doc });
    expect(bad.status).toBe(400);
    expect(bad.json.error.code).toBe("INVALID_POLICY_ID");
    const unknown = await call("POST", "/v1/admission/no-such-policy/mutate", { token: CLIENT, body: doc });
    expect(unknown.status).toBe(404);
  });
});
