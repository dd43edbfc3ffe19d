// TUF keys: parsing, key IDs, decoded material, certificates and user-supplied pins.
import { describe, expect, it } from "vitest";
import { parseCertificate } from "../../../src/verify/shared/der";
import { base64Encode, toPem, utf8 } from "../../../src/verify/shared/encoding";
import { NotaryV1Error } from "../../../src/verify/notary-v1/errors";
import {
  canonicalKeyId,
  certificateProblem,
  importPinnedKey,
  importVerifyKey,
  isSelfSigned,
  keyId,
  keyMaterial,
  parseTufKey,
  type TufKey,
} from "../../../src/verify/notary-v1/keys";
import { GUN, NOW, makeKey, pooledKey, publicKeyPem, type TestKey } from "./generator";

const DAY = 86_400_000;
const tuf = (k: TestKey): TufKey => parseTufKey(k.tuf, "test");

async function code(p: Promise<unknown> | (() => unknown)): Promise<string | undefined> {
  try {
    await (typeof p === "function" ? p() : p);
  } catch (e) {
    if (e instanceof NotaryV1Error) return e.code;
    throw e;
  }
  return undefined;
}

describe("parseTufKey", () => {
  it("reads keytype and decodes keyval.public", async () => {
    const k = await pooledKey("ecdsa", 1);
    const parsed = tuf(k);
    expect(parsed.keytype).toBe("ecdsa");
    expect(parsed.public).toEqual(k.spki);
  });

  it.each([
    ["not an object", "x"],
    ["missing keytype", { keyval: { public: "QUJD", private: null } }],
    ["missing keyval", { keytype: "ecdsa" }],
    ["public not base64", { keytype: "ecdsa", keyval: { public: "***", private: null } }],
    ["public unpadded", { keytype: "ecdsa", keyval: { public: "QUJDRA", private: null } }],
    ["private material", { keytype: "ecdsa", keyval: { public: "QUJD", private: "QUJD" } }],
  ])("refuses %s", async (_label, value) => {
    expect(await code(() => parseTufKey(value, "k"))).toBe("MALFORMED");
  });
});

describe("key IDs", () => {
  it("are the hex sha256 of the canonical key JSON with private: null", async () => {
    const k = await pooledKey("ecdsa", 1);
    const canonical = `{"keytype":"ecdsa","keyval":{"private":null,"public":"${base64Encode(k.spki)}"}}`;
    const expected = [...new Uint8Array(await crypto.subtle.digest("SHA-256", utf8(canonical)))]
      .map((b) => b.toString(16).padStart(2, "0"))
      .join("");
    expect(await keyId(tuf(k))).toBe(expected);
  });

  it("for x509 keys, the canonical ID is the ID of the plain key holding the certificate's SPKI", async () => {
    const x509 = await pooledKey("ecdsa-x509", 0);
    const plain: TufKey = { keytype: "ecdsa", public: x509.spki };
    expect(await canonicalKeyId(tuf(x509))).toBe(await keyId(plain));
    expect(await canonicalKeyId(tuf(x509))).not.toBe(x509.id);
    const ed = await pooledKey("ed25519", 0);
    expect(await canonicalKeyId(tuf(ed))).toBe(ed.id);
  });
});

describe("key material", () => {
  it("decodes every supported key type", async () => {
    expect(keyMaterial(tuf(await pooledKey("ecdsa", 1))).kind).toBe("ecdsa");
    expect(keyMaterial(tuf(await pooledKey("ed25519", 0))).kind).toBe("ed25519");
    const rsa = keyMaterial(tuf(await pooledKey("rsa", 0)));
    expect([rsa.kind, rsa.rsaBits]).toEqual(["rsa", 2048]);
    const x509 = keyMaterial(tuf(await pooledKey("ecdsa-x509", 0)));
    expect(x509.kind).toBe("ecdsa");
    expect(x509.certificates).toHaveLength(1);
  });

  it("refuses curves other than P-256, short Ed25519 keys, unknown types and mismatched SPKIs", async () => {
    const p384 = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-384" }, true, ["sign", "verify"])) as CryptoKeyPair;
    const spki384 = new Uint8Array((await crypto.subtle.exportKey("spki", p384.publicKey)) as ArrayBuffer);
    expect(await code(() => keyMaterial({ keytype: "ecdsa", public: spki384 }))).toBe("UNSUPPORTED_KEY");
    expect(await code(() => keyMaterial({ keytype: "ed25519", public: new Uint8Array(31) }))).toBe("UNSUPPORTED_KEY");
    expect(await code(() => keyMaterial({ keytype: "dsa", public: new Uint8Array(31) }))).toBe("UNSUPPORTED_KEY");
    const ec = await pooledKey("ecdsa", 1);
    expect(await code(() => keyMaterial({ keytype: "rsa", public: ec.spki }))).toBe("UNSUPPORTED_KEY");
    expect(await code(() => keyMaterial({ keytype: "ecdsa", public: utf8("garbage") }))).toBe("UNSUPPORTED_KEY");
    expect(await code(() => keyMaterial({ keytype: "ecdsa-x509", public: utf8("no pem here") }))).toBe("UNSUPPORTED_KEY");
  });

  it("imports a key once per key ID and algorithm", async () => {
    const k = tuf(await pooledKey("ecdsa", 1));
    const id = await keyId(k);
    expect(importVerifyKey(k, id, "ecdsa")).toBe(importVerifyKey(k, id, "ecdsa"));
  });
});

describe("certificates", () => {
  it("extracts CN, validity, CA flag and SPKI, and recognises self-signed certificates", async () => {
    const k = await pooledKey("ecdsa-x509", 0);
    const cert = parseCertificate(k.cert!);
    expect(cert.commonName).toBe(GUN);
    expect(cert.notBefore.getTime()).toBe(NOW.getTime() - DAY);
    expect(cert.isCA).toBe(false);
    expect(cert.selfIssued).toBe(true);
    expect(cert.spki.der).toEqual(k.spki);
    expect(await isSelfSigned(cert)).toBe(true);
    const tampered = k.cert!.slice();
    tampered[tampered.length - 5]! ^= 1;
    expect(await isSelfSigned(parseCertificate(tampered))).toBe(false);
  });

  it("reads the CA flag and GeneralizedTime dates", async () => {
    const k = await makeKey("ecdsa-x509", { cn: "ca", notBefore: new Date("2020-01-01T00:00:00Z"), notAfter: new Date("2060-01-01T00:00:00Z"), isCA: true });
    const cert = parseCertificate(k.cert!);
    expect(cert.isCA).toBe(true);
    expect(cert.notAfter.toISOString()).toBe("2060-01-01T00:00:00.000Z");
  });

  it("applies notary's validity rules: no expiry, one day of leeway on notBefore, no SHA-1", async () => {
    const cert = (nb: number, na: number, sha1 = false) =>
      makeKey("ecdsa-x509", { cn: GUN, notBefore: new Date(NOW.getTime() + nb), notAfter: new Date(NOW.getTime() + na), sha1 }).then((k) => parseCertificate(k.cert!));
    expect(certificateProblem(await cert(-DAY, DAY), NOW, true)).toBeUndefined();
    expect(certificateProblem(await cert(DAY / 2, DAY), NOW, true)).toBeUndefined();
    expect(certificateProblem(await cert(2 * DAY, 3 * DAY), NOW, true)).toMatch(/expired or not yet valid/);
    expect(certificateProblem(await cert(-2 * DAY, -DAY), NOW, true)).toMatch(/expired/);
    expect(certificateProblem(await cert(-2 * DAY, -DAY), NOW, false)).toBeUndefined();
    expect(certificateProblem(await cert(DAY, -DAY), NOW, false)).toMatch(/validity window is invalid/);
    expect(certificateProblem(await cert(-DAY, DAY, true), NOW, true)).toMatch(/SHA1/);
  });
});

describe("pinned keys", () => {
  it("imports a PEM SPKI pin that matches an ecdsa-x509 root key by SPKI", async () => {
    const root = await pooledKey("ecdsa-x509", 0);
    const pin = await importPinnedKey(publicKeyPem(root));
    expect(pin.source).toBe("PUBLIC KEY");
    expect(pin.spki).toEqual(keyMaterial(tuf(root)).spki.der);
    expect(pin.keyIds).toEqual([await canonicalKeyId(tuf(root))]);
  });

  it("imports a certificate pin known by both its x509 key ID and canonical key ID", async () => {
    const root = await pooledKey("ecdsa-x509", 0);
    const pin = await importPinnedKey(toPem("CERTIFICATE", root.cert!));
    expect(pin.source).toBe("CERTIFICATE");
    expect(pin.keyIds).toContain(root.id);
    expect(pin.keyIds).toContain(await canonicalKeyId(tuf(root)));
    expect(pin.certificate?.commonName).toBe(GUN);
  });

  it("imports Ed25519 and RSA SPKI pins", async () => {
    const ed = await pooledKey("ed25519", 0);
    expect((await importPinnedKey(publicKeyPem(ed))).keyIds).toEqual([ed.id]);
    const rsa = await pooledKey("rsa", 0);
    expect((await importPinnedKey(publicKeyPem(rsa))).keyIds).toEqual([rsa.id]);
  });

  it("refuses other PEM blocks and garbage", async () => {
    expect(await code(importPinnedKey("-----BEGIN PRIVATE KEY-----\nQUJD\n-----END PRIVATE KEY-----\n"))).toBe("UNSUPPORTED_KEY");
    expect(await code(importPinnedKey("not a pem"))).toBe("UNSUPPORTED_KEY");
    expect(await code(importPinnedKey("-----BEGIN PUBLIC KEY-----\nQUJD\n-----END PUBLIC KEY-----\n"))).toBe("UNSUPPORTED_KEY");
  });
});
