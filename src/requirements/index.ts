// Every requirement kind trustgate knows; a new signature format adds one line here.
import { createRequirementKinds } from "../policy/requirement-kinds";
import { cosignKind } from "./cosign";
import { notaryKind } from "./notary";
import { signedByKind } from "./signed-by";
import { allowKind, denyKind } from "./static";

export const defaultRequirementKinds = createRequirementKinds([allowKind, denyKind, notaryKind, signedByKind, cosignKind]);
