// Red Hat simple signing (containers-signature(5)), pure: bytes, keys and the image in; a verdict out.
export { goQuote, SimpleSigningError, type SimpleSigningErrorCode } from "./errors";
export { imageNamed, matchesDockerReference, parseNamed, type NamedReference } from "../shared/identity";
export { judgeSignatures, NO_SIGNATURE, summarize, type Judgement, type Rejection } from "./judge";
export { importTrustedKeys, type TrustedKeys } from "./keys";
export { verifySignedMessage, type VerifiedMessage } from "./message";
export { parseSignaturePayload, SIGNATURE_TYPE, validateDigest, type UntrustedSignature } from "./payload";
export {
  DEFAULT_SIGNED_IDENTITY,
  verifySimpleSignature,
  type AcceptedSignature,
  type SignatureExpectations,
  type SignatureVerdict,
} from "./verify";
