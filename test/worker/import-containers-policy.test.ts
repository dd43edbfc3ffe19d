// containers-policy.json and registries.d through the HTTP API: stored as sent, decided as podman would decide.
/// <reference types="vite/client" />
import { describe, expect, it } from "vitest";
import { ADMIN, DIGEST_A, DIGEST_B, call, decideImage, putPolicy } from "./http";

const DIGEST_C = `sha256:${"c".repeat(64)}`;
import labUserB64 from "../unit/importers/fixtures/keys/lab-user.gpg.b64?raw";

// A test key (see test/unit/importers/fixtures/containers-policy/README.md); it signs nothing.
const KEY_DATA = labUserB64.trim();

/** policy.json as podman writes it, with the key inline and a third-party store over HTTP. */
const policyJson = {
  default: [{ type: "reject" }],
  transports: {
    docker: {
      "docker.io/library": [{ type: "insecureAcceptAnything" }],
      [`registry.example.com/team/app@${DIGEST_C}`]: [{ type: "insecureAcceptAnything" }],
      "registry.example.com/team": [{ type: "reject" }],
      "*.example.com": [{ type: "insecureAcceptAnything" }],
      "server.summit.lab": [{ type: "signedBy", keyType: "GPGKeys", keyData: KEY_DATA }],
      // The same on loopback, nothing listening, for a decision that stays offline.
      "240.0.0.1:9/quayuser": [{ type: "signedBy", keyType: "GPGKeys", keyData: KEY_DATA }],
    },
    "docker-daemon": { "": [{ type: "insecureAcceptAnything" }] },
  },
};

// Loopback, nothing listening: whatever the verifier tries, it fails fast and offline.
const registriesD = `docker:
  server.summit.lab:
    sigstore: http://240.0.0.1:9/sigstore
    sigstore-staging: file:///usr/tmp/sigstore/server.summit.lab
`;

const yamlDocument = `# podman's policy.json and /etc/containers/registries.d/default.yaml
policy: ${JSON.stringify(policyJson)}
registries.d:
  - |
${registriesD.replace(/^/gm, "    ")}`;

describe("PUT /v1/policies/{id}?format=containers-policy", () => {
  it("stores policy.json and registries.d, answering the usual id, revision and format", async () => {
    const res = await putPolicy("cp-basic", yamlDocument, "containers-policy");
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(res.json).toEqual({ id: "cp-basic", revision: expect.stringMatching(/^[a-f0-9]{32}$/), format: "containers-policy", warnings: [] });

    const got = await call("GET", "/v1/policies/cp-basic", { token: ADMIN });
    expect(got.json.document).toBe(yamlDocument);
    expect(got.json.policy).toMatchObject({ mode: "enforce", patternStyle: "containers-policy" });
    // What trustgate leaves aside is said where the stored policy shows it.
    expect(got.json.policy.description).toContain("Ignored transports: docker-daemon (1 scope)");
    expect(got.json.policy.rules).toContainEqual({
      pattern: "server.summit.lab/*",
      require: [{ type: "signedBy", keys: [KEY_DATA], lookaside: { scopes: { "server.summit.lab": "http://240.0.0.1:9/sigstore" } } }],
      description: 'transports.docker["server.summit.lab"]',
    });
  });

  it("takes policy.json as JSON too, and gives the same revision for the same policy", async () => {
    const a = await putPolicy("cp-json", { policy: { default: [{ type: "reject" }] } }, "containers-policy");
    const b = await putPolicy("cp-json-2", '{"default": [{"type": "reject"}]}', "containers-policy");
    expect(a.status, JSON.stringify(a.json)).toBe(200);
    expect(b.status, JSON.stringify(b.json)).toBe(200);
    expect(b.json.revision).toBe(a.json.revision);
  });

  it("refuses what trustgate cannot do, with the paths of every problem, and stores nothing", async () => {
    const bad = {
      policy: {
        default: [{ type: "reject" }],
        transports: {
          docker: {
            busybox: [{ type: "insecureAcceptAnything" }],
            "server.summit.lab": [{ type: "signedBy", keyType: "GPGKeys", keyPath: "/usr/tmp/keys/gpg-pubkey.gpg" }],
          },
        },
      },
      "registries.d": ["docker:\n  server.summit.lab:\n    sigstore: file:///usr/tmp/sigstore/server.summit.lab\n"],
    };
    const res = await putPolicy("cp-invalid", bad, "containers-policy");
    expect(res.status).toBe(400);
    expect(res.json.error.code).toBe("INVALID_POLICY");
    expect(res.json.error.issues).toEqual([
      { path: 'policy.transports.docker["busybox"]', message: expect.stringMatching(/write "docker.io\/library\/busybox"/) },
      { path: 'policy.transports.docker["server.summit.lab"][0].keyPath', message: expect.stringMatching(/cannot read files/) },
      { path: 'registries.d[0].docker["server.summit.lab"].sigstore', message: expect.stringMatching(/http\(s\)/) },
    ]);
    expect((await call("GET", "/v1/policies/cp-invalid", { token: ADMIN })).status).toBe(404);
  });
});

describe("decisions under a containers-policy policy", () => {
  it("allows by insecureAcceptAnything in the scope containers/image would pick", async () => {
    await putPolicy("cp-dec", yamlDocument, "containers-policy");
    const nginx = await decideImage(`nginx@${DIGEST_A}`, "cp-dec");
    expect(nginx.json).toMatchObject({ decision: "allow", allowed: true, rule: "docker.io/library/*", digest: DIGEST_A });
    expect(nginx.json.reasons[0].code).toBe("STATIC_ALLOW");

    // *.example.com covers any host below example.com, on any port.
    const wildcard = await decideImage(`mirror.example.com:5000/tools/app@${DIGEST_B}`, "cp-dec");
    expect(wildcard.json).toMatchObject({ decision: "allow", rule: "*.example.com:*/*" });
  });

  it("rejects by a reject scope, even under a wildcard that accepts, with containers/image's words", async () => {
    await putPolicy("cp-dec", yamlDocument, "containers-policy");
    const res = await decideImage(`registry.example.com/team/app@${DIGEST_A}`, "cp-dec");
    expect(res.json).toMatchObject({ decision: "deny", allowed: false, rule: "registry.example.com/team/*" });
    expect(res.json.reasons).toEqual([
      {
        code: "STATIC_DENY",
        message: `Running image docker://registry.example.com/team/app@${DIGEST_A} is rejected by policy.`,
        rule: "registry.example.com/team/*",
        requirement: "deny",
      },
    ]);
  });

  it("rejects by default what no scope names", async () => {
    await putPolicy("cp-dec", yamlDocument, "containers-policy");
    const res = await decideImage(`quay.io/org/app@${DIGEST_B}`, "cp-dec");
    expect(res.json).toMatchObject({ decision: "deny", rule: "*" });
    expect(res.json.reasons[0].message).toBe(`Running image docker://quay.io/org/app@${DIGEST_B} is rejected by policy.`);
  });

  it("picks the full-reference scope over its repository's namespace", async () => {
    await putPolicy("cp-dec", yamlDocument, "containers-policy");
    const pinned = await decideImage(`registry.example.com/team/app@${DIGEST_C}`, "cp-dec");
    expect(pinned.json).toMatchObject({ decision: "allow", rule: `registry.example.com/team/app@${DIGEST_C}` });
    const other = await decideImage(`registry.example.com/team/app@${DIGEST_B}`, "cp-dec");
    expect(other.json).toMatchObject({ decision: "deny", rule: "registry.example.com/team/*" });
  });

  it("hands the images of a signedBy scope to the signedBy rule", async () => {
    await putPolicy("cp-dec", yamlDocument, "containers-policy");
    const res = await decideImage(`240.0.0.1:9/quayuser/rhel-ubi8@${DIGEST_A}`, "cp-dec");
    // The simple-signing verifier is being written: only the rule is asserted, not the decision.
    expect(res.json).toMatchObject({ rule: "240.0.0.1:9/quayuser/*", digest: DIGEST_A });
  });
});
