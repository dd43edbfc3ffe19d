// Sigstore's real public-good TUF repository (test/vectors/sigstore-tuf, SOURCE.md): the embedded
// root carries its own threshold, root 14 rotates to 15, and a whole update from root 14 reaches
// the published trusted_root.json, offline.
import { describe, expect, it } from "vitest";
import root14 from "../../vectors/sigstore-tuf/14.root.json?raw";
import root15 from "../../vectors/sigstore-tuf/15.root.json?raw";
import timestamp from "../../vectors/sigstore-tuf/timestamp.json?raw";
import snapshot from "../../vectors/sigstore-tuf/165.snapshot.json?raw";
import targets from "../../vectors/sigstore-tuf/14.targets.json?raw";
import trustedRoot from "../../vectors/sigstore-tuf/trusted_root.json?raw";
import { EMBEDDED_SIGSTORE_ROOT_JSON, EMBEDDED_SIGSTORE_ROOT_VERSION } from "../../../src/requirements/sigstore-root-embedded";
import { TrustedSet, TufError, updateTuf, type TufFetcher } from "../../../src/verify/tuf";

const bytes = (s: string) => new TextEncoder().encode(s);
// Before timestamp.json's expiry (2026-08-28T19:25:56Z).
const DURING = new Date("2026-08-22T00:00:00Z");

function repository(files: Record<string, string>): TufFetcher & { asked: string[] } {
  const asked: string[] = [];
  const serve = async (name: string) => {
    asked.push(name);
    return name in files ? bytes(files[name]!) : null;
  };
  return { asked, metadata: serve, target: serve };
}

const REAL = {
  "15.root.json": root15,
  "timestamp.json": timestamp,
  "165.snapshot.json": snapshot,
  "14.targets.json": targets,
  "6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66.trusted_root.json": trustedRoot,
};

describe("Sigstore's public-good TUF repository", () => {
  it("embeds root.json version 15 byte for byte, and it carries its own threshold (3 of 5)", async () => {
    expect(EMBEDDED_SIGSTORE_ROOT_JSON).toBe(root15);
    const set = await TrustedSet.fromRoot(bytes(EMBEDDED_SIGSTORE_ROOT_JSON), DURING);
    expect(set.root.version).toBe(EMBEDDED_SIGSTORE_ROOT_VERSION);
    expect(set.root.roles.root.threshold).toBe(3);
    expect(set.root.consistentSnapshot).toBe(true);
  });

  it("refuses the embedded root with one byte of its signed part changed", async () => {
    const tampered = EMBEDDED_SIGSTORE_ROOT_JSON.replace('"threshold": 3', '"threshold": 1');
    expect(tampered).not.toBe(EMBEDDED_SIGSTORE_ROOT_JSON);
    await expect(TrustedSet.fromRoot(bytes(tampered), DURING)).rejects.toMatchObject({ code: "THRESHOLD_NOT_MET" });
  });

  it("updates from root 14 through the rotation to 15 and reaches the published trusted_root.json", async () => {
    const repo = repository(REAL);
    const update = await updateTuf({ trustedRoot: bytes(root14), fetcher: repo, now: DURING, target: "trusted_root.json" });
    expect(update.rootVersion).toBe(15);
    expect(update.timestampVersion).toBe(762);
    expect(new TextDecoder().decode(update.files.target)).toBe(trustedRoot);
    expect(repo.asked).toEqual([
      "15.root.json",
      "16.root.json",
      "timestamp.json",
      "165.snapshot.json",
      "14.targets.json",
      "6494e21ea73fa7ee769f85f57d5a3e6a08725eae1e38c755fc3517c9e6bc0b66.trusted_root.json",
    ]);
    // The earliest expiry is the timestamp's.
    expect(update.expires).toBe(Date.parse("2026-08-28T19:25:56Z"));
  });

  it("refuses the real timestamp once it has expired", async () => {
    const err = await updateTuf({ trustedRoot: bytes(root15), fetcher: repository(REAL), now: new Date("2026-09-01T00:00:00Z"), target: "trusted_root.json" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TufError);
    expect(err).toMatchObject({ code: "EXPIRED", message: "timestamp.json version 762 expired at 2026-08-28T19:25:56Z" });
  });
});
