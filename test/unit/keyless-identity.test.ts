// Who a Fulcio certificate names (issuer, SAN, extensions) and the identity regular expressions.
import { describe, expect, it } from "vitest";
import { parseCertificate } from "../../src/verify/shared/der";
import { verifyChain } from "../../src/verify/cosign/keyless/chain";
import { compileIdentityRegExp, fulcioIdentity, matcherProblem } from "../../src/verify/cosign/keyless/identity";
import { bundleEvidence, trustedRoot, utf8 } from "./keyless-vectors";

describe("fulcioIdentity", () => {
  it("an email SAN and the legacy issuer extension (.1.1) of a 2022 certificate", () => {
    const leaf = parseCertificate(bundleEvidence("go-dsse.sigstore.json").certificate);
    expect(fulcioIdentity(leaf)).toEqual({ issuer: "https://github.com/login/oauth", subject: "brian@dehamer.com", extensions: {} });
  });

  it("a URI SAN, the .1.8 issuer, raw legacy GitHub extensions and DER-string .1.9+ ones", () => {
    const leaf = parseCertificate(bundleEvidence("go-sigstore.js@2.0.0-provenance.sigstore.json").certificate);
    const id = fulcioIdentity(leaf);
    expect(id.issuer).toBe("https://token.actions.githubusercontent.com");
    expect(id.subject).toBe("https://github.com/sigstore/sigstore-js/.github/workflows/release.yml@refs/heads/main");
    expect(id.extensions).toMatchObject({ githubWorkflowRef: "refs/heads/main", githubWorkflowName: "Release", buildTrigger: "push", sourceRepositoryIdentifier: "495574555" });
  });

  it("an otherName SAN (Fulcio's username) under a private deployment's CA (sigstore-go's othername bundle, scaffolding root)", async () => {
    const e = bundleEvidence("go-othername.sigstore.json", utf8("unused"));
    const leaf = parseCertificate(e.certificate);
    expect(fulcioIdentity(leaf)).toEqual({ issuer: "http://oidc.local:8080", subject: "foo!oidc.local", extensions: {} });
    const chain = await verifyChain(leaf, e.chain, trustedRoot("trusted-root-scaffolding.json"), new Date(e.tlogEntries[0]!.integratedTime * 1000));
    expect(chain.ok).toBe(true);
    const publicGood = await verifyChain(leaf, e.chain, trustedRoot(), new Date(e.tlogEntries[0]!.integratedTime * 1000));
    expect(publicGood).toMatchObject({ ok: false, code: "CERTIFICATE_UNTRUSTED" });
  });
});

describe("matching", () => {
  const id = { issuer: "https://token.actions.githubusercontent.com", subject: "https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main", extensions: { githubWorkflowRepository: "org/repo" } };
  it("exact strings are exact: no prefix, no case folding", () => {
    expect(matcherProblem({ issuer: id.issuer, subject: id.subject }, id)).toBeUndefined();
    expect(matcherProblem({ subject: "https://github.com/org/repo" }, id)).toContain("is not");
    expect(matcherProblem({ issuer: id.issuer.toUpperCase() }, id)).toContain("is not");
  });
  it("regular expressions search, as Go's MatchString: unanchored unless ^…$", () => {
    expect(matcherProblem({ subjectRegExp: "org/repo" }, id)).toBeUndefined();
    expect(matcherProblem({ subjectRegExp: "^org/repo" }, id)).toContain("does not match");
    expect(matcherProblem({ subjectRegExp: "^https://github\\.com/org/repo/\\.github/workflows/.*@refs/heads/main$" }, id)).toBeUndefined();
    // The classic mistake an unanchored pattern lets through, which ^…$ prevents.
    const evil = { ...id, subject: "https://github.com/evil/org/repo/.github/workflows/x.yml@refs/heads/main" };
    expect(matcherProblem({ subjectRegExp: "org/repo/" }, evil)).toBeUndefined();
    expect(matcherProblem({ subjectRegExp: "^https://github\\.com/org/repo/" }, evil)).toContain("does not match");
  });
  it("a value too long for a regular expression does not match", () => {
    expect(matcherProblem({ subjectRegExp: "a" }, { ...id, subject: "a".repeat(1025) })).toContain("too long");
  });
  it("extensions are exact, absent ones named", () => {
    expect(matcherProblem({ extensions: { githubWorkflowRepository: "org/repo" } }, id)).toBeUndefined();
    expect(matcherProblem({ extensions: { githubWorkflowRepository: "org/other" } }, id)).toContain('githubWorkflowRepository is "org/repo", not "org/other"');
    expect(matcherProblem({ extensions: { buildTrigger: "push" } }, id)).toContain("buildTrigger is absent");
  });
});

describe("compileIdentityRegExp", () => {
  const accepted = ["", "(ab)+", "(a+)?", "(a|b)c*", "^https://github\\.com/(org1|org2)/[^/]+/\\.github/workflows/.+@refs/(heads|tags)/.*$", "^https://github\\.com/org/.*$", "a|b", "(a)(?:b)+", "[a-z0-9._-]+", "[^/]+", "\\d\\w\\b\\.", "a{2,5}", "\\x41", "x{1000}", "[\\]]"];
  for (const text of accepted) {
    it(`accepts ${JSON.stringify(text)}`, () => expect(compileIdentityRegExp(text)).toMatchObject({ ok: true }));
  }
  const refused: [string, string][] = [
    ["(?i)github", "(?…) group"],
    ["(?=x)", "(?…) group"],
    ["(?<name>x)", "(?…) group"],
    ["(?P<name>x)", "(?…) group"],
    ["(a)\\1", "backreferences"],
    ["\\pL", "Unicode classes"],
    ["\\p{Greek}", "Unicode classes"],
    ["a\\sb", "ASCII whitespace"],
    ["\\Aabc\\z", "read differently"],
    ["\\Q.*\\E", "read differently"],
    ["\\x{41}", "read differently"],
    ["[[:alpha:]]", "POSIX class"],
    ["[]a]", "empty class"],
    ["[^]a]", "empty class"],
    ["a{1001}", "more than 1000"],
    ["\\", "ends with a backslash"],
    ["(", "is not valid"],
    ["\\e", "is not valid"],
    ["x".repeat(1025), "over 1024 characters"],
    ["(a+)+$", "backtracks exponentially"],
    ["^(a|aa)*$", "backtracks exponentially"],
    ["((ab)*c)+", "backtracks exponentially"],
    ["(?:x{2,})*", "backtracks exponentially"],
  ];
  for (const [text, why] of refused) {
    it(`refuses ${JSON.stringify(text.slice(0, 20))}, saying why`, () => {
      const r = compileIdentityRegExp(text);
      expect(r.ok).toBe(false);
      expect(!r.ok && r.why).toContain(why);
    });
  }
});
