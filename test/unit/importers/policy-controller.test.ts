// The policy-controller importer: ClusterImagePolicies (and config-policy-controller) in, an
// allMatching policy out; every field it reads, and every one it refuses with what to do instead.
/// <reference types="vite/client" />
import { beforeAll, describe, expect, it } from "vitest";
import { importIssues } from "./import-issues";
import { createSigstorePki, toPem, type SigstorePki } from "../../support/sigstore-pki";
import { compilePolicy } from "../../../src/policy/compile";
import { parseDocumentText } from "../../../src/policy/document";
import { importPolicyController } from "../../../src/policy/importers/policy-controller";
import { type PolicyIssue } from "../../../src/policy/model";
import { parseReference } from "../../../src/reference";
import { defaultRequirementKinds as kinds } from "../../../src/requirements";
import fixture from "./fixtures/policy-controller-cips.yaml?raw";
import alicePub from "../../vectors/cosign/keys/alice.pub?raw";
import bobPub from "../../vectors/cosign/keys/bob.pub?raw";

const ALICE = alicePub.trim();
const BOB = bobPub.trim();
const indent = (text: string, by: string) => text.replace(/^/gm, by);
const fromText = (text: string, warnings: PolicyIssue[] = []) => importPolicyController(parseDocumentText(text).value, kinds, warnings);

const { issuesOf, expectIssue } = importIssues((text) => fromText(text as string));

/** One ClusterImagePolicy with one authority (its YAML indented by the caller's 4). */
const cip = (authority: string, spec = "") => `apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata:
  name: cip
spec:
${spec}  images:
    - glob: "ghcr.io/**"
  authorities:
${indent(authority, "    ")}
`;
const keyAuthority = (extra = "") => `- key:
    data: |
${indent(ALICE, "      ")}
${extra}`;

let pki: SigstorePki;
beforeAll(async () => {
  pki = await createSigstorePki();
});

/** A TrustRoot with the test PKI's keys, as policy-controller stores them (base64 of PEM). */
const trustRoot = (name: string) => `apiVersion: policy.sigstore.dev/v1alpha1
kind: TrustRoot
metadata:
  name: ${name}
spec:
  sigstoreKeys:
    certificateAuthorities:
      - subject: { organization: test, commonName: test }
        uri: https://fulcio.test
        certChain: ${btoa(pki.intermediate.pem + pki.root.pem)}
    tLogs:
      - baseURL: ${pki.rekor.baseUrl}
        hashAlgorithm: sha-256
        publicKey: ${btoa(toPem("PUBLIC KEY", pki.rekor.key.spki))}
    ctLogs:
      - baseURL: ${pki.ctLog.baseUrl}
        hashAlgorithm: sha-256
        publicKey: ${btoa(toPem("PUBLIC KEY", pki.ctLog.key.spki))}
`;

describe("policy-controller importer: the fixture", () => {
  const warnings: PolicyIssue[] = [];
  const p = fromText(fixture, warnings);

  it("is an allMatching policy whose unmatched images follow config-policy-controller", () => {
    expect(p).toMatchObject({ patternStyle: "policy-controller", ruleSelection: "allMatching", noMatch: "warn" });
    expect(p.rules.map((r) => [r.name, r.mode])).toEqual([
      ["acme-signed", "enforce"],
      ["deployments-carol", "audit"],
      ["allow-base", "enforce"],
      ["block-legacy", "enforce"],
    ]);
  });

  it("authorities are any-of, named as policy-controller names them, sources become the signature repository", () => {
    expect(p.rules[0]!.require).toEqual([
      {
        type: "anyOf",
        count: 1,
        message: "failed policy: acme-signed: {image}: {failures}",
        of: [
          { name: "release-key", requirement: { type: "cosign", keys: [{ name: "release-key", key: ALICE }] } },
          { name: "authority-1", requirement: { type: "cosign", keys: [{ name: "authority-1", key: BOB }], signatureRepository: "registry.acme.internal/signatures" } },
        ],
      },
    ]);
  });

  it("static pass and fail, in policy-controller's words", () => {
    expect(p.rules[2]!.require[0]).toMatchObject({ of: [{ requirement: { type: "allow" } }] });
    expect(p.rules[3]!.require[0]).toMatchObject({ of: [{ requirement: { type: "deny", message: "disallowed by static policy: legacy images are retired" } }] });
  });

  it("match on resources becomes kinds; every matching policy applies", () => {
    expect(p.rules[1]!.when).toEqual({ kinds: ["Deployment"] });
    const compiled = compilePolicy(p);
    const names = (image: string, context: Record<string, unknown>) => compiled.matchAll(parseReference(image), context).map((m) => m.rule.name);
    expect(names("ghcr.io/acme/app:v1", { kind: "Deployment" })).toEqual(["acme-signed", "deployments-carol"]);
    expect(names("ghcr.io/acme/app:v1", { kind: "Pod" })).toEqual(["acme-signed"]);
    expect(names("ghcr.io/acme/team/app:v1", { kind: "Deployment" })).toEqual(["acme-signed"]);
    expect(names("nginx", {})).toEqual(["allow-base"]);
  });

  it("a TrustRoot no policy names is noted as unused; one without sigstoreKeys is refused", () => {
    const w: PolicyIssue[] = [];
    expect(issuesOf(`${fixture}\n---\napiVersion: policy.sigstore.dev/v1alpha1\nkind: TrustRoot\nmetadata:\n  name: tr\nspec: {}\n`)).toContainEqual({ path: "[5].spec.sigstoreKeys", message: "required: the Fulcio CA, Rekor and CT log keys" });
    fromText(`${fixture}\n---\n${trustRoot("tr")}`, w);
    expect(w.map((x) => x.message)).toContain("TrustRoot tr is not named by any trustRootRef: it is not used");
  });
});

describe("policy-controller importer: fields", () => {
  it("no-match-policy: deny without the ConfigMap, and for values policy-controller does not know", () => {
    expect(fromText(cip(keyAuthority())).noMatch).toBe("deny");
    const cm = (value: string) => `${cip(keyAuthority())}---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config-policy-controller\ndata:\n  no-match-policy: ${value}\n`;
    expect(fromText(cm("allow")).noMatch).toBe("allow");
    expect(fromText(cm("maybe")).noMatch).toBe("deny");
  });

  it("mode other than enforce or warn is refused", () => {
    expectIssue(cip(keyAuthority(), "  mode: audit\n"), "spec.mode", /expected enforce or warn/);
  });

  it("secretRef, kms and k8s:// keys are refused with what to do", () => {
    expectIssue(cip(`- key:\n    secretRef: { name: k }`), "spec.authorities[0].key.secretRef", /give the PEM public key in key.data/);
    expectIssue(cip(`- key:\n    kms: awskms://x`), "spec.authorities[0].key.kms", /give the PEM public key/);
    expectIssue(cip(`- key:\n    data: k8s://ns/secret`), "spec.authorities[0].key.data", /k8s:\/\/ keys are references/);
  });

  it("hashAlgorithm other than sha256 is refused", () => {
    expectIssue(cip(keyAuthority().replace("- key:\n", "- key:\n    hashAlgorithm: sha512\n")), "spec.authorities[0].key.hashAlgorithm", /sha512 is not supported/);
  });

  it("keyless authorities become native keyless identities (cosign's exact or regular-expression sides)", () => {
    const p = fromText(
      cip(`- name: ci\n  keyless:\n    url: https://fulcio.sigstore.dev\n    insecureIgnoreSCT: true\n    identities:\n      - issuer: https://token.actions.githubusercontent.com\n        subjectRegExp: ^https://github.com/acme/\n      - issuerRegExp: .*accounts.google.com\n        subject: ci@acme.com\n  ctlog:\n    url: https://rekor.sigstore.dev`),
    );
    expect(p.rules[0]!.require[0]).toMatchObject({
      of: [
        {
          name: "ci",
          requirement: {
            type: "cosign",
            keyless: {
              identities: [
                { issuer: "https://token.actions.githubusercontent.com", subjectRegExp: "^https://github.com/acme/" },
                { issuerRegExp: ".*accounts.google.com", subject: "ci@acme.com" },
              ],
              ignoreSCT: true,
            },
          },
        },
      ],
    });
  });

  it("keyless with a private Fulcio or Rekor but no TrustRoot, a CA, or a missing TrustRoot is refused", () => {
    const id = "    identities: [{ issuer: a, subject: b }]";
    expectIssue(cip(`- keyless:\n    url: https://fulcio.acme.internal\n${id}`), "spec.authorities[0].keyless.url", /private Fulcio/);
    expectIssue(cip(`- keyless:\n    trustRootRef: mine\n${id}`), "spec.authorities[0].keyless.trustRootRef", /no TrustRoot mine in the document/);
    expectIssue(cip(`- keyless:\n    ca-cert: { data: x }\n${id}`), "spec.authorities[0].keyless.ca-cert", /private Fulcio CA/);
    expectIssue(cip(`- keyless:\n${id}\n  ctlog:\n    url: https://rekor.acme.internal`), "spec.authorities[0].ctlog.url", /name a TrustRoot/);
    expectIssue(cip(`- keyless:\n    identities: [{ issuer: a }]`), "spec.authorities[0].keyless.identities[0].subject", /subject or subjectRegExp/);
  });

  it("keyless.trustRootRef names a TrustRoot of the stream: its sigstoreKeys become the native trust root", () => {
    const text = `${trustRoot("private")}---\n${cip(`- keyless:\n    url: https://fulcio.test\n    trustRootRef: private\n    identities: [{ issuer: a, subject: b }]\n  ctlog:\n    url: ${pki.rekor.baseUrl}\n    trustRootRef: private`)}`;
    const p = fromText(text);
    const keyless = (p.rules[0]!.require[0] as unknown as { of: { requirement: { keyless: Record<string, any> } }[] }).of[0]!.requirement.keyless;
    expect(keyless.identities).toEqual([{ issuer: "a", subject: "b" }]);
    expect(keyless).not.toHaveProperty("trustRootRef");
    expect(keyless.trustRoot.certificateAuthorities[0].certChain.certificates).toHaveLength(2);
    expect(keyless.trustRoot.tlogs).toEqual([expect.objectContaining({ baseUrl: pki.rekor.baseUrl })]);
    expect(keyless.trustRoot.ctlogs).toHaveLength(1);
    // ctlog naming another root than keyless cannot be honoured.
    expectIssue(text.replace("    trustRootRef: private\n", "    trustRootRef: other\n").replace("trustRootRef: private\n    identities", "trustRootRef: private\n    identities"), "[1].spec.authorities[0].ctlog.trustRootRef", /same TrustRoot/);
  });

  it("ctlog on a key authority, attestations and CUE/Rego policies are refused", () => {
    expectIssue(cip(keyAuthority("  ctlog:\n    url: https://rekor.sigstore.dev")), "spec.authorities[0].ctlog", /drop ctlog to verify by key alone/);
    expectIssue(cip(keyAuthority("  attestations:\n    - name: x\n      predicateType: y")), "spec.authorities[0].attestations", /attestations are not supported yet/);
    expectIssue(cip(keyAuthority(), "  policy:\n    type: cue\n    data: x\n"), "spec.policy", /CUE or Rego/);
  });

  it("signatureFormat bundle on a key authority is refused in policy-controller's words", () => {
    expectIssue(cip(keyAuthority("  signatureFormat: bundle")), "spec.authorities[0].signatureFormat", /the authority must be keyless/);
  });

  it("several PEMs in one key.data are refused: one key per authority", () => {
    const two = `- key:\n    data: |\n${indent(ALICE, "      ")}\n${indent(BOB, "      ")}`;
    expectIssue(cip(two), "spec.authorities[0].key.data", /one key per authority/);
  });

  it("the image patterns of a policy are bounded in total (each is matched against every image)", () => {
    const globs = Array.from({ length: 40 }, (_, i) => `    - glob: "ghcr.io/${String(i).padStart(4, "0")}${"x".repeat(1000)}/**"`).join("\n");
    expectIssue(cip(keyAuthority()).replace('    - glob: "ghcr.io/**"', globs), "", /the image patterns total \d+ characters, at most 32768/);
  });

  it("globs policy-controller would refuse are refused at their path", () => {
    expectIssue(cip(keyAuthority()).replace('"ghcr.io/**"', '"ghcr.io/app:v?"'), "spec.images[0].glob", /invalid glob/);
  });

  it("an authority with neither key nor static, an unknown resource, and another kind are refused", () => {
    expectIssue(cip(`- name: empty`), "spec.authorities[0]", /exactly one of key, keyless or static/);
    expectIssue(cip(keyAuthority(), "  match:\n    - resource: services\n"), "spec.match[0].resource", /not a resource trustgate decides/);
    expectIssue("apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\n", "kind", /expected ClusterImagePolicy/);
  });
});
