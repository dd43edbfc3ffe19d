// The hosts a policy rule names literally: its pattern's registry when written without a wildcard,
// and what its requirements name (trust server, lookaside, signature repository).
import { describe, expect, it } from "vitest";
import { egressFetch } from "../../src/adapters/egress";
import { compilePolicy } from "../../src/policy/compile";
import type { Requirement } from "../../src/policy/model";
import { compilePattern, literalRegistry } from "../../src/policy/pattern";
import type { VerifierDeps } from "../../src/policy/requirement-kinds";
import { ruleUpstreams, urlUpstream, verifierNaming } from "../../src/policy/upstreams";
import { parseReference } from "../../src/reference";
import { defaultRequirementKinds } from "../../src/requirements";

function upstreamsOf(pattern: string, require: Requirement[] = [{ type: "allow" }]) {
  const rule = { pattern, require };
  return ruleUpstreams({ index: 0, rule, pattern: compilePattern(pattern, "native") }, defaultRequirementKinds);
}

describe("literalRegistry", () => {
  it.each([
    ["10.0.0.5:5000/app/*", "10.0.0.5:5000"],
    ["10.0.0.5/app", "10.0.0.5"],
    ["[fd00::5]:5000/app/*", "[fd00::5]:5000"],
    ["registry.example.com/team/*:v1", "registry.example.com"],
    ["nginx", "docker.io"],
    ["*:5000/*", undefined],
    ["10.0.0.5:*/app/*", undefined],
    ["127.0.0.1:*/demo/*", undefined],
    ["*.example.com/*", undefined],
    ["*/app", undefined],
    ["*", undefined],
    ["*:v1", undefined],
  ])("%s names %s", (pattern, registry) => {
    expect(literalRegistry(compilePattern(pattern, "native"))).toBe(registry);
  });

  it("a wildcard inside a numeric host is no pattern at all", () => {
    expect(() => compilePattern("10.0.0.*:5000/*", "native")).toThrow(/after its last '\*' it must end in a fixed domain/);
  });
});

describe("ruleUpstreams", () => {
  it("names the pattern's registry, and each requirement's upstream, host:port as a URL reaches it", () => {
    expect(upstreamsOf("10.0.0.5:5000/app/*")).toEqual(["10.0.0.5:5000"]);
    expect(upstreamsOf("*:5000/*")).toEqual([]);
    expect(upstreamsOf("*", [{ type: "notary", server: "https://10.9.9.9" }])).toEqual(["10.9.9.9:443"]);
    expect(upstreamsOf("*", [{ type: "notary", server: "https://10.9.9.9:4443/base" }])).toEqual(["10.9.9.9:4443"]);
    expect(upstreamsOf("10.0.0.5:5000/app/*", [{ type: "signedBy", keys: ["k"], lookaside: "http://10.0.0.7/sigs" }])).toEqual([
      "10.0.0.5:5000",
      "10.0.0.7:80",
    ]);
    expect(
      upstreamsOf("*", [
        { type: "signedBy", keys: ["k"], lookaside: { default: "https://[fd00::8]/s", scopes: { "10.0.0.5:5000/app": "http://10.0.0.9:8080/s" } } },
      ]),
    ).toEqual(["[fd00::8]:443", "10.0.0.9:8080"]);
    expect(upstreamsOf("*", [{ type: "cosign", keys: [{ name: "a", key: "k" }], signatureRepository: "10.0.0.6:5000/sigs/app" }])).toEqual([
      "10.0.0.6:5000",
    ]);
    expect(upstreamsOf("*", [{ type: "cosign", keys: [{ name: "a", key: "k" }] }])).toEqual([]);
    expect(upstreamsOf("*", [{ type: "deny" }, { type: "future-kind", server: "https://10.0.0.1" }])).toEqual([]);
  });

  it("is computed once per compiled rule", () => {
    const compiled = compilePolicy({ mode: "enforce", patternStyle: "native", rules: [{ pattern: "10.0.0.5:5000/app/*", require: [{ type: "allow" }] }] });
    const match = compiled.match(parseReference("10.0.0.5:5000/app/web"))!;
    expect(ruleUpstreams(match, defaultRequirementKinds)).toBe(ruleUpstreams(match, defaultRequirementKinds));
  });

  it("urlUpstream: http(s) only, the scheme's port made explicit", () => {
    expect(urlUpstream("https://10.0.0.1")).toBe("10.0.0.1:443");
    expect(urlUpstream("http://10.0.0.1:8080/x")).toBe("10.0.0.1:8080");
    expect(urlUpstream("file:///etc/passwd")).toBeUndefined();
    expect(urlUpstream("not a url")).toBeUndefined();
  });
});

describe("verifierNaming", () => {
  const base = (fetch: VerifierDeps["fetch"]): VerifierDeps => ({
    fetch,
    trustCache: { get: async () => null, put: async () => {} },
    clock: { now: () => new Date() },
    counter: { count: () => {} },
    settings: { upstreamTimeoutMs: 1000, trustRecheckSeconds: 60, credentials: {} },
  });

  it("gives the same deps back when nothing is named, or the port cannot name", () => {
    const plain = base(async () => new Response());
    expect(verifierNaming(plain, ["10.0.0.5:5000"])).toBe(plain);
    const guarded = base(egressFetch(async () => new Response()));
    expect(verifierNaming(guarded, [])).toBe(guarded);
    expect(verifierNaming(guarded, ["registry.example.com"])).toBe(guarded);
  });

  it("one deps object per set of names, with the guard for them (so kinds reuse their clients)", () => {
    const fetch = egressFetch(async () => new Response());
    const guarded = base(fetch);
    const named = verifierNaming(guarded, ["10.0.0.5:5000"]);
    expect(named).not.toBe(guarded);
    expect(named.fetch).toBe(fetch.naming!(["10.0.0.5:5000"]));
    expect(named.trustCache).toBe(guarded.trustCache);
    expect(verifierNaming(guarded, ["10.0.0.5:5000"])).toBe(named);
  });
});
