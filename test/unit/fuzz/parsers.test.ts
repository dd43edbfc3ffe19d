// Property-based fuzzing of the core parsers: any input either parses or throws the parser's own error type.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { planAdmission } from "../../../src/admission/plan";
import { AdmissionReviewError, admissionReviewSchema, namespaceLabelsOf } from "../../../src/admission/review";
import { containerImages } from "../../../src/admission/workloads";
import { HookPayloadError } from "../../../src/hooks/common";
import { parseDistributionEnvelope } from "../../../src/hooks/distribution";
import { parseHarborPayload } from "../../../src/hooks/harbor";
import { compilePolicy } from "../../../src/policy/compile";
import { parseDocumentText } from "../../../src/policy/document";
import { importPolicy, SUPPORTED_FORMATS, UnsupportedFormatError } from "../../../src/policy/import";
import { PolicyValidationError, type Policy } from "../../../src/policy/model";
import { compilePattern, PATTERN_STYLES, PatternSyntaxError } from "../../../src/policy/pattern";
import { InvalidReferenceError, parseReference } from "../../../src/reference";
import { defaultRequirementKinds as kinds } from "../../../src/requirements";
import { mutationOf, mutationOfAny, onlyRejects, onlyThrows, weirdValue } from "./mutate";
import connaisseurV2 from "../importers/fixtures/connaisseur-v2-5gmeta.yaml?raw";
import connaisseurV3 from "../importers/fixtures/connaisseur-v3.yaml?raw";
import portieris000 from "../importers/fixtures/portieris-000-imagepolicy.yaml?raw";
import portieris004 from "../importers/fixtures/portieris-004-simple-with-secret.yaml?raw";
import labUserB64 from "../importers/fixtures/keys/lab-user.gpg.b64?raw";
import cosignPub from "../importers/fixtures/keys/cosign-test.pub?raw";
import kyvernoFixture from "../importers/fixtures/kyverno-verify-images.yaml?raw";
import policyControllerFixture from "../importers/fixtures/policy-controller-cips.yaml?raw";

type RawGlob = (pattern: string, options: { query: "?raw"; import: "default"; eager: true }) => Record<string, string>;
const admissionFiles = (import.meta as ImportMeta & { glob: RawGlob }).glob("../../vectors/admission/*.json", { query: "?raw", import: "default", eager: true });
const hookFiles = (import.meta as ImportMeta & { glob: RawGlob }).glob("../../vectors/hooks/*.json", { query: "?raw", import: "default", eager: true });

const RUNS = { numRuns: 300 };
const parseYaml = (text: string): unknown => parseDocumentText(text).value;

// --- references ---

const refChars = fc.constantFrom(..."abcAZ09._-/:@+ %\u00e9\u0000".split(""));
const referenceLike = fc.oneof(
  fc.string({ maxLength: 80 }),
  fc.string({ unit: refChars, maxLength: 80 }),
  fc
    .tuple(
      fc.constantFrom("", "docker.io/", "localhost:5000/", "[::1]:5000/", "reg.example.com/", "a:99999999999/", "LOCALHOST/", "1.2.3.4:0/", "Registry-1.Docker.IO/", "reg.example.com:443/", "127.0.0.1:80/", "[::1]:080/", "Reg.Example.Com:0443/"),
      fc.string({ unit: refChars, maxLength: 30 }),
      fc.constantFrom("", ":latest", ":", `@sha256:${"a".repeat(64)}`, "@sha256:abc", `@sha512:${"b".repeat(128)}`, ":t@sha256:", "@"),
    )
    .map(([a, b, c]) => a + b + c),
  fc.string({ minLength: 1000, maxLength: 1100 }),
);

describe("parseReference", () => {
  it("throws only InvalidReferenceError, on strings and non-strings", () => {
    fc.assert(
      fc.property(fc.oneof(referenceLike, weirdValue), (input) => {
        const ref = onlyThrows([InvalidReferenceError], input, () => parseReference(input as string));
        if (ref) {
          // A parsed reference re-parses to itself: its canonical form is a valid reference, with
          // the same registry, path, tag and digest (one spelling per image).
          expect(parseReference(ref.canonical)).toStrictEqual(ref);
          expect(ref.canonical).toBe(`${ref.name}${ref.tag !== undefined ? `:${ref.tag}` : ""}${ref.digest !== undefined ? `@${ref.digest}` : ""}`);
        }
      }),
      { numRuns: 500 },
    );
  });
});

// --- patterns ---

const patternChars = fc.constantFrom(..."ab*?[]{}!^\\/:@.-_,~+".split(""));
describe("compilePattern", () => {
  it("throws only PatternSyntaxError for every style", () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.string({ maxLength: 60 }), fc.string({ unit: patternChars, maxLength: 60 }), fc.string({ minLength: 1020, maxLength: 1030 }), weirdValue),
        fc.constantFrom(...PATTERN_STYLES),
        (source, style) => {
          onlyThrows([PatternSyntaxError], source, () => compilePattern(source as string, style));
        },
      ),
      { numRuns: 500 },
    );
  });
});

// --- policies ---

const nativeFixture = {
  mode: "enforce",
  rules: [
    { pattern: "*", require: [{ type: "deny", message: "no" }] },
    { pattern: "docker.io/library/*", require: [{ type: "allow" }] },
    {
      pattern: "registry.example.com/team/*",
      require: [{ type: "notary", server: "https://notary.example.com" }],
    },
  ],
  namespacedValidation: { mode: "validate" },
};

const fixtureDocs: Record<string, unknown[]> = {
  native: [nativeFixture],
  connaisseur: [parseYaml(connaisseurV2), parseYaml(connaisseurV3)],
  portieris: [parseYaml(portieris000), ...[portieris004].map((t) => parseYaml(t))].filter((d) => d !== null && d !== undefined),
  "containers-policy": [
    {
      policy: {
        default: [{ type: "reject" }],
        transports: {
          docker: {
            "docker.io/library": [{ type: "insecureAcceptAnything" }],
            "quay.io/team": [{ type: "signedBy", keyType: "GPGKeys", keyData: labUserB64.trim(), signedIdentity: { type: "matchRepository" } }],
            "ghcr.io/org": [{ type: "sigstoreSigned", keyData: btoa(cosignPub), signedIdentity: { type: "remapIdentity", prefix: "ghcr.io/org", signedPrefix: "ghcr.io/other" } }],
          },
        },
      },
      "registries.d": [{ docker: { "quay.io/team": { lookaside: "https://sigs.example.com/quay" } } }],
    },
    { default: [{ type: "insecureAcceptAnything" }] },
  ],
  kyverno: [parseDocumentText(kyvernoFixture).value],
  "policy-controller": [parseDocumentText(policyControllerFixture).value],
};

async function importOnly(text: string, format: string): Promise<void> {
  const imported = await onlyRejects([PolicyValidationError, UnsupportedFormatError], { format, text }, () => importPolicy(text, format, kinds));
  if (imported) {
    // What validates must also compile: the policy store keeps it, decisions compile it.
    onlyThrows([], { format, text }, () => compilePolicy(imported.policy as Policy));
  }
}

describe("importPolicy", () => {
  it("throws only PolicyValidationError/UnsupportedFormatError on random text", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string({ maxLength: 200 }), fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? "")),
        fc.oneof(fc.constantFrom(...SUPPORTED_FORMATS), fc.constantFrom("notation", "", "NATIVE", "__proto__", "toString")),
        async (text, format) => importOnly(text, format),
      ),
      RUNS,
    );
  });

  for (const format of SUPPORTED_FORMATS) {
    it(`${format}: mutations of valid documents give only PolicyValidationError`, async () => {
      // The fixtures themselves import.
      for (const d of fixtureDocs[format]!) await importPolicy(JSON.stringify(d), format, kinds);
      await fc.assert(
        fc.asyncProperty(mutationOfAny(fixtureDocs[format]!), async (doc) => importOnly(JSON.stringify(doc) ?? "null", format)),
        { numRuns: 400 },
      );
    });
  }

  it("YAML oddities (anchors, tags, multi-docs) give only PolicyValidationError", async () => {
    const yamlBits = fc.constantFrom(
      "a: &x [1]\nb: *x\n",
      "!!binary aGVsbG8=\n",
      "--- \n---\n",
      "rules: !!set {a}\n",
      "rules: [*",
      "? [a]\n: b\n",
      "rules:\n  - pattern: !!int 3\n",
      "%YAML 1.1\n---\nrules: []\n",
      "a: !<tag:yaml.org,2002:js/undefined> ''\n",
      "<<: {rules: 1}\n",
      "\t",
      "rules: 2001-01-01\n",
      "rules: 0x10\n",
      "rules: .nan\n",
      "- !!timestamp 2001-12-14t21:59:43.10-05:00\n",
    );
    await fc.assert(
      fc.asyncProperty(fc.array(yamlBits, { minLength: 1, maxLength: 4 }), fc.constantFrom(...SUPPORTED_FORMATS), async (bits, format) =>
        importOnly(bits.join(""), format),
      ),
      RUNS,
    );
  });
});

// --- admission ---

const admissionFixtures = Object.values(admissionFiles).map((t) => JSON.parse(t));
const denyPolicy = (nv?: unknown) =>
  ({ mode: "enforce", patternStyle: "native", rules: [{ pattern: "*", require: [{ type: "deny" }] }], ...(nv ? { namespacedValidation: nv } : {}) }) as unknown as Policy;

function admissionOnly(value: unknown): void {
  const parsed = onlyThrows([], value, () => admissionReviewSchema.safeParse(value));
  if (!parsed?.success) return;
  const review = parsed.data;
  const labels = onlyThrows([AdmissionReviewError], value, () => namespaceLabelsOf(review));
  for (const policy of [denyPolicy(), denyPolicy({ mode: "validate" }), denyPolicy({ mode: "ignore" })]) {
    onlyThrows([AdmissionReviewError], value, () => planAdmission(review, policy, labels));
  }
}

describe("AdmissionReview parsing and planning", () => {
  it("the fixtures parse", () => {
    expect(admissionFixtures.length).toBeGreaterThan(5);
    for (const f of admissionFixtures) expect(admissionReviewSchema.safeParse(f).success).toBe(true);
  });

  it("mutated reviews: schema, namespace labels and plan throw only AdmissionReviewError", () => {
    fc.assert(fc.property(mutationOfAny(admissionFixtures), admissionOnly), { numRuns: 500 });
  });

  it("random JSON: only AdmissionReviewError", () => {
    fc.assert(fc.property(fc.jsonValue({ maxDepth: 4 }), admissionOnly), RUNS);
  });

  it("containerImages takes any object for every workload kind", () => {
    const kindsArb = fc.constantFrom(
      ["", "Pod"],
      ["apps", "Deployment"],
      ["apps", "StatefulSet"],
      ["apps", "DaemonSet"],
      ["apps", "ReplicaSet"],
      ["batch", "Job"],
      ["batch", "CronJob"],
      ["", "ReplicationController"],
    );
    const objects = fc.oneof(
      fc.jsonValue({ maxDepth: 5 }),
      mutationOfAny(admissionFixtures.map((f) => f.request?.object).filter((o) => o && typeof o === "object")),
    );
    fc.assert(
      fc.property(kindsArb, objects, ([group, kind], object) => {
        onlyThrows([AdmissionReviewError], object, () => containerImages(group!, kind!, object));
      }),
      { numRuns: 500 },
    );
  });
});

// --- hooks ---

const hookFixtures = Object.entries(hookFiles).map(([p, t]) => ({ p, v: JSON.parse(t) }));
const distributionFixtures = hookFixtures
  .filter((f) => f.p.includes("distribution"))
  .flatMap((f) => (Array.isArray(f.v.requests) ? f.v.requests.map((r: { envelope: unknown }) => r.envelope) : [f.v]))
  .filter((e) => e && typeof e === "object" && Array.isArray((e as { events?: unknown }).events) && (e as { events: unknown[] }).events.length > 0);
const harborFixtures = hookFixtures.filter((f) => f.p.includes("harbor")).map((f) => f.v);

describe("hook payloads", () => {
  it("distribution envelopes: only HookPayloadError", () => {
    expect(distributionFixtures.length).toBeGreaterThan(0);
    fc.assert(
      fc.property(fc.oneof(mutationOfAny(distributionFixtures), fc.jsonValue({ maxDepth: 4 })), (body) => {
        onlyThrows([HookPayloadError], body, () => parseDistributionEnvelope(body));
      }),
      { numRuns: 500 },
    );
  });

  it("Harbor payloads: only HookPayloadError", () => {
    expect(harborFixtures.length).toBeGreaterThan(0);
    fc.assert(
      fc.property(fc.oneof(mutationOfAny(harborFixtures), fc.jsonValue({ maxDepth: 4 })), (body) => {
        onlyThrows([HookPayloadError], body, () => parseHarborPayload(body));
      }),
      { numRuns: 500 },
    );
  });

  it("deep mutations of a single event still give only HookPayloadError", () => {
    const one = distributionFixtures[0] as { events: unknown[] };
    fc.assert(
      fc.property(mutationOf({ events: [one.events[0]] }), (body) => {
        onlyThrows([HookPayloadError], body, () => parseDistributionEnvelope(body));
      }),
      { numRuns: 300 },
    );
  });
});
