// Kyverno's wildcard and policy-controller's glob, each over its own string form of the reference
// (docs/patterns.md, "Kyverno and policy-controller"). Cases follow kyverno ext/wildcard/match_test.go
// and sigstore/policy-controller pkg/apis/glob/glob_test.go.
import { describe, expect, it } from "vitest";
import fc from "fast-check";
import { dialectSpellings, dialectTextMatcher, wildcardMatch } from "../../../src/policy/dialect-pattern";
import { compilePattern, PatternSyntaxError } from "../../../src/policy/pattern";
import { parseReference } from "../../../src/reference";

const D = `sha256:${"a".repeat(64)}`;
const kyverno = (pattern: string, image: string) => compilePattern(pattern, "kyverno").matches(parseReference(image));
const pc = (pattern: string, image: string) => compilePattern(pattern, "policy-controller").matches(parseReference(image));

describe("Kyverno wildcard", () => {
  it.each([
    ["*", "anything/at:all", true],
    ["my-bucket/In*", "my-bucket/India/Karnataka/", true],
    ["my-bucket?/abc*", "mybucket/abc", false],
    ["my-bucket?/abc*", "my-bucket1/abc", true],
    ["my-bucket?abc*", "my-bucket/abc", true],
    ["", "", true],
    ["", "x", false],
    ["a*b*c", "aXbYc", true],
    ["a*b*c", "aXbY", false],
  ])("%s against %s: %s", (pattern, text, expected) => {
    expect(wildcardMatch(pattern, text)).toBe(expected);
  });

  it("matches registry/path:tag, or registry/path@digest when pinned (the tag is dropped)", () => {
    expect(kyverno("ghcr.io/org/*", "ghcr.io/org/app:v1")).toBe(true);
    expect(kyverno("ghcr.io/org/*", "ghcr.io/org/team/app:v1")).toBe(true); // '*' crosses '/'
    expect(kyverno("ghcr.io/org/app:v?", "ghcr.io/org/app:v1")).toBe(true);
    expect(kyverno("ghcr.io/org/app:v1*", `ghcr.io/org/app:v1@${D}`)).toBe(false);
    expect(kyverno("ghcr.io/org/app@*", `ghcr.io/org/app:v1@${D}`)).toBe(true);
    expect(kyverno("ghcr.io/org/app:latest", "ghcr.io/org/app")).toBe(true);
  });

  it("Docker Hub images match as docker.io/<name> and docker.io/library/<name>, however written", () => {
    for (const image of ["nginx", "docker.io/nginx", "docker.io/library/nginx:latest", "index.docker.io/library/nginx"]) {
      expect(kyverno("docker.io/nginx:*", image)).toBe(true);
      expect(kyverno("docker.io/library/nginx:*", image)).toBe(true);
    }
    expect(dialectSpellings(parseReference("nginx:1"), "kyverno")).toEqual([
      "docker.io/library/nginx:1",
      "docker.io/nginx:1",
      "index.docker.io/library/nginx:1",
      "index.docker.io/nginx:1",
    ]);
    // A rule written for index.docker.io sees the image however the pod spec spelled it.
    expect(kyverno("index.docker.io/*", "nginx")).toBe(true);
  });
});

describe("policy-controller glob", () => {
  it("'*' stays inside a path component and a tag; '**' crosses '/'", () => {
    expect(pc("ghcr.io/org/*", "ghcr.io/org/app:v1")).toBe(true);
    expect(pc("ghcr.io/org/*", `ghcr.io/org/app@${D}`)).toBe(true);
    expect(pc("ghcr.io/org/*", "ghcr.io/org/team/app:v1")).toBe(false);
    expect(pc("ghcr.io/org/**", "ghcr.io/org/team/app:v1")).toBe(true);
    // The glob must match the whole name, tag or digest included.
    expect(pc("ghcr.io/org/app", "ghcr.io/org/app:v1")).toBe(false);
    expect(pc("ghcr.io/org/app:**", "ghcr.io/org/app:v1")).toBe(true);
    expect(pc("ghcr.io/org/app*", `ghcr.io/org/app@${D}`)).toBe(true);
  });

  it("'*' and '*/*' mean Docker Hub, as policy-controller rewrites them", () => {
    expect(pc("*", "ubuntu")).toBe(true);
    expect(pc("*", "ghcr.io/x/y:v1")).toBe(false);
    expect(pc("*/*", "myuser/myapp:v1")).toBe(true);
    expect(pc("*/*", "ubuntu")).toBe(true); // index.docker.io/library/ubuntu:latest
    expect(pc("index.docker.io/library/ubuntu:latest", "docker.io/library/ubuntu")).toBe(true);
    expect(pc("ubuntu:latest", "ubuntu")).toBe(true); // the name as written, as glob.Match also tries
    // …and the image as written without its implicit :latest, whatever registry.
    expect(pc("ghcr.io/org/app", "ghcr.io/org/app")).toBe(true);
    expect(pc("ghcr.io/org/app", "ghcr.io/org/app:latest")).toBe(true);
    expect(pc("ghcr.io/org/app", "ghcr.io/org/app:v1")).toBe(false);
  });

  it("refuses characters policy-controller does not accept ('?' is not a wildcard there)", () => {
    expect(() => compilePattern("ghcr.io/org/app:v?", "policy-controller")).toThrow(PatternSyntaxError);
    expect(() => compilePattern("ghcr.io/org/[ab]", "policy-controller")).toThrow(PatternSyntaxError);
    expect(() => compilePattern("ghcr.io/org app", "kyverno")).toThrow(PatternSyntaxError);
  });

  it("a hostile pattern is matched in linear time (no backtracking)", () => {
    const pattern = "*a".repeat(200) + "b";
    expect(wildcardMatch(pattern, "a".repeat(400))).toBe(false);
    expect(pc(`ghcr.io/${"**a".repeat(100)}b`, `ghcr.io/${"a/".repeat(100)}x:v1`)).toBe(false);
  });
});

describe("the fast path (stars only) agrees with the general matcher", () => {
  it("on random patterns and texts", () => {
    const chars = (alphabet: string[], max: number) => fc.array(fc.constantFrom(...alphabet), { maxLength: max }).map((a) => a.join(""));
    fc.assert(
      fc.property(chars(["a", "b", "/", "*"], 12), chars(["a", "b", "/"], 16), (pattern, text) => {
        expect(dialectTextMatcher(pattern, "kyverno")(text)).toBe(wildcardMatch(pattern, text));
        // policy-controller: '**' only (the fast path) against a regular expression of its glob.
        const pcPattern = pattern.replaceAll("*", "**");
        const re = new RegExp(`^${pcPattern.replaceAll("**", ".*")}$`);
        expect(dialectTextMatcher(pcPattern, "policy-controller")(text)).toBe(re.test(text));
      }),
      { numRuns: 500 },
    );
  });
});
