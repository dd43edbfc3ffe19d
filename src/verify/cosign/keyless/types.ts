// Keyless (Fulcio + Rekor) cosign: the contract between the evidence readers (legacy `.sig`
// layers, Sigstore bundles v0.1–v0.3), the verifier (verify.ts) and the requirement.
//
// Field names follow the Sigstore protobuf specs (TransparencyLogEntry, InclusionProof) and
// cosign's legacy layer annotations, decoded: bytes, not base64.

/** One transparency-log entry as a bundle or a legacy `dev.sigstore.cosign/bundle` annotation carries it. */
export interface TlogEntry {
  readonly logIndex: number;
  /** The log's ID: sha256 of its public key's DER SubjectPublicKeyInfo. */
  readonly logId: Uint8Array;
  /** Seconds since the epoch, as the log recorded it. */
  readonly integratedTime: number;
  /** e.g. "hashedrekord" / "0.0.1", "dsse" / "0.0.1", "intoto" / "0.0.2", when the source says. */
  readonly kind?: string;
  readonly version?: string;
  /** The entry body as the log canonicalised it (base64-decoded JSON). */
  readonly canonicalizedBody: Uint8Array;
  /** v0.1: the log's signed promise of inclusion (SET) over the entry. */
  readonly signedEntryTimestamp?: Uint8Array;
  /** v0.2+: a Merkle inclusion proof with its signed checkpoint (a signed note). */
  readonly inclusionProof?: {
    readonly logIndex: number;
    readonly rootHash: Uint8Array;
    readonly treeSize: number;
    readonly hashes: readonly Uint8Array[];
    readonly checkpoint: string;
  };
}

/** What was signed: cosign's legacy/message signatures sign the payload bytes; DSSE signs PAE(type, payload). */
export type SignedContent =
  | { readonly kind: "message"; readonly payload: Uint8Array }
  | { readonly kind: "dsse"; readonly payloadType: string; readonly payload: Uint8Array };

/** One keyless signature and everything that vouches for it. */
export interface KeylessEvidence {
  /** Where it came from, for people: "sha256-<hex>.sig layer 0", "bundle sha256:<hex>". */
  readonly source: string;
  /** The signing (leaf) certificate, DER. */
  readonly certificate: Uint8Array;
  /** Further certificates the source carries (intermediates, maybe the root), DER, leaf-most first. */
  readonly chain: readonly Uint8Array[];
  /** The signature, as stored (ASN.1 DER for ECDSA). */
  readonly signature: Uint8Array;
  readonly signed: SignedContent;
  readonly tlogEntries: readonly TlogEntry[];
  /** RFC 3161 signed timestamps (DER TimeStampResponse/TimeStampToken), when the source has them. */
  readonly rfc3161Timestamps: readonly Uint8Array[];
}

/**
 * The Fulcio certificate extensions a policy may condition on, by sigstore-go's JSON names
 * (`certificate.Extensions`), with their OIDs under 1.3.6.1.4.1.57264.1. The legacy GitHub ones
 * (.1.2–.1.6) come first.
 */
export const FULCIO_EXTENSIONS = {
  githubWorkflowTrigger: "1.3.6.1.4.1.57264.1.2",
  githubWorkflowSHA: "1.3.6.1.4.1.57264.1.3",
  githubWorkflowName: "1.3.6.1.4.1.57264.1.4",
  githubWorkflowRepository: "1.3.6.1.4.1.57264.1.5",
  githubWorkflowRef: "1.3.6.1.4.1.57264.1.6",
  buildSignerURI: "1.3.6.1.4.1.57264.1.9",
  buildSignerDigest: "1.3.6.1.4.1.57264.1.10",
  runnerEnvironment: "1.3.6.1.4.1.57264.1.11",
  sourceRepositoryURI: "1.3.6.1.4.1.57264.1.12",
  sourceRepositoryDigest: "1.3.6.1.4.1.57264.1.13",
  sourceRepositoryRef: "1.3.6.1.4.1.57264.1.14",
  sourceRepositoryIdentifier: "1.3.6.1.4.1.57264.1.15",
  sourceRepositoryOwnerURI: "1.3.6.1.4.1.57264.1.16",
  sourceRepositoryOwnerIdentifier: "1.3.6.1.4.1.57264.1.17",
  buildConfigURI: "1.3.6.1.4.1.57264.1.18",
  buildConfigDigest: "1.3.6.1.4.1.57264.1.19",
  buildTrigger: "1.3.6.1.4.1.57264.1.20",
  runInvocationURI: "1.3.6.1.4.1.57264.1.21",
  sourceRepositoryVisibilityAtSigning: "1.3.6.1.4.1.57264.1.22",
} as const;

export type FulcioExtensionName = keyof typeof FULCIO_EXTENSIONS;

/** Who a policy accepts: issuer and subject each exact or a regular expression, extensions exact. */
export interface IdentityMatcher {
  readonly issuer?: string;
  readonly issuerRegExp?: string;
  readonly subject?: string;
  readonly subjectRegExp?: string;
  readonly extensions?: Readonly<Partial<Record<FulcioExtensionName, string>>>;
}

export interface KeylessOptions {
  readonly identities: readonly IdentityMatcher[];
  /** Accept a certificate without a verified embedded SCT (cosign --insecure-ignore-sct). */
  readonly ignoreSCT: boolean;
  /**
   * Accept a signature without a verified transparency-log entry (cosign --insecure-ignore-tlog);
   * its time must then come from a trusted RFC 3161 timestamp.
   */
  readonly ignoreTlog: boolean;
}

/** What the certificate says about who signed. */
export interface FulcioIdentity {
  readonly issuer: string;
  /** The SAN: an email, a URI (CI workflows), or another name Fulcio put there. */
  readonly subject: string;
  readonly extensions: Readonly<Partial<Record<FulcioExtensionName, string>>>;
}

export type KeylessFailureCode =
  /** The certificate does not chain to a Fulcio CA of the trust root (or the CA was not valid then). */
  | "CERTIFICATE_UNTRUSTED"
  /** The certificate was not valid at the signing time. */
  | "CERTIFICATE_EXPIRED"
  /** Not a code-signing certificate (key usage / extended key usage). */
  | "NOT_CODE_SIGNING"
  /** No embedded SCT, and the policy does not ignore SCTs. */
  | "SCT_MISSING"
  /** An SCT by an unknown CT log, or whose signature does not verify. */
  | "SCT_INVALID"
  /** No transparency-log entry, and the policy does not ignore the log. */
  | "TLOG_MISSING"
  /** The entry's SET or checkpoint is by a log the trust root does not know. */
  | "TLOG_UNTRUSTED"
  /** The SET, the inclusion proof or the checkpoint does not verify. */
  | "TLOG_INVALID"
  /** The entry's body is not this signature, this certificate and this payload. */
  | "TLOG_MISMATCH"
  /** An RFC 3161 timestamp that does not verify, or none where one is needed. */
  | "TIMESTAMP_INVALID"
  /** The signature does not verify under the certificate's key. */
  | "SIGNATURE_INVALID"
  /** The certificate is valid, but its issuer, subject or extensions are not the policy's. */
  | "IDENTITY_MISMATCH"
  /** The certificate, chain or entry could not be read. */
  | "MALFORMED";

export type KeylessCheck =
  | {
      readonly ok: true;
      readonly identity: FulcioIdentity;
      /** Index into KeylessOptions.identities of the first matcher that accepts it. */
      readonly matched: number;
      /** The time the signature was made, as verified. */
      readonly signedAt: Date;
      readonly timeSource: "tlog" | "rfc3161";
    }
  | {
      readonly ok: false;
      readonly code: KeylessFailureCode;
      /** For people, naming what failed: "certificate subject alice@example.com is not ...". */
      readonly why: string;
      /** The identity, when the certificate was read and verified before the failure (for reasons). */
      readonly identity?: FulcioIdentity;
    };
