// Where signatures come from: registries.d scope resolution, the lookaside layout, the registry's
// signature extension, bounds, and which failures are transient.
import { describe, expect, it } from "vitest";
import { DEFAULT_EGRESS_POLICY, egressFetch } from "../../../src/adapters/egress";
import { UpstreamError } from "../../../src/adapters/http-client";
import {
  lookasideBaseFor,
  lookasideScopes,
  lookasideSignatureUrl,
  MAX_SIGNATURE_BYTES,
  MAX_SIGNATURES,
  SignatureStore,
  simpleSigningFromBlob,
} from "../../../src/adapters/signature-store";
import { parseReference } from "../../../src/reference";
import { signature, vectors } from "./vectors";
import { LOOKASIDE, world } from "./world";

const H = "a".repeat(64);
const D = `sha256:${H}`;
const REG = "127.0.0.1:5000";
const IMAGE = parseReference(`${REG}/demo/app:v1`);

function store(w: ReturnType<typeof world>, counted: string[] = []) {
  return new SignatureStore({ fetch: w.fetch, timeoutMs: 500, counter: { count: (kind, detail) => void counted.push(`${kind} ${detail}`) } });
}

async function failure(p: Promise<unknown>): Promise<{ code: string; transient: boolean; message: string }> {
  try {
    await p;
  } catch (err) {
    if (err instanceof UpstreamError) return { code: err.code, transient: err.transient, message: err.message };
    throw err;
  }
  throw new Error("expected a failure");
}

describe("registries.d scopes", () => {
  it("searches the image, its repository, each parent namespace, the host, then *.domain wildcards", () => {
    expect(lookasideScopes(parseReference("busybox"))).toEqual([
      "docker.io/library/busybox:latest",
      "docker.io/library/busybox",
      "docker.io/library",
      "docker.io",
      "*.io",
    ]);
    expect(lookasideScopes(parseReference(`registry.example.com:5000/ns/team/app@${D}`))).toEqual([
      `registry.example.com:5000/ns/team/app@${D}`,
      "registry.example.com:5000/ns/team/app",
      "registry.example.com:5000/ns/team",
      "registry.example.com:5000/ns",
      "registry.example.com:5000",
      "*.example.com",
      "*.com",
    ]);
    expect(lookasideScopes(parseReference("localhost:5000/app:1"))).toEqual(["localhost:5000/app:1", "localhost:5000/app", "localhost:5000"]);
  });

  const scopes = {
    default: "https://default.example/sigs",
    scopes: {
      "docker.io": "https://hub.example/sigs",
      "docker.io/library/busybox": "https://busybox.example/sigs",
      "docker.io/library/busybox:1.36": "https://tag.example/sigs",
      busybox: "https://never.example/short-name",
      "quay.io/team": "https://team.example/sigs",
      "*.example.com": "https://wild.example/sigs",
      "registry.example.com:5000": "https://port.example/sigs",
    },
  };
  const table: [string, string | undefined][] = [
    ["busybox:1.36", "https://tag.example/sigs"],
    ["busybox", "https://busybox.example/sigs"],
    ["docker.io/library/busybox:latest", "https://busybox.example/sigs"],
    ["alpine", "https://hub.example/sigs"],
    ["quay.io/team/app:1", "https://team.example/sigs"],
    ["quay.io/teammate/app:1", "https://default.example/sigs"],
    ["quay.io/app:1", "https://default.example/sigs"],
    ["r.example.com/app:1", "https://wild.example/sigs"],
    ["a.b.example.com/app:1", "https://wild.example/sigs"],
    ["registry.example.com:5000/app:1", "https://port.example/sigs"],
    ["registry.example.com:5001/app:1", "https://wild.example/sigs"],
  ];
  for (const [image, base] of table) {
    it(`${image} → ${base}`, () => expect(lookasideBaseFor(scopes, parseReference(image))?.base).toBe(base));
  }

  it("needs docker.io spelled out; one URL is the default; no setting is no lookaside", () => {
    expect(lookasideBaseFor({ scopes: { busybox: "https://x.example" } }, parseReference("busybox"))).toBeUndefined();
    expect(lookasideBaseFor("https://one.example/s", parseReference("busybox"))).toEqual({ base: "https://one.example/s", scope: "default" });
    expect(lookasideBaseFor(undefined, parseReference("busybox"))).toBeUndefined();
    expect(lookasideBaseFor({ scopes: { "docker.io": "https://hub.example" } }, parseReference("busybox"))).toEqual({ base: "https://hub.example", scope: "docker.io" });
    expect(lookasideBaseFor({ scopes: { constructor: "https://proto.example" } }, parseReference("busybox"))).toBeUndefined();
  });

  it("lays signatures out as <base>/<repository path>@sha256=<hex>/signature-<n>", () => {
    expect(lookasideSignatureUrl("https://sigs.example/store", parseReference("busybox"), D, 1)).toBe(`https://sigs.example/store/library/busybox@sha256=${H}/signature-1`);
    expect(lookasideSignatureUrl("https://sigs.example", parseReference(`quay.io/a/b/c@${D}`), D, 12)).toBe(`https://sigs.example/a/b/c@sha256=${H}/signature-12`);
    // As Go appends to url.Path: a trailing slash in the base stays.
    expect(lookasideSignatureUrl("https://sigs.example/store/", parseReference("busybox"), D, 1)).toBe(`https://sigs.example/store//library/busybox@sha256=${H}/signature-1`);
  });
});

describe("lookaside blobs (signature.FromBlob)", () => {
  it("recognises OpenPGP messages by their first byte, and the newer tagged formats", () => {
    expect(simpleSigningFromBlob(signature("rsa")).bytes).toEqual(signature("rsa"));
    expect(simpleSigningFromBlob(signature("corrupt-signature")).bytes).toBeDefined(); // 0x90: one-pass signature
    expect(simpleSigningFromBlob(signature("detached")).bytes).toBeDefined(); // 0x89: signature packet
    const tagged = new Uint8Array([0, ...new TextEncoder().encode("simple-signing\n"), ...signature("rsa")]);
    expect(simpleSigningFromBlob(tagged).bytes).toEqual(signature("rsa"));
    expect(simpleSigningFromBlob(new Uint8Array([0, ...new TextEncoder().encode('sigstore-json\n{"x":1}')]))).toEqual({});
    expect(simpleSigningFromBlob(new Uint8Array()).problem).toBe("empty signature blob");
    expect(simpleSigningFromBlob(signature("cleartext")).problem).toBe("unrecognized signature format, starting with binary 0x2d");
    expect(simpleSigningFromBlob(new TextEncoder().encode("<html>")).problem).toBe("unrecognized signature format, starting with binary 0x3c");
    expect(simpleSigningFromBlob(signature("unsigned-literal")).bytes).toBeDefined(); // compressed: refused later, by the verifier
    expect(simpleSigningFromBlob(new Uint8Array([0, 0x41])).problem).toBe("invalid signature format, missing newline");
    expect(simpleSigningFromBlob(new Uint8Array([0, 0x01, 0x0a])).problem).toBe("invalid signature format, non-ASCII byte 0x1");
    expect(simpleSigningFromBlob(new Uint8Array([0, ...new TextEncoder().encode("cosign\n")])).problem).toBe('unrecognized signature format "cosign"');
  });
});

describe("SignatureStore", () => {
  it("reads signature-1, -2, ... until a 404, without credentials, 1–2 with the ping, then 3–6, 7–14, ...", async () => {
    const w = world(REG);
    w.lookaside("demo/app", D, [signature("rsa"), signature("ed25519")]);
    const counted: string[] = [];
    const got = await store(w, counted).signatures(IMAGE, D, LOOKASIDE);
    expect(got).toMatchObject({ source: "lookaside", lookaside: { base: LOOKASIDE, scope: "default" }, skipped: 0 });
    expect(got.signatures.map((s) => s.index)).toEqual([1, 2]);
    expect(got.signatures[1]!.bytes).toEqual(signature("ed25519"));
    // One round trip for the ping and signature-1 and -2; signature-3 is read with 4 to 6.
    expect(w.requests).toEqual([
      `GET ${LOOKASIDE}/demo/app@sha256=${H}/signature-1`,
      `GET ${LOOKASIDE}/demo/app@sha256=${H}/signature-2`,
      `GET http://${REG}/v2/`,
      ...[3, 4, 5, 6].map((n) => `GET ${LOOKASIDE}/demo/app@sha256=${H}/signature-${n}`),
    ]);
    expect(counted).toHaveLength(7);
    expect(counted.every((c) => c.startsWith("fetch GET "))).toBe(true);
  });

  it("404 on signature-1 is no signatures; no lookaside and no extension is none either", async () => {
    const w = world(REG);
    expect(await store(w).signatures(IMAGE, D, LOOKASIDE)).toMatchObject({ source: "lookaside", signatures: [] });
    expect(await store(w).signatures(IMAGE, D, undefined)).toEqual({ source: "none", signatures: [], skipped: 0 });
  });

  it("skips sigstore-json blobs, as containers/image's Signatures() keeps only simple signing", async () => {
    const w = world(REG);
    w.lookaside("demo/app", D, [new Uint8Array([0, ...new TextEncoder().encode("sigstore-json\n{}")]), signature("rsa")]);
    const got = await store(w).signatures(IMAGE, D, LOOKASIDE);
    expect(got.skipped).toBe(1);
    expect(got.signatures.map((s) => s.index)).toEqual([2]);
  });

  it("uses the registry's extension when GET /v2/ says X-Registry-Supports-Signatures: 1, and then only it", async () => {
    const w = world(REG);
    w.lookaside("demo/app", D, [signature("ed25519")]);
    w.serveExtension("demo/app", D, [signature("rsa")]);
    // An entry of another type or schema version is not a simple signature.
    (w.extension.get(`demo/app@${D}`) as { signatures: unknown[] }).signatures.push({ schemaVersion: 2, type: "cosign", content: "AAAA" }, { schemaVersion: 1, type: "atomic", content: "AAAA" });
    const got = await store(w).signatures(IMAGE, D, LOOKASIDE);
    expect(got.source).toBe("extension");
    expect(got.signatures.map((s) => s.bytes)).toEqual([signature("rsa")]);
    // The lookaside's signature-1 and -2 went out with the ping, and were dropped unread.
    expect(w.requests.filter((r) => r.includes(REG))).toEqual([`GET http://${REG}/v2/`, `GET http://${REG}/extensions/v2/demo/app/signatures/${D}`]);
  });

  it("treats an extension that fails as the registry failing", async () => {
    const w = world(REG);
    w.state.xrss = true;
    expect(await failure(store(w).signatures(IMAGE, D, LOOKASIDE))).toMatchObject({ code: "REGISTRY_BAD_RESPONSE", transient: false });
    w.extension.set(`demo/app@${D}`, { signatures: [{ schemaVersion: 2, type: "atomic", content: "not base64!" }] });
    expect(await failure(store(w).signatures(IMAGE, D, LOOKASIDE))).toMatchObject({ code: "REGISTRY_BAD_RESPONSE", message: expect.stringContaining("decoding signature list") });
    w.extension.set(`demo/app@${D}`, { signatures: "nope" });
    expect(await failure(store(w).signatures(IMAGE, D, LOOKASIDE))).toMatchObject({ code: "REGISTRY_BAD_RESPONSE" });
    w.extension.set(`demo/app@${D}`, { signatures: null });
    expect(await store(w).signatures(IMAGE, D, LOOKASIDE)).toMatchObject({ source: "extension", signatures: [] });
  });

  it("a registry that cannot be pinged is the registry's problem (transient when it is down)", async () => {
    const w = world(REG);
    w.state.registryFault = "down";
    expect(await failure(store(w).signatures(IMAGE, D, LOOKASIDE))).toMatchObject({ code: "REGISTRY_UNREACHABLE", transient: true });
    w.state.registryFault = 503;
    expect(await failure(store(w).signatures(IMAGE, D, LOOKASIDE))).toMatchObject({ code: "REGISTRY_UNREACHABLE", transient: true });
    w.state.registryFault = 404;
    expect(await failure(store(w).signatures(IMAGE, D, LOOKASIDE))).toMatchObject({ code: "REGISTRY_BAD_RESPONSE", transient: false });
    w.state.registryFault = null;
    w.state.pingStatus = 200;
    expect((await store(w).signatures(IMAGE, D, LOOKASIDE)).source).toBe("lookaside");
  });

  it("an unreachable lookaside is transient; a refusing one is not", async () => {
    const w = world(REG);
    for (const [fault, transient] of [["down", true], ["timeout", true], [500, true], [429, true], [403, false], [401, false]] as const) {
      w.state.lookasideFault = fault;
      const f = await failure(store(w).signatures(IMAGE, D, LOOKASIDE));
      expect(f, String(fault)).toMatchObject({ code: "SIMPLE_LOOKASIDE_UNREACHABLE", transient });
    }
    w.state.lookasideFault = 500;
    expect((await failure(store(w).signatures(IMAGE, D, LOOKASIDE))).message).toBe(
      `reading signature from ${LOOKASIDE}/demo/app@sha256=${H}/signature-1: received unexpected HTTP status: 500 Internal Server Error`,
    );
  });

  it("retries a lookaside read whose connection failed (a keep-alive connection the server closed) before giving up", async () => {
    const w = world(REG);
    w.lookaside("demo/app", D, [signature("rsa")]);
    // The first attempt at each lookaside URL fails as workerd fails a reused connection the server closed.
    const failed = new Set<string>();
    const flaky = async (req: Request): Promise<Response> => {
      if (req.url.startsWith(LOOKASIDE) && !failed.has(req.url)) {
        failed.add(req.url);
        throw new TypeError("Network connection lost.");
      }
      return w.fetch(req);
    };
    const counted: string[] = [];
    const sigs = new SignatureStore({ fetch: flaky, timeoutMs: 500, counter: { count: (_kind, detail) => void counted.push(detail) }, retry: { sleep: async () => {} } });
    const got = await sigs.signatures(IMAGE, D, LOOKASIDE);
    expect(got.signatures.map((s) => s.index)).toEqual([1]);
    const one = `GET ${LOOKASIDE}/demo/app@sha256=${H}/signature-1`;
    expect(counted.filter((c) => c === one)).toHaveLength(2);

    // A lookaside that stays down is tried three times in all, then a transient deny.
    w.state.lookasideFault = "down";
    counted.length = 0;
    expect(await failure(sigs.signatures(IMAGE, D, LOOKASIDE))).toMatchObject({ code: "SIMPLE_LOOKASIDE_UNREACHABLE", transient: true });
    expect(counted.filter((c) => c === one)).toHaveLength(3);
  });

  it("a lookaside the egress guard refuses is a lasting SIMPLE_LOOKASIDE_UNREACHABLE that says so, before any connection", async () => {
    const w = world(REG);
    const guarded = new SignatureStore({ fetch: egressFetch(w.fetch, DEFAULT_EGRESS_POLICY), timeoutMs: 500 });
    for (const [lookaside, host, why] of [
      ["http://10.0.0.7/sigstore", "10.0.0.7", "it is a private address"],
      ["http://169.254.169.254/latest", "169.254.169.254", "it is a cloud metadata address"],
      ["http://[fd00::7]:8080/sigs", "[fd00::7]:8080", "it is a unique-local address"],
    ] as const) {
      const f = await failure(guarded.signatures(IMAGE, D, lookaside));
      expect(f, lookaside).toMatchObject({ code: "SIMPLE_LOOKASIDE_UNREACHABLE", transient: false });
      expect(f.message.startsWith(`refused to contact ${host}: ${why}`), f.message).toBe(true);
    }
    // Only the (loopback) registry was pinged; no lookaside request left.
    expect(w.requests).toEqual([`GET http://${REG}/v2/`, `GET http://${REG}/v2/`, `GET http://${REG}/v2/`]);
  });

  it("a registry ping the egress guard refuses is a lasting REGISTRY_UNREACHABLE", async () => {
    const w = world("10.0.0.5:5000");
    const guarded = new SignatureStore({ fetch: egressFetch(w.fetch, DEFAULT_EGRESS_POLICY), timeoutMs: 500 });
    const f = await failure(guarded.signatures(parseReference("10.0.0.5:5000/demo/app:v1"), D, LOOKASIDE));
    expect(f).toMatchObject({ code: "REGISTRY_UNREACHABLE", transient: false });
    expect(f.message).toMatch(/^refused to contact 10\.0\.0\.5:5000: it is a private address/);
    // Nothing reached the registry (the lookaside's first reads went out with the ping, unused).
    expect(w.requests.filter((r) => r.includes("10.0.0.5"))).toEqual([]);
  });

  it(`reads ahead no further than signature-${MAX_SIGNATURES + 1}, and drops what was read past the first 404`, async () => {
    const w = world(REG);
    w.lookaside("demo/app", D, Array.from({ length: 40 }, () => signature("rsa")));
    await failure(store(w).signatures(IMAGE, D, LOOKASIDE));
    const read = w.requests.filter((r) => r.includes("/signature-")).map((r) => Number(r.split("/signature-")[1]));
    expect(Math.max(...read)).toBe(MAX_SIGNATURES + 1);
    expect(new Set(read).size).toBe(read.length);
    // One signature: 1 and 2 with the ping, nothing more; the 404 for 2 ends it.
    const one = world(REG);
    one.lookaside("demo/app", D, [signature("rsa")]);
    expect((await store(one).signatures(IMAGE, D, LOOKASIDE)).signatures).toHaveLength(1);
    expect(one.requests).toHaveLength(3);
  });

  it(`bounds the number (${MAX_SIGNATURES}) and size (${MAX_SIGNATURE_BYTES} bytes) of signatures`, async () => {
    const w = world(REG);
    w.lookaside("demo/app", D, Array.from({ length: MAX_SIGNATURES }, () => signature("rsa")));
    expect((await store(w).signatures(IMAGE, D, LOOKASIDE)).signatures).toHaveLength(MAX_SIGNATURES);
    w.lookaside("demo/app", D, Array.from({ length: MAX_SIGNATURES + 1 }, () => signature("rsa")));
    expect(await failure(store(w).signatures(IMAGE, D, LOOKASIDE))).toMatchObject({
      code: "SIMPLE_LOOKASIDE_UNREACHABLE",
      transient: false,
      message: expect.stringContaining(`server provided more than ${MAX_SIGNATURES} signatures, assuming that's unreasonable and a server error`),
    });
    w.lookaside("demo/app", D, [new Uint8Array(MAX_SIGNATURE_BYTES + 1).fill(0xa3)]);
    expect(await failure(store(w).signatures(IMAGE, D, LOOKASIDE))).toMatchObject({ code: "SIMPLE_LOOKASIDE_UNREACHABLE", transient: false });
    w.serveExtension("demo/app", D, Array.from({ length: MAX_SIGNATURES + 1 }, () => signature("rsa")));
    expect(await failure(store(w).signatures(IMAGE, D, LOOKASIDE))).toMatchObject({ code: "REGISTRY_BAD_RESPONSE" });
  });

  it("a blob no tool can read fails the whole image (containers/image does the same)", async () => {
    const w = world(REG);
    w.lookaside("demo/app", D, [signature("rsa"), "<html>not a signature</html>"]);
    expect(await failure(store(w).signatures(IMAGE, D, LOOKASIDE))).toMatchObject({
      code: "SIMPLE_SIGNATURES_REJECTED",
      transient: false,
      message: `parsing signature ${LOOKASIDE}/demo/app@sha256=${H}/signature-2: unrecognized signature format, starting with binary 0x3c`,
    });
  });

  it("reads the vectors' real lookaside layout (skopeo copy --sign-by wrote signature-1 there)", async () => {
    const w = world(vectors.registry);
    w.lookaside(vectors.repository, vectors.digest, [signature("rsa")]);
    const got = await store(w).signatures(parseReference(`${vectors.registry}/${vectors.repository}:v1`), vectors.digest, LOOKASIDE);
    expect(got.signatures[0]!.url).toBe(`${LOOKASIDE}/demo/app@sha256=${vectors.digest.slice(7)}/signature-1`);
  });
});
