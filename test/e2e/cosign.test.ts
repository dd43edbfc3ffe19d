// End to end: cosign decisions through the HTTP API against a real docker-registry on loopback, with
// signatures written the way cosign writes them (legacy `.sig` tags and v3 bundles attached through
// the referrers fallback tag), and each scenario decided under a native policy and under the same
// policy imported from Connaisseur's Helm values (2.x and 3.x layouts). Identity checks come from a
// containers-policy.json `sigstoreSigned` requirement.
//
// Every repository holds the same image (seed "one"), so signatures must be looked up per repository:
// a verdict keyed by digest alone would leak from one repository into the next.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import {
  attachBundle,
  BUNDLE_V03_MEDIA_TYPE,
  COSIGN_SIGN_PREDICATE_TYPE,
  getManifest,
  makeCosignKey,
  OCI_EMPTY_MEDIA_TYPE,
  SIGNATURE_ANNOTATION,
  signImage,
  SIMPLE_SIGNING_MEDIA_TYPE,
  type AttachedBundle,
  type CosignKey,
  type SignatureManifest,
} from "./lab/cosign";
import { pushImage, registryDigest, writeOciImage, type OciImage } from "./lab/oci-image";
import { startRegistry, type Registry } from "./lab/registry";
import { startWorker, type WorkerHandle } from "./lab/worker";
import { callApi, type ApiVerdict as Verdict } from "./lab/api";

/** Each scenario is decided under all three; they say the same thing. */
const FORMATS = ["native", "connaisseur-v2", "connaisseur-v3"] as const;
type Format = (typeof FORMATS)[number];
const POLICY: Record<Format | "containers-policy" | "native-identity", string> = {
  native: "e2e-cosign-native",
  "connaisseur-v2": "e2e-cosign-connaisseur2",
  "connaisseur-v3": "e2e-cosign-connaisseur3",
  "containers-policy": "e2e-cosign-containers",
  "native-identity": "e2e-cosign-native-identity",
};

// Repositories, each with its own signatures, all holding image "one".
const SIGNED = "cosign/signed"; // alice signs
const ED25519 = "cosign/ed25519"; // erin (Ed25519) signs
const DOCKER_TYPES = "cosign/docker-types"; // alice signs, COSIGN_DOCKER_MEDIA_TYPES=1
const UNSIGNED = "cosign/unsigned"; // nobody signs
const THRESHOLD = "cosign/threshold"; // alice valid, bob's signature invalid, carol absent; 2 of 3 needed
const REQUIRED = "cosign/required"; // alice and bob valid; carol required but absent
const OTHER_DIGEST = "cosign/other-digest"; // alice's signature claims image "two"'s digest
const RENAMED = "cosign/renamed"; // alice's payload names another repository
const BUNDLE = "cosign/bundle"; // cosign v3 bundle, fallback index as the spec says
const BUNDLE_GGCR = "cosign/bundle-ggcr"; // cosign v3 bundle, fallback entry's artifactType = config.mediaType (cosign#4641)
const BUNDLE_BARE = "cosign/bundle-bare"; // cosign v3 bundle, fallback entry without artifactType or annotations (older ggcr)
const BUNDLE_BAD = "cosign/bundle-bad"; // v3 bundles by alice: a bad signature, another digest, an attestation
const SIGREPO = "cosign/sigrepo"; // alice signs into SIGNATURES (COSIGN_REPOSITORY)
const SIGNATURES = "cosign/signatures";
const ALL_REPOS = [SIGNED, ED25519, DOCKER_TYPES, UNSIGNED, THRESHOLD, REQUIRED, OTHER_DIGEST, RENAMED, BUNDLE, BUNDLE_GGCR, BUNDLE_BARE, BUNDLE_BAD, SIGREPO];

describe("cosign decisions against a real registry", () => {
  let registry: Registry;
  let worker: WorkerHandle;
  let booting: Promise<WorkerHandle> | undefined;
  let work: string;
  const images = {} as Record<"one" | "two", OciImage>;
  const keys = {} as Record<"alice" | "bob" | "carol" | "erin", CosignKey>;
  const sigs = new Map<string, SignatureManifest>();
  const bundles = new Map<string, AttachedBundle>();

  const image = (repo: string, tag = "v1") => `${registry.host}/${repo}:${tag}`;

  const api = (method: string, path: string, token: string, body?: string, contentType?: string) =>
    callApi(worker.url, method, path, token, body, contentType);

  async function decide(policy: keyof typeof POLICY, img: string): Promise<Verdict> {
    const { status, json } = await api("POST", "/v1/decisions", worker.clientToken, JSON.stringify({ image: img, policy: POLICY[policy] }));
    expect(status, `${policy} ${img}: ${JSON.stringify(json)}`).toBe(200);
    return json as Verdict;
  }

  const codes = (v: Verdict) => v.reasons.map((r) => r.code);
  const show = (label: string, v: Verdict) => `${label}: ${JSON.stringify(v, null, 1)}`;

  // ---------------------------------------------------------------------------------------------
  // Policies: the same requirements in trustgate's words and in Connaisseur's.

  function nativePolicy(identity?: { type: "matchRepository" }): string {
    const key = (name: keyof typeof keys) => ({ name, key: keys[name].publicKeyPem });
    const trio = [key("alice"), key("bob"), key("carol")];
    const rule = (repo: string, requirement: Record<string, unknown>) => ({
      pattern: `${registry.host}/${repo}`,
      require: [{ type: "cosign", ...requirement, ...(identity ? { signedIdentity: identity } : {}) }],
    });
    return JSON.stringify({
      mode: "enforce",
      rules: [
        ...[SIGNED, DOCKER_TYPES, UNSIGNED, OTHER_DIGEST, RENAMED, BUNDLE, BUNDLE_GGCR, BUNDLE_BARE, BUNDLE_BAD].map((repo) => rule(repo, { keys: [key("alice")] })),
        rule(ED25519, { keys: [key("erin")] }),
        rule(THRESHOLD, { keys: trio, threshold: 2 }),
        rule(REQUIRED, { keys: trio, threshold: 2, required: ["carol"] }),
        rule(SIGREPO, { keys: [key("alice")], signatureRepository: `${registry.host}/${SIGNATURES}` }),
      ],
    });
  }

  /**
   * Connaisseur's Helm values: a cosign validator with alice, bob and carol as trust roots, another
   * with erin, and rules naming the trust root (or "*" with threshold and required). Transparency-log
   * verification is switched off: these signatures were never uploaded to Rekor.
   */
  function connaisseurPolicy(version: 2 | 3, tlog: boolean | "unset" = false): string {
    const v3 = version === 3;
    const roots = (names: (keyof typeof keys)[]) => names.map((name) => ({ name, key: keys[name].publicKeyPem }));
    const validator = (name: string, names: (keyof typeof keys)[]) => ({ name, type: "cosign", [v3 ? "trustRoots" : "trust_roots"]: roots(names) });
    const withRoot = (root: string, extra: Record<string, unknown> = {}) => ({
      [v3 ? "trustRoot" : "trust_root"]: root,
      ...(tlog === "unset" ? {} : { [v3 ? "verifyInTransparencyLog" : "verify_in_transparency_log"]: tlog }),
      ...extra,
    });
    const rule = (repo: string, validatorName: string, w: Record<string, unknown>) => ({
      pattern: `${registry.host}/${repo}:*`,
      validator: validatorName,
      with: w,
    });
    const values = {
      validators: [
        { name: "deny", type: "static", approve: false },
        validator("lab-cosign", ["alice", "bob", "carol"]),
        validator("lab-ed25519", ["erin"]),
      ],
      policy: [
        { pattern: "*:*", validator: "deny" },
        rule("cosign/*", "lab-cosign", withRoot("alice")),
        rule(ED25519, "lab-ed25519", withRoot("erin")),
        rule(THRESHOLD, "lab-cosign", withRoot("*", { threshold: 2 })),
        rule(REQUIRED, "lab-cosign", withRoot("*", { threshold: 2, required: ["carol"] })),
      ],
    };
    return stringify(v3 ? { application: values } : values);
  }

  /**
   * containers-policy.json with `sigstoreSigned` (keyData = base64 of alice's PEM) and
   * `signedIdentity: matchRepository` for the signed, renamed and unsigned repositories, and registries.d
   * telling containers/image to read sigstore attachments from the lab registry.
   */
  function containersPolicy(): string {
    const requirement = {
      type: "sigstoreSigned",
      keyData: Buffer.from(keys.alice.publicKeyPem, "utf8").toString("base64"),
      signedIdentity: { type: "matchRepository" },
    };
    return JSON.stringify({
      policy: {
        default: [{ type: "reject" }],
        transports: {
          docker: {
            [`${registry.host}/${SIGNED}`]: [requirement],
            [`${registry.host}/${RENAMED}`]: [requirement],
            [`${registry.host}/${UNSIGNED}`]: [requirement],
          },
        },
      },
      "registries.d": [{ docker: { [registry.host]: { "use-sigstore-attachments": true } } }],
    });
  }

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "trustgate-e2e-cosign-"));
    booting = startWorker({ vars: { TAG_CACHE_TTL_SECONDS: "0", TRUST_RECHECK_SECONDS: "0" } });
    registry = await startRegistry();
    keys.alice = makeCosignKey("alice");
    keys.bob = makeCosignKey("bob");
    keys.carol = makeCosignKey("carol");
    keys.erin = makeCosignKey("erin", "ed25519");
    images.one = await writeOciImage(join(work, "one"), { seed: "cosign-one" });
    images.two = await writeOciImage(join(work, "two"), { seed: "cosign-two" });

    const pushed = await Promise.all(ALL_REPOS.map((repo) => pushImage(join(work, "one"), image(repo))));
    expect(new Set(pushed)).toEqual(new Set([images.one.manifestDigest]));
    const one = images.one.manifestDigest;
    const { alice, bob, erin } = keys; // carol never signs

    sigs.set(SIGNED, await signImage(registry, SIGNED, one, [alice]));
    sigs.set(ED25519, await signImage(registry, ED25519, one, [erin]));
    sigs.set(DOCKER_TYPES, await signImage(registry, DOCKER_TYPES, one, [alice], { dockerMediaTypes: true }));
    // Two separate `cosign sign` runs: the second appends its layer to the first's manifest.
    await signImage(registry, THRESHOLD, one, [alice]);
    sigs.set(THRESHOLD, await signImage(registry, THRESHOLD, one, [bob], { corrupt: ["bob"] }));
    sigs.set(REQUIRED, await signImage(registry, REQUIRED, one, [alice, bob]));
    sigs.set(OTHER_DIGEST, await signImage(registry, OTHER_DIGEST, one, [alice], { claimedDigest: images.two.manifestDigest }));
    sigs.set(RENAMED, await signImage(registry, RENAMED, one, [alice], { dockerReference: `${registry.host}/cosign/elsewhere` }));
    sigs.set(SIGREPO, await signImage(registry, SIGREPO, one, [alice], { signatureRepository: SIGNATURES }));
    bundles.set(BUNDLE, await attachBundle(registry, BUNDLE, one, alice));
    bundles.set(BUNDLE_GGCR, await attachBundle(registry, BUNDLE_GGCR, one, alice, { fallback: "ggcr" }));
    bundles.set(BUNDLE_BARE, await attachBundle(registry, BUNDLE_BARE, one, alice, { fallback: "bare" }));
    await attachBundle(registry, BUNDLE_BAD, one, alice, { corrupt: true });
    bundles.set(BUNDLE_BAD, await attachBundle(registry, BUNDLE_BAD, one, alice, { subjectDigest: images.two.manifestDigest }));
    // An attestation (SLSA provenance) by the same key is not a signature of the image.
    await attachBundle(registry, BUNDLE_BAD, one, alice, { predicateType: "https://slsa.dev/provenance/v1" });

    worker = await booting;
    const puts: [keyof typeof POLICY, string, string][] = [
      ["native", "native", nativePolicy()],
      ["native-identity", "native", nativePolicy({ type: "matchRepository" })],
      ["connaisseur-v2", "connaisseur", connaisseurPolicy(2)],
      ["connaisseur-v3", "connaisseur", connaisseurPolicy(3)],
      ["containers-policy", "containers-policy", containersPolicy()],
    ];
    for (const [name, format, text] of puts) {
      const type = format === "connaisseur" ? "application/yaml" : "application/json";
      const put = await api("PUT", `/v1/policies/${POLICY[name]}?format=${format}`, worker.adminToken, text, type);
      expect(put.status, `PUT ${name} policy: ${JSON.stringify(put.json)}\n${text}`).toBe(200);
      expect(put.json).toMatchObject({ id: POLICY[name], format });
    }
  });

  afterAll(async () => {
    await (await booting?.catch(() => undefined))?.stop();
    await registry?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("0. the lab wrote what cosign writes", async () => {
    const one = images.one.manifestDigest;
    const tag = `${one.replace(":", "-")}.sig`;
    const stored = await getManifest(registry, THRESHOLD, tag);
    expect(stored?.mediaType).toBe("application/vnd.oci.image.manifest.v1+json");
    const manifest = JSON.parse(stored!.body.toString("utf8"));
    expect(manifest.config.mediaType).toBe("application/vnd.oci.image.config.v1+json");
    // alice's run, then bob's appended: same payload blob, two signature annotations.
    expect(manifest.layers).toHaveLength(2);
    expect(manifest.layers.map((l: any) => l.mediaType)).toEqual([SIMPLE_SIGNING_MEDIA_TYPE, SIMPLE_SIGNING_MEDIA_TYPE]);
    expect(manifest.layers[0].digest).toBe(manifest.layers[1].digest);
    expect(Object.keys(manifest.layers[1].annotations)).toEqual([SIGNATURE_ANNOTATION]);
    const payload = JSON.parse(sigs.get(SIGNED)!.payload.toString("utf8"));
    expect(payload).toEqual({
      critical: {
        identity: { "docker-reference": `${registry.host}/${SIGNED}` },
        image: { "docker-manifest-digest": one },
        type: "cosign container image signature",
      },
      optional: null,
    });
    expect((await getManifest(registry, DOCKER_TYPES, tag))?.mediaType).toBe("application/vnd.docker.distribution.manifest.v2+json");
    expect(await getManifest(registry, SIGREPO, tag)).toBeNull();
    expect(await getManifest(registry, SIGNATURES, tag)).not.toBeNull();

    // v3: the referrers API is missing, the fallback index lists the bundle manifest.
    expect((await fetch(`${registry.url}/v2/${BUNDLE}/referrers/${one}`)).status).toBe(404);
    const index = await getManifest(registry, BUNDLE, one.replace(":", "-"), "application/vnd.oci.image.index.v1+json");
    expect(JSON.parse(index!.body.toString("utf8")).manifests).toEqual([
      expect.objectContaining({ digest: bundles.get(BUNDLE)!.digest, artifactType: BUNDLE_V03_MEDIA_TYPE }),
    ]);
    const ggcr = bundles.get(BUNDLE_GGCR)!.fallbackIndex.manifests;
    expect(ggcr.map((d) => d.artifactType)).toEqual([OCI_EMPTY_MEDIA_TYPE]);
    expect(bundles.get(BUNDLE_BARE)!.fallbackIndex.manifests.map((d) => d.artifactType)).toEqual([undefined]);
    const referrer = await getManifest(registry, BUNDLE, bundles.get(BUNDLE)!.digest);
    expect(JSON.parse(referrer!.body.toString("utf8"))).toMatchObject({
      artifactType: BUNDLE_V03_MEDIA_TYPE,
      subject: { digest: one },
      annotations: { "dev.sigstore.bundle.predicateType": COSIGN_SIGN_PREDICATE_TYPE, "dev.sigstore.bundle.content": "dsse-envelope" },
    });
    const statement = JSON.parse(bundles.get(BUNDLE)!.statement.toString("utf8"));
    expect(statement.subject[0].digest.sha256).toBe(one.slice("sha256:".length));
    expect(await registryDigest(registry.url, SIGNED, "v1")).toBe(one);
  });

  it.each(FORMATS)("1. %s: one valid key → allow; no signatures → deny", async (format) => {
    for (const repo of [SIGNED, ED25519, DOCKER_TYPES]) {
      const verdict = await decide(format, image(repo));
      expect(verdict, show(format, verdict)).toMatchObject({ decision: "allow", allowed: true, digest: images.one.manifestDigest });
      expect(codes(verdict), show(format, verdict)).toContain("COSIGN_SIGNED");
    }
    const unsigned = await decide(format, image(UNSIGNED));
    expect(unsigned, show(format, unsigned)).toMatchObject({ decision: "deny", allowed: false, digest: images.one.manifestDigest });
    expect(codes(unsigned), show(format, unsigned)).toContain("COSIGN_NO_SIGNATURES");
    expect(codes(unsigned)).not.toContain("COSIGN_SIGNED");
  });

  it.each(FORMATS)("2. %s: 2 of 3 with one key missing and one signature invalid → deny 1/2", async (format) => {
    const verdict = await decide(format, image(THRESHOLD));
    expect(verdict, show(format, verdict)).toMatchObject({ decision: "deny", allowed: false });
    expect(verdict.reasons, show(format, verdict)).toContainEqual(
      expect.objectContaining({ code: "COSIGN_THRESHOLD_UNMET", message: expect.stringMatching(/\b1\s*(\/|of)\s*2\b/) }),
    );
    expect(codes(verdict)).not.toContain("COSIGN_SIGNED");
  });

  it.each(FORMATS)("3. %s: threshold met but a required signer missing → deny naming carol", async (format) => {
    const verdict = await decide(format, image(REQUIRED));
    expect(verdict, show(format, verdict)).toMatchObject({ decision: "deny", allowed: false });
    expect(verdict.reasons, show(format, verdict)).toContainEqual(
      expect.objectContaining({ code: "COSIGN_REQUIRED_SIGNER_MISSING", message: expect.stringContaining("carol") }),
    );
    expect(codes(verdict)).not.toContain("COSIGN_THRESHOLD_UNMET");
    expect(codes(verdict)).not.toContain("COSIGN_SIGNED");
  });

  it.each(FORMATS)("4. %s: a signature whose payload claims another digest → deny", async (format) => {
    const verdict = await decide(format, image(OTHER_DIGEST));
    expect(verdict, show(format, verdict)).toMatchObject({ decision: "deny", allowed: false, digest: images.one.manifestDigest });
    expect(codes(verdict)).not.toContain("COSIGN_SIGNED");
    // cosign's words ("invalid or missing digest in claim"), naming the digest the payload claims.
    expect(verdict.reasons, show(format, verdict)).toContainEqual(
      expect.objectContaining({ code: "COSIGN_THRESHOLD_UNMET", message: expect.stringContaining(images.two.manifestDigest) }),
    );
    expect(verdict.reasons.map((r) => r.message).join("\n")).toContain("invalid or missing digest in claim");
  });

  it.each(FORMATS)("5. %s: a payload naming another repository is allowed (cosign checks the digest only)", async (format) => {
    const verdict = await decide(format, image(RENAMED));
    expect(verdict, show(format, verdict)).toMatchObject({ decision: "allow", allowed: true, digest: images.one.manifestDigest });
    expect(codes(verdict)).toContain("COSIGN_SIGNED");
  });

  it("5b. sigstoreSigned matchRepository (containers-policy, and native signedIdentity) refuses the other repository", async () => {
    for (const policy of ["containers-policy", "native-identity"] as const) {
      // The same key and layout under the image's own name is accepted: the refusal is about identity.
      const control = await decide(policy, image(SIGNED));
      expect(control, show(policy, control)).toMatchObject({ decision: "allow", allowed: true, digest: images.one.manifestDigest });

      const verdict = await decide(policy, image(RENAMED));
      expect(verdict, show(policy, verdict)).toMatchObject({ decision: "deny", allowed: false, digest: images.one.manifestDigest });
      expect(codes(verdict)).not.toContain("COSIGN_SIGNED");
      const text = verdict.reasons.map((r) => r.message).join("\n");
      expect(text, show(policy, verdict)).toMatch(/signature for identity "[^"]+\/cosign\/elsewhere" is not accepted/i);
      expect(text).toContain(`${registry.host}/cosign/elsewhere`);

      const unsigned = await decide(policy, image(UNSIGNED));
      expect(unsigned, show(policy, unsigned)).toMatchObject({ decision: "deny", allowed: false });
      expect(codes(unsigned), show(policy, unsigned)).toContain("COSIGN_NO_SIGNATURES");
    }
  });

  it.each(FORMATS)("6. %s: a v3 bundle found through the referrers fallback tag → allow; bad bundles → deny", async (format) => {
    const verdict = await decide(format, image(BUNDLE));
    expect(verdict, show(`${format} ${BUNDLE}`, verdict)).toMatchObject({ decision: "allow", allowed: true, digest: images.one.manifestDigest });
    expect(codes(verdict)).toContain("COSIGN_SIGNED");
    // A bundle with a bad signature and one for another digest: nothing valid for this image.
    const bad = await decide(format, image(BUNDLE_BAD));
    expect(bad, show(`${format} ${BUNDLE_BAD}`, bad)).toMatchObject({ decision: "deny", allowed: false });
    expect(bad.reasons, show(`${format} ${BUNDLE_BAD}`, bad)).toContainEqual(
      expect.objectContaining({ code: "COSIGN_THRESHOLD_UNMET", message: expect.stringMatching(/\(0\/1\)/) }),
    );
    expect(codes(bad)).not.toContain("COSIGN_SIGNED");
  });

  // What cosign 3 actually leaves in a registry without the referrers API: go-containerregistry's
  // fallback-tag writer put config.mediaType (application/vnd.oci.empty.v1+json), or nothing, in the
  // index entry's artifactType instead of the manifest's artifactType (sigstore/cosign#4641; kyverno
  // and buildx hit the same "no signatures found"). The referrer manifest itself says what it is.
  it.each(FORMATS)("6b. %s: a v3 bundle whose fallback index entry has ggcr's artifactType → allow", async (format) => {
    for (const repo of [BUNDLE_GGCR, BUNDLE_BARE]) {
      const verdict = await decide(format, image(repo));
      expect(verdict, show(`${format} ${repo}`, verdict)).toMatchObject({ decision: "allow", allowed: true, digest: images.one.manifestDigest });
      expect(codes(verdict)).toContain("COSIGN_SIGNED");
    }
  });

  it("7. native: signatures in a separate repository (COSIGN_REPOSITORY)", async () => {
    const verdict = await decide("native", image(SIGREPO));
    expect(verdict, show("native", verdict)).toMatchObject({ decision: "allow", allowed: true, digest: images.one.manifestDigest });
    expect(codes(verdict)).toContain("COSIGN_SIGNED");
  });

  it("8. Connaisseur 3 rules that would check the transparency log are refused, not silently weakened", async () => {
    for (const tlog of [true, "unset"] as const) {
      const text = connaisseurPolicy(3, tlog);
      const put = await api("PUT", "/v1/policies/e2e-cosign-tlog?format=connaisseur", worker.adminToken, text, "application/yaml");
      expect(put.status, `verifyInTransparencyLog ${tlog}: ${JSON.stringify(put.json)}`).toBe(400);
      expect(JSON.stringify(put.json)).toContain("verifyInTransparencyLog");
    }
  });
});
