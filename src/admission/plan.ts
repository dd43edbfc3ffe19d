// What an admission request needs: nothing (allow), a deny outright, or decisions for its images.
import type { Policy } from "../policy/model";
import { InvalidReferenceError, parseReference, type ImageReference } from "../reference";
import { namespaceScope } from "./namespaced";
import { AdmissionReviewError, type AdmissionReview, type Labels } from "./review";
import { containerImages, isWorkload, type ContainerImage } from "./workloads";
import { DEFAULT_LIMITS } from "../limits";

/** The most distinct images one request may ask about (the batch API's limit too). */
export const MAX_ADMISSION_IMAGES = DEFAULT_LIMITS.api.imagesPerRequest;

/** Subresources whose object carries containers that run images; every other one leaves them alone. */
const IMAGE_SUBRESOURCES = new Set(["", "ephemeralcontainers"]);

export type AdmissionPlan =
  /** Allowed without deciding: `reason` says why. */
  | { readonly action: "skip"; readonly reason: string }
  /** Denied without deciding. */
  | { readonly action: "deny"; readonly message: string }
  | {
      readonly action: "decide";
      readonly containers: readonly ContainerImage[];
      /** Distinct parsable images, in order of first appearance: decide them in one batch. */
      readonly images: readonly string[];
      readonly references: ReadonlyMap<string, ImageReference>;
      /** Distinct images that cannot be parsed → what is wrong with each. */
      readonly invalid: ReadonlyMap<string, string>;
      /** The decision context (recorded with each verdict). */
      readonly context: Readonly<Record<string, unknown>>;
      /** Said with the answer: namespaced validation could not tell whether to skip. */
      readonly note?: string;
    };

export function planAdmission(review: AdmissionReview, policy: Policy, namespaceLabels: Labels | undefined): AdmissionPlan {
  const { request } = review;
  const { group, kind } = request.kind;
  if (request.operation === "DELETE" || request.operation === "CONNECT") {
    return { action: "skip", reason: `${request.operation} requests start no containers: not checked` };
  }
  const subResource = request.subResource ?? "";
  if (!IMAGE_SUBRESOURCES.has(subResource)) {
    return { action: "skip", reason: `the ${subResource} subresource does not change images: not checked` };
  }
  if (!isWorkload(group, kind)) {
    return { action: "skip", reason: `${group ? `${group}/` : ""}${kind} is not a workload trustgate checks: not checked` };
  }
  const scope = namespaceScope(policy.namespacedValidation, request.namespace, namespaceLabels);
  if (!scope.validate) return { action: "skip", reason: scope.reason };

  const raw = request.object;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new AdmissionReviewError("request.object", `a ${kind} is required for ${request.operation}`);
  }
  const object = raw as Record<string, unknown>;
  const containers = containerImages(group, kind, object);

  const images: string[] = [];
  const references = new Map<string, ImageReference>();
  const invalid = new Map<string, string>();
  for (const { image } of containers) {
    if (references.has(image) || invalid.has(image)) continue;
    try {
      references.set(image, parseReference(image));
      images.push(image);
    } catch (err) {
      if (!(err instanceof InvalidReferenceError)) throw err;
      invalid.set(image, problemOf(err.message));
    }
  }
  const name = nameOf(request, object);
  if (images.length + invalid.size > MAX_ADMISSION_IMAGES) {
    // Denied rather than refused with a 400: a webhook with failurePolicy Ignore would admit it.
    return {
      action: "deny",
      message: `${[kind, name].filter(Boolean).join(" ")} has ${images.length + invalid.size} distinct images; trustgate checks at most ${MAX_ADMISSION_IMAGES} in one request: denied`,
    };
  }

  const groups = request.userInfo?.groups;
  const context: Record<string, unknown> = {
    ...(request.namespace ? { namespace: request.namespace } : {}),
    kind,
    ...(name ? { name } : {}),
    operation: request.operation,
    ...(request.userInfo?.username !== undefined ? { user: request.userInfo.username } : {}),
    ...(groups && groups.length > 0 ? { groups } : {}),
    uid: request.uid,
    ...(request.dryRun ? { dryRun: true } : {}),
    ...(scope.note ? { namespacedValidation: scope.note } : {}),
  };
  return { action: "decide", containers, images, references, invalid, context, ...(scope.note ? { note: scope.note } : {}) };
}

/** The object's name; on CREATE the API server may not know it yet (generateName). */
function nameOf(request: AdmissionReview["request"], object: Record<string, unknown>): string | undefined {
  if (request.name) return request.name;
  const metadata = object.metadata;
  if (typeof metadata !== "object" || metadata === null) return undefined;
  const { name, generateName } = metadata as Record<string, unknown>;
  if (typeof name === "string" && name !== "") return name;
  if (typeof generateName === "string" && generateName !== "") return generateName;
  return undefined;
}

/** The parser's message without its `invalid image reference "<image>": ` lead (the deny line names the image). */
function problemOf(message: string): string {
  return message.replace(/^invalid image reference "(?:[^"\\]|\\.)*": /, "");
}
