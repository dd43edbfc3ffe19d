// The Portieris importer: ImagePolicy / ClusterImagePolicy objects and their Secrets in, Portieris's decisions out.
/// <reference types="vite/client" />
import { describe, expect, it } from "vitest";
import { compilePolicy } from "../../../src/policy/compile";
import { parseDocumentText } from "../../../src/policy/document";
import { importPortieris } from "../../../src/policy/importers/portieris";
import { parseReference } from "../../../src/reference";
import { defaultRequirementKinds as kinds } from "../../../src/requirements";
import imagePolicyList from "./fixtures/portieris-000-imagepolicy.yaml?raw";
import clusterPolicyStream from "./fixtures/portieris-001-clusterimagepolicy.yaml?raw";
import simplePolicy from "./fixtures/portieris-004-simple.yaml?raw";
import simplePolicyWithSecret from "./fixtures/portieris-004-simple-with-secret.yaml?raw";
import imageSigningKey from "./fixtures/keys/image-signing.gpg.asc?raw";
import labUserKey from "./fixtures/keys/lab-user.gpg.asc?raw";
import thinkdemoPub from "./fixtures/keys/thinkdemo.pub?raw";
import portierisdemoPub from "./fixtures/keys/portierisdemo.pub?raw";
import { importIssues } from "./import-issues";

const fromText = (text: string) => importPortieris(parseDocumentText(text).value, kinds);

const { issuesOf, expectIssue } = importIssues(importPortieris);

const THINKDEMO = thinkdemoPub.trim();
const PORTIERISDEMO = portierisdemoPub.trim();
const b64 = (text: string) => btoa(text);

function cluster(name: string, repositories: unknown[], apiVersion = "portieris.cloud.ibm.com/v1"): any {
  return { apiVersion, kind: "ClusterImagePolicy", metadata: { name }, spec: { repositories } };
}

function imagePolicy(namespace: string | undefined, name: string, repositories: unknown[]): any {
  return {
    apiVersion: "portieris.cloud.ibm.com/v1",
    kind: "ImagePolicy",
    metadata: { name, ...(namespace !== undefined ? { namespace } : {}) },
    spec: { repositories },
  };
}

function secret(name: string, namespace: string | undefined, signer: string, key: string): any {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, ...(namespace !== undefined ? { namespace } : {}) },
    type: "Opaque",
    data: { name: b64(signer), publicKey: b64(key) },
  };
}

const trust = (extra: Record<string, unknown> = {}) => ({ trust: { enabled: true, ...extra } });

describe("importPortieris: the seeds' policies", () => {
  it("imports seed 000's ImagePolicy and Secret from a kind: List, with IBM's regional trust server", () => {
    expect(fromText(imagePolicyList)).toEqual({
      mode: "enforce",
      patternStyle: "portieris",
      rules: [
        {
          pattern: "registry.ng.bluemix.net/my_namespace/*",
          // No trustServer: Portieris uses https://<registry host>:4443 for IBM's registries.
          require: [
            {
              type: "notary",
              server: "https://registry.ng.bluemix.net:4443",
              signers: [{ name: "thinkdemo", keys: [THINKDEMO] }],
            },
          ],
          description: "ImagePolicy default/myimagepolicy",
          namespace: "default",
        },
      ],
    });
  });

  it("imports seed 001's ClusterImagePolicy and Secret from a YAML stream", () => {
    expect(fromText(clusterPolicyStream)).toEqual({
      mode: "enforce",
      patternStyle: "portieris",
      rules: [
        { pattern: "*", require: [{ type: "allow" }], description: "ClusterImagePolicy portieris-default-cluster-image-policy" },
        {
          pattern: "192.168.49.2:30003/library/demo-api",
          require: [
            {
              type: "notary",
              server: "https://192.168.49.2:4443",
              signers: [{ name: "portierisdemo", keys: [PORTIERISDEMO] }],
            },
          ],
          description: "ClusterImagePolicy portieris-default-cluster-image-policy",
        },
      ],
    });
  });

  it("imports seed 004's simple signing ClusterImagePolicy with the Secret its keySecret names", () => {
    expect(fromText(simplePolicyWithSecret)).toEqual({
      mode: "enforce",
      patternStyle: "portieris",
      rules: [
        {
          pattern: "private.us.icr.io/mynamespace/*",
          // No storeURL: Portieris reads the registry's signature extension only (IBM Cloud Container Registry has it).
          require: [{ type: "signedBy", keys: [imageSigningKey.trim()] }],
          description: "ClusterImagePolicy mynamespace-cluster-image-policy",
        },
      ],
    });
  });

  it("asks for seed 004's Secret when the document leaves it out", () => {
    expectIssue(
      parseDocumentText(simplePolicy).value,
      "spec.repositories[0].policy.simple.requirements[0].keySecret",
      /Secret "image-signing-public-key" is not in the document: Portieris reads a ClusterImagePolicy's keySecret from the namespace of the pod/,
    );
  });
});

describe("importPortieris: simple signing (policy.simple)", () => {
  const IMAGE_SIGNING = imageSigningKey.trim();
  const LAB_USER = labUserKey.trim();
  const keySecret = (name: string, namespace: string | undefined, armored: string): any => ({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name, ...(namespace !== undefined ? { namespace } : {}) },
    type: "Opaque",
    data: { key: b64(armored) },
  });
  const simple = (requirements: unknown[], extra: Record<string, unknown> = {}) => ({ simple: { requirements, ...extra } });
  const requireOf = (policy: unknown, ...more: unknown[]) =>
    importPortieris([cluster("c", [{ name: "icr.io/team/*", policy }]), keySecret("k", "default", IMAGE_SIGNING), ...more], kinds).rules[0]?.require;

  it("maps insecureAcceptAnything, reject and signedBy; all of them must hold", () => {
    expect(requireOf(simple([{ type: "insecureAcceptAnything" }]))).toEqual([{ type: "allow" }]);
    expect(requireOf(simple([{ type: "reject" }]))).toEqual([
      { type: "deny", message: "simple: policy denied the request: Running image docker://{familiarImage} is rejected by policy." },
    ]);
    expect(requireOf(simple([{ type: "insecureAcceptAnything" }, { type: "signedBy", keySecret: "k" }]))).toEqual([
      { type: "signedBy", keys: [IMAGE_SIGNING] },
    ]);
  });

  it("checks no simple signature when no requirements are listed", () => {
    expect(requireOf(simple([]))).toEqual([{ type: "allow" }]);
    expect(requireOf({ simple: { requirements: null } })).toEqual([{ type: "allow" }]);
    expect(requireOf({ simple: { storeURL: "https://sigs.example.com" } })).toEqual([{ type: "allow" }]);
  });

  it("maps Portieris's signedIdentity names to containers/image's", () => {
    const identity = (signedIdentity: unknown) => requireOf(simple([{ type: "signedBy", keySecret: "k", signedIdentity }]))?.[0]?.signedIdentity;
    expect(identity({ type: "" })).toBeUndefined();
    expect(identity({ type: "matchExact" })).toEqual({ type: "matchExact" });
    expect(identity({ type: "matchRepository" })).toEqual({ type: "matchRepository" });
    expect(identity({ type: "matchExactReference", dockerReference: "icr.io/ibm/db2:6.1" })).toEqual({ type: "exactReference", dockerReference: "icr.io/ibm/db2:6.1" });
    expect(identity({ type: "matchExactRepository", dockerRepository: "icr.io/ibm/db2/db2manager" })).toEqual({
      type: "exactRepository",
      dockerRepository: "icr.io/ibm/db2/db2manager",
    });
    expect(identity({ type: "remapIdentity", prefix: "uk.icr.io/mymirror", signedPrefix: "icr.io/ibm" })).toEqual({
      type: "remapIdentity",
      prefix: "uk.icr.io/mymirror",
      signedPrefix: "icr.io/ibm",
    });
  });

  it("reads signatures from storeURL (registries.d default-docker in Portieris) when it is given", () => {
    expect(requireOf(simple([{ type: "signedBy", keySecret: "k" }], { storeURL: "https://server.another.com/signatures" }))).toEqual([
      { type: "signedBy", keys: [IMAGE_SIGNING], lookaside: "https://server.another.com/signatures" },
    ]);
  });

  it("requires simple signing and trust together, simple first, as Portieris checks them", () => {
    const require = requireOf(
      { ...simple([{ type: "signedBy", keySecret: "k" }]), ...trust({ trustServer: "https://notary.example.com", signerSecrets: [{ name: "s" }] }) },
      secret("s", "default", "bot", THINKDEMO),
    );
    expect(require?.map((r) => r.type)).toEqual(["signedBy", "notary"]);
  });

  it("takes an ImagePolicy's keySecret from its own namespace, stringData over data", () => {
    const policy = importPortieris(
      [
        imagePolicy("prod", "p", [{ name: "icr.io/team/*", policy: simple([{ type: "signedBy", keySecret: "k" }]) }]),
        keySecret("k", "staging", IMAGE_SIGNING),
        { ...keySecret("k", "prod", IMAGE_SIGNING), stringData: { key: `\n${LAB_USER}\n` } },
      ],
      kinds,
    );
    expect(policy.rules[0]?.require).toEqual([{ type: "signedBy", keys: [LAB_USER] }]);
  });

  const bad = (policy: unknown, ...more: unknown[]) => [cluster("c", [{ name: "icr.io/team/*", policy }]), ...more];
  const at = (rest: string) => `[0].spec.repositories[0].policy.simple${rest}`;
  const cases: [string, () => unknown, string, RegExp][] = [
    ["an unknown requirement type", () => bad(simple([{ type: "sigstoreSigned" }])), at(".requirements[0].type"), /simple policy invalid Type: sigstoreSigned/],
    ["signedBy without keySecret", () => bad(simple([{ type: "signedBy" }])), at(".requirements[0].keySecret"), /KeySecret missing in signedBy requirement/],
    ["containers/image's field names", () => bad(simple([{ type: "signedBy", keyType: "GPGKeys", keyData: "x", keySecret: "k" }]), keySecret("k", "d", IMAGE_SIGNING)),
      at(".requirements[0].keyType"), /unknown field/],
    ["containers/image's identity names", () => bad(simple([{ type: "signedBy", keySecret: "k", signedIdentity: { type: "exactRepository", dockerRepository: "icr.io/x" } }]), keySecret("k", "d", IMAGE_SIGNING)),
      at(".requirements[0].signedIdentity.type"), /invalid SignedIdentity Type: exactRepository; Portieris calls it matchExactRepository/],
    ["matchExactReference without dockerReference", () => bad(simple([{ type: "signedBy", keySecret: "k", signedIdentity: { type: "matchExactReference" } }]), keySecret("k", "d", IMAGE_SIGNING)),
      at(".requirements[0].signedIdentity.dockerReference"), /required/],
    ["a storeURL that is no http(s) URL", () => bad(simple([{ type: "reject" }], { storeURL: "file:///sigstore" })), at(".storeURL"), /expecting https:\/\/ or http:\/\/ URL, got: file:\/\/\/sigstore/],
    ["storeSecret", () => bad(simple([{ type: "reject" }], { storeURL: "https://s.example.com", storeSecret: "creds" })), at(".storeSecret"), /does not send credentials/],
    ["a Secret without key", () => bad(simple([{ type: "signedBy", keySecret: "k" }]), { ...keySecret("k", "default", IMAGE_SIGNING), data: { publicKey: b64(IMAGE_SIGNING) } }),
      "[1].data.key", /Secret "k" in "default" does not contain a "key" attribute/],
    ["a Secret whose key is PEM, not PGP", () => bad(simple([{ type: "signedBy", keySecret: "k" }]), keySecret("k", "default", THINKDEMO)),
      "[1].data.key", /Expected "PGP PUBLIC KEY BLOCK" not found: PUBLIC KEY/],
    ["a Secret holding a private key", () => bad(simple([{ type: "signedBy", keySecret: "k" }]), keySecret("k", "default", "-----BEGIN PGP PRIVATE KEY BLOCK-----\nx\n-----END PGP PRIVATE KEY BLOCK-----")),
      "[1].data.key", /never hand over a private key/],
    ["a Secret whose key is not armored", () => bad(simple([{ type: "signedBy", keySecret: "k" }]), keySecret("k", "default", "mDMEawN0KBYJKwYBBAHaRw8BAQdA")),
      "[1].data.key", /Unable to decode key: EOF/],
    ["ClusterImagePolicy keySecret copies that differ", () => bad(simple([{ type: "signedBy", keySecret: "k" }]), keySecret("k", "a", IMAGE_SIGNING), keySecret("k", "b", LAB_USER)),
      at(".requirements[0].keySecret"), /different keys in namespaces a, b/],
  ];
  for (const [name, document, path, message] of cases) {
    it(`reports ${name} at ${path}`, () => expectIssue(document(), path, message));
  }
});

describe("importPortieris: namespaces", () => {
  const document = [
    cluster("default-policy", [{ name: "*", policy: null }]),
    ...(parseDocumentText(imagePolicyList).value as { items: unknown[] }).items,
  ];
  const compiled = compilePolicy(importPortieris(document, kinds));
  const rule = (image: string, namespace?: string) => compiled.match(parseReference(image), namespace)?.rule;

  it("uses only the ImagePolicies of a namespace that has some, as Portieris does", () => {
    expect(rule("registry.ng.bluemix.net/my_namespace/app:1", "default")?.description).toBe("ImagePolicy default/myimagepolicy");
    // No ImagePolicy repository matches, and the ClusterImagePolicy is not consulted: Portieris denies.
    expect(rule("nginx:1.25", "default")).toBeUndefined();
    expect(compiled.hasNamespace("default")).toBe(true);
  });

  it("falls back to the ClusterImagePolicies in every other namespace", () => {
    expect(rule("nginx:1.25", "team-a")?.pattern).toBe("*");
    expect(rule("registry.ng.bluemix.net/my_namespace/app:1", "team-a")?.pattern).toBe("*");
    expect(compiled.hasNamespace("team-a")).toBe(false);
  });

  it("merges several ClusterImagePolicies, most specific repository first", () => {
    const policy = importPortieris(
      [cluster("b", [{ name: "docker.io/library/*", policy: null }]), cluster("a", [{ name: "*", policy: null }, { name: "docker.io/library/nginx" }])],
      kinds,
    );
    // Kubernetes lists them by name, which decides ties the way Portieris sees them.
    expect(policy.rules.map((r) => [r.pattern, r.description])).toEqual([
      ["*", "ClusterImagePolicy a"],
      ["docker.io/library/nginx", "ClusterImagePolicy a"],
      ["docker.io/library/*", "ClusterImagePolicy b"],
    ]);
    expect(compilePolicy(policy).match(parseReference("nginx"))?.rule.pattern).toBe("docker.io/library/nginx");
    expect(compilePolicy(policy).match(parseReference("busybox"))?.rule.pattern).toBe("docker.io/library/*");
  });

  it("keeps a namespace whose ImagePolicy has no repositories closed to the ClusterImagePolicies", () => {
    const policy = importPortieris([cluster("open", [{ name: "*" }]), imagePolicy("locked", "empty", [])], kinds);
    expect(policy.rules[1]).toEqual({
      pattern: "*",
      require: [{ type: "deny", message: "no matching repositories in the ImagePolicies" }],
      description: "ImagePolicy locked/empty has no repositories: Portieris denies every image in namespace locked",
      namespace: "locked",
    });
    expect(compilePolicy(policy).match(parseReference("nginx"), "elsewhere")?.rule.namespace).toBeUndefined();
  });
});

describe("importPortieris: mapping", () => {
  it("allows without checks for policy: null, a missing policy, an empty one and trust.enabled: false", () => {
    const policy = importPortieris(
      cluster("c", [
        { name: "a.example.com/*", policy: null },
        { name: "b.example.com/*" },
        { name: "c.example.com/*", policy: {} },
        { name: "d.example.com/*", policy: { trust: { enabled: false }, mutateImage: false } },
        { name: "e.example.com/*", policy: { trust: { enabled: false, signerSecrets: [{ name: "absent" }] }, va: { enabled: false } } },
      ]),
      kinds,
    );
    expect(policy.rules.map((r) => r.require)).toEqual(Array(5).fill([{ type: "allow" }]));
  });

  const defaults: [string, string][] = [
    ["docker.io/myorg/*", "https://notary.docker.io"],
    ["nginx", "https://notary.docker.io"],
    ["myorg/app:1.*", "https://notary.docker.io"],
    ["us.icr.io/team/*", "https://us.icr.io:4443"],
    ["de.icr.io:8080/team/*", "https://de.icr.io:4443"],
    ["icr.io/ibm/*", "https://icr.io:4443"],
    ["registry.eu-de.bluemix.net/team/*", "https://registry.eu-de.bluemix.net:4443"],
    ["quay.io/org/*", "https://quay.io:443"],
  ];
  for (const [name, server] of defaults) {
    it(`uses Portieris's default trust server ${server} for ${name}`, () => {
      expect(importPortieris(cluster("c", [{ name, policy: trust() }]), kinds).rules[0]?.require).toEqual([{ type: "notary", server }]);
    });
  }

  const servers: [string, string][] = [
    ["notary.example.com:4443", "https://notary.example.com:4443"],
    ["https://icr.io:4443", "https://icr.io:4443"],
    ["http://notary.internal", "http://notary.internal"],
    ["127.0.0.1:4443", "http://127.0.0.1:4443"],
    ["localhost:4443", "http://localhost:4443"],
  ];
  for (const [trustServer, server] of servers) {
    it(`turns trustServer ${trustServer} into ${server}`, () => {
      const policy = importPortieris(cluster("c", [{ name: "*", policy: trust({ trustServer }) }]), kinds);
      expect(policy.rules[0]?.require).toEqual([{ type: "notary", server }]);
    });
  }

  it("takes the signer of an ImagePolicy from the Secret in its own namespace", () => {
    const policy = importPortieris(
      [
        imagePolicy("prod", "p", [{ name: "docker.io/org/*", policy: trust({ signerSecrets: [{ name: "release" }] }) }]),
        secret("release", "staging", "staging-bot", PORTIERISDEMO),
        secret("release", "prod", "release-bot", THINKDEMO),
      ],
      kinds,
    );
    expect(policy.rules[0]?.require).toEqual([
      { type: "notary", server: "https://notary.docker.io", signers: [{ name: "release-bot", keys: [THINKDEMO] }] },
    ]);
  });

  it("takes a Secret written without namespace as applied next to the ImagePolicy", () => {
    const policy = importPortieris(
      [imagePolicy("prod", "p", [{ name: "docker.io/org/*", policy: trust({ signerSecrets: [{ name: "release" }] }) }]), secret("release", undefined, "bot", THINKDEMO)],
      kinds,
    );
    expect(policy.rules[0]?.require[0]).toMatchObject({ signers: [{ name: "bot", keys: [THINKDEMO] }] });
  });

  it("requires all signers, reading stringData over data and keeping PEM headers", () => {
    const headed = THINKDEMO.replace("-----\n", "-----\nrole: thinkdemo\n\n");
    const policy = importPortieris(
      [
        cluster("c", [{ name: "docker.io/org/*", policy: trust({ signerSecrets: [{ name: "one" }, { name: "two" }] }) }]),
        { apiVersion: "v1", kind: "Secret", metadata: { name: "one", namespace: "default" }, stringData: { name: "alice", publicKey: headed } },
        secret("two", "default", "bob", PORTIERISDEMO),
      ],
      kinds,
    );
    expect(policy.rules[0]?.require).toEqual([
      {
        type: "notary",
        server: "https://notary.docker.io",
        signers: [
          { name: "alice", keys: [headed] },
          { name: "bob", keys: [PORTIERISDEMO] },
        ],
      },
    ]);
  });

  it("accepts a ClusterImagePolicy signer Secret copied into several namespaces with the same content", () => {
    const policy = importPortieris(
      [
        cluster("c", [{ name: "docker.io/org/*", policy: trust({ signerSecrets: [{ name: "s" }] }) }]),
        secret("s", "team-a", "bot", THINKDEMO),
        secret("s", "team-b", "bot", THINKDEMO),
      ],
      kinds,
    );
    expect(policy.rules[0]?.require[0]).toMatchObject({ signers: [{ name: "bot", keys: [THINKDEMO] }] });
  });

  it("ignores other objects in kubectl output, and mutateImage", () => {
    const policy = importPortieris(
      {
        apiVersion: "v1",
        kind: "List",
        items: [
          { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "x" }, data: {} },
          cluster("c", [{ name: "*", policy: { mutateImage: true } }], "securityenforcement.admission.cloud.ibm.com/v1beta1"),
        ],
      },
      kinds,
    );
    expect(policy.rules).toEqual([{ pattern: "*", require: [{ type: "allow" }], description: "ClusterImagePolicy c" }]);
  });
});

describe("importPortieris: invalid documents", () => {
  const missingSecret = () => {
    const list = parseDocumentText(imagePolicyList).value as { items: unknown[] };
    return { ...list, items: [list.items[0]] };
  };
  const cases: [string, () => unknown, string, RegExp][] = [
    ["a signer Secret that is not in the document", missingSecret, "items[0].spec.repositories[0].policy.trust.signerSecrets[0].name",
      /Secret "thinkdemo" is not in the document: Portieris reads it from namespace default/],
    ["a ClusterImagePolicy signer Secret that is not in the document", () => cluster("c", [{ name: "docker.io/org/*", policy: trust({ signerSecrets: [{ name: "nope" }] }) }]),
      "spec.repositories[0].policy.trust.signerSecrets[0].name", /namespace of the pod being admitted/],
    ["an ImagePolicy's Secret only in another namespace", () => [
      imagePolicy("prod", "p", [{ name: "docker.io/org/*", policy: trust({ signerSecrets: [{ name: "s" }] }) }]),
      secret("s", "staging", "bot", THINKDEMO),
    ], "[0].spec.repositories[0].policy.trust.signerSecrets[0].name", /from namespace prod/],
    ["a ClusterImagePolicy Secret whose copies differ", () => [
      cluster("c", [{ name: "docker.io/org/*", policy: trust({ signerSecrets: [{ name: "s" }] }) }]),
      secret("s", "team-a", "bot", THINKDEMO),
      secret("s", "team-b", "bot", PORTIERISDEMO),
    ], "[0].spec.repositories[0].policy.trust.signerSecrets[0].name", /different signers in namespaces team-a, team-b/],
    ["an invalid pattern in the second document of a stream", () => [cluster("a", [{ name: "*" }]), cluster("b", [{ name: "docker.io*" }])],
      "[1].spec.repositories[0].name", /invalid pattern "docker.io\*"/],
    ["an ImagePolicy without namespace", () => imagePolicy(undefined, "p", [{ name: "*" }]), "metadata.namespace", /required/],
    ["a wildcard registry without trustServer", () => cluster("c", [{ name: "*.icr.io/team/*", policy: trust() }]),
      "spec.repositories[0].name", /matches several registries.*set policy.trust.trustServer/],
    ["a catch-all pattern without trustServer", () => cluster("c", [{ name: "*", policy: trust() }]), "spec.repositories[0].name", /trustServer/],
    ["a registry Portieris knows no trust server for", () => cluster("c", [{ name: "registry.example.com/team/*", policy: trust() }]),
      "spec.repositories[0].name", /no trust server could be found.*set policy.trust.trustServer/],
    ["a vulnerability policy", () => cluster("c", [{ name: "us.icr.io/*", policy: { vulnerability: { ICCRVA: { enabled: true } } } }]),
      "spec.repositories[0].policy.vulnerability.ICCRVA", /not supported/],
    ["va.enabled", () => cluster("c", [{ name: "us.icr.io/*", policy: { va: { enabled: true } } }], "securityenforcement.admission.cloud.ibm.com/v1beta1"),
      "spec.repositories[0].policy.va", /not supported/],
    ["a wrong apiVersion", () => cluster("c", [{ name: "*" }], "portieris.cloud.ibm.com/v2"), "apiVersion", /portieris.cloud.ibm.com\/v1/],
    ["an unknown Portieris kind", () => ({ apiVersion: "portieris.cloud.ibm.com/v1", kind: "ImagePolicies", spec: {} }), "kind", /unknown Portieris kind/],
    ["an object without kind", () => ({ spec: { repositories: [] } }), "kind", /required/],
    ["an unknown field in trust", () => cluster("c", [{ name: "*", policy: { trust: { enabled: true, trustserver: "x" } } }]),
      "spec.repositories[0].policy.trust.trustserver", /unknown field/],
    ["trust.enabled that is not a boolean", () => cluster("c", [{ name: "*", policy: { trust: { enabled: "true" } } }]),
      "spec.repositories[0].policy.trust.enabled", /true or false/],
    ["a repository without name", () => cluster("c", [{ policy: null }]), "spec.repositories[0].name", /required/],
    ["Secret data that is not base64", () => [
      cluster("c", [{ name: "docker.io/org/*", policy: trust({ signerSecrets: [{ name: "s" }] }) }]),
      { ...secret("s", "default", "bot", THINKDEMO), data: { name: b64("bot"), publicKey: THINKDEMO } },
    ], "[1].data.publicKey", /not base64/],
    ["a Secret without name", () => [
      cluster("c", [{ name: "docker.io/org/*", policy: trust({ signerSecrets: [{ name: "s" }] }) }]),
      { ...secret("s", "default", "bot", THINKDEMO), data: { publicKey: b64(THINKDEMO) } },
    ], "[1].data.name", /^name or publicKey field in secret s is empty$/],
    ["a Secret whose key is not PEM", () => [
      cluster("c", [{ name: "docker.io/org/*", policy: trust({ signerSecrets: [{ name: "s" }] }) }]),
      secret("s", "default", "bot", "ssh-ed25519 AAAA"),
    ], "[1].data.publicKey", /PEM/],
    ["a signer name that cannot be a role", () => [
      cluster("c", [{ name: "docker.io/org/*", policy: trust({ signerSecrets: [{ name: "s" }] }) }]),
      secret("s", "default", "Think Demo", THINKDEMO),
    ], "[1].data.name", /delegation name/],
    ["a trustServer that is no URL", () => cluster("c", [{ name: "*", policy: trust({ trustServer: "notary example com" }) }]),
      "spec.repositories[0].policy.trust.trustServer", /http\(s\) URL/],
    ["a ClusterImagePolicy given twice", () => [cluster("c", [{ name: "*" }]), cluster("c", [{ name: "*" }])], "[1].metadata.name", /appears twice/],
    ["a document without policies", () => secret("s", "default", "bot", THINKDEMO), "", /no ImagePolicy or ClusterImagePolicy/],
    ["a scalar", () => "ImagePolicy", "", /expected a Kubernetes object/],
  ];
  for (const [name, doc, path, message] of cases) {
    it(`reports ${name} at ${path || "(root)"}`, () => expectIssue(doc(), path, message));
  }

  it("reports a wrongly typed field once, by its type", () => {
    const doc = cluster("c", [{ name: [], policy: { trust: { enabled: true, trustServer: "https://notary.example.com", signerSecrets: [{ name: 5 }] } } }]);
    const issues = issuesOf(doc);
    expect(issues.filter((i) => i.path === "spec.repositories[0].name")).toEqual([
      { path: "spec.repositories[0].name", message: "expected a string, got a list" },
    ]);
    expect(issues.filter((i) => i.path.startsWith("spec.repositories[0].policy"))).toEqual([
      { path: "spec.repositories[0].policy.trust.signerSecrets[0].name", message: "expected a string, got a number" },
    ]);
  });

  it("reports every problem, not only the first", () => {
    const issues = issuesOf([
      cluster("c", [{ name: "docker.io*" }, { name: "registry.example.com/x/*", policy: trust() }]),
      imagePolicy(undefined, "p", [{ name: "*" }]),
      cluster("d", [{ name: "*", policy: { simple: { requirements: [{ type: "signedBy", keySecret: "k" }] } } }]),
    ]);
    expect(issues.map((i) => i.path)).toEqual([
      "[1].metadata.namespace",
      "[0].spec.repositories[0].name",
      "[0].spec.repositories[1].name",
      "[2].spec.repositories[0].policy.simple.requirements[0].keySecret",
    ]);
  });
});
