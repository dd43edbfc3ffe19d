// The limits live in one object: the numbers are the ones the constants had, nothing can change them
// at run time, and the names modules and tests use read that object.
import { describe, expect, it } from "vitest";
import { DEFAULT_LIMITS } from "../../src/limits";
import { MAX_BUNDLES, MAX_VERIFICATIONS } from "../../src/verify/cosign";
import { MAX_ROOT_SIZE, MAX_TIMESTAMP_SIZE } from "../../src/verify/notary-v1";
import { MAX_DECOMPRESSED_BYTES } from "../../src/verify/simple-signing/compressed";
import { MAX_SIGNATURES, MAX_SIGNATURE_BYTES } from "../../src/adapters/signature-store";
import { MAX_ADMISSION_IMAGES } from "../../src/admission/plan";
import { MAX_EVENTS, MAX_IMAGES } from "../../src/hooks/common";
import { DEFAULT_DECISION_BUDGET_MS } from "../../src/decide";
import { MAX_REFERENCE_LENGTH } from "../../src/reference";
import { MAX_BODY_BYTES } from "../../worker/body";
import { HttpClient } from "../../src/adapters/http-client";

describe("DEFAULT_LIMITS", () => {
  it("keeps the numbers the constants had", () => {
    expect(DEFAULT_LIMITS).toEqual({
      cosign: { signatureLayers: 10, bundles: 10, bundleBytes: 65_536, payloadBytes: 65_536, signaturesPerBundle: 2, verifications: 32, prehashFallbacks: 6, keylessCertificates: 10, tlogEntries: 4, rfc3161Timestamps: 4, inclusionProofHashes: 64 },
      notary: { timestampBytes: 1 << 20, rootBytes: 100 << 20, roleBytes: 16 << 20, delegations: 64, rootWalk: 16, signaturesPerKey: 2 },
      simpleSigning: { signatures: 16, signatureBytes: 65_536, extensionListBytes: 2 << 20, decompressedBytes: 1 << 20 },
      registry: { manifestBytes: 4 << 20, artifactManifestBytes: 256 << 10, artifactBlobBytes: 1 << 20 },
      http: { timeoutMs: 3000, retries: 2, baseDelayMs: 100, maxDelayMs: 1000, retryAfterCapMs: 2000, redirects: 3, tokenBodyBytes: 65_536 },
      decision: { budgetMs: 10_000, requirements: 64 },
      api: { bodyBytes: 1 << 20, imagesPerRequest: 256, hookEvents: 10_000, hookIssues: 20, hookWaitMs: 10_000, drainBytes: 64 << 20, referenceLength: 1024, patternLength: 1024 },
      memory: { memoEntries: 1024, tokenEntries: 1024, compiledPolicies: 256, notaryKeys: 512, cosignKeys: 256, namedGuards: 64 },
      tuf: { rootBytes: 512 << 10, timestampBytes: 16 << 10, snapshotBytes: 2 << 20, targetsBytes: 4 << 20, targetBytes: 2 << 20, rootRotations: 32, keys: 256, signatures: 256 },
    });
  });

  it("is frozen, group by group", () => {
    expect(Object.isFrozen(DEFAULT_LIMITS)).toBe(true);
    for (const group of Object.values(DEFAULT_LIMITS)) expect(Object.isFrozen(group)).toBe(true);
    expect(() => {
      (DEFAULT_LIMITS.cosign as { bundles: number }).bundles = 1000;
    }).toThrow(TypeError);
    expect(DEFAULT_LIMITS.cosign.bundles).toBe(10);
  });

  it("is what the constants and the clients' defaults read", () => {
    expect(MAX_BUNDLES).toBe(DEFAULT_LIMITS.cosign.bundles);
    expect(MAX_VERIFICATIONS).toBe(DEFAULT_LIMITS.cosign.verifications);
    expect(MAX_ROOT_SIZE).toBe(DEFAULT_LIMITS.notary.rootBytes);
    expect(MAX_TIMESTAMP_SIZE).toBe(DEFAULT_LIMITS.notary.timestampBytes);
    expect(MAX_DECOMPRESSED_BYTES).toBe(DEFAULT_LIMITS.simpleSigning.decompressedBytes);
    expect(MAX_SIGNATURES).toBe(DEFAULT_LIMITS.simpleSigning.signatures);
    expect(MAX_SIGNATURE_BYTES).toBe(DEFAULT_LIMITS.simpleSigning.signatureBytes);
    expect(MAX_ADMISSION_IMAGES).toBe(DEFAULT_LIMITS.api.imagesPerRequest);
    expect(MAX_IMAGES).toBe(DEFAULT_LIMITS.api.imagesPerRequest);
    expect(MAX_EVENTS).toBe(DEFAULT_LIMITS.api.hookEvents);
    expect(DEFAULT_DECISION_BUDGET_MS).toBe(DEFAULT_LIMITS.decision.budgetMs);
    expect(MAX_REFERENCE_LENGTH).toBe(DEFAULT_LIMITS.api.referenceLength);
    expect(MAX_BODY_BYTES).toBe(DEFAULT_LIMITS.api.bodyBytes);
    const fetch = () => Promise.reject(new Error("unused"));
    expect(new HttpClient({ fetch }).timeoutMs).toBe(DEFAULT_LIMITS.http.timeoutMs);
    expect(new HttpClient({ fetch, timeoutMs: 250 }).timeoutMs).toBe(250);
  });
});
