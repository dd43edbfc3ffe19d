// signedIdentity rules (containers-policy.json(5)) deciding whether a signature's docker-reference
// fits the image, exactly as containers/image's signature/policy_reference_match.go decides. Shared
// by the simple-signing and cosign verifiers; the policy schema that reads them is in requirements.
import { parseReference, type ImageReference } from "../../reference";

/** One signedIdentity rule (containers-policy.json(5)), as the policy schema admits it. */
export type SignedIdentity =
  | { readonly type: "matchExact" }
  | { readonly type: "matchRepoDigestOrExact" }
  | { readonly type: "matchRepository" }
  | { readonly type: "exactReference"; readonly dockerReference: string }
  | { readonly type: "exactRepository"; readonly dockerRepository: string }
  | { readonly type: "remapIdentity"; readonly prefix: string; readonly signedPrefix: string };

/** A parsed docker reference as distribution/reference's Named sees it. */
export interface NamedReference {
  /** Name(): registry and repository, "docker.io/library/busybox". */
  readonly name: string;
  /** String(): the name with only the tag and digest that were written. */
  readonly string: string;
  /** IsNameOnly(): neither tag nor digest. */
  readonly nameOnly: boolean;
  readonly tagged: boolean;
  readonly digested: boolean;
}

/** ParseNormalizedNamed: undefined when the string is not a reference. */
export function parseNamed(s: string): NamedReference | undefined {
  let ref: ImageReference;
  try {
    ref = parseReference(s);
  } catch {
    return undefined;
  }
  // parseReference adds ":latest" to a bare name; Named does not, so look at what was written.
  const at = s.indexOf("@");
  const beforeDigest = at >= 0 ? s.slice(0, at) : s;
  const tagged = beforeDigest.lastIndexOf(":") > beforeDigest.lastIndexOf("/");
  const digested = ref.digest !== undefined;
  const string = ref.name + (tagged ? `:${ref.tag}` : "") + (digested ? `@${ref.digest}` : "");
  return { name: ref.name, string, nameOnly: !tagged && !digested, tagged, digested };
}

/**
 * The image being checked. A reference given without tag or digest already carries ":latest" (as the
 * docker transport's TagNameOnly adds it), so it is never name-only.
 */
export function imageNamed(image: ImageReference): NamedReference {
  const tagged = image.tag !== undefined;
  const digested = image.digest !== undefined;
  return { name: image.name, string: image.canonical, nameOnly: !tagged && !digested, tagged, digested };
}

/** ParseNamed: like parseNamed, but only for the canonical (fully expanded) spelling. */
function parseCanonical(s: string): NamedReference | undefined {
  const named = parseNamed(s);
  return named && named.string === s ? named : undefined;
}

/** matchRepoDigestOrExactReferenceValues. */
function repoDigestOrExact(intended: NamedReference, signature: NamedReference): boolean {
  if (signature.nameOnly) return false;
  // A tagged image (also tagged and digested) needs the identical reference; a digested one, the repository:
  // the manifest digest itself is compared separately.
  if (intended.tagged) return signature.string === intended.string;
  if (intended.digested) return signature.name === intended.name;
  return false;
}

/** prmRemapIdentity.refMatchesPrefix: the name is the prefix, or continues it after a "/". */
function matchesPrefix(name: string, prefix: string): boolean {
  if (name.length < prefix.length) return false;
  if (name.length === prefix.length) return name === prefix;
  return name.startsWith(prefix) && name[prefix.length] === "/";
}

/** Whether `signatureReference` (critical.identity.docker-reference) is accepted for `image` under `rule`. */
export function matchesDockerReference(rule: SignedIdentity, image: ImageReference, signatureReference: string): boolean {
  const signature = parseNamed(signatureReference);
  if (!signature) return false;
  switch (rule.type) {
    case "matchExact": {
      const intended = imageNamed(image);
      if (intended.nameOnly || signature.nameOnly) return false;
      return signature.string === intended.string;
    }
    case "matchRepoDigestOrExact":
      return repoDigestOrExact(imageNamed(image), signature);
    case "matchRepository":
      return signature.name === imageNamed(image).name;
    case "exactReference": {
      const intended = parseNamed(rule.dockerReference);
      if (!intended || intended.nameOnly || signature.nameOnly) return false;
      return signature.string === intended.string;
    }
    case "exactRepository": {
      const intended = parseNamed(rule.dockerRepository);
      return intended !== undefined && signature.name === intended.name;
    }
    case "remapIdentity": {
      let intended = imageNamed(image);
      if (matchesPrefix(intended.name, rule.prefix)) {
        // strings.Replace(ref.String(), prefix, signedPrefix, 1): the name starts with the prefix.
        const rewritten = rule.signedPrefix + intended.string.slice(rule.prefix.length);
        const parsed = parseCanonical(rewritten);
        if (!parsed) return false;
        intended = parsed;
      }
      return repoDigestOrExact(intended, signature);
    }
  }
}
