// Policy administration: validation before storage, formats, paths of offending fields, CRUD.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createSigstorePki } from "../support/sigstore-pki";
import { ADMIN, call, putPolicy } from "./http";

const allowAll = { mode: "enforce", rules: [{ pattern: "*:*", require: [{ type: "allow" }] }] };

describe("PUT /v1/policies/{id}", () => {
  it("stores a native JSON policy and returns its revision", async () => {
    const res = await putPolicy("store-json", allowAll);
    expect(res.status).toBe(200);
    expect(res.json).toEqual({ id: "store-json", revision: expect.stringMatching(/^[a-f0-9]{32}$/), format: "native", warnings: [] });

    const got = await call("GET", "/v1/policies/store-json", { token: ADMIN });
    expect(got.status).toBe(200);
    expect(got.json.revision).toBe(res.json.revision);
    expect(got.json.document).toBe(JSON.stringify(allowAll));
    expect(got.json.policy).toEqual({ mode: "enforce", patternStyle: "native", rules: allowAll.rules });
  });

  it("accepts YAML, and the same policy gets the same revision whatever its text", async () => {
    const yaml = `# same policy as JSON\nmode: enforce\nrules:\n  - pattern: "*:*"\n    require:\n      - type: allow\n`;
    const a = await putPolicy("store-yaml", yaml);
    const b = await putPolicy("store-json-2", allowAll);
    expect(a.status).toBe(200);
    expect(a.json.revision).toBe(b.json.revision);
    expect((await call("GET", "/v1/policies/store-yaml", { token: ADMIN })).json.document).toBe(yaml);
  });

  it("defaults mode to enforce", async () => {
    const res = await putPolicy("default-mode", { rules: allowAll.rules });
    expect(res.status).toBe(200);
    expect((await call("GET", "/v1/policies/default-mode", { token: ADMIN })).json.policy.mode).toBe("enforce");
  });

  const invalid: [string, unknown, string, RegExp][] = [
    ["no rules", { mode: "enforce" }, "rules", /expected array/i],
    ["empty rules", { rules: [] }, "rules", /too small|at least/i],
    ["bad mode", { mode: "strict", rules: allowAll.rules }, "mode", /enforce|audit/],
    ["unknown top-level field", { ...allowAll, extra: 1 }, "extra", /unknown field/],
    ["unknown rule field", { rules: [{ pattern: "*:*", require: [{ type: "allow" }], when: "x" }] }, "rules[0].when", /unknown field/],
    ["pattern not a string", { rules: [{ pattern: 7, require: [{ type: "allow" }] }] }, "rules[0].pattern", /string/],
    ["empty require", { rules: [{ pattern: "*:*", require: [] }] }, "rules[0].require", /too small|at least/i],
    ["unknown requirement type", { rules: [{ pattern: "*:*", require: [{ type: "allow" }, { type: "magic" }] }] }, "rules[0].require[1].type", /unknown requirement type "magic"; supported: allow, deny/],
    ["requirement without type", { rules: [{ pattern: "*:*", require: [{ message: "x" }] }] }, "rules[0].require[0].type", /required/],
    ["unknown requirement field", { rules: [{ pattern: "*:*", require: [{ type: "allow", key: "x" }] }] }, "rules[0].require[0].key", /unknown field/],
    ["deny message wrong type", { rules: [{ pattern: "*:*", require: [{ type: "deny", message: 3 }] }] }, "rules[0].require[0].message", /string/],
    ["not an object", [1, 2], "", /object/],
    // containers/image refuses these when loading a policy: such a rule could never match.
    [
      "an exactReference without tag or digest",
      { rules: [{ pattern: "*", require: [{ type: "signedBy", keys: ["k"], signedIdentity: { type: "exactReference", dockerReference: "quay.io/org/app" } }] }] },
      "rules[0].require[0].signedIdentity.dockerReference",
      /^dockerReference quay.io\/org\/app contains neither a tag nor digest$/,
    ],
    [
      "an exactRepository that is no reference",
      { rules: [{ pattern: "*", require: [{ type: "signedBy", keys: ["k"], signedIdentity: { type: "exactRepository", dockerRepository: "Not A Repo" } }] }] },
      "rules[0].require[0].signedIdentity.dockerRepository",
      /^Invalid format of dockerRepository Not A Repo/,
    ],
  ];
  for (const [name, doc, path, message] of invalid) {
    it(`rejects ${name} with the path ${path || "(root)"} and stores nothing`, async () => {
      const res = await putPolicy("invalid-one", doc);
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe("INVALID_POLICY");
      const issue = res.json.error.issues.find((i: { path: string }) => i.path === path);
      expect(issue, JSON.stringify(res.json.error.issues)).toBeDefined();
      expect(issue.message).toMatch(message);
      expect((await call("GET", "/v1/policies/invalid-one", { token: ADMIN })).status).toBe(404);
    });
  }

  it("keeps the stored policy intact when a bad update is refused", async () => {
    const first = await putPolicy("kept", allowAll);
    const bad = await putPolicy("kept", { rules: [{ pattern: "*:*", require: [{ type: "nope" }] }] });
    expect(bad.status).toBe(400);
    const got = await call("GET", "/v1/policies/kept", { token: ADMIN });
    expect(got.json.revision).toBe(first.json.revision);
  });

  it("rejects text that is neither JSON nor YAML", async () => {
    const res = await putPolicy("garbage", "rules: [unclosed\n  - : :");
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("INVALID_POLICY");
    expect(res.json.error.message).toMatch(/not valid JSON or YAML/);
  });

  it("rejects duplicate YAML keys and runaway aliases", async () => {
    const dup = await putPolicy("dup", "mode: enforce\nmode: audit\nrules: []\n");
    expect(dup.status).toBe(400);
    const laughs = ["a: &a [x,x,x,x,x,x,x,x,x,x]"];
    for (let i = 1; i < 12; i++) laughs.push(`${"b".repeat(i)}: &${"b".repeat(i)} [${Array(10).fill(i === 1 ? "*a" : `*${"b".repeat(i - 1)}`).join(",")}]`);
    const res = await putPolicy("laughs", `${laughs.join("\n")}\nrules: []\n`);
    expect(res.status).toBe(400);
  });

  it("rejects an empty body", async () => {
    const res = await putPolicy("empty", "");
    expect(res.status).toBe(400);
    expect(res.json.error.message).toMatch(/empty/);
  });

  it("names the supported formats for an unknown one", async () => {
    for (const format of ["gatekeeper", "NATIVE"]) {
      const res = await putPolicy("fmt", allowAll, format);
      expect(res.status).toBe(400);
      expect(res.json.error.code).toBe("UNSUPPORTED_FORMAT");
      expect(res.json.error.message).toContain("supported: native, containers-policy, portieris, connaisseur, kyverno, policy-controller");
    }
  });

  for (const id of ["Upper", "-leading", "a".repeat(64), "sp ace", "ünï", "a/b"]) {
    it(`rejects the policy ID ${JSON.stringify(id)}`, async () => {
      const res = await putPolicy(encodeURIComponent(id), allowAll);
      expect([400, 404]).toContain(res.status);
      if (res.status === 400) expect(res.json.error.code).toBe("INVALID_POLICY_ID");
    });
  }

  it("accepts the longest valid ID", async () => {
    const id = `a${"b.c_d-".repeat(8)}${"e".repeat(14)}`;
    expect(id.length).toBe(63);
    expect((await putPolicy(id, allowAll)).status).toBe(200);
  });

  it("answers 413 for a body over 1 MiB and stores nothing", async () => {
    const big = JSON.stringify({ ...allowAll, description: "x".repeat(1024 * 1024) });
    const res = await putPolicy("too-big", big);
    expect(res.status).toBe(413);
    expect(res.json.error.code).toBe("PAYLOAD_TOO_LARGE");
    expect((await call("GET", "/v1/policies/too-big", { token: ADMIN })).status).toBe(404);
  });
});

describe("PUT /v1/policies: warnings", () => {
  const guarded = {
    rules: [
      { pattern: "*", require: [{ type: "allow" }] },
      { pattern: "docker.io/library/busybox", require: [{ type: "deny" }] },
    ],
  };

  it("imports what probably does not do what its author meant, answers the warnings, and GET returns them", async () => {
    const res = await putPolicy("warned", guarded);
    expect(res.status).toBe(200);
    expect(res.json.warnings).toEqual([{ path: "rules[0]", message: expect.stringContaining("allows, from any registry") }]);
    const got = await call("GET", "/v1/policies/warned", { token: ADMIN });
    expect(got.json.warnings).toEqual(res.json.warnings);
    // A clean update clears them.
    await putPolicy("warned", allowAll);
    expect((await call("GET", "/v1/policies/warned", { token: ADMIN })).json.warnings).toEqual([]);
  });

  it("reads a policy stored before there were warnings as having none", async () => {
    const stored = {
      id: "old-record",
      revision: "0".repeat(32),
      format: "native",
      policy: { mode: "enforce", patternStyle: "native", rules: allowAll.rules },
      document: JSON.stringify(allowAll),
      createdAt: "2026-01-01T00:00:00.000Z",
      updatedAt: "2026-01-01T00:00:00.000Z",
    };
    await env.POLICIES.put("policy:old-record", JSON.stringify(stored));
    const got = await call("GET", "/v1/policies/old-record", { token: ADMIN });
    expect(got.status).toBe(200);
    expect(got.json).toEqual({ ...stored, warnings: [] });
  });
});

describe("GET and DELETE /v1/policies", () => {
  it("lists, reads and deletes", async () => {
    await putPolicy("list-a", allowAll);
    await putPolicy("list-b", { mode: "audit", rules: allowAll.rules });
    const list = await call("GET", "/v1/policies", { token: ADMIN });
    expect(list.status).toBe(200);
    const ids = list.json.policies.map((p: { id: string }) => p.id);
    expect(ids).toEqual(expect.arrayContaining(["list-a", "list-b"]));
    expect(list.json.policies.find((p: { id: string }) => p.id === "list-b")).toMatchObject({
      format: "native",
      revision: expect.any(String),
      updatedAt: expect.any(String),
    });

    const del = await call("DELETE", "/v1/policies/list-a", { token: ADMIN });
    expect(del.status).toBe(200);
    expect((await call("GET", "/v1/policies/list-a", { token: ADMIN })).status).toBe(404);
    const again = await call("DELETE", "/v1/policies/list-a", { token: ADMIN });
    expect(again.status).toBe(404);
    expect(again.json.error.code).toBe("POLICY_NOT_FOUND");
  });
});

describe("PUT /v1/policies: cosign keyless options", () => {
  const key = { name: "k", key: "-----BEGIN PUBLIC KEY-----\nx\n-----END PUBLIC KEY-----" };
  const gh = { issuer: "https://token.actions.githubusercontent.com", subject: "https://github.com/org/repo/.github/workflows/release.yml@refs/heads/main" };
  const put = (requirement: Record<string, unknown>) =>
    putPolicy("cosign-keyless", { rules: [{ pattern: "*", require: [{ type: "cosign", ...requirement }] }] });

  for (const [name, requirement, path, words] of [
    ["keyless that is not an object", { keys: [key], keyless: true }, "rules[0].require[0].keyless", /object/],
    ["identities outside keyless", { keys: [key], identities: [gh] }, "rules[0].require[0].identities", /keyless identities go under keyless\.identities/],
    ["a Rekor URL", { keys: [key], rekor: { url: "https://rekor.example.com" } }, "rules[0].require[0].rekor", /Rekor URL is not used/],
    ["neither keys nor keyless", {}, "rules[0].require[0].keys", /give keys, keyless identities, or both/],
    ["an identity without issuer", { keyless: { identities: [{ subject: "a@example.com" }] } }, "rules[0].require[0].keyless.identities[0]", /issuer or issuerRegExp/],
    ["an identity with subject and subjectRegExp", { keyless: { identities: [{ ...gh, subjectRegExp: "^https://" }] } }, "rules[0].require[0].keyless.identities[0]", /subject or subjectRegExp/],
    ["a regular expression that does not compile", { keyless: { identities: [{ issuer: gh.issuer, subjectRegExp: "(" }] } }, "rules[0].require[0].keyless.identities[0].subjectRegExp", /the regular expression "\(" is not valid/],
    ["an unknown Fulcio extension", { keyless: { identities: [{ ...gh, extensions: { githubWorkflowRepo: "org/repo" } }] } }, "rules[0].require[0].keyless.identities[0].extensions", /unknown Fulcio extension "githubWorkflowRepo"; known: githubWorkflowTrigger/],
    ["an unknown keyless field", { keyless: { identities: [gh], ctlog: {} } }, "rules[0].require[0].keyless.ctlog", /unknown field/],
    ["a required signer that is neither key nor identity", { keys: [key], keyless: { identities: [{ ...gh, name: "release" }] }, required: ["nightly"] }, "rules[0].require[0].required", /keys or keyless identities/],
    ["an identity named like a key", { keys: [key], keyless: { identities: [{ ...gh, name: "k" }] } }, "rules[0].require[0].keyless.identities", /"k" appears more than once/],
    ["a trust root that is not one", { keyless: { identities: [gh], trustRoot: { mediaType: "x" } } }, "rules[0].require[0].keyless.trustRoot", /not a usable trusted_root\.json/],
  ] as const) {
    it(`refuses ${name} with a 400 naming the field`, async () => {
      const res = await put(requirement);
      expect(res.status).toBe(400);
      expect(res.json.error.issues).toEqual([{ path, message: expect.stringMatching(words) }]);
    });
  }

  it("accepts an inline trust root, as an object or as the JSON text of trusted_root.json", async () => {
    const pki = await createSigstorePki();
    for (const trustRoot of [pki.trustedRoot, pki.trustedRootJson]) {
      const res = await put({ keyless: { identities: [gh], trustRoot } });
      expect(res.status, JSON.stringify(res.json)).toBe(200);
    }
  });

  it("accepts keyless identities without keys, names them in required, and warns about one listed twice", async () => {
    const res = await put({
      keyless: { identities: [{ ...gh, name: "release" }, { ...gh, name: "again" }, { issuerRegExp: "^https://accounts\\.google\\.com$", subject: "a@example.com" }] },
      required: ["release"],
      threshold: 3,
    });
    expect(res.status).toBe(200);
    expect(res.json.warnings).toEqual([
      { path: "rules[0].require[0].keyless.identities[1]", message: expect.stringMatching(/"again" is the same identity as "release".*count as one signer/) },
      { path: "rules[0].require[0].threshold", message: expect.stringMatching(/threshold of 3 cannot be met by 2 distinct signers/) },
    ]);
  });
});
