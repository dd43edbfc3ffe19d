// loadTrustData's fetch order: everything whose name is known is asked for at once, delegations
// as soon as targets.json arrives, and nothing fetched early is used before it is verified.
import { describe, expect, it } from "vitest";
import { NotaryV1Error } from "../../../src/verify/notary-v1/errors";
import { importPinnedKey } from "../../../src/verify/notary-v1/keys";
import { loadTrustData, type RoleFetcher } from "../../../src/verify/notary-v1/trust-data";

type RawGlob = (pattern: string, options: { query: "?raw"; import: "default"; eager: true }) => Record<string, string>;
const files = (import.meta as ImportMeta & { glob: RawGlob }).glob("../../vectors/notary-v1/alice-signed/**/*.json", {
  query: "?raw",
  import: "default",
  eager: true,
});
const PREFIX = "../../vectors/notary-v1/alice-signed/";
const vector = JSON.parse(files[`${PREFIX}case.json`]!) as {
  gun: string;
  now: string;
  pinnedRoot: { certificatePem: string };
};

/** Serves the vector's files; `hold` keeps one file's answer back until released. */
function vectorFetcher(opts: { hold?: string; replace?: Record<string, string> } = {}) {
  const asked: string[] = [];
  let release!: () => void;
  const held = new Promise<void>((r) => (release = r));
  const fetcher: RoleFetcher = {
    async fetch(file) {
      asked.push(file);
      if (file === opts.hold) await held;
      const text = opts.replace?.[file] ?? files[`${PREFIX}${file}`];
      return text === undefined ? null : new TextEncoder().encode(text);
    },
  };
  return { fetcher, asked, release };
}

async function load(fetcher: RoleFetcher, expectedDelegations?: string[]) {
  return loadTrustData({
    gun: vector.gun,
    fetcher,
    anchor: { kind: "public-keys", keys: [await importPinnedKey(vector.pinnedRoot.certificatePem)] },
    now: new Date(vector.now),
    ...(expectedDelegations ? { expectedDelegations } : {}),
  });
}

describe("loadTrustData", () => {
  it("asks for the delegations while timestamp.json is still on its way", async () => {
    const { fetcher, asked, release } = vectorFetcher({ hold: "timestamp.json" });
    const loading = load(fetcher);
    // Let targets.json arrive and the delegations be asked for; the timestamp is still held.
    for (let i = 0; i < 50 && !asked.includes("targets/alice.json"); i++) await new Promise((r) => setTimeout(r, 1));
    expect(asked).toEqual(expect.arrayContaining(["root.json", "timestamp.json", "snapshot.json", "targets.json", "targets/alice.json", "targets/releases.json"]));
    release();
    const { summary } = await loading;
    expect(Object.keys(summary.roles).sort()).toEqual(["targets", "targets/alice", "targets/releases"]);
    // Each file once: the early answers are the ones used.
    expect(asked.filter((f) => f === "targets/alice.json")).toHaveLength(1);
  });

  it("checks an early-fetched delegation against the verified snapshot like any other", async () => {
    const alice = JSON.parse(files[`${PREFIX}targets/alice.json`]!) as { signed: { targets: Record<string, unknown> } };
    alice.signed.targets = {};
    const { fetcher, asked } = vectorFetcher({ replace: { "targets/alice.json": JSON.stringify(alice) } });
    const err = await load(fetcher).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(NotaryV1Error);
    expect((err as NotaryV1Error).code).toBe("HASH_MISMATCH");
    // The plain file did not match the snapshot's hash, so the checksum-named one was asked for too.
    expect(asked.some((f) => /^targets\/alice\.[0-9a-f]{64}\.json$/.test(f))).toBe(true);
  });

  it("asks for the delegations the caller expects with the first files, before targets.json arrives", async () => {
    const { fetcher, asked, release } = vectorFetcher({ hold: "targets.json" });
    const loading = load(fetcher, ["targets/releases", "targets/alice", "targets/nobody", "targets/a/b"]);
    for (let i = 0; i < 50 && !asked.includes("targets/alice.json"); i++) await new Promise((r) => setTimeout(r, 1));
    expect(asked).toEqual(
      expect.arrayContaining(["root.json", "timestamp.json", "snapshot.json", "targets.json", "targets/releases.json", "targets/alice.json", "targets/nobody.json"]),
    );
    // Only top-level delegations are guessed.
    expect(asked).not.toContain("targets/a/b.json");
    release();
    const { summary } = await loading;
    expect(Object.keys(summary.roles).sort()).toEqual(["targets", "targets/alice", "targets/releases"]);
    expect(summary.roles["targets/alice"]!.targets).not.toEqual({});
    // Each file once: the early answers are the ones used.
    expect(asked.filter((f) => f === "targets/alice.json")).toHaveLength(1);
    expect(asked.filter((f) => f === "targets/releases.json")).toHaveLength(1);
  });

  it("asks again for an expected delegation that was missing then but is listed in the snapshot", async () => {
    const asked: string[] = [];
    const fetcher: RoleFetcher = {
      async fetch(file) {
        asked.push(file);
        // The first answer for targets/alice.json comes from before it was published.
        if (file === "targets/alice.json" && asked.filter((f) => f === file).length === 1) return null;
        const text = files[`${PREFIX}${file}`];
        return text === undefined ? null : new TextEncoder().encode(text);
      },
    };
    const { summary } = await load(fetcher, ["targets/alice"]);
    expect(summary.roles["targets/alice"]!.targets).not.toEqual({});
    expect(asked.filter((f) => f === "targets/alice.json")).toHaveLength(2);
  });
});
