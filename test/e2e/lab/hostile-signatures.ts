// What a hostile registry serves next to an image: thousands of cosign signatures that all fail.
// Web APIs only (crypto.subtle), so the unit tests (workerd), the e2e lab and the bench share it.
//
// - the legacy `sha256-<hex>.sig` manifest with `layers` layers, each the image's real cosign
//   payload with a well-formed but wrong signature (DER for ECDSA keys, 64 bytes for Ed25519, so
//   every check reaches the curve arithmetic);
// - `referrers` bundle v0.3 referrers of the digest, each holding `signaturesPerBundle` such DSSE
//   signatures and a publicKey.hint naming the policy's key (anyone can copy a public key's hint).
// Layouts as in lab/cosign.ts (cosign's own), sizes kept under trustgate's 1 MiB manifest cap.

export const SIMPLE_SIGNING = "application/vnd.dev.cosign.simplesigning.v1+json";
export const BUNDLE_V03 = "application/vnd.dev.sigstore.bundle.v0.3+json";
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
const OCI_EMPTY = "application/vnd.oci.empty.v1+json";

export interface HostileOptions {
  /** "127.0.0.1:5000/hostile/app": the repository as the payloads name it. */
  repository: string;
  /** The key the policy trusts: its algorithm decides the bogus signatures' shape. */
  algorithm: "ecdsa-p256" | "ed25519";
  /** base64(sha256(SPKI DER)) of that key, written as each bundle's publicKey.hint. */
  hint?: string;
  layers: number;
  referrers: number;
  signaturesPerBundle: number;
}

export interface ServedBytes {
  readonly mediaType: string;
  readonly bytes: Uint8Array;
}

export interface HostileContent {
  /** The image's manifest digest (tag "v1"). */
  readonly digest: string;
  /** Manifests by tag or digest: "v1", the image digest, "sha256-<hex>.sig", each referrer's digest. */
  readonly manifests: ReadonlyMap<string, ServedBytes>;
  readonly blobs: ReadonlyMap<string, Uint8Array>;
  /** The referrers API's answer for the image digest (an OCI index). */
  readonly referrersIndex: Uint8Array;
}

const enc = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));

async function sha256(bytes: Uint8Array): Promise<string> {
  const hash = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes as Uint8Array<ArrayBuffer>));
  return `sha256:${Array.from(hash, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

function base64(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return btoa(s);
}

/** Deterministic filler (xorshift), so runs serve the same bytes. */
function filler(seed: number): (n: number) => Uint8Array {
  let x = seed >>> 0 || 1;
  return (n) => {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      out[i] = x & 0xff;
    }
    return out;
  };
}

/** A signature of the right shape for the key that verifies over nothing. */
function bogusSignature(algorithm: HostileOptions["algorithm"], random: (n: number) => Uint8Array): Uint8Array {
  if (algorithm === "ed25519") return random(64);
  // SEQUENCE { INTEGER r, INTEGER s }, each 32 bytes with the top bit clear (positive, minimal).
  const int = () => {
    const v = random(32);
    v[0] = (v[0]! & 0x7f) | 0x01;
    return [0x02, 32, ...v];
  };
  return Uint8Array.from([0x30, 68, ...int(), ...int()]);
}

export async function hostileSignatures(o: HostileOptions): Promise<HostileContent> {
  const random = filler(0x5eed);
  const manifests = new Map<string, ServedBytes>();
  const blobs = new Map<string, Uint8Array>();
  const blob = async (bytes: Uint8Array) => {
    const digest = await sha256(bytes);
    blobs.set(digest, bytes);
    return { digest, size: bytes.length };
  };

  const config = await blob(enc({ architecture: "amd64", os: "linux", rootfs: { type: "layers", diff_ids: [] } }));
  const image = enc({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, ...config }, layers: [] });
  const digest = await sha256(image);
  manifests.set("v1", { mediaType: OCI_MANIFEST, bytes: image });
  manifests.set(digest, { mediaType: OCI_MANIFEST, bytes: image });
  const empty = await blob(new TextEncoder().encode("{}"));

  // Legacy: one payload, `layers` signatures of it.
  const payload = await blob(
    enc({
      critical: { identity: { "docker-reference": o.repository }, image: { "docker-manifest-digest": digest }, type: "cosign container image signature" },
      optional: null,
    }),
  );
  const layers = Array.from({ length: o.layers }, () => ({
    mediaType: SIMPLE_SIGNING,
    ...payload,
    annotations: { "dev.cosignproject.cosign/signature": base64(bogusSignature(o.algorithm, random)) },
  }));
  const sigManifest = enc({ schemaVersion: 2, mediaType: OCI_MANIFEST, config: { mediaType: OCI_CONFIG, ...config }, layers });
  manifests.set(`${digest.replace(":", "-")}.sig`, { mediaType: OCI_MANIFEST, bytes: sigManifest });

  // Bundles: one statement, one bundle blob with many signatures, many referrer manifests naming it.
  const statement = enc({
    _type: "https://in-toto.io/Statement/v1",
    subject: [{ digest: { sha256: digest.slice(7) }, annotations: {} }],
    predicateType: "https://sigstore.dev/cosign/sign/v1",
    predicate: {},
  });
  const bundle = await blob(
    enc({
      mediaType: BUNDLE_V03,
      verificationMaterial: { publicKey: { hint: o.hint ?? "" } },
      dsseEnvelope: {
        payload: base64(statement),
        payloadType: "application/vnd.in-toto+json",
        signatures: Array.from({ length: o.signaturesPerBundle }, () => ({ sig: base64(bogusSignature(o.algorithm, random)) })),
      },
    }),
  );
  const entries = [];
  for (let i = 0; i < o.referrers; i++) {
    const referrer = enc({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      artifactType: BUNDLE_V03,
      config: { mediaType: OCI_EMPTY, ...empty },
      layers: [{ mediaType: BUNDLE_V03, ...bundle }],
      subject: { mediaType: OCI_MANIFEST, digest, size: image.length },
      annotations: { "lab.trustgate/hostile": String(i) },
    });
    const d = await sha256(referrer);
    manifests.set(d, { mediaType: OCI_MANIFEST, bytes: referrer });
    entries.push({ mediaType: OCI_MANIFEST, digest: d, size: referrer.length, artifactType: BUNDLE_V03 });
  }
  return { digest, manifests, blobs, referrersIndex: enc({ schemaVersion: 2, mediaType: OCI_INDEX, manifests: entries }) };
}
