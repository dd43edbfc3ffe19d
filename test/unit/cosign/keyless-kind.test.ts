// The cosign requirement with keyless identities, through decide(): signatures made under the test
// PKI (test/support/sigstore-pki.ts) served from memory in both layouts, an inline trust root.
import { beforeAll, describe, expect, it } from "vitest";
import { decide, type DecideDeps } from "../../../src/decide";
import { sha256Hex } from "../../../src/encoding";
import { createRequirementKinds } from "../../../src/policy/requirement-kinds";
import type { Cache, DigestResolution } from "../../../src/ports";
import { parseReference } from "../../../src/reference";
import { cosignKind } from "../../../src/requirements/cosign";
import { allowKind } from "../../../src/requirements/static";
import {
  BUNDLE_MEDIA_TYPES,
  bundleJson,
  createSigstorePki,
  DEFAULT_IDENTITY,
  legacyLayer,
  signCosignPayload,
  signCosignStatement,
  signKeyless,
  type KeylessSignature,
  type SigstorePki,
} from "../../support/sigstore-pki";
import { fakeRegistry, publicKey, vector, type ServedRegistry } from "./vectors";

const REPO = "demo/app";
const IMAGE = `127.0.0.1:5000/${REPO}:v1`;
// The key-signed vector's digest: its alice signature and the keyless ones then sign one image.
const DIGEST = vector("legacy-ecdsa").meta.image.digest;
const OTHER = `sha256:${"cd".repeat(32)}`;

const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const utf8 = (text: string) => new TextEncoder().encode(text);

function memoryCache(): Cache {
  const store = new Map<string, string>();
  return { get: async (k) => store.get(k) ?? null, put: async (k, v) => void store.set(k, v) };
}

/** A registry holding these legacy layers at the .sig tag and these bundles as referrers of DIGEST. */
async function served(layers: KeylessSignature[], bundles: { sig: KeylessSignature; version: "0.1" | "0.2" | "0.3" }[]): Promise<ServedRegistry> {
  const out: ServedRegistry = { referrersApi: true, manifests: { [REPO]: {} }, blobs: { [REPO]: {} }, referrers: { [REPO]: {} } };
  const blob = async (bytes: Uint8Array) => {
    const digest = `sha256:${await sha256Hex(bytes)}`;
    out.blobs[REPO]![digest] = b64(bytes);
    return { digest, size: bytes.length };
  };
  const manifest = async (ref: string | undefined, value: unknown, mediaType = "application/vnd.oci.image.manifest.v1+json") => {
    const bytes = utf8(JSON.stringify(value));
    const digest = `sha256:${await sha256Hex(bytes)}`;
    out.manifests[REPO]![ref ?? digest] = { mediaType, base64: b64(bytes) };
    return { digest, size: bytes.length };
  };
  if (layers.length > 0) {
    const descriptors = [];
    for (const sig of layers) {
      const { payload, annotations } = legacyLayer(sig);
      descriptors.push({ mediaType: "application/vnd.dev.cosign.simplesigning.v1+json", ...(await blob(payload)), annotations });
    }
    const config = await blob(utf8("{}"));
    await manifest(`${DIGEST.replace(":", "-")}.sig`, { schemaVersion: 2, config: { mediaType: "application/vnd.oci.image.config.v1+json", ...config }, layers: descriptors });
  }
  const index = [];
  for (const { sig, version } of bundles) {
    const type = BUNDLE_MEDIA_TYPES[version];
    const layer = await blob(utf8(JSON.stringify(await bundleJson(sig, version))));
    const empty = await blob(utf8("{}"));
    const m = await manifest(undefined, {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      artifactType: type,
      config: { mediaType: "application/vnd.oci.empty.v1+json", ...empty },
      layers: [{ mediaType: type, ...layer }],
      subject: { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: DIGEST, size: 1 },
    });
    index.push({ mediaType: "application/vnd.oci.image.manifest.v1+json", artifactType: type, ...m });
  }
  out.referrers[REPO]![DIGEST] = b64(utf8(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: index })));
  return out;
}

function setup(...registries: ServedRegistry[]) {
  const registry = fakeRegistry(...registries);
  const work = { fetch: 0, verify: 0 };
  const clock = { now: () => new Date() };
  const deps: DecideDeps = {
    kinds: createRequirementKinds([allowKind, cosignKind]),
    digests: { resolve: async (): Promise<DigestResolution> => ({ ok: true, digest: DIGEST, cached: false }) },
    verdictCache: memoryCache(),
    verdictTtlSeconds: 300,
    clock,
    verifier: {
      fetch: registry.fetch,
      trustCache: memoryCache(),
      clock,
      counter: { count: (kind) => void work[kind]++ },
      settings: { upstreamTimeoutMs: 1000, trustRecheckSeconds: 120, credentials: {} },
    },
  };
  return { deps, work, registry };
}

let revision = 0;
function run(deps: DecideDeps, requirement: Record<string, unknown>) {
  const policy = { mode: "enforce" as const, patternStyle: "native" as const, rules: [{ pattern: "*", require: [{ type: "cosign", ...requirement }] }] };
  return decide({ image: IMAGE, reference: parseReference(IMAGE), context: {} }, { id: "p", revision: `k${revision++}`, policy }, deps);
}

let pki: SigstorePki;
let legacy: KeylessSignature;
let legacyOther: KeylessSignature;
let dsse: KeylessSignature;
let maintainer: KeylessSignature;
const release = { name: "release", ...DEFAULT_IDENTITY };
const keyless = (...identities: Record<string, unknown>[]) => ({ identities, trustRoot: pki.trustedRoot });

beforeAll(async () => {
  pki = await createSigstorePki();
  legacy = await signCosignPayload(pki, `127.0.0.1:5000/${REPO}`, DIGEST);
  legacyOther = await signCosignPayload(pki, `127.0.0.1:5000/${REPO}`, OTHER);
  dsse = await signCosignStatement(pki, DIGEST);
  maintainer = await signCosignStatement(pki, DIGEST, { subject: "maintainer@example.com", issuer: "https://accounts.example.com" });
});

describe("cosign requirement: keyless identities", () => {
  for (const version of ["0.1", "0.2", "0.3"] as const) {
    it(`allows a v${version} bundle whose message signature signs the image's manifest (its messageDigest is the image digest)`, async () => {
      const manifest = utf8(vector("legacy-ecdsa").meta.image.manifest);
      expect(`sha256:${await sha256Hex(manifest)}`).toBe(DIGEST);
      const overManifest = await signKeyless(pki, { kind: "message", payload: manifest });
      const registry = await served([], [{ sig: overManifest, version }]);
      registry.manifests[REPO]![DIGEST] = { mediaType: "application/vnd.oci.image.manifest.v1+json", base64: b64(manifest) };
      const { deps } = setup(registry);
      const v = await run(deps, { keyless: keyless(release) });
      expect(v.decision, JSON.stringify(v.reasons)).toBe("allow");
      expect(v.reasons).toEqual([expect.objectContaining({ code: "COSIGN_SIGNED", signers: ["release"] })]);
    });
  }

  it("denies a bundle whose message signature signs something other than the image's manifest, saying what it signs", async () => {
    const elsewhere = await signKeyless(pki, { kind: "message", payload: utf8("some other blob") });
    const { deps } = setup(await served([], [{ sig: elsewhere, version: "0.2" }]));
    const v = await run(deps, { keyless: keyless(release) });
    expect(v.decision).toBe("deny");
    expect(JSON.stringify(v.reasons)).toMatch(/messageSignature signs sha256:[0-9a-f]{64}, not the image's manifest sha256:/);
  });

  it("allows a legacy .sig layer signed by the identity, and names it as the signer", async () => {
    const { deps, work } = setup(await served([legacy], []));
    const v = await run(deps, { keyless: keyless(release) });
    expect(v.decision).toBe("allow");
    expect(v.reasons).toEqual([expect.objectContaining({ code: "COSIGN_SIGNED", signers: ["release"] })]);
    expect(work.verify).toBe(1);
  });

  for (const version of ["0.1", "0.2", "0.3"] as const) {
    it(`allows a v${version} bundle referrer signed by the identity`, async () => {
      const { deps } = setup(await served([], [{ sig: dsse, version }]));
      const v = await run(deps, { keyless: keyless(release) });
      expect(v.decision).toBe("allow");
      expect(v.reasons[0]).toMatchObject({ code: "COSIGN_SIGNED", signers: ["release"] });
    });
  }

  it("denies another subject, saying what the certificate is and what was wanted", async () => {
    const { deps } = setup(await served([legacy], []));
    const v = await run(deps, { keyless: keyless({ name: "nightly", issuer: DEFAULT_IDENTITY.issuer, subject: "https://github.com/trustgate/demo/.github/workflows/nightly.yml@refs/heads/main" }) });
    expect(v.decision).toBe("deny");
    expect(v.reasons.map((r) => r.code)).toEqual(["COSIGN_THRESHOLD_UNMET", "COSIGN_IDENTITY_MISMATCH"]);
    expect(v.reasons[0]!.message).toMatch(/^validation threshold not reached \(0\/1\): no valid signature from any identity; nightly: /);
    expect(v.reasons[1]!.message).toContain(`subject ${DEFAULT_IDENTITY.subject}`);
    expect(v.reasons[1]!.message).toContain("nightly.yml");
  });

  it("denies an unanchored regexp's near miss only when it does not match (cosign's MatchString)", async () => {
    const { deps } = setup(await served([legacy], []));
    expect((await run(deps, { keyless: keyless({ issuer: DEFAULT_IDENTITY.issuer, subjectRegExp: "github\\.com/trustgate/" }) })).decision).toBe("allow");
    expect((await run(deps, { keyless: keyless({ issuer: DEFAULT_IDENTITY.issuer, subjectRegExp: "^https://github\\.com/other/" }) })).decision).toBe("deny");
  });

  it("denies a signature by the identity over another digest (the claim check after the certificate)", async () => {
    const { deps } = setup(await served([legacyOther], []));
    const v = await run(deps, { keyless: keyless(release) });
    expect(v.decision).toBe("deny");
    expect(v.reasons[0]!.message).toContain(`invalid or missing digest in claim: ${OTHER}`);
  });

  it("denies under a trust root that does not know the CA, naming the certificate", async () => {
    const other = await createSigstorePki({ name: "elsewhere" });
    // The same logs, another Fulcio CA.
    const root = { ...pki.trustedRoot, certificateAuthorities: other.trustedRoot.certificateAuthorities };
    const { deps } = setup(await served([legacy], []));
    const v = await run(deps, { keyless: { identities: [release], trustRoot: JSON.stringify(root) } });
    expect(v.decision).toBe("deny");
    expect(v.reasons.map((r) => r.code)).toEqual(["COSIGN_THRESHOLD_UNMET", "COSIGN_CERTIFICATE_UNTRUSTED"]);
    expect(v.reasons[1]!.message).toMatch(/^sha256-[0-9a-f]{64}\.sig layer 0 of 127\.0\.0\.1:5000\/demo\/app: /);
    // Under a root that knows neither the CA nor the log, the log entry is the first to fail.
    const w = await run(deps, { keyless: { identities: [release], trustRoot: other.trustedRootJson } });
    expect(w.reasons.map((r) => r.code)).toEqual(["COSIGN_THRESHOLD_UNMET", "COSIGN_TLOG_UNTRUSTED"]);
  });

  it("counts keys and identities together for threshold and required", async () => {
    const { deps } = setup(vector("legacy-ecdsa").registry, await served([], [{ sig: dsse, version: "0.3" }]));
    const alice = { name: "alice", key: publicKey("alice") };
    const both = { keys: [alice], keyless: keyless(release) };
    expect(await run(deps, { ...both, threshold: 2 })).toMatchObject({ decision: "allow", reasons: [expect.objectContaining({ signers: ["alice", "release"] })] });
    const maintainerId = { name: "maintainer", issuer: "https://accounts.example.com", subject: "maintainer@example.com" };
    const v = await run(deps, { keys: [alice], keyless: keyless(release, maintainerId), threshold: 2, required: ["maintainer"] });
    expect(v.decision).toBe("deny");
    expect(v.reasons[0]).toMatchObject({ code: "COSIGN_REQUIRED_SIGNER_MISSING", missing: ["maintainer"] });
    // Two identities with the same conditions are one signer.
    const twice = await run(deps, { keyless: keyless(release, { ...release, name: "release-again" }), threshold: 2 });
    expect(twice.decision).toBe("deny");
    expect(twice.reasons[0]!.message).toMatch(/^validation threshold not reached \(1\/2\)/);
  });

  it("lets one certificate sign for every identity it satisfies (each identity is judged on its own)", async () => {
    const { deps } = setup(await served([], [{ sig: maintainer, version: "0.3" }]));
    const anyone = { name: "anyone", issuerRegExp: "^https://accounts\\.example\\.com$", subjectRegExp: "@example\\.com$" };
    const exact = { name: "maintainer", issuer: "https://accounts.example.com", subject: "maintainer@example.com" };
    const v = await run(deps, { keyless: keyless(anyone, exact), required: ["maintainer"] });
    expect(v).toMatchObject({ decision: "allow", reasons: [expect.objectContaining({ signers: ["anyone", "maintainer"] })] });
  });

  it("reads a keyless bundle under a rule with keys only as not its own, and decides by key", async () => {
    const { deps } = setup(vector("legacy-ecdsa").registry, await served([], [{ sig: dsse, version: "0.3" }]));
    expect((await run(deps, { keys: [{ name: "alice", key: publicKey("alice") }] })).decision).toBe("allow");
    const v = await run(deps, { keys: [{ name: "bob", key: publicKey("bob") }] });
    expect(v.decision).toBe("deny");
    expect(v.reasons).toContainEqual(expect.objectContaining({ code: "COSIGN_SIGNATURES_UNREADABLE", message: expect.stringContaining("the rule names no keyless identities") }));
  });

  it("caches the verdict per trust root: another root verifies afresh", async () => {
    const { deps, work } = setup(await served([legacy], []));
    expect((await run(deps, { keyless: keyless(release) })).decision).toBe("allow");
    const before = work.verify;
    expect((await run(deps, { keyless: keyless(release) })).decision).toBe("allow");
    expect(work.verify).toBe(before);
    const other = await createSigstorePki({ name: "elsewhere" });
    expect((await run(deps, { keyless: { identities: [release], trustRoot: other.trustedRoot } })).decision).toBe("deny");
    expect(work.verify).toBe(before + 1);
  });

  it("denies without a trust root when the public-good one cannot be had, saying so", async () => {
    const { deps } = setup(await served([legacy], []));
    const v = await run(deps, { keyless: { identities: [release] } });
    expect(v.decision).toBe("deny");
    expect(v.reasons.map((r) => r.code)).toContain("COSIGN_TRUST_ROOT_UNAVAILABLE");
  });

  it("names the TUF repository as an upstream only when the rule has no trust root of its own", () => {
    expect(cosignKind.upstreams!({ type: "cosign", keyless: { identities: [release] } } as never)).toEqual(["tuf-repo-cdn.sigstore.dev:443"]);
    expect(cosignKind.upstreams!({ type: "cosign", keyless: { identities: [release], trustRoot: "{}" } } as never)).toEqual([]);
  });
});
