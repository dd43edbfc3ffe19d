// What each admission request needs: skipped operations, kinds and subresources; one batch of distinct images; its context.
import { describe, expect, it } from "vitest";
import { MAX_ADMISSION_IMAGES, planAdmission } from "../../../src/admission/plan";
import { AdmissionReviewError, admissionReviewSchema } from "../../../src/admission/review";
import type { Policy } from "../../../src/policy/model";
import { APP, DEBUG, MIGRATE, PROXY, review } from "./helpers";

const policy: Policy = { mode: "enforce", patternStyle: "native", rules: [{ pattern: "*", require: [{ type: "allow" }] }] };
const plan = (doc: unknown, p: Policy = policy) => planAdmission(admissionReviewSchema.parse(doc), p, undefined);

describe("planAdmission", () => {
  it("decides every distinct image of a Pod in one batch, with the request as context", () => {
    const got = plan(review("pod-create.json"));
    expect(got.action).toBe("decide");
    if (got.action !== "decide") return;
    expect(got.images).toEqual([MIGRATE, APP, PROXY]);
    expect(got.invalid.size).toBe(0);
    expect(got.context).toEqual({
      namespace: "payments",
      kind: "Pod",
      name: "web",
      operation: "CREATE",
      user: "alice@example.com",
      groups: ["team-payments", "system:authenticated"],
      uid: "5c7e2f4a-1b0d-4d7e-9a51-0c3f6f0e8a01",
    });
  });

  it("decides a Pod with ownerReferences like any other (no approval because of an owner)", () => {
    const got = plan(review("pod-create-owned.json"));
    expect(got.action).toBe("decide");
    if (got.action !== "decide") return;
    expect(got.images).toEqual([MIGRATE, APP, PROXY]);
    // The API server sends no name yet: generateName stands in.
    expect(got.context).toMatchObject({ name: "web-6d4cf56db6-", user: "system:serviceaccount:kube-system:replicaset-controller" });
  });

  it("decides the images of a pods/ephemeralcontainers update, the debug container included", () => {
    const got = plan(review("pod-ephemeral-containers.json"));
    expect(got.action === "decide" && got.images).toEqual([MIGRATE, APP, PROXY, DEBUG]);
  });

  it("marks a dry run in the context", () => {
    const got = plan(review("deployment-create-dry-run.json"));
    expect(got.action === "decide" && got.context).toMatchObject({ dryRun: true, kind: "Deployment" });
  });

  it("skips DELETE, CONNECT, subresources that cannot change images, and kinds that run none", () => {
    expect(plan(review("pod-delete.json"))).toEqual({ action: "skip", reason: "DELETE requests start no containers: not checked" });
    expect(plan(review("pod-exec-connect.json"))).toEqual({ action: "skip", reason: "CONNECT requests start no containers: not checked" });
    expect(plan(review("pod-status-update.json"))).toEqual({ action: "skip", reason: "the status subresource does not change images: not checked" });
    expect(plan(review("configmap-create.json"))).toEqual({ action: "skip", reason: "ConfigMap is not a workload trustgate checks: not checked" });
    const scale = review("deployment-create.json");
    scale.request.kind = { group: "autoscaling", version: "v1", kind: "Scale" };
    scale.request.subResource = "scale";
    expect(plan(scale)).toMatchObject({ action: "skip" });
  });

  it("sets unparsable images apart (to deny by name) and decides the others", () => {
    const doc = review("pod-create.json");
    doc.request.object.spec.containers[1].image = "Registry.example.com/Team/App:1";
    doc.request.object.spec.containers.push({ name: "dup", image: "Registry.example.com/Team/App:1" });
    const got = plan(doc);
    expect(got.action).toBe("decide");
    if (got.action !== "decide") return;
    expect(got.images).toEqual([MIGRATE, APP]);
    expect([...got.invalid]).toEqual([["Registry.example.com/Team/App:1", 'repository name "Team/App" must be lowercase']]);
  });

  it("denies, without deciding, a workload with more distinct images than one request may ask about", () => {
    const doc = review("pod-create.json");
    doc.request.object.spec.containers = Array.from({ length: MAX_ADMISSION_IMAGES + 1 }, (_, i) => ({ name: `c${i}`, image: `240.0.0.1:9/x/app:${i}` }));
    expect(plan(doc)).toEqual({
      action: "deny",
      message: `Pod web has ${MAX_ADMISSION_IMAGES + 2} distinct images; trustgate checks at most ${MAX_ADMISSION_IMAGES} in one request: denied`,
    });
  });

  it("refuses a CREATE without an object", () => {
    const doc = review("pod-create.json");
    doc.request.object = null;
    expect(() => plan(doc)).toThrow(AdmissionReviewError);
  });
});

describe("admissionReviewSchema", () => {
  it("accepts every vector as the API server sends it, v1beta1 included", () => {
    for (const file of ["pod-create.json", "pod-delete.json", "pod-exec-connect.json", "deployment-update-v1beta1.json", "configmap-create.json"]) {
      expect(admissionReviewSchema.safeParse(review(file)).success, file).toBe(true);
    }
    expect(admissionReviewSchema.parse(review("deployment-update-v1beta1.json")).apiVersion).toBe("admission.k8s.io/v1beta1");
  });

  it("refuses what the API server never sends", () => {
    const broken: [string, (d: any) => void][] = [
      ["no uid", (d) => delete d.request.uid],
      ["an empty uid", (d) => (d.request.uid = "")],
      ["another apiVersion", (d) => (d.apiVersion = "admission.k8s.io/v2")],
      ["another kind", (d) => (d.kind = "ConversionReview")],
      ["no request", (d) => delete d.request],
      ["an unknown operation", (d) => (d.request.operation = "PATCH")],
      ["no kind in the request", (d) => delete d.request.kind],
    ];
    for (const [name, change] of broken) {
      const doc = review("pod-create.json");
      change(doc);
      expect(admissionReviewSchema.safeParse(doc).success, name).toBe(false);
    }
  });
});
