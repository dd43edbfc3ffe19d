// The OpenPGP envelope: real gpg signatures (vectors) and our own variants, verified against the
// requirement's keys only, cryptography before any JSON.
import { createMessage, sign } from "openpgp/lightweight";
import { describe, expect, it } from "vitest";
import {
  importTrustedKeys,
  SimpleSigningError,
  verifySignedMessage,
  verifySimpleSignature,
  type SimpleSigningErrorCode,
} from "../../../src/verify/simple-signing";
import { parseReference } from "../../../src/reference";
import { payloadFor, signPayload, signPayloadArmored, testSigner } from "./generator";
import { armoredKey, keyData, NOW, signature, vectors, type KeyName } from "./vectors";

const keysOf = (...names: KeyName[]) => importTrustedKeys(names.map(armoredKey));

async function codeOf(blob: Uint8Array, keys: KeyName[] | string[], now = NOW): Promise<SimpleSigningErrorCode | "OK"> {
  const trusted = await importTrustedKeys(keys.map((k) => (k in vectors.keys ? armoredKey(k as KeyName) : k)));
  try {
    await verifySignedMessage(blob, trusted, now);
    return "OK";
  } catch (err) {
    if (err instanceof SimpleSigningError) return err.code;
    throw err;
  }
}

async function messageOf(blob: Uint8Array, keys: KeyName[], now = NOW): Promise<string> {
  try {
    await verifySignedMessage(blob, await keysOf(...keys), now);
    return "OK";
  } catch (err) {
    return (err as Error).message;
  }
}

const IN_2020 = new Date("2020-01-02T12:00:00Z");

describe("OpenPGP signed messages made by gpg and skopeo", () => {
  it("verifies RSA and Ed25519 signatures; the identity is the primary key's fingerprint", async () => {
    for (const [sig, key] of [["rsa", "rsa"], ["gpg-rsa", "rsa"], ["ed25519", "ed25519"], ["old-valid", "old"]] as const) {
      const v = await verifySignedMessage(signature(sig), await keysOf(key), NOW);
      expect(v.keyIdentity).toBe(vectors.keys[key].fingerprint);
      expect(v.signingKey).toBe(vectors.keys[key].fingerprint);
      expect(new TextDecoder().decode(v.payload)).toMatch(/^\{"critical":/);
    }
  });

  it("maps a signing subkey to its primary key", async () => {
    const v = await verifySignedMessage(signature("subkey"), await keysOf("subkey"), NOW);
    expect(v.keyIdentity).toBe(vectors.keys.subkey.fingerprint);
    expect(v.signingKey).toBe(vectors.keys.subkey.subkeys[0]);
    expect(v.signingKey).not.toBe(v.keyIdentity);
  });

  it("checks only against the requirement's keys", async () => {
    expect(await codeOf(signature("other"), ["rsa", "ed25519"])).toBe("UNKNOWN_KEY");
    expect(await messageOf(signature("other"), ["rsa"])).toBe(
      `Invalid GPG signature: signed by key ID ${vectors.keys.other.fingerprint.slice(-16)}, which is not one of the required keys`,
    );
    expect(await codeOf(signature("other"), ["other"])).toBe("OK");
    // Any of several keys will do, and a keyring in one entry counts as all its keys.
    expect(await codeOf(signature("ed25519"), ["rsa", "ed25519"])).toBe("OK");
    expect(await codeOf(signature("ed25519"), [armoredKey("rsa") + armoredKey("ed25519")])).toBe("OK");
  });

  it("refuses an expired signature, and accepts it while it was valid", async () => {
    expect(await codeOf(signature("expired-signature"), ["old"])).toBe("EXPIRED_SIGNATURE");
    expect(await messageOf(signature("expired-signature"), ["old"])).toBe(
      `Invalid GPG signature: the signature by key ${vectors.keys.old.fingerprint} expired on 2020-01-03T00:00:00.000Z`,
    );
    const v = await verifySignedMessage(signature("expired-signature"), await keysOf("old"), IN_2020);
    expect(v.validUntil?.toISOString()).toBe("2020-01-03T00:00:00.000Z");
  });

  it("refuses a key that has expired since it signed (gpg judges the key now)", async () => {
    expect(await codeOf(signature("expired-key"), ["shortlived"])).toBe("KEY_EXPIRED");
    expect(await messageOf(signature("expired-key"), ["shortlived"])).toBe(
      `Invalid GPG signature: key ${vectors.keys.shortlived.fingerprint} expired on 2020-01-03T00:00:00.000Z`,
    );
    const v = await verifySignedMessage(signature("expired-key"), await keysOf("shortlived"), IN_2020);
    expect(v.validUntil?.toISOString()).toBe("2020-01-03T00:00:00.000Z");
  });

  it("refuses a revoked key", async () => {
    expect(await codeOf(signature("revoked"), ["revoked"])).toBe("KEY_REVOKED");
  });

  it("wants exactly one signature, as gpgme does", async () => {
    expect(await messageOf(signature("two-signers"), ["rsa", "ed25519"])).toBe("Unexpected GPG signature count 2");
    expect(await messageOf(signature("unsigned-literal"), ["rsa"])).toBe("Unexpected GPG signature count 0");
  });

  it("counts the signatures before checking any: hundreds by a trusted key cost no verification", async () => {
    const signer = await testSigner("crowd");
    const message = await createMessage({ binary: new TextEncoder().encode(payloadFor("127.0.0.1:5000/demo/app", `sha256:${"a".repeat(64)}`)) });
    const crowd = await sign({ message, signingKeys: Array.from({ length: 200 }, () => signer.privateKey), format: "binary" });
    const trusted = await importTrustedKeys([signer.armoredPublicKey]);
    // openpgp.js looks every signature's key up in the keyring it verifies with: count the look-ups.
    let lookups = 0;
    for (const key of trusted.keys) {
      const getKeys = key.getKeys.bind(key);
      key.getKeys = (...args: Parameters<typeof key.getKeys>) => {
        lookups++;
        return getKeys(...args);
      };
    }
    await expect(verifySignedMessage(crowd, trusted, NOW)).rejects.toThrow("Unexpected GPG signature count 200");
    expect(lookups).toBe(0);
  });

  it("refuses what is not a binary signed message", async () => {
    expect(await codeOf(signature("detached"), ["rsa"])).toBe("MALFORMED_MESSAGE");
    expect(await codeOf(signature("cleartext"), ["rsa"])).toBe("MALFORMED_MESSAGE");
    expect(await codeOf(new Uint8Array(), ["rsa"])).toBe("MALFORMED_MESSAGE");
    expect(await codeOf(new TextEncoder().encode('{"critical":{}}'), ["rsa"])).toBe("MALFORMED_MESSAGE");
    // Two signed messages back to back: two literal data packets.
    const rsa = signature("gpg-rsa");
    expect(await codeOf(new Uint8Array([...rsa, ...rsa]), ["rsa"])).toBe("MALFORMED_MESSAGE");
  });

  it("refuses tampered signatures and tampered data", async () => {
    expect(await messageOf(signature("corrupt-signature"), ["rsa"])).toMatch(/^Invalid GPG signature: the signature by key .* does not verify \(Signature verification failed\)$/);
    expect(await messageOf(signature("corrupt-payload"), ["rsa"])).toMatch(/does not verify \(Signed digest did not match\)$/);
  });

  it("verifies the cryptography before it reads the JSON", async () => {
    const image = parseReference(`${vectors.registry}/demo/app:v1`);
    const expect_ = async (blob: Uint8Array, key: KeyName) =>
      verifySimpleSignature(blob, { trusted: await keysOf(key), digest: vectors.digest, image, now: NOW });
    // Not JSON, but signed by a key nobody trusts: the key is the problem, not the JSON.
    expect(await expect_(signature("not-json"), "ed25519")).toMatchObject({ accepted: false, error: { code: "UNKNOWN_KEY" } });
    expect(await expect_(signature("not-json"), "rsa")).toMatchObject({ accepted: false, error: { code: "INVALID_PAYLOAD" } });
    // A payload changed after signing fails on the signature, whatever it now says.
    expect(await expect_(signature("corrupt-payload"), "rsa")).toMatchObject({ accepted: false, error: { code: "BAD_SIGNATURE" } });
    // Digest before identity, as signature/simple.go orders them.
    expect(await expect_(signature("digest-mismatch"), "rsa")).toMatchObject({ accepted: false, error: { code: "DIGEST_MISMATCH" } });
    expect(await expect_(signature("id-other-app-v1"), "rsa")).toMatchObject({
      accepted: false,
      error: { code: "IDENTITY_NOT_ACCEPTED", message: `Signature for identity "${vectors.registry}/other/app:v1" is not accepted` },
    });
    expect(await expect_(signature("rsa"), "rsa")).toMatchObject({
      accepted: true,
      signature: { dockerManifestDigest: vectors.digest, dockerReference: `${vectors.registry}/demo/app:v1`, keyIdentity: vectors.keys.rsa.fingerprint },
    });
  });

  it("normalises docker.io names on both sides (skopeo signed docker.io/library/busybox:latest)", async () => {
    const trusted = await keysOf("rsa");
    for (const [image, accepted] of [["busybox", true], ["busybox:latest", true], ["docker.io/library/busybox", true], ["index.docker.io/library/busybox:latest", true], ["busybox:1", false], ["library/busybox:latest", true], ["quay.io/library/busybox:latest", false]] as const) {
      const v = await verifySimpleSignature(signature("id-busybox"), { trusted, digest: vectors.digest, image: parseReference(image), now: NOW });
      expect(v.accepted, image).toBe(accepted);
    }
  });

  it("reads keys as policy.json keyData does: armored, base64 binary, base64 of armored", async () => {
    for (const entry of [armoredKey("rsa"), keyData("rsa"), btoa(armoredKey("rsa"))]) {
      expect((await importTrustedKeys([entry])).fingerprints).toEqual([vectors.keys.rsa.fingerprint]);
    }
    for (const bad of ["not a key", btoa("not a key either"), "-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nAAAA\n-----END PGP PUBLIC KEY BLOCK-----\n"]) {
      await expect(importTrustedKeys([bad])).rejects.toMatchObject({ code: "INVALID_KEYS" });
    }
  });
});

describe("OpenPGP signed messages made here (openpgp.js)", () => {
  const D = vectors.digest;
  const image = parseReference(`${vectors.registry}/demo/app:v1`);
  const later = new Date("2024-06-01T00:00:00Z");

  it("accepts an uncompressed one-pass message and a text-mode signature", async () => {
    const s = await testSigner("alice");
    const trusted = await importTrustedKeys([s.armoredPublicKey]);
    const date = new Date("2024-05-01T00:00:00Z");
    const payload = payloadFor(`${vectors.registry}/demo/app:v1`, D);
    for (const blob of [await signPayload(s, payload, { date }), await signPayload(s, payload, { date, text: true })]) {
      const v = await verifySimpleSignature(blob, { trusted, digest: D, image, now: later });
      expect(v).toMatchObject({ accepted: true, signature: { keyIdentity: s.fingerprint } });
    }
  });

  it("refuses a signature made after `now` (a clock problem is not trust)", async () => {
    const s = await testSigner("alice");
    const blob = await signPayload(s, payloadFor(`${vectors.registry}/demo/app:v1`, D), { date: new Date("2025-01-01T00:00:00Z") });
    expect(await codeOf(blob, [s.armoredPublicKey], later)).toBe("BAD_SIGNATURE");
  });

  it("refuses an armored message (only binary packets are simple signatures)", async () => {
    const s = await testSigner("alice");
    const blob = await signPayloadArmored(s, payloadFor(`${vectors.registry}/demo/app:v1`, D), later);
    expect(await codeOf(blob, [s.armoredPublicKey], later)).toBe("MALFORMED_MESSAGE");
  });

  it("reports the payload's own problems once the signature holds", async () => {
    const s = await testSigner("alice");
    const trusted = await importTrustedKeys([s.armoredPublicKey]);
    const extra = await signPayload(s, payloadFor(`${vectors.registry}/demo/app:v1`, D, ',"extra":true'), { date: later });
    expect(await verifySimpleSignature(extra, { trusted, digest: D, image, now: later })).toMatchObject({
      accepted: false,
      error: { code: "INVALID_PAYLOAD", message: 'Unknown key "extra"' },
    });
    const dup = await signPayload(s, payloadFor(`${vectors.registry}/demo/app:v1`, D, ',"type":"atomic container signature"'), { date: later });
    expect(await verifySimpleSignature(dup, { trusted, digest: D, image, now: later })).toMatchObject({
      accepted: false,
      error: { code: "INVALID_PAYLOAD", message: 'Duplicate key "type"' },
    });
  });
});
