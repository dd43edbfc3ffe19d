// What the test PKI emits (legacy `.sig` annotations, bundles v0.1–v0.3) is what the evidence
// readers (src/verify/cosign/keyless/evidence.ts) read, and they read it into the same
// KeylessEvidence the PKI says it made.
import { beforeAll, describe, expect, it } from "vitest";
import { bundleEvidence, legacyEvidence, readKeylessBundle } from "../../src/verify/cosign/keyless/evidence";
import {
  bundleJson,
  cosignPayload,
  createSigstorePki,
  legacyLayer,
  signCosignPayload,
  signCosignStatement,
  signKeyless,
  toEvidence,
  type SigstorePki,
} from "../support/sigstore-pki";

const DIGEST = `sha256:${"ef".repeat(32)}`;

describe("sigstore-pki output through the evidence readers", () => {
  let pki: SigstorePki;
  beforeAll(async () => {
    pki = await createSigstorePki();
  });

  it("a legacy .sig layer reads into the signature, leaf, chain and SET the PKI made", async () => {
    const sig = await signCosignPayload(pki, "registry.test/demo", DIGEST);
    const layer = legacyLayer(sig);
    const read = legacyEvidence(layer.annotations, layer.payload, "layer 0");
    expect(read.ok, JSON.stringify(read)).toBe(true);
    if (!read.ok) return;
    const expected = toEvidence(sig, "layer 0");
    // The legacy bundle annotation carries a SET but no inclusion proof.
    const { inclusionProof: _, ...entry } = expected.tlogEntries[0]!;
    expect(read.value).toEqual({ ...expected, tlogEntries: [entry] });
  });

  it.each(["0.1", "0.2"] as const)("a v%s bundle with a message signature reads into the same evidence", async (version) => {
    const message = cosignPayload("registry.test/demo", DIGEST);
    const sig = await signKeyless(pki, { kind: "message", payload: message });
    const bundle = JSON.parse(JSON.stringify(await bundleJson(sig, version)));
    const read = readKeylessBundle(bundle, version);
    expect(read.ok, JSON.stringify(read)).toBe(true);
    if (!read.ok) return;
    const evidence = await bundleEvidence(read.value, "bundle", message);
    expect(evidence).toEqual({ ok: true, value: toEvidence(sig, "bundle") });
  });

  it("a v0.3 bundle with a DSSE statement reads into the same evidence", async () => {
    const sig = await signCosignStatement(pki, DIGEST);
    const bundle = JSON.parse(JSON.stringify(await bundleJson(sig, "0.3")));
    const read = readKeylessBundle(bundle, "0.3");
    expect(read.ok, JSON.stringify(read)).toBe(true);
    if (!read.ok) return;
    const expected = toEvidence(sig, "bundle");
    // v0.3 carries the leaf alone.
    expect(await bundleEvidence(read.value, "bundle")).toEqual({ ok: true, value: { ...expected, chain: [] } });
  });
});
