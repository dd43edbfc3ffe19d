// Keyless cosign signatures written into a loopback registry as `cosign sign` (keyless) leaves them:
// the legacy `sha256-<hex>.sig` tag whose layers carry the signature, certificate, chain and Rekor
// bundle annotations, and a v3 Sigstore bundle attached as an OCI referrer through the referrers
// fallback tag. The signatures themselves come from the test PKI (test/support/sigstore-pki.ts);
// layouts as lab/cosign.ts describes them (cosign pkg/oci/static, pkg/oci/remote/write.go, ggcr).
import {
  digestTag,
  getManifest,
  goJson,
  OCI_EMPTY_MEDIA_TYPE as OCI_EMPTY,
  putManifest,
  SIMPLE_SIGNING_MEDIA_TYPE,
  sha256Digest,
  uploadBlob,
  type Descriptor,
  type RegistryTarget,
} from "./cosign";
import { OCI_CONFIG, OCI_INDEX, OCI_MANIFEST } from "./oci-image";
import { assertLoopback } from "./ports";

const MANIFEST_ACCEPT = [OCI_MANIFEST, OCI_INDEX, "application/vnd.docker.distribution.manifest.v2+json"].join(", ");

/** One layer of a `.sig` image: the payload blob and the annotations cosign puts on it. */
export interface KeylessLayer {
  payload: Uint8Array;
  annotations: Record<string, string>;
}

/**
 * Pushes `<repo>:sha256-<hex>.sig` with these layers appended to the ones already there (each
 * `cosign sign` run appends one). Returns the manifest digest.
 */
export async function pushKeylessSignatures(registry: RegistryTarget, repo: string, digest: string, layers: readonly KeylessLayer[]): Promise<string> {
  assertLoopback(registry.url);
  const tag = `${digestTag(digest)}.sig`;
  const existing = await getManifest(registry, repo, tag);
  const all: Descriptor[] = existing ? [...(JSON.parse(existing.body.toString("utf8")) as { layers: Descriptor[] }).layers] : [];
  for (const layer of layers) {
    const blob = await uploadBlob(registry, repo, Buffer.from(layer.payload));
    all.push({ mediaType: SIMPLE_SIGNING_MEDIA_TYPE, size: blob.size, digest: blob.digest, annotations: layer.annotations });
  }
  // ggcr's config for empty.Image plus appended layers, as lab/cosign.ts writes it.
  const config = goJson({
    architecture: "",
    created: new Date().toISOString(),
    history: all.map(() => ({ created: "0001-01-01T00:00:00Z" })),
    os: "",
    rootfs: { type: "layers", diff_ids: all.map((l) => l.digest) },
    config: {},
  });
  const configBlob = await uploadBlob(registry, repo, config);
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_CONFIG, size: configBlob.size, digest: configBlob.digest },
    layers: all,
  };
  return putManifest(registry, repo, tag, OCI_MANIFEST, goJson(manifest));
}

/**
 * Attaches a Sigstore bundle to `repo@digest` as cosign v3 does: a referrer manifest (empty config,
 * one layer holding the bundle, subject = the image, artifactType = the bundle's media type) pushed
 * by digest and listed in the fallback index at tag `sha256-<hex>` (docker-registry has no
 * referrers API). Returns the referrer's digest.
 */
export async function attachKeylessBundle(
  registry: RegistryTarget,
  repo: string,
  digest: string,
  bundle: Record<string, unknown>,
  predicateType = "https://sigstore.dev/cosign/sign/v1",
): Promise<string> {
  assertLoopback(registry.url);
  const subject = await headManifest(registry, repo, digest);
  const mediaType = String(bundle.mediaType);
  const bundleBlob = await uploadBlob(registry, repo, goJson(bundle));
  const emptyConfig = await uploadBlob(registry, repo, Buffer.from("{}", "utf8"));
  const annotations: Record<string, string> = {
    "dev.sigstore.bundle.content": bundle.dsseEnvelope ? "dsse-envelope" : "message-signature",
    "dev.sigstore.bundle.predicateType": predicateType,
    "org.opencontainers.image.created": new Date().toISOString().replace(/\.\d{3}Z$/, "Z"),
  };
  const manifest = {
    schemaVersion: 2,
    mediaType: OCI_MANIFEST,
    config: { mediaType: OCI_EMPTY, size: emptyConfig.size, digest: emptyConfig.digest, artifactType: mediaType },
    layers: [
      {
        mediaType,
        size: bundleBlob.size,
        digest: bundleBlob.digest,
        annotations: { "org.opencontainers.image.title": `${digestTag(bundleBlob.digest)}.sigstore.json` },
      },
    ],
    annotations,
    subject,
    artifactType: mediaType,
  };
  const bytes = goJson(manifest);
  const pushed = await putManifest(registry, repo, sha256Digest(bytes), OCI_MANIFEST, bytes);

  const fallbackTag = digestTag(digest);
  const current = await getManifest(registry, repo, fallbackTag, OCI_INDEX);
  const index = current
    ? (JSON.parse(current.body.toString("utf8")) as { schemaVersion: 2; mediaType: string; manifests: Descriptor[] })
    : { schemaVersion: 2 as const, mediaType: OCI_INDEX, manifests: [] as Descriptor[] };
  index.manifests.push({ mediaType: OCI_MANIFEST, size: bytes.length, digest: pushed, annotations, artifactType: mediaType });
  index.manifests.sort((a, b) => (a.digest < b.digest ? -1 : a.digest > b.digest ? 1 : 0));
  await putManifest(registry, repo, fallbackTag, OCI_INDEX, goJson(index));
  return pushed;
}

async function headManifest(registry: RegistryTarget, repo: string, reference: string): Promise<Descriptor> {
  const url = `${registry.url}/v2/${repo}/manifests/${reference}`;
  assertLoopback(url);
  const response = await fetch(url, { method: "HEAD", headers: { Accept: MANIFEST_ACCEPT } });
  if (response.status !== 200) throw new Error(`HEAD manifest ${repo}@${reference} answered ${response.status}`);
  return {
    mediaType: response.headers.get("content-type") ?? OCI_MANIFEST,
    size: Number(response.headers.get("content-length")),
    digest: response.headers.get("docker-content-digest") ?? reference,
  };
}
