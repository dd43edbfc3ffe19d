// Connaisseur's own trust data (test/vectors/connaisseur): a pinned root key anchors the root, whatever
// its certificate looks like, as Connaisseur decides; trust on first use keeps notary's certificate rules.
import { describe, expect, it } from "vitest";
import { decide, type DecideDeps } from "../../../src/decide";
import { createRequirementKinds } from "../../../src/policy/requirement-kinds";
import type { Cache } from "../../../src/ports";
import { parseReference } from "../../../src/reference";
import { notaryKind } from "../../../src/requirements/notary";
import { importPinnedKey } from "../../../src/verify/notary-v1/keys";
import { TrustedSet } from "../../../src/verify/notary-v1/trusted-set";
import rootPub from "../../vectors/connaisseur/never-expire-image/root.pub?raw";
import rootJson from "../../vectors/connaisseur/never-expire-image/root.json?raw";
import snapshotJson from "../../vectors/connaisseur/never-expire-image/snapshot.json?raw";
import targetsJson from "../../vectors/connaisseur/never-expire-image/targets.json?raw";
import timestampJson from "../../vectors/connaisseur/never-expire-image/timestamp.json?raw";

const SERVER = "http://127.0.0.1:4443";
const IMAGE = "127.0.0.1:5000/securesystemsengineering/never-expire-image";
const ROOT_KEY_ID = "52e8085cd75be93c5062130e08663a83a20f2eb9baf31f28eef4735e50f3a407";
const DIGESTS: Record<string, string> = {
  sign: "sha256:a154797b8300165956ee1f16d98f3a1426301c1168f0462c73ce9bc03361cabf",
  v1: "sha256:799c0fa8aa4c9fbff5a99aef1b4b5c3abb9c2f34134345005982fad3489893c7",
};
/**
 * The files are stored indented; Connaisseur's NotaryMock (test/testhelper/mock_server.go) serves
 * them re-marshalled by Go, which drops the whitespace between tokens: the bytes the listed hashes cover.
 */
function compact(text: string): string {
  let out = "";
  let inString = false;
  let escaped = false;
  for (const ch of text) {
    if (inString) {
      out += ch;
      if (escaped) escaped = false;
      else if (ch === "\\") escaped = true;
      else if (ch === '"') inString = false;
    } else if (!" \t\r\n".includes(ch)) {
      if (ch === '"') inString = true;
      out += ch;
    }
  }
  return out;
}

const FILES: Record<string, string> = Object.fromEntries(
  Object.entries({ "root.json": rootJson, "snapshot.json": snapshotJson, "targets.json": targetsJson, "timestamp.json": timestampJson }).map(([k, v]) => [k, compact(v)]),
);

function memoryCache(): Cache {
  const store = new Map<string, string>();
  return { get: async (k) => store.get(k) ?? null, put: async (k, v) => void store.set(k, v) };
}

function deps(tag: string): DecideDeps {
  const clock = { now: () => new Date("2026-12-01T00:00:00Z") };
  const trustCache = memoryCache();
  return {
    kinds: createRequirementKinds([notaryKind]),
    digests: { resolve: async () => ({ ok: true as const, digest: DIGESTS[tag]!, cached: false }) },
    verdictCache: memoryCache(),
    verdictTtlSeconds: 300,
    clock,
    verifier: {
      fetch: async (req: Request) => {
        const m = /\/_trust\/tuf\/(.+)$/.exec(new URL(req.url).pathname);
        const body = m ? FILES[m[1]!] : undefined;
        return body === undefined ? new Response("not found", { status: 404 }) : new Response(body);
      },
      trustCache,
      clock,
      counter: { count: () => {} },
      settings: { upstreamTimeoutMs: 1000, trustRecheckSeconds: 60, credentials: {} },
    },
  };
}

let revision = 0;
function run(tag: string, requirement: Record<string, unknown>) {
  const image = `${IMAGE}:${tag}`;
  const policy = { mode: "enforce" as const, patternStyle: "native" as const, rules: [{ pattern: "*", require: [{ type: "notary", server: SERVER, ...requirement }] }] };
  return decide({ image, reference: parseReference(image), context: {} }, { id: "p", revision: `r${revision++}`, policy }, deps(tag));
}

describe("Connaisseur's never-expire-image trust data", () => {
  it("allows what Connaisseur allows under its pinned root key, though the root certificate is a CA named securesystems.de", async () => {
    for (const tag of ["sign", "v1"]) {
      const v = await run(tag, { rootKeys: [rootPub] });
      expect(v.reasons, tag).toEqual([expect.objectContaining({ code: "NOTARY_SIGNED" })]);
      expect(v).toMatchObject({ decision: "allow", digest: DIGESTS[tag] });
    }
  });

  it("allows it under the root's pinned key ID too", async () => {
    expect((await run("sign", { rootKeys: [ROOT_KEY_ID] })).decision).toBe("allow");
  });

  it("keeps notary's certificate rules for trust on first use: a CA certificate named for no GUN is no root key", async () => {
    const v = await run("sign", {});
    expect(v.decision).toBe("deny");
    expect(v.reasons[0]).toMatchObject({ code: "NOTARY_ROOT_NOT_TRUSTED" });
  });

  it("still requires the pinned key's signature on root.json", async () => {
    const other = "-----BEGIN PUBLIC KEY-----\nMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEdmneDWlwjjL6B+H/ymEwyku5/gZo1/Htps+fRdKRIzjkQAZwUr+XMxLuke1UXtY1hUIXtXrPaK9VAPZHCoKRrQ==\n-----END PUBLIC KEY-----";
    const v = await run("sign", { rootKeys: [other] });
    expect(v.decision).toBe("deny");
    expect(v.reasons[0]).toMatchObject({ code: "NOTARY_ROOT_NOT_TRUSTED" });
    const tampered = JSON.parse(rootJson) as { signatures: { sig: string }[] };
    tampered.signatures[0]!.sig = tampered.signatures[0]!.sig.replace(/^./, (c) => (c === "A" ? "B" : "A"));
    const anchor = { kind: "public-keys" as const, keys: [await importPinnedKey(rootPub)] };
    const now = new Date("2026-12-01T00:00:00Z");
    await expect(TrustedSet.create(new TextEncoder().encode(FILES["root.json"]), { anchor, now })).resolves.toBeInstanceOf(TrustedSet);
    await expect(TrustedSet.create(new TextEncoder().encode(JSON.stringify(tampered)), { anchor, now })).rejects.toThrow(/root version 1: signatures by pinned keys: 0 of 1/);
  });
});
