// Keyless cosign (Fulcio certificates, Rekor entries, the Sigstore trust root), pure.
export * from "./types";
export { parseTrustedRoot, type TrustedRoot, type TrustedLogKey, type TrustedCertificateAuthority } from "./trusted-root";
export { verifyKeyless, describeMatcher, compileIdentityRegExp } from "./verify";
