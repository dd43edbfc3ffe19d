// Every requirement kind trustgate knows; a new signature format adds one line here.
import { createRequirementKinds, type RequirementKinds } from "../policy/requirement-kinds";
import { anyOfKind } from "./any-of";
import { cosignKind } from "./cosign";
import { notaryKind } from "./notary";
import { signedByKind } from "./signed-by";
import { allowKind, denyKind, digestPinnedKind } from "./static";

// anyOf validates and evaluates its alternatives with the same registry it is part of.
export const defaultRequirementKinds: RequirementKinds = createRequirementKinds([
  allowKind,
  denyKind,
  notaryKind,
  signedByKind,
  cosignKind,
  digestPinnedKind,
  anyOfKind(() => defaultRequirementKinds),
]);
