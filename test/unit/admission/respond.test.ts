// The answer: same apiVersion and uid, Portieris's deny lines, audit warnings, and a digest-pinning JSONPatch that applies.
import { describe, expect, it } from "vitest";
import { planAdmission, type AdmissionPlan } from "../../../src/admission/plan";
import { answerAdmission } from "../../../src/admission/respond";
import { admissionReviewSchema, type AdmissionReview } from "../../../src/admission/review";
import type { Policy } from "../../../src/policy/model";
import type { Reason } from "../../../src/reasons";
import { APP, MIGRATE, PROXY, WORKLOAD_VECTORS, applyPatch, decodePatch, fakeVerdict, getPointer, review } from "./helpers";

const policy: Policy = { mode: "enforce", patternStyle: "native", rules: [{ pattern: "*", require: [{ type: "allow" }] }] };
const options = { mutate: false, policy: { id: "prod", revision: "f".repeat(32) } };
const DIGEST = `sha256:${"c3".repeat(32)}`;

function setup(file: string, change?: (doc: any) => void): { doc: AdmissionReview; plan: Extract<AdmissionPlan, { action: "decide" }> } {
  const raw = review(file);
  change?.(raw);
  const doc = admissionReviewSchema.parse(raw);
  const plan = planAdmission(doc, policy, undefined);
  if (plan.action !== "decide") throw new Error(`expected a decision for ${file}`);
  return { doc, plan };
}

const allow = (image: string, digest: string | null = null) =>
  fakeVerdict(image, true, [{ code: "STATIC_ALLOW", message: `image ${image} is allowed`, rule: "*" }], { digest });
const deny = (image: string, ...messages: string[]) =>
  fakeVerdict(image, false, messages.map((message): Reason => ({ code: "STATIC_DENY", message, rule: "*" })));

describe("answerAdmission", () => {
  it("allows with the request's apiVersion, kind and uid", () => {
    const { doc, plan } = setup("pod-create.json");
    const answer = answerAdmission(doc, plan, [allow(MIGRATE), allow(APP), allow(PROXY)], options);
    expect(answer).toEqual({
      apiVersion: "admission.k8s.io/v1",
      kind: "AdmissionReview",
      response: {
        uid: "5c7e2f4a-1b0d-4d7e-9a51-0c3f6f0e8a01",
        allowed: true,
        auditAnnotations: { policy: "prod", "policy-revision": "f".repeat(32), verdicts: expect.any(String) },
      },
    });
  });

  it("answers a v1beta1 review as v1beta1", () => {
    const { doc, plan } = setup("deployment-update-v1beta1.json");
    const answer = answerAdmission(doc, plan, plan.images.map((i) => allow(i)), options);
    expect(answer.apiVersion).toBe("admission.k8s.io/v1beta1");
    expect(answer.response.uid).toBe("d5e6f7a8-b9c0-41d2-e3f4-a5b6c7d8e90f");
  });

  it("denies in Portieris's words: a newline, then one `Deny \"<image>\", <reasons>` line per denied image", () => {
    const { doc, plan } = setup("pod-create.json");
    const answer = answerAdmission(doc, plan, [deny(MIGRATE, "no signature found for role alice", "second reason"), allow(APP), deny(PROXY, "busybox is not allowed")], options);
    expect(answer.response.allowed).toBe(false);
    expect(answer.response.status).toEqual({
      code: 403,
      reason: "Forbidden",
      message: `\nDeny "${MIGRATE}", no signature found for role alice; second reason\nDeny "${PROXY}", busybox is not allowed`,
    });
    expect(answer.response).not.toHaveProperty("patch");
  });

  it("does not repeat the lead of a Portieris-style reason that already names the image", () => {
    const { doc, plan } = setup("pod-create.json");
    const portieris = fakeVerdict(APP, false, [
      {
        code: "NO_MATCHING_RULE",
        message: `Deny "${APP}", no matching repositories in ClusterImagePolicy and no ImagePolicies in the "payments" namespace`,
        rule: null,
      },
    ]);
    const answer = answerAdmission(doc, plan, [allow(MIGRATE), portieris, allow(PROXY)], options);
    expect(answer.response.status?.message).toBe(
      `\nDeny "${APP}", no matching repositories in ClusterImagePolicy and no ImagePolicies in the "payments" namespace`,
    );
  });

  it("names an unparsable image among the denials, and leaves out reasons that are not reasons to deny", () => {
    const { doc, plan } = setup("pod-create.json", (d) => (d.request.object.spec.initContainers[0].image = "Bad Image"));
    const app = fakeVerdict(APP, false, [
      { code: "COSIGN_NO_SIGNATURES", message: "no cosign signatures", rule: "*", requirement: "cosign" },
      { code: "NOTARY_SIGNED", message: "signed in notary", rule: "*", requirement: "notary" },
    ]);
    const answer = answerAdmission(doc, plan, [app, allow(PROXY)], options);
    expect(answer.response.status?.message).toBe(
      `\nDeny "Bad Image", invalid image name: whitespace (U+0020) at position 4\nDeny "${APP}", no cosign signatures`,
    );
  });

  it("leaves a note on stale trust data out of the reasons to deny", () => {
    const { doc, plan } = setup("pod-create.json");
    const app = fakeVerdict(APP, false, [
      { code: "NOTARY_SIGNER_MISSING", message: "no signature found for role alice", rule: "*", requirement: "notary" },
      { code: "NOTARY_STALE_TRUST_DATA", message: "trust server notary:4443 is unreachable; decided on trust data verified earlier", rule: "*", requirement: "notary" },
    ]);
    const answer = answerAdmission(doc, plan, [allow(MIGRATE), app, allow(PROXY)], options);
    expect(answer.response.status?.message).toBe(`\nDeny "${APP}", no signature found for role alice`);
  });

  it("returns audit-mode denials as warnings and allows", () => {
    const { doc, plan } = setup("pod-create.json");
    const audited = fakeVerdict(APP, true, [
      { code: "STATIC_DENY", message: "unsigned images are not allowed", rule: "*" },
      { code: "AUDIT_MODE", message: "audit mode (detection mode active): the image would have been denied, and is allowed", rule: "*" },
    ], { mode: "audit" });
    const answer = answerAdmission(doc, plan, [allow(MIGRATE), audited, allow(PROXY)], { ...options, mutate: true });
    expect(answer.response.allowed).toBe(true);
    expect(answer.response.warnings).toEqual([`"${APP}" would be denied: unsigned images are not allowed (audit mode: allowed)`]);
    expect(answer.response).not.toHaveProperty("patch"); // an audit allow pins nothing
  });

  it("says in the denial when namespace labels were unknown under namespaced validation", () => {
    const nsPolicy: Policy = { ...policy, namespacedValidation: { mode: "validate" } };
    const doc = admissionReviewSchema.parse(review("pod-create.json"));
    const plan = planAdmission(doc, nsPolicy, undefined);
    if (plan.action !== "decide") throw new Error("expected a decision");
    const answer = answerAdmission(doc, plan, [deny(MIGRATE, "no"), allow(APP), allow(PROXY)], options);
    const lines = answer.response.status?.message.split("\n") ?? [];
    expect(lines.at(-1)).toMatch(/^\(namespaced validation \(mode validate\) is on, but the labels of namespace "payments" are unknown: validated \(fail closed\)/);
    expect(answer.response.auditAnnotations?.["namespaced-validation"]).toMatch(/unknown/);
  });

  it("answers a skip with the reason", () => {
    const doc = admissionReviewSchema.parse(review("pod-delete.json"));
    const answer = answerAdmission(doc, planAdmission(doc, policy, undefined), [], options);
    expect(answer.response).toEqual({
      uid: "3b4c5d6e-7f80-4192-a3b4-c5d6e7f8a905",
      allowed: true,
      status: { code: 200, message: "DELETE requests start no containers: not checked" },
      auditAnnotations: { policy: "prod", "policy-revision": "f".repeat(32), skipped: "DELETE requests start no containers: not checked" },
    });
  });
});

describe("answerAdmission with mutate: Portieris's mutateImage", () => {
  for (const { file, kind, spec } of WORKLOAD_VECTORS) {
    it(`pins the tagged image of a ${kind} to name@digest at ${spec}/containers/0/image, and leaves pinned ones alone`, () => {
      const { doc, plan } = setup(file);
      const answer = answerAdmission(doc, plan, [allow(MIGRATE, MIGRATE.split("@")[1]!), allow(APP, DIGEST), allow(PROXY, PROXY.split("@")[1]!)], { ...options, mutate: true });
      expect(answer.response).toMatchObject({ allowed: true, patchType: "JSONPatch" });
      const patch = decodePatch(answer.response);
      expect(patch).toEqual([{ op: "replace", path: `${spec}/containers/0/image`, value: `240.0.0.1:9/team/app@${DIGEST}` }]);
      const patched = applyPatch(doc.request.object, patch);
      expect(getPointer(patched, `${spec}/containers/0/image`)).toBe(`240.0.0.1:9/team/app@${DIGEST}`);
      expect(getPointer(patched, `${spec}/containers/1/image`)).toBe(PROXY);
      expect(getPointer(patched, `${spec}/initContainers/0/image`)).toBe(MIGRATE);
    });
  }

  it("writes the normalised name without the tag, as Portieris does (nginx:1.27 → docker.io/library/nginx@sha256:…)", () => {
    const { doc, plan } = setup("pod-create.json", (d) => {
      d.request.object.spec.initContainers = [];
      d.request.object.spec.containers = [{ name: "web", image: "nginx:1.27" }, { name: "again", image: "nginx:1.27" }];
    });
    const answer = answerAdmission(doc, plan, [allow("nginx:1.27", DIGEST)], { ...options, mutate: true });
    expect(decodePatch(answer.response)).toEqual([
      { op: "replace", path: "/spec/containers/0/image", value: `docker.io/library/nginx@${DIGEST}` },
      { op: "replace", path: "/spec/containers/1/image", value: `docker.io/library/nginx@${DIGEST}` },
    ]);
  });

  it("sends no patch when nothing changes: every image pinned already, or no digest known", () => {
    const { doc, plan } = setup("pod-create.json");
    const answer = answerAdmission(doc, plan, [allow(MIGRATE), allow(APP, null), allow(PROXY)], { ...options, mutate: true });
    expect(answer.response).not.toHaveProperty("patch");
    expect(answer.response).not.toHaveProperty("patchType");
  });

  it("sends no patch unless asked to mutate", () => {
    const { doc, plan } = setup("pod-create.json");
    const answer = answerAdmission(doc, plan, [allow(MIGRATE), allow(APP, DIGEST), allow(PROXY)], options);
    expect(answer.response).not.toHaveProperty("patch");
  });

  it("patches the ephemeral container of kubectl debug", () => {
    const { doc, plan } = setup("pod-ephemeral-containers.json");
    const verdicts = plan.images.map((i) => allow(i, i.includes("busybox") ? DIGEST : i.includes("@") ? i.split("@")[1]! : null));
    const patch = decodePatch(answerAdmission(doc, plan, verdicts, { ...options, mutate: true }).response);
    expect(patch).toEqual([{ op: "replace", path: "/spec/ephemeralContainers/0/image", value: `docker.io/library/busybox@${DIGEST}` }]);
  });
});

describe("image volumes are images", () => {
  const VOLUME = "registry.example.com/ml/weights:v3";
  const withVolume = (d: any) => {
    d.request.object.spec.volumes = [{ name: "models", image: { reference: VOLUME } }];
  };

  it("decides the volume's image with the containers' and names the volume when it denies", () => {
    const { doc, plan } = setup("pod-create.json", withVolume);
    expect(plan.images).toContain(VOLUME);
    const verdicts = plan.images.map((i) => (i === VOLUME ? deny(i, "no signature found for role releases") : allow(i)));
    const answer = answerAdmission(doc, plan, verdicts, options);
    expect(answer.response.allowed).toBe(false);
    expect(answer.response.status?.message).toContain(`Deny "${VOLUME}" (image volume "models"), no signature found for role releases`);
  });

  it("pins the volume's image in mutate mode, at volumes/<i>/image/reference", () => {
    const { doc, plan } = setup("pod-create.json", withVolume);
    const verdicts = plan.images.map((i) => allow(i, i === VOLUME ? DIGEST : i.includes("@") ? i.split("@")[1]! : null));
    const patch = decodePatch(answerAdmission(doc, plan, verdicts, { ...options, mutate: true }).response);
    expect(patch).toContainEqual({ op: "replace", path: "/spec/volumes/0/image/reference", value: `registry.example.com/ml/weights@${DIGEST}` });
    const patched = applyPatch(doc.request.object, patch);
    expect(getPointer(patched, "/spec/volumes/0/image/reference")).toBe(`registry.example.com/ml/weights@${DIGEST}`);
  });

  it("an image both a container and a volume use is named as the container's", () => {
    const { doc, plan } = setup("pod-create.json", (d) => {
      d.request.object.spec.volumes = [{ name: "models", image: { reference: APP } }];
    });
    const verdicts = plan.images.map((i) => (i === APP ? deny(i, "nope") : allow(i)));
    const message = answerAdmission(doc, plan, verdicts, options).response.status?.message ?? "";
    expect(message).toContain(`Deny "${APP}", nope`);
    expect(message).not.toContain("image volume");
  });
});
