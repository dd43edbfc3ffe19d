// cosign signatures written into a loopback registry byte for byte as cosign writes them, with plain
// distribution API calls: the legacy `sha256-<hex>.sig` tag (simple-signing payload, one layer per
// signature) and the v3 Sigstore bundle (DSSE over an in-toto statement) attached as an OCI referrer
// through the referrers tag schema, since docker-registry 2.8 has no referrers API.
//
// Layouts, from the sources (sigstore/cosign, sigstore/sigstore, google/go-containerregistry):
// - pkg/oci/static/signature.go: layer media type `application/vnd.dev.cosign.simplesigning.v1+json`,
//   blob = payload, annotation `dev.cosignproject.cosign/signature` = base64 of the signature.
// - pkg/oci/empty + pkg/oci/mutate/signatures.go: the signatures image is ggcr's empty image with OCI
//   media types (Docker ones with COSIGN_DOCKER_MEDIA_TYPES=1), one appended layer per signature and
//   `created` set to now; a new signature is appended to the layers already at the tag.
// - pkg/oci/remote/write.go WriteSignatures: tag `sha256-<hex>.sig` in the target repository
//   (COSIGN_REPOSITORY overrides the repository).
// - sigstore pkg/signature/payload: {"critical":{"identity":{"docker-reference":<repo>},"image":
//   {"docker-manifest-digest":<digest>},"type":"cosign container image signature"},"optional":null}.
// - cosign v3 sign (new bundle format): in-toto Statement v1, subject [{digest:{sha256}, annotations:{}}],
//   predicateType https://sigstore.dev/cosign/sign/v1, predicate {}; DSSE payloadType
//   application/vnd.in-toto+json; bundle v0.3 with verificationMaterial.publicKey.hint =
//   base64(sha256(DER SPKI)) for a key (pkg/cosign/bundle/protobundle.go).
// - pkg/oci/remote/write.go WriteReferrer: config = the empty descriptor `{}` (artifactType on it),
//   one layer titled `sha256-<hex>.sigstore.json`, subject = the image, manifest annotations
//   dev.sigstore.bundle.content / dev.sigstore.bundle.predicateType / org.opencontainers.image.created,
//   artifactType = the bundle media type; pushed by digest.
// - ggcr pkg/v1/remote/write.go commitSubjectReferrers: GET /v2/<repo>/referrers/<digest>; on 404 the
//   OCI index at tag `sha256-<hex>` gets a descriptor for the referrer (sorted by digest).
import { createHash, createPublicKey, generateKeyPairSync, sign as cryptoSign, type KeyObject } from "node:crypto";
import { assertLoopback } from "./ports";

export const SIMPLE_SIGNING_MEDIA_TYPE = "application/vnd.dev.cosign.simplesigning.v1+json";
export const SIGNATURE_ANNOTATION = "dev.cosignproject.cosign/signature";
export const COSIGN_SIGNATURE_TYPE = "cosign container image signature";
export const BUNDLE_V03_MEDIA_TYPE = "application/vnd.dev.sigstore.bundle.v0.3+json";
export const OCI_EMPTY_MEDIA_TYPE = "application/vnd.oci.empty.v1+json";
export const IN_TOTO_PAYLOAD_TYPE = "application/vnd.in-toto+json";
export const IN_TOTO_STATEMENT_V1 = "https://in-toto.io/Statement/v1";
export const COSIGN_SIGN_PREDICATE_TYPE = "https://sigstore.dev/cosign/sign/v1";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
const DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json";
const MANIFEST_ACCEPT = [OCI_MANIFEST, OCI_INDEX, DOCKER_MANIFEST, "application/vnd.docker.distribution.manifest.list.v2+json"].join(", ");

/** What the lab needs of a registry: lab/registry's Registry fits. */
export interface RegistryTarget {
  /** "http://127.0.0.1:PORT" */
  url: string;
  /** "127.0.0.1:PORT" */
  host: string;
}

export interface CosignKey {
  name: string;
  algorithm: "ecdsa-p256" | "ed25519";
  /** PEM `PUBLIC KEY` (SPKI), as `cosign generate-key-pair` writes cosign.pub. */
  publicKeyPem: string;
  privateKey: KeyObject;
}

/** A fresh key pair: ECDSA P-256 (what `cosign generate-key-pair` makes) or Ed25519 (`cosign import-key-pair`). */
export function makeCosignKey(name: string, algorithm: CosignKey["algorithm"] = "ecdsa-p256"): CosignKey {
  const { privateKey, publicKey } =
    algorithm === "ecdsa-p256" ? generateKeyPairSync("ec", { namedCurve: "P-256" }) : generateKeyPairSync("ed25519");
  return { name, algorithm, publicKeyPem: publicKey.export({ type: "spki", format: "pem" }).toString(), privateKey };
}

/**
 * The signature cosign makes over these bytes: ECDSA P-256 over sha256, ASN.1 DER (Go's
 * ecdsa.SignASN1); Ed25519 over the bytes themselves.
 */
export function signBytes(key: CosignKey, data: Uint8Array): Buffer {
  return key.algorithm === "ecdsa-p256" ? cryptoSign("sha256", data, key.privateKey) : cryptoSign(null, data, key.privateKey);
}

/** The simple-signing payload cosign signs, field order and `"optional":null` as Go's json.Marshal writes them. */
export function cosignPayload(dockerReference: string, digest: string, optional: Record<string, unknown> | null = null): Buffer {
  return goJson({
    critical: {
      identity: { "docker-reference": dockerReference },
      image: { "docker-manifest-digest": digest },
      type: COSIGN_SIGNATURE_TYPE,
    },
    optional,
  });
}

export interface SignOptions {
  /** Names of keys whose signature is well-formed base64 DER over other bytes, so it does not verify. */
  corrupt?: readonly string[];
  /** The digest the payload claims (a signature made for another image); the tag is still this image's. */
  claimedDigest?: string;
  /** `critical.identity.docker-reference`; cosign writes the image's repository, `<host>/<repo>`. */
  dockerReference?: string;
  /** Where the `.sig` tag goes (COSIGN_REPOSITORY); the payload still names the image's repository. */
  signatureRepository?: string;
  /** `optional` in the payload (`cosign sign -a k=v`); null when there are no annotations. */
  optional?: Record<string, unknown> | null;
  /** COSIGN_DOCKER_MEDIA_TYPES=1: Docker schema 2 manifest and config media types. */
  dockerMediaTypes?: boolean;
  /** Start a fresh signatures image instead of appending to the one already at the tag. */
  replace?: boolean;
}

export interface SignatureLayer {
  key: string;
  payloadDigest: string;
  /** The annotation value: base64 of the DER (or Ed25519) signature. */
  signature: string;
  corrupted: boolean;
}

export interface SignatureManifest {
  repository: string;
  /** "sha256-<hex>.sig" */
  tag: string;
  /** Digest of the signatures manifest as pushed. */
  digest: string;
  mediaType: string;
  manifest: SignaturesManifestJson;
  payload: Buffer;
  /** The layers this call added (earlier signatures at the tag are kept before them). */
  added: SignatureLayer[];
}

/** An OCI descriptor as the signature manifests and referrers indexes here hold them. */
export interface Descriptor {
  mediaType: string;
  size: number;
  digest: string;
  annotations?: Record<string, string>;
  artifactType?: string;
}

interface SignaturesManifestJson {
  schemaVersion: 2;
  mediaType: string;
  config: Descriptor;
  layers: Descriptor[];
}

/** `sha256:<hex>` → `sha256-<hex>`: cosign's tag stem and the referrers tag schema's fallback tag. */
export function digestTag(digest: string): string {
  if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new Error(`not a sha256 digest: ${digest}`);
  return digest.replace(":", "-");
}

/**
 * Signs `repo@digest` with each key the way `cosign sign --key` does and pushes the signatures image
 * to `<signatureRepository or repo>:sha256-<hex>.sig`, appending to the signatures already there.
 * With several keys each gets its own layer; the payload (and so the layer digest) is the same for all.
 */
export async function signImage(
  registry: RegistryTarget,
  repo: string,
  digest: string,
  keys: readonly CosignKey[],
  options: SignOptions = {},
): Promise<SignatureManifest> {
  assertLoopback(registry.url);
  const sigRepo = options.signatureRepository ?? repo;
  const tag = `${digestTag(digest)}.sig`;
  const payload = cosignPayload(
    options.dockerReference ?? `${registry.host}/${repo}`,
    options.claimedDigest ?? digest,
    options.optional ?? null,
  );
  const payloadBlob = await uploadBlob(registry, sigRepo, payload);

  const existing = options.replace ? null : await getManifest(registry, sigRepo, tag);
  const layers: Descriptor[] = existing ? [...(JSON.parse(existing.body.toString("utf8")) as SignaturesManifestJson).layers] : [];
  const added: SignatureLayer[] = [];
  for (const key of keys) {
    const corrupted = options.corrupt?.includes(key.name) ?? false;
    // A corrupted signature is a real signature by the key, over bytes that are not the payload.
    const signed = corrupted ? Buffer.concat([payload, Buffer.from("\n", "utf8")]) : payload;
    const signature = signBytes(key, signed).toString("base64");
    layers.push({
      mediaType: SIMPLE_SIGNING_MEDIA_TYPE,
      size: payloadBlob.size,
      digest: payloadBlob.digest,
      annotations: { [SIGNATURE_ANNOTATION]: signature },
    });
    added.push({ key: key.name, payloadDigest: payloadBlob.digest, signature, corrupted });
  }

  const docker = options.dockerMediaTypes ?? false;
  // ggcr's config for empty.Image plus appended layers: one diff_id and one (empty) history entry per layer.
  const config = goJson({
    architecture: "",
    created: goTime(new Date()),
    history: layers.map(() => ({ created: "0001-01-01T00:00:00Z" })),
    os: "",
    rootfs: { type: "layers", diff_ids: layers.map((l) => l.digest) },
    config: {},
  });
  const configBlob = await uploadBlob(registry, sigRepo, config);
  const mediaType = docker ? DOCKER_MANIFEST : OCI_MANIFEST;
  const manifest: SignaturesManifestJson = {
    schemaVersion: 2,
    mediaType,
    config: { mediaType: docker ? DOCKER_CONFIG : OCI_CONFIG, size: configBlob.size, digest: configBlob.digest },
    layers,
  };
  const pushed = await putManifest(registry, sigRepo, tag, mediaType, goJson(manifest));
  return { repository: sigRepo, tag, digest: pushed, mediaType, manifest, payload, added };
}

export interface BundleOptions {
  /** The digest named in the statement's subject (default: the image's). */
  subjectDigest?: string;
  /** Sign other bytes than the PAE: a well-formed signature that does not verify. */
  corrupt?: boolean;
  /** predicateType of the statement and of the manifest annotation. */
  predicateType?: string;
  /**
   * How the fallback index describes the referrer:
   * - "spec": artifactType = the manifest's artifactType, annotations copied (distribution spec; ggcr
   *   after google/go-containerregistry#2269/#2441);
   * - "ggcr": artifactType = config.mediaType (`application/vnd.oci.empty.v1+json`), annotations copied
   *   (what cosign's ggcr wrote before those changes, sigstore/cosign#4641);
   * - "bare": no artifactType and no annotations (older ggcr still).
   */
  fallback?: "spec" | "ggcr" | "bare";
  /** `org.opencontainers.image.created`; default now (RFC 3339, seconds). */
  created?: string;
}

export interface AttachedBundle {
  /** The referrer manifest's digest. */
  digest: string;
  manifest: Record<string, unknown>;
  bundle: Record<string, unknown>;
  bundleDigest: string;
  statement: Buffer;
  /** "sha256-<hex>" */
  fallbackTag: string;
  fallbackIndex: { schemaVersion: 2; mediaType: string; manifests: Descriptor[] };
}

/** DSSE pre-authentication encoding: "DSSEv1 <len(type)> <type> <len(body)> <body>". */
export function dssePae(payloadType: string, body: Uint8Array): Buffer {
  const type = Buffer.from(payloadType, "utf8");
  return Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `, "utf8"), type, Buffer.from(` ${body.length} `, "utf8"), body]);
}

/** The key hint cosign puts in a key-signed bundle: base64(sha256(DER SPKI)). */
export function publicKeyHint(key: CosignKey): string {
  const der = createPublicKey(key.publicKeyPem).export({ type: "spki", format: "der" });
  return createHash("sha256").update(der).digest("base64");
}

/**
 * `cosign sign --key … --new-bundle-format --tlog-upload=false` (cosign v3's default format): a v0.3
 * bundle with a DSSE envelope over the in-toto statement, pushed as an OCI referrer of `repo@digest`
 * by digest, then listed in the referrers fallback index at tag `sha256-<hex>`.
 */
export async function attachBundle(
  registry: RegistryTarget,
  repo: string,
  digest: string,
  key: CosignKey,
  options: BundleOptions = {},
): Promise<AttachedBundle> {
  assertLoopback(registry.url);
  const subject = await headManifest(registry, repo, digest);
  if (!subject) throw new Error(`attachBundle: ${repo}@${digest} is not in the registry`);
  const predicateType = options.predicateType ?? COSIGN_SIGN_PREDICATE_TYPE;
  const subjectHex = (options.subjectDigest ?? digest).slice("sha256:".length);

  // protojson of intoto v1 Statement (field order: _type, subject, predicateType, predicate).
  const statement = goJson({
    _type: IN_TOTO_STATEMENT_V1,
    subject: [{ digest: { sha256: subjectHex }, annotations: {} }],
    predicateType,
    predicate: {},
  });
  const pae = dssePae(IN_TOTO_PAYLOAD_TYPE, statement);
  const sig = signBytes(key, options.corrupt ? Buffer.concat([pae, Buffer.from(" ", "utf8")]) : pae);
  const bundle = {
    mediaType: BUNDLE_V03_MEDIA_TYPE,
    verificationMaterial: { publicKey: { hint: publicKeyHint(key) } },
    dsseEnvelope: {
      payload: statement.toString("base64"),
      payloadType: IN_TOTO_PAYLOAD_TYPE,
      signatures: [{ sig: sig.toString("base64") }],
    },
  };
  const bundleBytes = goJson(bundle);
  const bundleBlob = await uploadBlob(registry, repo, bundleBytes);
  const emptyConfig = await uploadBlob(registry, repo, Buffer.from("{}", "utf8"));

  const annotations = {
    "dev.sigstore.bundle.content": "dsse-envelope",
    "dev.sigstore.bundle.predicateType": predicateType,
    "org.opencontainers.image.created": options.created ?? new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
  };
  // cosign's referrerManifest: ggcr v1.Manifest fields, then artifactType.
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_EMPTY_MEDIA_TYPE, size: emptyConfig.size, digest: emptyConfig.digest, artifactType: BUNDLE_V03_MEDIA_TYPE },
    layers: [
      {
        mediaType: BUNDLE_V03_MEDIA_TYPE,
        size: bundleBlob.size,
        digest: bundleBlob.digest,
        annotations: { "org.opencontainers.image.title": `${digestTag(bundleBlob.digest)}.sigstore.json` },
      },
    ],
    annotations,
    subject: { mediaType: subject.mediaType, size: subject.size, digest: subject.digest },
    artifactType: BUNDLE_V03_MEDIA_TYPE,
  };
  const manifestBytes = goJson(manifest);
  const manifestDigest = sha256Digest(manifestBytes);
  const pushed = await putManifest(registry, repo, manifestDigest, OCI_MANIFEST, manifestBytes);

  // ggcr commitSubjectReferrers: ask the referrers API first; 404 means "keep the fallback tag".
  const referrers = await loopbackFetch(registry, `/v2/${repo}/referrers/${digest}`, { headers: { Accept: OCI_INDEX } });
  await referrers.body?.cancel();
  if (referrers.status === 200) throw new Error("attachBundle: this registry has a referrers API; the lab only writes the fallback tag");
  if (referrers.status !== 404 && referrers.status !== 400) throw new Error(`GET referrers answered ${referrers.status}`);

  const fallbackTag = digestTag(digest);
  const fallback = options.fallback ?? "spec";
  const entry: Descriptor = { mediaType: OCI_MANIFEST, size: manifestBytes.length, digest: pushed };
  if (fallback !== "bare") entry.annotations = annotations;
  if (fallback === "spec") entry.artifactType = BUNDLE_V03_MEDIA_TYPE;
  if (fallback === "ggcr") entry.artifactType = OCI_EMPTY_MEDIA_TYPE;
  const current = await getManifest(registry, repo, fallbackTag, OCI_INDEX);
  const index = current
    ? (JSON.parse(current.body.toString("utf8")) as AttachedBundle["fallbackIndex"])
    : { schemaVersion: 2 as const, mediaType: OCI_INDEX, manifests: [] as Descriptor[] };
  if (!index.manifests.some((d) => d.digest === pushed)) index.manifests.push(entry);
  index.manifests.sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  await putManifest(registry, repo, fallbackTag, OCI_INDEX, goJson(index));

  return { digest: pushed, manifest, bundle, bundleDigest: bundleBlob.digest, statement, fallbackTag, fallbackIndex: index };
}

// ---------------------------------------------------------------------------------------------
// The distribution API, plainly.

export async function uploadBlob(registry: RegistryTarget, repo: string, data: Buffer): Promise<{ digest: string; size: number }> {
  const digest = sha256Digest(data);
  const head = await loopbackFetch(registry, `/v2/${repo}/blobs/${digest}`, { method: "HEAD" });
  if (head.status === 200) return { digest, size: data.length };
  const start = await loopbackFetch(registry, `/v2/${repo}/blobs/uploads/`, { method: "POST" });
  await start.body?.cancel();
  const location = start.headers.get("location");
  if (start.status !== 202 || !location) throw new Error(`POST /v2/${repo}/blobs/uploads/ answered ${start.status}`);
  const target = new URL(location, registry.url);
  assertLoopback(target.href);
  target.searchParams.set("digest", digest);
  const put = await fetch(target, {
    method: "PUT",
    headers: { "Content-Type": "application/octet-stream" },
    body: new Uint8Array(data),
  });
  const text = await put.text();
  if (put.status !== 201) throw new Error(`PUT blob ${digest} to ${repo} answered ${put.status}: ${text.slice(0, 300)}`);
  return { digest, size: data.length };
}

export async function putManifest(registry: RegistryTarget, repo: string, reference: string, mediaType: string, body: Buffer): Promise<string> {
  const response = await loopbackFetch(registry, `/v2/${repo}/manifests/${reference}`, {
    method: "PUT",
    headers: { "Content-Type": mediaType },
    body: new Uint8Array(body),
  });
  const text = await response.text();
  if (response.status !== 201) throw new Error(`PUT manifest ${repo}:${reference} answered ${response.status}: ${text.slice(0, 500)}`);
  const digest = response.headers.get("docker-content-digest");
  const expected = sha256Digest(body);
  if (digest !== expected) throw new Error(`registry stored ${repo}:${reference} as ${digest}, expected ${expected}`);
  return expected;
}

export async function getManifest(
  registry: RegistryTarget,
  repo: string,
  reference: string,
  accept = MANIFEST_ACCEPT,
): Promise<{ mediaType: string; digest: string; body: Buffer } | null> {
  const response = await loopbackFetch(registry, `/v2/${repo}/manifests/${reference}`, { headers: { Accept: accept } });
  if (response.status === 404) {
    await response.body?.cancel();
    return null;
  }
  const body = Buffer.from(await response.arrayBuffer());
  if (response.status !== 200) throw new Error(`GET manifest ${repo}:${reference} answered ${response.status}: ${body.toString("utf8").slice(0, 300)}`);
  return { mediaType: response.headers.get("content-type") ?? "", digest: sha256Digest(body), body };
}

async function headManifest(registry: RegistryTarget, repo: string, reference: string): Promise<Descriptor | null> {
  const response = await loopbackFetch(registry, `/v2/${repo}/manifests/${reference}`, { method: "HEAD", headers: { Accept: MANIFEST_ACCEPT } });
  if (response.status === 404) return null;
  if (response.status !== 200) throw new Error(`HEAD manifest ${repo}:${reference} answered ${response.status}`);
  return {
    mediaType: response.headers.get("content-type") ?? OCI_MANIFEST,
    size: Number(response.headers.get("content-length")),
    digest: response.headers.get("docker-content-digest") ?? reference,
  };
}

function loopbackFetch(registry: RegistryTarget, path: string, init: RequestInit = {}): Promise<Response> {
  const url = `${registry.url}${path}`;
  assertLoopback(url);
  return fetch(url, init);
}

export function sha256Digest(data: Uint8Array): string {
  return `sha256:${createHash("sha256").update(data).digest("hex")}`;
}

/**
 * JSON as Go's encoding/json writes it: compact, key order as given (struct field order; callers list
 * map keys sorted), and `<`, `>`, `&`, U+2028, U+2029 escaped.
 */
export function goJson(value: unknown): Buffer {
  const text = JSON.stringify(value)
    .replace(/</g, "\\u003c")
    .replace(/>/g, "\\u003e")
    .replace(/&/g, "\\u0026")
    .replace(/\u2028/g, "\\u2028")
    .replace(/\u2029/g, "\\u2029");
  return Buffer.from(text, "utf8");
}

/** Go's time.Time JSON (RFC 3339 with nanoseconds, trailing zeros dropped), in UTC. */
function goTime(date: Date): string {
  return date.toISOString().replace(/\.(\d*?)0*Z$/, (_, frac: string) => (frac ? `.${frac}Z` : "Z"));
}
