// End to end on trust data made by the real notary client and server (test/vectors/notary-v1).
import { describe, expect, it } from "vitest";
import { NotaryV1Error, type NotaryV1ErrorCode } from "../../../src/verify/notary-v1/errors";
import { importPinnedKey } from "../../../src/verify/notary-v1/keys";
import { releasedTarget, roleSignsTarget } from "../../../src/verify/notary-v1/targets-lookup";
import { TrustedSet, type TrustAnchor } from "../../../src/verify/notary-v1/trusted-set";

type RawGlob = (pattern: string, options: { query: "?raw"; import: "default"; eager: true }) => Record<string, string>;
// The cast only informs the type checker; Vite still sees (and expands) import.meta.glob.
const files = (import.meta as ImportMeta & { glob: RawGlob }).glob("../../vectors/notary-v1/**/*.json", { query: "?raw", import: "default", eager: true });

interface PinnedRoot {
  tufKeyId: string;
  publicKeyId: string;
  certificatePem: string;
  publicKeyPem: string;
}

interface Case {
  name: string;
  gun: string;
  now: string;
  expiredNow: string;
  pinnedRoot: PinnedRoot;
  rotatedToRoot?: PinnedRoot;
  signers?: Record<string, { publicKeyPem?: string }>;
  delegations?: Record<string, { published?: boolean }>;
  tags: Record<string, { digest: string }>;
  expected: {
    verifies: boolean;
    dockerPull: Record<string, string | null>;
    requireSigners?: Record<string, Record<string, string | null>>;
  };
  files: Record<string, { file?: string | null; version?: number | null }>;
}

const PREFIX = "../../vectors/notary-v1/";
const utf8 = (s: string) => new TextEncoder().encode(s);
const cases = Object.keys(files)
  .filter((p) => p.endsWith("/case.json"))
  .map((p) => JSON.parse(files[p]!) as Case)
  .sort((a, b) => a.name.localeCompare(b.name));

function file(c: Case, path: string): Uint8Array {
  const text = files[`${PREFIX}${c.name}/${path}`];
  if (text === undefined) throw new Error(`vector ${c.name} has no ${path}`);
  return utf8(text);
}

/** The root files in version order: 1.root.json, 2.root.json, ... */
function rootChain(c: Case): Uint8Array[] {
  const chain: Uint8Array[] = [];
  for (let v = 1; files[`${PREFIX}${c.name}/${v}.root.json`] !== undefined; v++) chain.push(file(c, `${v}.root.json`));
  return chain;
}

function publishedDelegations(c: Case): string[] {
  return Object.entries(c.delegations ?? {})
    .filter(([, d]) => d.published !== false)
    .map(([name]) => name);
}

async function loadRest(c: Case, set: TrustedSet, bytes: (path: string) => Uint8Array = (p) => file(c, p)): Promise<TrustedSet> {
  await set.updateTimestamp(bytes("timestamp.json"));
  await set.updateSnapshot(bytes("snapshot.json"));
  await set.updateTargets(bytes("targets.json"));
  for (const name of publishedDelegations(c)) await set.updateDelegation(name, bytes(`${name}.json`));
  return set;
}

async function fromRoot(c: Case, anchor: TrustAnchor, options: { now?: string; previous?: Record<string, number> } = {}): Promise<TrustedSet> {
  const set = await TrustedSet.create(file(c, "root.json"), { anchor, gun: c.gun, now: new Date(options.now ?? c.now), ...(options.previous ? { previous: options.previous } : {}) });
  return loadRest(c, set);
}

async function code(p: Promise<unknown>): Promise<NotaryV1ErrorCode | undefined> {
  try {
    await p;
  } catch (e) {
    if (e instanceof NotaryV1Error) return e.code;
    throw e;
  }
  return undefined;
}

function flipLastSignatureByte(bytes: Uint8Array): Uint8Array {
  const doc = JSON.parse(new TextDecoder().decode(bytes)) as { signatures: { sig: string }[] };
  const sig = doc.signatures[0]!;
  const raw = atob(sig.sig);
  sig.sig = btoa(raw.slice(0, -1) + String.fromCharCode(raw.charCodeAt(raw.length - 1) ^ 1));
  return utf8(JSON.stringify(doc));
}

describe("real notary vectors", () => {
  it("are present", () => {
    expect(cases.length).toBeGreaterThan(0);
  });

  describe.each(cases.map((c) => [c.name, c] as const))("%s", (_name, c) => {
    const newestPin = c.rotatedToRoot ?? c.pinnedRoot;

    it("verifies from root.json with the root key pinned (PEM SPKI, certificate, key IDs)", async () => {
      const anchors: TrustAnchor[] = [
        { kind: "public-keys", keys: [await importPinnedKey(newestPin.publicKeyPem)] },
        { kind: "public-keys", keys: [await importPinnedKey(newestPin.certificatePem)] },
        { kind: "key-ids", keyIds: [newestPin.tufKeyId] },
        { kind: "key-ids", keyIds: [newestPin.publicKeyId] },
        { kind: "tofu" },
      ];
      for (const anchor of anchors) {
        const set = await fromRoot(c, anchor);
        expect(set.root.version, anchor.kind).toBe(c.files.root!.version);
      }
    });

    it("verifies by walking every root version from 1.root.json, pinned to the first root key", async () => {
      const [first, ...rest] = rootChain(c);
      const set = await TrustedSet.create(first!, { anchor: { kind: "public-keys", keys: [await importPinnedKey(c.pinnedRoot.publicKeyPem)] }, gun: c.gun, now: new Date(c.now) });
      for (const next of rest) await set.updateRoot(next);
      expect(set.rootBytes).toEqual(file(c, "root.json"));
      await loadRest(c, set);
      expect(set.versions()).toMatchObject({ timestamp: c.files.timestamp!.version, snapshot: c.files.snapshot!.version, targets: c.files.targets!.version });
    });

    it("resolves tags as docker would, and signer requirements", async () => {
      const set = await fromRoot(c, { kind: "public-keys", keys: [await importPinnedKey(newestPin.publicKeyPem)] });
      for (const [tag, digest] of Object.entries(c.expected.dockerPull)) {
        expect(releasedTarget(set, tag)?.digest ?? null, tag).toBe(digest);
      }
      for (const [signer, byTag] of Object.entries(c.expected.requireSigners ?? {})) {
        for (const [tag, digest] of Object.entries(byTag)) {
          const result = roleSignsTarget(set, `targets/${signer}`, tag, c.tags[tag]!.digest);
          expect(result.ok ? c.tags[tag]!.digest : null, `${signer} ${tag}`).toBe(digest);
        }
      }
    });

    it("fails as EXPIRED once the timestamp has expired", async () => {
      expect(await code(fromRoot(c, { kind: "tofu" }, { now: c.expiredNow }))).toBe("EXPIRED");
    });

    it("fails on a wrong pin, tampered bytes and rolled-back versions", async () => {
      const stranger = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
      const spki = new Uint8Array((await crypto.subtle.exportKey("spki", stranger.publicKey)) as ArrayBuffer);
      const pem = `-----BEGIN PUBLIC KEY-----\n${btoa(String.fromCharCode(...spki))}\n-----END PUBLIC KEY-----\n`;
      expect(await code(fromRoot(c, { kind: "public-keys", keys: [await importPinnedKey(pem)] }))).toBe("ROOT_NOT_TRUSTED");
      const tofu = (root = file(c, "root.json")) => TrustedSet.create(root, { anchor: { kind: "tofu" }, gun: c.gun, now: new Date(c.now) });
      expect(await code(tofu(flipLastSignatureByte(file(c, "root.json"))))).toBe("BAD_SIGNATURE");
      const tampered = (target: string) => (p: string) => (p === target ? flipLastSignatureByte(file(c, p)) : file(c, p));
      expect(await code(tofu().then((s) => loadRest(c, s, tampered("timestamp.json"))))).toBe("BAD_SIGNATURE");
      expect(await code(tofu().then((s) => loadRest(c, s, tampered("snapshot.json"))))).toBe("HASH_MISMATCH");
      expect(await code(tofu().then((s) => loadRest(c, s, tampered("targets.json"))))).toBe("HASH_MISMATCH");
      expect(await code(fromRoot(c, { kind: "tofu" }, { previous: { snapshot: c.files.snapshot!.version! + 1 } }))).toBe("ROLLBACK");
      expect(await code(fromRoot(c, { kind: "tofu" }, { previous: { root: c.files.root!.version! + 1 } }))).toBe("ROLLBACK");
    });

    it("refuses the root for another GUN", async () => {
      expect(await code(TrustedSet.create(file(c, "root.json"), { anchor: { kind: "tofu" }, gun: `${c.gun}-other`, now: new Date(c.now) }))).toBe("ROOT_NOT_TRUSTED");
    });
  });
});
