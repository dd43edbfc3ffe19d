// The Connaisseur importer: Helm values (2.x and 3.x layouts) in, the policy Connaisseur would enforce out.
/// <reference types="vite/client" />
import { describe, expect, it } from "vitest";
import { decide, type DecideDeps } from "../../../src/decide";
import { compilePolicy } from "../../../src/policy/compile";
import { parseDocumentText } from "../../../src/policy/document";
import { importConnaisseur } from "../../../src/policy/importers/connaisseur";
import { PolicyValidationError, type PolicyIssue } from "../../../src/policy/model";
import { parseReference } from "../../../src/reference";
import { defaultRequirementKinds as kinds } from "../../../src/requirements";
import v2Values from "./fixtures/connaisseur-v2-5gmeta.yaml?raw";
import v3Values from "./fixtures/connaisseur-v3.yaml?raw";
import gmetaPub from "./fixtures/keys/5gmeta.pub?raw";
import dockerOfficialPub from "./fixtures/keys/docker-official.pub?raw";
import sseOfficialPub from "./fixtures/keys/sse-official.pub?raw";
import v3DockerhubPub from "./fixtures/keys/v3-dockerhub.pub?raw";
import v3SsePub from "./fixtures/keys/v3-sse.pub?raw";
import v3TeamAPub from "./fixtures/keys/v3-team-a.pub?raw";
import v3TeamBPub from "./fixtures/keys/v3-team-b.pub?raw";
import { fakeRegistry, publicKey, vector } from "../cosign/vectors";
import { importIssues } from "./import-issues";

const fromText = (text: string) => importConnaisseur(parseDocumentText(text).value, kinds);

const { issuesOf, expectIssue } = importIssues(importConnaisseur);

const pem = (text: string) => text.trim();
const KEY = pem(dockerOfficialPub);
const OTHER_KEY = pem(sseOfficialPub);

/** A small Connaisseur 2 values file; tests change one thing each. */
function v2(): any {
  return {
    validators: [
      { name: "allow", type: "static", approve: true },
      { name: "deny", type: "static", approve: false },
      { name: "default", type: "notaryv1", host: "notary.docker.io", trust_roots: [{ name: "default", key: KEY }] },
    ],
    policy: [{ pattern: "*:*" }, { pattern: "k8s.gcr.io/*:*", validator: "allow" }],
  };
}

/** The same in the Connaisseur 3 layout. */
function v3(): any {
  return {
    application: {
      validators: [
        { name: "allow", type: "static", approve: true },
        { name: "deny", type: "static", approve: false },
        { name: "default", type: "notaryv1", trustRoots: [{ name: "default", key: KEY }] },
      ],
      policy: [{ pattern: "*:*" }, { pattern: "registry.k8s.io/*:*", validator: "allow" }],
    },
  };
}

describe("importConnaisseur: the seed's Connaisseur 2 values (5GMETA)", () => {
  it("yields exactly the rules Connaisseur enforces", () => {
    expect(fromText(v2Values)).toEqual({
      mode: "enforce",
      namespacedValidation: { mode: "ignore" },
      patternStyle: "connaisseur",
      rules: [
        {
          // The `default` validator has its trust roots commented out: Connaisseur denies at this rule.
          pattern: "*:*",
          require: [{ type: "deny", message: 'Trust root "default" not configured for validator "default".' }],
          description: 'validator default, which has no trust root "default": Connaisseur denies every image of this rule',
        },
        {
          pattern: "docker.io/library/*:*",
          require: [{ type: "notary", server: "https://notary.docker.io", rootKeys: [pem(dockerOfficialPub)] }],
          description: "validator dockerhub-basics, trust root docker-official",
        },
        { pattern: "k8s.gcr.io/*:*", require: [{ type: "allow" }], description: "validator allow" },
        {
          pattern: "docker.io/securesystemsengineering/*:*",
          require: [{ type: "notary", server: "https://notary.docker.io", rootKeys: [pem(sseOfficialPub)] }],
          description: "validator dockerhub-basics, trust root securesystemsengineering-official",
        },
        {
          pattern: "docker.io/5gmeta/*:*",
          require: [
            {
              type: "notary",
              server: "https://notary.docker.io",
              rootKeys: [pem(gmetaPub)],
              auth: { username: "<user>", password: "<password>" },
            },
          ],
          description: "validator 5gmeta, trust root default",
        },
      ],
    });
  });

  it("picks the rule Connaisseur picks", () => {
    const compiled = compilePolicy(fromText(v2Values));
    const rule = (image: string) => compiled.match(parseReference(image))?.rule.pattern;
    expect(rule("docker.io/5gmeta/pipeline:signed")).toBe("docker.io/5gmeta/*:*");
    expect(rule("nginx:1.25")).toBe("docker.io/library/*:*");
    expect(rule("k8s.gcr.io/pause:3.9")).toBe("k8s.gcr.io/*:*");
    expect(rule("securesystemsengineering/connaisseur:v2.5.1")).toBe("docker.io/securesystemsengineering/*:*");
    expect(rule("quay.io/org/app:1")).toBe("*:*");
  });
});

describe("importConnaisseur: Connaisseur 3 values", () => {
  const expected = {
    mode: "audit",
    namespacedValidation: { mode: "ignore" },
    patternStyle: "connaisseur",
    rules: [
      { pattern: "*:*", require: [{ type: "deny" }], description: "validator deny" },
      {
        pattern: "docker.io/library/*:*",
        // No host: Connaisseur 3 uses Docker Hub's Notary.
        require: [{ type: "notary", server: "https://notary.docker.io", rootKeys: [pem(v3DockerhubPub)] }],
        description: "validator dockerhub, trust root default",
      },
      {
        pattern: "docker.io/securesystemsengineering/*:*",
        require: [{ type: "notary", server: "https://notary.docker.io", rootKeys: [pem(v3SsePub)] }],
        description: "validator dockerhub, trust root sse",
      },
      { pattern: "registry.k8s.io/*:*", require: [{ type: "allow" }], description: "validator allow" },
      {
        pattern: "harbor.example.com/team/*:*",
        // "*": every trust root must have signed the root metadata, so one requirement per root.
        require: [pem(v3TeamAPub), pem(v3TeamBPub)].map((key) => ({
          type: "notary",
          server: "https://notary.harbor.example.com",
          rootKeys: [key],
          signers: [{ name: "alice" }, { name: "targets/bob" }],
          auth: { username: "robot$ci", password: "harbor-token" },
        })),
        description: "validator harbor, all trust roots",
      },
    ],
  };

  it("yields exactly the rules Connaisseur enforces, in audit mode for detectionMode", () => {
    expect(fromText(v3Values)).toEqual(expected);
  });

  it("reads the values under a top-level connaisseur: key (an umbrella chart's dependency)", () => {
    const document = { connaisseur: parseDocumentText(v3Values).value, other: { chart: true } };
    expect(importConnaisseur(document, kinds)).toEqual(expected);
    const bad = { connaisseur: v3() };
    bad.connaisseur.application.validators[0].type = "notaryv2";
    expectIssue(bad, "connaisseur.application.validators[0].type", /^validator type notaryv2 is not supported yet$/);
  });

  it("takes with.key, as Connaisseur's notaryv1 documentation writes it, for with.trustRoot", () => {
    const doc = v3();
    doc.application.validators[2].trustRoots.push({ name: "other", key: OTHER_KEY });
    doc.application.policy.push({ pattern: "docker.io/team/*", with: { key: "other" } });
    expect(importConnaisseur(doc, kinds).rules[2]?.require).toEqual([
      { type: "notary", server: "https://notary.docker.io", rootKeys: [OTHER_KEY] },
    ]);
    doc.application.policy[2].with.trustRoot = "default";
    expectIssue(doc, "application.policy[2].with.key", /give the trust root once, as trustRoot/);
  });
});

describe("importConnaisseur: mapping", () => {
  it("maps static validators to allow and deny (Connaisseur's wording comes from the deny kind)", () => {
    const policy = importConnaisseur({ ...v2(), policy: [{ pattern: "*:*", validator: "deny" }, { pattern: "a.io/*", validator: "allow" }] }, kinds);
    expect(policy.rules.map((r) => r.require)).toEqual([[{ type: "deny" }], [{ type: "allow" }]]);
  });

  it("reads a Connaisseur 3 static validator without approve as deny, as Connaisseur 3 does", () => {
    const doc = v3();
    delete doc.application.validators[0].approve;
    expect(importConnaisseur(doc, kinds).rules[1]?.require).toEqual([{ type: "deny" }]);
    const old = v2();
    delete old.validators[0].approve;
    expectIssue(old, "validators[0].approve", /required/);
  });

  it("uses the validator named default, and its trust root named default, when the rule names none", () => {
    expect(importConnaisseur(v2(), kinds).rules[0]).toEqual({
      pattern: "*:*",
      require: [{ type: "notary", server: "https://notary.docker.io", rootKeys: [KEY] }],
      description: "validator default, trust root default",
    });
  });

  const hosts: [string, string][] = [
    ["notary.docker.io", "https://notary.docker.io"],
    ["notary.example.com:4443", "https://notary.example.com:4443"],
    ["https://notary.example.com/", "https://notary.example.com"],
    ["http://notary.internal:4443", "http://notary.internal:4443"],
    ["HTTPS://Notary.example.com", "https://Notary.example.com"],
    ["127.0.0.1:4443", "http://127.0.0.1:4443"],
    ["localhost:4443", "http://localhost:4443"],
    ["[::1]:4443", "http://[::1]:4443"],
  ];
  for (const [host, server] of hosts) {
    it(`turns host ${host} into the trust server ${server}`, () => {
      const doc = v2();
      doc.validators[2].host = host;
      expect(importConnaisseur(doc, kinds).rules[0]?.require[0]).toMatchObject({ server });
    });
  }

  it("maps delegations to signers that must all have signed, with or without targets/", () => {
    const doc = v2();
    doc.policy[0].with = { delegations: ["alice", "targets/bob"] };
    expect(importConnaisseur(doc, kinds).rules[0]?.require[0]).toEqual({
      type: "notary",
      server: "https://notary.docker.io",
      rootKeys: [KEY],
      signers: [{ name: "alice" }, { name: "targets/bob" }],
    });
  });

  it("maps auth.username and auth.password to the requirement's credentials", () => {
    const doc = v3();
    doc.application.validators[2].auth = { username: "bot", password: "pw", registry: "notary.docker.io" };
    expect(importConnaisseur(doc, kinds).rules[0]?.require[0]).toMatchObject({ auth: { username: "bot", password: "pw" } });
  });

  it('pins every trust root for "*" in Connaisseur 3, one requirement each', () => {
    const doc = v3();
    doc.application.validators[2].trustRoots.push({ name: "second", key: OTHER_KEY });
    doc.application.policy[0].with = { trustRoot: "*" };
    expect(importConnaisseur(doc, kinds).rules[0]?.require).toEqual([
      { type: "notary", server: "https://notary.docker.io", rootKeys: [KEY] },
      { type: "notary", server: "https://notary.docker.io", rootKeys: [OTHER_KEY] },
    ]);
  });

  it('denies for "*" in Connaisseur 2, which looks for a trust root named "*" in a notaryv1 validator', () => {
    const doc = v2();
    doc.policy[0].with = { trust_root: "*" };
    expect(importConnaisseur(doc, kinds).rules[0]?.require).toEqual([
      { type: "deny", message: 'Trust root "*" not configured for validator "default".' },
    ]);
  });

  it("denies, with Connaisseur 3's wording, at a rule naming a trust root the validator lacks", () => {
    const doc = v3();
    doc.application.policy[0].with = { trustRoot: "nope" };
    expect(importConnaisseur(doc, kinds).rules[0]?.require).toEqual([
      {
        type: "deny",
        message:
          "error getting trust root keys for validator default: error getting keys for validator default: unable to find trust root nope",
      },
    ]);
  });

  it("keeps namespacedValidation (for admission) and leaves the Helm settings and the mutation mode out", () => {
    const doc = { ...v2(), namespacedValidation: { enabled: true, mode: "validate" }, deployment: { replicasCount: 3 }, logLevel: "INFO" };
    doc.policy[0].with = { mode: "insecureValidateOnly" };
    expect(importConnaisseur(doc, kinds)).toEqual({ ...importConnaisseur(v2(), kinds), namespacedValidation: { mode: "validate" } });
    // Off unless enabled (Connaisseur 2).
    const off = { ...v2(), namespacedValidation: { enabled: false, mode: "validate" } };
    expect(importConnaisseur(off, kinds).namespacedValidation).toBeUndefined();
  });

  it("maps detectionMode in either layout", () => {
    expect(importConnaisseur({ ...v2(), detectionMode: true }, kinds).mode).toBe("audit");
    expect(importConnaisseur({ ...v2(), detectionMode: false }, kinds).mode).toBe("enforce");
    const doc = v3();
    doc.application.features = { detectionMode: true, namespacedValidation: { mode: "ignore" } };
    expect(importConnaisseur(doc, kinds).mode).toBe("audit");
  });

  it("accepts a PEM key with headers, as docker trust key generate writes it", () => {
    const doc = v2();
    doc.validators[2].trust_roots[0].key = KEY.replace("-----\n", "-----\nrole: root\n\n");
    expect(importConnaisseur(doc, kinds).rules[0]?.require[0]).toMatchObject({ type: "notary" });
  });

  it("ignores a Connaisseur 3 useKeychain (REGISTRY_CREDENTIALS for the host is the equivalent)", () => {
    const doc = v3();
    doc.application.validators[2].auth = { useKeychain: true };
    expect(importConnaisseur(doc, kinds).rules[0]?.require[0]).not.toHaveProperty("auth");
  });
});

describe("importConnaisseur: invalid documents", () => {
  const cases: [string, () => unknown, string, RegExp][] = [
    ["a notation validator", () => {
      const d = v2();
      d.validators.push({ name: "notation", type: "notation", trust_roots: [{ name: "default", key: KEY }] });
      return d;
    }, "validators[3].type", /^validator type notation is not supported yet$/],
    ["a notaryv2 validator", () => {
      const d = v3();
      d.application.validators[1] = { name: "deny", type: "notaryv2" };
      return d;
    }, "application.validators[1].type", /^validator type notaryv2 is not supported yet$/],
    ["an unknown validator type", () => {
      const d = v2();
      d.validators[2].type = "kyverno";
      return d;
    }, "validators[2].type", /unknown validator type "kyverno"/],
    ["a trust root key that is a placeholder", () => {
      const d = v3();
      d.application.validators[2].trustRoots.push({ name: "x", key: "-----BEGIN PUBLIC KEY-----\n<XXXX>\n-----END PUBLIC KEY-----\n" });
      return d;
    }, "application.validators[2].trustRoots[1].key", /not base64/],
    ["a private key as trust root", () => {
      const d = v2();
      d.validators[2].trust_roots[0].key = "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----";
      return d;
    }, "validators[2].trust_roots[0].key", /never hand over a private key/],
    ["a rule naming an unknown validator", () => {
      const d = v2();
      d.policy[1].validator = "alow";
      return d;
    }, "policy[1].validator", /validator "alow" is not defined in validators/],
    ["a rule without validator and no default validator", () => {
      const d = v2();
      d.validators[2].name = "dockerhub";
      return d;
    }, "policy[0].validator", /no validator is named "default"/],
    ["auth.secret_name", () => {
      const d = v2();
      d.validators[2].auth = { secret_name: "notary-creds" };
      return d;
    }, "validators[2].auth.secret_name", /cannot read Kubernetes secrets: give the credentials inline as auth.username and auth.password/],
    ["auth.secretName", () => {
      const d = v3();
      d.application.validators[2].auth = { secretName: "notary-creds" };
      return d;
    }, "application.validators[2].auth.secretName", /auth.username and auth.password/],
    ["a username without password", () => {
      const d = v2();
      d.validators[2].auth = { username: "bot" };
      return d;
    }, "validators[2].auth.password", /required together with username/],
    ["cert", () => {
      const d = v2();
      d.validators[2].cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";
      return d;
    }, "validators[2].cert", /cannot pin a custom CA for a trust server.*public/],
    ["an invalid pattern", () => {
      const d = v2();
      d.policy[1].pattern = "docker*/x";
      return d;
    }, "policy[1].pattern", /invalid pattern "docker\*\/x"/],
    ["a pattern given twice", () => {
      const d = v2();
      d.policy.push({ pattern: "k8s.gcr.io/*:*", validator: "deny" });
      return d;
    }, "policy[2].pattern", /same pattern as policy rule 1/],
    ["detectionMode that is not a boolean", () => ({ ...v2(), detectionMode: "yes" }), "detectionMode", /true or false/],
    ["a Connaisseur 3 notaryv1 validator without trust roots", () => {
      const d = v3();
      d.application.validators[2].trustRoots = [];
      return d;
    }, "application.validators[2].trustRoots", /at least one trust root/],
    ["a Connaisseur 2 notaryv1 validator without host", () => {
      const d = v2();
      delete d.validators[2].host;
      return d;
    }, "validators[2].host", /required/],
    ["a host that is no URL", () => {
      const d = v2();
      d.validators[2].host = "notary docker io";
      return d;
    }, "validators[2].host", /http\(s\) URL/],
    ["the Connaisseur 3 spelling in a Connaisseur 2 rule", () => {
      const d = v2();
      d.policy[0].with = { trustRoot: "default" };
      return d;
    }, "policy[0].with.trustRoot", /unknown field: Connaisseur 2 calls it trust_root/],
    ["the Connaisseur 2 spelling in a Connaisseur 3 validator", () => {
      const d = v3();
      d.application.validators[2].trust_roots = d.application.validators[2].trustRoots;
      return d;
    }, "application.validators[2].trust_roots", /unknown field: Connaisseur 3 calls it trustRoots/],
    ["a delegation name that cannot be a role", () => {
      const d = v2();
      d.policy[0].with = { delegations: ["alice", "Bob Smith"] };
      return d;
    }, "policy[0].with.delegations[1]", /delegation name/],
    ["an unknown rule field", () => {
      const d = v2();
      d.policy[0].verify = true;
      return d;
    }, "policy[0].verify", /unknown field/],
    ["a validator defined twice", () => {
      const d = v2();
      d.validators.push({ name: "allow", type: "static", approve: false });
      return d;
    }, "validators[3].name", /defined twice/],
    ["no validators", () => ({ ...v2(), validators: [] }), "validators", /at least one validator/],
    ["no policy", () => ({ validators: v2().validators }), "policy", /at least one rule/],
    ["an unknown mode", () => {
      const d = v3();
      d.application.policy[0].with = { mode: "mutateAlways" };
      return d;
    }, "application.policy[0].with.mode", /mutate or insecureValidateOnly/],
    ["the old notaries layout", () => ({ notaries: [], policy_: [] }), "notaries", /validators/],
    ["something that is not Helm values", () => ["validators"], "", /expected Connaisseur's Helm values/],
    ["validators at the top level next to application", () => ({ ...v3(), validators: v2().validators }), "validators", /Connaisseur 3 reads application.validators/],
  ];
  for (const [name, doc, path, message] of cases) {
    it(`reports ${name} at ${path || "(root)"}`, () => expectIssue(doc(), path, message));
  }

  it("reports every problem, not only the first", () => {
    const d = v2();
    d.validators[0].type = "notaryv2";
    d.validators[2].cert = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";
    d.policy[1].pattern = "docker*/x";
    d.policy.push({ pattern: "a.io/*", validator: "missing" });
    expect(issuesOf(d).map((i) => i.path)).toEqual(["validators[0].type", "validators[2].cert", "policy[1].pattern", "policy[2].validator"]);
  });

  it("reports a shared problem once, though a \"*\" rule builds a requirement per trust root", () => {
    const d = v3();
    d.application.validators[2].host = "not a host";
    d.application.validators[2].trustRoots.push({ name: "b", key: OTHER_KEY });
    d.application.policy[0].with = { trustRoot: "*" };
    expect(issuesOf(d).filter((i) => i.path === "application.validators[2].host")).toHaveLength(1);
  });

  it("reads a whole YAML file through parseDocumentText, paths and all", () => {
    const text = v2Values.replace("type: notaryv1  # or other", "type: notaryv2  # or other");
    expect(() => fromText(text)).toThrow(PolicyValidationError);
    try {
      fromText(text);
    } catch (err) {
      expect((err as PolicyValidationError).issues).toEqual([{ path: "validators[3].type", message: "validator type notaryv2 is not supported yet" }]);
    }
  });
});

describe("importConnaisseur: cosign validators", () => {
  const ALICE = pem(v3TeamAPub);
  const BOB = pem(v3TeamBPub);
  const CAROL = pem(sseOfficialPub);

  /** Connaisseur 3's multi-signature example (docs/validators/sigstore_cosign.md), Rekor off. */
  function v3Cosign(withOptions: Record<string, unknown> = {}): any {
    return {
      application: {
        validators: [
          { name: "deny", type: "static", approve: false },
          {
            name: "multicosigner",
            type: "cosign",
            trustRoots: [
              { name: "alice", key: ALICE },
              { name: "bob", key: BOB },
              { name: "charlie", key: CAROL },
            ],
          },
        ],
        policy: [
          { pattern: "*:*", validator: "deny" },
          { pattern: "ghcr.io/team/*:*", validator: "multicosigner", with: { verifyInTransparencyLog: false, ...withOptions } },
        ],
      },
    };
  }

  function v2Cosign(validator: Record<string, unknown> = {}, withOptions?: Record<string, unknown>): any {
    return {
      validators: [{ name: "default", type: "cosign", trust_roots: [{ name: "default", key: ALICE }, { name: "bob", key: BOB }], ...validator }],
      policy: [{ pattern: "*:*", ...(withOptions ? { with: withOptions } : {}) }],
    };
  }

  const rule = (doc: unknown) => importConnaisseur(doc, kinds).rules.find((r) => r.pattern === "ghcr.io/team/*:*" || r.pattern === "*:*" && r.require[0]?.type === "cosign");
  const alice = { name: "alice", key: ALICE };
  const bob = { name: "bob", key: BOB };
  const charlie = { name: "charlie", key: CAROL };

  it("maps a named trust root (with.trustRoot or with.key) to one key", () => {
    expect(rule(v3Cosign({ trustRoot: "bob" }))).toEqual({
      pattern: "ghcr.io/team/*:*",
      require: [{ type: "cosign", keys: [bob] }],
      description: "validator multicosigner, trust root bob",
    });
    expect(rule(v3Cosign({ key: "alice" }))?.require).toEqual([{ type: "cosign", keys: [alice] }]);
    // Connaisseur 3 ignores a threshold unless trustRoot is "*".
    expect(rule(v3Cosign({ key: "alice", threshold: 2 }))?.require).toEqual([{ type: "cosign", keys: [alice] }]);
  });

  const star: [string, Record<string, unknown>, Record<string, unknown>, string][] = [
    ['"*" alone: every trust root must sign', {}, { keys: [alice, bob, charlie], threshold: 3 }, "all trust roots, 3 of 3 must sign"],
    ['"*" with a threshold', { threshold: 2 }, { keys: [alice, bob, charlie], threshold: 2 }, "all trust roots, 2 of 3 must sign"],
    ['"*" with required only: those must sign', { required: ["alice", "bob"] }, { keys: [alice, bob], required: ["alice", "bob"] }, "trust roots alice, bob, required alice, bob"],
    ['"*" with a threshold above required: every root, and the required among them', { threshold: 3, required: ["alice", "bob"] }, { keys: [alice, bob, charlie], threshold: 3, required: ["alice", "bob"] }, "all trust roots, 3 of 3 must sign, required alice, bob"],
    ['"*" with a threshold not above required: the required roots', { threshold: 1, required: ["alice", "bob"] }, { keys: [alice, bob], required: ["alice", "bob"] }, "trust roots alice, bob, 1 of 2 must sign, required alice, bob"],
  ];
  for (const [what, options, requirement, description] of star) {
    it(`maps ${what}`, () => {
      expect(rule(v3Cosign({ trustRoot: "*", ...options }))).toEqual({
        pattern: "ghcr.io/team/*:*",
        require: [{ type: "cosign", ...requirement }],
        description: `validator multicosigner, ${description}`,
      });
    });
  }

  it("uses the trust root named default when the rule names none, and denies with Connaisseur's words when there is none", () => {
    expect(importConnaisseur(v2Cosign(), kinds).rules[0]?.require).toEqual([{ type: "cosign", keys: [{ name: "default", key: ALICE }] }]);
    expect(importConnaisseur(v2Cosign({}, { trust_root: "nope" }), kinds).rules[0]?.require).toEqual([
      { type: "deny", message: 'Trust roots "nope" not configured for validator "default".' },
    ]);
    expect(rule(v3Cosign({ trustRoot: "nope" }))?.require).toEqual([
      { type: "deny", message: "error getting verifiers: error getting trust roots for validator multicosigner: unable to find trust root nope" },
    ]);
  });

  it("denies at a \"*\" rule of a Connaisseur 2 validator without trust roots, as Connaisseur 2 does", () => {
    expect(importConnaisseur(v2Cosign({ trust_roots: null }, { trust_root: "*" }), kinds).rules[0]?.require).toEqual([
      { type: "deny", message: 'validator "default" has no trust roots' },
    ]);
  });

  it("takes Connaisseur 2's threshold and required under \"*\" the same way", () => {
    expect(importConnaisseur(v2Cosign({}, { trust_root: "*", required: ["bob"] }), kinds).rules[0]?.require).toEqual([
      { type: "cosign", keys: [bob], required: ["bob"] },
    ]);
    expect(importConnaisseur(v2Cosign({}, { trust_root: "*" }), kinds).rules[0]?.require).toEqual([
      { type: "cosign", keys: [{ name: "default", key: ALICE }, bob], threshold: 2 },
    ]);
  });

  it("imports a threshold above the trust roots, as Connaisseur accepts it, with a warning; the rule then denies", () => {
    const warnings: PolicyIssue[] = [];
    const policy = importConnaisseur(v3Cosign({ trustRoot: "*", threshold: 4 }), kinds, warnings);
    expect(policy.rules[1]?.require).toEqual([{ type: "cosign", keys: [alice, bob, charlie], threshold: 4 }]);
    expect(warnings).toEqual([
      {
        path: "application.policy[1].with.threshold",
        message: expect.stringMatching(/^a threshold of 4 cannot be met by the 3 trust roots of validator multicosigner: every image of this rule is denied \(validation threshold not reached\)/),
      },
    ]);
    // Connaisseur 2 applies a threshold to a named trust root too.
    const v2Warnings: PolicyIssue[] = [];
    expect(importConnaisseur(v2Cosign({}, { threshold: 2 }), kinds, v2Warnings).rules[0]?.require).toEqual([
      { type: "cosign", keys: [{ name: "default", key: ALICE }], threshold: 2 },
    ]);
    expect(v2Warnings).toEqual([{ path: "policy[0].with.threshold", message: expect.stringContaining("cannot be met by the one trust root default") }]);
  });

  it("warns, naming both trust roots, when a validator lists one key under two names", () => {
    const doc = v3Cosign({ trustRoot: "*", threshold: 2 });
    doc.application.validators[1].trustRoots[2].key = `\n  ${ALICE}\n`;
    const warnings: PolicyIssue[] = [];
    importConnaisseur(doc, kinds, warnings);
    expect(warnings).toEqual([
      {
        path: "application.validators[1].trustRoots[2].key",
        message: 'trust roots "alice" (application.validators[1].trustRoots[0].key) and "charlie" are the same key: a threshold counts them as one signer',
      },
    ]);
  });

  it("asks to turn Rekor off: Connaisseur 3 checks the transparency log unless verifyInTransparencyLog is false", () => {
    const doc = v3Cosign({ trustRoot: "*" });
    delete doc.application.policy[1].with.verifyInTransparencyLog;
    expectIssue(doc, "application.policy[1]", /verifyInTransparencyLog defaults to true.*set with\.verifyInTransparencyLog: false/);
    doc.application.policy[1].with.verifyInTransparencyLog = true;
    expectIssue(doc, "application.policy[1].with.verifyInTransparencyLog", /trustgate checks key-based signatures without the transparency log/);
  });

  it("asks to turn Rekor off in Connaisseur 2 only when the validator has a host (its Rekor URL) or the rule asks for it", () => {
    expect(importConnaisseur(v2Cosign(), kinds).rules[0]?.require[0]?.type).toBe("cosign");
    expectIssue(v2Cosign({ host: "rekor.sigstore.dev" }), "validators[0].host", /set with\.verify_in_transparency_log: false/);
    expect(importConnaisseur(v2Cosign({ host: "rekor.sigstore.dev" }, { verify_in_transparency_log: false }), kinds).rules[0]?.require[0]?.type).toBe("cosign");
    expectIssue(v2Cosign({}, { verify_in_transparency_log: true }), "policy[0].with.verify_in_transparency_log", /Rekor transparency log/);
  });

  const invalid: [string, () => unknown, string, RegExp][] = [
    ["a keyless trust root with issuer and issuerRegex", () => {
      const d = v3Cosign();
      d.application.validators[1].trustRoots.push({ name: "ci", keyless: { issuer: "https://token.actions.githubusercontent.com", issuerRegex: "github", subject: "x" } });
      return d;
    }, "application.validators[1].trustRoots[3].keyless", /^give issuer or issuerRegex \(one of them\)$/],
    ["a keyless trust root without subject", () => {
      const d = v3Cosign();
      d.application.validators[1].trustRoots.push({ name: "ci", keyless: { issuer: "https://token.actions.githubusercontent.com" } });
      return d;
    }, "application.validators[1].trustRoots[3].keyless", /^give subject or subjectRegex \(one of them\)$/],
    ["a trust root with key and keyless", () => {
      const d = v3Cosign();
      d.application.validators[1].trustRoots[0].keyless = { issuer: "https://token.actions.githubusercontent.com", subject: "x" };
      return d;
    }, "application.validators[1].trustRoots[0]", /key or keyless, not both/],
    ["a trust root with neither key nor keyless", () => {
      const d = v3Cosign();
      delete d.application.validators[1].trustRoots[0].key;
      return d;
    }, "application.validators[1].trustRoots[0].key", /required: a public key \(or keyless: issuer and subject\)/],
    ["a keyless regular expression Go and JavaScript read differently", () => {
      const d = v3Cosign({ trustRoot: "ci" });
      d.application.validators[1].trustRoots.push({ name: "ci", keyless: { issuerRegex: "github", subjectRegex: "(?i)philipp" } });
      return d;
    }, "application.validators[1].trustRoots[3].keyless", /\(\?…\) group other than/],
    ["a private Sigstore host with only some of its keys", () => {
      const d = v3Cosign({ trustRoot: "ci", verifyInTransparencyLog: true });
      d.application.validators[1].host = { fulcioCert: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----" };
      d.application.validators[1].trustRoots.push({ name: "ci", keyless: { issuer: "https://token.actions.githubusercontent.com", subject: "x" } });
      return d;
    }, "application.validators[1].host", /add rekorPubkey, ctLogPubkey/],
    ["a KMS key reference", () => {
      const d = v3Cosign();
      d.application.validators[1].trustRoots[0].key = "k8s://connaisseur/cosignkeys";
      return d;
    }, "application.validators[1].trustRoots[0].key", /cannot reach a KMS: export the public key/],
    ["a certificate as key", () => {
      const d = v3Cosign();
      d.application.validators[1].trustRoots[0].key = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----";
      return d;
    }, "application.validators[1].trustRoots[0].key", /expected a PEM PUBLIC KEY \(cosign\.pub\)/],
    ["a threshold that is no number", () => v3Cosign({ trustRoot: "*", threshold: "two" }), "application.policy[1].with.threshold", /whole number/],
    ["a required trust root the validator lacks", () => v3Cosign({ trustRoot: "*", required: ["alice", "dave"] }), "application.policy[1].with.required[1]", /has no trust root "dave"/],
    ["required signers beside a single named trust root", () => v3Cosign({ trustRoot: "alice", required: ["bob"] }), "application.policy[1].with.required", /verifies only trust root alice/],
    ["delegations on a cosign rule", () => v3Cosign({ delegations: ["alice"] }), "application.policy[1].with.delegations", /delegations are Notary roles/],
    ["auth.secretName", () => {
      const d = v3Cosign();
      d.application.validators[1].auth = { secretName: "regcred" };
      return d;
    }, "application.validators[1].auth.secretName", /REGISTRY_CREDENTIALS/],
    ["inline credentials", () => v2Cosign({ auth: { username: "u", password: "p" } }), "validators[0].auth.username", /unknown field/],
    ["a cert", () => v2Cosign({ cert: "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----" }), "validators[0].cert", /cannot pin a custom CA for a registry/],
    ["a Connaisseur 3 host that is a string", () => {
      const d = v3Cosign();
      d.application.validators[1].host = "rekor.sigstore.dev";
      return d;
    }, "application.validators[1].host", /expected a mapping/],
    ["a Connaisseur 3 cosign validator without trust roots", () => {
      const d = v3Cosign();
      d.application.validators[1].trustRoots = [];
      return d;
    }, "application.validators[1].trustRoots", /at least one trust root for a cosign validator/],
  ];
  for (const [name, doc, path, message] of invalid) {
    it(`reports ${name} at ${path}`, () => expectIssue(doc(), path, message));
  }

  it("accepts the keychain and Rekor host settings it has no use for", () => {
    const d = v3Cosign();
    d.application.validators[1].auth = { useKeychain: true };
    d.application.validators[1].host = { rekor: "rekor.example.com", rekorPubkey: KEY };
    d.application.policy[1].with.verifySCT = false;
    d.application.policy[1].with.trustRoot = "*";
    expect(rule(d)?.require[0]).toMatchObject({ type: "cosign" });
  });
});

describe("importConnaisseur: decided as Connaisseur decides", () => {
  // bundle-fallback-tag: alice and carol signed the image; bob did not.
  const served = vector("bundle-fallback-tag");
  const image = `${served.meta.image.repository}:v1`;
  const deps = (): DecideDeps => {
    const store = new Map<string, string>();
    const cache = { get: async (k: string) => store.get(k) ?? null, put: async (k: string, v: string) => void store.set(k, v) };
    const clock = { now: () => new Date("2026-11-23T00:00:00Z") };
    return {
      kinds,
      digests: { resolve: async () => ({ ok: true as const, digest: served.meta.image.digest, cached: false }) },
      verdictCache: cache,
      verdictTtlSeconds: 300,
      clock,
      verifier: {
        fetch: fakeRegistry(served.registry).fetch,
        trustCache: cache,
        clock,
        counter: { count: () => {} },
        settings: { upstreamTimeoutMs: 1000, trustRecheckSeconds: 120, credentials: {} },
      },
    };
  };
  const values = (threshold: number) => ({
    application: {
      validators: [
        { name: "cosigners", type: "cosign", trustRoots: [{ name: "alice", key: publicKey("alice") }, { name: "carol", key: publicKey("carol") }] },
      ],
      policy: [{ pattern: "127.0.0.1:5000/*:*", validator: "cosigners", with: { trustRoot: "*", threshold, verifyInTransparencyLog: false } }],
    },
  });

  it("denies a threshold above the trust roots at decision time, in Connaisseur's words (2/3)", async () => {
    const policy = importConnaisseur(values(3), kinds);
    const verdict = await decide({ image, reference: parseReference(image), context: {} }, { id: "c", revision: "r3", policy }, deps());
    expect(verdict.decision).toBe("deny");
    expect(verdict.reasons[0]).toMatchObject({ code: "COSIGN_THRESHOLD_UNMET", signers: ["alice", "carol"], threshold: 3 });
    expect(verdict.reasons[0]!.message).toMatch(/^validation threshold not reached \(2\/3\)/);
    // The same signatures meet a threshold of 2.
    const two = importConnaisseur(values(2), kinds);
    expect((await decide({ image, reference: parseReference(image), context: {} }, { id: "c", revision: "r2", policy: two }, deps())).decision).toBe("allow");
  });
});
