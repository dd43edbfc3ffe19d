// Kyverno's ImageValidatingPolicy through the Kyverno importer: the fixture (after the upstream docs'
// samples), each field it reads, each it refuses, and a key policy that decides as the equivalent
// ClusterPolicy does, through decide() on the cosign vectors.
/// <reference types="vite/client" />
import { describe, expect, it } from "vitest";
import { decideOnVector } from "./decide-on-vector";
import { importIssues } from "./import-issues";
import { compilePolicy } from "../../../src/policy/compile";
import { parseDocumentText } from "../../../src/policy/document";
import { importKyverno } from "../../../src/policy/importers/kyverno";
import { type Policy, type PolicyIssue } from "../../../src/policy/model";
import { parseReference } from "../../../src/reference";
import { defaultRequirementKinds as kinds } from "../../../src/requirements";
import fixture from "./fixtures/kyverno-ivp.yaml?raw";
import alicePub from "../../vectors/cosign/keys/alice.pub?raw";
import bobPub from "../../vectors/cosign/keys/bob.pub?raw";

const ALICE = alicePub.trim();
const BOB = bobPub.trim();
const indent = (text: string, by: string) => text.replace(/^/gm, by);
const fromText = (text: string, warnings: PolicyIssue[] = []) => importKyverno(parseDocumentText(text).value, kinds, warnings);

const { issuesOf, expectIssue } = importIssues((text) => fromText(text as string));

const keyAttestor = (name: string, pem: string, extra = "    ctlog:\n      url: https://rekor.sigstore.dev\n      insecureIgnoreTlog: true\n") => `- name: ${name}
  cosign:
    key:
      data: |
${indent(pem, "        ")}
${extra}`;

/** One IVP; each part is YAML at the spec's indentation (2). */
function ivp(parts: { glob?: string; attestors?: string; validations?: string; extra?: string } = {}): string {
  const validations = parts.validations ?? `- expression: images.containers.map(image, verifyImageSignatures(image, [attestors.alice])).all(e, e > 0)`;
  return `apiVersion: policies.kyverno.io/v1alpha1
kind: ImageValidatingPolicy
metadata:
  name: ivp
spec:
  matchConstraints:
    resourceRules:
      - apiGroups: [""]
        apiVersions: ["v1"]
        operations: ["CREATE", "UPDATE"]
        resources: ["pods"]
  matchImageReferences:
    - glob: "${parts.glob ?? "ghcr.io/acme/*"}"
  attestors:
${indent(parts.attestors ?? keyAttestor("alice", ALICE), "    ")}
  validations:
${indent(validations, "    ")}
${parts.extra ?? ""}`;
}

describe("ImageValidatingPolicy: the fixture", () => {
  const warnings: PolicyIssue[] = [];
  const p = fromText(fixture, warnings);

  it("is one rule per policy in Kyverno's pattern style, every matching rule applying", () => {
    expect(p).toMatchObject({ patternStyle: "kyverno", ruleSelection: "allMatching", noMatch: "allow" });
    expect(p.rules.map((r) => r.name)).toEqual(["verify-image-ivpol", "require-keyless"]);
  });

  it("key attestor: the PEM as a cosign key, the validation as anyOf over the named attestors, Deny as enforce", () => {
    expect(p.rules[0]).toEqual({
      name: "verify-image-ivpol",
      pattern: "ghcr.io/acme/*",
      when: { kinds: ["Pod", "DaemonSet", "Deployment", "Job", "StatefulSet", "ReplicaSet", "ReplicationController", "CronJob"] },
      mode: "enforce",
      require: [
        {
          type: "anyOf",
          count: 1,
          of: [{ name: "cosign", requirement: { type: "cosign", keys: [{ name: "cosign", key: ALICE }] } }],
          message: "failed the image Signature verification: {image}: {failures}",
        },
      ],
    });
  });

  it("keyless attestor: identities as written (exact issuer, subjectRegExp), Audit as audit, NotIn as excluded namespaces", () => {
    expect(p.rules[1]).toMatchObject({
      pattern: "ghcr.io/myorg/myrepo:*",
      mode: "audit",
      when: { excludeNamespaces: ["kube-system"] },
      require: [
        {
          type: "anyOf",
          count: 1,
          of: [
            {
              name: "cosign",
              requirement: {
                type: "cosign",
                keyless: { identities: [{ issuer: "https://token.actions.githubusercontent.com", subjectRegExp: "^https://github\\.com/myorg/myrepo/\\.github/workflows/.*$" }] },
              },
            },
          ],
        },
      ],
    });
  });

  it("warns that initContainers and ephemeralContainers images are checked too", () => {
    expect(warnings.map((w) => w.message)).toContain("trustgate checks the images of initContainers and ephemeralContainers too, which these validations leave to no check in Kyverno");
  });

  it("selects as Kyverno would", () => {
    const compiled = compilePolicy(p);
    const names = (image: string, context: Record<string, unknown>) => compiled.matchAll(parseReference(image), context).map((m) => m.rule.name);
    expect(names("ghcr.io/acme/app:v1", { namespace: "default", kind: "Deployment" })).toEqual(["verify-image-ivpol"]);
    expect(names("ghcr.io/myorg/myrepo:v1", { namespace: "default", kind: "Pod" })).toEqual(["require-keyless"]);
    expect(names("ghcr.io/myorg/myrepo:v1", { namespace: "kube-system", kind: "Pod" })).toEqual([]);
    expect(names("ghcr.io/acme/app:v1", { namespace: "default", kind: "Service" })).toEqual([]);
  });
});

describe("ImageValidatingPolicy: validations", () => {
  const two = keyAttestor("alice", ALICE) + keyAttestor("bob", BOB);

  it("several attestors: verifyImageSignatures counts those that verify; > 0 is any one, >= 2 two of them", () => {
    const any = fromText(ivp({ attestors: two, validations: "- expression: images.containers.map(image, verifyImageSignatures(image, [attestors.alice, attestors.bob])).all(e, e > 0)" }));
    expect(any.rules[0]!.require[0]).toMatchObject({ type: "anyOf", count: 1, of: [{ name: "alice" }, { name: "bob" }] });
    const both = fromText(ivp({ attestors: two, validations: `- expression: 'images.containers.all(i, verifyImageSignatures(i, [attestors["alice"], attestors.bob]) >= 2)'` }));
    expect(both.rules[0]!.require[0]).toMatchObject({ type: "anyOf", count: 2 });
  });

  it("every validation must hold; the same check over every container list warns of nothing", () => {
    const warnings: PolicyIssue[] = [];
    const lists = ["containers", "initContainers", "ephemeralContainers"].map((f) => `- expression: images.${f}.map(image, verifyImageSignatures(image, [attestors.alice])).all(e, e > 0)`).join("\n");
    const p = fromText(ivp({ validations: lists }), warnings);
    expect(p.rules[0]!.require).toHaveLength(3);
    expect(warnings).toEqual([]);
  });

  it("refuses other CEL, attestation checks, counts that check nothing or can never pass, and unknown attestors", () => {
    const at = "spec.validations[0].expression";
    expectIssue(ivp({ validations: "- expression: images.containers.all(i, i.startsWith('ghcr.io/'))" }), at, /not one trustgate can translate.*keep other checks in Kyverno/);
    expectIssue(
      ivp({ validations: "- expression: images.containers.map(image, verifyImageAttestations(image, attestations.sbom, [attestors.alice])).all(e, e > 0)" }),
      at,
      /attestations and image data are not supported yet/,
    );
    expectIssue(ivp({ validations: "- expression: images.containers.map(image, verifyImageSignatures(image, [attestors.alice])).all(e, e >= 0)" }), at, /checks nothing/);
    expectIssue(ivp({ validations: "- expression: images.containers.map(image, verifyImageSignatures(image, [attestors.alice])).all(e, e > 1)" }), at, /2 of 1 attestors can never verify/);
    expectIssue(ivp({ validations: "- expression: images.containers.map(image, verifyImageSignatures(image, [attestors.carol])).all(e, e > 0)" }), at, /attestor not found in policy: carol/);
    expectIssue(ivp({ validations: "- expression: images.containers.map(image, verifyImageSignatures(image, [attestors.alice, attestors.alice])).all(e, e > 1)" }), at, /named twice/);
    expectIssue(ivp({ validations: "- expression: images.sidecars.map(image, verifyImageSignatures(image, [attestors.alice])).all(e, e > 0)" }), at, /images.sidecars is not a container list/);
    expectIssue(
      ivp({
        attestors: two,
        validations: "- expression: images.containers.map(image, verifyImageSignatures(image, [attestors.alice])).all(e, e > 0)\n- expression: images.initContainers.map(image, verifyImageSignatures(image, [attestors.bob])).all(e, e > 0)",
      }),
      "spec.validations",
      /different attestors/,
    );
    expectIssue(ivp({ validations: "[]" }), "spec.validations", /required: a validation such as/);
  });
});

describe("ImageValidatingPolicy: refused fields", () => {
  it("CEL image matching, globs with classes or alternatives, and a missing matchImageReferences", () => {
    expectIssue(ivp().replace(`- glob: "ghcr.io/acme/*"`, `- expression: "image.registry == 'ghcr.io'"`), "spec.matchImageReferences[0].expression", /CEL image matching is not supported: write a glob/);
    expectIssue(ivp({ glob: "ghcr.io/{a,b}/*" }), "spec.matchImageReferences[0].glob", /alternatives/);
    expectIssue(ivp().replace(`  matchImageReferences:\n    - glob: "ghcr.io/acme/*"\n`, ""), "spec.matchImageReferences", /required/);
  });

  it("matchConditions, variables, attestations, images extractors, credentials secrets, JSON evaluation", () => {
    expectIssue(ivp({ extra: "  matchConditions:\n    - name: x\n      expression: 'true'\n" }), "spec.matchConditions", /matchConditions \(CEL\) are not evaluated/);
    expectIssue(ivp({ extra: "  variables:\n    - name: x\n      expression: 'true'\n" }), "spec.variables", /not evaluated/);
    expectIssue(ivp({ extra: "  attestations:\n    - name: sbom\n      referrer: { type: sbom/cyclone-dx }\n" }), "spec.attestations", /attestations are not supported yet/);
    expectIssue(ivp({ extra: "  images:\n    - name: refs\n      expression: '[object.imageReference]'\n" }), "spec.images", /image extractors/);
    expectIssue(ivp({ extra: "  credentials:\n    secrets: [regcred]\n" }), "spec.credentials.secrets", /REGISTRY_CREDENTIALS/);
    expectIssue(ivp({ extra: "  evaluation:\n    mode: JSON\n" }), "spec.evaluation.mode", /mode Kubernetes/);
  });

  it("notary, certificate and KMS attestors; a key that needs Rekor; another hash algorithm; two PEMs in one key", () => {
    expectIssue(ivp({ attestors: "- name: alice\n  notary:\n    certs: { value: x }\n" }), "spec.attestors[0].notary", /notary attestors/);
    expectIssue(ivp({ attestors: "- name: alice\n  cosign:\n    certificate:\n      cert: { value: x }\n" }), "spec.attestors[0].cosign.certificate", /certificate attestors are not supported/);
    expectIssue(ivp({ attestors: "- name: alice\n  cosign:\n    key:\n      kms: gcpkms://x\n" }), "spec.attestors[0].cosign.key.kms", /kms keys are references/);
    expectIssue(ivp({ attestors: keyAttestor("alice", ALICE, "") }), "spec.attestors[0].cosign.ctlog", /set ctlog.insecureIgnoreTlog: true/);
    expectIssue(ivp({ attestors: keyAttestor("alice", ALICE).replace("      data: |", "      hashAlgorithm: sha512\n      data: |") }), "spec.attestors[0].cosign.key.hashAlgorithm", /hashAlgorithm sha512 is not supported/);
    expectIssue(ivp({ attestors: keyAttestor("alice", `${ALICE}\n${BOB}`) }), "spec.attestors[0].cosign.key.data", /one PEM public key per attestor/);
  });

  it("keyless: both issuer and issuerRegExp, a private Rekor without roots, a TSA", () => {
    const keyless = (identity: string, ctlog = "") => `- name: alice\n  cosign:\n    keyless:\n      identities:\n        - ${identity}\n${ctlog}`;
    expectIssue(ivp({ attestors: keyless("{ issuer: a, issuerRegExp: b, subject: c }") }), "spec.attestors[0].cosign.keyless.identities[0].issuerRegExp", /not both/);
    expectIssue(ivp({ attestors: keyless("{ issuer: a, subject: c }", "    ctlog:\n      url: https://rekor.example.com\n") }), "spec.attestors[0].cosign.ctlog.url", /give keyless.roots, ctlog.rekorPubKey and ctlog.ctLogPubKey/);
    expectIssue(ivp({ attestors: keyless("{ issuer: a, subject: c }", "    ctlog:\n      tsaCertChain: x\n") }), "spec.attestors[0].cosign.ctlog.tsaCertChain", /timestamp authority/);
    // Kyverno's getRekor fails without a URL whenever ctlog is given.
    expectIssue(ivp({ attestors: keyAttestor("alice", ALICE, "    ctlog:\n      insecureIgnoreTlog: true\n") }), "spec.attestors[0].cosign.ctlog.url", /fails every verification without it/);
  });

  it("matchConstraints: object and label selectors, other resources, resource names, delete-only", () => {
    expectIssue(ivp({ extra: "" }).replace('        resources: ["pods"]', '        resources: ["services"]'), "spec.matchConstraints.resourceRules[0].resources[0]", /not a workload trustgate decides/);
    expectIssue(ivp().replace('        operations: ["CREATE", "UPDATE"]', '        operations: ["DELETE"]'), "spec.matchConstraints.resourceRules[0].operations", /CREATE and UPDATE/);
    expectIssue(ivp().replace("  matchImageReferences:", "    objectSelector:\n      matchLabels: { app: x }\n  matchImageReferences:"), "spec.matchConstraints.objectSelector", /objectSelector/);
    expectIssue(ivp().replace("  matchImageReferences:", "    namespaceSelector:\n      matchLabels: { team: a }\n  matchImageReferences:"), "spec.matchConstraints.namespaceSelector.matchLabels.team", /kubernetes.io\/metadata.name/);
    const p = fromText(ivp().replace("  matchImageReferences:", "    namespaceSelector:\n      matchLabels: { kubernetes.io/metadata.name: payments }\n  matchImageReferences:"));
    expect(p.rules[0]!.when).toMatchObject({ namespaces: ["payments"] });
  });

  it("a wrong apiVersion, a duplicate name, unknown fields", () => {
    expectIssue(ivp().replace("policies.kyverno.io/v1alpha1", "kyverno.io/v1"), "apiVersion", /policies.kyverno.io\/v1alpha1/);
    expectIssue(`${ivp()}---\n${ivp()}`, "[1].metadata", /also defined/);
    // Kyverno 1.14's docs spelled matchImageReferences as imageRules: not silently ignored.
    expect(issuesOf(ivp({ extra: "  imageRules: []\n" })).map((i) => `${i.path}: ${i.message}`).join("\n")).toMatch(/imageRules/);
  });
});

describe("ImageValidatingPolicy decides as the equivalent ClusterPolicy", () => {
  const key = (pem: string) => indent(pem, "                      ");
  const clusterPolicy = (pem: string) => `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: ivp
spec:
  validationFailureAction: Enforce
  rules:
    - name: r
      match:
        any:
          - resources:
              kinds: [Pod]
      verifyImages:
        - imageReferences: ["127.0.0.1:5000/demo/*"]
          attestors:
            - entries:
                - keys:
                    publicKeys: |-
${key(pem)}
                    rekor: { ignoreTlog: true }
`;
  const decideWith = (policy: Policy) => decideOnVector(policy, { kind: "Pod", namespace: "default" });

  it("the same normalised rule but for attestor names, and the same verdicts: alice's signature allows, bob's key denies", async () => {
    for (const [pem, decision] of [
      [ALICE, "allow"],
      [BOB, "deny"],
    ] as const) {
      const fromIvp = fromText(ivp({ glob: "127.0.0.1:5000/demo/*", attestors: keyAttestor("k", pem), validations: "- expression: images.containers.map(image, verifyImageSignatures(image, [attestors.k])).all(e, e > 0)" }));
      const fromCp = fromText(clusterPolicy(pem));
      const renamed = JSON.parse(JSON.stringify(fromIvp.rules[0]).replaceAll('"k"', '".attestors[0].entries[0].keys"').replaceAll('"ivp"', '"ivp/r"'));
      expect(renamed).toEqual(fromCp.rules[0]);
      const [a, b] = [await decideWith(fromIvp), await decideWith(fromCp)];
      expect(a.decision).toBe(decision);
      expect(b.decision).toBe(decision);
      expect(a.reasons.map((r) => r.code)).toEqual(b.reasons.map((r) => r.code));
    }
  });
});
