// Regenerates test/vectors/cosign/: cosign signatures in cosign's exact registry layouts, signed with openssl (ECDSA P-256) and noble (Ed25519).
//
// cosign itself cannot run here, so this writes what it writes, byte for byte where the bytes come
// from Go's encoding/json or protojson (see test/vectors/cosign/README.md for the sources):
// - legacy (cosign ≤ 2, and v3 with --new-bundle-format=false): tag sha256-<hex>.sig, an OCI image
//   manifest with one layer per signature; layer blob = simple-signing payload; annotation
//   dev.cosignproject.cosign/signature = base64(signature over the payload bytes).
// - v3 default: Sigstore bundle v0.3 (DSSE over an in-toto statement) in a referrer manifest,
//   listed by the referrers API or, without one, in the index at tag sha256-<hex>.
// ECDSA signatures are made by `openssl dgst -sha256 -sign` (ASN.1 DER over sha256(message), as Go's
// ecdsa.SignASN1); Ed25519 ones by @noble/curves (pure Ed25519, and Ed25519ph as cosign ≥ 2.4
// signs by default). Private keys live in a temporary directory and are thrown away.
//
// Usage: node scripts/vectors/make-cosign-vectors.mjs [--out DIR]   (needs openssl and npm ci'd node_modules)
import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { ed25519, ed25519ph } from "@noble/curves/ed25519.js";

const root = resolve(new URL("../..", import.meta.url).pathname);
const outIndex = process.argv.indexOf("--out");
const OUT = outIndex > 0 ? resolve(process.argv[outIndex + 1]) : join(root, "test/vectors/cosign");
const work = mkdtempSync(join(tmpdir(), "trustgate-cosign-vectors-"));
process.on("exit", () => rmSync(work, { recursive: true, force: true }));

const REGISTRY = "127.0.0.1:5000";
const REPO = "demo/app";
const SIG_REPO = "demo/signatures";
const SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json";
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
const OCI_EMPTY = "application/vnd.oci.empty.v1+json";
const BUNDLE = "application/vnd.dev.sigstore.bundle.v0.3+json";
const IN_TOTO = "application/vnd.in-toto+json";
const SIGN_PREDICATE = "https://sigstore.dev/cosign/sign/v1";
const CREATED = new Date().toISOString().replace(/\.\d+Z$/, "Z");

const enc = (s) => Buffer.from(s, "utf8");
const sha256 = (b) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const b64 = (b) => Buffer.from(b).toString("base64");
const openssl = (...args) => execFileSync("openssl", args, { stdio: ["ignore", "pipe", "pipe"] });
const OPENSSL_VERSION = openssl("version").toString().trim();

// ---------------------------------------------------------------------------------------------
// Keys

/** ECDSA P-256 from openssl; Ed25519 from noble. `sign(bytes, scheme)` returns the signature bytes. */
function makeKey(name, algorithm) {
  if (algorithm === "ecdsa-p256") {
    const keyFile = join(work, `${name}.key`);
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", keyFile);
    const pem = openssl("pkey", "-in", keyFile, "-pubout").toString();
    return {
      name,
      algorithm,
      pem,
      spki: pemDer(pem),
      sign(message) {
        const msgFile = join(work, `msg-${randomBytes(6).toString("hex")}`);
        writeFileSync(msgFile, message);
        return new Uint8Array(openssl("dgst", "-sha256", "-sign", keyFile, msgFile));
      },
    };
  }
  const { secretKey, publicKey } = ed25519.keygen();
  const spki = Buffer.concat([Buffer.from("302a300506032b6570032100", "hex"), Buffer.from(publicKey)]);
  return {
    name,
    algorithm,
    pem: toPem("PUBLIC KEY", spki),
    spki,
    sign(message, scheme = "ed25519") {
      return scheme === "ed25519ph" ? ed25519ph.sign(message, secretKey) : ed25519.sign(message, secretKey);
    },
  };
}

function pemDer(pem) {
  return Buffer.from(pem.replace(/-----[^-]+-----/g, "").replace(/\s+/g, ""), "base64");
}

function toPem(type, der) {
  const lines = b64(der).match(/.{1,64}/g).join("\n");
  return `-----BEGIN ${type}-----\n${lines}\n-----END ${type}-----\n`;
}

/** DER ECDSA-Sig-Value → raw r‖s (32 bytes each), for the "raw signature" negative. */
function derToRaw(der) {
  const d = Buffer.from(der);
  let i = 2;
  const read = () => {
    if (d[i] !== 0x02) throw new Error("not an INTEGER");
    const len = d[i + 1];
    let v = d.subarray(i + 2, i + 2 + len);
    i += 2 + len;
    while (v.length > 32 && v[0] === 0) v = v.subarray(1);
    return Buffer.concat([Buffer.alloc(32 - v.length), v]);
  };
  return Buffer.concat([read(), read()]);
}

// ---------------------------------------------------------------------------------------------
// cosign's bytes

/** sigstore pkg/signature/payload Cosign.MarshalJSON: Go's json.Marshal, struct field order. */
function simpleSigningPayload(dockerReference, digest) {
  return enc(
    `{"critical":{"identity":{"docker-reference":${JSON.stringify(dockerReference)}},"image":{"docker-manifest-digest":${JSON.stringify(digest)}},"type":"cosign container image signature"},"optional":null}`,
  );
}

/** The image being signed: a small OCI manifest whose digest the signatures name. */
function imageManifest(seed) {
  const config = enc(`{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]},"config":{"Labels":{"seed":${JSON.stringify(seed)}}}}`);
  return enc(`{"schemaVersion":2,"mediaType":"${OCI_MANIFEST}","config":{"mediaType":"${OCI_CONFIG}","size":${config.length},"digest":"${sha256(config)}"},"layers":[]}`);
}

/** A fresh in-memory registry: what GET /v2/<repo>/manifests|blobs|referrers answer. */
function newRegistry(referrersApi) {
  return { referrersApi, manifests: {}, blobs: {}, referrers: {} };
}

function putBlob(registry, repo, bytes, digest = sha256(bytes)) {
  (registry.blobs[repo] ??= {})[digest] = b64(bytes);
  return digest;
}

function putManifest(registry, repo, ref, mediaType, bytes) {
  (registry.manifests[repo] ??= {})[ref] = { mediaType, base64: b64(bytes) };
  (registry.manifests[repo] ??= {})[sha256(bytes)] = { mediaType, base64: b64(bytes) };
}

/**
 * The legacy signatures image (ggcr empty image + one appended layer per signature, OCI media
 * types), json.Marshal'd: schemaVersion, mediaType, config, layers; descriptor fields mediaType,
 * size, digest, annotations.
 */
function putLegacySignatures(registry, repo, imageDigest, layers) {
  const diffIds = layers.map((l) => sha256(l.payload));
  const config = enc(
    `{"architecture":"","created":"${CREATED}","history":[${layers.map(() => `{"created":"0001-01-01T00:00:00Z"}`).join(",")}],"os":"","rootfs":{"type":"layers","diff_ids":${JSON.stringify(diffIds)}},"config":{}}`,
  );
  putBlob(registry, repo, config);
  const descriptors = layers.map((l) => {
    const digest = l.descriptorDigest ?? sha256(l.payload);
    putBlob(registry, repo, l.served ?? l.payload, digest);
    return `{"mediaType":"${SIMPLE_SIGNING}","size":${l.payload.length},"digest":"${digest}","annotations":{"dev.cosignproject.cosign/signature":"${l.signature}"}}`;
  });
  const manifest = enc(
    `{"schemaVersion":2,"mediaType":"${OCI_MANIFEST}","config":{"mediaType":"${OCI_CONFIG}","size":${config.length},"digest":"${sha256(config)}"},"layers":[${descriptors.join(",")}]}`,
  );
  putManifest(registry, repo, `${imageDigest.replace(":", "-")}.sig`, OCI_MANIFEST, manifest);
  return manifest;
}

/** cosign v3 sign's statement: protojson of intotov1.Statement (field-number order), empty annotations and predicate. */
function statement(subjectDigest) {
  const [alg, hex] = subjectDigest.split(":");
  return enc(`{"_type":"https://in-toto.io/Statement/v1","subject":[{"digest":{"${alg}":"${hex}"},"annotations":{}}],"predicateType":"${SIGN_PREDICATE}","predicate":{}}`);
}

function pae(type, body) {
  return Buffer.concat([enc(`DSSEv1 ${Buffer.byteLength(type)} ${type} ${body.length} `), body]);
}

/** protojson of the v0.3 bundle: mediaType, verificationMaterial{publicKey{hint}}, dsseEnvelope{payload, payloadType, signatures[{sig}]}. */
function bundle(key, body, signature) {
  const hint = b64(createHash("sha256").update(key.spki).digest());
  return enc(
    `{"mediaType":"${BUNDLE}","verificationMaterial":{"publicKey":{"hint":"${hint}"}},"dsseEnvelope":{"payload":"${b64(body)}","payloadType":"${IN_TOTO}","signatures":[{"sig":"${b64(signature)}"}]}}`,
  );
}

/**
 * cosign WriteAttestationNewBundleFormat → WriteReferrer: the referrer manifest, then the listing.
 * `entry` is how the listing describes it: "spec" (artifactType and annotations, as the referrers
 * API and the spec have it), "ggcr" (artifactType = config.mediaType, what go-containerregistry's
 * fallback-tag writer left, sigstore/cosign#4641) or "bare" (mediaType, digest and size only).
 */
function putBundleReferrer(registry, repo, imageDigest, imageSize, bundleBytes, entryStyle = "spec") {
  const empty = enc("{}");
  putBlob(registry, repo, empty);
  const layerDigest = putBlob(registry, repo, bundleBytes);
  const annotations = `{"dev.sigstore.bundle.content":"dsse-envelope","dev.sigstore.bundle.predicateType":"${SIGN_PREDICATE}","org.opencontainers.image.created":"${CREATED}"}`;
  const manifest = enc(
    `{"schemaVersion":2,"mediaType":"${OCI_MANIFEST}","config":{"mediaType":"${OCI_EMPTY}","size":2,"digest":"${sha256(empty)}","artifactType":"${BUNDLE}"},` +
      `"layers":[{"mediaType":"${BUNDLE}","size":${bundleBytes.length},"digest":"${layerDigest}","annotations":{"org.opencontainers.image.title":"${layerDigest.replace(":", "-")}.sigstore.json"}}],` +
      `"annotations":${annotations},"subject":{"mediaType":"${OCI_MANIFEST}","size":${imageSize},"digest":"${imageDigest}"},"artifactType":"${BUNDLE}"}`,
  );
  const digest = sha256(manifest);
  (registry.manifests[repo] ??= {})[digest] = { mediaType: OCI_MANIFEST, base64: b64(manifest) };
  const entry =
    entryStyle === "spec"
      ? { mediaType: OCI_MANIFEST, digest, size: manifest.length, annotations: JSON.parse(annotations), artifactType: BUNDLE }
      : entryStyle === "ggcr"
        ? { mediaType: OCI_MANIFEST, size: manifest.length, digest, annotations: JSON.parse(annotations), artifactType: OCI_EMPTY }
        : { mediaType: OCI_MANIFEST, size: manifest.length, digest };
  addListing(registry, repo, imageDigest, entry);
  return { manifest, digest };
}

/** Adds an entry to the image's referrers: the referrers API's index, or the fallback tag's. */
function addListing(registry, repo, imageDigest, entry) {
  const listing = ((registry.listings ??= {})[`${repo}@${imageDigest}`] ??= []);
  listing.push(entry);
  listing.sort((a, b) => (a.digest < b.digest ? -1 : 1));
  const index = enc(JSON.stringify({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: listing }));
  if (registry.referrersApi) {
    (registry.referrers[repo] ??= {})[imageDigest] = b64(index);
  } else {
    // The referrers tag schema (ggcr commitSubjectReferrers): an index at tag sha256-<hex>.
    const tag = imageDigest.replace(":", "-");
    (registry.manifests[repo] ??= {})[tag] = { mediaType: OCI_INDEX, base64: b64(index) };
  }
}

/** Another kind of referrer (an SPDX SBOM, as oras attaches one), listed without its type. */
function putSbomReferrer(registry, repo, imageDigest, imageSize) {
  const empty = enc("{}");
  putBlob(registry, repo, empty);
  const sbom = enc('{"spdxVersion":"SPDX-2.3","name":"demo"}');
  const layerDigest = putBlob(registry, repo, sbom);
  const manifest = enc(
    `{"schemaVersion":2,"mediaType":"${OCI_MANIFEST}","artifactType":"application/spdx+json","config":{"mediaType":"${OCI_EMPTY}","digest":"${sha256(empty)}","size":2},` +
      `"layers":[{"mediaType":"application/spdx+json","digest":"${layerDigest}","size":${sbom.length}}],"subject":{"mediaType":"${OCI_MANIFEST}","digest":"${imageDigest}","size":${imageSize}}}`,
  );
  const digest = sha256(manifest);
  (registry.manifests[repo] ??= {})[digest] = { mediaType: OCI_MANIFEST, base64: b64(manifest) };
  addListing(registry, repo, imageDigest, { mediaType: OCI_MANIFEST, size: manifest.length, digest });
}

// ---------------------------------------------------------------------------------------------
// Cases

const keys = {
  alice: makeKey("alice", "ecdsa-p256"),
  bob: makeKey("bob", "ecdsa-p256"),
  carol: makeKey("carol", "ed25519"),
  mallory: makeKey("mallory", "ecdsa-p256"),
};

const image = imageManifest("trustgate cosign vectors");
const IMAGE_DIGEST = sha256(image);
const other = imageManifest("another image");
const OTHER_DIGEST = sha256(other);
const FULL_REPO = `${REGISTRY}/${REPO}`;

/** One legacy signature layer by `key` over `payload`. */
function legacyLayer(key, payload, { scheme, raw, corrupt } = {}) {
  let sig = key.sign(payload, scheme);
  if (raw) sig = derToRaw(sig);
  if (corrupt) {
    sig = Buffer.from(sig);
    sig[sig.length - 5] ^= 0x01;
  }
  return { payload, signature: b64(sig), signedBy: key.name };
}

const cases = [];

function legacyCase(name, description, layers, expect, extra = {}) {
  const registry = newRegistry(false);
  const repo = extra.signatureRepository ?? REPO;
  const manifest = putLegacySignatures(registry, repo, IMAGE_DIGEST, layers);
  cases.push({
    name,
    description,
    layout: "legacy",
    signatureRepository: extra.signatureRepository ? `${REGISTRY}/${extra.signatureRepository}` : undefined,
    identity: extra.identity,
    registry,
    expect,
    notes: {
      signatureTag: `${repo}:${IMAGE_DIGEST.replace(":", "-")}.sig`,
      signatureManifest: manifest.toString(),
      layers: layers.map((l) => ({ signedBy: l.signedBy, payload: l.payload.toString(), served: l.served?.toString() })),
    },
  });
}

const payload = simpleSigningPayload(FULL_REPO, IMAGE_DIGEST);

legacyCase("legacy-ecdsa", "One signature by alice (ECDSA P-256, DER), as `cosign sign --key alice.key` writes it.", [legacyLayer(keys.alice, payload)], {
  alice: { valid: true },
  bob: { valid: false, why: "invalid signature when validating ASN.1 encoded signature" },
});

legacyCase(
  "legacy-two-of-three",
  "Three layers: alice's valid signature, bob's signature with one byte flipped (corrupt), mallory's valid signature (a key no policy trusts); carol (Ed25519) did not sign.",
  [legacyLayer(keys.alice, payload), legacyLayer(keys.bob, payload, { corrupt: true }), legacyLayer(keys.mallory, payload)],
  {
    alice: { valid: true },
    bob: { valid: false, why: "invalid signature when validating ASN.1 encoded signature" },
    carol: { valid: false, why: "an Ed25519 signature is 64 bytes" },
    mallory: { valid: true },
  },
);

legacyCase(
  "legacy-raw-signature",
  "alice's signature as raw r‖s (64 bytes) instead of ASN.1 DER: cosign (Go ecdsa.VerifyASN1) refuses it, so must trustgate.",
  [legacyLayer(keys.alice, payload, { raw: true })],
  { alice: { valid: false, why: "raw 64-byte r‖s" } },
);

legacyCase(
  "legacy-other-digest",
  "alice validly signed a payload that claims another image's digest (signature replay onto this image).",
  [legacyLayer(keys.alice, simpleSigningPayload(FULL_REPO, OTHER_DIGEST))],
  { alice: { valid: false, signed: true, why: `invalid or missing digest in claim: ${OTHER_DIGEST}` } },
);

{
  // The registry serves other bytes under the payload's digest (a tampered or broken registry).
  const layer = legacyLayer(keys.alice, payload);
  layer.served = simpleSigningPayload(`${REGISTRY}/demo/evil`, IMAGE_DIGEST);
  layer.descriptorDigest = sha256(payload);
  legacyCase(
    "legacy-blob-mismatch",
    "alice's signature layer, but the registry answers the payload blob's digest with other bytes: the blob must be refused before any signature check.",
    [layer],
    { alice: { valid: false, unreadable: "hashes to" } },
  );
}

legacyCase("legacy-unknown-key", "Signed by mallory only: no key of the policy signed.", [legacyLayer(keys.mallory, payload)], {
  alice: { valid: false, why: "invalid signature when validating ASN.1 encoded signature" },
  mallory: { valid: true },
});

legacyCase(
  "legacy-other-repository",
  "alice validly signed this digest, but the payload names another repository (127.0.0.1:5000/demo/other): cosign ignores docker-reference, so it is valid without signedIdentity and refused with matchRepository.",
  [legacyLayer(keys.alice, simpleSigningPayload(`${REGISTRY}/demo/other`, IMAGE_DIGEST))],
  { alice: { valid: true } },
  { identity: { signedIdentity: { type: "matchRepository" }, expect: { alice: { valid: false, signed: true, why: "is not accepted" } } } },
);

legacyCase(
  "legacy-ed25519",
  "Two Ed25519 signatures by carol: pure Ed25519 (older cosign) and Ed25519ph (what later cosign signs by default: options.WithED25519ph).",
  [legacyLayer(keys.carol, payload, { scheme: "ed25519" }), legacyLayer(keys.carol, payload, { scheme: "ed25519ph" })],
  { carol: { valid: true, schemes: ["ed25519", "ed25519ph"] } },
);

legacyCase(
  "legacy-signature-repository",
  "alice's signature stored in another repository (COSIGN_REPOSITORY=127.0.0.1:5000/demo/signatures).",
  [legacyLayer(keys.alice, payload)],
  { alice: { valid: true } },
  { signatureRepository: SIG_REPO },
);

function bundleCase(name, description, referrersApi, signers, expect, { subject = IMAGE_DIGEST, sbom = false } = {}) {
  const registry = newRegistry(referrersApi);
  const body = statement(subject);
  const message = pae(IN_TOTO, body);
  const referrers = signers.map(({ key, scheme, entry }) => {
    const bytes = bundle(key, body, key.sign(message, scheme));
    const { digest } = putBundleReferrer(registry, REPO, IMAGE_DIGEST, image.length, bytes, entry);
    return { signedBy: key.name, referrer: digest, listedAs: entry ?? "spec", bundle: bytes.toString() };
  });
  if (sbom) putSbomReferrer(registry, REPO, IMAGE_DIGEST, image.length);
  cases.push({
    name,
    description,
    layout: referrersApi ? "bundle-referrers-api" : "bundle-fallback-tag",
    registry,
    expect,
    notes: { statement: body.toString(), pae: message.toString(), referrers },
  });
}

bundleCase("bundle-referrers", "cosign v3 default: alice's bundle v0.3, listed by the referrers API.", true, [{ key: keys.alice }], {
  alice: { valid: true },
  // The bundle names alice's key (publicKey.hint): bob's is not even tried.
  bob: { valid: false, why: "the bundle names another key" },
});

bundleCase(
  "bundle-fallback-tag",
  "cosign v3 on a registry without the referrers API: alice's and carol's (Ed25519ph) bundles listed in the index at tag sha256-<hex>.",
  false,
  [{ key: keys.alice }, { key: keys.carol, scheme: "ed25519ph" }],
  { alice: { valid: true }, carol: { valid: true } },
);

bundleCase(
  "bundle-other-subject",
  "alice validly signed a statement whose subject is another image's digest, attached to this image.",
  true,
  [{ key: keys.alice }],
  { alice: { valid: false, signed: true, why: "no matching subject digest found" } },
  { subject: OTHER_DIGEST },
);

bundleCase(
  "bundle-fallback-ggcr",
  "What cosign 3 leaves on a registry without the referrers API (sigstore/cosign#4641): the fallback index lists alice's bundle with artifactType = application/vnd.oci.empty.v1+json and carol's (Ed25519ph) with no artifactType, next to an SPDX SBOM referrer listed without its type.",
  false,
  [{ key: keys.alice, entry: "ggcr" }, { key: keys.carol, scheme: "ed25519ph", entry: "bare" }],
  { alice: { valid: true }, carol: { valid: true } },
  { sbom: true },
);

// ---------------------------------------------------------------------------------------------
// Write

// Everything but the README is regenerated.
mkdirSync(OUT, { recursive: true });
for (const entry of readdirSync(OUT)) if (entry !== "README.md") rmSync(join(OUT, entry), { recursive: true, force: true });
mkdirSync(join(OUT, "keys"), { recursive: true });
for (const key of Object.values(keys)) writeFileSync(join(OUT, "keys", `${key.name}.pub`), key.pem);
const generator = {
  script: "scripts/vectors/make-cosign-vectors.mjs",
  generatedAt: new Date().toISOString(),
  openssl: OPENSSL_VERSION,
  noble: JSON.parse(readFileSync(join(root, "node_modules/@noble/curves/package.json"), "utf8")).version,
  node: process.version,
};
for (const c of cases) {
  mkdirSync(join(OUT, c.name), { recursive: true });
  const { registry, ...rest } = c;
  const meta = {
    ...rest,
    image: { repository: FULL_REPO, digest: IMAGE_DIGEST, size: image.length, manifest: image.toString() },
    otherDigest: OTHER_DIGEST,
    keys: Object.fromEntries(Object.values(keys).map((k) => [k.name, k.algorithm])),
    generator,
  };
  writeFileSync(join(OUT, c.name, "case.json"), `${JSON.stringify(meta, null, 2)}\n`);
  const { listings: _listings, ...served } = registry;
  writeFileSync(join(OUT, c.name, "registry.json"), `${JSON.stringify(served, null, 2)}\n`);
}
console.log(`wrote ${cases.length} cases to ${OUT}`);
