// Strict role parsers: envelope, root, targets (delegations), snapshot, timestamp, expiry times, names.
import { describe, expect, it } from "vitest";
import { concatBytes, utf8 } from "../../../src/verify/shared/encoding";
import { NotaryV1Error } from "../../../src/verify/notary-v1/errors";
import {
  isDelegationName,
  parentRole,
  parseEnvelope,
  parseExpires,
  parseRoot,
  parseSnapshot,
  parseTargets,
  parseTimestamp,
} from "../../../src/verify/notary-v1/roles";
import { buildRepo } from "./generator";

function code(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (e) {
    if (e instanceof NotaryV1Error) return e.code;
    throw e;
  }
  return undefined;
}

const clone = <T>(v: T): T => structuredClone(v);

describe("parseEnvelope", () => {
  it("splits signed and signatures and lower-cases methods", () => {
    const env = parseEnvelope(utf8('{"signed":{"a":1},"signatures":[{"keyid":"k","method":"ECDSA","sig":"QUJD"}]}'), "root");
    expect(env.signed).toEqual({ a: 1 });
    expect(env.signatures).toEqual([{ keyid: "k", method: "ecdsa", sig: utf8("ABC") }]);
  });

  it.each([
    ["invalid UTF-8", Uint8Array.of(0x7b, 0xff, 0x7d)],
    ["a byte order mark", concatBytes(Uint8Array.of(0xef, 0xbb, 0xbf), utf8('{"signed":{},"signatures":[]}'))],
    ["not JSON", utf8("{signed:}")],
    ["an array", utf8("[]")],
    ["signed not an object", utf8('{"signed":[],"signatures":[]}')],
    ["signatures not an array", utf8('{"signed":{},"signatures":{}}')],
    ["a signature without keyid", utf8('{"signed":{},"signatures":[{"method":"ecdsa","sig":"QUJD"}]}')],
    ["a signature that is not base64", utf8('{"signed":{},"signatures":[{"keyid":"k","method":"ecdsa","sig":"!!"}]}')],
    ["a field matching only up to case", utf8('{"signed":{},"Signed":{},"signatures":[]}')],
  ])("refuses %s", (_label, bytes) => {
    expect(code(() => parseEnvelope(bytes, "root"))).toBe("MALFORMED");
  });
});

describe("parseRoot", () => {
  it("reads keys, the four roles and consistent_snapshot", async () => {
    const repo = await buildRepo({ releases: null });
    const root = parseRoot(clone(repo.signed.root));
    expect(root.version).toBe(1);
    expect(root.keys.size).toBe(4);
    expect(root.roles.targets).toEqual({ keyids: [repo.keys.targets[0]!.id], threshold: 1 });
    expect(root.consistentSnapshot).toBe(false);
    expect(root.expires.toISOString()).toBe("2036-03-01T12:00:00.123Z");
  });

  it.each<[string, (s: Record<string, any>) => void, string]>([
    ["wrong _type", (s) => (s._type = "root"), "WRONG_TYPE"],
    ["missing _type", (s) => delete s._type, "WRONG_TYPE"],
    ["version 0", (s) => (s.version = 0), "MALFORMED"],
    ["fractional version", (s) => (s.version = 1.5), "MALFORMED"],
    ["version beyond 2^53", (s) => (s.version = 2 ** 53), "MALFORMED"],
    ["bad expires", (s) => (s.expires = "tomorrow"), "MALFORMED"],
    ["missing snapshot role", (s) => delete s.roles.snapshot, "MALFORMED"],
    ["null timestamp role", (s) => (s.roles.timestamp = null), "MALFORMED"],
    ["threshold 0", (s) => (s.roles.root.threshold = 0), "MALFORMED"],
    ["a key ID without a key", (s) => s.roles.targets.keyids.push("ff".repeat(32)), "MALFORMED"],
    ["a bad key", (s) => (Object.values(s.keys)[0] as any).keyval.public = "%%", "MALFORMED"],
    ["non-boolean consistent_snapshot", (s) => (s.consistent_snapshot = "no"), "MALFORMED"],
    ["an ambiguous Version field", (s) => (s.Version = 9), "MALFORMED"],
  ])("refuses %s", async (_label, mutate, expected) => {
    const repo = await buildRepo({ releases: null });
    const signed = clone(repo.signed.root) as Record<string, any>;
    mutate(signed);
    expect(code(() => parseRoot(signed))).toBe(expected);
  });
});

describe("parseTargets", () => {
  it("reads targets and delegations; a missing paths list allows nothing", async () => {
    const repo = await buildRepo();
    const signed = clone(repo.signed.targets) as Record<string, any>;
    delete signed.delegations.roles[1].paths;
    const t = parseTargets(signed, "targets");
    expect([...t.targets.keys()].sort()).toEqual(["1.0", "latest"]);
    expect(t.targets.get("latest")!.hashes.sha256).toHaveLength(32);
    expect(t.delegations.roles.map((r) => [r.name, r.paths])).toEqual([["targets/releases", [""]], ["targets/alice", []]]);
    expect(t.delegations.keys.size).toBe(1);
  });

  it("accepts a file without delegations and a delegation file", async () => {
    const repo = await buildRepo();
    const signed = clone(repo.signed.targets);
    delete signed.delegations;
    expect(parseTargets(signed, "targets").delegations.roles).toEqual([]);
    expect(parseTargets(clone(repo.signed["targets/releases"]), "targets/releases").targets.size).toBe(2);
  });

  it.each([
    "targets/Alice",
    "targets/",
    "targets//a",
    "targets/a/../b",
    "targets/./a",
    "releases",
    "targets",
    `targets/${"a".repeat(248)}`,
    "targets/a b",
  ])("refuses the delegation name %j", async (name) => {
    const repo = await buildRepo();
    const signed = clone(repo.signed.targets) as Record<string, any>;
    signed.delegations.roles[0].name = name;
    expect(code(() => parseTargets(signed, "targets"))).toBe("MALFORMED");
  });

  it.each<[string, (s: Record<string, any>) => void, string]>([
    ["type Root", (s) => (s._type = "Root"), "WRONG_TYPE"],
    ["a delegation key ID without a key", (s) => s.delegations.roles[0].keyids.push("00".repeat(32)), "MALFORMED"],
    ["delegation threshold 0", (s) => (s.delegations.roles[0].threshold = 0), "MALFORMED"],
    ["paths not strings", (s) => (s.delegations.roles[0].paths = [1]), "MALFORMED"],
    ["a short sha256", (s) => (s.targets.latest.hashes.sha256 = "QUJD"), "MALFORMED"],
    ["a negative length", (s) => (s.targets.latest.length = -1), "MALFORMED"],
    ["a missing length", (s) => delete s.targets.latest.length, "MALFORMED"],
  ])("refuses %s", async (_label, mutate, expected) => {
    const repo = await buildRepo();
    const signed = clone(repo.signed.targets) as Record<string, any>;
    mutate(signed);
    expect(code(() => parseTargets(signed, "targets"))).toBe(expected);
  });

  it("refuses a role name that is not a targets role", async () => {
    const repo = await buildRepo();
    expect(code(() => parseTargets(clone(repo.signed.targets), "snapshot"))).toBe("MALFORMED");
  });
});

describe("parseSnapshot and parseTimestamp", () => {
  it("read meta", async () => {
    const repo = await buildRepo({ sha512: true });
    const snap = parseSnapshot(clone(repo.signed.snapshot));
    expect([...snap.meta.keys()].sort()).toEqual(["root", "targets", "targets/alice", "targets/releases"]);
    expect(snap.meta.get("root")!.hashes.sha512).toHaveLength(64);
    const ts = parseTimestamp(clone(repo.signed.timestamp));
    expect(ts.snapshot.length).toBe(repo.bytes.snapshot.length);
  });

  it("require root and targets in the snapshot and snapshot in the timestamp, with sha256", async () => {
    const repo = await buildRepo();
    for (const role of ["root", "targets"]) {
      const s = clone(repo.signed.snapshot) as Record<string, any>;
      delete s.meta[role].hashes.sha256;
      s.meta[role].hashes.md5 = "QUJD";
      expect(code(() => parseSnapshot(s))).toBe("MALFORMED");
    }
    const t = clone(repo.signed.timestamp) as Record<string, any>;
    delete t.meta.snapshot;
    expect(code(() => parseTimestamp(t))).toBe("MALFORMED");
    const wrongType = clone(repo.signed.timestamp) as Record<string, any>;
    wrongType._type = "Snapshot";
    expect(code(() => parseTimestamp(wrongType))).toBe("WRONG_TYPE");
  });
});

describe("parseExpires", () => {
  it.each([
    ["2026-03-01T12:00:00Z", "2026-03-01T12:00:00.000Z"],
    ["2026-03-01T12:00:00.123456789Z", "2026-03-01T12:00:00.123Z"],
    ["2026-03-01T12:00:00.5Z", "2026-03-01T12:00:00.500Z"],
    ["2116-07-01T16:31:40.497193534-05:00", "2116-07-01T21:31:40.497Z"],
    ["2026-03-01T00:30:00+01:00", "2026-02-28T23:30:00.000Z"],
    ["2026-03-01t12:00:00z", "2026-03-01T12:00:00.000Z"],
    ["2024-02-29T00:00:00Z", "2024-02-29T00:00:00.000Z"],
  ])("parses %s", (text, iso) => {
    expect(parseExpires(text)?.toISOString()).toBe(iso);
  });

  it.each([
    "2026-03-01",
    "2026-03-01T12:00:00",
    "2026-03-01 12:00:00Z",
    "2026-03-01T12:00:00.1234567890Z",
    "2026-13-01T12:00:00Z",
    "2023-02-29T00:00:00Z",
    "2026-03-01T24:00:00Z",
    "2026-03-01T12:00:60Z",
    "2026-03-01T12:00:00+1:00",
    "2026-03-01T12:00:00.Z",
  ])("refuses %s", (text) => {
    expect(parseExpires(text)).toBeUndefined();
  });
});

describe("delegation names", () => {
  it("follow notary's rules", () => {
    expect(isDelegationName("targets/releases")).toBe(true);
    expect(isDelegationName("targets/team-a/alice_2")).toBe(true);
    expect(isDelegationName("targets")).toBe(false);
    expect(isDelegationName("targets/a/")).toBe(false);
    expect(parentRole("targets/releases")).toBe("targets");
    expect(parentRole("targets/a/b")).toBe("targets/a");
  });
});
