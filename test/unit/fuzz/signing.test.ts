// Property-based fuzzing of simple signing (OpenPGP blobs, payloads, keys) and cosign (manifests, bundles, payloads, keys).
import fc from "fast-check";
import { afterEach, describe, expect, it, vi } from "vitest";
import { parseBundle, parseReferrerManifest, parseStatement } from "../../../src/verify/cosign/bundle";
import { CosignKeyError, importCosignKey } from "../../../src/verify/cosign/keys";
import { parseSignatureManifest } from "../../../src/verify/cosign/legacy";
import { parseSimpleSigningPayload } from "../../../src/verify/cosign/payload";
import { parseReference } from "../../../src/reference";
import { SimpleSigningError } from "../../../src/verify/simple-signing/errors";
import { importTrustedKeys } from "../../../src/verify/simple-signing/keys";
import { parseSignaturePayload } from "../../../src/verify/simple-signing/payload";
import { verifySimpleSignature } from "../../../src/verify/simple-signing/verify";
import { watchPipes } from "../simple-signing/watch-pipes";
import { jsonishBytes, mutationOf, mutationOfAny, onlyRejects, onlyThrows, utf8 } from "./mutate";

type RawGlob = (pattern: string, options: { query: "?raw"; import: "default"; eager: true }) => Record<string, string>;
const cosignRegistries = (import.meta as ImportMeta & { glob: RawGlob }).glob("../../vectors/cosign/*/registry.json", { query: "?raw", import: "default", eager: true });
const cosignKeys = (import.meta as ImportMeta & { glob: RawGlob }).glob("../../vectors/cosign/keys/*.pub", { query: "?raw", import: "default", eager: true });
const gpgKeys = (import.meta as ImportMeta & { glob: RawGlob }).glob("../../vectors/simple-signing/keys/*.asc", { query: "?raw", import: "default", eager: true });
const gpgSigs = (import.meta as ImportMeta & { glob: RawGlob }).glob("../../vectors/simple-signing/signatures/*.b64", { query: "?raw", import: "default", eager: true });

const fromB64 = (s: string) => Uint8Array.from(atob(s.trim()), (c) => c.charCodeAt(0));

/** Every base64 blob in the recorded registries that is JSON: manifests, bundles, payloads. */
function jsonBlobs(): unknown[] {
  const out: unknown[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) v.forEach(walk);
    else if (v && typeof v === "object") {
      const o = v as Record<string, unknown>;
      if (typeof o.base64 === "string") {
        try {
          out.push(JSON.parse(new TextDecoder().decode(fromB64(o.base64))));
        } catch {
          /* not JSON */
        }
      }
      Object.values(o).forEach(walk);
    }
  };
  Object.values(cosignRegistries).forEach((t) => walk(JSON.parse(t)));
  return out;
}
const blobs = jsonBlobs();
const cosignInputs = fc.oneof(jsonishBytes, mutationOfAny(blobs.length > 0 ? blobs : [{}]).map((v) => utf8(JSON.stringify(v) ?? "null")));

describe("cosign parsers return a result and never throw", () => {
  const parsers = { parseReferrerManifest, parseBundle, parseStatement, parseSignatureManifest, parseSimpleSigningPayload };
  for (const [name, parse] of Object.entries(parsers)) {
    it(name, () => {
      fc.assert(
        fc.property(cosignInputs, (bytes) => {
          onlyThrows([], bytes, () => parse(bytes));
        }),
        { numRuns: 400 },
      );
    });
  }

  it("importCosignKey: only CosignKeyError", async () => {
    const pems = Object.values(cosignKeys);
    const mutatedPem = fc.tuple(fc.constantFrom(...pems), fc.nat(), fc.string({ maxLength: 4 })).map(([pem, at, s]) => {
      const i = at % pem.length;
      return pem.slice(0, i) + s + pem.slice(i + 1);
    });
    await fc.assert(
      fc.asyncProperty(fc.oneof(mutatedPem, fc.string({ maxLength: 200 })), async (pem) => {
        await onlyRejects([CosignKeyError], pem, () => importCosignKey("k", pem));
      }),
      { numRuns: 300 },
    );
  });
});

describe("simple signing", () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  const payload = {
    critical: {
      type: "atomic container signature",
      image: { "docker-manifest-digest": `sha256:${"a".repeat(64)}` },
      identity: { "docker-reference": "registry.example.com/team/app:v1" },
    },
    optional: { creator: "fuzz", timestamp: 1700000000 },
  };

  it("parseSignaturePayload: only SimpleSigningError", () => {
    fc.assert(
      fc.property(fc.oneof(jsonishBytes, mutationOf(payload).map((v) => utf8(JSON.stringify(v) ?? "null"))), (bytes) => {
        onlyThrows([SimpleSigningError], bytes, () => parseSignaturePayload(bytes));
      }),
      { numRuns: 500 },
    );
  });

  it("importTrustedKeys: only SimpleSigningError", async () => {
    const keys = Object.values(gpgKeys);
    const mutated = fc.tuple(fc.constantFrom(...keys), fc.nat(), fc.string({ maxLength: 3 })).map(([k, at, s]) => {
      const i = 40 + (at % Math.max(1, k.length - 80));
      return k.slice(0, i) + s + k.slice(i + 1);
    });
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(mutated, fc.string({ maxLength: 100 })), { minLength: 1, maxLength: 2 }), async (entries) => {
        await onlyRejects([SimpleSigningError], entries, () => importTrustedKeys(entries));
      }),
      { numRuns: 150 },
    );
  });

  it("verifySimpleSignature: any blob is a verdict, never a throw, and no rejection escapes", async () => {
    const dropped = watchPipes();
    const trusted = await importTrustedKeys(Object.values(gpgKeys).slice(0, 2));
    const sigs = Object.values(gpgSigs).map(fromB64);
    const flipped = fc.tuple(fc.constantFrom(...sigs), fc.nat(), fc.integer({ min: 0, max: 255 })).map(([b, at, v]) => {
      const c = b.slice();
      c[at % c.length] = v;
      return c;
    });
    const truncated = fc.tuple(fc.constantFrom(...sigs), fc.nat()).map(([b, at]) => b.slice(0, at % b.length));
    const image = parseReference("registry.example.com/team/app:v1");
    await fc.assert(
      fc.asyncProperty(fc.oneof(flipped, truncated, fc.uint8Array({ maxLength: 200 })), async (blob) => {
        await onlyRejects([], blob, () => verifySimpleSignature(blob, { trusted, digest: `sha256:${"a".repeat(64)}`, image, now: new Date("2026-11-23T00:00:00Z") }));
      }),
      { numRuns: 200 },
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(dropped.map(String)).toEqual([]);
  });
});
