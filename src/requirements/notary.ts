// The `notary` requirement kind: an image is allowed when Notary v1 trust data, rooted in a key the
// policy trusts, signs the digest the registry serves, and every required signer signed it too.
import { HttpClient, UpstreamError } from "../adapters/http-client";
import { notaryRoleFetcher, trustServerBaseUrl } from "../adapters/notary-fetcher";
import type { EvaluationContext, PrepareContext, RequirementKind, RequirementOutcome, VerifierDeps } from "../policy/requirement-kinds";
import { urlUpstream } from "../policy/upstreams";
import { writeBehind } from "../ports";
import type { Reason, ReasonCode } from "../reasons";
import { base64Encode } from "../verify/shared/encoding";
import { NotaryV1Error, type NotaryV1ErrorCode } from "../verify/notary-v1/errors";
import { importPinnedKey } from "../verify/notary-v1/keys";
import { NoTrustDataError, TrustStateUnreadableError, type TrustSummary } from "../verify/notary-v1/trust-data";
import { notaryRequirement, reviewNotary, signerRole, type NotaryRequirement } from "./notary-schema";
import { summaryFor, trustSummaries } from "./notary-stored";
import { verifyTrustData } from "./notary-trust";
import { notaryTrustKeys, rememberNotaryTrust } from "./notary-refresh";


const httpClients = new WeakMap<VerifierDeps, HttpClient>();

function httpFor(deps: VerifierDeps): HttpClient {
  let http = httpClients.get(deps);
  if (!http) {
    http = new HttpClient({
      fetch: deps.fetch,
      timeoutMs: deps.settings.upstreamTimeoutMs,
      counter: deps.counter,
      codes: {
        unreachable: "NOTARY_TRUST_SERVER_UNREACHABLE",
        auth: "NOTARY_TRUST_SERVER_AUTH_FAILED",
        badResponse: "NOTARY_TRUST_SERVER_UNREACHABLE",
      },
    });
    httpClients.set(deps, http);
  }
  return http;
}

const VERIFY_CODES: Record<NotaryV1ErrorCode, ReasonCode> = {
  MALFORMED: "NOTARY_MALFORMED",
  WRONG_TYPE: "NOTARY_MALFORMED",
  ROOT_NOT_TRUSTED: "NOTARY_ROOT_NOT_TRUSTED",
  BAD_SIGNATURE: "NOTARY_BAD_SIGNATURE",
  THRESHOLD_NOT_MET: "NOTARY_THRESHOLD_NOT_MET",
  KEY_ID_MISMATCH: "NOTARY_BAD_SIGNATURE",
  EXPIRED: "NOTARY_EXPIRED",
  ROLLBACK: "NOTARY_ROLLBACK",
  HASH_MISMATCH: "NOTARY_HASH_MISMATCH",
  LENGTH_EXCEEDED: "NOTARY_HASH_MISMATCH",
  MISSING_META: "NOTARY_MALFORMED",
  DELEGATION_NOT_FOUND: "NOTARY_DELEGATION_NOT_FOUND",
  OUT_OF_ORDER: "NOTARY_MALFORMED",
  UNSUPPORTED_KEY: "NOTARY_ROOT_NOT_TRUSTED",
};

export const notaryKind: RequirementKind<NotaryRequirement> = {
  type: "notary",
  schema: notaryRequirement,
  digest: "required",
  review: reviewNotary,
  upstreams(req) {
    const server = urlUpstream(trustServerBaseUrl(req.server));
    return server ? [server] : [];
  },
  // Trust data does not depend on the digest: decide() starts it while the tag is resolved.
  prepare(req, ctx) {
    return loadTrust(req, ctx);
  },
  async evaluate(req, ctx) {
    const loaded = ctx.prepared instanceof Promise ? ((await ctx.prepared) as LoadedTrust) : await loadTrust(req, ctx);
    if ("failure" in loaded) return loaded.failure;
    const { summary, notes, cacheable, base, now } = loaded;
    const recheck = ctx.deps.settings.trustRecheckSeconds;
    const outcome = await judge(summary, req, ctx, base);
    const remaining = Math.floor((summary.expiresAt - now.getTime()) / 1000);
    return {
      ...outcome,
      reasons: [...outcome.reasons, ...notes],
      cacheable,
      ttlSeconds: Math.max(0, Math.min(recheck, remaining)),
    };
  },
};

type LoadedTrust =
  | {
      readonly summary: TrustSummary;
      readonly notes: readonly Reason[];
      readonly cacheable: boolean;
      readonly base: Record<string, string>;
      readonly now: Date;
    }
  | { readonly failure: RequirementOutcome };

/**
 * The repository's verified trust data: a fresh summary from the trust cache, else fetched and
 * verified (stale-if-error when the server is away), else the deny that says why. Never needs the
 * digest: only judge() does.
 */
async function loadTrust(req: NotaryRequirement, ctx: PrepareContext): Promise<LoadedTrust> {
  const { deps, reference } = ctx;
  const gun = reference.name;
  const server = trustServerBaseUrl(req.server);
  const now = deps.clock.now();
  const recheck = deps.settings.trustRecheckSeconds;
  const base = { rule: ctx.rule, requirement: "notary", server, gun };
  const recent = { server, gun, rootKeys: req.rootKeys ?? null };
  const { summaryKey, stateKey } = await notaryTrustKeys(recent);

  // Both reads at once: the state is needed whenever the summary is not fresh.
  const [stored, stateText] = await Promise.all([trustSummaries.get(deps.trustCache, summaryKey), deps.trustCache.get(stateKey)]);
  // Entries that do not read are misses, never verdicts (see notary-stored.ts for the state's parts).
  let summary = summaryFor(stored, gun);
  const notes: Reason[] = [];
  let cacheable = true;
  const fresh = summary && now.getTime() < summary.expiresAt && now.getTime() - summary.checkedAt < recheck * 1000;
  if (!fresh) {
    try {
      const credentials = req.auth ?? deps.settings.credentials[new URL(server).host];
      // Role files asked for ahead of need are abandoned with the load (a failed root leaves three
      // requests and their retries running): none outlives the decision.
      const done = new AbortController();
      // A load started ahead of the digest stops with a decision that ended without it.
      const stop = () => done.abort();
      if (ctx.signal?.aborted) done.abort();
      else ctx.signal?.addEventListener("abort", stop);
      const verified = await verifyTrustData({
        gun,
        rootKeys: req.rootKeys,
        summaryKey,
        stateKey,
        stateText,
        summary,
        fetcher: notaryRoleFetcher(httpFor(deps), server, gun, credentials, done.signal),
        now,
        cache: deps.trustCache,
        // Read by judge(): asked for with root, timestamp, snapshot and targets, not after them.
        expectedDelegations: ["targets/releases", ...(req.signers ?? []).map((s) => signerRole(s.name))],
        onVerify: (role) => deps.counter.count("verify", `notary ${gun} ${role}`),
      }).finally(() => {
        ctx.signal?.removeEventListener("abort", stop);
        done.abort();
      });
      summary = verified.summary;
      // The verdict rests on what was just verified, not on these writes: they need not delay it.
      const writes = Promise.all([
        verified.writes,
        // Listed for the cron's refresh (notary-refresh.ts).
        rememberNotaryTrust(deps.trustCache, recent, now),
      ]);
      await writeBehind(writes, ctx.background, "notary trust cache write");
    } catch (err) {
      const transient = err instanceof UpstreamError && err.transient;
      if (transient && summary && now.getTime() < summary.expiresAt) {
        // stale-if-error: unexpired trust data still decides while the server is away.
        cacheable = false;
        notes.push({
          code: "NOTARY_STALE_TRUST_DATA",
          message: `trust server ${server} is unreachable (${(err as Error).message}); decided on trust data verified at ${new Date(summary.checkedAt).toISOString()}, valid until ${new Date(summary.expiresAt).toISOString()}`,
          ...base,
        });
      } else {
        return { failure: failure(err, base, recheck) };
      }
    }
  }
  return { summary: summary!, notes, cacheable, base, now };
}

/** Trust data could not be had or did not verify: a deny, with the code of what failed. */
function failure(err: unknown, base: Record<string, string>, recheck: number): RequirementOutcome {
  if (err instanceof UpstreamError) {
    return {
      satisfied: false,
      cacheable: !err.transient,
      ttlSeconds: recheck,
      reasons: [{ code: err.code, message: `failed to get content trust information: ${err.message}`, ...base }],
    };
  }
  if (err instanceof NoTrustDataError) {
    return {
      satisfied: false,
      cacheable: true,
      ttlSeconds: recheck,
      reasons: [{ code: "NOTARY_NO_TRUST_DATA", message: `failed to get content trust information: ${err.message}`, ...base }],
    };
  }
  if (err instanceof TrustStateUnreadableError) {
    // Not remembered: once the entry is deleted, the next decision trusts on first use.
    return {
      satisfied: false,
      cacheable: false,
      ttlSeconds: 0,
      reasons: [{ code: "NOTARY_TRUST_STATE_UNREADABLE", message: `failed to get content trust information: ${err.message}`, ...base }],
    };
  }
  if (err instanceof NotaryV1Error) {
    return {
      satisfied: false,
      cacheable: true,
      ttlSeconds: recheck,
      reasons: [
        {
          code: VERIFY_CODES[err.code],
          message: `failed to get content trust information: ${err.message}`,
          ...(err.role ? { role: err.role } : {}),
          ...base,
        },
      ],
    };
  }
  throw err;
}

/** Docker's rule for which digest a tag means, then the required signers. */
async function judge(
  summary: TrustSummary,
  req: NotaryRequirement,
  ctx: EvaluationContext,
  base: Record<string, string>,
): Promise<Omit<RequirementOutcome, "cacheable">> {
  const digest = ctx.digest!;
  const hex = digest.slice("sha256:".length);
  const tag = ctx.reference.digest ? undefined : ctx.reference.tag;
  const deny = (code: ReasonCode, message: string, extra: Record<string, unknown> = {}) => ({
    satisfied: false,
    reasons: [{ code, message, ...extra, ...base }],
  });

  const releaseRoles = ["targets/releases", "targets"].filter((r) => summary.roles[r]);
  let signedBy: string | undefined;
  if (tag !== undefined) {
    // Signer-only roles (targets/alice) do not release an image; releases first, then targets.
    const role = releaseRoles.find((r) => summary.roles[r]!.targets[tag] !== undefined);
    if (!role) return deny("NOTARY_NO_TRUST_DATA", `failed to get content trust information: No valid trust data for ${tag}`, { tag });
    const signed = summary.roles[role]!.targets[tag]!;
    if (signed !== hex) {
      return deny(
        "NOTARY_DIGEST_MISMATCH",
        `the registry serves sha256:${hex} for ${ctx.reference.name}:${tag}, but the trust data signs sha256:${signed} (${role}); the tag was moved after signing`,
        { tag, signed: `sha256:${signed}` },
      );
    }
    signedBy = role;
  } else {
    signedBy = releaseRoles.find((r) => Object.values(summary.roles[r]!.targets).includes(hex));
    if (!signedBy) return deny("NOTARY_NO_TRUST_DATA", `No signed targets found for ${digest} in ${summary.gun}`);
  }

  const signers = req.signers ?? [];
  const missing: Reason[] = [];
  // One role is one signer, however many entries name it ("bob", "targets/bob"): it counts once,
  // and only when every entry naming it holds (each may pin its own keys).
  const held = new Map<string, boolean>();
  for (const signer of signers) {
    const role = signerRole(signer.name);
    const name = role.slice("targets/".length);
    const data = summary.roles[role];
    const holds = data && (tag !== undefined ? data.targets[tag] === hex : Object.values(data.targets).includes(hex));
    const keyOk = !signer.keys || (data !== undefined && (await keysListed(signer.keys, data.keys)));
    held.set(role, (held.get(role) ?? true) && Boolean(holds && keyOk));
    const why = !data
      ? `${role} is not a delegation of ${summary.gun}`
      : !keyOk
        ? `${role} does not list the signer's key`
        : `${role} has not signed ${tag ?? digest}`;
    // One reason per role and cause, however many entries name the role.
    if (!(holds && keyOk) && !missing.some((m) => m.signer === name && m.why === why)) {
      missing.push({
        code: "NOTARY_SIGNER_MISSING",
        // Portieris's words, which its users know.
        message: `no signature found for role ${name}`,
        signer: name,
        why,
        ...base,
      });
    }
  }
  const satisfied = [...held.values()].filter(Boolean).length;
  const threshold = req.signerThreshold ?? held.size;
  if (satisfied < threshold) return { satisfied: false, reasons: missing };
  return {
    satisfied: true,
    reasons: [
      {
        code: "NOTARY_SIGNED",
        message: `${digest} is signed for ${tag ?? "its digest"} in ${signedBy} of ${summary.gun}${signers.length ? `, by ${satisfied} of ${held.size} required signers` : ""}`,
        ...base,
      },
    ],
  };
}

async function keysListed(pems: readonly string[], roleKeys: readonly string[]): Promise<boolean> {
  for (const pem of pems) {
    try {
      if (roleKeys.includes(base64Encode((await importPinnedKey(pem)).spki))) return true;
    } catch (err) {
      if (!(err instanceof NotaryV1Error)) throw err;
    }
  }
  return false;
}
