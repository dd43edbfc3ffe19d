// signedIdentity for a cosign payload's docker-reference: the simple-signing decision (containers/image), with words.
//
// The rules are containers/image's signature/policy_reference_match.go, implemented once in
// src/verify/shared/identity.ts. Note that cosign writes a repository without tag (name
// only), so matchExact and matchRepoDigestOrExact with a tagged image never accept cosign's own
// payloads; matchRepository, exactRepository and remapIdentity onto a digest reference can.
import type { ImageReference } from "../../reference";
import type { SignedIdentity } from "../shared/identity";
import { matchesDockerReference } from "../shared/identity";

/** Why `signedReference` is not accepted for `image` under `rule`, or undefined when it is. */
export function identityProblem(rule: SignedIdentity, image: ImageReference, signedReference: string): string | undefined {
  if (matchesDockerReference(rule, image, signedReference)) return undefined;
  // containers/image: "Signature for identity %q is not accepted".
  const refused = `signature for identity ${JSON.stringify(signedReference)} is not accepted`;
  switch (rule.type) {
    case "matchRepository":
      return `${refused} for ${image.name} (matchRepository)`;
    case "exactReference":
      return `${refused}: exactReference requires ${rule.dockerReference}`;
    case "exactRepository":
      return `${refused}: exactRepository requires ${rule.dockerRepository}`;
    case "remapIdentity":
      return `${refused} for ${image.canonical} (remapIdentity ${rule.prefix} → ${rule.signedPrefix})`;
    default:
      return `${refused} for ${image.canonical} (${rule.type})`;
  }
}
