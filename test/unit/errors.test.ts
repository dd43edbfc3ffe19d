// The error base: every verifier's and adapter's error carries a code from its closed union and the
// error it wraps on `cause`; cosign's unreadable sources carry theirs into the judgement.
import { describe, expect, it } from "vitest";
import { UpstreamError } from "../../src/adapters/http-client";
import { TrustgateError } from "../../src/errors";
import { parseReference } from "../../src/reference";
import { checkBundle, checkLegacySignature, CosignError, CosignKeyError, importCosignKey, judgeSignatures, type SigstoreBundle } from "../../src/verify/cosign";
import { NotaryV1Error } from "../../src/verify/notary-v1/errors";
import { parseEnvelope } from "../../src/verify/notary-v1/roles";
import { DerError } from "../../src/verify/shared/der";
import { importTrustedKeys, SimpleSigningError } from "../../src/verify/simple-signing";

const DIGEST = `sha256:${"a".repeat(64)}`;
const image = parseReference(`registry.example/app@${DIGEST}`);

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => expect.unreachable("resolved"),
    (err: unknown) => err,
  );
}

describe("the error base", () => {
  it("a cosign key that is not DER is a CosignKeyError (INVALID_KEY) wrapping the DER problem", async () => {
    const err = await rejection(importCosignKey("k", "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"));
    expect(err).toBeInstanceOf(CosignKeyError);
    expect(err).toBeInstanceOf(CosignError);
    expect(err).toBeInstanceOf(TrustgateError);
    expect(err).toMatchObject({ name: "CosignKeyError", code: "INVALID_KEY" });
    expect((err as Error).cause).toBeInstanceOf(DerError);
  });

  it("Notary metadata that is not JSON is MALFORMED, with the parser's error as cause", () => {
    let err: unknown;
    try {
      parseEnvelope(new TextEncoder().encode("{not json"), "root");
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(NotaryV1Error);
    expect(err).toBeInstanceOf(TrustgateError);
    expect(err).toMatchObject({ name: "NotaryV1Error", code: "MALFORMED", role: "root" });
    expect((err as Error).cause).toBeInstanceOf(SyntaxError);
  });

  it("an OpenPGP key that does not read is INVALID_KEYS, with openpgp.js's error as cause", async () => {
    const err = await rejection(importTrustedKeys(["-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nnot a key\n-----END PGP PUBLIC KEY BLOCK-----\n"]));
    expect(err).toBeInstanceOf(SimpleSigningError);
    expect(err).toBeInstanceOf(TrustgateError);
    expect(err).toMatchObject({ name: "SimpleSigningError", code: "INVALID_KEYS" });
    expect((err as Error).cause).toBeInstanceOf(Error);
  });

  it("an error without a wrapped one has no cause at all", () => {
    const err = new UpstreamError("REGISTRY_BAD_RESPONSE", "x", false);
    expect(err).toBeInstanceOf(TrustgateError);
    expect("cause" in err).toBe(false);
    expect(err.name).toBe("UpstreamError");
  });
});

describe("cosign's unreadable sources carry a code", () => {
  const layer = { mediaType: "application/vnd.dev.cosign.simplesigning.v1+json", digest: DIGEST, size: 2, annotations: {}, index: 0 };

  it("a payload blob that is not its descriptor's is PAYLOAD_MISMATCH", async () => {
    const checked = await checkLegacySignature({ layer, payload: new TextEncoder().encode("{}"), keys: [], digest: DIGEST, image });
    expect(checked).toMatchObject({ problem: "PAYLOAD_MISMATCH", unreadable: expect.stringContaining("the payload blob hashes to") });
  });

  it("a layer without its signature annotation is SIGNATURE_UNREADABLE", async () => {
    const payload = new TextEncoder().encode("{}");
    const digest = `sha256:${[...new Uint8Array(await crypto.subtle.digest("SHA-256", payload))].map((b) => b.toString(16).padStart(2, "0")).join("")}`;
    const checked = await checkLegacySignature({ layer: { ...layer, digest }, payload, keys: [], digest: DIGEST, image });
    expect(checked).toMatchObject({ problem: "SIGNATURE_UNREADABLE" });
  });

  it("a bundle over another payload type is BUNDLE_UNREADABLE, and the judgement keeps the code", async () => {
    const bundle: SigstoreBundle = {
      mediaType: "application/vnd.dev.sigstore.bundle.v0.3+json",
      publicKeyHint: undefined,
      payloadType: "text/plain",
      payload: new Uint8Array(),
      signatures: [],
      signatureCount: 0,
    };
    const checked = await checkBundle({ source: "bundle x", bundle, keys: [], digest: DIGEST, image });
    expect(checked).toMatchObject({ problem: "BUNDLE_UNREADABLE" });
    const j = judgeSignatures({ keys: ["a"], threshold: 1, required: [] }, [checked]);
    expect(j.unreadable).toEqual([{ source: "bundle x", why: checked.unreadable, code: "BUNDLE_UNREADABLE" }]);
  });
});
