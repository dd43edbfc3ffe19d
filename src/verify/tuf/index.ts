// The TUF 1.0 client, pure: bytes from a repository in, a verified target and the state to keep out.
export { TufError, type TufErrorCode } from "./errors";
export { TUF_LIMITS } from "./limits";
export { parseMetadata, type Envelope, type Root, type Timestamp, type Snapshot, type Targets } from "./metadata";
export { countValid, requireThreshold } from "./signatures";
export { TrustedSet, checkTargetBytes } from "./trusted-set";
export { updateTuf, type TufFetcher, type TufFiles, type TufUpdate, type UpdateOptions } from "./updater";
