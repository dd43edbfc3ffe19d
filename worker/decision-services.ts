// What every route that decides shares: the policy a decision uses, deciding a list of images, and
// recording the verdicts. Routes (decisions, admission, hooks) import these; they hold only routes.
import type { Context } from "hono";
import { decide, type DecideDeps, type PolicyView, type Verdict } from "../src/decide";
import type { Cache } from "../src/ports";
import { parseReference, type ImageReference } from "../src/reference";
import type { Bindings, Env } from "./env";
import { HttpError } from "./errors";
import { assertPolicyAllowed } from "./middleware/auth";
import { policyId } from "./policy-id";
import { servicesFor } from "./services";
import type { StoredPolicy } from "./stores/policy-store";
import { newVerdictId, type RecordedVerdict } from "./stores/verdict-log";

/** The policy a decision uses (ID checked, token allowed to use it), or the 404. */
export async function loadPolicy(c: Context<Env>, id: string): Promise<StoredPolicy> {
  assertPolicyAllowed(c, policyId(id));
  const stored = await servicesFor(c.env).policies.forDecision(id);
  if (!stored) throw new HttpError(404, "POLICY_NOT_FOUND", `no policy with ID "${id}"`);
  return stored;
}

function parseOrReject(image: string, path: string): ImageReference {
  try {
    return parseReference(image);
  } catch (err) {
    if (err instanceof Error && err.name === "InvalidReferenceError") {
      throw new HttpError(400, "INVALID_REFERENCE", `${path}: ${err.message}`, { path });
    }
    throw err;
  }
}

/**
 * Decides each distinct image once, records every verdict, and answers in input order. `recorded` is
 * the context the history keeps, when it differs from the one the decision reads.
 */
export async function decideImages(
  c: Context<Env>,
  stored: StoredPolicy,
  images: readonly string[],
  context: Record<string, unknown>,
  source: string,
  recorded: Record<string, unknown> = context,
): Promise<RecordedVerdict[]> {
  const { decideDeps } = servicesFor(c.env);
  const references = images.map((image, i) => parseOrReject(image, images.length > 1 ? `images[${i}]` : "image"));
  const view = { id: stored.id, revision: stored.revision, policy: stored.policy };
  const distinct = new Map<string, Promise<Verdict>>();
  // Cache writes after a verification finish after the response.
  const background = (work: Promise<unknown>) => c.executionCtx.waitUntil(work);
  const results = await Promise.all(
    images.map((image, i) => {
      let p = distinct.get(image);
      if (!p) {
        p = decide({ image, reference: references[i]!, context, background }, view, decideDeps);
        distinct.set(image, p);
      }
      return p;
    }),
  );
  return recordVerdicts(
    c,
    results.map((verdict, i) => ({ verdict, repository: references[i]!.name })),
    source,
    recorded,
  );
}

/**
 * Gives each verdict its history ID, source and context, and has it written after the response.
 * `repository` is the reference's name ("" for an image that is no valid reference).
 */
export function recordVerdicts(
  c: Context<Env>,
  entries: readonly { verdict: Verdict; repository: string }[],
  source: string,
  context: Readonly<Record<string, unknown>>,
): RecordedVerdict[] {
  const recorded = entries.map(({ verdict }): RecordedVerdict => ({
    ...verdict,
    id: newVerdictId(Date.parse(verdict.evaluatedAt)),
    source,
    context: Object.keys(context).length ? context : null,
  }));
  c.executionCtx.waitUntil(
    servicesFor(c.env)
      .verdicts.recordAll(recorded.map((verdict, i) => ({ verdict, repository: entries[i]!.repository })))
      .catch((err: unknown) => console.error("recording verdicts failed:", err)),
  );
  return recorded;
}

/** The verdict cache as a preview sees it: read, never written. */
function readOnly(cache: Cache): Cache {
  return { get: (key) => cache.get(key), put: async () => {} };
}

const unrecordedDeps = new WeakMap<DecideDeps, DecideDeps>();

/**
 * Decides one image exactly as a decision would (the same core, rules and trust caches), but records
 * no verdict and writes no verdict cache: a policy preview's replay (worker/preview.ts).
 */
export function decideUnrecorded(
  env: Bindings,
  view: PolicyView,
  image: string,
  reference: ImageReference,
  context: Readonly<Record<string, unknown>>,
): Promise<Verdict> {
  const { decideDeps } = servicesFor(env);
  let deps = unrecordedDeps.get(decideDeps);
  if (!deps) {
    deps = { ...decideDeps, verdictCache: readOnly(decideDeps.verdictCache) };
    unrecordedDeps.set(decideDeps, deps);
  }
  return decide({ image, reference, context }, view, deps);
}
