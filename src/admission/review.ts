// The AdmissionReview (admission.k8s.io/v1 and v1beta1) as the API server sends it, plus trustgate's two extensions.
import * as z from "../schema";

/**
 * Both versions carry the same AdmissionRequest and AdmissionResponse fields
 * (k8s.io/api admission/v1 and admission/v1beta1 types.go); the answer must use the request's
 * apiVersion, kind "AdmissionReview" and request.uid, or a v1 API server refuses it.
 */
export const ADMISSION_API_VERSIONS = ["admission.k8s.io/v1", "admission.k8s.io/v1beta1"] as const;
export type AdmissionApiVersion = (typeof ADMISSION_API_VERSIONS)[number];

export const OPERATIONS = ["CREATE", "UPDATE", "DELETE", "CONNECT"] as const;
export type Operation = (typeof OPERATIONS)[number];

/** Label values are at most 63 characters, keys 253 + "/" + 63; the bounds only guard against abuse. */
const labels = z.record(
  z.string().check(z.minLength(1), z.maxLength(317)),
  z.string().check(z.maxLength(63)),
);

const groupVersionKind = z.object({
  group: z._default(z.string(), ""),
  version: z.string(),
  kind: z.string().check(z.minLength(1)),
});

const groupVersionResource = z.object({
  group: z._default(z.string(), ""),
  version: z.string(),
  resource: z.string(),
});

/**
 * trustgate's extension (a): the request's Namespace object, added by a shim in front of trustgate
 * (the API server never sends it). Only its name and labels are read; the name must be the request's namespace.
 */
const namespaceObject = z.object({
  apiVersion: z.optional(z.literal("v1")),
  kind: z.optional(z.literal("Namespace")),
  metadata: z.object({
    name: z.string().check(z.minLength(1), z.maxLength(63)),
    labels: z.optional(z.nullable(labels)),
  }),
});

const admissionRequest = z.object({
  uid: z.string().check(z.minLength(1), z.maxLength(256)),
  kind: groupVersionKind,
  resource: z.optional(groupVersionResource),
  subResource: z.optional(z.string()),
  name: z.optional(z.string()),
  namespace: z.optional(z.string()),
  operation: z.enum(OPERATIONS),
  userInfo: z.optional(
    z.object({
      username: z.optional(z.string()),
      uid: z.optional(z.string()),
      groups: z.optional(z.nullable(z.array(z.string()))),
    }),
  ),
  /** The object as admitted: read per workload kind (workloads.ts); null on DELETE. */
  object: z.optional(z.unknown()),
  dryRun: z.optional(z.nullable(z.boolean())),
  namespaceObject: z.optional(z.nullable(namespaceObject)),
});

export const admissionReviewSchema = z.object({
  apiVersion: z.enum(ADMISSION_API_VERSIONS),
  kind: z.literal("AdmissionReview"),
  request: admissionRequest,
  /** trustgate's extension (b): what the caller knows besides the request; today the namespace's labels. */
  context: z.optional(
    z.strictObject({
      namespaceLabels: z.optional(labels),
    }),
  ),
});

export type AdmissionReview = z.infer<typeof admissionReviewSchema>;
export type AdmissionRequest = AdmissionReview["request"];
export type Labels = Readonly<Record<string, string>>;

/** A request the schema accepts but that cannot be answered: the route turns it into a 400 naming `path`. */
export class AdmissionReviewError extends Error {
  override readonly name = "AdmissionReviewError";
  constructor(
    readonly path: string,
    readonly problem: string,
  ) {
    super(`${path}: ${problem}`);
  }
}

/**
 * The namespace's labels, when the caller said what they are: from `request.namespaceObject` or
 * `context.namespaceLabels` (both trustgate extensions). Undefined: unknown (the API server never sends them).
 */
export function namespaceLabelsOf(review: AdmissionReview): Labels | undefined {
  const { request } = review;
  const fromObject = request.namespaceObject ? (request.namespaceObject.metadata.labels ?? {}) : undefined;
  if (request.namespaceObject && request.namespaceObject.metadata.name !== request.namespace) {
    throw new AdmissionReviewError(
      "request.namespaceObject.metadata.name",
      `the Namespace object is "${request.namespaceObject.metadata.name}", but the request is in namespace "${request.namespace ?? ""}"`,
    );
  }
  const fromContext = review.context?.namespaceLabels;
  if (fromObject && fromContext && !sameLabels(fromObject, fromContext)) {
    throw new AdmissionReviewError(
      "context.namespaceLabels",
      "differs from request.namespaceObject.metadata.labels: give the namespace's labels once",
    );
  }
  return fromObject ?? fromContext;
}

function sameLabels(a: Labels, b: Labels): boolean {
  const keys = Object.keys(a);
  return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && a[k] === b[k]);
}
