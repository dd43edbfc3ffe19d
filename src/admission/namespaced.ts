// Connaisseur's namespaced validation: whether a namespace's admission requests are validated at all.
import { NAMESPACE_WEBHOOK_LABEL, type NamespacedValidation } from "../policy/model";
import type { Labels } from "./review";

/**
 * Connaisseur implements the feature in its webhook's namespaceSelector (label NAMESPACE_WEBHOOK_LABEL
 * NotIn [ignore] for mode ignore, In [validate] for mode validate; its Helm chart's webhook template),
 * so the API server, which knows the labels, never calls it for a skipped namespace. trustgate sees
 * the labels only when the caller passes them (review.ts); when it does not, every namespace is
 * validated and the answer says so: skipping on a guess would fail open.
 */
export type NamespaceScope =
  | { readonly validate: false; readonly reason: string }
  | { readonly validate: true; readonly note?: string };

export function namespaceScope(
  setting: NamespacedValidation | undefined,
  namespace: string | undefined,
  labels: Labels | undefined,
): NamespaceScope {
  if (!setting) return { validate: true };
  const ns = namespace ? `namespace "${namespace}"` : "the request's namespace";
  if (!labels || !namespace) {
    return {
      validate: true,
      note:
        `namespaced validation (mode ${setting.mode}) is on, but the labels of ${ns} are unknown: ` +
        "validated (fail closed); pass them as request.namespaceObject or context.namespaceLabels, " +
        "or let the webhook's namespaceSelector skip the namespace",
    };
  }
  const value = Object.hasOwn(labels, NAMESPACE_WEBHOOK_LABEL) ? labels[NAMESPACE_WEBHOOK_LABEL] : undefined;
  if (setting.mode === "ignore") {
    if (value === "ignore") {
      return {
        validate: false,
        reason: `${ns} is labelled ${NAMESPACE_WEBHOOK_LABEL}=ignore: its images are not validated (namespaced validation, mode ignore)`,
      };
    }
    return { validate: true };
  }
  if (value === "validate") return { validate: true };
  return {
    validate: false,
    reason:
      `${ns} is not labelled ${NAMESPACE_WEBHOOK_LABEL}=validate: its images are not validated ` +
      "(namespaced validation, mode validate)",
  };
}
