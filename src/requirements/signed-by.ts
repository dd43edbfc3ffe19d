// The `signedBy` requirement kind: Red Hat simple signing (OpenPGP signed messages in a lookaside
// store or the registry's signature extension), decided as containers/image's prSignedBy decides.
import { SignatureStore, type StoredSignatures } from "../adapters/signature-store";
import { UpstreamError } from "../adapters/http-client";
import { sha256Hex } from "../encoding";
import type { RequirementKind, RequirementOutcome, VerifierDeps } from "../policy/requirement-kinds";
import { urlUpstream } from "../policy/upstreams";
import { DEFAULT_SIGNED_IDENTITY, importTrustedKeys, judgeSignatures, NO_SIGNATURE, type Judgement } from "../verify/simple-signing";
import { signedByRequirement, type SignedByRequirement } from "./signed-by-schema";
import { outcomeCache, secondsUntil } from "./outcome-cache";

/** Verified outcomes per (keys, identity rule, lookaside, image, digest), each stored with its check time. */
const outcomes = outcomeCache({ prefix: "simple:verdict:v1:", requirement: "signedBy", signed: "SIMPLE_SIGNED", what: "simple signing cache write" });

const stores = new WeakMap<VerifierDeps, SignatureStore>();

function storeFor(deps: VerifierDeps): SignatureStore {
  let store = stores.get(deps);
  if (!store) {
    store = new SignatureStore({
      fetch: deps.fetch,
      timeoutMs: deps.settings.upstreamTimeoutMs,
      counter: deps.counter,
      credentials: deps.settings.credentials,
      ...(deps.settings.insecureRegistries ? { insecureRegistries: deps.settings.insecureRegistries } : {}),
    });
    stores.set(deps, store);
  }
  return store;
}

export const signedByKind: RequirementKind<SignedByRequirement> = {
  type: "signedBy",
  schema: signedByRequirement,
  digest: "required",
  /** Every lookaside the requirement writes: the one base URL, or the default and each scope's. */
  upstreams(req) {
    const l = req.lookaside;
    const urls = l === undefined ? [] : typeof l === "string" ? [l] : [...(l.default ? [l.default] : []), ...Object.values(l.scopes ?? {})];
    return urls.map(urlUpstream).filter((h): h is string => h !== undefined);
  },
  async evaluate(req, ctx) {
    const { deps, reference } = ctx;
    const digest = ctx.digest!;
    const now = deps.clock.now();
    const recheck = deps.settings.trustRecheckSeconds;
    const identity = req.signedIdentity ?? DEFAULT_SIGNED_IDENTITY;
    const base = { rule: ctx.rule, requirement: "signedBy" };

    // A key that cannot be read is a policy error: thrown, so decide() reports VERIFICATION_ERROR.
    const trusted = await importTrustedKeys(req.keys);

    // Keyed by everything the outcome depends on; the key material itself, not only fingerprints,
    // so a re-exported key (now revoked or expired) is not answered from the cache.
    const cacheKey = await outcomes.key({
      keys: await sha256Hex(JSON.stringify(req.keys)),
      fingerprints: [...trusted.fingerprints].sort(),
      identity,
      lookaside: req.lookaside ?? null,
      image: reference.canonical,
      digest,
    });
    const cached = await outcomes.read(ctx, cacheKey, now.getTime());
    if (cached) return cached;

    let stored: StoredSignatures;
    try {
      stored = await storeFor(deps).signatures(reference, digest, req.lookaside);
    } catch (err) {
      if (!(err instanceof UpstreamError)) throw err;
      // Transient (network, timeout, 5xx): a deny now, never remembered. Otherwise a verified deny.
      return {
        satisfied: false,
        cacheable: !err.transient,
        ttlSeconds: recheck,
        reasons: [{ code: err.code, message: err.message, ...(err.url ? { url: err.url } : {}), transient: err.transient, ...base }],
      };
    }

    const judgement = await judgeSignatures(
      stored.signatures.map((s) => s.bytes),
      { trusted, digest, image: reference, signedIdentity: identity, now },
      (i) => deps.counter.count("verify", `simple-signing ${reference.name} ${stored.signatures[i - 1]!.url}`),
    );
    const where = source(stored);
    const outcome = reasonsFor(judgement, stored, digest, reference.canonical, where, base);
    // Reuse ends at the re-check interval, or earlier when the accepted signature or key expires.
    let until = now.getTime() + recheck * 1000;
    if (judgement.satisfied && judgement.signature.validUntil) until = Math.min(until, judgement.signature.validUntil.getTime());
    await outcomes.write(ctx, cacheKey, outcome, now.getTime(), until);
    return { ...outcome, cacheable: true, ttlSeconds: secondsUntil(until, now.getTime()) };
  },
};

function source(stored: StoredSignatures): Record<string, unknown> {
  if (stored.source === "lookaside") return { source: "lookaside", lookaside: stored.lookaside!.base, scope: stored.lookaside!.scope };
  return { source: stored.source };
}

/** containers/image's words; codes and facts added for machines. */
function reasonsFor(
  judgement: Judgement,
  stored: StoredSignatures,
  digest: string,
  image: string,
  where: Record<string, unknown>,
  base: Record<string, string>,
): Pick<RequirementOutcome, "satisfied" | "reasons"> {
  const rejections = judgement.rejected.map((r) => ({
    signature: stored.signatures[r.index - 1]!.url,
    code: r.error.code,
    reason: r.error.message,
  }));
  if (judgement.satisfied) {
    const s = judgement.signature;
    return {
      satisfied: true,
      reasons: [
        {
          code: "SIMPLE_SIGNED",
          message: `${digest} is signed for ${s.dockerReference} by key ${s.keyIdentity}${s.signingKey !== s.keyIdentity ? ` (subkey ${s.signingKey})` : ""}`,
          image,
          key: s.keyIdentity,
          signingKey: s.signingKey,
          signedIdentity: s.dockerReference,
          signature: stored.signatures[judgement.index - 1]!.url,
          ...(rejections.length ? { rejected: rejections } : {}),
          ...where,
          ...base,
        },
      ],
    };
  }
  if (judgement.missing) {
    return {
      satisfied: false,
      reasons: [{ code: "SIMPLE_SIGNATURE_MISSING", message: NO_SIGNATURE, image, ...(stored.skipped ? { skipped: stored.skipped } : {}), ...where, ...base }],
    };
  }
  return {
    satisfied: false,
    reasons: [{ code: "SIMPLE_SIGNATURES_REJECTED", message: judgement.message, image, rejected: rejections, ...where, ...base }],
  };
}
