// Property-based fuzzing of Notary v1 / TUF metadata parsing: bytes in, only NotaryV1Error out.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { NotaryV1Error } from "../../../src/verify/notary-v1/errors";
import { parseEnvelope, parseRoot, parseSnapshot, parseTargets, parseTimestamp } from "../../../src/verify/notary-v1/roles";
import { TrustedSet, type TrustAnchor } from "../../../src/verify/notary-v1/trusted-set";
import { jsonishBytes, mutationOf, onlyRejects, onlyThrows, utf8 } from "./mutate";

type RawGlob = (pattern: string, options: { query: "?raw"; import: "default"; eager: true }) => Record<string, string>;
const files = (import.meta as ImportMeta & { glob: RawGlob }).glob("../../vectors/notary-v1/signed-releases/**/*.json", {
  query: "?raw",
  import: "default",
  eager: true,
});
const DIR = "../../vectors/notary-v1/signed-releases/";
const raw = (name: string): string => {
  const t = files[`${DIR}${name}`];
  if (t === undefined) throw new Error(`no vector ${name}`);
  return t;
};
const testCase = JSON.parse(raw("case.json")) as { gun: string; now: string; pinnedRoot: { tufKeyId: string } };
const now = new Date(testCase.now);
const ROLE_FILES = { root: "root.json", timestamp: "timestamp.json", snapshot: "snapshot.json", targets: "targets.json", "targets/releases": "targets/releases.json" } as const;
const docs = Object.fromEntries(Object.entries(ROLE_FILES).map(([role, f]) => [role, JSON.parse(raw(f))])) as Record<keyof typeof ROLE_FILES, any>;

const anchors: TrustAnchor[] = [{ kind: "tofu" }, { kind: "key-ids", keyIds: [testCase.pinnedRoot.tufKeyId] }];
const only = [NotaryV1Error];

/** Mutations of the whole file (envelope, signatures) or of its `signed` part only (the parsers' input). */
function roleBytes(doc: unknown): fc.Arbitrary<Uint8Array> {
  const d = doc as { signed: unknown; signatures: unknown };
  return fc.oneof(
    mutationOf(doc).map((v) => utf8(JSON.stringify(v) ?? "null")),
    mutationOf(d.signed).map((signed) => utf8(JSON.stringify({ signed, signatures: d.signatures }) ?? "null")),
    jsonishBytes,
  );
}

function parseAll(bytes: Uint8Array, role: string): void {
  const envelope = onlyThrows(only, bytes, () => parseEnvelope(bytes, role));
  if (!envelope) return;
  const parsers: (() => unknown)[] = [
    () => parseRoot(envelope.signed),
    () => parseSnapshot(envelope.signed),
    () => parseTimestamp(envelope.signed),
    () => parseTargets(envelope.signed, role === "root" || role === "snapshot" || role === "timestamp" ? "targets" : role),
  ];
  for (const parse of parsers) {
    onlyThrows(only, bytes, parse);
  }
}

describe("Notary v1 role parsing", () => {
  it("the vectors load as a trusted set", async () => {
    const set = await TrustedSet.create(utf8(raw("root.json")), { anchor: anchors[1]!, now, gun: testCase.gun });
    await set.updateTimestamp(utf8(raw("timestamp.json")));
    await set.updateSnapshot(utf8(raw("snapshot.json")));
    await set.updateTargets(utf8(raw("targets.json")));
    await set.updateDelegation("targets/releases", utf8(raw("targets/releases.json")));
    expect(set.delegationNames).toEqual(["targets/releases"]);
  });

  for (const role of Object.keys(ROLE_FILES) as (keyof typeof ROLE_FILES)[]) {
    it(`${role}: parseEnvelope and every role parser throw only NotaryV1Error`, () => {
      fc.assert(fc.property(roleBytes(docs[role]), (bytes) => parseAll(bytes, role)), { numRuns: 400 });
    });
  }

  it("parseTargets with arbitrary role names throws only NotaryV1Error", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ maxLength: 40 }), fc.constantFrom("targets", "targets/", "targets/a/../b", "targets//x", "targets/" + "a".repeat(300))), (name) => {
        onlyThrows(only, name, () => parseTargets(docs["targets/releases"].signed, name));
      }),
      { numRuns: 200 },
    );
  });
});

describe("TrustedSet on mutated bytes", () => {
  it("create (root): only NotaryV1Error, for every anchor, with and without a GUN", async () => {
    await fc.assert(
      fc.asyncProperty(roleBytes(docs.root), fc.constantFrom(...anchors), fc.boolean(), async (bytes, anchor, withGun) => {
        await onlyRejects(only, bytes, () => TrustedSet.create(bytes, { anchor, now, ...(withGun ? { gun: testCase.gun } : {}) }));
      }),
      { numRuns: 300 },
    );
  });

  it("updateTimestamp, then updateSnapshot/Targets/Delegation on mutated bytes: only NotaryV1Error", async () => {
    const base = await TrustedSet.create(utf8(raw("root.json")), { anchor: { kind: "tofu" }, now });
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom("timestamp", "snapshot", "targets", "targets/releases", "root") as fc.Arbitrary<keyof typeof ROLE_FILES>,
        fc.constantFrom(...(Object.keys(ROLE_FILES) as (keyof typeof ROLE_FILES)[])),
        fc.nat(),
        async (stage, source, seed) => {
          // A fresh set per run, loaded up to the stage under test with the good files.
          const set = await TrustedSet.create(utf8(raw("root.json")), { anchor: { kind: "tofu" }, now });
          void base;
          const order = ["timestamp", "snapshot", "targets", "targets/releases"] as const;
          for (const r of order) {
            if (r === stage) break;
            if (r === "timestamp") await set.updateTimestamp(utf8(raw(ROLE_FILES[r])));
            if (r === "snapshot") await set.updateSnapshot(utf8(raw(ROLE_FILES[r])));
            if (r === "targets") await set.updateTargets(utf8(raw(ROLE_FILES[r])));
          }
          const bytes = fc.sample(roleBytes(docs[source]), { numRuns: 1, seed })[0]!;
          await onlyRejects(only, { stage, text: new TextDecoder().decode(bytes) }, async () => {
            switch (stage) {
              case "root":
                return set.updateRoot(bytes);
              case "timestamp":
                return set.updateTimestamp(bytes);
              case "snapshot":
                return set.updateSnapshot(bytes);
              case "targets":
                return set.updateTargets(bytes);
              case "targets/releases":
                return set.updateDelegation("targets/releases", bytes);
            }
          });
        },
      ),
      { numRuns: 300 },
    );
  });
});
