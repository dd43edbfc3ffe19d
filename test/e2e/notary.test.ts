// End to end: Notary v1 (Docker Content Trust) decisions through the HTTP API, against a real
// notary-server and a real docker-registry on loopback, with trust data written by the notary CLI
// the way docker writes it, and policies imported from Connaisseur's and Portieris's own formats.
import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { makeKey, NotaryClient, startNotaryServer, type LabKey, type NotaryServer } from "./lab/notary";
import { pushImage, registryDigest, writeOciImage, type OciImage } from "./lab/oci-image";
import { startRegistry, type Registry } from "./lab/registry";
import { startWorker, type WorkerHandle } from "./lab/worker";
import { callApi, type ApiVerdict as Verdict } from "./lab/api";

/** Both tools' policies say the same thing; each scenario is decided under both. */
const FORMATS = ["connaisseur", "portieris"] as const;
type Format = (typeof FORMATS)[number];
const POLICY: Record<Format, string> = { connaisseur: "e2e-notary-connaisseur", portieris: "e2e-notary-portieris" };

// Repositories (GUN = "<registry host>/<repo>"), each with its own trust data.
const APP = "demo/app"; // v1 signed, `unsigned` pushed but never signed, `moved` signed then re-pushed
const PLAIN = "demo/plain"; // pushed, never initialised on the trust server
const SIGNERS = "demo/signers"; // alice delegated; ci signs v1 first, alice later
const PINNED = "demo/pinned"; // signed; Connaisseur pins another root key for it
const STALE = "demo/stale"; // verified once, then decided while the trust server is down
const FRESH = "demo/fresh"; // signed, but never decided before the trust server goes down

describe("Notary v1 decisions against a real notary-server and registry", () => {
  let registry: Registry;
  let notary: NotaryServer;
  let worker: WorkerHandle;
  let booting: Promise<WorkerHandle> | undefined;
  let owner: NotaryClient;
  let aliceClient: NotaryClient;
  let work: string;
  let root: LabKey;
  let otherRoot: LabKey;
  let ci: LabKey;
  let alice: LabKey;
  const images: Record<"one" | "two", OciImage & { size: number }> = {} as never;
  /** repo:tag → the digest skopeo pushed. */
  const pushed = new Map<string, string>();

  const gun = (repo: string) => `${registry.host}/${repo}`;
  const image = (repo: string, tag: string) => `${registry.host}/${repo}:${tag}`;

  async function push(seed: "one" | "two", repo: string, tag: string): Promise<string> {
    const digest = await pushImage(join(work, seed), image(repo, tag));
    expect(digest).toBe(images[seed].manifestDigest);
    pushed.set(`${repo}:${tag}`, digest);
    return digest;
  }

  /**
   * A repository as `docker trust signer add ci` + `docker trust sign` leave it: root = our root key
   * (notary makes the CN=GUN certificate), server-managed snapshot, targets/ci and targets/releases
   * delegated to ci's key, and each tag signed into targets/releases and targets/ci.
   */
  async function signedRepository(repo: string, tags: Record<string, "one" | "two">): Promise<void> {
    await owner.init(gun(repo), { rootKey: root.keyFile });
    await owner.addSigner(gun(repo), "ci", { keyFile: ci.publicKeyFile });
    for (const [tag, seed] of Object.entries(tags)) {
      await owner.addTarget(gun(repo), tag, images[seed].manifestDigest, images[seed].size, { roles: ["targets/releases", "targets/ci"] });
    }
    await owner.publish(gun(repo));
  }

  const api = (method: string, path: string, token: string, body?: string, contentType?: string) =>
    callApi(worker.url, method, path, token, body, contentType);

  async function decide(format: Format, img: string): Promise<Verdict> {
    const { status, json } = await api("POST", "/v1/decisions", worker.clientToken, JSON.stringify({ image: img, policy: POLICY[format] }));
    expect(status, `${format} ${img}: ${JSON.stringify(json)}`).toBe(200);
    return json as Verdict;
  }

  const codes = (v: Verdict) => v.reasons.map((r) => r.code);
  const show = (format: Format, v: Verdict) => `${format}: ${JSON.stringify(v, null, 1)}`;

  // ---------------------------------------------------------------------------------------------
  // The two policies. Same repositories, same requirements, each in its tool's own words.

  /**
   * Connaisseur's Helm values (v2 layout): one notaryv1 validator for the lab's trust server with
   * two trust roots, and image policies naming the validator, trust root and delegations.
   */
  function connaisseurPolicy(): string {
    return stringify({
      validators: [
        { name: "allow", type: "static", approve: true },
        { name: "deny", type: "static", approve: false },
        {
          name: "lab-notary",
          type: "notaryv1",
          host: new URL(notary.url).host,
          trust_roots: [
            { name: "default", key: root.publicKeyPem },
            // A root key no repository here uses: pinning it must fail ("wrong pinned root").
            { name: "someone-else", key: otherRoot.publicKeyPem },
          ],
        },
      ],
      policy: [
        { pattern: "*:*", validator: "deny" },
        { pattern: `${registry.host}/demo/*:*`, validator: "lab-notary", with: { trust_root: "default" } },
        { pattern: `${registry.host}/${SIGNERS}:*`, validator: "lab-notary", with: { trust_root: "default", delegations: ["alice"] } },
        { pattern: `${registry.host}/${PINNED}:*`, validator: "lab-notary", with: { trust_root: "someone-else" } },
      ],
    });
  }

  /**
   * Portieris: a ClusterImagePolicy plus the signer's Secret (as `kubectl create secret generic
   * alice-key --from-literal=name=alice --from-file=publicKey=alice.pub` makes it), as a YAML stream.
   * Portieris cannot pin a root key: every repository is trust on first use.
   */
  function portierisPolicy(): string {
    const trust = { enabled: true, trustServer: notary.url };
    const b64 = (s: string) => Buffer.from(s, "utf8").toString("base64");
    return [
      {
        apiVersion: "portieris.cloud.ibm.com/v1",
        kind: "ClusterImagePolicy",
        metadata: { name: "lab-notary" },
        spec: {
          repositories: [
            { name: `${registry.host}/demo/*`, policy: { trust } },
            { name: `${registry.host}/${SIGNERS}`, policy: { trust: { ...trust, signerSecrets: [{ name: "alice-key" }] } } },
            // No root pinning in Portieris: the PINNED repository is just another TOFU repository.
            { name: `${registry.host}/${PINNED}`, policy: { trust } },
          ],
        },
      },
      {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "alice-key" },
        type: "Opaque",
        data: { name: b64("alice"), publicKey: b64(alice.publicKeyPem) },
      },
    ]
      .map((doc) => stringify(doc))
      .join("---\n");
  }

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "trustgate-e2e-notary-"));
    // The Worker boots (migrations, wrangler dev) while the trust data is written.
    booting = startWorker({ vars: { TRUST_RECHECK_SECONDS: "0", TAG_CACHE_TTL_SECONDS: "0" } });
    [registry, notary] = await Promise.all([startRegistry(), startNotaryServer()]);
    owner = await NotaryClient.create(notary);
    aliceClient = await NotaryClient.create(notary);

    const keys = join(work, "keys");
    [root, otherRoot, ci, alice] = await Promise.all([
      makeKey(keys, "root"),
      makeKey(keys, "other-root"),
      makeKey(keys, "ci"),
      makeKey(keys, "alice"),
    ]);
    for (const seed of ["one", "two"] as const) {
      const oci = await writeOciImage(join(work, seed), { seed });
      const { size } = await stat(join(work, seed, "blobs", "sha256", oci.manifestDigest.slice("sha256:".length)));
      images[seed] = { ...oci, size };
    }
    expect(images.one.manifestDigest).not.toBe(images.two.manifestDigest);

    for (const [repo, tag, seed] of [
      [APP, "v1", "one"],
      [APP, "unsigned", "two"],
      [APP, "moved", "one"],
      [PLAIN, "v1", "one"],
      [SIGNERS, "v1", "one"],
      [PINNED, "v1", "one"],
      [STALE, "v1", "one"],
      [FRESH, "v1", "two"],
    ] as const) {
      await push(seed, repo, tag);
    }

    // The owner signs through ci (targets/releases + targets/ci), as `docker trust sign` does.
    await owner.importKey(ci.keyFile, { role: "ci" });
    await signedRepository(APP, { v1: "one", moved: "one" });
    await signedRepository(PINNED, { v1: "one" });
    await signedRepository(STALE, { v1: "one" });
    await signedRepository(FRESH, { v1: "two" });
    // `docker trust signer add alice`: alice is delegated (targets/alice, targets/releases) but
    // signs nothing yet; only ci signed v1. The owner never holds alice's private key.
    await signedRepository(SIGNERS, { v1: "one" });
    await owner.addSigner(gun(SIGNERS), "alice", { keyFile: alice.publicKeyFile });
    await aliceClient.importKey(alice.keyFile, { role: "alice" });

    worker = await booting;
    for (const format of FORMATS) {
      const text = format === "connaisseur" ? connaisseurPolicy() : portierisPolicy();
      const put = await api("PUT", `/v1/policies/${POLICY[format]}?format=${format}`, worker.adminToken, text, "application/yaml");
      expect(put.status, `PUT ${format} policy: ${JSON.stringify(put.json)}\n${text}`).toBe(200);
      expect(put.json).toMatchObject({ id: POLICY[format], format });
    }
  });

  afterAll(async () => {
    // Also when beforeAll failed before it awaited the Worker.
    await (await booting?.catch(() => undefined))?.stop();
    await aliceClient?.close();
    await owner?.close();
    await notary?.close();
    await registry?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it.each(FORMATS)("1. %s: an unsigned tag is denied: no valid trust data", async (format) => {
    const verdict = await decide(format, image(APP, "unsigned"));
    expect(verdict, show(format, verdict)).toMatchObject({ decision: "deny", allowed: false, digest: pushed.get(`${APP}:unsigned`) });
    expect(verdict.reasons, show(format, verdict)).toContainEqual(
      expect.objectContaining({ code: "NOTARY_NO_TRUST_DATA", message: expect.stringContaining("No valid trust data for unsigned") }),
    );
    expect(codes(verdict)).not.toContain("NOTARY_SIGNED");

    // A repository the trust server has never heard of has no trust data either.
    const plain = await decide(format, image(PLAIN, "v1"));
    expect(plain, show(format, plain)).toMatchObject({ decision: "deny", allowed: false });
    expect(codes(plain), show(format, plain)).toContain("NOTARY_NO_TRUST_DATA");
  });

  it.each(FORMATS)("2. %s: a signed tag is allowed with the digest the registry serves", async (format) => {
    const img = image(APP, "v1");
    const verdict = await decide(format, img);
    expect(verdict, show(format, verdict)).toMatchObject({ decision: "allow", allowed: true, reference: img, digest: pushed.get(`${APP}:v1`) });
    expect(verdict.digest).toBe(await registryDigest(registry.url, APP, "v1"));
    expect(verdict.reasons, show(format, verdict)).toContainEqual(expect.objectContaining({ code: "NOTARY_SIGNED", gun: gun(APP) }));
    expect(await owner.lookup(gun(APP), "v1")).toMatchObject({ sha256: images.one.manifestDigest.slice("sha256:".length) });
  });

  it("3. a required signer: denied until alice signs, then allowed (both formats)", async () => {
    const img = image(SIGNERS, "v1");
    for (const format of FORMATS) {
      const verdict = await decide(format, img);
      expect(verdict, show(format, verdict)).toMatchObject({ decision: "deny", allowed: false, digest: images.one.manifestDigest });
      expect(verdict.rule, show(format, verdict)).toContain(SIGNERS);
      expect(verdict.reasons, show(format, verdict)).toContainEqual(
        expect.objectContaining({ code: "NOTARY_SIGNER_MISSING", message: "no signature found for role alice" }),
      );
      expect(codes(verdict)).not.toContain("NOTARY_SIGNED");
    }

    // alice signs v1 with her own key: `docker trust sign` writes the tag into every delegation
    // she holds a key for (targets/releases and targets/alice) and publishes.
    await aliceClient.addTarget(gun(SIGNERS), "v1", images.one.manifestDigest, images.one.size, { roles: ["targets/releases", "targets/alice"] });
    await aliceClient.publish(gun(SIGNERS));

    for (const format of FORMATS) {
      const verdict = await decide(format, img);
      expect(verdict, show(format, verdict)).toMatchObject({ decision: "allow", allowed: true, digest: images.one.manifestDigest });
      expect(verdict.reasons, show(format, verdict)).toContainEqual(expect.objectContaining({ code: "NOTARY_SIGNED" }));
      expect(codes(verdict)).not.toContain("NOTARY_SIGNER_MISSING");
    }
  });

  it("4. a wrong pinned root is not trusted (Connaisseur; Portieris cannot pin roots)", async () => {
    const img = image(PINNED, "v1");
    const pinned = await decide("connaisseur", img);
    expect(pinned, show("connaisseur", pinned)).toMatchObject({ decision: "deny", allowed: false });
    expect(pinned.rule, show("connaisseur", pinned)).toContain(PINNED);
    expect(codes(pinned), show("connaisseur", pinned)).toContain("NOTARY_ROOT_NOT_TRUSTED");
    expect(codes(pinned)).not.toContain("NOTARY_SIGNED");

    // Portieris has no root pinning: the same repository is trusted on first use, so it is allowed.
    const tofu = await decide("portieris", img);
    expect(tofu, show("portieris", tofu)).toMatchObject({ decision: "allow", allowed: true, digest: images.one.manifestDigest });
    expect(codes(tofu)).toContain("NOTARY_SIGNED");
  });

  it("5. a tag re-pushed to another digest is denied: digest mismatch (both formats)", async () => {
    const img = image(APP, "moved");
    for (const format of FORMATS) {
      const before = await decide(format, img);
      expect(before, show(format, before)).toMatchObject({ decision: "allow", digest: images.one.manifestDigest });
    }
    // Someone pushes other content to the tag; the trust data still signs the old digest.
    const moved = await push("two", APP, "moved");
    expect(await registryDigest(registry.url, APP, "moved")).toBe(images.two.manifestDigest);
    expect((await owner.lookup(gun(APP), "moved"))?.sha256).toBe(images.one.manifestDigest.slice("sha256:".length));

    for (const format of FORMATS) {
      const verdict = await decide(format, img);
      expect(verdict, show(format, verdict)).toMatchObject({ decision: "deny", allowed: false, digest: moved });
      expect(verdict.reasons, show(format, verdict)).toContainEqual(
        expect.objectContaining({ code: "NOTARY_DIGEST_MISMATCH", signed: images.one.manifestDigest }),
      );
      expect(codes(verdict)).not.toContain("NOTARY_SIGNED");
    }
  });

  it("6. trust server down: verified trust data still decides, an unseen repository is denied (both formats)", async () => {
    const stale = image(STALE, "v1");
    const fresh = image(FRESH, "v1");
    // Verified once while the server is up (per policy: pinned root and TOFU are cached apart).
    for (const format of FORMATS) {
      const verdict = await decide(format, stale);
      expect(verdict, show(format, verdict)).toMatchObject({ decision: "allow", digest: images.one.manifestDigest });
      expect(codes(verdict)).not.toContain("NOTARY_STALE_TRUST_DATA");
    }

    await notary.stop();
    await expect(fetch(`${notary.url}/_notary_server/health`)).rejects.toThrow();

    for (const format of FORMATS) {
      const verdict = await decide(format, stale);
      expect(verdict, show(format, verdict)).toMatchObject({ decision: "allow", allowed: true, digest: images.one.manifestDigest, cached: false });
      expect(codes(verdict), show(format, verdict)).toEqual(expect.arrayContaining(["NOTARY_SIGNED", "NOTARY_STALE_TRUST_DATA"]));

      const unseen = await decide(format, fresh);
      expect(unseen, show(format, unseen)).toMatchObject({ decision: "deny", allowed: false, digest: images.two.manifestDigest });
      expect(codes(unseen), show(format, unseen)).toContain("NOTARY_TRUST_SERVER_UNREACHABLE");
      expect(codes(unseen)).not.toContain("NOTARY_SIGNED");
    }
  });
});
