// Kyverno's NamespacedImageValidatingPolicy through the Kyverno importer: the apiVersions that define
// it, its namespace (required, a rule per namespace and name), the namespace it applies in
// intersected with matchConstraints.namespaceSelector as Kyverno does, the messages that list the
// kinds, and decide() allowing or denying by the decision's namespace on the cosign vectors.
/// <reference types="vite/client" />
import { describe, expect, it } from "vitest";
import { decideOnVector } from "./decide-on-vector";
import { compilePolicy } from "../../../src/policy/compile";
import { parseDocumentText } from "../../../src/policy/document";
import { importKyverno } from "../../../src/policy/importers/kyverno";
import { PolicyValidationError, type PolicyIssue } from "../../../src/policy/model";
import { parseReference } from "../../../src/reference";
import { defaultRequirementKinds as kinds } from "../../../src/requirements";
import alicePub from "../../vectors/cosign/keys/alice.pub?raw";
import bobPub from "../../vectors/cosign/keys/bob.pub?raw";

const ALICE = alicePub.trim();
const BOB = bobPub.trim();
const indent = (text: string, by: string) => text.replace(/^/gm, by);
const fromText = (text: string, warnings: PolicyIssue[] = []) => importKyverno(parseDocumentText(text).value, kinds, warnings);
/** Leaves out the warning every fixture here gets (only images.containers is checked, see kyverno-ivp.test.ts). */
const scoping = (warnings: PolicyIssue[]) => warnings.filter((w) => !w.path.endsWith("spec.validations"));

function issuesOf(text: string): readonly PolicyIssue[] {
  try {
    fromText(text);
  } catch (err) {
    if (err instanceof PolicyValidationError) return err.issues;
    throw err;
  }
  throw new Error("expected the import to fail");
}

function expectIssue(text: string, path: string, message: RegExp): void {
  const issues = issuesOf(text);
  const issue = issues.find((i) => i.path === path && message.test(i.message));
  expect(issue, JSON.stringify(issues, null, 2)).toBeDefined();
}

/** One policy; `selector` is YAML under matchConstraints at its indentation (4). */
function nivp(
  opts: { kind?: string; apiVersion?: string; name?: string; namespace?: string | null; selector?: string; glob?: string; pem?: string } = {},
): string {
  const namespace = opts.namespace === null ? "" : `  namespace: ${opts.namespace ?? "team-a"}\n`;
  return `apiVersion: ${opts.apiVersion ?? "policies.kyverno.io/v1beta1"}
kind: ${opts.kind ?? "NamespacedImageValidatingPolicy"}
metadata:
  name: ${opts.name ?? "signed"}
${namespace}spec:
  matchConstraints:
    resourceRules:
      - apiGroups: [""]
        apiVersions: ["v1"]
        operations: ["CREATE", "UPDATE"]
        resources: ["pods"]
${opts.selector ? indent(opts.selector, "    ") + "\n" : ""}  matchImageReferences:
    - glob: "${opts.glob ?? "ghcr.io/team-a/*"}"
  attestors:
    - name: alice
      cosign:
        key:
          data: |
${indent(opts.pem ?? ALICE, "            ")}
        ctlog:
          url: https://rekor.sigstore.dev
          insecureIgnoreTlog: true
  validations:
    - expression: images.containers.map(image, verifyImageSignatures(image, [attestors.alice])).all(e, e > 0)
      message: failed the image Signature verification
`;
}

const CONTROLLERS = ["Pod", "DaemonSet", "Deployment", "Job", "StatefulSet", "ReplicaSet", "ReplicationController", "CronJob"];

describe("NamespacedImageValidatingPolicy: accepted as written", () => {
  it.each(["policies.kyverno.io/v1beta1", "policies.kyverno.io/v1"])("%s: one rule <namespace>/<name>, applying in its namespace only", (apiVersion) => {
    const warnings: PolicyIssue[] = [];
    const p = fromText(nivp({ apiVersion }), warnings);
    expect(scoping(warnings)).toEqual([]);
    expect(p).toMatchObject({ patternStyle: "kyverno", ruleSelection: "allMatching", noMatch: "allow" });
    expect(p.rules).toEqual([
      {
        name: "team-a/signed",
        pattern: "ghcr.io/team-a/*",
        when: { kinds: CONTROLLERS, namespaces: ["team-a"] },
        mode: "enforce",
        require: [
          {
            type: "anyOf",
            count: 1,
            of: [{ name: "alice", requirement: { type: "cosign", keys: [{ name: "alice", key: ALICE }] } }],
            message: "failed the image Signature verification: {image}: {failures}",
          },
        ],
      },
    ]);
  });

  it("the same spec as an ImageValidatingPolicy: the rules differ only in name and namespace", () => {
    const cluster = fromText(nivp({ kind: "ImageValidatingPolicy", namespace: null })).rules[0]!;
    const namespaced = fromText(nivp()).rules[0]!;
    expect({ ...namespaced, name: cluster.name, when: cluster.when }).toEqual(cluster);
    expect(cluster.when).toEqual({ kinds: CONTROLLERS });
  });

  it("selects by the decision's namespace; a decision that names none is checked, as for a namespaced Policy", () => {
    const compiled = compilePolicy(fromText(nivp()));
    const names = (context: Record<string, unknown>) => compiled.matchAll(parseReference("ghcr.io/team-a/app:v1"), context).map((m) => m.rule.name);
    expect(names({ namespace: "team-a", kind: "Pod" })).toEqual(["team-a/signed"]);
    expect(names({ namespace: "team-b", kind: "Pod" })).toEqual([]);
    expect(names({ namespace: "team-a-staging", kind: "Pod" })).toEqual([]);
    expect(names({})).toEqual(["team-a/signed"]);
  });

  it("beside a ClusterPolicy and an ImageValidatingPolicy in one stream", () => {
    const cluster = nivp({ kind: "ImageValidatingPolicy", namespace: null, name: "everyone", glob: "*" });
    const p = fromText(`${nivp()}---\n${cluster}---\n${nivp({ namespace: "team-b" })}`);
    expect(p.rules.map((r) => [r.name, r.when?.namespaces])).toEqual([
      ["team-a/signed", ["team-a"]],
      ["everyone", undefined],
      ["team-b/signed", ["team-b"]],
    ]);
  });
});

describe("NamespacedImageValidatingPolicy: refused", () => {
  it("v1alpha1, which does not define the kind, and other groups", () => {
    expectIssue(nivp({ apiVersion: "policies.kyverno.io/v1alpha1" }), "apiVersion", /^expected policies.kyverno.io\/v1beta1, policies.kyverno.io\/v1 for a NamespacedImageValidatingPolicy, got "policies.kyverno.io\/v1alpha1"$/);
    expectIssue(nivp({ apiVersion: "kyverno.io/v1" }), "apiVersion", /for a NamespacedImageValidatingPolicy/);
  });

  it("no metadata.namespace, in the words used for a Policy; a namespace Kubernetes would not accept", () => {
    expectIssue(nivp({ namespace: null }), "metadata.namespace", /^a NamespacedImageValidatingPolicy applies in its namespace: give metadata.namespace$/);
    expectIssue(nivp({ namespace: '""' }), "metadata.namespace", /applies in its namespace/);
    // A glob or another spelling would widen the rule to other namespaces.
    for (const written of ['"team-*"', "Team-A", '"team a"', "x".repeat(64)]) {
      expectIssue(nivp({ namespace: written }), "metadata.namespace", /^expected a namespace name/);
    }
  });

  it("a Policy's namespace is checked the same way", () => {
    const policy = `apiVersion: kyverno.io/v1
kind: Policy
metadata:
  name: p
  namespace: "team-*"
spec:
  rules: []
`;
    expectIssue(policy, "metadata.namespace", /^expected a namespace name/);
  });

  it("a duplicate is the same kind, namespace and name; the same name elsewhere is another policy", () => {
    expectIssue(`${nivp()}---\n${nivp()}`, "[1].metadata", /^NamespacedImageValidatingPolicy team-a\/signed is also defined at \[0\]$/);
    expectIssue(`${nivp({ apiVersion: "policies.kyverno.io/v1" })}---\n${nivp()}`, "[1].metadata", /also defined/);
    const p = fromText(`${nivp()}---\n${nivp({ namespace: "team-b" })}---\n${nivp({ kind: "ImageValidatingPolicy", namespace: null })}`);
    expect(p.rules.map((r) => r.name)).toEqual(["team-a/signed", "team-b/signed", "signed"]);
  });

  it("the messages that list the kinds name it", () => {
    expectIssue("apiVersion: v1\nkind: ConfigMap\n", "kind", /^expected ClusterPolicy, Policy, ImageValidatingPolicy or NamespacedImageValidatingPolicy, got "ConfigMap"$/);
    expectIssue("- 42\n", "[0]", /^expected a Kubernetes object \(ClusterPolicy, Policy, ImageValidatingPolicy, NamespacedImageValidatingPolicy\), got/);
    expectIssue("[]\n", "", /^no ClusterPolicy, Policy, ImageValidatingPolicy or NamespacedImageValidatingPolicy in the document$/);
  });
});

describe("NamespacedImageValidatingPolicy: matchConstraints.namespaceSelector", () => {
  const byName = (selector: string) => `namespaceSelector:\n${indent(selector, "  ")}`;

  it("a selector that selects its own namespace: the rule stays in that namespace alone", () => {
    for (const selector of [
      "matchLabels:\n  kubernetes.io/metadata.name: team-a",
      "matchExpressions:\n  - { key: kubernetes.io/metadata.name, operator: In, values: [team-a, team-b] }",
      "matchExpressions:\n  - { key: kubernetes.io/metadata.name, operator: NotIn, values: [kube-system] }",
    ]) {
      const warnings: PolicyIssue[] = [];
      const p = fromText(nivp({ selector: byName(selector) }), warnings);
      expect(scoping(warnings), selector).toEqual([]);
      expect(p.rules[0]!.when, selector).toEqual({ kinds: CONTROLLERS, namespaces: ["team-a"] });
    }
  });

  it("a selector that leaves its own namespace out: Kyverno never applies the policy, the import says so and leaves it out", () => {
    for (const selector of [
      "matchLabels:\n  kubernetes.io/metadata.name: team-b",
      "matchExpressions:\n  - { key: kubernetes.io/metadata.name, operator: In, values: [team-b, team-c] }",
      "matchExpressions:\n  - { key: kubernetes.io/metadata.name, operator: NotIn, values: [team-a] }",
      // Label values are compared exactly: no glob reaches team-a.
      "matchLabels:\n  kubernetes.io/metadata.name: team-*",
    ]) {
      const warnings: PolicyIssue[] = [];
      const cluster = nivp({ kind: "ImageValidatingPolicy", namespace: null, name: "everyone", glob: "*" });
      const p = fromText(`${nivp({ selector: byName(selector) })}---\n${cluster}`, warnings);
      expect(p.rules.map((r) => r.name), selector).toEqual(["everyone"]);
      expect(scoping(warnings), selector).toEqual([
        {
          path: "[0].spec.matchConstraints.namespaceSelector",
          message: "matchConstraints.namespaceSelector does not select team-a, the policy's own namespace: Kyverno never applies team-a/signed, so it is left out",
        },
      ]);
    }
  });

  it("when that was all the document held, nothing is imported and the reason is given", () => {
    const issues = issuesOf(nivp({ selector: byName("matchLabels:\n  kubernetes.io/metadata.name: team-b") }));
    expect(issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      ": no verifyImages rule or image validating policy that can apply: nothing to import",
      "spec.matchConstraints.namespaceSelector: matchConstraints.namespaceSelector does not select team-a, the policy's own namespace: Kyverno never applies team-a/signed, so it is left out",
    ]);
  });

  it("labels other than the namespace's name are refused as for an ImageValidatingPolicy", () => {
    expectIssue(nivp({ selector: byName("matchLabels:\n  team: a") }), "spec.matchConstraints.namespaceSelector.matchLabels.team", /kubernetes.io\/metadata.name/);
  });
});

describe("NamespacedImageValidatingPolicy decides by the decision's namespace", () => {
  const decideIn = decideOnVector;

  it("alice's key: allowed in team-a; bob's key: denied in team-a, naming the rule, and not checked in team-b", async () => {
    const alice = fromText(nivp({ glob: "127.0.0.1:5000/demo/*" }));
    const allowed = await decideIn(alice, { kind: "Pod", namespace: "team-a" });
    expect(allowed).toMatchObject({ decision: "allow", rule: "team-a/signed" });

    const bob = fromText(nivp({ glob: "127.0.0.1:5000/demo/*", pem: BOB }));
    const denied = await decideIn(bob, { kind: "Pod", namespace: "team-a" });
    expect(denied).toMatchObject({ decision: "deny", rule: "team-a/signed" });
    expect(denied.reasons[0]).toMatchObject({ code: "ANY_OF_UNMET", rule: "team-a/signed" });
    expect(denied.reasons[0]!.message).toMatch(/^failed the image Signature verification: 127\.0\.0\.1:5000\/demo\/app:v1: alice: /);

    const elsewhere = await decideIn(bob, { kind: "Pod", namespace: "team-b" });
    expect(elsewhere).toMatchObject({ decision: "allow", rule: null });
    expect(elsewhere.reasons.map((r) => r.code)).toEqual(["NO_RULE_APPLIES"]);
    // No namespace in the context: checked, as a namespaced Policy's rules are.
    expect((await decideIn(bob, { kind: "Pod" })).decision).toBe("deny");
  });
});
