// TrustedSet end to end on generated repositories: trust anchors, signatures, thresholds, expiry,
// rollback, hashes, delegations, root rotation and every supported key type.
import { describe, expect, it } from "vitest";
import { base64Decode, base64Encode, toPem, utf8 } from "../../../src/verify/shared/encoding";
import { NotaryV1Error, type NotaryV1ErrorCode } from "../../../src/verify/notary-v1/errors";
import { canonicalKeyId, importPinnedKey, parseTufKey } from "../../../src/verify/notary-v1/keys";
import { TrustedSet, matchCnToGun, type TrustedSetOptions } from "../../../src/verify/notary-v1/trusted-set";
import { GUN, NOW, buildRepo, buildTargetsFile, loadRepo, makeKey, pinFor, pooledKey, rawToDer, type Repo } from "./generator";

const DAY = 86_400_000;
const past = new Date(NOW.getTime() - DAY);

async function failure(p: Promise<unknown>): Promise<NotaryV1Error> {
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof NotaryV1Error)) throw new Error(`expected a NotaryV1Error, got ${String(error)}`);
  return error;
}

async function expectFailure(p: Promise<unknown>, code: NotaryV1ErrorCode, message?: RegExp | string): Promise<NotaryV1Error> {
  const error = await failure(p);
  expect(error.code, error.message).toBe(code);
  if (message !== undefined) expect(error.message).toMatch(message);
  return error;
}

function createSet(repo: Repo, options: Partial<TrustedSetOptions> = {}): Promise<TrustedSet> {
  return TrustedSet.create(repo.bytes.root, { anchor: { kind: "tofu" }, now: NOW, gun: GUN, ...options });
}

/** Loads up to (not including) `stop`, then returns the set so a test can feed the next role itself. */
async function loadUntil(repo: Repo, stop: "timestamp" | "snapshot" | "targets" | "delegations", options: Partial<TrustedSetOptions> = {}) {
  const set = await createSet(repo, options);
  if (stop === "timestamp") return set;
  await set.updateTimestamp(repo.bytes.timestamp);
  if (stop === "snapshot") return set;
  await set.updateSnapshot(repo.bytes.snapshot);
  if (stop === "targets") return set;
  await set.updateTargets(repo.bytes.targets);
  return set;
}

describe("a valid repository", () => {
  it("loads root, timestamp, snapshot, targets and two delegations", async () => {
    const repo = await buildRepo();
    const set = await loadRepo(repo);
    expect(set.root.version).toBe(1);
    expect(set.timestamp?.snapshot.length).toBe(repo.bytes.snapshot.length);
    expect([...set.targets!.targets.keys()].sort()).toEqual(["1.0", "latest"]);
    expect(set.delegationNames).toEqual(["targets/releases", "targets/alice"]);
    expect(set.delegationRole("targets/alice")?.paths).toEqual([""]);
    expect(set.verification("targets/releases")?.valid).toEqual([repo.keys.releases[0]!.id]);
    expect(set.versions()).toEqual({ root: 1, timestamp: 1, snapshot: 1, targets: 1, "targets/releases": 1, "targets/alice": 1 });
  });

  it("also verifies every supported hash when sha512 is listed", async () => {
    const repo = await buildRepo({ sha512: true });
    await expect(loadRepo(repo)).resolves.toBeInstanceOf(TrustedSet);
  });

  it("keeps the higher of previous and current versions for the next run", async () => {
    const repo = await buildRepo({ versions: { targets: 7 } });
    const set = await loadRepo(repo, { previous: { targets: 5, snapshot: 1, "targets/bob": 4 } });
    expect(set.versions()).toMatchObject({ targets: 7, snapshot: 1, "targets/bob": 4 });
  });

  it("verifies Ed25519 keys as well as ECDSA", async () => {
    const ed = (n: number) => pooledKey("ed25519", n);
    const repo = await buildRepo({ keys: { targets: [await ed(0)], snapshot: [await ed(1)], timestamp: [await ed(2)], releases: [await ed(3)], alice: [await ed(3)] } });
    expect((await loadRepo(repo)).delegation("targets/alice")?.targets.size).toBe(2);
  });

  it("verifies RSA-PSS and RSA PKCS#1 v1.5 keys, mixed with others", async () => {
    const repo = await buildRepo({
      keys: { targets: [await pooledKey("rsa", 0)], snapshot: [await pooledKey("rsa-pkcs1", 0)], releases: [await pooledKey("rsa", 0)], alice: [await pooledKey("ed25519", 3)] },
    });
    expect((await loadRepo(repo)).delegation("targets/releases")?.targets.size).toBe(2);
  });

  it("accepts a plain (non-certificate) root key when no GUN is given, e.g. Ed25519", async () => {
    const repo = await buildRepo({ keys: { root: [await pooledKey("ed25519", 4)] } });
    await expect(loadRepo(repo, { gun: undefined })).resolves.toBeInstanceOf(TrustedSet);
    await expectFailure(loadRepo(repo), "ROOT_NOT_TRUSTED", /x509 certificates with CN matching/);
  });
});

describe("trust anchors", () => {
  it("accepts a root pinned by its TUF key ID or canonical key ID", async () => {
    const repo = await buildRepo();
    const rootKey = repo.keys.root[0]!;
    await expect(loadRepo(repo, { anchor: { kind: "key-ids", keyIds: [rootKey.id] } })).resolves.toBeDefined();
    const canonical = await canonicalKeyId(parseTufKey(rootKey.tuf, "k"));
    await expect(loadRepo(repo, { anchor: { kind: "key-ids", keyIds: [canonical.toUpperCase()] } })).resolves.toBeDefined();
  });

  it("accepts a root whose ecdsa-x509 key carries a pinned PEM SPKI (Connaisseur) or a pinned certificate", async () => {
    const repo = await buildRepo();
    await expect(loadRepo(repo, { anchor: { kind: "public-keys", keys: [await pinFor(repo.keys.root[0]!)] } })).resolves.toBeDefined();
    const certPin = await importPinnedKey(toPem("CERTIFICATE", repo.keys.root[0]!.cert!));
    await expect(loadRepo(repo, { anchor: { kind: "public-keys", keys: [certPin] } })).resolves.toBeDefined();
  });

  it("refuses a root no pinned key belongs to", async () => {
    const repo = await buildRepo();
    const other = await pooledKey("ecdsa", 6);
    await expectFailure(createSet(repo, { anchor: { kind: "public-keys", keys: [await pinFor(other)] } }), "ROOT_NOT_TRUSTED", /no root key matches the pinned keys/);
    await expectFailure(createSet(repo, { anchor: { kind: "key-ids", keyIds: [other.id] } }), "ROOT_NOT_TRUSTED");
  });

  it("requires the pinned keys themselves to meet the root threshold", async () => {
    const [a, b] = [await pooledKey("ecdsa-x509", 0), await pooledKey("ecdsa-x509", 7)];
    const repo = await buildRepo({ keys: { root: [a, b] }, thresholds: { root: 2 } });
    await expect(createSet(repo)).resolves.toBeDefined();
    await expectFailure(
      createSet(repo, { anchor: { kind: "public-keys", keys: [await pinFor(a)] } }),
      "THRESHOLD_NOT_MET",
      "root version 1: signatures by pinned keys: 1 of 2 required signatures valid",
    );
  });

  it("requires the root certificate's CN to match the GUN (a trailing * is a prefix wildcard)", async () => {
    const repo = await buildRepo();
    await expectFailure(createSet(repo, { gun: "docker.io/trustgate/other" }), "ROOT_NOT_TRUSTED");
    const wildcard = await pooledKey("ecdsa-x509", 8, { cn: "docker.io/trustgate/*", notBefore: past, notAfter: new Date(NOW.getTime() + 365 * DAY) });
    await expect(loadRepo(await buildRepo({ keys: { root: [wildcard] } }))).resolves.toBeDefined();
    expect(matchCnToGun("docker.io/trustgate/*", "docker.io/trustgate/x")).toBe(true);
    expect(matchCnToGun("docker.io/trustgate/*", "docker.io/other/x")).toBe(false);
    expect(matchCnToGun("docker.io/a", "docker.io/a/b")).toBe(false);
  });

  it("refuses expired or not-yet-valid root certificates, and CA certificates as root keys", async () => {
    const expired = await pooledKey("ecdsa-x509", 9, { cn: GUN, notBefore: new Date(NOW.getTime() - 30 * DAY), notAfter: past });
    await expectFailure(createSet(await buildRepo({ keys: { root: [expired] } })), "ROOT_NOT_TRUSTED");
    const future = await pooledKey("ecdsa-x509", 9, { cn: GUN, notBefore: new Date(NOW.getTime() + 2 * DAY), notAfter: new Date(NOW.getTime() + 30 * DAY) });
    await expectFailure(createSet(await buildRepo({ keys: { root: [future] } })), "ROOT_NOT_TRUSTED");
    const ca = await pooledKey("ecdsa-x509", 9, { cn: GUN, notBefore: past, notAfter: new Date(NOW.getTime() + 30 * DAY), isCA: true });
    await expectFailure(createSet(await buildRepo({ keys: { root: [ca] } })), "ROOT_NOT_TRUSTED");
  });
});

describe("a pinned root key is the anchor (as Connaisseur decides)", () => {
  it("trusts a pinned CA certificate named for no GUN, which trust on first use refuses", async () => {
    const ca = await pooledKey("ecdsa-x509", 9, { cn: "securesystems.de", notBefore: past, notAfter: new Date(NOW.getTime() + 30 * DAY), isCA: true });
    const repo = await buildRepo({ keys: { root: [ca] } });
    await expectFailure(createSet(repo), "ROOT_NOT_TRUSTED", /CN matching/);
    await expect(createSet(repo, { anchor: { kind: "public-keys", keys: [await pinFor(ca)] } })).resolves.toBeInstanceOf(TrustedSet);
    await expect(createSet(repo, { anchor: { kind: "key-ids", keyIds: [ca.id] } })).resolves.toBeInstanceOf(TrustedSet);
    // The pin must still match, and still sign.
    const other = await pooledKey("ecdsa-x509", 0);
    await expectFailure(createSet(repo, { anchor: { kind: "public-keys", keys: [await pinFor(other)] } }), "ROOT_NOT_TRUSTED", /no root key matches the pinned keys/);
  });
});

describe("signatures and thresholds", () => {
  it("refuses a root with a broken signature", async () => {
    const repo = await buildRepo({ tamper: (role, env) => role === "root" && flipSignature(env.signatures[0]!) });
    await expectFailure(createSet(repo), "BAD_SIGNATURE", /^root version 1: signatures by its own keys: 0 of 1 required signatures valid \(.*signature does not verify\)$/);
  });

  it("refuses a root whose threshold is not met", async () => {
    const [a, b] = [await pooledKey("ecdsa-x509", 0), await pooledKey("ecdsa-x509", 7)];
    const repo = await buildRepo({ keys: { root: [a, b] }, thresholds: { root: 2 }, signers: (role, keys) => (role === "root" ? [a] : keys) });
    await expectFailure(createSet(repo), "THRESHOLD_NOT_MET", "root version 1: signatures by its own keys: 1 of 2 required signatures valid");
  });

  it("refuses targets with a tampered signature", async () => {
    const repo = await buildRepo({ tamper: (role, env) => role === "targets" && flipSignature(env.signatures[0]!) });
    const set = await loadUntil(repo, "targets");
    await expectFailure(set.updateTargets(repo.bytes.targets), "BAD_SIGNATURE", /^targets: 0 of 1 required signatures valid/);
  });

  it("refuses targets signed by a key the root does not list", async () => {
    const stranger = await pooledKey("ecdsa", 6);
    const repo = await buildRepo({ signers: (role, keys) => (role === "targets" ? [stranger] : keys) });
    const set = await loadUntil(repo, "targets");
    await expectFailure(set.updateTargets(repo.bytes.targets), "THRESHOLD_NOT_MET", "targets: 0 of 1 required signatures valid (signed by unknown keys only)");
  });

  it("refuses a snapshot below its threshold", async () => {
    const [a, b] = [await pooledKey("ecdsa", 2), await pooledKey("ed25519", 2)];
    const repo = await buildRepo({ keys: { snapshot: [a, b] }, thresholds: { snapshot: 2 }, signers: (role, keys) => (role === "snapshot" ? [b, b] : keys) });
    const set = await loadUntil(repo, "snapshot");
    await expectFailure(set.updateSnapshot(repo.bytes.snapshot), "THRESHOLD_NOT_MET", "snapshot: 1 of 2 required signatures valid");
  });

  it("refuses a delegation whose signature is by the wrong key", async () => {
    const stranger = await pooledKey("ed25519", 5);
    const repo = await buildRepo({ signers: (role, keys) => (role === "targets/alice" ? [stranger] : keys) });
    const set = await loadUntil(repo, "delegations");
    await set.updateDelegation("targets/releases", repo.bytes["targets/releases"]);
    await expectFailure(set.updateDelegation("targets/alice", repo.bytes["targets/alice"]), "THRESHOLD_NOT_MET", "targets/alice: 0 of 1 required signatures valid (signed by unknown keys only)");
  });

  it("refuses a DER-encoded ECDSA signature", async () => {
    const repo = await buildRepo({
      tamper: (role, env) => {
        if (role === "timestamp") env.signatures[0]!.sig = base64Encode(rawToDer(base64Decode(env.signatures[0]!.sig)!));
      },
    });
    const set = await loadUntil(repo, "timestamp");
    await expectFailure(set.updateTimestamp(repo.bytes.timestamp), "BAD_SIGNATURE", /must be 64 bytes \(raw r\|\|s\)/);
  });

  it("refuses a key listed under an ID that is not its hash", async () => {
    const fakeId = "ab".repeat(32);
    const repo = await buildRepo({
      mutate: (role, signed: Record<string, any>) => {
        if (role !== "root") return;
        const realId = signed.roles.targets.keyids[0];
        signed.keys[fakeId] = signed.keys[realId];
        signed.roles.targets.keyids = [fakeId];
      },
      tamper: (role, env) => {
        if (role === "targets") env.signatures[0]!.keyid = fakeId;
      },
    });
    const set = await loadUntil(repo, "targets");
    await expectFailure(set.updateTargets(repo.bytes.targets), "KEY_ID_MISMATCH", new RegExp(fakeId));
  });
});

function flipSignature(sig: { sig: string }): boolean {
  const bytes = base64Decode(sig.sig)!;
  bytes[5]! ^= 0x01;
  sig.sig = base64Encode(bytes);
  return true;
}

describe("expiry", () => {
  it.each<["timestamp" | "snapshot" | "targets"]>([["timestamp"], ["snapshot"], ["targets"]])("refuses an expired %s", async (role) => {
    const repo = await buildRepo({ expires: { [role]: past } });
    const set = await loadUntil(repo, role);
    const update = { timestamp: () => set.updateTimestamp(repo.bytes.timestamp), snapshot: () => set.updateSnapshot(repo.bytes.snapshot), targets: () => set.updateTargets(repo.bytes.targets) }[role];
    await expectFailure(update(), "EXPIRED", `${role}: expired at ${past.toISOString()}`);
  });

  it("refuses an expired delegation", async () => {
    const repo = await buildRepo({ expires: { "targets/releases": past } });
    const set = await loadUntil(repo, "delegations");
    await expectFailure(set.updateDelegation("targets/releases", repo.bytes["targets/releases"]), "EXPIRED", /^targets\/releases: expired/);
  });

  it("refuses an expired root once it is final (at the timestamp), not before", async () => {
    const repo = await buildRepo({ expires: { root: past } });
    const set = await createSet(repo);
    await expectFailure(set.updateTimestamp(repo.bytes.timestamp), "EXPIRED", /^root: expired/);
  });

  it("counts a role as expired only once its expiry lies before now", async () => {
    const repo = await buildRepo({ expires: { timestamp: NOW } });
    const set = await createSet(repo);
    await expect(set.updateTimestamp(repo.bytes.timestamp)).resolves.toBeDefined();
  });
});

describe("rollback", () => {
  it.each<["timestamp" | "snapshot" | "targets"]>([["timestamp"], ["snapshot"], ["targets"]])("refuses a %s older than the trusted version", async (role) => {
    const repo = await buildRepo({ versions: { [role]: 4 } });
    await expectFailure(loadRepo(repo, { previous: { [role]: 5 } }), "ROLLBACK", `${role}: version 4 is lower than the trusted version 5`);
    await expect(loadRepo(repo, { previous: { [role]: 4 } })).resolves.toBeDefined();
  });

  it("refuses an older root and an older delegation", async () => {
    const repo = await buildRepo({ versions: { root: 2, "targets/alice": 2 } });
    await expectFailure(createSet(repo, { previous: { root: 3 } }), "ROLLBACK", "root: version 2 is lower than the trusted version 3");
    await expectFailure(loadRepo(repo, { previous: { "targets/alice": 3 } }), "ROLLBACK", /^targets\/alice: version 2/);
  });
});

describe("hashes and lengths", () => {
  it("refuses a snapshot whose bytes differ from what the timestamp lists (signature still valid)", async () => {
    const repo = await buildRepo();
    // Same length, same signed content, different bytes: the members in another order.
    const parsed = JSON.parse(new TextDecoder().decode(repo.bytes.snapshot));
    const reformatted = utf8(JSON.stringify({ signatures: parsed.signatures, signed: parsed.signed }));
    expect(reformatted.length).toBe(repo.bytes.snapshot.length);
    const set = await loadUntil(repo, "snapshot");
    await expectFailure(set.updateSnapshot(reformatted), "HASH_MISMATCH", /^snapshot: sha256 [0-9a-f]{64} does not match [0-9a-f]{64} listed by timestamp$/);
  });

  it("refuses targets and delegations whose bytes differ from what the snapshot lists", async () => {
    const repo = await buildRepo();
    const other = await buildRepo({ targets: { latest: '{"other":1}' }, releases: { latest: '{"other":2}' } });
    const set = await loadUntil(repo, "targets");
    await expectFailure(set.updateTargets(other.bytes.targets), "HASH_MISMATCH", /^targets: sha256/);
    await set.updateTargets(repo.bytes.targets);
    await expectFailure(set.updateDelegation("targets/releases", other.bytes["targets/releases"]), "HASH_MISMATCH", /^targets\/releases: sha256/);
  });

  it("refuses bytes longer than the listed length", async () => {
    const repo = await buildRepo();
    const longer = new Uint8Array(repo.bytes.snapshot.length + 1);
    longer.set(repo.bytes.snapshot);
    longer[longer.length - 1] = 0x20;
    const set = await loadUntil(repo, "snapshot");
    await expectFailure(set.updateSnapshot(longer), "LENGTH_EXCEEDED", `snapshot: ${longer.length} bytes exceed the length ${repo.bytes.snapshot.length} listed by timestamp`);
  });

  it("checks every listed hash: a wrong sha512 fails even when sha256 matches", async () => {
    const repo = await buildRepo({
      sha512: true,
      mutate: (role, signed: Record<string, any>) => {
        if (role === "timestamp") signed.meta.snapshot.hashes.sha512 = base64Encode(new Uint8Array(64));
      },
    });
    const set = await loadUntil(repo, "snapshot");
    await expectFailure(set.updateSnapshot(repo.bytes.snapshot), "HASH_MISMATCH", /sha512/);
  });

  it("refuses a snapshot that lists a different root than the trusted one", async () => {
    const repo = await buildRepo();
    const rotated = await buildRepo({ versions: { root: 2 } });
    const set = await createSet(repo);
    await set.updateTimestamp(rotated.bytes.timestamp);
    await expectFailure(set.updateSnapshot(rotated.bytes.snapshot), "HASH_MISMATCH", /^root: sha256 .* listed by snapshot$/);
  });

  it("refuses an oversized timestamp", async () => {
    const repo = await buildRepo();
    const set = await createSet(repo);
    await expectFailure(set.updateTimestamp(new Uint8Array((1 << 20) + 1)), "LENGTH_EXCEEDED");
  });
});

describe("delegations", () => {
  it("refuses a delegation its parent does not list", async () => {
    const repo = await buildRepo();
    const set = await loadUntil(repo, "delegations");
    await expectFailure(set.updateDelegation("targets/bob", repo.bytes["targets/alice"]), "DELEGATION_NOT_FOUND", "targets/bob: not delegated by targets");
    await expectFailure(set.updateDelegation("targets/releases/x", repo.bytes["targets/alice"]), "DELEGATION_NOT_FOUND", "targets/releases/x: parent role targets/releases is not loaded");
  });

  it("refuses a delegation the snapshot does not list", async () => {
    const repo = await buildRepo({ mutate: (role, signed: Record<string, any>) => role === "snapshot" && delete signed.meta["targets/alice"] });
    const set = await loadUntil(repo, "delegations");
    await expectFailure(set.updateDelegation("targets/alice", repo.bytes["targets/alice"]), "MISSING_META", "targets/alice: the snapshot lists no hashes for this role");
  });

  it("refuses names that are not delegations", async () => {
    const repo = await buildRepo();
    const set = await loadUntil(repo, "delegations");
    await expectFailure(set.updateDelegation("targets", repo.bytes.targets), "MALFORMED");
    await expectFailure(set.updateDelegation("targets/Alice", repo.bytes.targets), "MALFORMED");
  });

  it("loads a nested delegation with paths restricted to its parent's", async () => {
    const ciKey = await pooledKey("ed25519", 6);
    const ci = await buildTargetsFile({ "v1.2": "{}", "x-1": "{}" }, [ciKey]);
    const repo = await buildRepo({
      paths: { releases: ["v1", "v2"] },
      mutate: (role, signed: Record<string, any>) => {
        if (role === "targets/releases") {
          signed.delegations = {
            keys: { [ciKey.id]: ciKey.tuf },
            roles: [{ name: "targets/releases/ci", keyids: [ciKey.id], threshold: 1, paths: ["v1.", "x", ""] }],
          };
        }
        if (role === "snapshot") signed.meta["targets/releases/ci"] = ci.meta;
      },
    });
    const set = await loadRepo(repo);
    expect(set.delegationRole("targets/releases")?.paths).toEqual(["v1", "v2"]);
    await set.updateDelegation("targets/releases/ci", ci.bytes);
    // "x" and "" are not within the parent's v1/v2 and are dropped.
    expect(set.delegationRole("targets/releases/ci")?.paths).toEqual(["v1."]);
    expect(set.versions()["targets/releases/ci"]).toBe(1);
  });
});

describe("order", () => {
  it("refuses roles out of client order", async () => {
    const repo = await buildRepo();
    const set = await createSet(repo);
    await expectFailure(set.updateSnapshot(repo.bytes.snapshot), "OUT_OF_ORDER");
    await expectFailure(set.updateTargets(repo.bytes.targets), "OUT_OF_ORDER");
    await expectFailure(set.updateDelegation("targets/releases", repo.bytes["targets/releases"]), "OUT_OF_ORDER");
    await set.updateTimestamp(repo.bytes.timestamp);
    await expectFailure(set.updateTimestamp(repo.bytes.timestamp), "OUT_OF_ORDER");
    await expectFailure(set.updateRoot(repo.bytes.root), "OUT_OF_ORDER");
  });

  it("leaves the set unchanged when an update fails", async () => {
    const repo = await buildRepo();
    const set = await loadUntil(repo, "targets");
    await expectFailure(set.updateTargets(repo.bytes.snapshot), "HASH_MISMATCH");
    expect(set.targets).toBeUndefined();
    await set.updateTargets(repo.bytes.targets);
    expect(set.targets?.version).toBe(1);
  });
});

describe("root rotation", () => {
  async function rotation(signers: "both" | "old" | "new", version = 2) {
    const oldKey = await pooledKey("ecdsa-x509", 0);
    const newKey = await pooledKey("ecdsa-x509", 10);
    const v1 = await buildRepo();
    const v2 = await buildRepo({
      keys: { root: [newKey] },
      versions: { root: version },
      signers: (role, keys) => (role !== "root" ? keys : signers === "both" ? [newKey, oldKey] : signers === "old" ? [oldKey] : [newKey]),
    });
    return { v1, v2 };
  }

  it("accepts a new root signed by the old and the new root keys, then trusts the new root", async () => {
    const { v1, v2 } = await rotation("both");
    const set = await createSet(v1);
    await set.updateRoot(v2.bytes.root);
    await set.updateTimestamp(v2.bytes.timestamp);
    await set.updateSnapshot(v2.bytes.snapshot);
    await set.updateTargets(v2.bytes.targets);
    expect(set.root.version).toBe(2);
    expect(set.versions().root).toBe(2);
  });

  it("refuses a new root not signed by the old root keys", async () => {
    const { v1, v2 } = await rotation("new");
    const set = await createSet(v1);
    await expectFailure(set.updateRoot(v2.bytes.root), "THRESHOLD_NOT_MET", "root version 2: signatures by the keys of trusted root version 1: 0 of 1 required signatures valid (signed by unknown keys only)");
    expect(set.root.version).toBe(1);
  });

  it("refuses a new root not signed by its own keys", async () => {
    const { v1, v2 } = await rotation("old");
    const set = await createSet(v1);
    await expectFailure(set.updateRoot(v2.bytes.root), "THRESHOLD_NOT_MET", "root version 2: signatures by its own keys: 0 of 1 required signatures valid (signed by unknown keys only)");
  });

  it("refuses a new root whose version does not increase", async () => {
    const { v1, v2 } = await rotation("both", 1);
    const set = await createSet(v1);
    await expectFailure(set.updateRoot(v2.bytes.root), "ROLLBACK", "root: version 1 is not newer than trusted version 1");
  });

  it("lets an intermediate root be expired as long as the final one is not", async () => {
    const v1 = await buildRepo({ expires: { root: past } });
    const { v2 } = await rotation("both");
    const set = await createSet(v1);
    await set.updateRoot(v2.bytes.root);
    await expect(set.updateTimestamp(v2.bytes.timestamp)).resolves.toBeDefined();
  });

  it("anchors only the first root: a rotation away from the pinned key is trusted through the chain", async () => {
    const { v1, v2 } = await rotation("both");
    const pin = { anchor: { kind: "public-keys", keys: [await pinFor(v1.keys.root[0]!)] } } as const;
    const set = await createSet(v1, pin);
    await expect(set.updateRoot(v2.bytes.root)).resolves.toMatchObject({ version: 2 });
    // Starting from the rotated root itself, the old pin no longer names a root key.
    await expectFailure(createSet(v2, pin), "ROOT_NOT_TRUSTED", "root version 2: no root key matches the pinned keys");
  });

  it("needs a fresh key for a fresh rotation", async () => {
    const fresh = await makeKey("ecdsa-x509");
    const v1 = await buildRepo();
    const v2 = await buildRepo({ keys: { root: [fresh] }, versions: { root: 2 }, signers: (role, keys) => (role === "root" ? [fresh, v1.keys.root[0]!] : keys) });
    const set = await createSet(v1);
    await expect(set.updateRoot(v2.bytes.root)).resolves.toMatchObject({ version: 2 });
  });
});
