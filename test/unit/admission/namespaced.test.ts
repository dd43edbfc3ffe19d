// Namespaced validation: Connaisseur's label in both modes, labels passed in or unknown, and the policy field in every format.
import { describe, expect, it } from "vitest";
import { namespaceScope } from "../../../src/admission/namespaced";
import { planAdmission } from "../../../src/admission/plan";
import { AdmissionReviewError, admissionReviewSchema, namespaceLabelsOf } from "../../../src/admission/review";
import { importConnaisseur } from "../../../src/policy/importers/connaisseur";
import type { Policy } from "../../../src/policy/model";
import { parseNativePolicy } from "../../../src/policy/native";
import { defaultRequirementKinds } from "../../../src/requirements";
import { review } from "./helpers";

const LABEL = "securesystemsengineering.connaisseur/webhook";

describe("namespaceScope", () => {
  it("validates every namespace when namespaced validation is off, labels or not", () => {
    expect(namespaceScope(undefined, "payments", { [LABEL]: "ignore" })).toEqual({ validate: true });
    expect(namespaceScope(undefined, "payments", undefined)).toEqual({ validate: true });
  });

  it("mode ignore: skips only namespaces labelled ignore", () => {
    const ignore = { mode: "ignore" } as const;
    expect(namespaceScope(ignore, "legacy", { [LABEL]: "ignore" })).toEqual({
      validate: false,
      reason: `namespace "legacy" is labelled ${LABEL}=ignore: its images are not validated (namespaced validation, mode ignore)`,
    });
    expect(namespaceScope(ignore, "payments", {})).toEqual({ validate: true });
    expect(namespaceScope(ignore, "payments", { [LABEL]: "validate" })).toEqual({ validate: true });
    expect(namespaceScope(ignore, "payments", { [LABEL]: "Ignore" })).toEqual({ validate: true });
  });

  it("mode validate: validates only namespaces labelled validate", () => {
    const validate = { mode: "validate" } as const;
    expect(namespaceScope(validate, "payments", { [LABEL]: "validate" })).toEqual({ validate: true });
    expect(namespaceScope(validate, "sandbox", { "kubernetes.io/metadata.name": "sandbox" })).toEqual({
      validate: false,
      reason: `namespace "sandbox" is not labelled ${LABEL}=validate: its images are not validated (namespaced validation, mode validate)`,
    });
    expect(namespaceScope(validate, "sandbox", { [LABEL]: "ignore" })).toMatchObject({ validate: false });
  });

  it("validates (fail closed) when the labels are unknown, and says so", () => {
    for (const mode of ["ignore", "validate"] as const) {
      const scope = namespaceScope({ mode }, "payments", undefined);
      expect(scope.validate).toBe(true);
      expect(scope.validate && scope.note).toBe(
        `namespaced validation (mode ${mode}) is on, but the labels of namespace "payments" are unknown: validated (fail closed); ` +
          "pass them as request.namespaceObject or context.namespaceLabels, or let the webhook's namespaceSelector skip the namespace",
      );
    }
  });
});

describe("namespaceLabelsOf (trustgate's extensions to the AdmissionReview)", () => {
  const parse = (doc: unknown) => admissionReviewSchema.parse(doc);

  it("is unknown for a review as the API server sends it", () => {
    expect(namespaceLabelsOf(parse(review("pod-create.json")))).toBeUndefined();
  });

  it("reads request.namespaceObject (a Namespace without labels has none) or context.namespaceLabels", () => {
    const doc = review("pod-create.json");
    doc.request.namespaceObject = { apiVersion: "v1", kind: "Namespace", metadata: { name: "payments", labels: { [LABEL]: "ignore" } } };
    expect(namespaceLabelsOf(parse(doc))).toEqual({ [LABEL]: "ignore" });
    doc.request.namespaceObject = { metadata: { name: "payments" } };
    expect(namespaceLabelsOf(parse(doc))).toEqual({});
    const ctx = review("pod-create.json");
    ctx.context = { namespaceLabels: { team: "payments" } };
    expect(namespaceLabelsOf(parse(ctx))).toEqual({ team: "payments" });
  });

  it("refuses a Namespace object of another namespace, and two sources that disagree", () => {
    const other = review("pod-create.json");
    other.request.namespaceObject = { metadata: { name: "legacy", labels: { [LABEL]: "ignore" } } };
    expect(() => namespaceLabelsOf(parse(other))).toThrow(AdmissionReviewError);
    const both = review("pod-create.json");
    both.request.namespaceObject = { metadata: { name: "payments", labels: { [LABEL]: "ignore" } } };
    both.context = { namespaceLabels: {} };
    expect(() => namespaceLabelsOf(parse(both))).toThrow(/give the namespace's labels once/);
    both.context = { namespaceLabels: { [LABEL]: "ignore" } };
    expect(namespaceLabelsOf(parse(both))).toEqual({ [LABEL]: "ignore" });
  });

  it("skips the request before looking at its images", () => {
    const policy: Policy = { mode: "enforce", patternStyle: "native", rules: [{ pattern: "*", require: [{ type: "deny" }] }], namespacedValidation: { mode: "ignore" } };
    const doc = parse(review("pod-create.json"));
    expect(planAdmission(doc, policy, { [LABEL]: "ignore" })).toMatchObject({ action: "skip" });
    const unknown = planAdmission(doc, policy, undefined);
    expect(unknown.action).toBe("decide");
    expect(unknown.action === "decide" && unknown.context.namespacedValidation).toMatch(/labels of namespace "payments" are unknown/);
  });
});

describe("namespacedValidation in the policy formats", () => {
  const kinds = defaultRequirementKinds;
  const rules = [{ pattern: "*", require: [{ type: "allow" }] }];

  it("native: optional, mode ignore or validate, nothing else", () => {
    expect(parseNativePolicy({ rules }, kinds)).not.toHaveProperty("namespacedValidation");
    expect(parseNativePolicy({ rules, namespacedValidation: { mode: "validate" } }, kinds).namespacedValidation).toEqual({ mode: "validate" });
    expect(() => parseNativePolicy({ rules, namespacedValidation: { mode: "skip" } }, kinds)).toThrow(/namespacedValidation\.mode/);
    expect(() => parseNativePolicy({ rules, namespacedValidation: {} }, kinds)).toThrow(/namespacedValidation\.mode/);
    expect(() => parseNativePolicy({ rules, namespacedValidation: { mode: "ignore", enabled: true } }, kinds)).toThrow(
      /namespacedValidation\.enabled: unknown field/,
    );
  });

  const v2 = (extra: Record<string, unknown>) => ({
    validators: [{ name: "allow", type: "static", approve: true }],
    policy: [{ pattern: "*:*", validator: "allow" }],
    ...extra,
  });
  const v3 = (features: Record<string, unknown>) => ({
    application: {
      validators: [{ name: "allow", type: "static", approve: true }],
      policy: [{ pattern: "*:*", validator: "allow" }],
      features,
    },
  });

  it("Connaisseur 2: namespacedValidation.enabled turns it on, mode defaults to ignore", () => {
    expect(importConnaisseur(v2({ namespacedValidation: { enabled: true, mode: "validate" } }), kinds).namespacedValidation).toEqual({ mode: "validate" });
    expect(importConnaisseur(v2({ namespacedValidation: { enabled: true } }), kinds).namespacedValidation).toEqual({ mode: "ignore" });
    expect(importConnaisseur(v2({ namespacedValidation: { enabled: false, mode: "validate" } }), kinds)).not.toHaveProperty("namespacedValidation");
    expect(importConnaisseur(v2({ namespacedValidation: { mode: "validate" } }), kinds)).not.toHaveProperty("namespacedValidation");
    expect(importConnaisseur(v2({}), kinds)).not.toHaveProperty("namespacedValidation");
  });

  it("Connaisseur 3: application.features.namespacedValidation turns it on by being there", () => {
    expect(importConnaisseur(v3({ namespacedValidation: { mode: "validate" } }), kinds).namespacedValidation).toEqual({ mode: "validate" });
    expect(importConnaisseur(v3({ namespacedValidation: { mode: "ignore" } }), kinds).namespacedValidation).toEqual({ mode: "ignore" });
    expect(importConnaisseur(v3({ namespacedValidation: null }), kinds)).not.toHaveProperty("namespacedValidation");
    expect(importConnaisseur(v3({ namespacedValidation: {} }), kinds)).not.toHaveProperty("namespacedValidation");
    expect(importConnaisseur(v3({ detectionMode: false }), kinds)).not.toHaveProperty("namespacedValidation");
  });

  it("refuses modes and keys the tool does not know, with their paths", () => {
    const issues = (doc: unknown) => {
      try {
        importConnaisseur(doc, kinds);
      } catch (err) {
        return (err as { issues: { path: string; message: string }[] }).issues;
      }
      return [];
    };
    expect(issues(v2({ namespacedValidation: { enabled: true, mode: "Validate" } }))).toEqual([
      { path: "namespacedValidation.mode", message: 'expected ignore or validate, got "Validate"' },
    ]);
    expect(issues(v2({ namespacedValidation: { enabled: "yes" } }))).toEqual([{ path: "namespacedValidation.enabled", message: expect.any(String) }]);
    expect(issues(v3({ namespacedValidation: { enabled: false, mode: "ignore" } }))).toEqual([
      { path: "application.features.namespacedValidation.enabled", message: expect.stringMatching(/Connaisseur 3 has no enabled switch/) },
    ]);
    expect(issues(v3({ namespacedValidation: "validate" }))).toEqual([
      { path: "application.features.namespacedValidation", message: "expected a mapping, got a string" },
    ]);
  });
});
