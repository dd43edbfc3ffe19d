// Pure cosign verification (src/verify/cosign) on the vectors: legacy signatures, v0.3 bundles, DER, payloads, identity, judgement.
import { describe, expect, it } from "vitest";
import { parseReference } from "../../../src/reference";
import type { SignedIdentity } from "../../../src/verify/shared/identity";
import {
  checkBundle,
  checkLegacySignature,
  claimProblem,
  CosignKeyError,
  ecdsaDerToRaw,
  identityProblem,
  importCosignKey,
  judgeSignatures,
  pae,
  parseBundle,
  parseReferrerManifest,
  parseSignatureManifest,
  parseSimpleSigningPayload,
  requiredMessage,
  signatureTag,
  thresholdMessage,
  verifySignature,
  type CheckedSignature,
  type CosignPublicKey,
} from "../../../src/verify/cosign";
import { CASES, fromBase64, publicKey, vector, type KeyName, type VectorCase } from "./vectors";

const keyCache = new Map<string, Promise<CosignPublicKey>>();
function key(name: KeyName): Promise<CosignPublicKey> {
  let k = keyCache.get(name);
  if (!k) keyCache.set(name, (k = importCosignKey(name, publicKey(name))));
  return k;
}

/** Every signature of a case, checked against `names`, straight from its registry.json. */
async function checkCase(name: string, names: KeyName[], signedIdentity?: SignedIdentity): Promise<CheckedSignature[]> {
  const { meta, registry } = vector(name);
  const keys = await Promise.all(names.map(key));
  const repo = (meta.signatureRepository ?? meta.image.repository).replace(/^127\.0\.0\.1:5000\//, "");
  const image = parseReference(`${meta.image.repository}@${meta.image.digest}`);
  const common = { keys, digest: meta.image.digest, image, signedIdentity };
  const out: CheckedSignature[] = [];
  const sigManifest = registry.manifests[repo]?.[signatureTag(meta.image.digest)];
  if (sigManifest) {
    const layers = parseSignatureManifest(fromBase64(sigManifest.base64));
    if (!layers.ok) throw new Error(layers.why);
    for (const layer of layers.value.layers) {
      out.push(await checkLegacySignature({ ...common, layer, payload: fromBase64(registry.blobs[repo]![layer.digest]!) }));
    }
  }
  const listing = registry.referrers[repo]?.[meta.image.digest] ?? registry.manifests[repo]?.[meta.image.digest.replace(":", "-")]?.base64;
  if (listing) {
    const index = JSON.parse(new TextDecoder().decode(fromBase64(listing))) as { manifests: { digest: string }[] };
    for (const d of index.manifests) {
      const referrer = parseReferrerManifest(fromBase64(registry.manifests[repo]![d.digest]!.base64));
      if (!referrer.ok) throw new Error(referrer.why);
      if (referrer.value.artifactType !== "application/vnd.dev.sigstore.bundle.v0.3+json") continue; // the SBOM
      const bundle = parseBundle(fromBase64(registry.blobs[repo]![referrer.value.layers[0]!.digest]!));
      if (!bundle.ok) throw new Error(bundle.why);
      out.push(await checkBundle({ ...common, source: `bundle ${d.digest}`, bundle: bundle.value }));
    }
  }
  return out;
}

function expectOutcome(signatures: CheckedSignature[], name: string, want: VectorCase["expect"][string]) {
  const results = signatures.map((s) => s.keys[name]).filter((r) => r !== undefined);
  if (want.unreadable) {
    expect(signatures.every((s) => s.unreadable?.includes(want.unreadable!))).toBe(true);
    return;
  }
  if (want.valid) {
    expect(results.some((r) => r.ok), `${name} should hold a valid signature`).toBe(true);
    if (want.schemes) expect(results.flatMap((r) => (r.ok ? [r.scheme] : [])).sort()).toEqual(want.schemes);
    return;
  }
  expect(results.length).toBeGreaterThan(0);
  expect(results.some((r) => r.ok)).toBe(false);
  if (want.why) expect(results.map((r) => (r.ok ? "" : r.why)).join(" | ")).toContain(want.why);
  if (want.signed) expect(results.some((r) => !r.ok && r.signed)).toBe(true);
}

describe("cosign vectors", () => {
  it("has every case the README lists", () => {
    expect(CASES).toEqual([
      "bundle-fallback-ggcr",
      "bundle-fallback-tag",
      "bundle-other-subject",
      "bundle-referrers",
      "legacy-blob-mismatch",
      "legacy-ecdsa",
      "legacy-ed25519",
      "legacy-other-digest",
      "legacy-other-repository",
      "legacy-raw-signature",
      "legacy-signature-repository",
      "legacy-two-of-three",
      "legacy-unknown-key",
    ]);
  });

  for (const name of CASES) {
    const { meta } = vector(name);
    it(`${name}: ${meta.description}`, async () => {
      const names = Object.keys(meta.expect) as KeyName[];
      const signatures = await checkCase(name, names);
      for (const n of names) expectOutcome(signatures, n, meta.expect[n]!);
      if (meta.identity) {
        const withIdentity = await checkCase(name, names, meta.identity.signedIdentity as SignedIdentity);
        for (const [n, want] of Object.entries(meta.identity.expect)) expectOutcome(withIdentity, n, want);
      }
    });
  }

  it("judges legacy-two-of-three: 2-of-3 over alice, bob, carol is unmet, with Connaisseur's words", async () => {
    const j = judgeSignatures({ keys: ["alice", "bob", "carol"], threshold: 2, required: ["carol"] }, await checkCase("legacy-two-of-three", ["alice", "bob", "carol"]));
    expect(j).toMatchObject({ satisfied: false, signers: ["alice"], thresholdMet: false, missing: ["carol"] });
    expect(thresholdMessage(j)).toMatch(/^validation threshold not reached \(1\/2\): valid signatures from alice; bob: no matching signatures \(3 checked\): .*invalid signature when validating ASN\.1 encoded signature.*; carol: no matching signatures/);
    expect(requiredMessage(j)).toMatch(/^missing required signatures from \[carol\]: valid signatures from alice; carol: /);
  });
});

describe("signatures", () => {
  it("refuses an RSA key, a certificate and a private key", async () => {
    const rsa = "-----BEGIN PUBLIC KEY-----\nMFwwDQYJKoZIhvcNAQEBBQADSwAwSAJBAMj0f6uGHDDXk7XK0P6e3D3u2vM3u2RvG5kqj0d6n6m8xWJzHq4lV8f0u5fR6Yp8n2nE8Vn3x9b3K1u0p8Cw6bUCAwEAAQ==\n-----END PUBLIC KEY-----";
    await expect(importCosignKey("r", rsa)).rejects.toThrow(CosignKeyError);
    await expect(importCosignKey("c", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----")).rejects.toThrow(/expected a PEM PUBLIC KEY, got CERTIFICATE/);
    await expect(importCosignKey("x", "not pem")).rejects.toThrow(/no PEM block/);
  });

  it("computes the bundle hint as base64(sha256(SPKI))", async () => {
    const alice = await key("alice");
    const bundleText = new TextDecoder().decode(
      fromBase64(Object.values(vector("bundle-referrers").registry.blobs["demo/app"]!).find((b) => atob(b).includes("dsseEnvelope"))!),
    );
    expect(bundleText).toContain(`"hint":"${alice.hint}"`);
  });

  it("reads DER strictly: minimal lengths and integers, positive, nothing after", () => {
    const r = new Uint8Array(32).fill(1);
    const s = new Uint8Array(32).fill(2);
    const der = Uint8Array.of(0x30, 68, 0x02, 32, ...r, 0x02, 32, ...s);
    expect(ecdsaDerToRaw(der)).toEqual(Uint8Array.of(...r, ...s));
    expect(ecdsaDerToRaw(Uint8Array.of(...der, 0))).toBeUndefined(); // trailing byte
    expect(ecdsaDerToRaw(Uint8Array.of(0x30, 0x81, 68, ...der.subarray(2)))).toBeUndefined(); // long form for 68
    expect(ecdsaDerToRaw(Uint8Array.of(0x30, 69, 0x02, 33, 0, ...r, 0x02, 32, ...s))).toBeUndefined(); // padded 0x01…
    const high = new Uint8Array(32).fill(0x80);
    expect(ecdsaDerToRaw(Uint8Array.of(0x30, 68, 0x02, 32, ...high, 0x02, 32, ...s))).toBeUndefined(); // negative r
    expect(ecdsaDerToRaw(Uint8Array.of(0x30, 69, 0x02, 33, 0, ...high, 0x02, 32, ...s))).toEqual(Uint8Array.of(...high, ...s));
    expect(ecdsaDerToRaw(Uint8Array.of(0x30, 6, 0x02, 1, 0, 0x02, 1, 1))).toBeUndefined(); // r = 0
    expect(ecdsaDerToRaw(Uint8Array.of(...r, ...s))).toBeUndefined(); // raw r‖s
  });

  it("verifies an ECDSA signature only over the exact bytes", async () => {
    const { registry } = vector("legacy-ecdsa");
    const manifest = parseSignatureManifest(fromBase64(Object.values(registry.manifests["demo/app"]!)[0]!.base64));
    if (!manifest.ok) throw new Error(manifest.why);
    const layer = manifest.value.layers[0]!;
    const payload = fromBase64(registry.blobs["demo/app"]![layer.digest]!);
    const sig = fromBase64(layer.annotations["dev.cosignproject.cosign/signature"]!);
    const alice = await key("alice");
    expect(await verifySignature(alice, sig, payload)).toEqual({ ok: true, scheme: "ecdsa-p256-sha256" });
    const withNewline = Uint8Array.of(...payload, 0x0a);
    expect(await verifySignature(alice, sig, withNewline)).toMatchObject({ ok: false });
  });
});

describe("payloads", () => {
  const digest = `sha256:${"a".repeat(64)}`;
  const text = (s: string) => new TextEncoder().encode(s);

  it("reads keys case-insensitively, as Go's encoding/json (the spec writes Docker-manifest-digest)", () => {
    const p = parseSimpleSigningPayload(text(`{"critical":{"Identity":{"docker-reference":"r"},"image":{"Docker-manifest-digest":"${digest}"},"type":"cosign container image signature"},"Optional":{"a":"b"}}`));
    expect(p).toEqual({ ok: true, value: { type: "cosign container image signature", dockerManifestDigest: digest, dockerReference: "r", optional: { a: "b" } } });
    if (p.ok) expect(claimProblem(p.value, digest)).toBeUndefined();
  });

  it("refuses another type, a missing digest and wrong JSON types", () => {
    const atomic = parseSimpleSigningPayload(text(`{"critical":{"identity":{"docker-reference":"r"},"image":{"docker-manifest-digest":"${digest}"},"type":"atomic container signature"},"optional":null}`));
    expect(atomic.ok && claimProblem(atomic.value, digest)).toMatch(/not "cosign container image signature"/);
    const missing = parseSimpleSigningPayload(text(`{"critical":{"type":"cosign container image signature"}}`));
    expect(missing.ok && claimProblem(missing.value, digest)).toBe("invalid or missing digest in claim: ");
    expect(parseSimpleSigningPayload(text(`{"critical":{"type":7}}`))).toMatchObject({ ok: false });
    expect(parseSimpleSigningPayload(text(`{"critical":{},"optional":"x"}`))).toMatchObject({ ok: false });
    expect(parseSimpleSigningPayload(text(`[1]`))).toMatchObject({ ok: false });
  });
});

describe("bundles", () => {
  it("builds DSSE's PAE", () => {
    expect(new TextDecoder().decode(pae("application/vnd.in-toto+json", new TextEncoder().encode("{}")))).toBe("DSSEv1 28 application/vnd.in-toto+json 2 {}");
  });

  it("refuses unreadable keyless, key-based message-signature and key-based other-version bundles; reads proto field names and URL-safe base64", () => {
    const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
    const mediaType = "application/vnd.dev.sigstore.bundle.v0.3+json";
    expect(parseBundle(enc({ mediaType, verificationMaterial: { certificate: { rawBytes: "AA==" } }, dsseEnvelope: {} }))).toMatchObject({ ok: false, why: expect.stringContaining("keyless") });
    expect(parseBundle(enc({ mediaType, verificationMaterial: { publicKey: {} }, messageSignature: {} }))).toMatchObject({ ok: false, why: expect.stringContaining("messageSignature") });
    expect(parseBundle(enc({ mediaType: "application/vnd.dev.sigstore.bundle+json;version=0.1", verificationMaterial: { publicKey: { hint: "h" } } }))).toMatchObject({
      ok: false,
      why: expect.stringContaining("not supported for a key-based bundle"),
    });
    expect(parseBundle(enc({ mediaType: "application/vnd.dev.sigstore.bundle+json;version=0.4" }))).toMatchObject({ ok: false, why: expect.stringContaining("not supported") });
    const ok = parseBundle(enc({ media_type: mediaType, verification_material: { public_key: { hint: "h" } }, dsse_envelope: { payload: "e30", payload_type: "t", signatures: [{ sig: "-_8" }] } }));
    expect(ok).toMatchObject({ ok: true, value: { publicKeyHint: "h", payloadType: "t", payload: new TextEncoder().encode("{}"), signatures: [{ sig: Uint8Array.of(0xfb, 0xff) }] } });
  });
});

describe("signedIdentity (containers/image policy_reference_match.go)", () => {
  const digest = `sha256:${"b".repeat(64)}`;
  const cases: [string, SignedIdentity, string, string, boolean][] = [
    // image, rule, signed docker-reference, accepted?
    ["tagged image, cosign's name-only reference", { type: "matchRepoDigestOrExact" }, "127.0.0.1:5000/demo/app:v1", "127.0.0.1:5000/demo/app", false],
    ["tagged image, same tag", { type: "matchRepoDigestOrExact" }, "127.0.0.1:5000/demo/app:v1", "127.0.0.1:5000/demo/app:v1", true],
    ["digest image, tagged signature of the repository", { type: "matchRepoDigestOrExact" }, `127.0.0.1:5000/demo/app@${digest}`, "127.0.0.1:5000/demo/app:v9", true],
    ["matchExact needs equal tags", { type: "matchExact" }, "127.0.0.1:5000/demo/app:v1", "127.0.0.1:5000/demo/app:v2", false],
    ["matchExact, equal", { type: "matchExact" }, "busybox:1", "docker.io/library/busybox:1", true],
    ["matchRepository, name only", { type: "matchRepository" }, "127.0.0.1:5000/demo/app:v1", "127.0.0.1:5000/demo/app", true],
    ["matchRepository, Docker Hub's legacy host", { type: "matchRepository" }, "busybox:1", "index.docker.io/library/busybox", true],
    ["matchRepository, other repository", { type: "matchRepository" }, "127.0.0.1:5000/demo/app:v1", "127.0.0.1:5000/demo/other", false],
    ["exactRepository", { type: "exactRepository", dockerRepository: "ghcr.io/org/app" }, "mirror.local/app:v1", "ghcr.io/org/app", true],
    ["exactReference needs a tag in the signature", { type: "exactReference", dockerReference: "ghcr.io/org/app:v1" }, "x.io/y:z", "ghcr.io/org/app", false],
    ["remapIdentity onto a digest reference", { type: "remapIdentity", prefix: "mirror.local/org", signedPrefix: "ghcr.io/org" }, `mirror.local/org/app@${digest}`, "ghcr.io/org/app:v1", true],
    ["remapIdentity does not remap a longer name", { type: "remapIdentity", prefix: "mirror.local/org", signedPrefix: "ghcr.io/org" }, `mirror.local/orgx/app@${digest}`, "ghcr.io/orgx/app:v1", false],
  ];
  for (const [what, rule, image, signed, accepted] of cases) {
    it(`${rule.type}: ${what}`, () => {
      const problem = identityProblem(rule, parseReference(image), signed);
      if (accepted) expect(problem).toBeUndefined();
      else expect(problem).toMatch(/^signature for identity ".*" is not accepted/);
    });
  }
});

describe("judgement", () => {
  const sig = (keys: Record<string, boolean>): CheckedSignature => ({
    source: "s",
    keys: Object.fromEntries(Object.entries(keys).map(([k, ok]) => [k, ok ? { ok: true, scheme: "ed25519" } : { ok: false, why: "bad" }])),
  });

  it("counts distinct keys, not signatures", () => {
    const j = judgeSignatures({ keys: ["a", "b"], threshold: 2, required: [] }, [sig({ a: true, b: false }), sig({ a: true, b: false })]);
    expect(j).toMatchObject({ satisfied: false, signers: ["a"] });
    expect(thresholdMessage(j)).toBe("validation threshold not reached (1/2): valid signatures from a; b: no matching signatures (2 checked): bad");
  });

  it("counts key material, not names: one public key listed under two names is one signer", () => {
    const identities = { a: "KEY-1", "a-again": "KEY-1", b: "KEY-2" };
    const j = judgeSignatures({ keys: ["a", "a-again", "b"], threshold: 2, required: [], identities }, [sig({ a: true, "a-again": true, b: false })]);
    expect(j).toMatchObject({ satisfied: false, thresholdMet: false, signers: ["a", "a-again"], distinctSigners: 1 });
    expect(thresholdMessage(j)).toMatch(/^validation threshold not reached \(1\/2\): valid signatures from a, a-again \(1 distinct key: some names hold the same public key\); b: /);
    const two = judgeSignatures({ keys: ["a", "a-again", "b"], threshold: 2, required: [], identities }, [sig({ a: true, "a-again": true, b: true })]);
    expect(two).toMatchObject({ satisfied: true, distinctSigners: 2 });
  });

  it("says no signatures found when there are none, and names the missing required signers in Go's %+v", () => {
    const none = judgeSignatures({ keys: ["a", "b"], threshold: 1, required: ["a", "b"] }, []);
    expect(none).toMatchObject({ noSignatures: true, missing: ["a", "b"], failures: { a: "no signatures found", b: "no signatures found" } });
    expect(requiredMessage(none)).toBe("missing required signatures from [a b]: no valid signature from any key; a: no signatures found; b: no signatures found");
  });
});
