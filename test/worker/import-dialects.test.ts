// Kyverno and policy-controller policies through the HTTP API: refused fields are a 400 naming the
// field, and decisions that need no registry (no match, static authorities) decide as the tools do.
import { describe, expect, it } from "vitest";
import { DIGEST_A, call, decideImage, putPolicy } from "./http";
import { review } from "../unit/admission/helpers";

const KEY = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEKc7WkoGyrvstCcANAHFuLIBI9cIQ
3AVnGyxhK9VCm+13rGIbxgTeG/OqNF5PSeNMBFjFr1bhMdn6M85gJLbfgA==
-----END PUBLIC KEY-----`;
const indent = (text: string, by: string) => text.replace(/^/gm, by);

const kyverno = (rekor: string) => `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: check-image
spec:
  validationFailureAction: Enforce
  rules:
    - name: verify
      match:
        any:
          - resources:
              kinds: [Pod]
      verifyImages:
        - imageReferences: ["ghcr.io/acme/*"]
          attestors:
            - entries:
                - keys:
                    publicKeys: |-
${indent(KEY, "                      ")}
${rekor}
`;

const cips = (noMatch?: string) => `apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata:
  name: block-legacy
spec:
  images:
    - glob: "quay.io/legacy/**"
  authorities:
    - static:
        action: fail
        message: legacy images are retired
${noMatch ? `---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config-policy-controller\ndata:\n  no-match-policy: ${noMatch}\n` : ""}`;

describe("PUT /v1/policies/{id}?format=kyverno|policy-controller", () => {
  it("refuses a Kyverno key that needs Rekor with a 400 naming the field", async () => {
    const res = await putPolicy("kyv-rekor", kyverno(""), "kyverno");
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("INVALID_POLICY");
    expect(res.json.error.issues).toContainEqual({
      path: "spec.rules[0].verifyImages[0].attestors[0].entries[0].keys.rekor",
      message: expect.stringContaining("set rekor.ignoreTlog: true"),
    });
  });

  it("stores a Kyverno policy; an image no rule matches is allowed, as Kyverno does", async () => {
    const res = await putPolicy("kyv-ok", kyverno("                    rekor: { ignoreTlog: true }"), "kyverno");
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(res.json.format).toBe("kyverno");
    const v = await decideImage("quay.io/other/app:v1", "kyv-ok");
    expect(v.json).toMatchObject({ decision: "allow", rule: null, reasons: [{ code: "NO_RULE_APPLIES" }] });
  });

  it("policy-controller: static fail in its words; no match denies unless config-policy-controller says otherwise", async () => {
    expect((await putPolicy("pc-deny", cips(), "policy-controller")).status).toBe(200);
    const legacy = await decideImage(`quay.io/legacy/app@${DIGEST_A}`, "pc-deny");
    expect(legacy.json).toMatchObject({ decision: "deny", rule: "block-legacy" });
    expect(legacy.json.reasons[0].code).toBe("ANY_OF_UNMET");
    expect(legacy.json.reasons[0].message).toContain("disallowed by static policy: legacy images are retired");
    const other = await decideImage(`quay.io/other/app@${DIGEST_A}`, "pc-deny");
    expect(other.json).toMatchObject({ decision: "deny", reasons: [{ code: "NO_MATCHING_RULE", message: expect.stringContaining("no matching policies") }] });

    expect((await putPolicy("pc-warn", cips("warn"), "policy-controller")).status).toBe(200);
    const warned = await decideImage(`quay.io/other/app@${DIGEST_A}`, "pc-warn");
    expect(warned.json.decision).toBe("allow");
    expect(warned.json.reasons.map((r: { code: string }) => r.code)).toEqual(["NO_MATCHING_RULE", "AUDIT_MODE"]);
  });

  it("refuses a policy-controller secretRef with a 400 naming the field", async () => {
    const doc = cips().replace("    - static:\n        action: fail\n        message: legacy images are retired\n", "    - key:\n        secretRef:\n          name: cosign-key\n");
    const res = await putPolicy("pc-secret", doc, "policy-controller");
    expect(res.status).toBe(400);
    expect(res.json.error.issues).toContainEqual({ path: "spec.authorities[0].key.secretRef", message: expect.stringContaining("give the PEM public key in key.data") });
    expect((await call("GET", "/v1/policies/pc-secret", { token: "test-admin-token" })).status).toBe(404);
  });
});

describe("PUT /v1/policies/{id}?format=kyverno with an ImageValidatingPolicy", () => {
  const ivp = (extra: string) => `apiVersion: policies.kyverno.io/v1alpha1
kind: ImageValidatingPolicy
metadata:
  name: verify-image-ivpol
spec:
  validationActions: [Deny]
  matchConstraints:
    resourceRules:
      - apiGroups: [""]
        apiVersions: ["v1"]
        operations: ["CREATE", "UPDATE"]
        resources: ["pods"]
  matchImageReferences:
    - glob: "ghcr.io/acme/*"
  attestors:
    - name: cosign
      cosign:
        key:
          data: |
${indent(KEY, "            ")}
        ctlog:
          url: https://rekor.sigstore.dev
          insecureIgnoreTlog: true
  validations:
    - expression: images.containers.map(image, verifyImageSignatures(image, [attestors.cosign])).all(e, e > 0)
${extra}`;

  it("stores it as Kyverno rules; an image it does not match is allowed", async () => {
    const res = await putPolicy("ivp-ok", ivp(""), "kyverno");
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    const v = await decideImage("quay.io/other/app:v1", "ivp-ok");
    expect(v.json).toMatchObject({ decision: "allow", rule: null, reasons: [{ code: "NO_RULE_APPLIES" }] });
  });

  it("refuses matchConditions with a 400 naming the field and what to do", async () => {
    const res = await putPolicy("ivp-cel", ivp("  matchConditions:\n    - name: not-system\n      expression: \"request.namespace != 'kube-system'\"\n"), "kyverno");
    expect(res.status).toBe(400);
    expect(res.json.error.issues).toContainEqual({ path: "spec.matchConditions", message: expect.stringContaining("narrow the policy with matchConstraints") });
  });
});

describe("POST /v1/admission with a Kyverno policy: namespace and kind come from the review", () => {
  // The vectors' APP image is a tag on 240.0.0.1:9 (a reserved address the egress guard refuses): a rule that matches it
  // must verify, cannot, and denies; an excluded namespace or an unmatched kind is not checked.
  const policy = (exclude: string, kinds: string) =>
    kyverno("                    rekor: { ignoreTlog: true }")
      .replace('"ghcr.io/acme/*"', '"240.0.0.1:9/*"')
      .replace("kinds: [Pod]", `kinds: [${kinds}]`)
      .replace("      verifyImages:", `${exclude}      verifyImages:`);
  const admit = (id: string, file: string) => call("POST", `/v1/admission?policy=${id}`, { token: "test-client-token", body: review(file) });

  it("checks a Pod in payments, skips it when payments is excluded, and a Deployment through autogen", async () => {
    expect((await putPolicy("kyv-adm", policy("", "Pod"), "kyverno")).status).toBe(200);
    const pod = await admit("kyv-adm", "pod-create.json");
    expect(pod.json.response.allowed, JSON.stringify(pod.json)).toBe(false);
    expect(pod.json.response.status.message).toContain("240.0.0.1:9/team/app:1.4.2");
    expect((await admit("kyv-adm", "deployment-create.json")).json.response.allowed).toBe(false);

    const excluded = "      exclude:\n        any:\n          - resources:\n              namespaces: [pay*]\n";
    expect((await putPolicy("kyv-adm-ex", policy(excluded, "Pod"), "kyverno")).status).toBe(200);
    expect((await admit("kyv-adm-ex", "pod-create.json")).json.response.allowed).toBe(true);

    expect((await putPolicy("kyv-adm-job", policy("", "Job"), "kyverno")).status).toBe(200);
    expect((await admit("kyv-adm-job", "pod-create.json")).json.response.allowed).toBe(true);
    expect((await admit("kyv-adm-job", "job-create.json")).json.response.allowed).toBe(false);
  });
});
