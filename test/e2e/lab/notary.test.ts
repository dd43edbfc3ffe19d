// Checks the notary lab itself: a real notary-server on loopback, driven by the real notary CLI as docker would.
import { createHash } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchRole, makeKey, NotaryClient, startNotaryServer, trustUrl, type LabKey, type NotaryServer } from "./notary";

const GUN = "127.0.0.1:5000/demo/app";
const V1 = createHash("sha256").update("manifest v1").digest("hex");
const V1_SIZE = 528;

interface Signed {
  signed: {
    _type: string;
    version: number;
    expires: string;
    targets?: Record<string, { hashes: { sha256: string }; length: number }>;
    roles?: Record<string, { keyids: string[] }>;
    keys?: Record<string, { keytype: string; keyval: { public: string } }>;
    delegations?: { roles: { name: string; keyids: string[]; paths: string[] }[] };
  };
  signatures: { keyid: string; method: string }[];
}

const parse = (bytes: Uint8Array | null): Signed => {
  expect(bytes).not.toBeNull();
  return JSON.parse(Buffer.from(bytes!).toString("utf8")) as Signed;
};

describe("lab: notary-server + notary CLI (local signer, plain HTTP)", () => {
  let server: NotaryServer;
  let client: NotaryClient;
  let keys: string;
  let root: LabKey;
  let alice: LabKey;
  let ci: LabKey;

  beforeAll(async () => {
    server = await startNotaryServer();
    client = await NotaryClient.create(server);
    keys = await mkdtemp(join(tmpdir(), "trustgate-notary-keys-"));
    root = await makeKey(keys, "root", { commonName: GUN });
    alice = await makeKey(keys, "alice");
    ci = await makeKey(keys, "ci");
  });

  afterAll(async () => {
    await client?.close();
    await server?.close();
    if (keys) await rm(keys, { recursive: true, force: true });
  });

  it("serves plain HTTP on 127.0.0.1", async () => {
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const health = await fetch(`${server.url}/_notary_server/health`);
    expect(health.status).toBe(200);
  });

  it("publishes a docker-style repository whose root is the pinned key, and serves every role", async () => {
    await client.init(GUN, { rootKey: root.keyFile, rootCert: root.certFile });
    // docker trust signer add alice: targets/alice and targets/releases, same key, paths [""].
    await client.addSigner(GUN, "alice", { privateKeyFile: alice.keyFile, keyFile: alice.publicKeyFile });
    // A CI key (x509 certificate) that only signs into targets/releases.
    await client.importKey(ci.keyFile, { role: "ci" });
    await client.addDelegation(GUN, "targets/releases", ci.certFile, { allPaths: true, publish: true });
    // alice signs v1: docker writes the tag into every delegation she holds a key for.
    await client.addTarget(GUN, "v1", V1, V1_SIZE, { roles: ["targets/releases", "targets/alice"] });
    await client.publish(GUN);

    const rootJson = parse(await fetchRole(server.url, GUN, "root"));
    expect(rootJson.signed._type).toBe("Root");
    // Our certificate is the root key, byte for byte, under its x509 key ID.
    expect(rootJson.signed.roles!.root!.keyids).toEqual([root.certKeyId]);
    const rootKey = rootJson.signed.keys![root.certKeyId]!;
    expect(rootKey.keytype).toBe("ecdsa-x509");
    expect(Buffer.from(rootKey.keyval.public, "base64").toString("utf8")).toBe(root.certPem);
    expect(rootJson.signatures.map((s) => s.keyid)).toContain(root.certKeyId);
    // init + server-managed snapshot rotation = two root versions.
    expect(rootJson.signed.version).toBe(2);
    expect(parse(await fetchRole(server.url, GUN, "1.root")).signed.version).toBe(1);

    const timestamp = parse(await fetchRole(server.url, GUN, "timestamp"));
    expect(timestamp.signed._type).toBe("Timestamp");
    // The local trust service only does ED25519.
    expect(timestamp.signatures[0]!.method).toBe("eddsa");
    const snapshot = parse(await fetchRole(server.url, GUN, "snapshot"));
    expect(snapshot.signed._type).toBe("Snapshot");
    expect(snapshot.signatures[0]!.method).toBe("eddsa");

    const targets = parse(await fetchRole(server.url, GUN, "targets"));
    expect(targets.signed._type).toBe("Targets");
    expect(targets.signed.targets).toEqual({});
    const delegations = Object.fromEntries(targets.signed.delegations!.roles.map((r) => [r.name, r]));
    expect(Object.keys(delegations).sort()).toEqual(["targets/alice", "targets/releases"]);
    expect(delegations["targets/alice"]!.paths).toEqual([""]);
    expect(delegations["targets/releases"]!.paths).toEqual([""]);
    expect(delegations["targets/alice"]!.keyids).toEqual([alice.publicKeyId]);
    expect(delegations["targets/releases"]!.keyids.sort()).toEqual([alice.publicKeyId, ci.certKeyId].sort());

    const expected = { hashes: { sha256: Buffer.from(V1, "hex").toString("base64") }, length: V1_SIZE };
    const releases = parse(await fetchRole(server.url, GUN, "targets/releases"));
    expect(releases.signed._type).toBe("Targets");
    expect(releases.signed.targets).toEqual({ v1: expected });
    expect(releases.signatures.map((s) => s.keyid)).toContain(alice.publicKeyId);
    const aliceJson = parse(await fetchRole(server.url, GUN, "targets/alice"));
    expect(aliceJson.signed._type).toBe("Targets");
    expect(aliceJson.signed.targets).toEqual({ v1: expected });

    expect(await client.lookup(GUN, "v1")).toEqual({ name: "v1", sha256: V1, size: V1_SIZE });
    expect(await client.lookup(GUN, "nope")).toBeNull();
    // `notary list` shows each target once, under whichever role its walk met first.
    expect(await client.list(GUN)).toMatch(new RegExp(`^v1\\s+${V1}\\s+${V1_SIZE}\\s+targets/(alice|releases)`, "m"));
  });

  it("answers 404 for a delegation that never signed", async () => {
    const bob = await makeKey(keys, "bob");
    await client.addSigner(GUN, "bob", { keyFile: bob.publicKeyFile });
    expect(await fetchRole(server.url, GUN, "targets/bob")).toBeNull();
    const response = await fetch(trustUrl(server.url, GUN, "targets/bob"));
    expect(response.status).toBe(404);
    await response.body?.cancel();
  });

  it("rotates the root key: N+1.root.json signed by the old and the new key", async () => {
    const before = parse(await fetchRole(server.url, GUN, "root")).signed.version;
    const newRoot = await makeKey(keys, "root2");
    await client.rotateRoot(GUN, { keyFile: newRoot.keyFile });
    const after = parse(await fetchRole(server.url, GUN, "root"));
    expect(after.signed.version).toBe(before + 1);
    expect(parse(await fetchRole(server.url, GUN, `${before + 1}.root`)).signed.version).toBe(before + 1);
    const [newId] = after.signed.roles!.root!.keyids;
    expect(newId).not.toBe(root.certKeyId);
    // notary makes its own certificate (CN = GUN) for a rotated-in key: same public key, new x509 ID.
    const cert = Buffer.from(after.signed.keys![newId!]!.keyval.public, "base64").toString("utf8");
    expect(cert).toContain("BEGIN CERTIFICATE");
    expect(after.signatures.map((s) => s.keyid).sort()).toEqual([newId!, root.certKeyId].sort());
    expect(await client.lookup(GUN, "v1")).toEqual({ name: "v1", sha256: V1, size: V1_SIZE });
  });

  it("stop() makes the server unreachable; restart() brings back an empty one on the same URL", async () => {
    await server.stop();
    await expect(fetch(`${server.url}/_notary_server/health`)).rejects.toThrow();
    // A client without cached trust data fails ("client is offline")...
    const fresh = await NotaryClient.create(server);
    await expect(fresh.lookup(GUN, "v1")).rejects.toThrow(/offline/);
    await fresh.close();
    // ...but the notary CLI answers from its cache when the server is down (a CLI quirk).
    expect(await client.lookup(GUN, "v1")).toEqual({ name: "v1", sha256: V1, size: V1_SIZE });
    await server.restart();
    expect((await fetch(`${server.url}/_notary_server/health`)).status).toBe(200);
    expect(await fetchRole(server.url, GUN, "root")).toBeNull();
  });
});

describe("lab: notary-server with notary-signer (ECDSA server keys) over HTTPS", () => {
  let server: NotaryServer;
  let client: NotaryClient;

  beforeAll(async () => {
    server = await startNotaryServer({ signer: "notary-signer", tls: true });
    client = await NotaryClient.create(server);
  });

  afterAll(async () => {
    await client?.close();
    await server?.close();
  });

  it("signs timestamp and snapshot with ECDSA and works with the CLI through the lab CA", async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect(server.caFile).toBeDefined();
    await client.init(GUN);
    await client.addTarget(GUN, "v1", V1, V1_SIZE, { publish: true });
    expect(await client.lookup(GUN, "v1")).toEqual({ name: "v1", sha256: V1, size: V1_SIZE });
    // Node's fetch cannot take the lab CA, so read the client's cached copies (the server's bytes).
    const dir = join(client.trustDir, "tuf", GUN, "metadata");
    const timestamp = JSON.parse(await readFile(join(dir, "timestamp.json"), "utf8")) as Signed;
    const snapshot = JSON.parse(await readFile(join(dir, "snapshot.json"), "utf8")) as Signed;
    expect(timestamp.signatures[0]!.method).toBe("ecdsa");
    expect(snapshot.signatures[0]!.method).toBe("ecdsa");
  });
});
