// The Sigstore trust root (`trusted_root.json`, protobuf-specs TrustedRoot, read with protojson's
// rules): Fulcio CAs, Rekor logs, CT logs and timestamp authorities, each with its validity window.
import type { Parsed } from "../payload";

export interface TrustedLogKey {
  /** sha256 of the DER SubjectPublicKeyInfo (the trust root's logId.keyId). */
  readonly logId: Uint8Array;
  /** DER SubjectPublicKeyInfo. */
  readonly spki: Uint8Array;
  readonly validFrom?: Date;
  readonly validTo?: Date;
  readonly baseUrl?: string;
}

export interface TrustedCertificateAuthority {
  /** DER certificates, leaf-most (the issuing intermediate) first, the root last. */
  readonly chain: readonly Uint8Array[];
  readonly validFrom?: Date;
  readonly validTo?: Date;
  readonly uri?: string;
}

export interface TrustedRoot {
  readonly certificateAuthorities: readonly TrustedCertificateAuthority[];
  readonly tlogs: readonly TrustedLogKey[];
  readonly ctlogs: readonly TrustedLogKey[];
  readonly timestampAuthorities: readonly TrustedCertificateAuthority[];
}

/** CONTRACT STUB (issue 15): replaced by the real parser. */
export function parseTrustedRoot(_bytes: Uint8Array): Parsed<TrustedRoot> {
  return { ok: false, why: "trusted_root.json parsing is not implemented yet" };
}
