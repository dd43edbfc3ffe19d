// The `cosign` requirement kind: cosign signatures stored in the registry, by key and keyless
// (Fulcio + Rekor), legacy `.sig` tags and Sigstore bundles.
//
// 1. The verdict for (keys, keyless identities and options, the trust root's hash, threshold,
//    required, signedIdentity, signature repository, image digest) is read from the trust cache; a
//    fresh one decides with no fetch and no verification. A keyless rule first gets its trust root:
//    inline, or Sigstore's public good through TUF (sigstore-root.ts).
// 2. Otherwise, at once: the legacy signature manifest at <repo>:sha256-<hex>.sig and its payload
//    blobs, and the referrers of the digest with artifactType bundle v0.3 (a keyless rule: every
//    bundle version; or the fallback tag sha256-<hex>), their manifests and bundle blobs. <repo> is
//    the image's repository or signatureRepository (cosign's COSIGN_REPOSITORY).
// 3. Every signature is checked against every key (src/verify/cosign; a bundle naming its key only
//    against that key), and every keyless one (a layer with a certificate, a bundle with one) once
//    against the rule's identities (verify/cosign/keyless-check.ts), within the caps of
//    src/verify/cosign/limits.ts: so many layers, referrers, signatures per bundle and checks per
//    decision, with a turn for the event loop between checks. A cap reached is a
//    COSIGN_LIMIT_REACHED note. Then threshold and required signers are judged over keys and
//    identities. A registry that failed in passing only decides when the signatures found already
//    suffice (more signatures can only add signers); otherwise the deny names it and is never
//    cached; so is a deny for want of a trust root that may come back.
import { sha256Hex, toHex } from "../encoding";
import { HttpClient, UpstreamError } from "../adapters/http-client";
import { OCI_EMPTY, OciArtifactClient, type Repository } from "../adapters/oci-artifacts";
import type { EvaluationContext, RequirementKind, RequirementOutcome, VerifierDeps } from "../policy/requirement-kinds";
import type { Reason, ReasonCode } from "../reasons";
import { parseReference } from "../reference";
import { urlUpstream } from "../policy/upstreams";
import {
  BUNDLE_MEDIA_TYPES,
  BUNDLE_V03_MEDIA_TYPE,
  bundleEvidence,
  checkBundle,
  checkKeylessSignature,
  claimProblem,
  identityProblem,
  isKeylessLayer,
  keylessFailed,
  legacyEvidence,
  parseSimpleSigningPayload,
  payloadMismatch,
  statementClaimProblem,
  type KeylessSigner,
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
  type KeyResult,
  type Parsed,
  IN_TOTO_PAYLOAD_TYPE,
} from "../verify/cosign";
import { parseTrustedRoot, type KeylessEvidence, type KeylessFailureCode, type TrustedRoot } from "../verify/cosign/keyless";
import { cosignRequirement, identityName, matcherKey, reviewCosign, trustRootBytes, type CosignRequirement } from "./cosign-schema";
import { outcomeCache } from "./outcome-cache";
import { DEFAULT_SIGSTORE_TUF_URL, loadSigstoreTrustedRoot } from "./sigstore-root";

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

/** The reason each keyless failure gives: a deny names what failed. */
const KEYLESS_REASONS: Record<KeylessFailureCode, ReasonCode> = {
  CERTIFICATE_UNTRUSTED: "COSIGN_CERTIFICATE_UNTRUSTED",
  CERTIFICATE_EXPIRED: "COSIGN_CERTIFICATE_EXPIRED",
  NOT_CODE_SIGNING: "COSIGN_CERTIFICATE_NOT_CODE_SIGNING",
  SCT_MISSING: "COSIGN_SCT_MISSING",
  SCT_INVALID: "COSIGN_SCT_INVALID",
  TLOG_MISSING: "COSIGN_TLOG_MISSING",
  TLOG_UNTRUSTED: "COSIGN_TLOG_UNTRUSTED",
  TLOG_INVALID: "COSIGN_TLOG_INVALID",
  TLOG_MISMATCH: "COSIGN_TLOG_MISMATCH",
  TIMESTAMP_INVALID: "COSIGN_TIMESTAMP_INVALID",
  SIGNATURE_INVALID: "COSIGN_KEYLESS_SIGNATURE_INVALID",
  IDENTITY_MISMATCH: "COSIGN_IDENTITY_MISMATCH",
  MALFORMED: "COSIGN_KEYLESS_UNREADABLE",
};

/** Parsed trust roots by the sha256 of their bytes: parsing certificates every decision costs. */
const parsedRoots = new Map<string, ReturnType<typeof parseTrustedRoot>>();
const MAX_PARSED_ROOTS = 8;

/** The keyless half of a requirement for one decision: its signers and the trust root, or why there is none. */
interface KeylessContext {
  readonly signers: readonly KeylessSigner[];
  readonly ignoreSCT: boolean;
  readonly ignoreTlog: boolean;
  /** The parsed root, or why it could not be had (then every keyless signature fails with it). */
  readonly root: { readonly ok: true; readonly value: TrustedRoot } | { readonly ok: false; readonly why: string; readonly transient: boolean };
  /** sha256 hex of the root's bytes ("unavailable" without one): part of the verdict's cache key. */
  readonly rootHash: string;
  /** A refresh failed and the last verified root decided: said in the reasons. */
  readonly note?: string;
}

async function keylessContext(req: CosignRequirement, ctx: EvaluationContext): Promise<KeylessContext | undefined> {
  const keyless = req.keyless;
  if (!keyless) return undefined;
  const signers = keyless.identities.map((i) => ({
    name: identityName(i),
    matcher: {
      ...(i.issuer !== undefined ? { issuer: i.issuer } : {}),
      ...(i.issuerRegExp !== undefined ? { issuerRegExp: i.issuerRegExp } : {}),
      ...(i.subject !== undefined ? { subject: i.subject } : {}),
      ...(i.subjectRegExp !== undefined ? { subjectRegExp: i.subjectRegExp } : {}),
      ...(i.extensions !== undefined ? { extensions: i.extensions } : {}),
    },
  }));
  const common = { signers, ignoreSCT: keyless.ignoreSCT ?? false, ignoreTlog: keyless.ignoreTlog ?? false };
  let bytes: Uint8Array;
  let note: string | undefined;
  if (keyless.trustRoot !== undefined) {
    bytes = trustRootBytes(keyless.trustRoot);
  } else {
    const loaded = await loadSigstoreTrustedRoot(ctx.deps, ctx.background);
    if (!loaded.ok) {
      return { ...common, root: { ok: false, why: loaded.why, transient: loaded.transient }, rootHash: "unavailable" };
    }
    bytes = loaded.trustedRoot;
    note = loaded.note;
  }
  const rootHash = await sha256Hex(bytes);
  let parsed = parsedRoots.get(rootHash);
  if (!parsed) {
    parsed = parseTrustedRoot(bytes);
    if (parsedRoots.size >= MAX_PARSED_ROOTS) parsedRoots.delete(parsedRoots.keys().next().value!);
    parsedRoots.set(rootHash, parsed);
  }
  const where = keyless.trustRoot !== undefined ? "the rule's trust root" : "the Sigstore public-good trust root";
  const root = parsed.ok ? parsed : { ok: false as const, why: `${where} is not usable: ${parsed.why}`, transient: false };
  return { ...common, root, rootHash, ...(note !== undefined ? { note } : {}) };
}

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
    const named: string[] = [];
    // The public-good trust root's TUF repository, when the rule has no root of its own.
    if (req.keyless && req.keyless.trustRoot === undefined) {
      const tuf = urlUpstream(DEFAULT_SIGSTORE_TUF_URL);
      if (tuf) named.push(tuf);
    }
    if (!req.signatureRepository) return named;
    try {
      return [parseReference(req.signatureRepository).registry, ...named];
    } catch {
      return named;
    }
  },
  async evaluate(req, ctx) {
    const { deps } = ctx;
    const digest = ctx.digest;
    if (!digest) throw new Error("the image digest is not known");
    const keys = await Promise.all((req.keys ?? []).map((k) => importCosignKey(k.name, k.key)));
    const keyless = await keylessContext(req, ctx);
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
      // Only keyless rules add to the key: key-based verdicts already cached stay found.
      ...(keyless
        ? {
            keyless: {
              identities: keyless.signers.map((s, i) => [s.name, matcherKey(req.keyless!.identities[i]!)]),
              ignoreSCT: keyless.ignoreSCT,
              ignoreTlog: keyless.ignoreTlog,
              trustRoot: keyless.rootHash,
            },
          }
        : {}),
    });
    const cached = await outcomes.read(ctx, cacheKey, now);
    if (cached) return cached;

    const { signatures, problems, refused, limits } = await gather(deps, repo, digest, keys, ctx, req, keyless);
    const judgement = judgeSignatures(
      {
        keys: [...keys.map((k) => k.name), ...(keyless?.signers ?? []).map((s) => s.name)],
        threshold: req.threshold ?? 1,
        required: req.required ?? [],
        identities: Object.fromEntries([
          ...keys.map((k) => [k.name, k.hint]),
          // Two identities with the same conditions are one signer, as one key under two names is.
          ...(req.keyless?.identities ?? []).map((i) => [identityName(i), `keyless:${matcherKey(i)}`]),
        ]),
        ...(keyless ? { noun: keys.length > 0 ? "key or identity" : "identity" } : {}),
      },
      signatures,
    );
    const rootFailure = keyless && !keyless.root.ok ? keyless.root : undefined;
    const transient = problems.some((p) => p.transient) || (rootFailure?.transient ?? false);
    const reasons = explain(judgement, problems, repository, digest, limits, signatures, keyless);
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
  keyless: KeylessContext | undefined,
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
  /** One keyless signature against the rule's identities; its material unreadable or no root is a failure, not unreadable. */
  const keylessCheck = async (
    kl: KeylessContext,
    source: string,
    evidence: Parsed<KeylessEvidence>,
    claim: () => string | undefined,
  ): Promise<CheckedSignature> => {
    if (!kl.root.ok) return keylessFailed(source, kl.signers, "CERTIFICATE_UNTRUSTED", `no trust root to verify the certificate against: ${kl.root.why}`);
    if (!evidence.ok) return keylessFailed(source, kl.signers, "MALFORMED", evidence.why);
    return checkKeylessSignature({
      evidence: evidence.value,
      root: kl.root.value,
      signers: kl.signers,
      ignoreSCT: kl.ignoreSCT,
      ignoreTlog: kl.ignoreTlog,
      claimProblem: claim,
      budget,
      onVerify: () => deps.counter.count("verify", `cosign ${repo.path}@${digest} keyless ${source}`),
    });
  };
  /** What a signature made by a key says to the rule's identities. */
  const notKeyless = (kl: KeylessContext | undefined): Record<string, KeyResult> =>
    Object.fromEntries((kl?.signers ?? []).map((s) => [s.name, { ok: false, why: "signed by a key, not a Fulcio certificate" } as KeyResult]));
  const bundleTypes = keyless ? BUNDLE_MEDIA_TYPES : [BUNDLE_V03_MEDIA_TYPE];

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
        collect(`${tag} layer ${layer.index}`, async () => {
          const payload = await blob(layer.digest, MAX_PAYLOAD_BYTES);
          const byKeys = keys.length > 0 ? await checkLegacySignature({ ...common, layer, payload }) : undefined;
          if (!keyless) return byKeys;
          const source = `${tag} layer ${layer.index}`;
          if (byKeys?.unreadable) return byKeys;
          const mismatch = await payloadMismatch(layer, payload);
          if (mismatch) return unreadable(source, "PAYLOAD_MISMATCH", mismatch);
          const byIdentities = isKeylessLayer(layer.annotations)
            ? await keylessCheck(keyless, source, legacyEvidence(layer.annotations, payload, source), () => legacyClaimFor(payload, digest, ctx.reference, req.signedIdentity))
            : { source, keys: notKeyless(keyless) };
          return merge(byKeys, byIdentities);
        }),
      ),
    );
    return undefined;
  });

  const bundles = collect(undefined, async () => {
    // Keyless rules look for every bundle version: one listing, filtered here (the API filters by one type).
    const listed = await oci.referrers(repo, digest, keyless ? undefined : BUNDLE_V03_MEDIA_TYPE);
    const referrers = keyless
      ? { descriptors: listed.descriptors.filter((d) => d.artifactType === undefined || d.artifactType === OCI_EMPTY || bundleTypes.includes(d.artifactType)) }
      : listed;
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
          const layer = referrer.value.layers.find((l) => bundleTypes.includes(l.mediaType));
          const artifactType = referrer.value.artifactType;
          // Another kind of referrer (an SBOM, say) listed without its type: not a signature at all.
          if (!layer && (artifactType === undefined || !bundleTypes.includes(artifactType))) return undefined;
          if (!layer) return unreadable(source, "REFERRER_UNREADABLE", `the referrer has no ${artifactType} layer`);
          // The descriptor's size first: a blob too large is not even fetched.
          if (layer.size > MAX_BUNDLE_BYTES) {
            return unreadable(source, "BUNDLE_TOO_LARGE", `the bundle blob is ${count(layer.size)} bytes; at most ${count(MAX_BUNDLE_BYTES)} are read (cosign writes a few KiB)`);
          }
          const bundle = parseBundle(await blob(layer.digest, MAX_BUNDLE_BYTES));
          if (!bundle.ok) return unreadable(source, "BUNDLE_UNREADABLE", bundle.why);
          const kb = bundle.value.keyless;
          if (kb) {
            if (!keyless) {
              return unreadable(source, "BUNDLE_UNREADABLE", "the bundle is keyless (a Fulcio certificate, not a key), and the rule names no keyless identities");
            }
            if (kb.content.kind === "message") {
              // A message signature signs an artifact the bundle does not hold. Attached to an image,
              // the one artifact it can stand for is the image's manifest: its messageDigest must be
              // the image's digest, and the manifest's bytes (fetched by that digest, hash-checked)
              // are what the signature and the log entry are checked against.
              const named = `sha256:${toHex(kb.content.digest)}`;
              if (kb.content.algorithm !== "SHA2_256" || named !== digest) {
                return keylessFailed(
                  source,
                  keyless.signers,
                  "MALFORMED",
                  `the bundle's messageSignature signs ${kb.content.algorithm === "SHA2_256" ? named : `a ${kb.content.algorithm} digest`}, not the image's manifest ${digest}`,
                );
              }
              const manifest = await oci.manifest({ registry: ctx.reference.registry, path: ctx.reference.path }, digest);
              if (!manifest) return unreadable(source, "SOURCE_UNAVAILABLE", `the image manifest ${digest} the messageSignature signs is not served`);
              return keylessCheck(keyless, source, await bundleEvidence(kb, source, manifest.bytes), () => undefined);
            }
            const payload = kb.content.payload;
            const claim = (): string | undefined =>
              kb.content.kind === "dsse" && kb.content.payloadType !== IN_TOTO_PAYLOAD_TYPE
                ? `the DSSE payloadType is ${JSON.stringify(kb.content.payloadType)}, not ${IN_TOTO_PAYLOAD_TYPE}`
                : statementClaimProblem(payload, digest, ctx.reference, req.signedIdentity);
            return keylessCheck(keyless, source, await bundleEvidence(kb, source), claim);
          }
          if (bundle.value.signatureCount > bundle.value.signatures.length) {
            crowdedBundles++;
            mostBundleSignatures = Math.max(mostBundleSignatures, bundle.value.signatureCount);
          }
          const byKeys = keys.length > 0 ? await checkBundle({ ...common, source, bundle: bundle.value }) : { source, keys: {} };
          return keyless ? merge(byKeys, { source, keys: notKeyless(keyless) }) : byKeys;
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
  if (budget.prehashSkipped > 0) {
    evidence.limits.push(
      `${count(budget.prehashSkipped)} Ed25519 ${budget.prehashSkipped === 1 ? "signature was" : "signatures were"} not tried as Ed25519ph: ` +
        `at most ${budget.prehashLimit} per decision are (cosign signs with one of the two, and the other is checked in JS); ` +
        `keep fewer signatures next to the image`,
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

/** A key-checked and an identity-checked view of one signature, as one. */
function merge(byKeys: CheckedSignature | undefined, byIdentities: CheckedSignature): CheckedSignature {
  if (!byKeys) return byIdentities;
  return { ...byIdentities, keys: { ...byKeys.keys, ...byIdentities.keys } };
}

/** Why a legacy payload does not claim the image: cosign's digest check, then signedIdentity when the rule has one. */
function legacyClaimFor(payload: Uint8Array, digest: string, image: EvaluationContext["reference"], rule: CosignRequirement["signedIdentity"]): string | undefined {
  const parsed = parseSimpleSigningPayload(payload);
  if (!parsed.ok) return parsed.why;
  return claimProblem(parsed.value, digest) ?? (rule ? identityProblem(rule, image, parsed.value.dockerReference) : undefined);
}

function repoName(repo: Repository): string {
  return `${repo.registry}/${repo.path}`;
}

/** 4000 → "4,000" (by hand: toLocaleString costs milliseconds a call). */
function count(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+$)/g, ",");
}

/** Reasons for the judgement: why it holds, or every way it fails, then what could not be read. */
function explain(
  j: Judgement,
  problems: readonly UpstreamError[],
  repository: string,
  digest: string,
  limits: readonly string[],
  signatures: readonly CheckedSignature[],
  keyless: KeylessContext | undefined,
): Reason[] {
  const facts = { repository, digest, signers: j.signers, threshold: j.threshold };
  const capped: Reason[] = limits.map((message) => ({ code: "COSIGN_LIMIT_REACHED", message, ...facts }));
  if (keyless?.note !== undefined) capped.push({ code: "COSIGN_TRUST_ROOT_STALE", message: keyless.note, ...facts });
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
      message: `no signatures found for ${repository}@${digest}: neither ${repository}:${signatureTag(digest)} nor a referrer of type ${keyless ? BUNDLE_MEDIA_TYPES.join(" or ") : BUNDLE_V03_MEDIA_TYPE}`,
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
  if (keyless && !keyless.root.ok) {
    reasons.push({ code: "COSIGN_TRUST_ROOT_UNAVAILABLE", message: `keyless signatures cannot be verified: ${keyless.root.why}`, transient: keyless.root.transient, ...facts });
  } else {
    // What failed in each keyless signature, by name: the certificate, its SCT, the log, the identity.
    for (const s of signatures) {
      if (!s.keyless) continue;
      reasons.push({ code: KEYLESS_REASONS[s.keyless.code], message: `${s.source} of ${repository}: ${s.keyless.why}`, source: s.source, ...facts });
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
