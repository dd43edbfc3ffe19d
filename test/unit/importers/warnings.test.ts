// Import warnings, every dialect: what imports but probably does not do what its author meant.
/// <reference types="vite/client" />
import { describe, expect, it } from "vitest";
import { importPolicy } from "../../../src/policy/import";
import { defaultRequirementKinds as kinds } from "../../../src/requirements";
import cosignPub from "./fixtures/keys/cosign-test.pub?raw";
import portierisdemoPub from "./fixtures/keys/portierisdemo.pub?raw";
import thinkdemoPub from "./fixtures/keys/thinkdemo.pub?raw";

const KEY = cosignPub.trim();
/** The same key as written by another hand: other indentation, other line breaks. */
const SAME_KEY = KEY.split("\n").map((line) => `  ${line}`).join("\n");
const OTHER_KEY = thinkdemoPub.trim();
const warningsOf = async (document: unknown, format: string) => (await importPolicy(JSON.stringify(document), format, kinds)).warnings;
const native = (rules: unknown[]) => ({ rules });

describe("warnings: distinct signers", () => {
  it("native cosign: one key under two names is one signer, and a threshold of 2 over it cannot be met", async () => {
    const doc = native([
      { pattern: "ghcr.io/team/*", require: [{ type: "cosign", keys: [{ name: "alice", key: KEY }, { name: "alias", key: SAME_KEY }], threshold: 2 }] },
    ]);
    expect(await warningsOf(doc, "native")).toEqual([
      {
        path: "rules[0].require[0].keys[1]",
        message: '"alias" is the same public key as "alice" (rules[0].require[0].keys[0]): they count as one signer',
      },
      {
        path: "rules[0].require[0].threshold",
        message: "a threshold of 2 cannot be met by 1 distinct key: every image is denied (validation threshold not reached)",
      },
    ]);
    const distinct = native([{ pattern: "ghcr.io/team/*", require: [{ type: "cosign", keys: [{ name: "alice", key: KEY }, { name: "bob", key: OTHER_KEY }], threshold: 2 }] }]);
    expect(await warningsOf(distinct, "native")).toEqual([]);
  });

  it("native cosign: a threshold above the keys imports, with a warning (it denies at decision time)", async () => {
    const doc = native([{ pattern: "ghcr.io/team/*", require: [{ type: "cosign", keys: [{ name: "alice", key: KEY }], threshold: 2 }] }]);
    const imported = await importPolicy(JSON.stringify(doc), "native", kinds);
    expect(imported.policy.rules[0]?.require[0]).toMatchObject({ threshold: 2 });
    expect(imported.warnings).toEqual([{ path: "rules[0].require[0].threshold", message: expect.stringContaining("a threshold of 2 cannot be met by 1 distinct key") }]);
  });

  it("native notary: bob and targets/bob are one role", async () => {
    const doc = native([
      {
        pattern: "docker.io/org/*",
        require: [{ type: "notary", server: "https://notary.docker.io", signers: [{ name: "bob" }, { name: "targets/bob" }, { name: "alice" }], signerThreshold: 3 }],
      },
    ]);
    expect(await warningsOf(doc, "native")).toEqual([
      {
        path: "rules[0].require[0].signers[1]",
        message: '"targets/bob" names the same role as "bob" (rules[0].require[0].signers[0]), targets/bob: it counts as one signer',
      },
      { path: "rules[0].require[0].signerThreshold", message: "a signerThreshold of 3 cannot be met by 2 distinct roles: every image is denied" },
    ]);
  });

  it("Connaisseur: delegations bob and targets/bob", async () => {
    const doc = {
      validators: [{ name: "default", type: "notaryv1", host: "notary.docker.io", trust_roots: [{ name: "default", key: KEY }] }],
      policy: [{ pattern: "docker.io/org/*:*", with: { delegations: ["bob", "targets/bob"] } }],
    };
    expect(await warningsOf(doc, "connaisseur")).toEqual([
      { path: "policy[0].with.delegations[1]", message: expect.stringContaining('"targets/bob" names the same role as "bob" (policy[0].with.delegations[0])') },
    ]);
  });

  it("Portieris: two signer secrets for one role", async () => {
    const secret = (name: string, signer: string, key: string) => ({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name, namespace: "default" },
      type: "Opaque",
      data: { name: btoa(signer), publicKey: btoa(key) },
    });
    const doc = [
      {
        apiVersion: "portieris.cloud.ibm.com/v1",
        kind: "ClusterImagePolicy",
        metadata: { name: "c" },
        spec: { repositories: [{ name: "docker.io/org/*", policy: { trust: { enabled: true, signerSecrets: [{ name: "one" }, { name: "two" }] } } }] },
      },
      secret("one", "alice", OTHER_KEY),
      secret("two", "alice", portierisdemoPub.trim()),
    ];
    const path = "[0].spec.repositories[0].policy.trust.signerSecrets";
    expect(await warningsOf(doc, "portieris")).toEqual([
      { path: `${path}[1]`, message: `"alice" names the same role as "alice" (${path}[0]), targets/alice: it counts as one signer` },
    ]);
  });

  it("containers-policy: the same sigstore key twice in keyDatas", async () => {
    const doc = {
      policy: {
        default: [{ type: "reject" }],
        transports: { docker: { "registry.example.com": [{ type: "sigstoreSigned", keyDatas: [btoa(KEY), btoa(`${SAME_KEY}\n`)] }] } },
      },
      "registries.d": [{ docker: { "registry.example.com": { "use-sigstore-attachments": true } } }],
    };
    const warnings = await warningsOf(doc, "containers-policy");
    expect(warnings).toEqual([{ path: expect.stringMatching(/keyDatas\[1\]$/), message: expect.stringMatching(/^"key-2" is the same public key as "key-1" \(.*keyDatas\[0\]\): they count as one signer$/) }]);
  });
});

describe("warnings: a registry-wildcard allow beside rules for named registries", () => {
  it("warns at the allow, naming the registries whose rules it does not cover", async () => {
    const doc = native([
      { pattern: "*", require: [{ type: "allow" }] },
      { pattern: "docker.io/library/busybox", require: [{ type: "deny" }] },
      { pattern: "ghcr.io/team/*", require: [{ type: "cosign", keys: [{ name: "alice", key: KEY }] }] },
    ]);
    const warnings = await warningsOf(doc, "native");
    expect(warnings).toEqual([{ path: "rules[0]", message: expect.stringContaining('"*" allows, from any registry, every image no more specific rule matches') }]);
    expect(warnings[0]!.message).toContain("(docker.io, ghcr.io)");
    expect(warnings[0]!.message).toContain("a mirror, a pull-through cache");
  });

  it("says nothing when the catch-all denies or verifies, when no rule names a registry to guard, or when the allow names a domain", async () => {
    const quiet = [
      native([{ pattern: "*", require: [{ type: "deny" }] }, { pattern: "docker.io/library/*", require: [{ type: "allow" }] }]),
      native([{ pattern: "*", require: [{ type: "allow" }] }, { pattern: "docker.io/library/*", require: [{ type: "allow" }] }]),
      native([{ pattern: "*", require: [{ type: "cosign", keys: [{ name: "alice", key: KEY }] }] }, { pattern: "docker.io/library/busybox", require: [{ type: "deny" }] }]),
      // A wildcard within one domain allows that domain's registries, not any registry.
      native([{ pattern: "*.example.com/*", require: [{ type: "allow" }] }, { pattern: "docker.io/library/busybox", require: [{ type: "deny" }] }]),
    ];
    for (const doc of quiet) expect(await warningsOf(doc, "native")).toEqual([]);
  });

  it("compares namespaced rules (Portieris ImagePolicies) within their namespace only", async () => {
    const policy = (kind: string, namespace: string | undefined, repositories: unknown[]) => ({
      apiVersion: "portieris.cloud.ibm.com/v1",
      kind,
      metadata: { name: "p", ...(namespace ? { namespace } : {}) },
      spec: { repositories },
    });
    const separate = [
      policy("ClusterImagePolicy", undefined, [{ name: "*", policy: {} }]),
      policy("ImagePolicy", "prod", [{ name: "docker.io/org/*", policy: { trust: { enabled: true } } }]),
    ];
    expect(await warningsOf(separate, "portieris")).toEqual([]);
    const together = [policy("ClusterImagePolicy", undefined, [{ name: "*", policy: {} }, { name: "docker.io/org/*", policy: { trust: { enabled: true } } }])];
    expect(await warningsOf(together, "portieris")).toEqual([{ path: "[0].spec.repositories[0]", message: expect.stringContaining("(docker.io)") }]);
  });
});
