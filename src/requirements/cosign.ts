// The `cosign` requirement kind: key-based cosign signatures stored in the registry, legacy `.sig` tags and v3 bundles.
//
// 1. The verdict for (keys, threshold, required, signedIdentity, signature repository, image
//    digest) is read from the trust cache; a fresh one decides with no fetch and no verification.
// 2. Otherwise, at once: the legacy signature manifest at <repo>:sha256-<hex>.sig and its payload
//    blobs, and the referrers of the digest with artifactType bundle v0.3 (or the fallback tag
//    sha256-<hex>), their manifests and bundle blobs. <repo> is the image's repository or
//    signatureRepository (cosign's COSIGN_REPOSITORY).
// 3. Every signature is checked against every key (src/verify/cosign; a bundle naming its key only
//    against that key), within the caps of src/verify/cosign/limits.ts: so many layers, referrers,
//    signatures per bundle and checks per decision, with a turn for the event loop between checks.
//    A cap reached is a COSIGN_LIMIT_REACHED note. Then threshold and required signers are judged. A registry that failed in passing only decides when the signatures
//    found already suffice (more signatures can only add signers); otherwise the deny names it and
//    is never cached.
import { HttpClient, UpstreamError } from "../adapters/http-client";
import { OciArtifactClient, type Repository } from "../adapters/oci-artifacts";
import type { EvaluationContext, RequirementKind, RequirementOutcome, VerifierDeps } from "../policy/requirement-kinds";
import type { Reason, ReasonCode } from "../reasons";
import { parseReference } from "../reference";
import {
  BUNDLE_V03_MEDIA_TYPE,
  checkBundle,
  checkLegacySignature,
  importCosignKey,
  judgeSignatures,
  MAX_BUNDLE_BYTES,
  MAX_BUNDLES,
  MAX_PAYLOAD_BYTES,
  MAX_SIGNATURE_LAYERS,
  MAX_SIGNATURES_PER_BUNDLE,
  VerificationBudget,
  parseBundle,
  parseReferrerManifest,
  parseSignatureManifest,
  requiredMessage,
  signatureTag,
  thresholdMessage,
  unreadable,
  type CheckedSignature,
  type CosignPublicKey,
  type CosignUnreadableCode,
  type Judgement,
} from "../verify/cosign";
import { cosignRequirement, reviewCosign, type CosignRequirement } from "./cosign-schema";
import { outcomeCache } from "./outcome-cache";

/** Verdicts per (keys, threshold, required, signedIdentity, signature repository, image digest). */
const outcomes = outcomeCache({
  prefix: "cosign:verdict:v1:",
  requirement: "cosign",
  signed: "COSIGN_SIGNED",
  what: "cosign cache write",
  // Written without a check time until the outcome cache was shared.
  checkedAtOptional: true,
});

/** The reason each kind of unreadable signature source gives: one code today, the message tells them apart. */
const UNREADABLE_REASONS: Record<CosignUnreadableCode, ReasonCode> = {
  MANIFEST_UNREADABLE: "COSIGN_SIGNATURES_UNREADABLE",
  PAYLOAD_MISMATCH: "COSIGN_SIGNATURES_UNREADABLE",
  SIGNATURE_UNREADABLE: "COSIGN_SIGNATURES_UNREADABLE",
  REFERRER_UNREADABLE: "COSIGN_SIGNATURES_UNREADABLE",
  BUNDLE_TOO_LARGE: "COSIGN_SIGNATURES_UNREADABLE",
  BUNDLE_UNREADABLE: "COSIGN_SIGNATURES_UNREADABLE",
  SOURCE_UNAVAILABLE: "COSIGN_SIGNATURES_UNREADABLE",
};

const clients = new WeakMap<VerifierDeps, OciArtifactClient>();

function clientFor(deps: VerifierDeps): OciArtifactClient {
  let client = clients.get(deps);
  if (!client) {
    const http = new HttpClient({ fetch: deps.fetch, timeoutMs: deps.settings.upstreamTimeoutMs, counter: deps.counter });
    client = new OciArtifactClient({
      http,
      credentials: deps.settings.credentials,
      ...(deps.settings.insecureRegistries ? { insecureRegistries: deps.settings.insecureRegistries } : {}),
    });
    clients.set(deps, client);
  }
  return client;
}

export const cosignKind: RequirementKind<CosignRequirement> = {
  type: "cosign",
  schema: cosignRequirement,
  digest: "required",
  review: reviewCosign,
  /** The registry of signatureRepository, when signatures live elsewhere than the image. */
  upstreams(req) {
    if (!req.signatureRepository) return [];
    try {
      return [parseReference(req.signatureRepository).registry];
    } catch {
      return [];
    }
  },
  async evaluate(req, ctx) {
    const { deps } = ctx;
    const digest = ctx.digest;
    if (!digest) throw new Error("the image digest is not known");
    const keys = await Promise.all((req.keys ?? []).map((k) => importCosignKey(k.name, k.key)));
    const repo = signatureRepository(req, ctx);
    const repository = `${repo.registry}/${repo.path}`;
    const base = { rule: ctx.rule, requirement: "cosign" };
    const recheck = deps.settings.trustRecheckSeconds;
    const now = deps.clock.now().getTime();

    const cacheKey = await outcomes.key({
      keys: keys.map((k) => [k.name, k.hint]),
      threshold: req.threshold ?? 1,
      required: [...(req.required ?? [])].sort(),
      signedIdentity: req.signedIdentity ?? null,
      // The identity rules read the reference as written (tag or digest); without one the repository decides.
      image: req.signedIdentity ? ctx.reference.canonical : ctx.reference.name,
      repository,
      digest,
    });
    const cached = await outcomes.read(ctx, cacheKey, now);
    if (cached) return cached;

    const { signatures, problems, refused, limits } = await gather(deps, repo, digest, keys, ctx, req);
    const judgement = judgeSignatures(
      {
        keys: keys.map((k) => k.name),
        threshold: req.threshold ?? 1,
        required: req.required ?? [],
        identities: Object.fromEntries(keys.map((k) => [k.name, k.hint])),
      },
      signatures,
    );
    const transient = problems.some((p) => p.transient);
    const reasons = explain(judgement, problems, repository, digest, limits);
    const outcome: RequirementOutcome = {
      satisfied: judgement.satisfied,
      // Signatures found while part of the registry was away still suffice; a deny might not be one.
      cacheable: judgement.satisfied || !transient,
      ttlSeconds: recheck,
      reasons: reasons.map((r) => ({ ...r, ...base })),
    };
    // The trust cache is shared by every rule with these keys: a deny that rests on an egress
    // refusal belongs to the rule that met it (another may name the host), so only the verdict
    // cache (per rule) keeps it.
    if (outcome.cacheable && (judgement.satisfied || !refused)) await outcomes.write(ctx, cacheKey, outcome, now, now + recheck * 1000);
    return outcome;
  },
};

/** The repository signatures live in: signatureRepository (registry/path, no tag or digest) or the image's own. */
function signatureRepository(req: CosignRequirement, ctx: EvaluationContext): Repository {
  if (!req.signatureRepository) return { registry: ctx.reference.registry, path: ctx.reference.path };
  const written = req.signatureRepository;
  const lastSegment = written.slice(written.lastIndexOf("/") + 1);
  if (written.includes("@") || lastSegment.includes(":")) {
    throw new Error(`signatureRepository ${JSON.stringify(written)} must be a repository (registry/path), without tag or digest`);
  }
  const ref = parseReference(written);
  return { registry: ref.registry, path: ref.path };
}

interface Evidence {
  readonly signatures: CheckedSignature[];
  /** Registry failures that kept signatures from being read. */
  readonly problems: UpstreamError[];
  /** The egress guard refused some request: what it saw depends on the rule asking (the hosts it names). */
  refused: boolean;
  /** The caps reached, in words for the COSIGN_LIMIT_REACHED note. */
  readonly limits: string[];
}

async function gather(
  deps: VerifierDeps,
  repo: Repository,
  digest: string,
  keys: readonly CosignPublicKey[],
  ctx: EvaluationContext,
  req: CosignRequirement,
): Promise<Evidence> {
  const oci = clientFor(deps);
  const evidence: Evidence = { signatures: [], problems: [], refused: false, limits: [] };
  const budget = new VerificationBudget();
  const common = {
    keys,
    digest,
    image: ctx.reference,
    signedIdentity: req.signedIdentity,
    onVerify: (key: CosignPublicKey) => deps.counter.count("verify", `cosign ${repo.path}@${digest} key ${key.name}`),
    budget,
  };
  let crowdedBundles = 0;
  let mostBundleSignatures = 0;
  // Blobs by digest, fetched once per decision: cosign's layers of one image share one payload blob.
  const blobs = new Map<string, Promise<Uint8Array>>();
  const blob = (d: string, maxBytes: number): Promise<Uint8Array> => {
    let p = blobs.get(d);
    if (!p) blobs.set(d, (p = oci.blob(repo, d, maxBytes)));
    return p;
  };
  /**
   * Runs one piece of the search. A registry failure is a problem of the whole search when it is
   * transient or concerns the listing itself (no `source`); otherwise it spoils only that signature.
   */
  const collect = async (source: string | undefined, work: () => Promise<CheckedSignature | undefined>): Promise<void> => {
    try {
      const found = await work();
      if (found) evidence.signatures.push(found);
    } catch (err) {
      if (!(err instanceof UpstreamError)) throw err;
      if (err.refused) evidence.refused = true;
      if (err.transient || source === undefined) evidence.problems.push(err);
      else evidence.signatures.push(unreadable(source, "SOURCE_UNAVAILABLE", err.message));
    }
  };

  const legacy = collect(undefined, async () => {
    const tag = signatureTag(digest);
    const manifest = await oci.manifest(repo, tag);
    if (!manifest) return undefined;
    const parsed = parseSignatureManifest(manifest.bytes, MAX_SIGNATURE_LAYERS);
    if (!parsed.ok) return unreadable(`${repoName(repo)}:${tag}`, "MANIFEST_UNREADABLE", parsed.why);
    const { layers, total } = parsed.value;
    if (total > layers.length) {
      evidence.limits.push(
        `only the newest ${count(layers.length)} of ${count(total)} signatures at ${repoName(repo)}:${tag} were checked ` +
          `(at most ${MAX_SIGNATURE_LAYERS} are read); remove stale signatures from that tag (cosign clean) and sign again`,
      );
    }
    await Promise.all(
      layers.map((layer) =>
        collect(`${tag} layer ${layer.index}`, async () =>
          checkLegacySignature({ ...common, layer, payload: await blob(layer.digest, MAX_PAYLOAD_BYTES) }),
        ),
      ),
    );
    return undefined;
  });

  const bundles = collect(undefined, async () => {
    const referrers = await oci.referrers(repo, digest, BUNDLE_V03_MEDIA_TYPE);
    const total = referrers.descriptors.length;
    if (total > MAX_BUNDLES) {
      evidence.limits.push(
        `only the first ${count(MAX_BUNDLES)} of ${count(total)} signature referrers of ${repoName(repo)}@${digest} were checked ` +
          `(at most ${MAX_BUNDLES} are read); delete stale signature referrers and sign again`,
      );
    }
    await Promise.all(
      referrers.descriptors.slice(0, MAX_BUNDLES).map((descriptor) => {
        const source = `bundle ${descriptor.digest}`;
        return collect(source, async () => {
          const manifest = await oci.manifest(repo, descriptor.digest);
          if (!manifest) return unreadable(source, "REFERRER_UNREADABLE", `the referrer manifest ${descriptor.digest} is missing`);
          const referrer = parseReferrerManifest(manifest.bytes);
          if (!referrer.ok) return unreadable(source, "REFERRER_UNREADABLE", referrer.why);
          if (referrer.value.subject !== undefined && referrer.value.subject !== digest) {
            return unreadable(source, "REFERRER_UNREADABLE", `the referrer's subject is ${referrer.value.subject}, not ${digest}`);
          }
          const layer = referrer.value.layers.find((l) => l.mediaType === BUNDLE_V03_MEDIA_TYPE);
          // Another kind of referrer (an SBOM, say) listed without its type: not a signature at all.
          if (!layer && referrer.value.artifactType !== BUNDLE_V03_MEDIA_TYPE) return undefined;
          if (!layer) return unreadable(source, "REFERRER_UNREADABLE", `the referrer has no ${BUNDLE_V03_MEDIA_TYPE} layer`);
          // The descriptor's size first: a blob too large is not even fetched.
          if (layer.size > MAX_BUNDLE_BYTES) {
            return unreadable(source, "BUNDLE_TOO_LARGE", `the bundle blob is ${count(layer.size)} bytes; at most ${count(MAX_BUNDLE_BYTES)} are read (cosign writes a few KiB)`);
          }
          const bundle = parseBundle(await blob(layer.digest, MAX_BUNDLE_BYTES));
          if (!bundle.ok) return unreadable(source, "BUNDLE_UNREADABLE", bundle.why);
          if (bundle.value.signatureCount > bundle.value.signatures.length) {
            crowdedBundles++;
            mostBundleSignatures = Math.max(mostBundleSignatures, bundle.value.signatureCount);
          }
          return checkBundle({ ...common, source, bundle: bundle.value });
        });
      }),
    );
    return undefined;
  });

  await Promise.all([legacy, bundles]);
  if (crowdedBundles > 0) {
    evidence.limits.push(
      `${crowdedBundles === 1 ? "a bundle lists" : `${crowdedBundles} bundles list`} up to ${count(mostBundleSignatures)} DSSE signatures; ` +
        `only the first ${MAX_SIGNATURES_PER_BUNDLE} of each were checked (cosign writes one per bundle)`,
    );
  }
  if (budget.skipped > 0) {
    evidence.limits.push(
      `the budget of ${budget.limit} signature checks per decision was spent: ${count(budget.skipped)} more were not made, ` +
        `so some signatures were never tried; keep fewer signatures next to the image, or fewer keys in the rule`,
    );
  }
  return evidence;
}

function repoName(repo: Repository): string {
  return `${repo.registry}/${repo.path}`;
}

/** 4000 → "4,000" (by hand: toLocaleString costs milliseconds a call). */
function count(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+$)/g, ",");
}

/** Reasons for the judgement: why it holds, or every way it fails, then what could not be read. */
function explain(j: Judgement, problems: readonly UpstreamError[], repository: string, digest: string, limits: readonly string[]): Reason[] {
  const facts = { repository, digest, signers: j.signers, threshold: j.threshold };
  const capped: Reason[] = limits.map((message) => ({ code: "COSIGN_LIMIT_REACHED", message, ...facts }));
  if (j.satisfied) {
    return [
      {
        code: "COSIGN_SIGNED",
        message: `${repository}@${digest} has valid cosign signatures from ${j.signers.join(", ")} (${j.distinctSigners}/${j.threshold} needed)`,
        ...facts,
      },
      ...capped,
    ];
  }
  const reasons: Reason[] = [];
  if (j.noSignatures && problems.length === 0) {
    reasons.push({
      code: "COSIGN_NO_SIGNATURES",
      // cosign's words, then where it looked.
      message: `no signatures found for ${repository}@${digest}: neither ${repository}:${signatureTag(digest)} nor a referrer of type ${BUNDLE_V03_MEDIA_TYPE}`,
      ...facts,
    });
  } else if (!j.noSignatures) {
    if (!j.thresholdMet) reasons.push({ code: "COSIGN_THRESHOLD_UNMET", message: thresholdMessage(j), failures: j.failures, ...facts });
    if (j.missing.length > 0) {
      reasons.push({ code: "COSIGN_REQUIRED_SIGNER_MISSING", message: requiredMessage(j), missing: j.missing, failures: j.failures, ...facts });
    }
    for (const u of j.unreadable) {
      reasons.push({ code: UNREADABLE_REASONS[u.code], message: `${u.source} of ${repository}: ${u.why}`, source: u.source, ...facts });
    }
  }
  for (const p of problems) {
    reasons.push({
      code: p.code,
      message: `could not read the cosign signatures of ${repository}@${digest}: ${p.message}`,
      ...(p.url ? { url: p.url } : {}),
    });
  }
  return [...reasons, ...capped];
}
