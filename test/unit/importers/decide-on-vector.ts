// decide() for an imported policy on the committed cosign vector "legacy-ecdsa" (alice's signature,
// served by an in-memory registry), with the requirement kinds the Kyverno imports use. Each call
// starts from empty caches. Shared by the Kyverno importer tests that check verdicts.
import { decide, type DecideDeps, type Verdict } from "../../../src/decide";
import type { Policy } from "../../../src/policy/model";
import { createRequirementKinds, type RequirementKinds } from "../../../src/policy/requirement-kinds";
import type { Cache, DigestResolution } from "../../../src/ports";
import { parseReference } from "../../../src/reference";
import { anyOfKind } from "../../../src/requirements/any-of";
import { cosignKind } from "../../../src/requirements/cosign";
import { allowKind, digestPinnedKind } from "../../../src/requirements/static";
import { fakeRegistry, vector } from "../cosign/vectors";

/** The image the vector signs, as a workload names it. */
export const VECTOR_IMAGE = "127.0.0.1:5000/demo/app:v1";

const memoryCache = (): Cache => {
  const store = new Map<string, string>();
  return { get: async (k) => store.get(k) ?? null, put: async (k, v) => void store.set(k, v) };
};

let revision = 0;

export function decideOnVector(policy: Policy, context: Record<string, unknown>): Promise<Verdict> {
  let kinds: RequirementKinds;
  kinds = createRequirementKinds([allowKind, digestPinnedKind, cosignKind, anyOfKind(() => kinds)]);
  const clock = { now: () => new Date("2026-11-23T00:00:00Z") };
  const digest = vector("legacy-ecdsa").meta.image.digest;
  const deps: DecideDeps = {
    kinds,
    digests: { resolve: async (): Promise<DigestResolution> => ({ ok: true, digest, cached: false }) },
    verdictCache: memoryCache(),
    verdictTtlSeconds: 300,
    clock,
    verifier: {
      fetch: fakeRegistry(vector("legacy-ecdsa").registry).fetch,
      trustCache: memoryCache(),
      clock,
      counter: { count: () => {} },
      settings: { upstreamTimeoutMs: 1000, trustRecheckSeconds: 120, credentials: {} },
    },
  };
  return decide({ image: VECTOR_IMAGE, reference: parseReference(VECTOR_IMAGE), context }, { id: "p", revision: `r${revision++}`, policy }, deps);
}
