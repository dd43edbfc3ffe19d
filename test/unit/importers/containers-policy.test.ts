// The containers-policy importer: policy.json and registries.d in, containers/image's scope lookup and requirements out.
/// <reference types="vite/client" />
import { describe, expect, it } from "vitest";
import { compilePolicy } from "../../../src/policy/compile";
import { parseDocumentText } from "../../../src/policy/document";
import {
  importContainersPolicy,
  NO_SIGNATURE_MESSAGE,
  REJECT_MESSAGE,
} from "../../../src/policy/importers/containers-policy";
import type { Policy } from "../../../src/policy/model";
import { parseReference } from "../../../src/reference";
import { defaultRequirementKinds as kinds } from "../../../src/requirements";
import seedPolicy from "./fixtures/containers-policy/002-policy.json?raw";
import seedPolicyKeyData from "./fixtures/containers-policy/002-policy-keydata.json?raw";
import seedRegistriesD from "./fixtures/containers-policy/002-registries.d-default.yaml?raw";
import seedRegistriesHttps from "./fixtures/containers-policy/002-registries.d-https.yaml?raw";
import redHatRegistriesD from "./fixtures/containers-policy/002-registry.redhat.io.yaml?raw";
import labUserB64 from "./fixtures/keys/lab-user.gpg.b64?raw";
import labUserArmored from "./fixtures/keys/lab-user.gpg.asc?raw";
import cosignPub from "./fixtures/keys/cosign-test.pub?raw";
import thinkdemoPub from "./fixtures/keys/thinkdemo.pub?raw";
import { importIssues } from "./import-issues";

const LAB_USER = labUserB64.trim();
const LAB_USER_ARMORED = labUserArmored.trim();
const COSIGN = cosignPub.trim();
const COSIGN_2 = thinkdemoPub.trim();
const b64 = (text: string) => btoa(text);
const DIGEST = `sha256:${"a".repeat(64)}`;
const DIGEST_2 = `sha256:${"b".repeat(64)}`;

const accept = [{ type: "insecureAcceptAnything" }];
const reject = [{ type: "reject" }];
/** As JSON would have it: a field set to undefined is left out. */
const defined = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
const signedBy = (extra: Record<string, unknown> = {}) => defined({ type: "signedBy", keyType: "GPGKeys", keyData: LAB_USER, ...extra });
const sigstore = (extra: Record<string, unknown> = {}) => defined({ type: "sigstoreSigned", keyData: b64(COSIGN), ...extra });
/** sigstoreSigned with fulcio (its fields over a default identity) and a Rekor key. */
const fulcio = (f: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  sigstore({ keyData: undefined, fulcio: defined({ oidcIssuer: "https://github.com/login/oauth", subjectEmail: "dev@example.com", ...f }), rekorPublicKeyData: b64(COSIGN), ...extra });

function doc(policy: unknown, registriesD?: unknown[]): unknown {
  return { policy, ...(registriesD ? { "registries.d": registriesD } : {}) };
}
const imported = (policy: unknown, registriesD?: unknown[]): Policy => importContainersPolicy(doc(policy, registriesD), kinds);

const { issuesOf, expectIssue } = importIssues(importContainersPolicy);

/** The rule trustgate picks for an image (its description names the policy.json scope). */
function ruleFor(policy: Policy, image: string) {
  return compilePolicy(policy).match(parseReference(image))?.rule;
}

describe("importContainersPolicy: seed 002 (podman image trust, registries.d)", () => {
  it("refuses the seed as written: a key file and a file:// signature store, both on the user's host", () => {
    const fileStore = {
      path: 'registries.d[0].docker["server.summit.lab"].sigstore',
      message: expect.stringMatching(/only read signatures over http\(s\)/),
    };
    expect(issuesOf({ policy: seedPolicy, "registries.d": [seedRegistriesD] })).toEqual([
      {
        path: 'policy.transports.docker["server.summit.lab"][0].keyPath',
        message: expect.stringMatching(/cannot read files .*keyData \(base64 -w0 <key file>\)/),
      },
      fileStore,
    ]);
    expect(issuesOf({ policy: seedPolicyKeyData, "registries.d": [seedRegistriesD] })).toEqual([fileStore]);
  });

  it("imports the seed with keyData and an https lookaside: reject by default, signedBy for server.summit.lab", () => {
    const policy = importContainersPolicy(
      parseDocumentText(`policy: ${JSON.stringify(seedPolicyKeyData)}\nregistries.d:\n  - ${JSON.stringify(seedRegistriesHttps)}\n`).value,
      kinds,
    );
    const signed = {
      type: "signedBy",
      keys: [LAB_USER],
      lookaside: { scopes: { "server.summit.lab": "https://sigstore.summit.lab/server.summit.lab" } },
    };
    expect(policy).toEqual({
      mode: "enforce",
      patternStyle: "containers-policy",
      rules: [
        { pattern: "server.summit.lab/*", require: [signed], description: 'transports.docker["server.summit.lab"]' },
        { pattern: "*", require: [{ type: "deny", message: REJECT_MESSAGE }], description: "default" },
      ],
      description: expect.stringContaining("Ignored transports: docker-daemon (1 scope)"),
    });
    expect(REJECT_MESSAGE).toBe("Running image docker://{familiarImage} is rejected by policy.");
    expect(ruleFor(policy, "server.summit.lab/quayuser/rhel-ubi8")?.pattern).toBe("server.summit.lab/*");
    expect(ruleFor(policy, "registry.redhat.io/ubi7/ubi-minimal")?.pattern).toBe("*");
    // A port is part of the host: server.summit.lab does not cover server.summit.lab:5000.
    expect(ruleFor(policy, "server.summit.lab:5000/quayuser/rhel-ubi8")?.pattern).toBe("*");
  });

  it("imports the extra credit: accept by default, Red Hat's key and signature store for registry.redhat.io", () => {
    const policy = imported(
      {
        default: accept,
        transports: { docker: { "registry.redhat.io": [signedBy({ keyData: b64(LAB_USER_ARMORED) })] } },
      },
      [seedRegistriesHttps, redHatRegistriesD],
    );
    expect(policy.rules).toEqual([
      {
        pattern: "registry.redhat.io/*",
        require: [
          {
            type: "signedBy",
            // An armored keyring stays armored.
            keys: [LAB_USER_ARMORED],
            lookaside: {
              scopes: {
                "server.summit.lab": "https://sigstore.summit.lab/server.summit.lab",
                "registry.redhat.io": "https://registry.redhat.io/containers/sigstore",
              },
            },
          },
        ],
        description: 'transports.docker["registry.redhat.io"]',
      },
      { pattern: "*", require: [{ type: "allow" }], description: "default" },
    ]);
    expect(policy.description).toMatch(/registry's signature extension \(X-Registry-Supports-Signatures\) only/);
  });

  it("reports the ignored transports where the stored policy shows them, and keeps quiet when there is nothing to say", () => {
    const policy = imported({
      default: reject,
      transports: {
        docker: { "": accept },
        atomic: { "hostname:5000/myns/official": [{ type: "signedBy", keyType: "GPGKeys", keyPath: "/k.gpg" }] },
        "docker-daemon": { "": accept, "docker.io/library/busybox:latest": accept },
        dir: { "": accept },
      },
    });
    expect(policy.description).toBe(
      "Imported from containers-policy.json. Ignored transports: atomic (1 scope), docker-daemon (2 scopes), dir (1 scope). " +
        "trustgate decides registry images (docker:) only; they stay in the stored document. " +
        'The global default decides no docker: image: transports.docker[""] applies first.',
    );
    expect(policy.rules).toEqual([{ pattern: "*", require: [{ type: "allow" }], description: 'transports.docker[""]' }]);
    expect(imported({ default: reject }).description).toBeUndefined();
  });

  it("accepts policy.json on its own, and as text inside the wrapper", () => {
    expect(importContainersPolicy({ default: reject }, kinds).rules).toEqual([
      { pattern: "*", require: [{ type: "deny", message: REJECT_MESSAGE }], description: "default" },
    ]);
    expect(importContainersPolicy({ policy: '{"default": [{"type": "insecureAcceptAnything"}]}' }, kinds).rules).toEqual([
      { pattern: "*", require: [{ type: "allow" }], description: "default" },
    ]);
  });
});

describe("importContainersPolicy: requirements", () => {
  const scope = "registry.example.com/team";
  const requireOf = (requirements: unknown[], registriesD?: unknown[]) =>
    imported({ default: reject, transports: { docker: { [scope]: requirements } } }, registriesD).rules[0]?.require;

  it("maps insecureAcceptAnything to allow and reject to deny with containers/image's words", () => {
    expect(requireOf(accept)).toEqual([{ type: "allow" }]);
    expect(requireOf(reject)).toEqual([{ type: "deny", message: REJECT_MESSAGE }]);
    // All requirements must hold: insecureAcceptAnything adds nothing next to another one.
    expect(requireOf([...accept, ...reject])).toEqual([{ type: "deny", message: REJECT_MESSAGE }]);
  });

  it("maps signedBy: the keyring (binary as base64, armored as text), signedIdentity as written", () => {
    const identity = { type: "remapIdentity", prefix: "registry.example.com/team", signedPrefix: "vendor.example.com" };
    expect(requireOf([signedBy({ signedIdentity: identity })])).toEqual([{ type: "signedBy", keys: [LAB_USER], signedIdentity: identity }]);
    expect(requireOf([signedBy({ keyData: b64(`\n${LAB_USER_ARMORED}\n`), signedIdentity: { type: "matchExact" } })])).toEqual([
      { type: "signedBy", keys: [LAB_USER_ARMORED], signedIdentity: { type: "matchExact" } },
    ]);
    // Two signedBy requirements: both must hold (policy_eval.go), so both stay.
    expect(requireOf([signedBy(), signedBy({ signedIdentity: { type: "exactRepository", dockerRepository: "vendor.example.com/product" } })])).toHaveLength(2);
  });

  it("maps sigstoreSigned to cosign when registries.d enables sigstore attachments for the image", () => {
    const on = [{ docker: { "registry.example.com": { "use-sigstore-attachments": true } } }];
    expect(requireOf([sigstore()], on)).toEqual([
      { type: "cosign", keys: [{ name: "key-1", key: COSIGN }], signedIdentity: { type: "matchRepoDigestOrExact" } },
    ]);
    expect(requireOf([sigstore({ keyData: undefined, keyDatas: [b64(COSIGN), b64(COSIGN_2)], signedIdentity: { type: "matchRepository" } })], on)).toEqual([
      {
        type: "cosign",
        keys: [
          { name: "key-1", key: COSIGN },
          { name: "key-2", key: COSIGN_2 },
        ],
        signedIdentity: { type: "matchRepository" },
      },
    ]);
  });

  it("denies as containers/image does when sigstore attachments are not enabled: it finds no signature", () => {
    expect(requireOf([sigstore()])).toEqual([{ type: "deny", message: NO_SIGNATURE_MESSAGE }]);
    const off = [{ "default-docker": { "use-sigstore-attachments": true }, docker: { "registry.example.com/team": { "use-sigstore-attachments": false } } }];
    expect(requireOf([sigstore()], off)).toEqual([{ type: "deny", message: NO_SIGNATURE_MESSAGE }]);
  });
});

describe("importContainersPolicy: use-sigstore-attachments per image", () => {
  const policy = imported(
    { default: reject, transports: { docker: { "registry.example.com": [sigstore()], "quay.io/org": accept } } },
    [
      {
        "default-docker": { "use-sigstore-attachments": false },
        docker: {
          "registry.example.com/team": { "use-sigstore-attachments": true },
          "registry.example.com/team/legacy": { "use-sigstore-attachments": false },
          // An entry without the option does not decide it: the lookup goes on to the next one.
          "registry.example.com/team/legacy/app": { lookaside: "https://sigs.example.com" },
          "quay.io/org/app": { "use-sigstore-attachments": true },
        },
      },
    ],
  );
  const requireFor = (image: string) => ruleFor(policy, image)?.require.map((r) => r.type);

  it("splits a policy scope where registries.d switches attachments on or off", () => {
    expect(requireFor(`registry.example.com/other@${DIGEST}`)).toEqual(["deny"]);
    expect(requireFor(`registry.example.com/team/app@${DIGEST}`)).toEqual(["cosign"]);
    expect(requireFor(`registry.example.com/team/legacy/app@${DIGEST}`)).toEqual(["deny"]);
    expect(requireFor(`registry.example.com/team/legacy@${DIGEST}`)).toEqual(["deny"]);
    // Scopes without sigstoreSigned need no split.
    expect(ruleFor(policy, `quay.io/org/app@${DIGEST}`)?.pattern).toBe("quay.io/org/*");
  });

  it("names where the attachments setting comes from", () => {
    expect(ruleFor(policy, `registry.example.com/team/app@${DIGEST}`)?.description).toBe(
      'transports.docker["registry.example.com"], for images in registries.d docker["registry.example.com/team"]; ' +
        'sigstore attachments read (use-sigstore-attachments: registries.d docker["registry.example.com/team"])',
    );
    expect(ruleFor(policy, `registry.example.com/other@${DIGEST}`)?.description).toMatch(
      /use-sigstore-attachments is not true for these images \(registries.d default-docker\)/,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// Scope lookup order: trustgate's native ranking must pick what containers/image's lookup picks.

/** containers/image, written out plainly: the identity, the name and its parents, then the host wildcards. */
function lookupList(image: string): string[] {
  const ref = parseReference(image);
  const identity = ref.name + (ref.digest !== undefined ? `@${ref.digest}` : `:${ref.tag}`);
  const out = [identity];
  let name = ref.name;
  for (;;) {
    out.push(name);
    const slash = name.lastIndexOf("/");
    if (slash < 0) break;
    name = name.slice(0, slash);
  }
  const colon = name.indexOf(":");
  if (colon >= 0) name = name.slice(0, colon);
  for (let dot = name.indexOf("."); dot >= 0; dot = name.indexOf(".")) {
    name = name.slice(dot + 1);
    out.push(`*.${name}`);
  }
  return out;
}

function containersImageChoice(scopes: readonly string[], image: string, transportDefault: boolean): string {
  const found = lookupList(image).find((s) => scopes.includes(s));
  if (found !== undefined) return `transports.docker["${found}"]`;
  return transportDefault ? 'transports.docker[""]' : "default";
}

const SCOPES = [
  "docker.io",
  "docker.io/library",
  "docker.io/library/busybox",
  "docker.io/library/busybox:latest",
  `docker.io/library/busybox@${DIGEST}`,
  "docker.io/openshift",
  "registry.example.com",
  "registry.example.com:5000",
  "registry.example.com:5000/team",
  "registry.example.com/team",
  "registry.example.com/team/app",
  "registry.example.com/team/app:v1",
  "registry.example.com/team/app/sub",
  "a.example.com",
  "b.a.example.com/x",
  "*.example.com",
  "*.a.example.com",
  "*.very-long-subdomain-name.example.com",
  "localhost",
  "localhost:5000",
  "10.0.0.5:5000/ns",
  "[fd00::1]:5000",
  "quay.io/org",
  "quay.io/org/repo",
  `quay.io/org/repo@${DIGEST_2}`,
];

const IMAGES = [
  "busybox",
  "busybox:1.36",
  `busybox@${DIGEST}`,
  `busybox@${DIGEST_2}`,
  "nginx",
  "docker.io/openshift/origin:v3",
  "openshifty/app",
  "myuser/app:1",
  "registry.example.com/team/app:v1",
  "registry.example.com/team/app:v2",
  `registry.example.com/team/app@${DIGEST}`,
  "registry.example.com/team/app/sub:x",
  "registry.example.com/team/app/sub/deeper:x",
  "registry.example.com/team/apps:x",
  "registry.example.com/teams/app:x",
  "registry.example.com/other:x",
  "registry.example.com:5000/team/x",
  "registry.example.com:5000/other",
  "registry.example.com:5001/x",
  "x.example.com/y",
  "a.example.com/y",
  "b.a.example.com/x:1",
  "b.a.example.com/x/y:1",
  "b.a.example.com/y",
  "c.b.a.example.com/x",
  "c.b.a.example.com:443/x",
  "x.very-long-subdomain-name.example.com/a",
  "example.com/x",
  "localhost/x",
  "localhost:5000/x",
  "localhost:5001/x",
  "10.0.0.5:5000/ns/x",
  "10.0.0.5/ns/x",
  "[fd00::1]:5000/team/app",
  "[fd00::1]:5001/team/app",
  "quay.io/org/repo:1",
  `quay.io/org/repo@${DIGEST_2}`,
  "quay.io/org/repo/sub:1",
  "quay.io/orgs/repo",
  "quay.io/other/repo",
];

function lookupPolicy(scopes: readonly string[], transportDefault: boolean): Policy {
  const docker: Record<string, unknown> = Object.fromEntries(scopes.map((s) => [s, accept]));
  if (transportDefault) docker[""] = accept;
  return imported({ default: reject, transports: { docker } });
}

describe("importContainersPolicy: scope lookup order", () => {
  it("maps each kind of scope to native patterns", () => {
    const patterns = (scope: string) =>
      imported({ default: reject, transports: { docker: { [scope]: accept } } }).rules.filter((r) => r.pattern !== "*").map((r) => r.pattern);
    expect(patterns("registry.example.com")).toEqual(["registry.example.com/*"]);
    expect(patterns("registry.example.com:5000")).toEqual(["registry.example.com:5000/*"]);
    // A scope is both the repository of that name and the namespace above deeper repositories.
    expect(patterns("registry.example.com/team")).toEqual(["registry.example.com/team", "registry.example.com/team/*"]);
    expect(patterns("registry.example.com/team/app:v1")).toEqual(["registry.example.com/team/app:v1"]);
    expect(patterns(`registry.example.com/team/app@${DIGEST}`)).toEqual([`registry.example.com/team/app@${DIGEST}`]);
    // containers/image strips the port before it tries the wildcards.
    expect(patterns("*.example.com")).toEqual(["*.example.com/*", "*.example.com:*/*"]);
    // Docker Hub names always have a namespace: docker.io/openshift can only be one.
    expect(patterns("docker.io/openshift")).toEqual(["docker.io/openshift/*"]);
    expect(patterns("docker.io/library/busybox")).toEqual(["docker.io/library/busybox", "docker.io/library/busybox/*"]);
  });

  it("picks, for every image, the scope containers/image picks (all scopes at once)", () => {
    for (const transportDefault of [false, true]) {
      const policy = lookupPolicy(SCOPES, transportDefault);
      const compiled = compilePolicy(policy);
      const table = IMAGES.map((image) => ({
        image,
        expected: containersImageChoice(SCOPES, image, transportDefault),
        actual: compiled.match(parseReference(image))?.rule.description,
      }));
      expect(table.filter((row) => row.expected !== row.actual)).toEqual([]);
    }
  });

  it("orders every pair of scopes as containers/image does, for every image", () => {
    const mismatches: unknown[] = [];
    for (let i = 0; i < SCOPES.length; i++) {
      for (let j = 0; j < SCOPES.length; j++) {
        if (i === j) continue;
        // Both declaration orders: a tie would show as a difference between them.
        const pair = [SCOPES[i] ?? "", SCOPES[j] ?? ""];
        const compiled = compilePolicy(lookupPolicy(pair, false));
        for (const image of IMAGES) {
          const expected = containersImageChoice(pair, image, false);
          const actual = compiled.match(parseReference(image))?.rule.description;
          if (expected !== actual) mismatches.push({ pair, image, expected, actual });
        }
      }
    }
    expect(mismatches).toEqual([]);
  });

  it("spot checks: the first scope on the lookup list wins, whatever its length", () => {
    const policy = lookupPolicy(SCOPES, false);
    const scopeOf = (image: string) => ruleFor(policy, image)?.description;
    expect(scopeOf("busybox")).toBe('transports.docker["docker.io/library/busybox:latest"]');
    expect(scopeOf("busybox:1.36")).toBe('transports.docker["docker.io/library/busybox"]');
    expect(scopeOf("nginx")).toBe('transports.docker["docker.io/library"]');
    expect(scopeOf("myuser/app:1")).toBe('transports.docker["docker.io"]');
    expect(scopeOf("registry.example.com:5001/x")).toBe('transports.docker["*.example.com"]');
    expect(scopeOf("c.b.a.example.com:443/x")).toBe('transports.docker["*.a.example.com"]');
    expect(scopeOf("b.a.example.com/y")).toBe('transports.docker["*.a.example.com"]');
    expect(scopeOf("example.com/x")).toBe("default");
    expect(scopeOf("localhost:5001/x")).toBe("default");
  });

  it("agrees for references with both a tag and a digest: the tag is dropped before the lookup", () => {
    // podman strips the tag of name:tag@digest, so the identity is name@digest and a name:tag scope
    // never applies; the containers-policy pattern style does the same.
    const scopes = ["registry.example.com/team/app:v1", "registry.example.com/team"];
    const policy = lookupPolicy(scopes, false);
    const image = `registry.example.com/team/app:v1@${DIGEST}`;
    const expected = containersImageChoice(scopes, `registry.example.com/team/app@${DIGEST}`, false);
    expect(expected).toBe('transports.docker["registry.example.com/team"]');
    expect(ruleFor(policy, image)?.description).toBe(expected);
  });
});

// ---------------------------------------------------------------------------------------------
// registries.d

describe("importContainersPolicy: registries.d", () => {
  const withSignedBy = { default: reject, transports: { docker: { "registry.example.com": [signedBy()] } } };
  const lookasideOf = (registriesD: unknown[]) => imported(withSignedBy, registriesD).rules[0]?.require[0]?.lookaside;

  it("collects default-docker and the docker scopes' lookaside (sigstore is its old name; lookaside wins)", () => {
    expect(
      lookasideOf([
        "# default.yaml\ndefault-docker:\n  lookaside: https://sigs.example.com/default\n  lookaside-staging: file:///var/lib/containers/sigstore\n",
        {
          docker: {
            "registry.example.com": { sigstore: "https://old.example.com/s", lookaside: "https://new.example.com/s" },
            "registry.example.com/team/app:v1": { sigstore: "https://sigs.example.com/tagged" },
            "*.example.com": { lookaside: "http://sigs.internal.example.com" },
            "quay.io/org": { "use-sigstore-attachments": true },
          },
        },
        "",
        "# only comments\n",
      ]),
    ).toEqual({
      default: "https://sigs.example.com/default",
      scopes: {
        "registry.example.com": "https://new.example.com/s",
        "registry.example.com/team/app:v1": "https://sigs.example.com/tagged",
        "*.example.com": "http://sigs.internal.example.com",
      },
    });
  });

  it("gives signedBy no lookaside when registries.d configures none", () => {
    expect(lookasideOf([])).toBeUndefined();
    expect(lookasideOf([{ docker: { "registry.example.com": { "sigstore-staging": "file:///tmp/s" } } }])).toBeUndefined();
  });

  it("leaves file:// stores alone while no signedBy needs them", () => {
    expect(() => imported({ default: accept }, [seedRegistriesD])).not.toThrow();
  });

  const cases: [string, () => unknown, string, RegExp][] = [
    ["a file:// lookaside", () => doc(withSignedBy, [{ "default-docker": { lookaside: "file:///var/lib/containers/sigstore" } }]), "registries.d[0].default-docker.lookaside", /serve this directory over HTTPS/],
    ["another scheme", () => doc(withSignedBy, [{ docker: { "registry.example.com": { lookaside: "ftp://x/y" } } }]), 'registries.d[0].docker["registry.example.com"].lookaside', /expected an http\(s\) URL/],
    ["an http URL the native schema refuses", () => doc(withSignedBy, [{ docker: { "registry.example.com": { lookaside: "https://" } } }]), 'registries.d[0].docker["registry.example.com"].lookaside', /http\(s\) URL/],
    ["a namespace in two files", () => doc(withSignedBy, [{ docker: { "quay.io": {} } }, { docker: { "quay.io": {} } }]), 'registries.d[1].docker["quay.io"]', /defined both in registries.d\[0\].docker\["quay.io"\] and registries.d\[1\]/],
    ["default-docker in two files", () => doc(withSignedBy, [{ "default-docker": {} }, "default-docker:\n  lookaside: https://x.example.com\n"]), "registries.d[1].default-docker", /"default-docker" defined both/],
    ["the old option name", () => doc(withSignedBy, [{ docker: { "quay.io": { "use-cosign-attachments": true } } }]), 'registries.d[0].docker["quay.io"].use-cosign-attachments', /now reads use-sigstore-attachments/],
    ["a non-boolean option", () => doc(withSignedBy, [{ docker: { "quay.io": { "use-sigstore-attachments": "yes" } } }]), 'registries.d[0].docker["quay.io"].use-sigstore-attachments', /true or false/],
    ["a scope that never matches", () => doc(withSignedBy, [{ docker: { "busybox": { lookaside: "https://x.example.com" } } }]), 'registries.d[0].docker["busybox"]', /write "docker.io\/library\/busybox"/],
    ["an empty namespace", () => doc(withSignedBy, [{ docker: { "": { lookaside: "https://x.example.com" } } }]), 'registries.d[0].docker[""]', /default-docker is the default/],
    ["two YAML documents in one file", () => doc(withSignedBy, ["docker: {}\n---\ndocker: {}\n"]), "registries.d[0]", /one YAML document per registries.d file/],
    ["broken YAML", () => doc(withSignedBy, ["docker: [\n"]), "registries.d[0]", /not valid JSON or YAML/],
    ["a list instead of a file", () => doc(withSignedBy, [["docker"]]), "registries.d[0]", /expected a registries.d file/],
    ["registries.d as a mapping", () => ({ policy: withSignedBy, "registries.d": { "default.yaml": "" } }), "registries.d", /expected a list/],
  ];
  for (const [name, document, path, message] of cases) {
    it(`reports ${name} at ${path}`, () => expectIssue(document(), path, message));
  }
});

// ---------------------------------------------------------------------------------------------
// Invalid policies

describe("importContainersPolicy: invalid documents, each problem at its path", () => {
  const docker = (scopes: Record<string, unknown>) => doc({ default: reject, transports: { docker: scopes } });
  const at = (scope: string, rest = "") => `policy.transports.docker["${scope}"]${rest}`;
  const cases: [string, () => unknown, string, RegExp][] = [
    ["a missing default", () => doc({ transports: {} }), "policy.default", /required: the global default/],
    ["an empty requirement list", () => doc({ default: [] }), "policy.default", /must not be empty/],
    ["an unknown top-level field", () => doc({ default: reject, defaults: reject }), "policy.defaults", /unknown field/],
    ["a wrapper without policy", () => ({ "registries.d": [] }), "policy", /required: the content of policy.json/],
    ["a scalar", () => "default: reject", "", /expected \{ "policy"/],
    ["policy text that is not JSON", () => ({ policy: "{default: [" }), "policy", /not valid JSON or YAML/],
    ["an unknown requirement type", () => docker({ "quay.io": [{ type: "signedByGPG" }] }), at("quay.io", "[0].type"), /Unknown policy requirement type "signedByGPG"/],
    ["an extra field on reject", () => docker({ "quay.io": [{ type: "reject", message: "no" }] }), at("quay.io", "[0].message"), /unknown field/],
    ["signedBaseLayer", () => docker({ "quay.io": [{ type: "signedBaseLayer", baseLayerIdentity: { type: "matchExact" } }] }), at("quay.io", "[0].type"), /not implemented/],
    ["keyPath", () => docker({ "quay.io": [signedBy({ keyData: undefined, keyPath: "/etc/pki/key.gpg" })] }), at("quay.io", "[0].keyPath"), /cannot read files/],
    ["keyPaths", () => docker({ "quay.io": [signedBy({ keyData: undefined, keyPaths: ["/a.gpg", "/b.gpg"] })] }), at("quay.io", "[0].keyPaths"), /cannot read files/],
    ["keyPath and keyData together", () => docker({ "quay.io": [signedBy({ keyPath: "/a.gpg" })] }), at("quay.io", "[0]"), /exactly one of keyPath, keyPaths and keyData/],
    ["no key at all", () => docker({ "quay.io": [{ type: "signedBy", keyType: "GPGKeys" }] }), at("quay.io", "[0]"), /none of them present/],
    ["a missing keyType", () => docker({ "quay.io": [signedBy({ keyType: undefined })] }), at("quay.io", "[0].keyType"), /required: "GPGKeys"/],
    ["an unimplemented keyType", () => docker({ "quay.io": [signedBy({ keyType: "X509Certificates" })] }), at("quay.io", "[0].keyType"), /does not implement it/],
    ["an unknown keyType", () => docker({ "quay.io": [signedBy({ keyType: "PGP" })] }), at("quay.io", "[0].keyType"), /Unrecognized keyType value "PGP"/],
    ["keyData that is no base64", () => docker({ "quay.io": [signedBy({ keyData: "not base64!" })] }), at("quay.io", "[0].keyData"), /not base64/],
    ["keyData that is no keyring", () => docker({ "quay.io": [signedBy({ keyData: b64("hello") })] }), at("quay.io", "[0].keyData"), /not a GPG public keyring/],
    ["a private key", () => docker({ "quay.io": [signedBy({ keyData: b64("-----BEGIN PGP PRIVATE KEY BLOCK-----\nx\n-----END PGP PRIVATE KEY BLOCK-----") })] }), at("quay.io", "[0].keyData"), /never hand over a private key/],
    ["an unknown signedIdentity", () => docker({ "quay.io": [signedBy({ signedIdentity: { type: "matchTag" } })] }), at("quay.io", "[0].signedIdentity.type"), /Unknown policy reference match type "matchTag"/],
    ["exactReference without a tag", () => docker({ "quay.io": [signedBy({ signedIdentity: { type: "exactReference", dockerReference: "quay.io/org/app" } })] }), at("quay.io", "[0].signedIdentity.dockerReference"), /neither a tag nor digest/],
    ["remapIdentity without signedPrefix", () => docker({ "quay.io": [signedBy({ signedIdentity: { type: "remapIdentity", prefix: "quay.io" } })] }), at("quay.io", "[0].signedIdentity.signedPrefix"), /required/],
    ["a sigstore keyPath", () => docker({ "quay.io": [sigstore({ keyData: undefined, keyPath: "/cosign.pub" })] }), at("quay.io", "[0].keyPath"), /cannot read files/],
    ["a fulcio caPath", () => docker({ "quay.io": [fulcio({ caPath: "/fulcio.pem" })] }), at("quay.io", "[0].fulcio.caPath"), /cannot read files on your hosts: give the Fulcio CA inline as caData/],
    ["fulcio with caPath and caData", () => docker({ "quay.io": [fulcio({ caPath: "/fulcio.pem", caData: b64(COSIGN) })] }), at("quay.io", "[0].fulcio"), /^caPath and caData cannot be used simultaneously$/],
    ["fulcio without CA", () => docker({ "quay.io": [fulcio({})] }), at("quay.io", "[0].fulcio"), /^At least one of caPath and caData must be specified$/],
    ["fulcio without oidcIssuer", () => docker({ "quay.io": [fulcio({ caData: b64(COSIGN), oidcIssuer: undefined })] }), at("quay.io", "[0].fulcio"), /^oidcIssuer not specified$/],
    ["fulcio without subjectEmail", () => docker({ "quay.io": [fulcio({ caData: b64(COSIGN), subjectEmail: undefined })] }), at("quay.io", "[0].fulcio"), /^subjectEmail not specified$/],
    ["an unknown fulcio field", () => docker({ "quay.io": [fulcio({ caData: b64(COSIGN), subjectHostname: "h" })] }), at("quay.io", "[0].fulcio.subjectHostname"), /unknown field/],
    ["fulcio without a Rekor key", () => docker({ "quay.io": [fulcio({ caData: b64(COSIGN) }, { rekorPublicKeyData: undefined })] }), at("quay.io", "[0]"), /must be specified if fulcio is used/],
    ["fulcio with a Rekor key file", () => docker({ "quay.io": [fulcio({ caData: b64(COSIGN) }, { rekorPublicKeyData: undefined, rekorPublicKeyPath: "/rekor.pub" })] }), at("quay.io", "[0].rekorPublicKeyPath"), /give the Rekor public key inline as rekorPublicKeyData/],
    ["a fulcio CA that is no certificate", () => docker({ "quay.io": [fulcio({ caData: b64(COSIGN) })] }), at("quay.io", "[0].fulcio.caData"), /expected PEM CERTIFICATE blocks, got PUBLIC KEY/],
    ["pki", () => docker({ "quay.io": [sigstore({ keyData: undefined, pki: { caRootsData: "x", subjectEmail: "a@b" } })] }), at("quay.io", "[0].pki"), /\(pki\) is not supported/],
    ["a Rekor key", () => docker({ "quay.io": [sigstore({ rekorPublicKeyData: b64(COSIGN) })] }), at("quay.io", "[0].rekorPublicKeyData"), /Rekor\) checks of key-based signatures are not supported/],
    ["a sigstore key that is no PEM", () => docker({ "quay.io": [sigstore({ keyData: b64("ssh-ed25519 AAAA") })] }), at("quay.io", "[0].keyData"), /PEM public key/],
    ["empty keyDatas", () => docker({ "quay.io": [sigstore({ keyData: undefined, keyDatas: [] })] }), at("quay.io", "[0].keyDatas"), /contains no entries/],
    ["a short name scope", () => docker({ busybox: accept }), at("busybox"), /never matches .*write "docker.io\/library\/busybox"/],
    ["a namespace without registry", () => docker({ "myns/app": accept }), at("myns/app"), /write "docker.io\/myns\/app"/],
    ["index.docker.io", () => docker({ "index.docker.io/library/busybox": accept }), at("index.docker.io/library/busybox"), /write "docker.io\/library\/busybox"/],
    ["a Docker Hub tag without library/", () => docker({ "docker.io/busybox:latest": accept }), at("docker.io/busybox:latest"), /write "docker.io\/library\/busybox:latest"/],
    ["a glob", () => docker({ "registry.example.com/team/*": accept }), at("registry.example.com/team/*"), /never matches/],
    ["a wildcard with a path", () => docker({ "*.example.com/team": accept }), at("*.example.com/team"), /names a domain only/],
    ["a wildcard over a top-level domain", () => docker({ "*.com": accept }), at("*.com"), /refuses a wildcard over a whole top-level domain/],
    ["a tag and a digest", () => docker({ [`quay.io/org/app:1@${DIGEST}`]: accept }), at(`quay.io/org/app:1@${DIGEST}`), /a tag or a digest, never both/],
    ["an upper-case path", () => docker({ "quay.io/Org/app": accept }), at("quay.io/Org/app"), /not a repository path/],
    ["an upper-case host", () => docker({ "Quay.io/org": accept }), at("Quay.io/org"), /lower case/],
    ["requirements that are no list", () => docker({ "quay.io": { type: "reject" } }), at("quay.io"), /expected a list/],
    ["an ignored transport's broken requirement", () => doc({ default: reject, transports: { atomic: { "": [{ type: "nope" }] } } }), 'policy.transports["atomic"][""][0].type', /Unknown policy requirement type/],
  ];
  for (const [name, document, path, message] of cases) {
    it(`reports ${name} at ${path || "(root)"}`, () => expectIssue(document(), path, message));
  }

  it("checks an unused default and ignored transports for their form only", () => {
    expect(() =>
      imported({
        default: [signedBy({ keyData: undefined, keyPath: "/k.gpg" })],
        transports: { docker: { "": accept }, atomic: { "": [signedBy({ keyData: undefined, keyPath: "/k.gpg" })] } },
      }),
    ).not.toThrow();
  });

  it("reports every problem, not only the first", () => {
    const issues = issuesOf(
      doc(
        {
          default: reject,
          transports: {
            docker: {
              busybox: accept,
              "quay.io": [signedBy({ keyData: undefined, keyPath: "/k.gpg" })],
              "ghcr.io": [sigstore({ keyData: undefined, keyPath: "/c.pub" })],
            },
          },
        },
        [{ docker: { "quay.io": { lookaside: "file:///s" } } }],
      ),
    );
    expect(issues.map((i) => i.path)).toEqual([
      'policy.transports.docker["busybox"]',
      'policy.transports.docker["quay.io"][0].keyPath',
      'policy.transports.docker["ghcr.io"][0].keyPath',
      'registries.d[0].docker["quay.io"].lookaside',
    ]);
  });
});
