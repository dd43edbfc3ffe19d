// Where each workload kind keeps its pod spec, and every container image in it with its JSON pointer.
import { AdmissionReviewError } from "./review";

/**
 * The pod spec of each kind, as Portieris finds it (pkg/kubernetes/podspec.go: "/spec",
 * "/spec/template/spec", "/spec/jobTemplate/spec/template/spec"). Kinds are matched with their API
 * group, so a custom resource that happens to be called "Deployment" is not read as one.
 */
interface Workload {
  readonly groups: readonly string[];
  readonly kind: string;
  readonly specPath: readonly string[];
}

const WORKLOADS: readonly Workload[] = [
  { groups: [""], kind: "Pod", specPath: ["spec"] },
  { groups: [""], kind: "ReplicationController", specPath: ["spec", "template", "spec"] },
  { groups: ["apps", "extensions"], kind: "Deployment", specPath: ["spec", "template", "spec"] },
  { groups: ["apps", "extensions"], kind: "ReplicaSet", specPath: ["spec", "template", "spec"] },
  { groups: ["apps", "extensions"], kind: "DaemonSet", specPath: ["spec", "template", "spec"] },
  { groups: ["apps"], kind: "StatefulSet", specPath: ["spec", "template", "spec"] },
  { groups: ["batch"], kind: "Job", specPath: ["spec", "template", "spec"] },
  { groups: ["batch"], kind: "CronJob", specPath: ["spec", "jobTemplate", "spec", "template", "spec"] },
  // pods/ephemeralcontainers before Kubernetes 1.22 sent this kind, its list at the top level.
  { groups: [""], kind: "EphemeralContainers", specPath: [] },
];

/** Portieris reads initContainers then containers; ephemeral containers run images too. */
const CONTAINER_FIELDS = ["initContainers", "containers", "ephemeralContainers"] as const;
/** Image volumes (`volumes[].image.reference`) are pulled by the kubelet like container images. */
export type ContainerField = (typeof CONTAINER_FIELDS)[number] | "volumes";

export interface ContainerImage {
  readonly field: ContainerField;
  readonly index: number;
  /** The container's or the volume's name, when it has one. */
  readonly name?: string;
  /** The image exactly as written in the object. */
  readonly image: string;
  /**
   * RFC 6901 pointer to where the image is written: "/spec/template/spec/containers/0/image", or
   * "/spec/volumes/1/image/reference" for an image volume.
   */
  readonly pointer: string;
}

export function isWorkload(group: string, kind: string): boolean {
  return workloadOf(group, kind) !== undefined;
}

function workloadOf(group: string, kind: string): Workload | undefined {
  return WORKLOADS.find((w) => w.kind === kind && w.groups.includes(group));
}

/**
 * Every container with a non-blank image, in Portieris's order. Absent or null lists are empty (the
 * API server writes `containers: null` for a spec without any); wrong types are errors naming the field.
 * Blank images are skipped as Portieris does (IBM/portieris#227): a template may leave them empty,
 * and a pod needs one before it is admitted, so the pod itself is checked then.
 */
export function containerImages(group: string, kind: string, object: unknown): ContainerImage[] {
  const workload = workloadOf(group, kind);
  if (!workload) return [];
  let spec: unknown = object;
  const walked: string[] = [];
  for (const key of workload.specPath) {
    if (spec === null || spec === undefined) return [];
    if (!isRecord(spec)) throw new AdmissionReviewError(objectPath(walked), `expected an object, got ${typeName(spec)}`);
    spec = spec[key];
    walked.push(key);
  }
  if (spec === null || spec === undefined) return [];
  if (!isRecord(spec)) throw new AdmissionReviewError(objectPath(walked), `expected an object, got ${typeName(spec)}`);

  const out: ContainerImage[] = [];
  for (const field of CONTAINER_FIELDS) {
    const list = spec[field];
    if (list === null || list === undefined) continue;
    const listPath = [...walked, field];
    if (!Array.isArray(list)) throw new AdmissionReviewError(objectPath(listPath), `expected a list, got ${typeName(list)}`);
    list.forEach((container: unknown, index) => {
      const at = [...listPath, String(index)];
      if (!isRecord(container)) throw new AdmissionReviewError(objectPath(at), `expected a container, got ${typeName(container)}`);
      const { image, name } = container;
      if (image !== null && image !== undefined && typeof image !== "string") {
        throw new AdmissionReviewError(`${objectPath(at)}.image`, `expected a string, got ${typeName(image)}`);
      }
      if (typeof image !== "string" || image.trim() === "") return;
      out.push({
        field,
        index,
        ...(typeof name === "string" && name !== "" ? { name } : {}),
        image,
        pointer: `/${[...at, "image"].join("/")}`,
      });
    });
  }
  out.push(...imageVolumes(spec, walked));
  return out;
}

/** Kubernetes image volumes (`spec.volumes[].image.reference`); blank references skipped as blank images are. */
function imageVolumes(spec: Record<string, unknown>, walked: readonly string[]): ContainerImage[] {
  const list = spec.volumes;
  if (list === null || list === undefined) return [];
  const listPath = [...walked, "volumes"];
  if (!Array.isArray(list)) throw new AdmissionReviewError(objectPath(listPath), `expected a list, got ${typeName(list)}`);
  const out: ContainerImage[] = [];
  list.forEach((volume: unknown, index) => {
    const at = [...listPath, String(index)];
    if (!isRecord(volume)) throw new AdmissionReviewError(objectPath(at), `expected a volume, got ${typeName(volume)}`);
    const { image: source, name } = volume;
    if (source === null || source === undefined) return;
    if (!isRecord(source)) throw new AdmissionReviewError(`${objectPath(at)}.image`, `expected an image volume source, got ${typeName(source)}`);
    const { reference } = source;
    if (reference !== null && reference !== undefined && typeof reference !== "string") {
      throw new AdmissionReviewError(`${objectPath(at)}.image.reference`, `expected a string, got ${typeName(reference)}`);
    }
    if (typeof reference !== "string" || reference.trim() === "") return;
    out.push({
      field: "volumes",
      index,
      ...(typeof name === "string" && name !== "" ? { name } : {}),
      image: reference,
      pointer: `/${[...at, "image", "reference"].join("/")}`,
    });
  });
  return out;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/** "request.object.spec.containers[0]" for error messages. */
function objectPath(keys: readonly string[]): string {
  return keys.reduce((path, key) => (/^\d+$/.test(key) ? `${path}[${key}]` : `${path}.${key}`), "request.object");
}
