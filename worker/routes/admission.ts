// Kubernetes admission: AdmissionReview in, AdmissionReview out, every image of the workload decided in one batch.
//
// POST /v1/admission?policy=<id>[&mutate=true] (or /v1/admission/<id>[/mutate]), client token. The body is an admission.k8s.io/v1 or
// v1beta1 AdmissionReview as the API server sends it; the answer is an AdmissionReview of the same
// apiVersion with the same uid. Two fields the API server never sends are trustgate's extensions, for a
// shim in front of it that knows the namespace's labels (namespaced validation):
//   request.namespaceObject  the request's Namespace (metadata.name must be request.namespace; metadata.labels read)
//   context.namespaceLabels  the namespace's labels as a map
// A malformed review is a 400, an unknown policy a 404: the API server then applies the webhook's failurePolicy.
import type { Context } from "hono";
import { Hono } from "../hono";
import { planAdmission } from "../../src/admission/plan";
import { answerAdmission } from "../../src/admission/respond";
import { admissionReviewSchema, namespaceLabelsOf } from "../../src/admission/review";
import type { Env } from "../env";
import { ADMISSION_MAX_BODY_BYTES } from "../../shim/limits.mjs";
import { callerAuthenticated, recordedContext } from "../admission-caller";
import { readJson } from "../body";
import { HttpError } from "../errors";
import { assertPolicyAllowed, requireRole } from "../middleware/auth";
import type { StoredPolicy } from "../stores/policy-store";
import { decideImages, loadPolicy, recordVerdicts } from "../decision-services";
import { policyId } from "../policy-id";

function mutateFlag(value: string | undefined): boolean {
  if (value === undefined || value === "false") return false;
  if (value === "true") return true;
  throw new HttpError(400, "INVALID_QUERY", `mutate must be "true" or "false", not "${value.slice(0, 40)}"`);
}

async function admit(c: Context<Env>, id: string | undefined, mutate: boolean): Promise<Response> {
  if (id === undefined || id === "") {
    throw new HttpError(400, "INVALID_QUERY", "policy is required: POST /v1/admission?policy=<id>[&mutate=true]");
  }
  policyId(id);
  assertPolicyAllowed(c, id);
  // An UPDATE carries the object and its old version: the cap the shim uses too, not the 1 MiB of other routes.
  const review = await readJson(c, admissionReviewSchema, ADMISSION_MAX_BODY_BYTES);
  const stored = await loadPolicy(c, id);
  // An AdmissionReviewError is the caller's 400 (worker/errors.ts).
  const plan = planAdmission(review, stored.policy, namespaceLabelsOf(review));
  // The decision reads the namespace as sent; the history records it (and the user) as fact only
  // from an authenticated caller (worker/admission-caller.ts).
  const recorded = plan.action === "decide" ? recordedContext(plan.context, callerAuthenticated(c)) : {};
  const verdicts =
    plan.action === "decide" && plan.images.length > 0
      ? await decideImages(c, stored, plan.images, plan.context, "admission", recorded)
      : [];
  if (plan.action === "decide" && plan.invalid.size > 0) recordInvalid(c, stored, plan.invalid, recorded);
  return c.json(answerAdmission(review, plan, verdicts, { mutate, policy: { id: stored.id, revision: stored.revision } }));
}

/** Images that are no valid reference are denied without a decision; the history still shows them. */
function recordInvalid(c: Context<Env>, stored: StoredPolicy, invalid: ReadonlyMap<string, string>, context: Record<string, unknown>): void {
  const evaluatedAt = new Date().toISOString();
  const entries = [...invalid].map(([image, problem]) => ({
    repository: "",
    verdict: {
      decision: "deny" as const,
      allowed: false,
      image,
      reference: image,
      digest: null,
      policy: { id: stored.id, revision: stored.revision },
      rule: null,
      mode: stored.policy.mode,
      reasons: [{ code: "INVALID_REFERENCE" as const, message: `invalid image name: ${problem}`, rule: null }],
      cached: false,
      evaluatedAt,
    },
  }));
  recordVerdicts(c, entries, "admission", context);
}

// Registered ahead of the /v1/* routes, so this router checks the token itself.
// The path forms exist because a webhook's clientConfig.url may not carry a query string.
export const admissionRoutes = new Hono<Env>()
  .use("*", requireRole("client"))
  .post("/", (c) => admit(c, c.req.query("policy"), mutateFlag(c.req.query("mutate"))))
  .post("/:policy", (c) => admit(c, c.req.param("policy"), false))
  .post("/:policy/mutate", (c) => admit(c, c.req.param("policy"), true));
