// End to end: upstream faults through the HTTP API. A real Worker (short upstream timeout, caches
// off) in front of a real docker-registry behind a fault-injecting loopback proxy, a real
// notary-server that is killed mid-run, and a lookaside store with fault switches. Whatever
// breaks, every answer is a 200 with a verdict, and never an allow the policy would not give.
import { mkdir, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callApi, type ApiVerdict as Verdict } from "./lab/api";
import { LIE_DIGEST, startFaultyRegistry, type FaultSetting, type FaultyRegistry } from "./lab/faulty-registry";
import { createGpgHome, type GpgHome, type GpgKey } from "./lab/gpg";
import { startLookaside, type LookasideServer } from "./lab/lookaside";
import { makeKey, NotaryClient, startNotaryServer, type LabKey, type NotaryServer } from "./lab/notary";
import { pushImage, writeOciImage, type OciImage } from "./lab/oci-image";
import { startRegistry, type Registry } from "./lab/registry";
import { startWorker, type WorkerHandle } from "./lab/worker";

const TIMEOUT_MS = 800;
const POLICY = { static: "faults-static", signed: "faults-signed", notary: "faults-notary" } as const;

describe("upstream faults: fail closed, never a 500", () => {
  let registry: Registry;
  let proxy: FaultyRegistry;
  let lookaside: LookasideServer;
  let notary: NotaryServer;
  let owner: NotaryClient;
  let gpg: GpgHome;
  let rsa: GpgKey;
  let worker: WorkerHandle;
  let booting: Promise<WorkerHandle> | undefined;
  let work: string;
  let image: OciImage & { size: number };

  /** Image names go through the proxy: the Worker only ever sees the proxy's host:port. */
  const ref = (repoTag: string) => `${proxy.host}/${repoTag}`;
  const codes = (v: Verdict) => v.reasons.map((r) => r.code);
  const show = (v: unknown) => `${JSON.stringify(v, null, 1)}\n--- proxy (last 6) ---\n${proxy.requests().slice(-6).join("\n")}`;

  async function decide(policy: string, img: string): Promise<Verdict> {
    const { status, json } = await callApi(worker.url, "POST", "/v1/decisions", worker.clientToken, { image: img, policy });
    expect(status, `${policy} ${img}: ${show(json)}`).toBe(200);
    expect(["allow", "deny"], show(json)).toContain(json.decision);
    return json as Verdict;
  }

  /** Runs fn with the proxy's fault on, and always switches it off after. */
  async function withFault<T>(setting: FaultSetting, fn: () => Promise<T>): Promise<T> {
    proxy.setFault(setting);
    try {
      return await fn();
    } finally {
      proxy.setFault(null);
    }
  }

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "trustgate-e2e-faults-"));
    booting = startWorker({
      vars: {
        UPSTREAM_TIMEOUT_MS: String(TIMEOUT_MS),
        TAG_CACHE_TTL_SECONDS: "0",
        VERDICT_CACHE_TTL_SECONDS: "0",
        TRUST_RECHECK_SECONDS: "0",
      },
    });
    booting.catch(() => undefined);
    await mkdir(join(work, "lookaside"));
    [registry, lookaside, notary, gpg] = await Promise.all([
      startRegistry(),
      startLookaside(join(work, "lookaside")),
      startNotaryServer(),
      createGpgHome(),
    ]);
    proxy = await startFaultyRegistry(registry.url);
    owner = await NotaryClient.create(notary);
    let root: LabKey;
    let ci: LabKey;
    [rsa, root, ci] = await Promise.all([gpg.makeKey("rsa", "rsa"), makeKey(join(work, "keys"), "root"), makeKey(join(work, "keys"), "ci")]);

    const oci = await writeOciImage(join(work, "one"), { seed: "faults-one" });
    const { size } = await stat(join(work, "one", "blobs", "sha256", oci.manifestDigest.slice("sha256:".length)));
    image = { ...oci, size };
    // Pushed straight to the registry; the proxy serves the same storage.
    for (const repo of ["app/signed", "app/plain", "trust/stale", "trust/fresh"]) {
      expect(await pushImage(join(work, "one"), `${registry.host}/${repo}:v1`)).toBe(image.manifestDigest);
    }

    // app/signed:v1 carries a simple signature (identity = the name the Worker sees) in the lookaside.
    const payload = JSON.stringify({
      critical: {
        identity: { "docker-reference": ref("app/signed:v1") },
        image: { "docker-manifest-digest": image.manifestDigest },
        type: "atomic container signature",
      },
      optional: { creator: "trustgate faults lab", timestamp: Math.floor(Date.now() / 1000) },
    });
    const sigFile = join(lookaside.dir, `app/signed@${image.manifestDigest.replace(":", "=")}`, "signature-1");
    await mkdir(dirname(sigFile), { recursive: true });
    await writeFile(sigFile, await gpg.sign(payload, rsa.fingerprint));

    // Two notary repositories (GUN = proxy host/repo), signed as `docker trust sign` would.
    await owner.importKey(ci.keyFile, { role: "ci" });
    for (const repo of ["trust/stale", "trust/fresh"]) {
      const gun = ref(repo);
      await owner.init(gun, { rootKey: root.keyFile });
      await owner.addSigner(gun, "ci", { keyFile: ci.publicKeyFile });
      await owner.addTarget(gun, "v1", image.manifestDigest, image.size, { roles: ["targets/releases", "targets/ci"] });
      await owner.publish(gun);
    }

    worker = await booting;
    const policies: Record<string, unknown> = {
      [POLICY.static]: { rules: [{ pattern: "*", require: [{ type: "allow" }] }] },
      [POLICY.signed]: { rules: [{ pattern: "*", require: [{ type: "signedBy", keys: [rsa.armored], lookaside: lookaside.url }] }] },
      [POLICY.notary]: { rules: [{ pattern: "*", require: [{ type: "notary", server: notary.url, rootKeys: [root.publicKeyPem] }] }] },
    };
    for (const [id, doc] of Object.entries(policies)) {
      const put = await callApi(worker.url, "PUT", `/v1/policies/${id}`, worker.adminToken, doc);
      expect(put.status, `PUT ${id}: ${JSON.stringify(put.json)}`).toBe(200);
    }
  });

  afterAll(async () => {
    await (await booting?.catch(() => undefined))?.stop();
    await proxy?.close();
    await owner?.close();
    await notary?.close();
    await lookaside?.close();
    await gpg?.close();
    await registry?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("control: through the proxy, with nothing broken, the signed image is allowed", async () => {
    const v = await decide(POLICY.signed, ref("app/signed:v1"));
    expect(v, show(v)).toMatchObject({ decision: "allow", digest: image.manifestDigest });
    expect(codes(v)).toContain("SIMPLE_SIGNED");
    const plain = await decide(POLICY.signed, ref("app/plain:v1"));
    expect(plain, show(plain)).toMatchObject({ decision: "deny" });
    expect(codes(plain)).toContain("SIMPLE_SIGNATURE_MISSING");
  });

  it("registry answering 500: a verifying policy denies REGISTRY_UNREACHABLE; a static allow allows with a DIGEST_UNRESOLVED note", async () => {
    await withFault({ fault: { kind: "500" } }, async () => {
      const v = await decide(POLICY.signed, ref("app/signed:v1"));
      expect(v, show(v)).toMatchObject({ decision: "deny", allowed: false, digest: null });
      expect(codes(v), show(v)).toEqual(["REGISTRY_UNREACHABLE"]);
      expect(v.reasons[0]!.message).toContain("HTTP 500");

      const s = await decide(POLICY.static, ref("app/signed:v1"));
      expect(s, show(s)).toMatchObject({ decision: "allow", digest: null });
      expect(s.reasons, show(s)).toContainEqual(expect.objectContaining({ code: "DIGEST_UNRESOLVED", cause: "REGISTRY_UNREACHABLE" }));
    });
  });

  it(`registry answering slower than UPSTREAM_TIMEOUT_MS (${TIMEOUT_MS} ms): deny, worded as any failure without an HTTP answer`, async () => {
    await withFault({ fault: { kind: "slow", delayMs: TIMEOUT_MS * 3 } }, async () => {
      const started = Date.now();
      const v = await decide(POLICY.signed, ref("app/signed:v1"));
      const took = Date.now() - started;
      expect(v, show(v)).toMatchObject({ decision: "deny", allowed: false });
      expect(codes(v), show(v)).toEqual(["REGISTRY_UNREACHABLE"]);
      // A slow port reads like a closed one (docs/security.md): reasons do not tell ports apart.
      expect(v.reasons[0]!.message, show(v)).toBe(`${proxy.host} could not be reached (no HTTP answer)`);
      // The timeout, not the slow answer, ended it.
      expect(took).toBeLessThan(TIMEOUT_MS * 3);

      const s = await decide(POLICY.static, ref("app/signed:v1"));
      expect(s, show(s)).toMatchObject({ decision: "allow", digest: null });
      expect(s.reasons.find((r) => r.code === "DIGEST_UNRESOLVED")?.message, show(s)).toContain(`${proxy.host} could not be reached (no HTTP answer)`);
    });
  });

  it("a truncated manifest body (HEAD without a digest, so the body is fetched): REGISTRY_DIGEST_MISMATCH", async () => {
    await withFault({ fault: { kind: "truncate" }, head: "no-digest" }, async () => {
      const v = await decide(POLICY.signed, ref("app/signed:v1"));
      expect(v, show(v)).toMatchObject({ decision: "deny", allowed: false, digest: null });
      expect(codes(v), show(v)).toEqual(["REGISTRY_DIGEST_MISMATCH"]);
      expect(proxy.requests().some((r) => r.startsWith("GET ") && r.includes("truncated to"))).toBe(true);
    });
  });

  it("a manifest body broken off before its Content-Length: REGISTRY_UNREACHABLE", async () => {
    await withFault({ fault: { kind: "truncate", declareLength: true }, head: "no-digest" }, async () => {
      const v = await decide(POLICY.signed, ref("app/signed:v1"));
      expect(v, show(v)).toMatchObject({ decision: "deny", allowed: false, digest: null });
      expect(["REGISTRY_UNREACHABLE", "REGISTRY_DIGEST_MISMATCH"], show(v)).toContain(codes(v)[0]);
      expect(codes(v)).toHaveLength(1);
    });
  });

  it("a lying Docker-Content-Digest on the fetched body: REGISTRY_DIGEST_MISMATCH", async () => {
    await withFault({ fault: { kind: "lie" }, head: "no-digest" }, async () => {
      const v = await decide(POLICY.signed, ref("app/signed:v1"));
      expect(v, show(v)).toMatchObject({ decision: "deny", allowed: false, digest: null });
      expect(codes(v), show(v)).toEqual(["REGISTRY_DIGEST_MISMATCH"]);
      expect(v.reasons[0]!.message).toContain(LIE_DIGEST);
    });
    // HEAD 405 → GET: the same lie is caught the same way.
    await withFault({ fault: { kind: "lie" }, head: "405" }, async () => {
      const v = await decide(POLICY.signed, ref("app/signed:v1"));
      expect(codes(v), show(v)).toEqual(["REGISTRY_DIGEST_MISMATCH"]);
    });
  });

  it("a lying Docker-Content-Digest on HEAD (no body to check) never turns into an allow", async () => {
    await withFault({ fault: { kind: "lie" } }, async () => {
      const v = await decide(POLICY.signed, ref("app/signed:v1"));
      // HEAD carries no bytes to hash: the lie becomes the digest, and nothing is signed for it.
      expect(v, show(v)).toMatchObject({ decision: "deny", allowed: false });
      expect(codes(v)).not.toContain("SIMPLE_SIGNED");
      const n = await decide(POLICY.notary, ref("trust/fresh:v1"));
      expect(n, show(n)).toMatchObject({ decision: "deny", allowed: false });
      expect(codes(n)).not.toContain("NOTARY_SIGNED");
    });
  });

  it("lookaside answering 404: SIMPLE_SIGNATURE_MISSING; garbage: SIMPLE_SIGNATURES_REJECTED; 500: deny", async () => {
    const expected = { "404": "SIMPLE_SIGNATURE_MISSING", garbage: "SIMPLE_SIGNATURES_REJECTED", "500": "SIMPLE_LOOKASIDE_UNREACHABLE" } as const;
    try {
      for (const [fault, code] of Object.entries(expected) as [keyof typeof expected, string][]) {
        lookaside.setFault(fault);
        const v = await decide(POLICY.signed, ref("app/signed:v1"));
        expect(v, `${fault}: ${show(v)}`).toMatchObject({ decision: "deny", allowed: false, digest: image.manifestDigest });
        expect(codes(v), `${fault}: ${show(v)}`).toContain(code);
        expect(codes(v)).not.toContain("SIMPLE_SIGNED");
      }
    } finally {
      lookaside.setFault(null);
    }
    expect((await decide(POLICY.signed, ref("app/signed:v1"))).decision).toBe("allow");
  });

  it("lookaside closing a connection: retried, so still allowed; closing every one: a deny and one log line per failed request with the code, no stack", async () => {
    lookaside.dropConnections(1);
    const once = await decide(POLICY.signed, ref("app/signed:v1"));
    expect(once, show(once)).toMatchObject({ decision: "allow", digest: image.manifestDigest });

    const unreachable = (logs: string) =>
      logs
        .split("\n")
        .map((l) => l.replace(/\x1b\[[0-9;]*m/g, "")) // wrangler colours warnings
        .filter((l) => l.includes("upstream SIMPLE_LOOKASIDE_UNREACHABLE: GET "));
    const before = worker.logs();
    lookaside.dropConnections(1_000);
    try {
      const down = await decide(POLICY.signed, ref("app/signed:v1"));
      expect(down, show(down)).toMatchObject({ decision: "deny", allowed: false });
      expect(down.reasons[0], show(down)).toMatchObject({ code: "SIMPLE_LOOKASIDE_UNREACHABLE", transient: true });
    } finally {
      lookaside.dropConnections(0);
    }
    // The answer is sent after the log line is written; wrangler passes it on as it comes, and the
    // read-ahead's line (signature-2) may come first: wait for signature-1's.
    const since = () => unreachable(worker.logs().slice(before.length));
    for (let i = 0; i < 50 && !since().some((l) => l.includes("/signature-1: ")); i++) await new Promise((r) => setTimeout(r, 100));
    const added = worker.logs().slice(before.length);
    // One line per failed request: signature-1, and signature-2 when its read-ahead (sent in the same
    // round) had failed by then too; never a line twice, never a stack.
    const lines = unreachable(added);
    expect(lines.some((l) => /signature-1: lookaside 127\.0\.0\.1:\d+ could not be reached \(.+\)$/.test(l)), added).toBe(true);
    expect(lines.every((l) => /signature-[12]: lookaside 127\.0\.0\.1:\d+ could not be reached \(.+\)$/.test(l)), added).toBe(true);
    expect(new Set(lines).size, added).toBe(lines.length);
    expect(added, added).not.toMatch(/uncaught|^\s+at /im);
  });

  it("trust server killed mid-run: cached unexpired trust data decides (NOTARY_STALE_TRUST_DATA), uncached denies", async () => {
    const before = await decide(POLICY.notary, ref("trust/stale:v1"));
    expect(before, show(before)).toMatchObject({ decision: "allow", digest: image.manifestDigest });
    expect(codes(before)).toContain("NOTARY_SIGNED");

    // Killed while decisions are under way: each still answers, allow or deny, with a reason.
    const during = Array.from({ length: 6 }, (_, i) => decide(POLICY.notary, ref(i % 2 ? "trust/stale:v1" : "trust/fresh:v1")));
    await notary.stop();
    for (const v of await Promise.all(during)) {
      if (v.decision === "allow") expect(codes(v), show(v)).toContain("NOTARY_SIGNED");
      else expect(codes(v), show(v)).not.toContain("NOTARY_SIGNED");
    }
    await expect(fetch(`${notary.url}/_notary_server/health`)).rejects.toThrow();

    const stale = await decide(POLICY.notary, ref("trust/stale:v1"));
    expect(stale, show(stale)).toMatchObject({ decision: "allow", allowed: true, digest: image.manifestDigest, cached: false });
    expect(codes(stale), show(stale)).toEqual(expect.arrayContaining(["NOTARY_SIGNED", "NOTARY_STALE_TRUST_DATA"]));

    // trust/fresh may have been verified by the in-flight decisions above; a never-seen repo cannot have been.
    const unseen = await decide(POLICY.notary, ref("app/plain:v1"));
    expect(unseen, show(unseen)).toMatchObject({ decision: "deny", allowed: false, digest: image.manifestDigest });
    expect(codes(unseen), show(unseen)).toContain("NOTARY_TRUST_SERVER_UNREACHABLE");
    expect(codes(unseen)).not.toContain("NOTARY_SIGNED");
  });
});
