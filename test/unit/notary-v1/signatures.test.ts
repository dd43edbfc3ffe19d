// Signature methods (ecdsa raw r||s, eddsa, rsapss, rsapkcs1v15) and role threshold counting.
import { describe, expect, it } from "vitest";
import { encodeCanonical } from "../../../src/verify/shared/canonical-json";
import { utf8 } from "../../../src/verify/shared/encoding";
import { NotaryV1Error } from "../../../src/verify/notary-v1/errors";
import { parseTufKey, type TufKey } from "../../../src/verify/notary-v1/keys";
import { parseEnvelope } from "../../../src/verify/notary-v1/roles";
import { checkSignature, MAX_SIGNATURES_PER_KEY, verifyRole, verifySignature } from "../../../src/verify/notary-v1/signatures";
import { makeKey, pooledKey, rawToDer, serialize, signBytes, signEnvelope, type KeyKind, type TestKey } from "./generator";

const message = utf8('{"_type":"Targets","version":1}');
const tuf = (k: TestKey): TufKey => parseTufKey(k.tuf, "test");

describe("verifySignature", () => {
  it.each<[KeyKind, string]>([
    ["ecdsa", "ecdsa"],
    ["ecdsa-x509", "ecdsa"],
    ["ed25519", "eddsa"],
    ["rsa", "rsapss"],
    ["rsa-pkcs1", "rsapkcs1v15"],
  ])("%s keys verify with method %s, and not over other bytes", async (kind, method) => {
    const key = await pooledKey(kind, 0);
    const sig = await signBytes(key, message);
    expect(await verifySignature(method, tuf(key), sig, message)).toBe(true);
    expect(await verifySignature(method.toUpperCase(), tuf(key), sig, message)).toBe(true);
    expect(await verifySignature(method, tuf(key), sig, utf8("other"))).toBe(false);
    const flipped = sig.slice();
    flipped[10]! ^= 0x01;
    expect(await verifySignature(method, tuf(key), flipped, message)).toBe(false);
  });

  it("refuses a DER-encoded ECDSA signature that is valid as DER", async () => {
    const key = await pooledKey("ecdsa", 0);
    const raw = await signBytes(key, message);
    const der = rawToDer(raw);
    const ecdsaKey = (await crypto.subtle.importKey("spki", key.spki, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"])) as CryptoKey;
    expect(await crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, ecdsaKey, raw, message)).toBe(true);
    expect(await checkSignature("ecdsa", tuf(key), der, message)).toEqual({ ok: false, why: `ecdsa signature must be 64 bytes (raw r||s), got ${der.length}` });
  });

  it("refuses a method that does not fit the key type, and unknown methods", async () => {
    const ec = await pooledKey("ecdsa", 0);
    const sig = await signBytes(ec, message);
    expect(await checkSignature("eddsa", tuf(ec), sig, message)).toMatchObject({ ok: false, why: expect.stringMatching(/cannot be used/) });
    expect(await checkSignature("rsapss", tuf(ec), sig, message)).toMatchObject({ ok: false });
    expect(await checkSignature("ed25519", tuf(ec), sig, message)).toMatchObject({ ok: false, why: expect.stringMatching(/unsupported signature method/) });
    const rsa = await pooledKey("rsa", 0);
    const pss = await signBytes(rsa, message);
    expect(await verifySignature("rsapkcs1v15", tuf(rsa), pss, message)).toBe(false);
  });

  it("refuses RSA keys under 2048 bits", async () => {
    const pair = (await crypto.subtle.generateKey(
      { name: "RSA-PSS", modulusLength: 1024, publicExponent: new Uint8Array([1, 0, 1]), hash: "SHA-256" },
      true,
      ["sign", "verify"],
    )) as CryptoKeyPair;
    const spki = new Uint8Array((await crypto.subtle.exportKey("spki", pair.publicKey)) as ArrayBuffer);
    const sig = new Uint8Array(await crypto.subtle.sign({ name: "RSA-PSS", saltLength: 32 }, pair.privateKey, message));
    expect(await checkSignature("rsapss", { keytype: "rsa", public: spki }, sig, message)).toEqual({ ok: false, why: "RSA key of 1024 bits is below 2048" });
  });

  it("refuses an RSA-PSS signature made with another salt length", async () => {
    const rsa = await pooledKey("rsa", 0);
    const sig = new Uint8Array(await crypto.subtle.sign({ name: "RSA-PSS", saltLength: 20 }, rsa.privateKey, message));
    expect(await verifySignature("rsapss", tuf(rsa), sig, message)).toBe(false);
  });

  it("refuses Ed25519 signatures of the wrong length", async () => {
    const ed = await pooledKey("ed25519", 0);
    const sig = await signBytes(ed, message);
    expect(await verifySignature("eddsa", tuf(ed), sig.subarray(0, 63), message)).toBe(false);
  });
});

describe("verifyRole", () => {
  const signed = { _type: "Targets", version: 3, targets: {}, expires: "2030-01-01T00:00:00Z" };

  async function envelopeOf(keys: TestKey[]) {
    return parseEnvelope(serialize(await signEnvelope(signed, keys)), "targets");
  }

  it("verifies the canonical bytes of signed, whatever the file's formatting", async () => {
    const k = await pooledKey("ecdsa", 0);
    const env = await signEnvelope(signed, [k]);
    const pretty = utf8(JSON.stringify({ signatures: env.signatures, signed: { version: 3, expires: signed.expires, targets: {}, _type: "Targets" } }, null, 4));
    const result = await verifyRole(parseEnvelope(pretty, "targets"), new Map([[k.id, tuf(k)]]), 1);
    expect(result).toMatchObject({ valid: [k.id], invalid: [], thresholdMet: true });
  });

  it("counts distinct valid key IDs and skips unknown ones", async () => {
    const [a, b, c] = [await pooledKey("ecdsa", 0), await pooledKey("ed25519", 0), await pooledKey("ecdsa", 5)];
    const env = await signEnvelope(signed, [a, a, b, c]);
    env.signatures[1]!.sig = env.signatures[3]!.sig; // a duplicate, invalid signature by a
    const result = await verifyRole(parseEnvelope(serialize(env), "targets"), new Map([[a.id, tuf(a)], [b.id, tuf(b)]]), 3);
    expect(new Set(result.valid)).toEqual(new Set([a.id, b.id]));
    expect(result.invalid).toEqual([{ keyid: a.id, why: "signature does not verify" }]);
    expect(result.ignored).toEqual([c.id]);
    expect(result.thresholdMet).toBe(false);
    const twice = await verifyRole(await envelopeOf([a, a]), new Map([[a.id, tuf(a)]]), 2);
    expect([twice.valid.length, twice.thresholdMet]).toEqual([1, false]);
  });

  it("checks a key ID's signatures no more than MAX_SIGNATURES_PER_KEY times, however often a server repeats it", async () => {
    const a = await pooledKey("ecdsa", 0);
    const env = await signEnvelope(signed, [a]);
    const bogus = { ...env.signatures[0]!, sig: (await signEnvelope({ ...signed, version: 4 }, [a])).signatures[0]!.sig };
    env.signatures.push(...Array.from({ length: 2000 }, () => ({ ...bogus })));
    const result = await verifyRole(parseEnvelope(serialize(env), "targets"), new Map([[a.id, tuf(a)]]), 1);
    expect(result.valid).toEqual([a.id]);
    expect(result.invalid).toHaveLength(MAX_SIGNATURES_PER_KEY - 1);
    expect(result.ignored).toHaveLength(2001 - MAX_SIGNATURES_PER_KEY);
  });

  it("reports no signatures as not verified rather than throwing", async () => {
    const k = await pooledKey("ecdsa", 0);
    const result = await verifyRole(await envelopeOf([]), new Map([[k.id, tuf(k)]]), 1);
    expect(result).toMatchObject({ valid: [], thresholdMet: false });
  });

  it("throws KEY_ID_MISMATCH when a key is listed under an ID that is not its hash", async () => {
    const k = await pooledKey("ecdsa", 0);
    const env = await signEnvelope(signed, [k]);
    const fakeId = "ab".repeat(32);
    env.signatures[0]!.keyid = fakeId;
    const error = await verifyRole(parseEnvelope(serialize(env), "targets"), new Map([[fakeId, tuf(k)]]), 1).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(NotaryV1Error);
    expect((error as NotaryV1Error).code).toBe("KEY_ID_MISMATCH");
  });

  it("throws on misuse", async () => {
    const k = await makeKey("ecdsa");
    const env = await envelopeOf([k]);
    await expect(verifyRole(env, new Map([[k.id, tuf(k)]]), 0)).rejects.toThrow(TypeError);
    expect(encodeCanonical(env.signed)).toEqual(encodeCanonical(signed));
  });
});
