// The AdmissionReview answer: Portieris's deny wording, audit-mode warnings, and the digest-pinning JSONPatch.
import type { Verdict } from "../decide";
import { NOT_DENY_REASONS } from "../reasons";
import { base64Encode, utf8 } from "../verify/shared/encoding";
import type { AdmissionPlan } from "./plan";
import type { AdmissionApiVersion, AdmissionReview } from "./review";

export interface AdmissionStatus {
  readonly code: number;
  readonly reason?: string;
  readonly message: string;
}

/** admission.k8s.io AdmissionResponse (the fields trustgate sets). */
export interface AdmissionResponse {
  readonly uid: string;
  readonly allowed: boolean;
  /** Not consulted by the API server on an allow; trustgate still says why it did not decide. */
  readonly status?: AdmissionStatus;
  readonly warnings?: readonly string[];
  readonly patchType?: "JSONPatch";
  /** Base64 of the RFC 6902 patch. */
  readonly patch?: string;
  /** The API server prefixes each key with the webhook's name and adds it to the audit event. */
  readonly auditAnnotations?: Readonly<Record<string, string>>;
}

export interface AdmissionReviewAnswer {
  readonly apiVersion: AdmissionApiVersion;
  readonly kind: "AdmissionReview";
  readonly response: AdmissionResponse;
}

interface JsonPatchOperation {
  readonly op: "replace";
  readonly path: string;
  readonly value: string;
}

export interface AnswerOptions {
  /** Pin each allowed image to its digest with a JSONPatch (the caller is a mutating webhook). */
  readonly mutate: boolean;
  readonly policy: { readonly id: string; readonly revision: string };
}

/**
 * Answers the review. `verdicts` are in the order of `plan.images` (one per image).
 * Deny: Portieris's responder (pkg/webhook/responder.go) joins one line per problem after a leading
 * newline, each line `Deny "<image>", <why>` (pkg/controller/multi/controller.go); trustgate writes
 * one line per denied image with its reasons joined by "; ", and status code 403.
 */
export function answerAdmission(
  review: AdmissionReview,
  plan: AdmissionPlan,
  verdicts: readonly (Verdict & { readonly id?: string })[],
  options: AnswerOptions,
): AdmissionReviewAnswer {
  const answer = (response: Omit<AdmissionResponse, "uid">): AdmissionReviewAnswer => ({
    apiVersion: review.apiVersion,
    kind: "AdmissionReview",
    response: { uid: review.request.uid, ...response },
  });
  const policyNotes = { policy: options.policy.id, "policy-revision": options.policy.revision };

  if (plan.action === "skip") {
    return answer({
      allowed: true,
      status: { code: 200, message: plan.reason },
      auditAnnotations: { ...policyNotes, skipped: plan.reason },
    });
  }
  if (plan.action === "deny") {
    return answer({ allowed: false, status: deniedStatus([plan.message]), auditAnnotations: policyNotes });
  }

  if (verdicts.length !== plan.images.length) {
    throw new Error(`expected ${plan.images.length} verdicts, got ${verdicts.length}`);
  }
  const verdictOf = new Map(plan.images.map((image, i) => [image, verdicts[i]!]));

  const denials: string[] = [];
  const warnings: string[] = [];
  const seen = new Set<string>();
  for (const { image } of plan.containers) {
    if (seen.has(image)) continue;
    seen.add(image);
    const named = `${quote(image)}${volumesNote(plan, image)}`;
    const problem = plan.invalid.get(image);
    if (problem !== undefined) {
      // Portieris: `Deny %q, invalid image name`; trustgate adds what is wrong with it.
      denials.push(`Deny ${named}, invalid image name: ${problem}`);
      continue;
    }
    const verdict = verdictOf.get(image);
    if (!verdict) continue;
    if (!verdict.allowed) {
      denials.push(`Deny ${named}, ${denyReasons(image, verdict).join("; ")}`);
    } else if (isAuditAllow(verdict)) {
      warnings.push(`${named} would be denied: ${denyReasons(image, verdict).join("; ")} (audit mode: allowed)`);
    }
  }

  const ids = verdicts.map((v) => v.id).filter((id): id is string => typeof id === "string");
  const auditAnnotations: Record<string, string> = {
    ...policyNotes,
    ...(ids.length > 0 ? { verdicts: [...new Set(ids)].join(",") } : {}),
    ...(plan.note ? { "namespaced-validation": plan.note } : {}),
  };
  const warned = warnings.length > 0 ? { warnings } : {};

  if (denials.length > 0) {
    const lines = plan.note ? [...denials, `(${plan.note})`] : denials;
    return answer({ allowed: false, status: deniedStatus(lines), ...warned, auditAnnotations });
  }

  const patch = options.mutate ? pinDigests(plan, verdictOf) : [];
  return answer({
    allowed: true,
    ...warned,
    ...(patch.length > 0 ? { patchType: "JSONPatch" as const, patch: base64Encode(utf8(JSON.stringify(patch))) } : {}),
    auditAnnotations,
  });
}

/**
 * Portieris's mutateImage: `replace` at `<pod spec>/<containers>/<i>/image` with
 * `<name without tag>@sha256:<hex>`, the name fully normalised (docker.io/library/nginx). Images that
 * carry a digest already are left as written; only digests a satisfied verdict names are pinned
 * (never one an audit-mode allow reports).
 */
function pinDigests(
  plan: Extract<AdmissionPlan, { action: "decide" }>,
  verdictOf: ReadonlyMap<string, Verdict>,
): JsonPatchOperation[] {
  const patch: JsonPatchOperation[] = [];
  for (const { image, pointer } of plan.containers) {
    const reference = plan.references.get(image);
    const verdict = verdictOf.get(image);
    if (!reference || reference.digest || !verdict) continue;
    if (!verdict.allowed || isAuditAllow(verdict) || !verdict.digest) continue;
    patch.push({ op: "replace", path: pointer, value: `${reference.name}@${verdict.digest}` });
  }
  return patch;
}

/** " (image volume "data")" when no container runs the image, so the user knows where to look. */
function volumesNote(plan: Extract<AdmissionPlan, { action: "decide" }>, image: string): string {
  const uses = plan.containers.filter((c) => c.image === image);
  if (uses.some((c) => c.field !== "volumes")) return "";
  const names = uses.map((c) => (c.name !== undefined ? quote(c.name) : `#${c.index}`));
  return ` (image volume${names.length > 1 ? "s" : ""} ${names.join(", ")})`;
}

function isAuditAllow(verdict: Verdict): boolean {
  return verdict.reasons.some((r) => r.code === "AUDIT_MODE");
}

/** The verdict's reasons to deny, each without a `Deny "<image>", ` lead of its own (Portieris-style policies). */
function denyReasons(image: string, verdict: Verdict): string[] {
  const leads = [`Deny "${image}", `, `Deny ${quote(image)}, `];
  const messages = verdict.reasons
    .filter((r) => !NOT_DENY_REASONS.has(r.code))
    .map((r) => {
      const lead = leads.find((l) => r.message.startsWith(l));
      return lead ? r.message.slice(lead.length) : r.message;
    });
  return messages.length > 0 ? messages : [`denied by policy ${verdict.policy.id}`];
}

function deniedStatus(lines: readonly string[]): AdmissionStatus {
  return { code: 403, reason: "Forbidden", message: `\n${lines.join("\n")}` };
}

/** Like Go's %q for the strings that reach here: quotes, backslashes and control characters escaped. */
function quote(s: string): string {
  return JSON.stringify(s);
}
