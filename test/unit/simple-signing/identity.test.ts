// signedIdentity, one table: image × rule × signed docker-reference → accepted or not, as
// containers/image's policy_reference_match.go decides (its own tests' cases, plus docker.io spelling).
import { describe, expect, it } from "vitest";
import type { SignedIdentity } from "../../../src/verify/shared/identity";
import { parseReference } from "../../../src/reference";
import { matchesDockerReference, parseNamed } from "../../../src/verify/simple-signing";

const H = `sha256:${"1".repeat(64)}`;
const H2 = `sha256:${"2".repeat(64)}`;
const exact: SignedIdentity = { type: "matchExact" };
const repoDigest: SignedIdentity = { type: "matchRepoDigestOrExact" };
const repo: SignedIdentity = { type: "matchRepository" };
const exactRef = (dockerReference: string): SignedIdentity => ({ type: "exactReference", dockerReference });
const exactRepo = (dockerRepository: string): SignedIdentity => ({ type: "exactRepository", dockerRepository });
const remap = (prefix: string, signedPrefix: string): SignedIdentity => ({ type: "remapIdentity", prefix, signedPrefix });

// [image, rule, signed identity, accepted]
const TABLE: [string, SignedIdentity, string, boolean][] = [
  // matchExact: both tagged or digested, and equal after normalisation.
  ["busybox", exact, "docker.io/library/busybox:latest", true],
  ["busybox:latest", exact, "busybox", false],
  ["busybox:latest", exact, "busybox:latest", true],
  ["docker.io/library/busybox:1", exact, "index.docker.io/busybox:1", true],
  ["busybox:1", exact, "busybox:2", false],
  ["busybox:1", exact, "docker.io/other/busybox:1", false],
  [`busybox@${H}`, exact, `busybox@${H}`, true],
  [`busybox@${H}`, exact, "busybox:latest", false],
  [`busybox@${H}`, exact, `busybox@${H2}`, false],
  [`busybox:1@${H}`, exact, `busybox:1@${H}`, true],
  [`busybox:1@${H}`, exact, `busybox@${H}`, false],
  ["quay.io/ns/app:v1", exact, "quay.io/ns/app:v1", true],
  // One identity per image (docs/patterns.md, "Canonical form"): both sides are read in canonical form,
  // so a registry's case or default port is no part of the identity. containers/image compares the
  // strings as written and refuses these; trustgate, deciding on the canonical image, accepts them.
  ["quay.io/ns/app:v1", exact, "QUAY.IO/ns/app:v1", true],
  ["quay.io/ns/app:v1", exact, "quay.io:443/ns/app:v1", true],
  ["docker.io/library/busybox:1", exact, "registry-1.docker.io/library/busybox:1", true],
  ["quay.io/ns/app:v1", exact, "quay.io:8443/ns/app:v1", false],
  ["localhost:5000/app:v1", exact, "localhost:5000/app:v1", true],
  ["localhost:5000/app:v1", exact, "localhost/app:v1", false],
  ["busybox:1", exact, "not a reference", false],
  ["busybox:1", exact, "", false],
  ["busybox:1", exact, "Busybox:1", false],
  // matchRepoDigestOrExact: a tagged image needs the same reference; a digested one the repository.
  ["busybox:1", repoDigest, "busybox:1", true],
  ["busybox:1", repoDigest, "busybox:2", false],
  ["busybox:1", repoDigest, "busybox", false],
  ["busybox:1", repoDigest, `busybox@${H}`, false],
  [`busybox@${H}`, repoDigest, "busybox:anything", true],
  [`busybox@${H}`, repoDigest, `busybox@${H2}`, true],
  [`busybox@${H}`, repoDigest, "busybox", false],
  [`busybox@${H}`, repoDigest, "docker.io/library/other:1", false],
  [`busybox:1@${H}`, repoDigest, "busybox:1", false],
  [`busybox:1@${H}`, repoDigest, `busybox:1@${H}`, true],
  // matchRepository: the repository only; a name-only signature is fine.
  ["busybox:1", repo, "busybox", true],
  ["busybox:1", repo, "docker.io/library/busybox:9", true],
  [`busybox@${H}`, repo, `busybox@${H2}`, true],
  ["busybox:1", repo, "docker.io/busybox/busybox:1", false],
  ["busybox:1", repo, "quay.io/library/busybox:1", false],
  // exactReference: the policy's reference, whatever the image is called.
  ["mirror.example/x:1", exactRef("docker.io/library/busybox:1"), "busybox:1", true],
  ["mirror.example/x:1", exactRef("busybox:1"), "docker.io/library/busybox:1", true],
  ["mirror.example/x:1", exactRef("busybox:1"), "busybox:2", false],
  ["mirror.example/x:1", exactRef("busybox"), "busybox", false],
  ["mirror.example/x:1", exactRef("busybox"), "busybox:latest", false],
  ["mirror.example/x:1", exactRef(`busybox@${H}`), `busybox@${H}`, true],
  ["mirror.example/x:1", exactRef("not a ref!"), "busybox:1", false],
  // exactRepository: the policy's repository.
  ["mirror.example/x:1", exactRepo("busybox"), "docker.io/library/busybox:7", true],
  ["mirror.example/x:1", exactRepo("docker.io/library/busybox"), "busybox", true],
  ["mirror.example/x:1", exactRepo("busybox"), "quay.io/busybox:7", false],
  ["mirror.example/x:1", exactRepo("docker.io/library/busybox:1"), "busybox:2", true],
  // remapIdentity: the image's name, when it is the prefix or continues it after "/", is rewritten.
  ["mirror.example/library/busybox:1", remap("mirror.example", "docker.io"), "busybox:1", true],
  ["mirror.example/library/busybox:1", remap("mirror.example", "docker.io"), "busybox:2", false],
  ["mirror.example/library/busybox:1", remap("mirror.example/library", "docker.io/library"), "docker.io/library/busybox:1", true],
  ["mirror.example/library/busybox:1", remap("mirror.example/library/busybox", "docker.io/library/busybox"), "busybox:1", true],
  [`mirror.example/library/busybox@${H}`, remap("mirror.example", "docker.io"), "busybox:whatever", true],
  ["mirror.example/library/busybox:1", remap("mirror.example/lib", "docker.io/lib"), "busybox:1", false],
  ["mirror.example/library/busybox:1", remap("mirror.example/lib", "docker.io/lib"), "mirror.example/library/busybox:1", true],
  ["mirror.example/library/busybox:1", remap("mirror.exam", "docker.io"), "mirror.example/library/busybox:1", true],
  ["mirror.example:5000/app:1", remap("mirror.example", "quay.io"), "quay.io/app:1", false],
  ["mirror.example:5000/app:1", remap("mirror.example:5000", "quay.io"), "quay.io/app:1", true],
  // The rewritten reference must be canonical (reference.ParseNamed): docker.io short forms are not.
  ["mirror.example/busybox:1", remap("mirror.example", "docker.io"), "busybox:1", false],
  ["mirror.example/ns/app:1", remap("mirror.example", "docker.io"), "docker.io/ns/app:1", true],
  ["mirror.example/ns/app:1", remap("mirror.example/ns", "busybox"), "busybox/app:1", false],
  ["quay.io/ns/app:1", remap("mirror.example", "docker.io"), "quay.io/ns/app:1", true],
  ["quay.io/ns/app:1", remap("mirror.example", "docker.io"), "quay.io/ns/app", false],
];

describe("signedIdentity", () => {
  for (const [image, rule, signed, accepted] of TABLE) {
    const ruleText = rule.type + ("prefix" in rule ? `(${rule.prefix} → ${rule.signedPrefix})` : "dockerReference" in rule ? `(${rule.dockerReference})` : "dockerRepository" in rule ? `(${rule.dockerRepository})` : "");
    it(`${image} | ${ruleText} | ${JSON.stringify(signed)} → ${accepted ? "accepted" : "refused"}`, () => {
      expect(matchesDockerReference(rule, parseReference(image), signed)).toBe(accepted);
    });
  }

  it("reads references as distribution/reference does: Name(), String(), IsNameOnly()", () => {
    expect(parseNamed("busybox")).toEqual({ name: "docker.io/library/busybox", string: "docker.io/library/busybox", nameOnly: true, tagged: false, digested: false });
    expect(parseNamed("localhost:5000/a:b")).toMatchObject({ name: "localhost:5000/a", string: "localhost:5000/a:b", tagged: true });
    expect(parseNamed(`a/b:c@${H}`)).toMatchObject({ name: "docker.io/a/b", string: `docker.io/a/b:c@${H}`, tagged: true, digested: true });
    expect(parseNamed(`a@${H}`)).toMatchObject({ string: `docker.io/library/a@${H}`, tagged: false, digested: true });
    expect(parseNamed("1".repeat(64))).toBeUndefined();
    expect(parseNamed("upper/Case")).toBeUndefined();
    // Docker reads an upper-case first component as a registry host; lower-cased (its canonical form)
    // it would read as a Docker Hub namespace, so it is no reference here.
    expect(parseNamed("UPPER/case:1")).toBeUndefined();
    expect(parseNamed("UPPER.io/case:1")).toMatchObject({ name: "upper.io/case" });
  });
});
