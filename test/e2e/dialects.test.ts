// End to end: Kyverno and policy-controller policies, imported as they are, deciding cosign-signed
// images in a real docker-registry on loopback (signatures written as cosign writes them, see
// ./lab/cosign.ts): right key, wrong key, unsigned, count not met (Kyverno) / one of two matching
// policies failing (policy-controller), Audit / warn mode, and an image no rule matches. Kyverno's
// ImageValidatingPolicy and NamespacedImageValidatingPolicy (key attestor) too, the latter by namespace.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { makeCosignKey, signImage, type CosignKey } from "./lab/cosign";
import { pushImage, writeOciImage } from "./lab/oci-image";
import { startRegistry, type Registry } from "./lab/registry";
import { startWorker, type WorkerHandle } from "./lab/worker";
import { callApi, type ApiVerdict as Verdict } from "./lab/api";
import { attachKeylessBundle, pushKeylessSignatures } from "./lab/keyless";
import {
  bundleJson,
  cosignPayload,
  cosignStatement,
  createSigstorePki,
  DEFAULT_IDENTITY,
  IN_TOTO_PAYLOAD_TYPE,
  legacyLayer,
  signKeyless,
  toPem,
  type SigstorePki,
} from "../support/sigstore-pki";

const SIGNED = "dialects/signed"; // alice signs
const BOB = "dialects/bob"; // bob signs
const UNSIGNED = "dialects/unsigned"; // nobody signs
const ALICE_ONLY = "dialects/alice-only"; // alice signs; the policies also want bob
const AUDIT = "dialects/audit"; // nobody signs; its rule only reports
const ELSEWHERE = "dialects/elsewhere"; // no rule matches
const KEYLESS = "dialects/keyless"; // signed keylessly (legacy .sig layer) by DEFAULT_IDENTITY under the private PKI
const KEYLESS_BUNDLE = "dialects/keyless-bundle"; // the same as a v0.3 bundle
const KEYLESS_OTHER = "dialects/keyless-other"; // signed keylessly by another subject
const REPOS = [SIGNED, BOB, UNSIGNED, ALICE_ONLY, AUDIT, ELSEWHERE, KEYLESS, KEYLESS_BUNDLE, KEYLESS_OTHER];
const OTHER_SUBJECT = "https://github.com/mallory/fork/.github/workflows/release.yml@refs/heads/main";

const indent = (text: string, by: string) => text.trim().replace(/^/gm, by);

describe("Kyverno and policy-controller decisions against a real registry", () => {
  let registry: Registry;
  let worker: WorkerHandle;
  let booting: Promise<WorkerHandle> | undefined;
  let work: string;
  const keys = {} as Record<"alice" | "bob", CosignKey>;
  let pki: SigstorePki;
  const pem = (spki: Uint8Array) => toPem("PUBLIC KEY", spki).trim();

  const image = (repo: string) => `${registry.host}/${repo}:v1`;
  const codes = (v: Verdict) => v.reasons.map((r) => r.code);

  async function decide(policy: string, img: string, context?: Record<string, unknown>): Promise<Verdict> {
    const { status, json } = await callApi(worker.url, "POST", "/v1/decisions", worker.clientToken, JSON.stringify({ image: img, policy, ...(context ? { context } : {}) }));
    expect(status, `${policy} ${img}: ${JSON.stringify(json)}`).toBe(200);
    return json as Verdict;
  }

  /** A ClusterPolicy after Kyverno's verify-image sample, one rule per scenario. */
  function kyverno(): string {
    const key = (...names: (keyof typeof keys)[]) => `publicKeys: |-\n${indent(names.map((n) => keys[n].publicKeyPem).join("\n"), "  ")}\nrekor:\n  ignoreTlog: true`;
    const rule = (name: string, repos: string[], attestors: string, extra = "") => `    - name: ${name}
      match:
        any:
          - resources:
              kinds: [Pod]
      verifyImages:
        - imageReferences:
${repos.map((r) => `            - "${registry.host}/${r}:*"`).join("\n")}
${extra}          attestors:
${indent(attestors, "            ")}`;
    const entries = (count: number | undefined, ...keyYaml: string[]) =>
      `- ${count !== undefined ? `count: ${count}\n  ` : ""}entries:\n${keyYaml.map((k) => `    - keys:\n${indent(k, "        ")}`).join("\n")}`;
    return `apiVersion: kyverno.io/v1
kind: ClusterPolicy
metadata:
  name: check-image
spec:
  validationFailureAction: Enforce
  background: false
  rules:
${rule("alice-signed", [SIGNED, UNSIGNED, BOB], entries(undefined, key("alice")))}
${rule("alice-and-bob", [ALICE_ONLY], entries(undefined, key("alice", "bob")))}
${rule("audit-only", [AUDIT], entries(1, key("alice")), "          failureAction: Audit\n")}
${rule("keyless", [KEYLESS, KEYLESS_BUNDLE, KEYLESS_OTHER], `- entries:\n    - keyless:\n${indent(keylessAttestor(), "        ")}`)}
`;
  }

  /**
   * An (Namespaced)ImageValidatingPolicy after the upstream docs' key sample: alice's key as a cosign
   * attestor (no Rekor: ctlog.insecureIgnoreTlog), every image of images.containers signed by it.
   */
  function imageValidatingPolicy(kind: "ImageValidatingPolicy" | "NamespacedImageValidatingPolicy", name: string, namespace?: string): string {
    return `apiVersion: policies.kyverno.io/v1beta1
kind: ${kind}
metadata:
  name: ${name}
${namespace ? `  namespace: ${namespace}\n` : ""}spec:
  validationActions: [Deny]
  matchConstraints:
    resourceRules:
      - apiGroups: [""]
        apiVersions: ["v1"]
        operations: ["CREATE", "UPDATE"]
        resources: ["pods"]
  matchImageReferences:
${[SIGNED, BOB, UNSIGNED].map((r) => `    - glob: "${registry.host}/${r}:*"`).join("\n")}
  attestors:
    - name: alice
      cosign:
        key:
          data: |
${indent(keys.alice.publicKeyPem, "            ")}
        ctlog:
          url: https://rekor.sigstore.dev
          insecureIgnoreTlog: true
  validations:
    - expression: images.containers.map(image, verifyImageSignatures(image, [attestors.alice])).all(e, e > 0)
      message: failed the image Signature verification
`;
  }

  /** Kyverno's keyless attestor for the private PKI: a wildcard subject, roots and the logs' keys. */
  function keylessAttestor(): string {
    const subject = DEFAULT_IDENTITY.subject.replace("/trustgate/demo/", "/trustgate/*/");
    return `subject: "${subject}"
issuer: ${DEFAULT_IDENTITY.issuer}
roots: |
${indent(pki.intermediate.pem.trim() + "\n" + pki.root.pem.trim(), "  ")}
rekor:
  url: ${pki.rekor.baseUrl}
  pubkey: |
${indent(pem(pki.rekor.key.spki), "    ")}
ctlog:
  pubkey: |
${indent(pem(pki.ctLog.key.spki), "    ")}`;
  }

  /** ClusterImagePolicies after policy-controller's samples; `noMatch` goes into config-policy-controller. */
  function policyController(noMatch?: string): string {
    const cip = (name: string, globs: string[], authorityKeys: (keyof typeof keys)[], mode = "enforce") => `apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata:
  name: ${name}
spec:
  mode: ${mode}
  images:
${globs.map((g) => `    - glob: "${registry.host}/${g}**"`).join("\n")}
  authorities:
${authorityKeys.map((k) => `    - name: ${k}-key\n      key:\n        data: |\n${indent(keys[k].publicKeyPem, "          ")}`).join("\n")}
`;
    return [
      cip("alice-signed", [SIGNED, UNSIGNED, BOB, ALICE_ONLY], ["alice"]),
      cip("bob-too", [ALICE_ONLY], ["bob"]),
      cip("audit-only", [AUDIT], ["alice"], "warn"),
      `apiVersion: policy.sigstore.dev/v1beta1
kind: ClusterImagePolicy
metadata:
  name: keyless
spec:
  images:
${[KEYLESS, KEYLESS_BUNDLE, KEYLESS_OTHER].map((g) => `    - glob: "${registry.host}/${g}**"`).join("\n")}
  authorities:
    - name: release-workflow
      keyless:
        url: https://fulcio.test
        trustRootRef: private-sigstore
        identities:
          - issuer: ${DEFAULT_IDENTITY.issuer}
            subjectRegExp: ^https://github\\.com/trustgate/
      ctlog:
        url: ${pki.rekor.baseUrl}
        trustRootRef: private-sigstore
`,
      `apiVersion: policy.sigstore.dev/v1alpha1
kind: TrustRoot
metadata:
  name: private-sigstore
spec:
  sigstoreKeys:
    certificateAuthorities:
      - subject: { organization: trustgate, commonName: test }
        uri: https://fulcio.test
        certChain: ${Buffer.from(pki.intermediate.pem + pki.root.pem).toString("base64")}
    tLogs:
      - baseURL: ${pki.rekor.baseUrl}
        hashAlgorithm: sha-256
        publicKey: ${Buffer.from(pem(pki.rekor.key.spki)).toString("base64")}
    ctLogs:
      - baseURL: ${pki.ctLog.baseUrl}
        hashAlgorithm: sha-256
        publicKey: ${Buffer.from(pem(pki.ctLog.key.spki)).toString("base64")}
`,
      ...(noMatch ? [`apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: config-policy-controller\n  namespace: cosign-system\ndata:\n  no-match-policy: ${noMatch}\n`] : []),
    ].join("---\n");
  }

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "trustgate-e2e-dialects-"));
    booting = startWorker({ vars: { TAG_CACHE_TTL_SECONDS: "0", TRUST_RECHECK_SECONDS: "0" } });
    registry = await startRegistry();
    keys.alice = makeCosignKey("alice");
    keys.bob = makeCosignKey("bob");
    const one = await writeOciImage(join(work, "one"), { seed: "dialects-one" });
    await Promise.all(REPOS.map((repo) => pushImage(join(work, "one"), image(repo))));
    await signImage(registry, SIGNED, one.manifestDigest, [keys.alice]);
    await signImage(registry, BOB, one.manifestDigest, [keys.bob]);
    await signImage(registry, ALICE_ONLY, one.manifestDigest, [keys.alice]);
    pki = await createSigstorePki();
    const legacy = await signKeyless(pki, { kind: "message", payload: cosignPayload(`${registry.host}/${KEYLESS}`, one.manifestDigest) });
    await pushKeylessSignatures(registry, KEYLESS, one.manifestDigest, [legacyLayer(legacy)]);
    const bundled = await signKeyless(pki, { kind: "dsse", payloadType: IN_TOTO_PAYLOAD_TYPE, payload: cosignStatement(one.manifestDigest) });
    await attachKeylessBundle(registry, KEYLESS_BUNDLE, one.manifestDigest, await bundleJson(bundled, "0.3"));
    const other = await signKeyless(pki, { kind: "message", payload: cosignPayload(`${registry.host}/${KEYLESS_OTHER}`, one.manifestDigest) }, { subject: OTHER_SUBJECT });
    await pushKeylessSignatures(registry, KEYLESS_OTHER, one.manifestDigest, [legacyLayer(other)]);
    worker = await booting;
    const puts: [string, string, string][] = [
      ["e2e-kyverno", "kyverno", kyverno()],
      ["e2e-ivp", "kyverno", imageValidatingPolicy("ImageValidatingPolicy", "check-image-ivp")],
      ["e2e-nivp", "kyverno", imageValidatingPolicy("NamespacedImageValidatingPolicy", "check-image-nivp", "team-a")],
      ["e2e-pc", "policy-controller", policyController()],
      ["e2e-pc-allow", "policy-controller", policyController("allow")],
    ];
    for (const [id, format, text] of puts) {
      const put = await callApi(worker.url, "PUT", `/v1/policies/${id}?format=${format}`, worker.adminToken, text, "application/yaml");
      expect(put.status, `PUT ${id}: ${JSON.stringify(put.json)}\n${text}`).toBe(200);
    }
  });

  afterAll(async () => {
    await (await booting?.catch(() => undefined))?.stop();
    await registry?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  describe("format=kyverno", () => {
    it("right key: allowed, naming the policy and rule", async () => {
      const v = await decide("e2e-kyverno", image(SIGNED));
      expect(v, JSON.stringify(v)).toMatchObject({ decision: "allow", rule: "check-image/alice-signed" });
      expect(codes(v)).toEqual(["COSIGN_SIGNED"]);
    });

    it("wrong key and unsigned: denied in Kyverno's words, with the attestor's path", async () => {
      for (const repo of [BOB, UNSIGNED]) {
        const v = await decide("e2e-kyverno", image(repo));
        expect(v.decision, JSON.stringify(v)).toBe("deny");
        expect(v.reasons[0]!.code).toBe("ANY_OF_UNMET");
        expect(v.reasons[0]!.message).toMatch(new RegExp(`^failed to verify image ${registry.host}/${repo}:v1: \\.attestors\\[0\\]\\.entries\\[0\\]\\.keys: `));
      }
    });

    it("count not met: an attestor set without count needs every key of publicKeys", async () => {
      const v = await decide("e2e-kyverno", image(ALICE_ONLY));
      expect(v.decision, JSON.stringify(v)).toBe("deny");
      expect(v.reasons[0]).toMatchObject({ code: "ANY_OF_UNMET", count: 2, passed: 1, failed: [".attestors[0].entries[0].keys[1]"] });
    });

    it("failureAction: Audit: the failure is an allow that keeps its reasons and says so", async () => {
      const v = await decide("e2e-kyverno", image(AUDIT));
      expect(v.decision, JSON.stringify(v)).toBe("allow");
      expect(codes(v)[0]).toBe("ANY_OF_UNMET");
      expect(codes(v)).toContain("AUDIT_MODE");
    });

    it("no matching rule: the image is not checked, as Kyverno does; excluded kinds neither", async () => {
      const v = await decide("e2e-kyverno", image(ELSEWHERE));
      expect(v).toMatchObject({ decision: "allow", rule: null });
      expect(codes(v)).toEqual(["NO_RULE_APPLIES"]);
      expect((await decide("e2e-kyverno", image(UNSIGNED), { kind: "Service" })).decision).toBe("allow");
    });
  });

  describe("format=kyverno: ImageValidatingPolicy and NamespacedImageValidatingPolicy", () => {
    const ivpDenial = (repo: string) => new RegExp(`^failed the image Signature verification: ${registry.host}/${repo}:v1: alice: `);

    it("ImageValidatingPolicy: alice's signature allowed; bob's and none denied, naming the policy and attestor", async () => {
      const v = await decide("e2e-ivp", image(SIGNED), { kind: "Pod", namespace: "team-b" });
      expect(v, JSON.stringify(v)).toMatchObject({ decision: "allow", rule: "check-image-ivp" });
      expect(codes(v)).toEqual(["COSIGN_SIGNED"]);
      for (const repo of [BOB, UNSIGNED]) {
        const denied = await decide("e2e-ivp", image(repo), { kind: "Pod", namespace: "team-b" });
        expect(denied, JSON.stringify(denied)).toMatchObject({ decision: "deny", rule: "check-image-ivp" });
        expect(denied.reasons[0]).toMatchObject({ code: "ANY_OF_UNMET", rule: "check-image-ivp" });
        expect(denied.reasons[0]!.message).toMatch(ivpDenial(repo));
      }
    });

    it("NamespacedImageValidatingPolicy in its namespace: alice's signature allowed, unsigned denied naming <namespace>/<name>", async () => {
      const v = await decide("e2e-nivp", image(SIGNED), { kind: "Deployment", namespace: "team-a" });
      expect(v, JSON.stringify(v)).toMatchObject({ decision: "allow", rule: "team-a/check-image-nivp" });
      expect(codes(v)).toEqual(["COSIGN_SIGNED"]);
      const denied = await decide("e2e-nivp", image(UNSIGNED), { kind: "Pod", namespace: "team-a" });
      expect(denied, JSON.stringify(denied)).toMatchObject({ decision: "deny", rule: "team-a/check-image-nivp" });
      expect(denied.reasons[0]).toMatchObject({ code: "ANY_OF_UNMET", rule: "team-a/check-image-nivp" });
      expect(denied.reasons[0]!.message).toMatch(ivpDenial(UNSIGNED));
    });

    it("NamespacedImageValidatingPolicy in another namespace: no rule applies, so the image is allowed unchecked, as Kyverno does", async () => {
      for (const repo of [UNSIGNED, BOB]) {
        const v = await decide("e2e-nivp", image(repo), { kind: "Pod", namespace: "team-b" });
        expect(v, JSON.stringify(v)).toMatchObject({ decision: "allow", rule: null });
        expect(codes(v)).toEqual(["NO_RULE_APPLIES"]);
      }
    });
  });

  describe("keyless, under a private Sigstore given in the policy", () => {
    it.each([
      ["e2e-kyverno", "check-image/keyless"],
      ["e2e-pc", "keyless"],
    ])("%s: the identity the policy names (legacy and bundle) → allow; another subject → deny", async (policy, rule) => {
      for (const repo of [KEYLESS, KEYLESS_BUNDLE]) {
        const v = await decide(policy, image(repo));
        expect(v, JSON.stringify(v)).toMatchObject({ decision: "allow", rule });
        expect(codes(v)).toContain("COSIGN_SIGNED");
      }
      const other = await decide(policy, image(KEYLESS_OTHER));
      expect(other.decision, JSON.stringify(other)).toBe("deny");
      expect(codes(other)).toContain("COSIGN_IDENTITY_MISMATCH");
      expect(JSON.stringify(other.reasons)).toContain("mallory");
    });
  });

  describe("format=policy-controller", () => {
    it("right key: allowed by the one matching policy", async () => {
      const v = await decide("e2e-pc", image(SIGNED));
      expect(v, JSON.stringify(v)).toMatchObject({ decision: "allow", rule: "alice-signed" });
    });

    it("wrong key and unsigned: denied, naming the failed policy and authority", async () => {
      for (const repo of [BOB, UNSIGNED]) {
        const v = await decide("e2e-pc", image(repo));
        expect(v.decision, JSON.stringify(v)).toBe("deny");
        expect(v.reasons[0]!.message).toMatch(new RegExp(`^failed policy: alice-signed: ${registry.host}/${repo}:v1: alice-key: `));
      }
    });

    it("every matching policy must pass: alice's passes, bob's fails, the image is denied", async () => {
      const v = await decide("e2e-pc", image(ALICE_ONLY));
      expect(v, JSON.stringify(v)).toMatchObject({ decision: "deny", rule: "alice-signed, bob-too" });
      expect(v.reasons.filter((r) => r.code === "ANY_OF_UNMET").map((r) => r.rule)).toEqual(["bob-too"]);
    });

    it("mode: warn: the failure is an allow that says so", async () => {
      const v = await decide("e2e-pc", image(AUDIT));
      expect(v.decision, JSON.stringify(v)).toBe("allow");
      expect(codes(v)).toContain("AUDIT_MODE");
      expect(v.reasons.find((r) => r.code === "AUDIT_MODE")!.message).toContain("warn mode");
    });

    it("no matching policy: denied by default, allowed when config-policy-controller says allow", async () => {
      const denied = await decide("e2e-pc", image(ELSEWHERE));
      expect(denied).toMatchObject({ decision: "deny", rule: null });
      expect(denied.reasons[0]!.message).toContain("no matching policies");
      const allowed = await decide("e2e-pc-allow", image(ELSEWHERE));
      expect(allowed.decision).toBe("allow");
      expect(codes(allowed)).toEqual(["NO_RULE_APPLIES"]);
    });
  });
});
