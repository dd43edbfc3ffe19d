// signedIdentity rules of containers-policy.json(5), shared by signedBy and cosign requirements.
import * as z from "../schema";
import { parseNamed, type SignedIdentity } from "../verify/shared/identity";

// containers/image refuses these when it loads a policy (newPRMExactReference/-Repository); a rule
// that could never match is refused at upload, in its words.
const dockerReference = z.string().check(
  z.minLength(1),
  z.maxLength(1024),
  z.refine((s) => parseNamed(s) !== undefined, { error: (i) => `Invalid format of dockerReference ${String(i.input)}` }),
  z.refine((s) => parseNamed(s)?.nameOnly !== true, { error: (i) => `dockerReference ${String(i.input)} contains neither a tag nor digest` }),
);
const dockerRepository = z.string().check(
  z.minLength(1),
  z.maxLength(1024),
  z.refine((s) => parseNamed(s) !== undefined, { error: (i) => `Invalid format of dockerRepository ${String(i.input)}` }),
);

export const signedIdentity = z.discriminatedUnion("type", [
  z.strictObject({ type: z.literal("matchExact") }),
  z.strictObject({ type: z.literal("matchRepoDigestOrExact") }),
  z.strictObject({ type: z.literal("matchRepository") }),
  z.strictObject({ type: z.literal("exactReference"), dockerReference }),
  z.strictObject({ type: z.literal("exactRepository"), dockerRepository }),
  z.strictObject({
    type: z.literal("remapIdentity"),
    prefix: z.string().check(z.minLength(1), z.maxLength(1024)),
    signedPrefix: z.string().check(z.minLength(1), z.maxLength(1024)),
  }),
]);

export type { SignedIdentity } from "../verify/shared/identity";

// The verifiers' type and this schema describe the same rules: each must accept what the other has.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
const sameRules: Same<z.infer<typeof signedIdentity>, SignedIdentity> = true;
void sameRules;
