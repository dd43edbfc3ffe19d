// The deployed bundle leaves out the parts of openpgp.js that signature verification never loads
// (wrangler.toml [alias] → worker/openpgp-trim/). Their stand-ins must fail loudly, and what would
// need them (encrypted data handed over as a signature) must be a deny. The tests themselves run
// openpgp.js whole (vitest bundles without the alias); test/e2e/simple-signing.test.ts verifies
// real gpg signatures through the trimmed bundle that `wrangler dev` builds.
import { createMessage, encrypt, enums } from "openpgp/lightweight";
import { describe, expect, it } from "vitest";
import wranglerToml from "../../../wrangler.toml?raw";
import openpgpLightweight from "../../../node_modules/openpgp/dist/lightweight/openpgp.min.mjs?raw";
import { importTrustedKeys, SimpleSigningError, verifySignedMessage } from "../../../src/verify/simple-signing";
import argon2id from "../../../worker/openpgp-trim/argon2id";
import { legacyCiphers } from "../../../worker/openpgp-trim/legacy-ciphers";
import nacl from "../../../worker/openpgp-trim/nacl-fast";
import { nobleCurves } from "../../../worker/openpgp-trim/noble-curves";
import { OmittedFromBundle } from "../../../worker/openpgp-trim/refuse";
import { testSigner } from "./generator";

const base64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

describe("openpgp.js parts left out of the Worker bundle", () => {
  it("throws a clear error from every stand-in, on every call", () => {
    const calls: [string, () => unknown][] = [
      ["legacy cipher", () => legacyCiphers.get("cast5")],
      ["argon2", () => argon2id()],
      ["ed25519 verify", () => nacl.sign.detached.verify()],
      ["ed25519 sign", () => nacl.sign.detached()],
      ["ed25519 key", () => nacl.sign.keyPair.fromSeed()],
      ["x25519 key", () => nacl.box.keyPair()],
      ["x25519", () => nacl.scalarMult()],
      ["brainpool", () => nobleCurves.get("brainpoolP256r1")],
      ["ed448", () => nobleCurves.get("ed448")],
    ];
    for (const [, call] of [...calls, ...calls]) {
      expect(call).toThrow(OmittedFromBundle);
      expect(call).toThrow(/^trustgate does not .+: that part of OpenPGP\.js is not in the Worker bundle$/);
    }
    expect(() => legacyCiphers.get("cast5")).toThrow("trustgate does not decrypt OpenPGP data (legacy cipher cast5)");
  });

  it("stands in for chunks openpgp.js really loads by those names", () => {
    const aliased = [...wranglerToml.matchAll(/^"(\.\/[\w-]+\.min\.mjs)" = "\.\/worker\/openpgp-trim\/([\w-]+)\.ts"$/gm)];
    expect(aliased.map((m) => m[2]).sort()).toEqual(["argon2id", "legacy-ciphers", "nacl-fast", "noble-curves"]);
    for (const [, specifier] of aliased) expect(openpgpLightweight).toContain(`import("${specifier}")`);
  });
});

describe("encrypted data handed over as a signature", () => {
  const now = new Date("2024-06-01T00:00:00Z");
  // gpg --symmetric --cipher-algo CAST5 (iterated S2K): decrypting would need the legacy ciphers.
  const GPG_CAST5 = "jA0EAwMCv9u3rgzZnJn/0lEBx/MdJTUNgyRlYh5MgqrfUWdZ9GCHf2NT/wuAw2Y7k64KPDd7v5Sh1hnCiAsceevSElbZjVGKMKGVUE9kmYG3rtn8BFcNl5a/cgo5YoFGjsw=";
  // openpgp.js encrypt({ passwords }) with an Argon2 S2K (v6 SKESK, SEIPD v2): decrypting would need argon2id.
  const OPENPGPJS_ARGON2 =
    "w1UGIwkDFARUkat+8fn/o24wnFBMSulaAwQQyRaJYKXulCDCn1rvZSr1lLmWz6h4yWL49+rpq1wMCVRzzbZexEJsCzFGVoIBb5t9Rg8+ZHhS3Ap7gXno0lsCCQMMAABPkBWyovSS7miuZYw15YtoCGgqYOezz4Ms/mr94YKVD12GYhh7jHMR9fV6ZBoyI/IRvl734XVfO4QaqdPKxnLBgZXjSJ8eHHZ47CaXRangzQcr4Lmx";

  async function refusal(blob: Uint8Array, armoredKey: string): Promise<SimpleSigningError> {
    const trusted = await importTrustedKeys([armoredKey]);
    const err = await verifySignedMessage(blob, trusted, now).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(SimpleSigningError);
    return err as SimpleSigningError;
  }

  it("is refused as not a signed message, without decrypting", async () => {
    const s = await testSigner("alice");
    for (const blob of [base64(GPG_CAST5), base64(OPENPGPJS_ARGON2)]) {
      expect(await refusal(blob, s.armoredPublicKey)).toMatchObject({ code: "MALFORMED_MESSAGE" });
    }
  });

  it("is refused when signed and encrypted to the trusted key, too", async () => {
    const s = await testSigner("alice");
    const message = await createMessage({ binary: new TextEncoder().encode('{"critical":{}}') });
    const blob = await encrypt({
      message,
      encryptionKeys: s.privateKey.toPublic(),
      signingKeys: s.privateKey,
      format: "binary",
      date: new Date("2024-05-01T00:00:00Z"),
      config: { preferredSymmetricAlgorithm: enums.symmetric.cast5 },
    });
    expect(await refusal(blob, s.armoredPublicKey)).toMatchObject({ code: "MALFORMED_MESSAGE" });
  });
});
