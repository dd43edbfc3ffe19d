// The test PKI (test/support/sigstore-pki.ts) checked by an independent implementation: OpenSSL
// builds and verifies the leaf → intermediate → root chain at the signing time, reads the Fulcio
// extensions, and verifies the SCT, SET and checkpoint signatures with the logs' public keys.
import { execFileSync } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  cosignPayload,
  createSigstorePki,
  DEFAULT_IDENTITY,
  inclusionPath,
  issueLeaf,
  leafHash,
  merkleRoot,
  rootFromInclusionProof,
  sctSignedData,
  setPayload,
  signKeyless,
  toPem,
  type SigstorePki,
} from "../support/sigstore-pki";

const DIGEST = `sha256:${"cd".repeat(32)}`;

describe("the test PKI, checked with OpenSSL", () => {
  let pki: SigstorePki;
  let dir: string;
  const file = async (name: string, data: string | Uint8Array) => {
    const path = join(dir, name);
    await writeFile(path, data);
    return path;
  };
  const openssl = (...args: string[]) => execFileSync("openssl", args, { encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] });
  /** `openssl dgst -verify` with the key's SPKI: true when "Verified OK". */
  const dgstVerify = async (name: string, spki: Uint8Array, signature: Uint8Array, data: Uint8Array) => {
    const key = await file(`${name}.pub.pem`, toPem("PUBLIC KEY", spki));
    const sig = await file(`${name}.sig`, signature);
    const input = await file(`${name}.data`, data);
    try {
      return openssl("dgst", "-sha256", "-verify", key, "-signature", sig, input).includes("Verified OK");
    } catch {
      return false;
    }
  };

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "trustgate-keyless-pki-"));
    pki = await createSigstorePki();
  });
  afterAll(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("the chain verifies at the signing time, and not after the leaf's ten minutes", async () => {
    const leaf = await issueLeaf(pki, { ...DEFAULT_IDENTITY, extensions: { githubWorkflowRepository: "trustgate/demo" } });
    const root = await file("root.pem", pki.root.pem);
    const inter = await file("inter.pem", pki.intermediate.pem);
    const cert = await file("leaf.pem", leaf.pem);
    const at = String(Math.floor(leaf.notBefore.getTime() / 1000) + 120);
    expect(openssl("verify", "-x509_strict", "-attime", at, "-CAfile", root, "-untrusted", inter, cert)).toContain(": OK");
    const late = String(Math.floor(leaf.notAfter.getTime() / 1000) + 60);
    expect(() => openssl("verify", "-attime", late, "-CAfile", root, "-untrusted", inter, cert)).toThrow(/certificate has expired/);
    // A leaf of the rogue CA does not chain to the trusted root.
    const rogue = await file("rogue.pem", (await issueLeaf(pki, { ...DEFAULT_IDENTITY, rogueCa: true })).pem);
    const rogueInter = await file("rogue-inter.pem", pki.rogue.intermediate.pem);
    expect(() => openssl("verify", "-attime", at, "-CAfile", root, "-untrusted", rogueInter, rogue)).toThrow(/unable to get local issuer certificate/);

    const text = openssl("x509", "-in", cert, "-noout", "-text");
    expect(text).toContain("Digital Signature");
    expect(text).toContain("Code Signing");
    expect(text).toContain(`URI:${DEFAULT_IDENTITY.subject}`);
    expect(text).toContain("1.3.6.1.4.1.57264.1.1:");
    expect(text).toContain("1.3.6.1.4.1.57264.1.8:");
    expect(text).toMatch(/CT Precertificate SCTs:[\s\S]*Signed Certificate Timestamp:/);
    expect(openssl("x509", "-in", inter, "-noout", "-text")).toMatch(/CA:TRUE, pathlen:0/);
    const pre = await file("pre.der", leaf.precertificate);
    expect(openssl("x509", "-inform", "DER", "-in", pre, "-noout", "-text")).toContain("CT Precertificate Poison");
  });

  it("SCT, SET and checkpoint signatures verify under the logs' keys; the Merkle root recomputes", async () => {
    const payload = cosignPayload("registry.test/demo", DIGEST);
    const sig = await signKeyless(pki, { kind: "message", payload });
    expect(await dgstVerify("payload", sig.leaf.key.spki, sig.signature, payload)).toBe(true);

    // The SCT, read back from OpenSSL's own parse of the list (log ID) and from the extension bytes.
    const text = openssl("x509", "-in", await file("sct-leaf.pem", sig.leaf.pem), "-noout", "-text");
    const logIdHex = Buffer.from(pki.ctLog.key.keyId).toString("hex").toUpperCase().match(/../g)!.join(":");
    expect(text.replace(/\s+/g, "")).toContain(logIdHex);
    const der = Buffer.from(sig.leaf.der);
    const oid = Buffer.from([0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0xd6, 0x79, 0x02, 0x04, 0x02]);
    const at = der.indexOf(oid);
    expect(at).toBeGreaterThan(0);
    // OID, OCTET STRING (extnValue), OCTET STRING (the list), uint16 list length, uint16 SCT length, SCT.
    let p = at + oid.length;
    const skipHeader = () => {
      p += 1;
      const len = der[p]!;
      p += len & 0x80 ? 1 + (len & 0x7f) : 1;
    };
    skipHeader();
    skipHeader();
    p += 4;
    const sctSig = der.subarray(p + 47, p + 47 + der.readUInt16BE(p + 45));
    const signed = sctSignedData(sig.leaf.sctTimestamp!, new Uint8Array(await crypto.subtle.digest("SHA-256", pki.intermediate.key.spki as Uint8Array<ArrayBuffer>)), sig.leaf.sctSignedTbs);
    expect(await dgstVerify("sct", pki.ctLog.key.spki, sctSig, signed)).toBe(true);

    expect(await dgstVerify("set", pki.rekor.key.spki, sig.set!, setPayload(sig.body, sig.integratedTime, sig.logId, sig.logIndex))).toBe(true);
    const proof = sig.inclusionProof!;
    const [note, line] = proof.checkpoint.split("\n\n");
    const raw = Buffer.from(line!.split(" ")[2]!, "base64");
    expect(await dgstVerify("checkpoint", pki.rekor.key.spki, raw.subarray(4), Buffer.from(`${note}\n`))).toBe(true);
    expect(await dgstVerify("checkpoint-rogue", pki.rogue.rekor.key.spki, raw.subarray(4), Buffer.from(`${note}\n`))).toBe(false);

    const leaves = await Promise.all(pki.log.slice(0, proof.treeSize).map(leafHash));
    const root = await merkleRoot(leaves);
    expect(Buffer.from(root).equals(Buffer.from(proof.rootHash))).toBe(true);
    const recomputed = await rootFromInclusionProof(proof.logIndex, proof.treeSize, await leafHash(sig.body), proof.hashes);
    expect(Buffer.from(recomputed).equals(Buffer.from(proof.rootHash))).toBe(true);
    // Every leaf of a larger tree proves into it.
    for (let i = 0; i < 9; i++) await signKeyless(pki, { kind: "message", payload });
    const all = await Promise.all(pki.log.map(leafHash));
    const big = await merkleRoot(all);
    for (let i = 0; i < all.length; i++) {
      const r = await rootFromInclusionProof(i, all.length, all[i]!, await inclusionPath(i, all));
      expect(Buffer.from(r).equals(Buffer.from(big)), `leaf ${i} of ${all.length}`).toBe(true);
    }
  });
});
