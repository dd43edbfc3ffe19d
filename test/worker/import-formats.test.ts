// Portieris and Connaisseur policies through the HTTP API: stored as YAML, decided as the tools decide.
import { describe, expect, it } from "vitest";
import { ADMIN, DIGEST_A, DIGEST_B, call, decideImage, putPolicy } from "./http";

// Test keys (see test/unit/importers/fixtures/README.md); decisions here never reach a Notary.
const KEY = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEd6/lDuZQASwPJh1pOY5UmAmbgUpl
qJzztKvdtlPDFuaINJUTKZTXt4LC+JvNGKQLgq/73bzGRxD73m7CoyGv7w==
-----END PUBLIC KEY-----`;
const indent = (text: string, by: string) => text.replace(/^/gm, by);

const connaisseurV2 = (detectionMode: boolean) => `# Connaisseur 2 Helm values
deployment:
  replicasCount: 1
validators:
  - name: allow
    type: static
    approve: true
  - name: deny
    type: static
    approve: false
  - name: dockerhub
    type: notaryv1
    host: notary.docker.io
    trust_roots:
      - name: default
        key: |
${indent(KEY, "          ")}
policy:
  - pattern: "*:*"
    validator: deny
  - pattern: "docker.io/library/*:*"
    validator: allow
  - pattern: "docker.io/securesystemsengineering/*:*"
    validator: dockerhub
detectionMode: ${detectionMode}
namespacedValidation:
  enabled: true
  mode: ignore
`;

const connaisseurV3 = `application:
  validators:
    - name: allow
      type: static
      approve: true
  policy:
    - pattern: "docker.io/library/*"
      validator: allow
  features:
    detectionMode: false
`;

const portieris = `# kubectl get clusterimagepolicy,imagepolicy -A -o yaml, as a stream
apiVersion: portieris.cloud.ibm.com/v1
kind: ClusterImagePolicy
metadata:
  name: portieris-default-cluster-image-policy
spec:
  repositories:
    - name: "docker.io/library/*"
      policy:
---
apiVersion: portieris.cloud.ibm.com/v1
kind: ImagePolicy
metadata:
  name: team-a-only-internal
  namespace: team-a
spec:
  repositories:
    - name: "registry.example.com/team-a/*"
      policy:
        trust:
          enabled: false
`;

describe("PUT /v1/policies/{id} with ?format=connaisseur|portieris", () => {
  it("stores Connaisseur 2 values as a connaisseur policy", async () => {
    const res = await putPolicy("imp-conn-v2", connaisseurV2(false), "connaisseur");
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(res.json).toEqual({ id: "imp-conn-v2", revision: expect.stringMatching(/^[a-f0-9]{32}$/), format: "connaisseur", warnings: [] });
    const got = await call("GET", "/v1/policies/imp-conn-v2", { token: ADMIN });
    expect(got.json.document).toBe(connaisseurV2(false));
    expect(got.json.policy).toMatchObject({ mode: "enforce", patternStyle: "connaisseur" });
    expect(got.json.policy.rules[2]).toEqual({
      pattern: "docker.io/securesystemsengineering/*:*",
      require: [{ type: "notary", server: "https://notary.docker.io", rootKeys: [KEY] }],
      description: "validator dockerhub, trust root default",
    });
  });

  it("stores Connaisseur 3 values", async () => {
    const res = await putPolicy("imp-conn-v3", connaisseurV3, "connaisseur");
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(res.json.format).toBe("connaisseur");
  });

  it("stores a Portieris YAML stream as a portieris policy", async () => {
    const res = await putPolicy("imp-portieris", portieris, "portieris");
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(res.json.format).toBe("portieris");
    const got = await call("GET", "/v1/policies/imp-portieris", { token: ADMIN });
    expect(got.json.policy).toEqual({
      mode: "enforce",
      patternStyle: "portieris",
      rules: [
        { pattern: "docker.io/library/*", require: [{ type: "allow" }], description: "ClusterImagePolicy portieris-default-cluster-image-policy" },
        {
          pattern: "registry.example.com/team-a/*",
          require: [{ type: "allow" }],
          description: "ImagePolicy team-a/team-a-only-internal",
          namespace: "team-a",
        },
      ],
    });
  });

  it("refuses invalid documents with the paths of every problem, and stores nothing", async () => {
    const bad = connaisseurV2(false)
      .replace('validator: allow\n  - pattern: "docker.io/securesystemsengineering', 'validator: alow\n  - pattern: "docker.io/securesystemsengineering')
      .replace("host: notary.docker.io", "host: notary.docker.io\n    auth:\n      secret_name: notary-creds");
    const res = await putPolicy("imp-invalid", bad, "connaisseur");
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("INVALID_POLICY");
    expect(res.json.error.issues).toEqual([
      { path: "validators[2].auth.secret_name", message: expect.stringMatching(/auth.username and auth.password/) },
      { path: "policy[1].validator", message: 'validator "alow" is not defined in validators' },
    ]);
    expect((await call("GET", "/v1/policies/imp-invalid", { token: ADMIN })).status).toBe(404);

    const stream = `${portieris}---\napiVersion: portieris.cloud.ibm.com/v1\nkind: ClusterImagePolicy\nmetadata:\n  name: x\nspec:\n  repositories:\n    - name: "*.icr.io/*"\n      policy:\n        trust:\n          enabled: true\n`;
    const p = await putPolicy("imp-invalid", stream, "portieris");
    expect(p.status).toBe(400);
    expect(p.json.error.issues).toEqual([
      { path: "[2].spec.repositories[0].name", message: expect.stringMatching(/set policy.trust.trustServer$/) },
    ]);
  });

  it("refuses a validator type that has no importer yet", async () => {
    const doc = connaisseurV2(false).replace("type: notaryv1", "type: notaryv2");
    const res = await putPolicy("imp-notaryv2", doc, "connaisseur");
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("INVALID_POLICY");
    expect(res.json.error.issues).toEqual([{ path: "validators[2].type", message: expect.stringContaining("notaryv2") }]);
  });
});

describe("decisions under imported policies", () => {
  it("allows and denies by Connaisseur's static validators", async () => {
    await putPolicy("imp-conn-dec", connaisseurV2(false), "connaisseur");
    const allowed = await decideImage(`nginx@${DIGEST_A}`, "imp-conn-dec");
    expect(allowed.json).toMatchObject({ decision: "allow", allowed: true, rule: "docker.io/library/*:*", digest: DIGEST_A, mode: "enforce" });
    expect(allowed.json.reasons[0].code).toBe("STATIC_ALLOW");

    const denied = await decideImage(`quay.io/org/app@${DIGEST_B}`, "imp-conn-dec");
    expect(denied.json).toMatchObject({ decision: "deny", allowed: false, rule: "*:*" });
    expect(denied.json.reasons).toEqual([
      { code: "STATIC_DENY", message: `static deny for image quay.io/org/app@${DIGEST_B} using rule *:*`, rule: "*:*", requirement: "deny" },
    ]);
  });

  it("denies when no Connaisseur rule matches", async () => {
    await putPolicy("imp-conn-v3-dec", connaisseurV3, "connaisseur");
    const res = await decideImage(`quay.io/org/app@${DIGEST_A}`, "imp-conn-v3-dec");
    expect(res.json).toMatchObject({ decision: "deny", allowed: false, rule: null });
    expect(res.json.reasons.map((r: { code: string }) => r.code)).toEqual(["NO_MATCHING_RULE"]);
  });

  it("admits what it would deny in detectionMode, saying so", async () => {
    await putPolicy("imp-conn-audit", connaisseurV2(true), "connaisseur");
    const res = await decideImage(`quay.io/org/app@${DIGEST_A}`, "imp-conn-audit");
    expect(res.json).toMatchObject({ decision: "allow", allowed: true, mode: "audit", rule: "*:*" });
    expect(res.json.reasons.map((r: { code: string }) => r.code)).toEqual(["STATIC_DENY", "AUDIT_MODE"]);
  });

  it("allows by a Portieris policy: null, in a namespace without ImagePolicies", async () => {
    await putPolicy("imp-portieris-dec", portieris, "portieris");
    const res = await decideImage(`nginx@${DIGEST_A}`, "imp-portieris-dec", { namespace: "default" });
    expect(res.json).toMatchObject({ decision: "allow", allowed: true, rule: "docker.io/library/*", digest: DIGEST_A });
    expect(res.json.reasons[0].code).toBe("STATIC_ALLOW");
  });

  it("denies with Portieris's words when no ClusterImagePolicy repository matches", async () => {
    await putPolicy("imp-portieris-dec", portieris, "portieris");
    const image = `quay.io/org/app@${DIGEST_B}`;
    const res = await decideImage(image, "imp-portieris-dec", { namespace: "default" });
    expect(res.json).toMatchObject({ decision: "deny", allowed: false, rule: null });
    expect(res.json.reasons).toEqual([
      {
        code: "NO_MATCHING_RULE",
        message: `Deny "${image}", no matching repositories in ClusterImagePolicy and no ImagePolicies in the "default" namespace`,
        rule: null,
      },
    ]);
  });

  it("uses only the namespace's ImagePolicies where there are some, as Portieris does", async () => {
    await putPolicy("imp-portieris-dec", portieris, "portieris");
    // nginx is allowed by the ClusterImagePolicy, but team-a has ImagePolicies of its own.
    const res = await decideImage(`nginx@${DIGEST_A}`, "imp-portieris-dec", { namespace: "team-a" });
    expect(res.json).toMatchObject({ decision: "deny", allowed: false, rule: null });
    expect(res.json.reasons.map((r: { code: string }) => r.code)).toEqual(["NO_MATCHING_RULE"]);
    const own = await decideImage(`registry.example.com/team-a/app@${DIGEST_A}`, "imp-portieris-dec", { namespace: "team-a" });
    expect(own.json).toMatchObject({ decision: "allow", rule: "registry.example.com/team-a/*" });
  });

  // Portieris (pkg/policy/policy.go GetPolicyToEnforce) names no namespace in this message.
  it("denies with Portieris's exact words when no ImagePolicy repository matches", async () => {
    await putPolicy("imp-portieris-dec", portieris, "portieris");
    const image = `nginx@${DIGEST_A}`;
    const res = await decideImage(image, "imp-portieris-dec", { namespace: "team-a" });
    expect(res.json.reasons[0].message).toBe(`Deny "${image}", no matching repositories in the ImagePolicies`);
  });

  // With neither an ImagePolicy in the namespace nor any ClusterImagePolicy, Portieris says so
  // (typo "polices" included).
  it("denies with Portieris's exact words when there are no policies for the namespace at all", async () => {
    const onlyNamespaced = portieris.slice(portieris.indexOf("---\n") + 4);
    await putPolicy("imp-portieris-ns-only", onlyNamespaced, "portieris");
    const image = `nginx@${DIGEST_A}`;
    const res = await decideImage(image, "imp-portieris-ns-only", { namespace: "default" });
    expect(res.json.decision).toBe("deny");
    expect(res.json.reasons[0].message).toBe(`Deny "${image}", no image policies or cluster polices`);
  });
});
