// The native `cosign` requirement: key-based cosign signatures with thresholds and required signers.
import * as z from "../schema";
import type { PolicyIssue } from "../policy/model";
import { samePem } from "../policy/review";
import { signedIdentity } from "./identity-schema";

const notYet = (message: string) => z.custom<never>(() => false, { message });

export const cosignRequirement = z
  .strictObject({
    type: z.literal("cosign"),
    /** Named public keys (PEM SPKI: ECDSA P-256 or Ed25519). */
    keys: z
      .array(
        z.strictObject({
          name: z.string().check(z.minLength(1), z.maxLength(128)),
          key: z.string().check(z.minLength(1), z.maxLength(16_384)),
        }),
      )
      .check(z.minLength(1), z.maxLength(32)),
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
    // Keyless signing is out of scope for now: say so, rather than "unknown field".
    keyless: z.optional(notYet("keyless (Fulcio certificate) verification is not supported yet; verify with public keys")),
    identities: z.optional(notYet("keyless identities are not supported yet; verify with public keys")),
    rekor: z.optional(notYet("transparency-log (Rekor) verification is not supported yet; remove it to verify signatures by key")),
  })
  .check(
    z.refine((r) => (r.required ?? []).every((n) => r.keys.some((k) => k.name === n)), {
      message: "every required signer must name one of the keys",
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
  req.keys.forEach((k, i) => {
    const first = req.keys.findIndex((o) => samePem(o.key, k.key));
    if (first < 0 || first === i) {
      distinct++;
      return;
    }
    warnings.push({
      path: where(`keys[${i}]`),
      message: `"${k.name}" is the same public key as "${req.keys[first]!.name}" (${where(`keys[${first}]`)}): they count as one signer`,
    });
  });
  const threshold = req.threshold ?? 1;
  if (threshold > distinct) {
    warnings.push({
      path: where("threshold"),
      message: `a threshold of ${threshold} cannot be met by ${distinct} distinct ${distinct === 1 ? "key" : "keys"}: every image is denied (validation threshold not reached)`,
    });
  }
  return warnings;
}
