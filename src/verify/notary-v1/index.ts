// Public surface of the Notary v1 (Docker Content Trust) verifier.

export { encodeCanonical, encodeCanonicalString, CanonicalJsonError } from "../shared/canonical-json";
export { NotaryV1Error, type NotaryV1ErrorCode } from "./errors";
export {
  canonicalKeyId,
  certificateProblem,
  importPinnedKey,
  isSelfSigned,
  keyId,
  keyMaterial,
  parseTufKey,
  spkiOf,
  type KeyMaterial,
  type PinnedKey,
  type TufKey,
} from "./keys";
export {
  isDelegationName,
  parentRole,
  parseEnvelope,
  parseExpires,
  parseRoot,
  parseSnapshot,
  parseTargets,
  parseTimestamp,
  type DelegatedRole,
  type FileMeta,
  type RootMetadata,
  type SignedEnvelope,
  type SnapshotMetadata,
  type TargetsMetadata,
  type TimestampMetadata,
} from "./roles";
export { checkSignature, verifyRole, verifySignature, type RoleVerification, type SignatureMethod } from "./signatures";
export { MAX_ROOT_SIZE, MAX_TIMESTAMP_SIZE, TrustedSet, matchCnToGun, type EffectiveDelegation, type TrustAnchor, type TrustedSetOptions, type TrustedVersions } from "./trusted-set";
export { RELEASE_ROLES, pathAllowed, releasedTarget, roleSignsTarget, targetDigest, targetsByDigest, type TargetMatch } from "./targets-lookup";
