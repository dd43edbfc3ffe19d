// The Kyverno importer: ClusterPolicy / Policy verifyImages rules in, an allMatching policy out;
// every field it reads, and every one it refuses with what to do instead.
/// <reference types="vite/client" />
import { describe, expect, it } from "vitest";
import { importIssues } from "./import-issues";
import { createSigstorePki, toPem } from "../../support/sigstore-pki";
import { compilePolicy } from "../../../src/policy/compile";
import { parseDocumentText } from "../../../src/policy/document";
import { importKyverno } from "../../../src/policy/importers/kyverno";
import { type PolicyIssue } from "../../../src/policy/model";
import { parseReference } from "../../../src/reference";
import { defaultRequirementKinds as kinds } from "../../../src/requirements";
import fixture from "./fixtures/kyverno-verify-images.yaml?raw";
import alicePub from "../../vectors/cosign/keys/alice.pub?raw";
import bobPub from "../../vectors/cosign/keys/bob.pub?raw";
import carolPub from "../../vectors/cosign/keys/carol.pub?raw";

const ALICE = alicePub.trim();
const BOB = bobPub.trim();
const CAROL = carolPub.trim();
const indent = (text: string, by: string) => text.replace(/^/gm, by);
const fromText = (text: string, warnings: PolicyIssue[] = []) => importKyverno(parseDocumentText(text).value, kinds, warnings);

const { expectIssue } = importIssues((text) => fromText(text as string));

/** A one-rule ClusterPolicy; `entry` is the verifyImages entry's YAML (indented by the caller's 8). */
const policy = (entry: string, extra = "") => `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: p
spec:
  validationFailureAction: Enforce
${extra}  rules:
    - name: r
      match:
        any:
          - resources:
              kinds: [Pod]
      verifyImages:
${indent(entry, "        ")}
`;
const keyEntry = (keyYaml = `publicKeys: |-\n${indent(ALICE, "  ")}\nrekor: { ignoreTlog: true }`) => `- imageReferences: ["ghcr.io/acme/*"]
  attestors:
    - entries:
        - keys:
${indent(keyYaml, "            ")}`;

describe("Kyverno importer: the fixture", () => {
  const warnings: PolicyIssue[] = [];
  const p = fromText(fixture, warnings);

  it("is an allMatching policy in Kyverno's pattern style where an unmatched image is not checked", () => {
    expect(p).toMatchObject({ patternStyle: "kyverno", ruleSelection: "allMatching", noMatch: "allow", mode: "enforce" });
    expect(p.rules.map((r) => r.name)).toEqual(["check-image/verify-signature", "check-image/two-teams", "team-a/team-a/keyed-basic-rule"]);
  });

  it("translates imageReferences, skipImageReferences, match/exclude (with Pod controllers), modes and overrides", () => {
    const [first] = p.rules;
    expect(first).toMatchObject({
      pattern: "ghcr.io/acme/*",
      skip: ["ghcr.io/acme/base*"],
      mode: "enforce",
      modeOverrides: [{ mode: "audit", namespaces: ["dev-*"] }],
      when: { kinds: ["Pod", "DaemonSet", "Deployment", "Job", "StatefulSet", "ReplicaSet", "ReplicationController", "CronJob"], excludeNamespaces: ["kube-system"] },
    });
  });

  it("splits several PEMs in publicKeys into entries, as ExpandStaticKeys, with count over them", () => {
    const req = p.rules[0]!.require;
    expect(req).toHaveLength(1);
    expect(req[0]).toMatchObject({
      type: "anyOf",
      count: 1,
      message: "failed to verify image {image}: {failures}",
      of: [
        { name: ".attestors[0].entries[0].keys[0]", requirement: { type: "cosign", keys: [{ name: ".attestors[0].entries[0].keys[0]", key: ALICE }] } },
        { name: ".attestors[0].entries[0].keys[1]", requirement: { type: "cosign", keys: [{ name: ".attestors[0].entries[0].keys[1]", key: BOB }] } },
      ],
    });
  });

  it("every attestor set must pass; a set without count needs all its entries; nested attestors nest", () => {
    const req = p.rules[1]!.require;
    expect(req.map((r) => [r.type, r.count])).toEqual([
      ["anyOf", 1],
      ["anyOf", 2],
      // mutateDigest: false with verifyDigest (default true): the image must come with a digest.
      ["digestPinned", undefined],
    ]);
    expect(req[1]).toMatchObject({ of: [{ requirement: { type: "cosign" } }, { name: ".attestors[1].entries[1].attestor", requirement: { type: "anyOf", count: 1 } }] });
    expect(req[2]).toEqual({ type: "digestPinned", message: "missing digest for {image}" });
    expect(p.rules[1]!.when).toEqual({ kinds: ["Deployment"] });
  });

  it("a namespaced Policy acts in its own namespace; failureAction on the entry wins over the policy's", () => {
    expect(p.rules[2]).toMatchObject({ mode: "audit", when: { namespaces: ["team-a"] } });
    expect(p.rules[2]!.require.map((r) => r.type)).toEqual(["anyOf"]);
  });

  it("selects as Kyverno would", () => {
    const compiled = compilePolicy(p);
    const names = (image: string, context: Record<string, unknown>) => compiled.matchAll(parseReference(image), context).map((m) => m.rule.name);
    expect(names("ghcr.io/acme/app:v1", { namespace: "default", kind: "Pod" })).toEqual(["check-image/verify-signature"]);
    expect(names("ghcr.io/acme/base-image:v1", { namespace: "default", kind: "Pod" })).toEqual([]);
    expect(names("ghcr.io/acme/app:v1", { namespace: "kube-system", kind: "Pod" })).toEqual([]);
    expect(names("ghcr.io/team-a/app:v1", { namespace: "team-a", kind: "Pod" })).toEqual(["team-a/team-a/keyed-basic-rule"]);
    expect(names("ghcr.io/team-a/app:v1", { namespace: "team-b", kind: "Pod" })).toEqual([]);
  });
});

describe("Kyverno importer: fields", () => {
  it("validationFailureAction defaults to Audit, as Kyverno's CRD does", () => {
    const p = fromText(policy(keyEntry()).replace("  validationFailureAction: Enforce\n", ""));
    expect(p.rules[0]!.mode).toBe("audit");
  });

  it("accepts enforce/audit in any case and refuses other actions", () => {
    expect(fromText(policy(keyEntry()).replace("Enforce", "enforce")).rules[0]!.mode).toBe("enforce");
    expectIssue(policy(keyEntry()).replace("Enforce", "Block"), "spec.validationFailureAction", /expected Enforce or Audit/);
  });

  it("count larger than the entries is refused", () => {
    const text = policy(keyEntry()).replace(/( +)- entries:/, "$1- count: 2\n$1  entries:");
    expectIssue(text, "spec.rules[0].verifyImages[0].attestors[0].count", /count 2 is more than the 1 entries/);
  });

  it("keys without rekor.ignoreTlog need Rekor: refused, saying what to do", () => {
    expectIssue(policy(keyEntry(`publicKeys: |-\n${indent(ALICE, "  ")}`)), "spec.rules[0].verifyImages[0].attestors[0].entries[0].keys.rekor", /ignoreTlog: true/);
  });

  it.each([
    ["k8s://cosign-system/key", /k8s:\/\/ keys are references/],
    ["awskms://alias/key", /awskms:\/\/ keys are references/],
  ])("publicKeys %s is refused", (value, message) => {
    expectIssue(policy(keyEntry(`publicKeys: "${value}"\nrekor: { ignoreTlog: true }`)), "spec.rules[0].verifyImages[0].attestors[0].entries[0].keys.publicKeys", message);
  });

  it("secret and kms keys are refused", () => {
    expectIssue(policy(keyEntry(`secret: { name: k, namespace: n }\nrekor: { ignoreTlog: true }`)), "spec.rules[0].verifyImages[0].attestors[0].entries[0].keys.secret", /give the PEM public key/);
    expectIssue(policy(keyEntry(`kms: gcpkms://x\nrekor: { ignoreTlog: true }`)), "spec.rules[0].verifyImages[0].attestors[0].entries[0].keys.kms", /give the PEM public key/);
  });

  it("signatureAlgorithm other than sha256 is refused", () => {
    const text = policy(keyEntry(`publicKeys: |-\n${indent(ALICE, "  ")}\nsignatureAlgorithm: sha512\nrekor: { ignoreTlog: true }`));
    expectIssue(text, "spec.rules[0].verifyImages[0].attestors[0].entries[0].keys.signatureAlgorithm", /sha512 is not supported/);
  });

  const keylessEntry = (keyless: string) => policy(`- imageReferences: ["ghcr.io/*"]\n  attestors:\n    - entries:\n        - keyless:\n${indent(keyless, "            ")}`);

  it("keyless attestors become native keyless identities: wildcards as anchored regular expressions", () => {
    const p = fromText(
      keylessEntry(
        "subject: https://github.com/acme/*/.github/workflows/release.yml@refs/tags/v?\nissuer: https://token.actions.githubusercontent.com\nadditionalExtensions:\n  githubWorkflowSha: 0123abc\nrekor:\n  url: https://rekor.sigstore.dev\nctlog:\n  ignoreSCT: true",
      ),
    );
    expect(p.rules[0]!.require[0]).toMatchObject({
      type: "anyOf",
      of: [
        {
          name: ".attestors[0].entries[0].keyless",
          requirement: {
            type: "cosign",
            keyless: {
              identities: [
                {
                  issuer: "https://token.actions.githubusercontent.com",
                  subjectRegExp: "^https://github\\.com/acme/.*/\\.github/workflows/release\\.yml@refs/tags/v.$",
                  extensions: { githubWorkflowSHA: "0123abc" },
                },
              ],
              ignoreSCT: true,
            },
          },
        },
      ],
    });
  });

  it("keyless subjectRegExp passes through; a missing issuer accepts any, with a warning", () => {
    const warnings: PolicyIssue[] = [];
    const p = fromText(keylessEntry("subjectRegExp: ^ci@acme\\.com$"), warnings);
    expect(p.rules[0]!.require[0]).toMatchObject({ of: [{ requirement: { keyless: { identities: [{ issuerRegExp: ".*", subjectRegExp: "^ci@acme\\.com$" }] } } }] });
    expect(warnings.map((w) => w.message)).toContain("no issuer: a certificate from any OIDC issuer is accepted, as Kyverno accepts");
  });

  it("keyless roots, rekor.pubkey and ctlog.pubkey make one native trust root (a private Sigstore)", async () => {
    const pki = await createSigstorePki();
    const p = fromText(
      keylessEntry(
        `subject: a\nissuer: b\nroots: |\n${indent(pki.intermediate.pem.trim() + "\n" + pki.root.pem.trim(), "  ")}\nrekor:\n  url: ${pki.rekor.baseUrl}\n  pubkey: |\n${indent(toPem("PUBLIC KEY", pki.rekor.key.spki).trim(), "    ")}\nctlog:\n  pubkey: |\n${indent(toPem("PUBLIC KEY", pki.ctLog.key.spki).trim(), "    ")}`,
      ),
    );
    const keyless = (p.rules[0]!.require[0] as unknown as { of: { requirement: { keyless: Record<string, any> } }[] }).of[0]!.requirement.keyless;
    expect(keyless.trustRoot.certificateAuthorities[0].certChain.certificates).toHaveLength(2);
    expect(keyless.trustRoot.tlogs).toEqual([expect.objectContaining({ baseUrl: pki.rekor.baseUrl })]);
    expect(keyless.trustRoot.ctlogs).toHaveLength(1);
    expectIssue(keylessEntry(`subject: a\nissuer: b\nroots: |\n${indent(pki.root.pem.trim(), "  ")}`), "spec.rules[0].verifyImages[0].attestors[0].entries[0].keyless.rekor", /give rekor.pubkey/);
  });

  it("keyless with bad roots, a private Rekor without roots, or wildcard extensions is refused", () => {
    expectIssue(keylessEntry("subject: a\nissuer: b\nroots: x\nrekor: { ignoreTlog: true }\nctlog: { ignoreSCT: true }"), "spec.rules[0].verifyImages[0].attestors[0].entries[0].keyless.roots", /no PEM certificate/);
    expectIssue(keylessEntry("subject: a\nissuer: b\nrekor:\n  url: https://rekor.acme.internal"), "spec.rules[0].verifyImages[0].attestors[0].entries[0].keyless.rekor.url", /needs its key and your Fulcio roots/);
    expectIssue(keylessEntry(`subject: a\nissuer: b\nrekor:\n  pubkey: |\n${indent(ALICE, "    ")}`), "spec.rules[0].verifyImages[0].attestors[0].entries[0].keyless.rekor.pubkey", /needs your Fulcio roots too/);
    expectIssue(keylessEntry("subject: a\nissuer: b\nadditionalExtensions:\n  githubWorkflowRef: refs/*"), "spec.rules[0].verifyImages[0].attestors[0].entries[0].keyless.additionalExtensions.githubWorkflowRef", /exact value/);
  });

  it("certificate attestors, attestations and Notary are refused with what to do", () => {
    const certs = policy(`- imageReferences: ["ghcr.io/*"]\n  attestors:\n    - entries:\n        - certificates:\n            cert: x`);
    expectIssue(certs, "spec.rules[0].verifyImages[0].attestors[0].entries[0].certificates", /certificates attestors are not supported/);
    const attestations = policy(`${keyEntry()}\n  attestations:\n    - type: https://slsa.dev/provenance/v0.2`);
    expectIssue(attestations, "spec.rules[0].verifyImages[0].attestations", /attestations are not supported yet/);
    expectIssue(policy(`${keyEntry()}\n  type: Notary`), "spec.rules[0].verifyImages[0].type", /Notary is not supported/);
  });

  it("match on names or selectors is refused rather than widened", () => {
    const text = policy(keyEntry()).replace("kinds: [Pod]", "kinds: [Pod]\n              names: [web-*]");
    expectIssue(text, "spec.rules[0].match.any[0].resources.names", /namespace and kind only/);
  });

  it("a rule without verifyImages is skipped with a warning; preconditions are warned about", () => {
    const warnings: PolicyIssue[] = [];
    const text = `${policy(keyEntry())}    - name: other\n      validate:\n        message: x\n`;
    const p = fromText(text.replace("      match:\n", "      preconditions: {}\n      match:\n"), warnings);
    expect(p.rules).toHaveLength(1);
    expect(warnings.map((w) => w.message)).toEqual([
      "preconditions is not evaluated: the rule applies to every image it matches",
      "rule other has no verifyImages: trustgate checks image signatures only, and ignores it",
    ]);
  });

  it("an invalid imageReference is refused at its path; '?' is a wildcard", () => {
    expectIssue(policy(keyEntry().replace("ghcr.io/acme/*", "ghcr.io/ac me")), "spec.rules[0].verifyImages[0].imageReferences[0]", /whitespace/);
    const p = fromText(policy(keyEntry().replace("ghcr.io/acme/*", "ghcr.io/acme/app:v?")));
    expect(compilePolicy(p).matchAll(parseReference("ghcr.io/acme/app:v2"), {})).toHaveLength(1);
  });

  it("unknown fields are refused (nothing is dropped silently)", () => {
    expectIssue(policy(`${keyEntry()}\n  frobnicate: true`), "spec.rules[0].verifyImages[0].frobnicate", /unknown field/);
  });

  it("a Policy without a namespace, another kind, and an empty document are refused", () => {
    expectIssue(policy(keyEntry()).replace("kind: ClusterPolicy", "kind: Policy"), "metadata.namespace", /its namespace/);
    // A ClusterPolicy body under kind ImageValidatingPolicy is read as one (kyverno-ivp.test.ts) and refused.
    expectIssue(policy(keyEntry()).replace("kind: ClusterPolicy", "kind: ImageValidatingPolicy"), "apiVersion", /policies.kyverno.io/);
    expectIssue("apiVersion: v1\nkind: ConfigMap\n", "kind", /expected ClusterPolicy, Policy, ImageValidatingPolicy or NamespacedImageValidatingPolicy/);
  });

  it("match.any filters: kinds or namespaces are joined; one open filter matches everything; both named is refused", () => {
    const anyOf = (filters: string) => policy(keyEntry()).replace("          - resources:\n              kinds: [Pod]\n", filters);
    const kinds = fromText(anyOf("          - resources: { kinds: [Job] }\n          - resources: { kinds: [CronJob] }\n"));
    expect(kinds.rules[0]!.when).toEqual({ kinds: ["Job", "CronJob"] });
    const open = fromText(anyOf("          - resources: { kinds: [Job] }\n          - resources: {}\n"));
    expect(open.rules[0]!.when).toBeUndefined();
    expectIssue(anyOf("          - resources: { kinds: [Job] }\n          - resources: { namespaces: [a] }\n"), "spec.rules[0].match.any", /cannot be combined/);
  });

  it("autogen-controllers: none keeps the kinds as written", () => {
    const text = policy(keyEntry()).replace("  name: p\n", "  name: p\n  annotations:\n    pod-policies.kyverno.io/autogen-controllers: none\n");
    expect(fromText(text).rules[0]!.when).toEqual({ kinds: ["Pod"] });
  });

  it("uses carol's key where written (keys are kept byte for byte, trimmed)", () => {
    const p = fromText(policy(keyEntry(`publicKeys: |-\n${indent(CAROL, "  ")}\nrekor: { ignoreTlog: true }`)));
    expect(JSON.stringify(p)).toContain(JSON.stringify(CAROL));
  });
});
