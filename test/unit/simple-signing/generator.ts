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
