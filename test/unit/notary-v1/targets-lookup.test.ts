// Which digest a tag means (targets/releases, then targets), digest lookups, and per-signer checks.
import { describe, expect, it } from "vitest";
import { NotaryV1Error } from "../../../src/verify/notary-v1/errors";
import { pathAllowed, releasedTarget, roleSignsTarget, targetsByDigest } from "../../../src/verify/notary-v1/targets-lookup";
import { TrustedSet } from "../../../src/verify/notary-v1/trusted-set";
import { DEFAULT_RELEASES, DEFAULT_TARGETS, GUN, NOW, buildRepo, digestOf, loadRepo } from "./generator";

describe("releasedTarget", () => {
  it("prefers targets/releases over targets, and falls back to targets", async () => {
    const set = await loadRepo(await buildRepo());
    expect(releasedTarget(set, "latest")).toMatchObject({ role: "targets/releases", digest: await digestOf(DEFAULT_RELEASES.latest!) });
    expect(releasedTarget(set, "2.0")).toMatchObject({ role: "targets/releases", digest: await digestOf(DEFAULT_RELEASES["2.0"]!) });
    expect(releasedTarget(set, "1.0")).toMatchObject({ role: "targets", digest: await digestOf(DEFAULT_TARGETS["1.0"]!) });
    expect(releasedTarget(set, "nope")).toBeUndefined();
  });

  it("never releases a tag that only a signer role lists", async () => {
    const set = await loadRepo(await buildRepo({ alice: { "alice-only": '{"a":1}', latest: DEFAULT_RELEASES.latest! } }));
    expect(releasedTarget(set, "alice-only")).toBeUndefined();
    expect(roleSignsTarget(set, "targets/alice", "alice-only", await digestOf('{"a":1}')).ok).toBe(true);
  });

  it("uses targets when there are no delegations", async () => {
    const set = await loadRepo(await buildRepo({ releases: null }));
    expect(releasedTarget(set, "latest")).toMatchObject({ role: "targets", digest: await digestOf(DEFAULT_TARGETS.latest!), length: DEFAULT_TARGETS.latest!.length });
  });

  it("ignores a release outside the delegation's paths", async () => {
    const set = await loadRepo(await buildRepo({ paths: { releases: ["2."] } }));
    expect(releasedTarget(set, "latest")?.role).toBe("targets");
    expect(releasedTarget(set, "2.0")?.role).toBe("targets/releases");
  });

  it("refuses to answer while targets/releases is delegated but not loaded", async () => {
    const repo = await buildRepo();
    const set = await TrustedSet.create(repo.bytes.root, { anchor: { kind: "tofu" }, now: NOW, gun: GUN });
    expect(() => releasedTarget(set, "latest")).toThrow(NotaryV1Error);
    await set.updateTimestamp(repo.bytes.timestamp);
    await set.updateSnapshot(repo.bytes.snapshot);
    await set.updateTargets(repo.bytes.targets);
    expect(() => releasedTarget(set, "latest")).toThrow(/targets\/releases is delegated but not loaded/);
  });

  it("treats a delegated but never published targets/releases as empty", async () => {
    const repo = await buildRepo({ mutate: (role, signed: Record<string, any>) => role === "snapshot" && delete signed.meta["targets/releases"] });
    const set = await TrustedSet.create(repo.bytes.root, { anchor: { kind: "tofu" }, now: NOW, gun: GUN });
    await set.updateTimestamp(repo.bytes.timestamp);
    await set.updateSnapshot(repo.bytes.snapshot);
    await set.updateTargets(repo.bytes.targets);
    expect(releasedTarget(set, "latest")).toMatchObject({ role: "targets", digest: await digestOf(DEFAULT_TARGETS.latest!) });
  });
});

describe("targetsByDigest", () => {
  it("finds every releasing target with that sha256", async () => {
    const shared = '{"same":true}';
    const set = await loadRepo(await buildRepo({ targets: { a: shared, b: "{}" }, releases: { c: shared } }));
    const found = targetsByDigest(set, (await digestOf(shared)).toUpperCase().replace("SHA256:", "sha256:"));
    expect(found.map((m) => `${m.role}:${m.name}`)).toEqual(["targets/releases:c", "targets:a"]);
    expect(targetsByDigest(set, await digestOf("absent"))).toEqual([]);
    expect(targetsByDigest(set, await digestOf(shared), ["targets/alice"]).map((m) => m.name)).toEqual(["c"]);
  });

  it("rejects something that is not a sha256 digest", async () => {
    const set = await loadRepo(await buildRepo());
    expect(() => targetsByDigest(set, "sha512:abc")).toThrow(TypeError);
  });
});

describe("roleSignsTarget", () => {
  it("confirms a signer role holds the same digest for the tag", async () => {
    const set = await loadRepo(await buildRepo());
    const digest = await digestOf(DEFAULT_RELEASES.latest!);
    expect(roleSignsTarget(set, "targets/alice", "latest", digest)).toMatchObject({ ok: true, match: { role: "targets/alice" } });
  });

  it("says why not: another digest, no such tag, role not loaded, outside its paths", async () => {
    const set = await loadRepo(await buildRepo({ paths: { alice: ["1."] } }));
    const other = await digestOf("other");
    expect(roleSignsTarget(set, "targets/releases", "latest", other)).toEqual({
      ok: false,
      why: `targets/releases signs latest as ${await digestOf(DEFAULT_RELEASES.latest!)}, not ${other}`,
    });
    expect(roleSignsTarget(set, "targets/releases", "9.9", other)).toEqual({ ok: false, why: "targets/releases does not sign 9.9" });
    expect(roleSignsTarget(set, "targets/bob", "latest", other)).toEqual({ ok: false, why: "targets/bob is not loaded" });
    expect(roleSignsTarget(set, "targets/alice", "latest", await digestOf(DEFAULT_RELEASES.latest!))).toEqual({
      ok: false,
      why: "targets/alice may not sign latest (outside its paths)",
    });
  });
});

describe("pathAllowed", () => {
  it("matches prefixes; an empty list allows nothing", () => {
    expect(pathAllowed([""], "anything")).toBe(true);
    expect(pathAllowed(["v1", "v2"], "v2.3")).toBe(true);
    expect(pathAllowed(["v1"], "latest")).toBe(false);
    expect(pathAllowed([], "latest")).toBe(false);
  });
});
