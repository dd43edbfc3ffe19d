// The native `cosign` requirement: key-based cosign signatures with thresholds and required signers.
import * as z from "../schema";
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
    /** How many distinct keys must hold a valid signature (Connaisseur with.threshold); default 1. */
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
    z.refine((r) => (r.threshold ?? 1) <= r.keys.length, { message: "threshold cannot exceed the number of keys", path: ["threshold"] }),
    z.refine((r) => (r.required ?? []).every((n) => r.keys.some((k) => k.name === n)), {
      message: "every required signer must name one of the keys",
      path: ["required"],
    }),
  );

export type CosignRequirement = z.infer<typeof cosignRequirement>;
