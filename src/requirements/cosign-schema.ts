// The native `cosign` requirement: cosign signatures by public keys and by keyless (Fulcio) identities,
// with thresholds and required signers counted over both.
import * as z from "../schema";
import type { PolicyIssue } from "../policy/model";
import { samePem } from "../policy/review";
import { compileIdentityRegExp, FULCIO_EXTENSIONS, parseTrustedRoot, type FulcioExtensionName } from "../verify/cosign/keyless";
import { signedIdentity } from "./identity-schema";

const notYet = (message: string) => z.custom<never>(() => false, { message });

/** Bytes of an inline trusted_root.json: the public-good one is ~10 KiB. */
export const MAX_TRUST_ROOT_BYTES = 256 * 1024;
const MAX_REGEXP_LENGTH = 1024;

/** Why `source` is not a usable identity regular expression (the verifier's own compiler says), or undefined. */
function regExpProblem(source: string): string | undefined {
  const compiled = compileIdentityRegExp(source);
  return compiled.ok ? undefined : compiled.why;
}

const identityText = z.string().check(z.minLength(1), z.maxLength(1024));
const identityRegExp = z.string().check(
  z.minLength(1),
  z.maxLength(MAX_REGEXP_LENGTH),
  z.refine((s) => regExpProblem(s) === undefined, { error: (i) => regExpProblem(String(i.input)) ?? "invalid regular expression" }),
);

const extensionNames = Object.keys(FULCIO_EXTENSIONS) as FulcioExtensionName[];
const extensions = z
  .record(z.string(), z.string().check(z.minLength(1), z.maxLength(1024)))
  .check(
    z.refine((r) => Object.keys(r).every((k) => k in FULCIO_EXTENSIONS), {
      error: (i) =>
        `unknown Fulcio extension ${Object.keys(i.input as object)
          .filter((k) => !(k in FULCIO_EXTENSIONS))
          .map((k) => JSON.stringify(k))
          .join(", ")}; known: ${extensionNames.join(", ")}`,
    }),
  );

/** Who may sign keylessly: OIDC issuer and certificate subject, each exact or a regular expression. */
const keylessIdentity = z
  .strictObject({
    /** The signer's name for threshold and required; default "<issuer> <subject>". */
    name: z.optional(z.string().check(z.minLength(1), z.maxLength(128))),
    issuer: z.optional(identityText),
    issuerRegExp: z.optional(identityRegExp),
    subject: z.optional(identityText),
    subjectRegExp: z.optional(identityRegExp),
    extensions: z.optional(extensions),
  })
  .check(
    z.refine((i) => (i.issuer === undefined) !== (i.issuerRegExp === undefined), {
      message: "give the OIDC issuer as issuer or issuerRegExp (one of them, as cosign's --certificate-oidc-issuer[-regexp])",
    }),
    z.refine((i) => (i.subject === undefined) !== (i.subjectRegExp === undefined), {
      message: "give the certificate identity as subject or subjectRegExp (one of them, as cosign's --certificate-identity[-regexp])",
    }),
  );

/** A trusted_root.json (Sigstore protobuf-specs TrustedRoot) as an object or a JSON string. */
const trustRoot = z
  .union([z.string().check(z.minLength(2), z.maxLength(MAX_TRUST_ROOT_BYTES)), z.record(z.string(), z.unknown())])
  .check(
    z.refine((r) => trustRootBytes(r).length <= MAX_TRUST_ROOT_BYTES, { message: `the trust root is larger than ${MAX_TRUST_ROOT_BYTES} bytes` }),
    z.refine((r) => parseTrustedRoot(trustRootBytes(r)).ok, {
      error: (i) => {
        const parsed = parseTrustedRoot(trustRootBytes(i.input as string | Record<string, unknown>));
        return parsed.ok ? "invalid trust root" : `not a usable trusted_root.json: ${parsed.why}`;
      },
    }),
  );

export const keylessOptions = z.strictObject({
  identities: z.array(keylessIdentity).check(z.minLength(1), z.maxLength(32)),
  trustRoot: z.optional(trustRoot),
  /** Accept certificates without a verified SCT (cosign --insecure-ignore-sct). */
  ignoreSCT: z.optional(z.boolean()),
  /** Accept signatures without a transparency-log entry; an RFC 3161 timestamp then dates them (cosign --insecure-ignore-tlog). */
  ignoreTlog: z.optional(z.boolean()),
});

export type KeylessRequirement = z.infer<typeof keylessOptions>;
export type KeylessIdentityRequirement = z.infer<typeof keylessIdentity>;

/** The bytes of an inline trust root as written: a JSON string as is, an object serialised. */
export function trustRootBytes(root: string | Readonly<Record<string, unknown>>): Uint8Array {
  return new TextEncoder().encode(typeof root === "string" ? root : JSON.stringify(root));
}

/** The signer name of a keyless identity: its own, or "<issuer> <subject>" as written. */
export function identityName(i: KeylessIdentityRequirement): string {
  return i.name ?? `${i.issuer ?? i.issuerRegExp} ${i.subject ?? i.subjectRegExp}`;
}

/** Every signer name a requirement has: keys first, then keyless identities. */
export function signerNames(r: { keys?: readonly { name: string }[] | undefined; keyless?: KeylessRequirement | undefined }): string[] {
  return [...(r.keys ?? []).map((k) => k.name), ...(r.keyless?.identities ?? []).map(identityName)];
}

export const cosignRequirement = z
  .strictObject({
    type: z.literal("cosign"),
    /** Named public keys (PEM SPKI: ECDSA P-256 or Ed25519); optional when keyless identities are given. */
    keys: z.optional(
      z
        .array(
          z.strictObject({
            name: z.string().check(z.minLength(1), z.maxLength(128)),
            key: z.string().check(z.minLength(1), z.maxLength(16_384)),
          }),
        )
        .check(z.minLength(1), z.maxLength(32)),
    ),
    /** Keyless signers: Fulcio certificates for these identities, logged in Rekor, under a Sigstore trust root. */
    keyless: z.optional(keylessOptions),
    /**
     * How many distinct keys must hold a valid signature (Connaisseur with.threshold); default 1.
     * More than the keys can give imports (Connaisseur accepts it) and denies every image, with a warning.
     */
    threshold: z.optional(z.int().check(z.minimum(1))),
    /** Key names that must be among the signers (Connaisseur with.required). */
    required: z.optional(z.array(z.string()).check(z.maxLength(32))),
    /** Where signatures are stored instead of the image's repository (cosign's COSIGN_REPOSITORY). */
    signatureRepository: z.optional(z.string().check(z.minLength(1), z.maxLength(512))),
    /** sigstoreSigned policies also check the payload's identity (containers-policy.json). */
    signedIdentity: z.optional(signedIdentity),
    // Said where they belong, rather than "unknown field".
    identities: z.optional(notYet("keyless identities go under keyless.identities")),
    rekor: z.optional(
      notYet("a Rekor URL is not used: transparency-log entries are verified offline against the trust root's log keys (keyless.trustRoot)"),
    ),
  })
  .check(
    z.refine((r) => r.keys !== undefined || r.keyless !== undefined, {
      message: "give keys, keyless identities, or both",
      path: ["keys"],
    }),
    z.refine((r) => new Set(signerNames(r)).size === signerNames(r).length, {
      error: (i) => {
        const names = signerNames(i.input as CosignRequirement);
        const twice = names.filter((n, k) => names.indexOf(n) !== k);
        return `signer names must be distinct across keys and keyless identities: ${[...new Set(twice)].map((n) => JSON.stringify(n)).join(", ")} appears more than once (name the identities)`;
      },
      path: ["keyless", "identities"],
    }),
    z.refine((r) => (r.required ?? []).every((n) => signerNames(r).includes(n)), {
      message: "every required signer must name one of the keys or keyless identities",
      path: ["required"],
    }),
  );

export type CosignRequirement = z.infer<typeof cosignRequirement>;

/**
 * Import warnings: a key listed twice (one signer however many names it has), and a threshold more
 * distinct keys than there are could meet (every image is denied: validation threshold not reached).
 */
export function reviewCosign(req: CosignRequirement, where: (path: string) => string): PolicyIssue[] {
  const warnings: PolicyIssue[] = [];
  let distinct = 0;
  const keys = req.keys ?? [];
  keys.forEach((k, i) => {
    const first = keys.findIndex((o) => samePem(o.key, k.key));
    if (first < 0 || first === i) {
      distinct++;
      return;
    }
    warnings.push({
      path: where(`keys[${i}]`),
      message: `"${k.name}" is the same public key as "${keys[first]!.name}" (${where(`keys[${first}]`)}): they count as one signer`,
    });
  });
  const identities = req.keyless?.identities ?? [];
  identities.forEach((id, i) => {
    const first = identities.findIndex((o) => matcherKey(o) === matcherKey(id));
    if (first < 0 || first === i) {
      distinct++;
      return;
    }
    warnings.push({
      path: where(`keyless.identities[${i}]`),
      message: `"${identityName(id)}" is the same identity as "${identityName(identities[first]!)}" (${where(`keyless.identities[${first}]`)}): they count as one signer`,
    });
  });
  if (req.keyless?.ignoreTlog) {
    warnings.push({
      path: where("keyless.ignoreTlog"),
      message: "ignoreTlog: signatures need no transparency-log entry, so only an RFC 3161 timestamp from a trusted TSA can date them",
    });
  }
  const threshold = req.threshold ?? 1;
  if (threshold > distinct) {
    const what = identities.length === 0 ? (distinct === 1 ? "key" : "keys") : "signers (keys and identities)";
    warnings.push({
      path: where("threshold"),
      message: `a threshold of ${threshold} cannot be met by ${distinct} distinct ${what}: every image is denied (validation threshold not reached)`,
    });
  }
  return warnings;
}

/** What identifies a matcher: two identities with the same conditions are one signer. */
export function matcherKey(i: KeylessIdentityRequirement): string {
  const ext = Object.entries(i.extensions ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return JSON.stringify([i.issuer ?? null, i.issuerRegExp ?? null, i.subject ?? null, i.subjectRegExp ?? null, ext]);
}
