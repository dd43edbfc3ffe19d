// Every bound trustgate puts on sizes, counts and time, in one typed object with its defaults. A
// component made from options (HttpClient, RegistryClient, SignatureStore, OciArtifactClient) reads
// its defaults from here once, in its constructor, and keeps its per-instance overrides; the other
// modules read DEFAULT_LIMITS where they once had a constant. Nothing here is configurable at run
// time: a number changes in this file, with its reason.
//
// Left where they are: distribution's own name limits (`src/reference.ts`), parser depths, the
// policy documents' rule and requirement counts (their schemas), the Notary refresh's per-run
// bounds (`notary-refresh.ts`, beside its cron setting), the verdict log's batching and the policy
// memo (`worker/stores/`), and the admission body cap (`shim/limits.mjs`, 6 MiB), which the shim
// shares with `/v1/admission` and `src/` cannot import.

export interface Limits {
  /** What one cosign requirement reads: anyone can run a registry, and cosign bounds nothing per image. */
  readonly cosign: {
    /** Layers of the legacy `sha256-<hex>.sig` manifest checked; cosign appends one per `cosign sign`. */
    readonly signatureLayers: number;
    /**
     * Referrers (v3 bundles) fetched and checked. Each costs a manifest and a blob fetch, and under
     * the bench's hostile phase the subrequests, more than the checks, kept other requests waiting.
     */
    readonly bundles: number;
    /**
     * Bytes of one bundle blob: a key-based bundle is a few KiB (with its Rekor entry and inclusion
     * proof under 16 KiB); parsing one of a megabyte, twenty times a decision, stalls the isolate.
     */
    readonly bundleBytes: number;
    /** Bytes of one legacy payload blob: cosign's simple-signing payload is a few hundred bytes. */
    readonly payloadBytes: number;
    /** DSSE signatures checked per bundle: cosign writes exactly one. */
    readonly signaturesPerBundle: number;
    /**
     * Signature checks (one signature against one key) per requirement and decision. A check costs
     * 0.1 ms with Web Crypto and up to 2.5 ms where noble verifies (Ed25519ph, keys Web Crypto
     * refuses), so this keeps a hostile registry's share of one decision under ~0.1 s of CPU, while
     * leaving room for a few keys over a few signatures each (a key is tried once per signature).
     */
    readonly verifications: number;
    /**
     * Checks of those that may go on to Ed25519ph in JS (noble, ~2 ms each, one synchronous block)
     * when Web Crypto's Ed25519 refuses the signature: cosign signs with one of the two, so a real
     * signature needs at most one fallback; a registry serving bogus Ed25519 signatures would
     * otherwise spend the whole check budget in JS while the isolate's other requests wait.
     */
    readonly prehashFallbacks: number;
    /** Certificates one keyless signature carries (leaf, intermediates, root): Fulcio's chains are 2–3 long. */
    readonly keylessCertificates: number;
    /** Transparency-log entries read per keyless signature: cosign writes one; each may cost a check. */
    readonly tlogEntries: number;
    /** RFC 3161 timestamps read per keyless signature: one per TSA the signer asked. */
    readonly rfc3161Timestamps: number;
    /** Hashes in one Merkle inclusion proof: a tree of 2^64 leaves needs 64. */
    readonly inclusionProofHashes: number;
  };
  /** What one Notary v1 verification may fetch and check (a trust server may be hostile). */
  readonly notary: {
    /** notary.MaxTimestampSize: the timestamp is fetched without a known length. */
    readonly timestampBytes: number;
    /** notary.MaxDownloadSize, for roots (fetched before anything lists their length). */
    readonly rootBytes: number;
    /** Snapshot, targets and delegations: their length comes from the snapshot, capped here. */
    readonly roleBytes: number;
    /** Delegations one targets role may list, and the most fetched ahead of it. */
    readonly delegations: number;
    /** Root versions walked in one rotation (`<v>.root.json`), fetched at once. */
    readonly rootWalk: number;
    /**
     * Signatures checked per key ID in one role file. The signatures array is not itself signed: a
     * trust server (which holds the timestamp and snapshot keys anyway) could repeat a role key's ID
     * thousands of times, each one a signature check. notary itself writes one per key.
     */
    readonly signaturesPerKey: number;
  };
  /** Simple signatures: what a store may hand us, and what one may unpack to. */
  readonly simpleSigning: {
    /** Signatures read per image (containers/image allows 128 lookaside signatures of 4 MiB). */
    readonly signatures: number;
    /** Bytes of one signature; a real one is well under 1 KiB. */
    readonly signatureBytes: number;
    /** Bytes of the registry extension's signature list (JSON, base64 signatures). */
    readonly extensionListBytes: number;
    /** Far above any simple signature (a few hundred bytes of JSON); a compression bomb stops here. */
    readonly decompressedBytes: number;
  };
  /** What a registry may serve us. */
  readonly registry: {
    /** Manifests read for their digest (an image index of many platforms stays far below). */
    readonly manifestBytes: number;
    /**
     * Signature manifests and referrer lists (OCI artifacts): a few KiB each. 256 KiB holds ~40
     * keyless `.sig` layers (cert, chain and Rekor bundle annotations: ~6 KiB each) or ~500
     * referrers; a larger listing is refused, not parsed: one JSON.parse of a megabyte holds the
     * isolate's event loop for milliseconds, per hostile decision (bench/README.md, hostile phase).
     */
    readonly artifactManifestBytes: number;
    /** Artifact blobs; callers ask for less (`cosign.bundleBytes`, `cosign.payloadBytes`). */
    readonly artifactBlobBytes: number;
  };
  /** Every upstream request: registries, token realms, trust servers, lookasides. */
  readonly http: {
    /** One request's budget, retries included; `UPSTREAM_TIMEOUT_MS` overrides it per deployment. */
    readonly timeoutMs: number;
    /** Retries of an idempotent request after the first attempt (network errors, 429, 502–504). */
    readonly retries: number;
    /** Backoff before retry n is random() * min(maxDelayMs, baseDelayMs * 2^n): full jitter. */
    readonly baseDelayMs: number;
    readonly maxDelayMs: number;
    /** A Retry-After longer than this is not waited for: the answer is returned as it is. */
    readonly retryAfterCapMs: number;
    /** Redirect hops the egress guard follows for one request, each checked like the first. */
    readonly redirects: number;
    /** Bytes of a token service's answer: a JWT and its lifetime. */
    readonly tokenBodyBytes: number;
  };
  /** One decision, end to end. */
  readonly decision: {
    /**
     * The most one decision may take (digest, cache, every requirement), in ms; past it the decision
     * is a deny saying what was still outstanding. Under the admission webhook's 10 s default.
     */
    readonly budgetMs: number;
    /**
     * Requirements one decision evaluates across every rule it takes (policies whose every matching
     * rule must pass: Kyverno, policy-controller). Each may verify signatures; a policy that piles
     * hundreds of rules onto one image is refused at decision time, never half-checked.
     */
    readonly requirements: number;
  };
  /** What a caller may send. */
  readonly api: {
    /** Request bodies (`worker/body.ts`); admission reviews have their own cap in `shim/limits.mjs`. */
    readonly bodyBytes: number;
    /** Distinct images one request may ask about: a batch, an admission review, a hook payload. */
    readonly imagesPerRequest: number;
    /** Events in one registry notification envelope. */
    readonly hookEvents: number;
    /** Problems reported per hook payload; a body of 100,000 bad events gets 20 lines, not 100,000. */
    readonly hookIssues: number;
    /** The longest `wait` a hook caller may ask for before it is answered 202, in ms. */
    readonly hookWaitMs: number;
    /**
     * Bytes of an over-cap body without a length still read (and dropped) before it is cancelled: a
     * body left half-read breaks its connection (under `wrangler dev` the 413 never arrives and the
     * next request hangs). Reading costs only what the caller chose to send; past this, cancelled.
     */
    readonly drainBytes: number;
    /** Characters of an image reference, checked before any other work. */
    readonly referenceLength: number;
    /** Characters of a rule pattern; a real pattern is far shorter than a reference may be. */
    readonly patternLength: number;
  };
  /** What one isolate keeps in memory; each map drops its oldest entry past its bound. */
  readonly memory: {
    /** Tag answers, and verdicts, remembered in front of KV (`memo-cache.ts`), each. */
    readonly memoEntries: number;
    /** Bearer tokens, and the token services hosts challenged with, each. */
    readonly tokenEntries: number;
    /** Compiled policy matchers, one per revision. */
    readonly compiledPolicies: number;
    /** Imported Notary keys, per (key ID, algorithm). */
    readonly notaryKeys: number;
    /** Imported cosign keys, per SPKI. */
    readonly cosignKeys: number;
    /** Egress guards per set of host names a rule names (policies name few hosts). */
    readonly namedGuards: number;
  };
  /** What one TUF update (Sigstore's trust root) reads: its files are a few KiB each. */
  readonly tuf: {
    /** A root.json (Sigstore's: 5.6 KiB with five keys). */
    readonly rootBytes: number;
    /** timestamp.json, whose length no other file states (python-tuf's default is 16 KiB too). */
    readonly timestampBytes: number;
    /** snapshot.json and targets.json when the file naming them gives no length. */
    readonly snapshotBytes: number;
    readonly targetsBytes: number;
    /** A target file (trusted_root.json is 7 KiB), whatever length targets.json lists. */
    readonly targetBytes: number;
    /** Root versions one update walks (N+1, N+2, ...): Sigstore published 15 in five years. */
    readonly rootRotations: number;
    /** Keys in a root, and signatures in one file. */
    readonly keys: number;
    readonly signatures: number;
  };
}

const KiB = 1024;
const MiB = 1024 * 1024;

export const DEFAULT_LIMITS: Limits = Object.freeze({
  cosign: Object.freeze({
    signatureLayers: 10,
    bundles: 10,
    bundleBytes: 64 * KiB,
    payloadBytes: 64 * KiB,
    signaturesPerBundle: 2,
    verifications: 32,
    prehashFallbacks: 6,
    keylessCertificates: 10,
    tlogEntries: 4,
    rfc3161Timestamps: 4,
    inclusionProofHashes: 64,
  }),
  notary: Object.freeze({
    timestampBytes: 1 * MiB,
    rootBytes: 100 * MiB,
    roleBytes: 16 * MiB,
    delegations: 64,
    rootWalk: 16,
    signaturesPerKey: 2,
  }),
  simpleSigning: Object.freeze({
    signatures: 16,
    signatureBytes: 64 * KiB,
    extensionListBytes: 2 * MiB,
    decompressedBytes: 1 * MiB,
  }),
  registry: Object.freeze({
    manifestBytes: 4 * MiB,
    artifactManifestBytes: 256 * KiB,
    artifactBlobBytes: 1 * MiB,
  }),
  http: Object.freeze({
    timeoutMs: 3000,
    retries: 2,
    baseDelayMs: 100,
    maxDelayMs: 1000,
    retryAfterCapMs: 2000,
    redirects: 3,
    tokenBodyBytes: 64 * KiB,
  }),
  decision: Object.freeze({
    budgetMs: 10_000,
    requirements: 64,
  }),
  api: Object.freeze({
    bodyBytes: 1 * MiB,
    imagesPerRequest: 256,
    hookEvents: 10_000,
    hookIssues: 20,
    hookWaitMs: 10_000,
    drainBytes: 64 * MiB,
    referenceLength: 1024,
    patternLength: 1024,
  }),
  memory: Object.freeze({
    memoEntries: 1024,
    tokenEntries: 1024,
    compiledPolicies: 256,
    notaryKeys: 512,
    cosignKeys: 256,
    namedGuards: 64,
  }),
  tuf: Object.freeze({
    rootBytes: 512 * KiB,
    timestampBytes: 16 * KiB,
    snapshotBytes: 2 * MiB,
    targetsBytes: 4 * MiB,
    targetBytes: 2 * MiB,
    rootRotations: 32,
    keys: 256,
    signatures: 256,
  }),
});
