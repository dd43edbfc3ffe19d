// cosign signature verification, pure: keys, legacy `.sig` signatures, v0.3 bundles, identity and the judgement.
export { SIMPLE_SIGNING_MEDIA_TYPE, COSIGN_SIGNATURE_TYPE, parseSimpleSigningPayload, claimProblem, type SimpleSigningPayload, type Parsed } from "./payload";
export { importCosignKey, type CosignPublicKey, type CosignKeyAlgorithm } from "./keys";
export { CosignError, CosignKeyError, type CosignErrorCode, type CosignUnreadableCode } from "./errors";
export { verifySignature, type SignatureCheck, type SignatureScheme } from "./signature";
export { ecdsaDerToRaw } from "./ecdsa-der";
export { identityProblem } from "./identity";
export type { CheckedSignature, KeyResult } from "./checked";
export { unreadable } from "./checked";
export {
  SIGNATURE_ANNOTATION,
  signatureTag,
  parseSignatureManifest,
  parseDescriptor,
  checkLegacySignature,
  payloadMismatch,
  type Descriptor,
  type SignatureLayer,
  type SignatureLayers,
  type LegacyCheck,
} from "./legacy";
export {
  BUNDLE_V03_MEDIA_TYPE,
  BUNDLE_MEDIA_TYPES,
  IN_TOTO_PAYLOAD_TYPE,
  IN_TOTO_STATEMENT_V1,
  COSIGN_SIGN_PREDICATE_TYPE,
  parseBundle,
  parseReferrerManifest,
  parseStatement,
  pae,
  checkBundle,
  statementClaimProblem,
  type SigstoreBundle,
  type ReferrerManifest,
  type Statement,
  type BundleCheck,
} from "./bundle";
export { MAX_BUNDLE_BYTES, MAX_PAYLOAD_BYTES, MAX_BUNDLES, MAX_SIGNATURE_LAYERS, MAX_SIGNATURES_PER_BUNDLE, MAX_VERIFICATIONS, MAX_PREHASH_FALLBACKS } from "./limits";
export { VerificationBudget, checkWithin, yieldToEventLoop } from "./budget";
export { judgeSignatures, thresholdMessage, requiredMessage, type Judgement, type SignerPolicy } from "./judge";
export { checkKeylessSignature, failed as keylessFailed, identityMatches, type KeylessSigner, type KeylessSignatureCheck } from "./keyless-check";
export { legacyEvidence, bundleEvidence, readKeylessBundle, isKeylessLayer, BUNDLE_VERSIONS, type KeylessBundle, type BundleVersion } from "./keyless/evidence";
