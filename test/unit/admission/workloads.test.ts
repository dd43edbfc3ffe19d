// Container images found in every workload kind, each with the JSON pointer a patch needs.
import { describe, expect, it } from "vitest";
import { AdmissionReviewError, admissionReviewSchema } from "../../../src/admission/review";
import { containerImages, isWorkload } from "../../../src/admission/workloads";
import { APP, DEBUG, MIGRATE, PROXY, WORKLOAD_VECTORS, getPointer, review } from "./helpers";

const VOLUME = "registry.example.com/ml/weights:v3";

describe("containerImages", () => {
  for (const { file, kind, spec } of WORKLOAD_VECTORS) {
    it(`finds initContainers and containers of a ${kind}, pointing at ${spec}`, () => {
      const doc = admissionReviewSchema.parse(review(file));
      expect(doc.request.kind.kind).toBe(kind);
      const found = containerImages(doc.request.kind.group, kind, doc.request.object);
      expect(found).toEqual([
        { field: "initContainers", index: 0, name: "migrate", image: MIGRATE, pointer: `${spec}/initContainers/0/image` },
        { field: "containers", index: 0, name: "app", image: APP, pointer: `${spec}/containers/0/image` },
        { field: "containers", index: 1, name: "proxy", image: PROXY, pointer: `${spec}/containers/1/image` },
      ]);
      for (const c of found) expect(getPointer(doc.request.object, c.pointer)).toBe(c.image);
    });
  }

  // Kubernetes image volumes: the kubelet pulls `volumes[].image.reference` like a container image.
  for (const { file, kind, spec } of WORKLOAD_VECTORS) {
    it(`finds the image volumes of a ${kind}, pointing at ${spec}/volumes/<i>/image/reference`, () => {
      const raw = review(file);
      const at = spec.split("/").slice(1).reduce((o: any, k) => o[k], raw.request.object);
      at.volumes = [
        { name: "config", configMap: { name: "cfg" } },
        { name: "models", image: { reference: VOLUME, pullPolicy: "IfNotPresent" } },
        { name: "blank", image: { reference: "" } },
        { name: "unset", image: {} },
      ];
      const doc = admissionReviewSchema.parse(raw);
      const found = containerImages(doc.request.kind.group, kind, doc.request.object);
      expect(found.at(-1)).toEqual({ field: "volumes", index: 1, name: "models", image: VOLUME, pointer: `${spec}/volumes/1/image/reference` });
      expect(found.filter((c) => c.field === "volumes")).toHaveLength(1);
      expect(getPointer(doc.request.object, found.at(-1)!.pointer)).toBe(VOLUME);
    });
  }

  it("refuses image volumes of the wrong shape, naming the field", () => {
    expect(() => containerImages("", "Pod", { spec: { volumes: {} } })).toThrow(/request\.object\.spec\.volumes: expected a list/);
    expect(() => containerImages("", "Pod", { spec: { volumes: ["x"] } })).toThrow(/request\.object\.spec\.volumes\[0\]: expected a volume/);
    expect(() => containerImages("", "Pod", { spec: { volumes: [{ name: "v", image: "nginx" }] } })).toThrow(/volumes\[0\]\.image: expected an image volume source/);
    expect(() => containerImages("", "Pod", { spec: { volumes: [{ name: "v", image: { reference: 7 } }] } })).toThrow(/volumes\[0\]\.image\.reference: expected a string/);
  });

  it("finds the ephemeral container kubectl debug adds", () => {
    const doc = review("pod-ephemeral-containers.json");
    const found = containerImages("", "Pod", doc.request.object);
    expect(found.at(-1)).toEqual({
      field: "ephemeralContainers",
      index: 0,
      name: "debugger-x7k2q",
      image: DEBUG,
      pointer: "/spec/ephemeralContainers/0/image",
    });
  });

  it("reads the EphemeralContainers kind older API servers sent for pods/ephemeralcontainers", () => {
    const object = { kind: "EphemeralContainers", apiVersion: "v1", metadata: { name: "web" }, ephemeralContainers: [{ name: "debug", image: DEBUG }] };
    expect(containerImages("", "EphemeralContainers", object)).toEqual([
      { field: "ephemeralContainers", index: 0, name: "debug", image: DEBUG, pointer: "/ephemeralContainers/0/image" },
    ]);
  });

  it("matches kinds with their API group: extensions/v1beta1 Deployment yes, a custom Deployment no", () => {
    expect(isWorkload("extensions", "Deployment")).toBe(true);
    expect(isWorkload("apps", "Deployment")).toBe(true);
    expect(isWorkload("example.com", "Deployment")).toBe(false);
    expect(isWorkload("", "ConfigMap")).toBe(false);
    expect(isWorkload("apps", "Pod")).toBe(false);
    expect(containerImages("example.com", "Deployment", review("deployment-create.json").request.object)).toEqual([]);
  });

  it("reads null or missing lists as empty, as the API server writes `containers: null`", () => {
    expect(containerImages("", "Pod", { spec: { containers: null } })).toEqual([]);
    expect(containerImages("", "Pod", { spec: {} })).toEqual([]);
    expect(containerImages("apps", "Deployment", { spec: { template: null } })).toEqual([]);
    expect(containerImages("batch", "CronJob", {})).toEqual([]);
  });

  it("skips blank images as Portieris does (a template may leave them empty)", () => {
    const found = containerImages("", "Pod", { spec: { containers: [{ name: "a", image: "" }, { name: "b", image: "  " }, { name: "c" }, { name: "d", image: "nginx" }] } });
    expect(found).toEqual([{ field: "containers", index: 3, name: "d", image: "nginx", pointer: "/spec/containers/3/image" }]);
  });

  it("refuses wrong types, naming the field", () => {
    const cases: [unknown, string][] = [
      [{ spec: [] }, "request.object.spec"],
      [{ spec: { containers: {} } }, "request.object.spec.containers"],
      [{ spec: { containers: ["nginx"] } }, "request.object.spec.containers[0]"],
      [{ spec: { initContainers: [{ image: 5 }] } }, "request.object.spec.initContainers[0].image"],
    ];
    for (const [object, path] of cases) {
      let caught: unknown;
      try {
        containerImages("", "Pod", object);
      } catch (err) {
        caught = err;
      }
      expect(caught).toBeInstanceOf(AdmissionReviewError);
      expect((caught as AdmissionReviewError).path).toBe(path);
    }
    expect(() => containerImages("apps", "Deployment", { spec: { template: "x" } })).toThrow(/request\.object\.spec\.template: expected an object/);
  });
});
