// For `npm run bench` only (phase `keyless`): a cold keyless cosign decision, as /keyless-cold runs it.
//
// Data, made once per isolate before any measured request: the test PKI (test/support/sigstore-pki.ts,
// a Fulcio-like CA, CT log and Rekor log) signs the image's simple-signing payload keylessly, and a
// registry in memory serves it as cosign's legacy `sha256-<hex>.sig` layer (certificate, chain and
// Rekor bundle annotations), with no referrers. The policy: one native `cosign` rule with one keyless
// identity and the PKI's trust root inline. Each run is decide() with every cache empty (digest from
// a fake resolver): the signature manifest and blob "fetched", the layer read, then the keyless
// verification (entry body, SET, chain, SCT, signature, identity) and the claim. The parsed trust
// root is kept per isolate by the requirement, as in the Worker.
import { decide, type DecideDeps, type PolicyView } from "../../src/decide";
import { sha256Hex } from "../../src/encoding";
import { importPolicy } from "../../src/policy/import";
import { noCounter, type Cache, type HttpFetch } from "../../src/ports";
import { parseReference } from "../../src/reference";
import { defaultRequirementKinds } from "../../src/requirements";
import { cosignPayload, createSigstorePki, DEFAULT_IDENTITY, legacyLayer, signKeyless } from "../../test/support/sigstore-pki";

const REPO = "bench/keyless";
const IMAGE = `127.0.0.1:5000/${REPO}:v1`;
const DIGEST = `sha256:${"ab".repeat(32)}`;

interface Fixture {
  readonly fetch: HttpFetch;
  readonly view: PolicyView;
}

let fixture: Promise<Fixture> | undefined;

function memoryCache(): Cache {
  const store = new Map<string, string>();
  return { get: async (k) => store.get(k) ?? null, put: async (k, v) => void store.set(k, v) };
}

async function makeFixture(): Promise<Fixture> {
  const pki = await createSigstorePki({ name: "bench" });
  const sig = await signKeyless(pki, { kind: "message", payload: cosignPayload(`127.0.0.1:5000/${REPO}`, DIGEST) });
  const { payload, annotations } = legacyLayer(sig);
  const payloadDigest = `sha256:${await sha256Hex(payload)}`;
  const manifest = new TextEncoder().encode(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: `sha256:${"00".repeat(32)}`, size: 2 },
      layers: [{ mediaType: "application/vnd.dev.cosign.simplesigning.v1+json", digest: payloadDigest, size: payload.length, annotations }],
    }),
  );
  const tag = `${DIGEST.replace(":", "-")}.sig`;
  const fetch: HttpFetch = async (request) => {
    const path = new URL(request.url).pathname;
    if (path === `/v2/${REPO}/manifests/${tag}`) return new Response(manifest, { headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" } });
    if (path === `/v2/${REPO}/blobs/${payloadDigest}`) return new Response(payload);
    // No referrers API and no fallback tag: the legacy layer is the only signature.
    return new Response("not found", { status: 404 });
  };
  const imported = await importPolicy(
    JSON.stringify({
      rules: [
        {
          pattern: `127.0.0.1:5000/${REPO}:*`,
          require: [{ type: "cosign", keyless: { identities: [{ name: "release", ...DEFAULT_IDENTITY }], trustRoot: pki.trustedRoot } }],
        },
      ],
    }),
    "native",
    defaultRequirementKinds,
  );
  return { fetch, view: { id: "bench-keyless", revision: imported.revision, policy: imported.policy } };
}

/** One cold keyless decision; throws unless it allows, uncached, for the digest. */
export async function keylessColdDecision(): Promise<void> {
  fixture ??= makeFixture();
  const { fetch, view } = await fixture;
  const clock = { now: () => new Date() };
  const deps: DecideDeps = {
    kinds: defaultRequirementKinds,
    digests: { resolve: async () => ({ ok: true, digest: DIGEST, cached: false }) },
    verdictCache: memoryCache(),
    verdictTtlSeconds: 300,
    clock,
    verifier: { fetch, trustCache: memoryCache(), clock, counter: noCounter, settings: { upstreamTimeoutMs: 3000, trustRecheckSeconds: 60, credentials: {} } },
  };
  const v = await decide({ image: IMAGE, reference: parseReference(IMAGE), context: {} }, view, deps);
  if (v.decision !== "allow" || v.cached || v.digest !== DIGEST) throw new Error(`unexpected keyless verdict: ${JSON.stringify(v)}`);
}
