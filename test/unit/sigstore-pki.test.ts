// The private Sigstore-like PKI (test/support/sigstore-pki.ts) makes what it says: certificates the
// core's DER reader parses, chains and SCTs that verify, SETs and checkpoints by the right keys,
// inclusion proofs that lead to the checkpoint's root, and the negative cases' knobs doing their one thing.
import { beforeAll, describe, expect, it } from "vitest";
import { children, decodeOid, parseCertificate, readSingle, TAG, type DerNode } from "../../src/verify/shared/der";
import { base64Decode, bytesEqual, sha256, toHex } from "../../src/verify/shared/encoding";
import {
  ANNOTATIONS,
  BUNDLE_MEDIA_TYPES,
  bundleJson,
  cosignPayload,
  cosignStatement,
  createSigstorePki,
  DEFAULT_IDENTITY,
  IN_TOTO_PAYLOAD_TYPE,
  issueLeaf,
  leafHash,
  legacyLayer,
  pae,
  rootFromInclusionProof,
  sctSignedData,
  setPayload,
  signKeyless,
  toEvidence,
  type EcKey,
  type SigstorePki,
} from "../support/sigstore-pki";

const DIGEST = `sha256:${"ab".repeat(32)}`;

/** DER ECDSA signature → raw r‖s for Web Crypto. */
function rawSignature(der: Uint8Array, size: number): Uint8Array {
  const [r, s] = children(readSingle(der, TAG.SEQUENCE));
  const fix = (n: DerNode) => {
    const v = n.value[0] === 0 ? n.value.subarray(1) : n.value;
    const out = new Uint8Array(size);
    out.set(v, size - v.length);
    return out;
  };
  return new Uint8Array([...fix(r!), ...fix(s!)]);
}

async function verifyWith(spki: Uint8Array, der: Uint8Array, data: Uint8Array, curve: "P-256" | "P-384" = "P-256"): Promise<boolean> {
  const key = await crypto.subtle.importKey("spki", spki, { name: "ECDSA", namedCurve: curve }, false, ["verify"]);
  const size = curve === "P-384" ? 48 : 32;
  return crypto.subtle.verify({ name: "ECDSA", hash: curve === "P-384" ? "SHA-384" : "SHA-256" }, key, rawSignature(der, size), data);
}

/** Extensions of a certificate: OID → { critical, value (extnValue contents) }. */
function extensionsOf(der: Uint8Array): Map<string, { critical: boolean; value: Uint8Array }> {
  const [tbs] = children(readSingle(der, TAG.SEQUENCE));
  const wrapper = children(tbs!).find((n) => n.tag === 0xa3)!;
  const out = new Map<string, { critical: boolean; value: Uint8Array }>();
  for (const ext of children(children(wrapper)[0]!)) {
    const parts = children(ext);
    out.set(decodeOid(parts[0]!), { critical: parts.length === 3, value: parts[parts.length - 1]!.value });
  }
  return out;
}

describe("sigstore-pki", () => {
  let pki: SigstorePki;
  beforeAll(async () => {
    pki = await createSigstorePki();
  });

  it("makes a P-384 root and intermediate that chain, named in trusted_root.json", async () => {
    const root = parseCertificate(pki.root.der);
    const inter = parseCertificate(pki.intermediate.der);
    expect(root.isCA && root.selfIssued).toBe(true);
    expect(inter.isCA && !inter.selfIssued).toBe(true);
    expect(root.signatureAlgorithm).toBe("1.2.840.10045.4.3.3");
    expect(await verifyWith(root.spki.der, root.signature, root.tbs, "P-384")).toBe(true);
    expect(await verifyWith(root.spki.der, inter.signature, inter.tbs, "P-384")).toBe(true);

    const tr = JSON.parse(pki.trustedRootJson);
    expect(tr.mediaType).toBe("application/vnd.dev.sigstore.trustedroot+json;version=0.1");
    expect(tr.certificateAuthorities[0].certChain.certificates.map((c: any) => c.rawBytes)).toEqual([
      btoa(String.fromCharCode(...pki.intermediate.der)),
      btoa(String.fromCharCode(...pki.root.der)),
    ]);
    expect(base64Decode(tr.tlogs[0].logId.keyId)).toEqual(await sha256(pki.rekor.key.spki));
    expect(base64Decode(tr.ctlogs[0].publicKey.rawBytes)).toEqual(pki.ctLog.key.spki);
    expect(tr.tlogs[0].baseUrl).toContain(pki.rekor.origin.split(" ")[0]);
  });

  it("issues a Fulcio-like leaf: SAN, issuer in .1.1 and .1.8, GitHub extensions, code signing, an SCT that verifies", async () => {
    const leaf = await issueLeaf(pki, {
      subject: DEFAULT_IDENTITY.subject,
      issuer: DEFAULT_IDENTITY.issuer,
      extensions: { githubWorkflowRepository: "trustgate/demo", sourceRepositoryURI: "https://github.com/trustgate/demo" },
    });
    const cert = parseCertificate(leaf.der);
    expect(cert.isCA).toBe(false);
    expect(cert.notAfter.getTime() - cert.notBefore.getTime()).toBe(10 * 60_000);
    expect(await verifyWith(pki.intermediate.key.spki, cert.signature, cert.tbs, "P-384")).toBe(true);

    const ext = extensionsOf(leaf.der);
    const text = (b: Uint8Array) => new TextDecoder().decode(b);
    expect(text(ext.get("1.3.6.1.4.1.57264.1.1")!.value)).toBe(DEFAULT_IDENTITY.issuer);
    const v2 = readSingle(ext.get("1.3.6.1.4.1.57264.1.8")!.value, TAG.UTF8_STRING);
    expect(text(v2.value)).toBe(DEFAULT_IDENTITY.issuer);
    expect(text(ext.get("1.3.6.1.4.1.57264.1.5")!.value)).toBe("trustgate/demo"); // legacy: raw
    expect(text(readSingle(ext.get("1.3.6.1.4.1.57264.1.12")!.value, TAG.UTF8_STRING).value)).toBe("https://github.com/trustgate/demo");
    const san = ext.get("2.5.29.17")!;
    expect(san.critical).toBe(true);
    const [name] = children(readSingle(san.value, TAG.SEQUENCE));
    expect(name!.tag).toBe(0x86);
    expect(text(name!.value)).toBe(DEFAULT_IDENTITY.subject);
    expect(ext.get("2.5.29.15")).toEqual({ critical: true, value: Uint8Array.of(0x03, 0x02, 0x07, 0x80) });
    const eku = children(readSingle(ext.get("2.5.29.37")!.value, TAG.SEQUENCE)).map(decodeOid);
    expect(eku).toEqual(["1.3.6.1.5.5.7.3.3"]);

    // The SCT: TLS list in an OCTET STRING; it verifies over the TBS without the SCT list.
    const list = readSingle(ext.get("1.3.6.1.4.1.11129.2.4.2")!.value, TAG.OCTET_STRING).value;
    const view = new DataView(list.buffer, list.byteOffset, list.length);
    expect(view.getUint16(0)).toBe(list.length - 2);
    const sct = list.subarray(4, 4 + view.getUint16(2));
    expect(sct[0]).toBe(0);
    expect(sct.subarray(1, 33)).toEqual(pki.ctLog.key.keyId);
    const timestamp = Number(new DataView(sct.buffer, sct.byteOffset + 33, 8).getBigUint64(0));
    expect(timestamp).toBe(leaf.sctTimestamp);
    expect([...sct.subarray(43, 45)]).toEqual([4, 3]);
    const sig = sct.subarray(47);
    const signed = sctSignedData(timestamp, await sha256(pki.intermediate.key.spki), leaf.sctSignedTbs);
    expect(await verifyWith(pki.ctLog.key.spki, sig, signed)).toBe(true);
    // The precertificate's TBS is the signed TBS plus the poison extension.
    const preExt = extensionsOf(leaf.precertificate);
    expect(preExt.get("1.3.6.1.4.1.11129.2.4.3")?.critical).toBe(true);
    expect(preExt.has("1.3.6.1.4.1.11129.2.4.2")).toBe(false);
    // Removing the SCT list from the final TBS gives the signed TBS byte for byte.
    const [tbs] = children(readSingle(leaf.der, TAG.SEQUENCE));
    expect(toHex(tbs!.raw).length).toBeGreaterThan(toHex(leaf.sctSignedTbs).length);
  });

  it("knobs: no SCT, an SCT by a rogue CT log, a rogue CA, an email subject", async () => {
    const none = await issueLeaf(pki, { subject: "alice@example.com", issuer: "https://accounts.example.com", sct: "none" });
    expect(extensionsOf(none.der).has("1.3.6.1.4.1.11129.2.4.2")).toBe(false);
    const [email] = children(readSingle(extensionsOf(none.der).get("2.5.29.17")!.value, TAG.SEQUENCE));
    expect(email!.tag).toBe(0x81);
    const rogue = await issueLeaf(pki, { ...DEFAULT_IDENTITY, sct: "rogue" });
    const list = readSingle(extensionsOf(rogue.der).get("1.3.6.1.4.1.11129.2.4.2")!.value, TAG.OCTET_STRING).value;
    expect(list.subarray(5, 37)).toEqual(pki.rogue.ctLog.key.keyId);
    const rogueCa = await issueLeaf(pki, { ...DEFAULT_IDENTITY, rogueCa: true });
    const cert = parseCertificate(rogueCa.der);
    expect(await verifyWith(pki.intermediate.key.spki, cert.signature, cert.tbs, "P-384")).toBe(false);
    expect(await verifyWith(pki.rogue.intermediate.key.spki, cert.signature, cert.tbs, "P-384")).toBe(true);
  });

  async function checkLog(sig: Awaited<ReturnType<typeof signKeyless>>, setKey: EcKey, cpKey: EcKey) {
    const set = await verifyWith(setKey.spki, sig.set!, setPayload(sig.body, sig.integratedTime, sig.logId, sig.logIndex));
    const proof = sig.inclusionProof!;
    const root = await rootFromInclusionProof(proof.logIndex, proof.treeSize, await leafHash(sig.body), proof.hashes);
    const [note, sigLine] = proof.checkpoint.split("\n\n");
    const [origin, size, rootB64] = note!.split("\n");
    const m = /^\u2014 (\S+) (\S+)\n$/.exec(sigLine!)!;
    const raw = base64Decode(m[2]!)!;
    const checkpoint = await verifyWith(cpKey.spki, raw.subarray(4), new TextEncoder().encode(`${note}\n`));
    return {
      set,
      rootMatches: bytesEqual(root, proof.rootHash),
      checkpoint,
      origin,
      size: Number(size),
      rootInNote: bytesEqual(base64Decode(rootB64!)!, proof.rootHash),
      name: m[1],
      hint: raw.subarray(0, 4),
    };
  }

  it("logs a hashedrekord entry with a SET and an inclusion proof under a signed checkpoint", async () => {
    const payload = cosignPayload("registry.test/demo", DIGEST);
    const sig = await signKeyless(pki, { kind: "message", payload });
    const body = JSON.parse(new TextDecoder().decode(sig.body));
    expect(Object.keys(body)).toEqual(["apiVersion", "kind", "spec"]);
    expect(body.spec.data.hash).toEqual({ algorithm: "sha256", value: toHex(await sha256(payload)) });
    expect(atob(body.spec.signature.publicKey.content)).toBe(sig.leaf.pem);
    expect(base64Decode(body.spec.signature.content)).toEqual(sig.signature);
    expect(await verifyWith(sig.leaf.key.spki, sig.signature, payload)).toBe(true);
    expect(sig.logIndex).toBeGreaterThanOrEqual(5);

    const log = await checkLog(sig, pki.rekor.key, pki.rekor.key);
    expect(log).toMatchObject({ set: true, rootMatches: true, checkpoint: true, origin: pki.rekor.origin, size: sig.inclusionProof!.treeSize, rootInNote: true, name: "rekor.trustgate-test.test" });
    expect(log.hint).toEqual(pki.rekor.key.keyId.subarray(0, 4));

    const layer = legacyLayer(sig);
    expect(layer.payload).toEqual(payload);
    expect(Object.keys(layer.annotations)).toEqual([ANNOTATIONS.signature, ANNOTATIONS.certificate, ANNOTATIONS.chain, ANNOTATIONS.bundle]);
    const rb = JSON.parse(layer.annotations[ANNOTATIONS.bundle]!);
    expect(rb.Payload).toEqual({ body: btoa(String.fromCharCode(...sig.body)), integratedTime: sig.integratedTime, logIndex: sig.logIndex, logID: toHex(pki.rekor.key.keyId) });

    for (const version of ["0.1", "0.2"] as const) {
      const b = (await bundleJson(sig, version)) as any;
      expect(b.mediaType).toBe(BUNDLE_MEDIA_TYPES[version]);
      expect(b.verificationMaterial.x509CertificateChain.certificates).toHaveLength(3);
      expect(b.messageSignature.messageDigest.digest).toBe(btoa(String.fromCharCode(...(await sha256(payload)))));
      expect(b.verificationMaterial.tlogEntries[0].inclusionProof.treeSize).toBe(String(sig.inclusionProof!.treeSize));
    }
  });

  it("logs a DSSE entry for a v0.3 bundle as cosign v3 writes it", async () => {
    const statement = cosignStatement(DIGEST);
    const sig = await signKeyless(pki, { kind: "dsse", payloadType: IN_TOTO_PAYLOAD_TYPE, payload: statement });
    expect(await verifyWith(sig.leaf.key.spki, sig.signature, pae(IN_TOTO_PAYLOAD_TYPE, statement))).toBe(true);
    const body = JSON.parse(new TextDecoder().decode(sig.body));
    expect(body.kind).toBe("dsse");
    expect(body.spec.payloadHash.value).toBe(toHex(await sha256(statement)));
    expect(base64Decode(body.spec.signatures[0].signature)).toEqual(sig.signature);
    const b = (await bundleJson(sig, "0.3")) as any;
    expect(b.mediaType).toBe("application/vnd.dev.sigstore.bundle.v0.3+json");
    expect(base64Decode(b.verificationMaterial.certificate.rawBytes)).toEqual(sig.leaf.der);
    expect(b.dsseEnvelope.payloadType).toBe(IN_TOTO_PAYLOAD_TYPE);
    expect(b.verificationMaterial.tlogEntries[0].kindVersion).toEqual({ kind: "dsse", version: "0.0.1" });
    expect((await checkLog(sig, pki.rekor.key, pki.rekor.key)).rootMatches).toBe(true);
    expect(toEvidence(sig).signed).toEqual({ kind: "dsse", payloadType: IN_TOTO_PAYLOAD_TYPE, payload: statement });
  });

  it("knobs: SET and checkpoint by a rogue key, a tampered body, a time outside the certificate", async () => {
    const payload = cosignPayload("registry.test/demo", DIGEST);
    const rogue = await signKeyless(pki, { kind: "message", payload }, { set: "rogue", checkpoint: "rogue" });
    expect(rogue.logId).toEqual(pki.rogue.rekor.key.keyId);
    const r = await checkLog(rogue, pki.rogue.rekor.key, pki.rogue.rekor.key);
    expect([r.set, r.checkpoint]).toEqual([true, true]);
    const t = await checkLog(rogue, pki.rekor.key, pki.rekor.key);
    expect([t.set, t.checkpoint]).toEqual([false, false]);

    const forged = await signKeyless(pki, { kind: "message", payload }, { set: "forged" });
    expect(forged.logId).toEqual(pki.rekor.key.keyId);
    expect((await checkLog(forged, pki.rekor.key, pki.rekor.key)).set).toBe(false);

    const tampered = await signKeyless(pki, { kind: "message", payload }, { tamperBody: true });
    const c = await checkLog(tampered, pki.rekor.key, pki.rekor.key);
    expect([c.set, c.rootMatches, c.checkpoint]).toEqual([false, false, true]);
    expect(() => JSON.parse(new TextDecoder().decode(tampered.body))).not.toThrow();

    const late = await signKeyless(pki, { kind: "message", payload }, { integratedTime: Math.floor(Date.now() / 1000) + 3600 });
    expect(late.integratedTime * 1000).toBeGreaterThan(late.leaf.notAfter.getTime());
    expect((await checkLog(late, pki.rekor.key, pki.rekor.key)).set).toBe(true);
  });
});
