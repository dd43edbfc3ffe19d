// Compressed signed messages whose compressed body is broken (truncated, or garbage): the verdict is a
// refusal, and no promise rejection escapes the verification.
//
// The escape, as it happened: openpgp.js decompresses with `stream.pipeThrough(new DecompressionStream())`.
// When the data is truncated, workerd's pipe calls close() on the DecompressionStream, which fails
// ("Called close() on a decompression stream with incomplete data"); the pipe does not handle that
// rejection, and the runtime reports it as "Uncaught (in promise)" — while openpgp.js still sees the
// error and the verdict is right. The promise is the runtime's own: no `unhandledrejection` event is
// dispatched, and the pipe's own promise (pipeTo) even resolves. So a test cannot hear the escape
// itself; `watchPipes` (./watch-pipes.ts) makes it observable: pipeThrough() is run by hand (read,
// write, close), and a close() that fails — the rejection workerd's pipe drops — is recorded.
import { afterEach, describe, expect, it, vi } from "vitest";
import { importTrustedKeys, SimpleSigningError, verifySignedMessage, verifySimpleSignature } from "../../../src/verify/simple-signing";
import { MAX_DECOMPRESSED_BYTES } from "../../../src/verify/simple-signing/compressed";
import { parseReference } from "../../../src/reference";
import { compressedMessage, payloadFor, signPayload, testSigner } from "./generator";
import { watchPipes } from "./watch-pipes";
import { armoredKey, NOW, signature, vectors } from "./vectors";

afterEach(() => {
  vi.restoreAllMocks();
});

/** Lets the pipes still running finish (driven by stream callbacks, not by the caller). */
const settle = () => new Promise((resolve) => setTimeout(resolve, 50));

async function outcome(blob: Uint8Array, keys: string[], now = NOW): Promise<string> {
  try {
    await verifySignedMessage(blob, await importTrustedKeys(keys), now);
    return "OK";
  } catch (err) {
    if (err instanceof SimpleSigningError) return `${err.code}: ${err.message}`;
    throw err;
  }
}

const D = `sha256:${"a".repeat(64)}`;
const date = new Date("2024-05-01T00:00:00Z");
const later = new Date("2024-06-01T00:00:00Z");
const IMAGE = `${vectors.registry}/demo/app:v1`;

async function alice() {
  const s = await testSigner("alice");
  return { s, signed: await signPayload(s, payloadFor(IMAGE, D), { date }) };
}

describe("the watch", () => {
  it("sees the dropped rejection when a truncated deflate stream is piped through a DecompressionStream", async () => {
    const dropped = watchPipes();
    const body = signature("rsa").subarray(2, 40); // gpg: 0xa3 (old format, compressed data, open length), algorithm 1 (ZIP)
    const source = new ReadableStream<Uint8Array>({ start: (c) => (c.enqueue(body), c.close()) });
    await expect(new Response(source.pipeThrough(new DecompressionStream("deflate-raw"))).arrayBuffer()).rejects.toThrow(/incomplete data/);
    await settle();
    expect(dropped.map(String)).toEqual([expect.stringMatching(/incomplete data/)]);
  });
});

describe("a compressed signed message whose compressed body is broken", () => {
  it("gpg's own signature, truncated inside the compressed body: MALFORMED_MESSAGE, nothing escapes", async () => {
    const dropped = watchPipes();
    const whole = signature("rsa");
    expect(whole[0]).toBe(0xa3);
    for (const cut of [3, 10, 40, 200, whole.length - 40, whole.length - 1]) {
      expect(await outcome(whole.subarray(0, cut), [armoredKey("rsa")]), `cut at ${cut}`).toMatch(
        /^MALFORMED_MESSAGE: Invalid GPG signature: not an OpenPGP message \(/,
      );
    }
    await settle();
    expect(dropped.map(String)).toEqual([]);
  });

  it("says why: the compressed data does not decompress", async () => {
    expect(await outcome(signature("rsa").subarray(0, 40), [armoredKey("rsa")])).toMatch(
      /^MALFORMED_MESSAGE: Invalid GPG signature: not an OpenPGP message \(compressed data packet: it does not decompress \(.*incomplete data\)\)$/,
    );
  });

  it("truncated zip and zlib packets with old, new and partial-length headers: MALFORMED_MESSAGE, nothing escapes", async () => {
    const { s, signed } = await alice();
    const dropped = watchPipes();
    for (const algorithm of ["zip", "zlib"] as const) {
      for (const header of ["old", "new", "partial"] as const) {
        const whole = await compressedMessage(signed, algorithm, header);
        const what = `${algorithm}, ${header} header`;
        expect(await outcome(whole, [s.armoredPublicKey], later), what).toBe("OK");
        // 34 and 67: right after a 32-byte partial chunk, before the next length octet.
        for (const cut of [8, 30, 34, 67, whole.length - 20, whole.length - 1]) {
          expect(await outcome(whole.subarray(0, cut), [s.armoredPublicKey], later), `${what}, cut at ${cut}`).toMatch(
            /^MALFORMED_MESSAGE: Invalid GPG signature: not an OpenPGP message \(/,
          );
        }
      }
    }
    await settle();
    expect(dropped.map(String)).toEqual([]);
  });

  it("garbage in the compressed body: a refusal, nothing escapes", async () => {
    const dropped = watchPipes();
    const whole = signature("rsa");
    for (const at of [2, 5, 9, 60]) {
      const bad = whole.slice();
      bad[at] = bad[at]! ^ 0xff;
      expect(await outcome(bad, [armoredKey("rsa")]), `byte ${at}`).toMatch(/^[A-Z_]+: Invalid GPG signature/);
      expect(await outcome(bad, [armoredKey("rsa")]), `byte ${at}`).not.toMatch(/^OK/);
    }
    await settle();
    expect(dropped.map(String)).toEqual([]);
  });

  it("a whole compressed message still verifies, gpg's and ours", async () => {
    const dropped = watchPipes();
    const v = await verifySignedMessage(signature("rsa"), await importTrustedKeys([armoredKey("rsa")]), NOW);
    expect(v.keyIdentity).toBe(vectors.keys.rsa.fingerprint);
    const { s, signed } = await alice();
    const trusted = await importTrustedKeys([s.armoredPublicKey]);
    for (const algorithm of ["zip", "zlib"] as const) {
      const verdict = await verifySimpleSignature(await compressedMessage(signed, algorithm), { trusted, digest: D, image: parseReference(IMAGE), now: later });
      expect(verdict).toMatchObject({ accepted: true, signature: { keyIdentity: s.fingerprint } });
    }
    await settle();
    expect(dropped).toEqual([]);
  });

  it("compression inside compression is refused, as before (a signed message has one layer), nothing escapes", async () => {
    const { s, signed } = await alice();
    const once = await compressedMessage(signed, "zlib");
    const dropped = watchPipes();
    expect(await outcome(await compressedMessage(once, "zip"), [s.armoredPublicKey], later)).toMatch(/^MALFORMED_MESSAGE: /);
    // The inner layer truncated, inside an intact outer one.
    expect(await outcome(await compressedMessage(once.subarray(0, once.length - 10), "zip"), [s.armoredPublicKey], later)).toMatch(/^MALFORMED_MESSAGE: /);
    await settle();
    expect(dropped.map(String)).toEqual([]);
  });

  it("a compression bomb stops at the bound", async () => {
    const { s } = await alice();
    const bomb = await compressedMessage(new Uint8Array(MAX_DECOMPRESSED_BYTES + 1), "zlib");
    expect(bomb.length).toBeLessThan(8192);
    expect(await outcome(bomb, [s.armoredPublicKey], later)).toBe(
      `MALFORMED_MESSAGE: Invalid GPG signature: not an OpenPGP message (compressed data packet: it decompresses to more than ${MAX_DECOMPRESSED_BYTES} bytes)`,
    );
  });

  it("a BZip2 compression bomb stops at the same bound (openpgp.js decompresses BZip2 itself)", async () => {
    const { s } = await alice();
    // 64 MiB of zero bytes, BZip2-compressed: 79 bytes. Made by Python's bz2 module:
    //   python3 -c 'import bz2,base64; print(base64.b64encode(bz2.compress(b"\0" * (64 << 20), 9)).decode())'
    const bz2 = Uint8Array.from(
      atob("QlpoOTFBWSZTWQ4J4t8BX45AAMAAAAggADCATUZCoCWpCoCXMUFZJlNZvAS1wwCidcAAwAAACCAAIKQINjKKiE0qKiE4u5IpwoSFALuD6A=="),
      (c) => c.charCodeAt(0),
    );
    const bomb = new Uint8Array([0xc8, bz2.length + 1, 3, ...bz2]); // new-format compressed data packet, algorithm 3 (BZip2)
    expect(await outcome(bomb, [s.armoredPublicKey], later)).toBe(
      `MALFORMED_MESSAGE: Invalid GPG signature: not an OpenPGP message (compressed data packet: it decompresses to more than ${MAX_DECOMPRESSED_BYTES} bytes)`,
    );
  });

  it("through the verifier entry point: a verdict, not a throw", async () => {
    const { s, signed } = await alice();
    const trusted = await importTrustedKeys([s.armoredPublicKey]);
    const dropped = watchPipes();
    const blob = await compressedMessage(signed, "zlib");
    const verdict = await verifySimpleSignature(blob.subarray(0, blob.length - 5), { trusted, digest: D, image: parseReference(IMAGE), now: later });
    expect(verdict).toMatchObject({ accepted: false, error: { code: "MALFORMED_MESSAGE" } });
    await settle();
    expect(dropped).toEqual([]);
  });
});
