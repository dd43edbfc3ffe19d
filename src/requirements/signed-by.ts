// The `signedBy` requirement kind: Red Hat simple signing (OpenPGP signed messages in a lookaside store).
import type { RequirementKind } from "../policy/requirement-kinds";
import { signedByRequirement, type SignedByRequirement } from "./signed-by-schema";

export const signedByKind: RequirementKind<SignedByRequirement> = {
  type: "signedBy",
  schema: signedByRequirement,
  digest: "required",
  async evaluate() {
    throw new Error("simple signing verification is not wired yet");
  },
};
