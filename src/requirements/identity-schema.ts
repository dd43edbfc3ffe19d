// signedIdentity rules of containers-policy.json(5), shared by signedBy and cosign requirements.
import * as z from "../schema";

export const signedIdentity = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("matchExact") }),
  z.strictObject({ type: z.literal("matchRepoDigestOrExact") }),
  z.strictObject({ type: z.literal("matchRepository") }),
  z.strictObject({ type: z.literal("exactReference"), dockerReference: z.string().check(z.minLength(1), z.maxLength(1024)) }),
  z.strictObject({ type: z.literal("exactRepository"), dockerRepository: z.string().check(z.minLength(1), z.maxLength(1024)) }),
  z.strictObject({
    type: z.literal("remapIdentity"),
    prefix: z.string().check(z.minLength(1), z.maxLength(1024)),
    signedPrefix: z.string().check(z.minLength(1), z.maxLength(1024)),
  }),
]);

export type SignedIdentity = z.infer<typeof signedIdentity>;
