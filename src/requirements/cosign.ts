// The `cosign` requirement kind: key-based cosign signatures stored in the registry.
import type { RequirementKind } from "../policy/requirement-kinds";
import { cosignRequirement, type CosignRequirement } from "./cosign-schema";

export const cosignKind: RequirementKind<CosignRequirement> = {
  type: "cosign",
  schema: cosignRequirement,
  digest: "required",
  async evaluate() {
    throw new Error("cosign verification is not wired yet");
  },
};
