// Our own simple-signing signatures (openpgp.js, in the test): variants real gpg will not make on request.
import { createMessage, generateKey, sign, type PrivateKey } from "openpgp/lightweight";

export interface TestSigner {
  readonly privateKey: PrivateKey;
  readonly armoredPublicKey: string;
  readonly fingerprint: string;
}

const signers = new Map<string, Promise<TestSigner>>();

/** An Ed25519 key made at `created` (one per name, for the test run). */
export function testSigner(name: string, created = new Date("2024-01-01T00:00:00Z")): Promise<TestSigner> {
  let s = signers.get(name);
  if (!s) {
    s = (async () => {
      const { privateKey, publicKey } = await generateKey({
        type: "ecc",
        curve: "ed25519Legacy",
        userIDs: [{ name, email: `${name}@trustgate.test` }],
        date: created,
        format: "object",
      });
      return { privateKey, armoredPublicKey: publicKey.armor(), fingerprint: privateKey.getFingerprint().toUpperCase() };
    })();
    signers.set(name, s);
  }
  return s;
}

/** A binary signed message (one-pass signature, literal data, signature; not compressed). */
export async function signPayload(signer: TestSigner, payload: string, options: { date?: Date; text?: boolean } = {}): Promise<Uint8Array> {
  const message = options.text ? await createMessage({ text: payload }) : await createMessage({ binary: new TextEncoder().encode(payload) });
  return sign({ message, signingKeys: signer.privateKey, format: "binary", ...(options.date ? { date: options.date } : {}) });
}

/**
 * `inner` (a message's packets) in a compressed data packet, as gpg writes it by default: header
 * "old" is gpg's (old format, indeterminate length), "new" a new-format definite length, "partial"
 * new-format partial body lengths of 32 bytes.
 */
export async function compressedMessage(inner: Uint8Array, algorithm: "zip" | "zlib", header: "old" | "new" | "partial" = "new"): Promise<Uint8Array> {
  const stream = new CompressionStream(algorithm === "zip" ? "deflate-raw" : "deflate");
  const writer = stream.writable.getWriter();
  void writer.write(inner).then(() => writer.close());
  const compressed = new Uint8Array(await new Response(stream.readable).arrayBuffer());
  const body = new Uint8Array([algorithm === "zip" ? 1 : 2, ...compressed]);
  if (header === "old") return new Uint8Array([0xa3, ...body]);
  if (header === "partial") {
    const out: number[] = [0xc8];
    let at = 0;
    while (body.length - at > 32) {
      out.push(0xe0 + 5, ...body.subarray(at, at + 32)); // 1 << 5
      at += 32;
    }
    return new Uint8Array([...out, ...lengthOctets(body.length - at), ...body.subarray(at)]);
  }
  return new Uint8Array([0xc8, ...lengthOctets(body.length), ...body]);
}

function lengthOctets(n: number): number[] {
  if (n < 192) return [n];
  if (n < 8384) return [((n - 192) >> 8) + 192, (n - 192) & 0xff];
  return [0xff, (n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];
}

/** The same, ASCII-armored (containers/image only ever stores binary). */
export async function signPayloadArmored(signer: TestSigner, payload: string, date?: Date): Promise<Uint8Array> {
  const armored = await sign({
    message: await createMessage({ binary: new TextEncoder().encode(payload) }),
    signingKeys: signer.privateKey,
    ...(date ? { date } : {}),
  });
  return new TextEncoder().encode(armored);
}

export function payloadFor(reference: string, digest: string, extra = ""): string {
  return `{"critical":{"identity":{"docker-reference":"${reference}"},"image":{"docker-manifest-digest":"${digest}"},"type":"atomic container signature"${extra}},"optional":{"creator":"trustgate test"}}`;
}
