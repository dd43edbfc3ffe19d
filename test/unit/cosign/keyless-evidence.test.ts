// Keyless evidence readers: a legacy `.sig` layer's annotations and Sigstore bundles v0.1–v0.3
// become the KeylessEvidence the verifier takes (the test PKI's own `toEvidence` is the expectation),
// and malformed or oversized material is refused with words, never thrown.
import { beforeAll, describe, expect, it } from "vitest";
import { bundleEvidence, legacyEvidence, parseBundle } from "../../../src/verify/cosign";
import { parseTrustedRoot, verifyKeyless } from "../../../src/verify/cosign/keyless";
import { MAX_KEYLESS_CERTIFICATES, MAX_TLOG_ENTRIES } from "../../../src/verify/cosign/limits";
import {
  ANNOTATIONS,
  BUNDLE_MEDIA_TYPES,
  base64Encode,
  bundleJson,
  createSigstorePki,
  legacyLayer,
  signCosignPayload,
  signCosignStatement,
  toEvidence,
  type KeylessSignature,
  type SigstorePki,
} from "../../support/sigstore-pki";

const DIGEST = `sha256:${"ab".repeat(32)}`;
const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));

let pki: SigstorePki;
let message: KeylessSignature;
let dsse: KeylessSignature;

beforeAll(async () => {
  pki = await createSigstorePki();
  message = await signCosignPayload(pki, "registry.example/app", DIGEST);
  dsse = await signCosignStatement(pki, DIGEST);
});

describe("legacy .sig layer", () => {
  it("reads signature, certificate, chain and the Rekor bundle annotation", () => {
    const { payload, annotations } = legacyLayer(message);
    const got = legacyEvidence(annotations, payload, "layer 0");
    const want = toEvidence(message, "layer 0");
    // The legacy annotation carries a SET, never an inclusion proof.
    const { inclusionProof: _proof, ...entry } = want.tlogEntries[0]!;
    expect(got).toEqual({ ok: true, value: { ...want, tlogEntries: [entry] } });
  });

  it("reads Go's spelling of the bundle keys in any case, and an RFC 3161 timestamp", () => {
    const { payload, annotations } = legacyLayer(message);
    const bundle = JSON.parse(annotations[ANNOTATIONS.bundle]!);
    annotations[ANNOTATIONS.bundle] = JSON.stringify({ signedEntryTimestamp: bundle.SignedEntryTimestamp, PAYLOAD: { ...bundle.Payload } });
    annotations["dev.sigstore.cosign/rfc3161timestamp"] = JSON.stringify({ SignedRFC3161Timestamp: base64Encode(Uint8Array.of(0x30, 0x00)) });
    const got = legacyEvidence(annotations, payload, "layer 0");
    expect(got.ok && got.value.tlogEntries[0]!.signedEntryTimestamp).toEqual(message.set);
    expect(got.ok && got.value.rfc3161Timestamps).toEqual([Uint8Array.of(0x30, 0x00)]);
  });

  it("reads a layer without chain or log entry (the verifier decides what they lack)", () => {
    const { payload, annotations } = legacyLayer(message, { omitChain: true, omitBundle: true });
    expect(legacyEvidence(annotations, payload, "layer 0")).toMatchObject({ ok: true, value: { chain: [], tlogEntries: [] } });
  });

  for (const [what, change, words] of [
    ["a certificate that is not PEM", { [ANNOTATIONS.certificate]: "MIIB" }, /certificate annotation is not PEM/],
    ["a public key instead of a certificate", { [ANNOTATIONS.certificate]: "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n" }, /PEM PUBLIC KEY, not a CERTIFICATE/],
    ["two leaf certificates", "twoLeaves", /holds 2 certificates, not one/],
    ["a signature that is not base64", { [ANNOTATIONS.signature]: "***" }, /signature annotation is not base64/],
    ["a Rekor bundle that is not JSON", { [ANNOTATIONS.bundle]: "{" }, /bundle annotation is not a JSON object/],
    ["a Rekor bundle without SET", { [ANNOTATIONS.bundle]: JSON.stringify({ Payload: {} }) }, /no base64 SignedEntryTimestamp/],
    ["a Rekor bundle whose logID is not hex", "badLogId", /no hex Payload\.logID/],
    ["a timestamp annotation of another shape", { "dev.sigstore.cosign/rfc3161timestamp": "[]" }, /SignedRFC3161Timestamp/],
    ["more certificates than are read", "longChain", new RegExp(`at most ${MAX_KEYLESS_CERTIFICATES} are read`)],
  ] as const) {
    it(`refuses ${what}`, () => {
      const { payload, annotations } = legacyLayer(message);
      if (change === "twoLeaves") annotations[ANNOTATIONS.certificate] = message.leaf.pem + message.leaf.pem;
      else if (change === "badLogId") {
        const b = JSON.parse(annotations[ANNOTATIONS.bundle]!);
        annotations[ANNOTATIONS.bundle] = JSON.stringify({ ...b, Payload: { ...b.Payload, logID: "xyz" } });
      } else if (change === "longChain") annotations[ANNOTATIONS.chain] = message.leaf.pem.repeat(MAX_KEYLESS_CERTIFICATES);
      else Object.assign(annotations, change);
      const got = legacyEvidence(annotations, payload, "layer 0");
      expect(got.ok).toBe(false);
      expect(!got.ok && got.why).toMatch(words);
    });
  }
});

describe("Sigstore bundles", () => {
  for (const version of ["0.1", "0.2", "0.3"] as const) {
    it(`reads a v${version} DSSE bundle into the evidence the verifier takes`, async () => {
      const parsed = parseBundle(enc(await bundleJson(dsse, version)));
      expect(parsed.ok).toBe(true);
      const keyless = parsed.ok ? parsed.value.keyless : undefined;
      expect(keyless?.version).toBe(version);
      const got = await bundleEvidence(keyless!, "bundle x");
      const want = toEvidence(dsse, "bundle x");
      // v0.3 carries the leaf alone; v0.1 and v0.2 the chain up to the root.
      expect(got).toEqual({ ok: true, value: { ...want, chain: version === "0.3" ? [] : want.chain } });
    });
  }

  it("reads the RFC 3161 timestamps of timestampVerificationData", async () => {
    const json = JSON.parse(JSON.stringify(await bundleJson(dsse, "0.3")));
    json.verificationMaterial.timestampVerificationData = { rfc3161Timestamps: [{ signedTimestamp: "MAA=" }, { signed_timestamp: "MAE" }] };
    const parsed = parseBundle(enc(json));
    expect(parsed.ok && parsed.value.keyless?.rfc3161Timestamps).toEqual([Uint8Array.of(0x30, 0x00), Uint8Array.of(0x30, 0x01)]);
  });

  it("reads a message signature only against the artifact whose digest it names", async () => {
    const parsed = parseBundle(enc(await bundleJson(message, "0.3")));
    const keyless = parsed.ok ? parsed.value.keyless! : undefined;
    expect(keyless?.content.kind).toBe("message");
    expect(await bundleEvidence(keyless!, "b")).toMatchObject({ ok: false, why: expect.stringContaining("no artifact was given") });
    expect(await bundleEvidence(keyless!, "b", Uint8Array.of(1))).toMatchObject({ ok: false, why: expect.stringContaining("not the artifact's sha256") });
    const got = await bundleEvidence(keyless!, "b", (message.content as { payload: Uint8Array }).payload);
    expect(got).toMatchObject({ ok: true, value: { signed: message.content, signature: message.signature } });
  });

  it("reads proto field names and numbers for int64 fields", async () => {
    const json = await bundleJson(dsse, "0.2");
    const material = json.verificationMaterial as Record<string, unknown>;
    const [entry] = material.tlogEntries as Record<string, unknown>[];
    const snake = {
      media_type: json.mediaType,
      verification_material: {
        x509_certificate_chain: { certificates: (material.x509CertificateChain as { certificates: { rawBytes: string }[] }).certificates.map((c) => ({ raw_bytes: c.rawBytes })) },
        tlog_entries: [{ ...entry, logIndex: undefined, log_index: dsse.logIndex, integratedTime: dsse.integratedTime }],
      },
      dsse_envelope: json.dsseEnvelope,
    };
    const parsed = parseBundle(enc(snake));
    expect(parsed.ok && parsed.value.keyless?.tlogEntries[0]).toMatchObject({ logIndex: dsse.logIndex, integratedTime: dsse.integratedTime });
  });

  const material = (json: Record<string, unknown>) => json.verificationMaterial as Record<string, unknown>;
  const firstEntry = (json: Record<string, unknown>) => (material(json).tlogEntries as Record<string, unknown>[])[0]!;
  for (const [what, version, change, words] of [
    ["a v0.1 entry without inclusion promise", "0.1", (j: Record<string, unknown>) => delete firstEntry(j).inclusionPromise, /v0\.1 bundle's entry needs an inclusionPromise/],
    ["a v0.2 entry without inclusion proof", "0.2", (j: Record<string, unknown>) => delete firstEntry(j).inclusionProof, /v0\.2 bundle's entry needs an inclusionProof/],
    ["a v0.3 entry without inclusion proof", "0.3", (j: Record<string, unknown>) => delete firstEntry(j).inclusionProof, /v0\.3 bundle's entry needs an inclusionProof/],
    ["a proof without checkpoint", "0.3", (j: Record<string, unknown>) => delete (firstEntry(j).inclusionProof as Record<string, unknown>).checkpoint, /no checkpoint\.envelope/],
    ["a negative log index", "0.3", (j: Record<string, unknown>) => (firstEntry(j).logIndex = "-1"), /logIndex is not an unsigned integer/],
    ["a log index beyond 2^53", "0.3", (j: Record<string, unknown>) => (firstEntry(j).logIndex = "18446744073709551615"), /logIndex is not an unsigned integer/],
    ["both certificate and chain", "0.3", (j: Record<string, unknown>) => (material(j).x509CertificateChain = { certificates: [] }), /both a certificate and an x509CertificateChain/],
    ["an empty chain", "0.2", (j: Record<string, unknown>) => (material(j).x509CertificateChain = { certificates: [] }), /has no certificates/],
    ["two DSSE signatures", "0.3", (j: Record<string, unknown>) => {
      const e = j.dsseEnvelope as { signatures: unknown[] };
      e.signatures = [e.signatures[0], e.signatures[0]];
    }, /has 2 signatures; a keyless bundle has exactly one/],
    ["both a DSSE envelope and a message signature", "0.3", (j: Record<string, unknown>) => (j.messageSignature = {}), /both a dsseEnvelope and a messageSignature/],
    ["more log entries than are read", "0.3", (j: Record<string, unknown>) => (material(j).tlogEntries = Array(MAX_TLOG_ENTRIES + 1).fill(firstEntry(j))), new RegExp(`at most ${MAX_TLOG_ENTRIES} are read`)],
    ["an inclusion proof of 65 hashes", "0.3", (j: Record<string, unknown>) => ((firstEntry(j).inclusionProof as Record<string, unknown>).hashes = Array(65).fill("AA==")), /65 hashes; a proof has at most 64/],
    ["a timestamp that is not base64", "0.3", (j: Record<string, unknown>) => (material(j).timestampVerificationData = { rfc3161Timestamps: [{ signedTimestamp: "%" }] }), /rfc3161Timestamps\[0\] has no base64 signedTimestamp/],
  ] as const) {
    it(`refuses ${what}`, async () => {
      // A copy: bundleJson shares the signature's envelope object.
      const json = JSON.parse(JSON.stringify(await bundleJson(dsse, version)));
      change(json);
      const parsed = parseBundle(enc(json));
      expect(parsed.ok).toBe(false);
      expect(!parsed.ok && parsed.why).toMatch(words);
    });
  }

  it("knows every bundle media type the test PKI writes", () => {
    for (const mediaType of Object.values(BUNDLE_MEDIA_TYPES)) {
      expect(parseBundle(enc({ mediaType })).ok === false && (parseBundle(enc({ mediaType })) as { why: string }).why).toBe("the bundle has no verificationMaterial");
    }
  });
});

describe("public-good bundles (sigstore-conformance, test/vectors/sigstore/SOURCE.md)", () => {
  const files = import.meta.glob("../../vectors/sigstore/*", { query: "?raw", import: "default", eager: true }) as Record<string, string>;
  const vector = (name: string) => files[`../../vectors/sigstore/${name}`]!;

  for (const version of ["0.1", "0.2", "0.3"] as const) {
    it(`reads the v${version} happy path into evidence the verifier accepts under the public-good root`, async () => {
      const parsed = parseBundle(new TextEncoder().encode(vector(`conformance-happy-path-v${version}.sigstore.json`)));
      expect(parsed.ok).toBe(true);
      const keyless = parsed.ok ? parsed.value.keyless! : undefined;
      expect(keyless?.version).toBe(version);
      const evidence = await bundleEvidence(keyless!, "conformance", new TextEncoder().encode(vector("conformance-a.txt")));
      expect(evidence.ok).toBe(true);
      const root = parseTrustedRoot(new TextEncoder().encode(vector("trusted-root-public-good.json")));
      const check = await verifyKeyless(evidence.ok ? evidence.value : (undefined as never), root.ok ? root.value : (undefined as never), {
        identities: [{ issuer: "https://token.actions.githubusercontent.com", subjectRegExp: "^https://github.com/sigstore-conformance/" }],
        ignoreSCT: false,
        ignoreTlog: false,
      });
      expect(check).toMatchObject({ ok: true, timeSource: "tlog" });
    });
  }

  it("reads the DSSE v0.3 happy path with its envelope", async () => {
    const parsed = parseBundle(new TextEncoder().encode(vector("conformance-happy-path-intoto-in-dsse-v3.sigstore.json")));
    expect(parsed.ok && parsed.value.keyless?.content.kind).toBe("dsse");
  });
});
