// Loads test/vectors/sigstore (real public-good Sigstore data, see its SOURCE.md) and turns a
// Sigstore bundle into KeylessEvidence the way a reader of bundles would: enough for the
// verifier's tests, not the product's bundle reader.
import { parseTrustedRoot, type TrustedRoot } from "../../src/verify/cosign/keyless/trusted-root";
import type { KeylessEvidence, TlogEntry } from "../../src/verify/cosign/keyless/types";

const files = import.meta.glob("../vectors/sigstore/*.{json,txt}", { query: "?raw", import: "default", eager: true }) as Record<string, string>;

export function vectorText(name: string): string {
  const text = files[`../vectors/sigstore/${name}`];
  if (text === undefined) throw new Error(`no vector file ${name}`);
  return text;
}

export const utf8 = (s: string) => new TextEncoder().encode(s);

export function b64(s: string): Uint8Array {
  const bin = atob(s);
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

export function trustedRoot(name = "trusted-root-public-good.json"): TrustedRoot {
  const parsed = parseTrustedRoot(utf8(vectorText(name)));
  if (!parsed.ok) throw new Error(parsed.why);
  return parsed.value;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

function tlogEntry(e: Json): TlogEntry {
  const proof = e.inclusionProof;
  return {
    logIndex: Number(e.logIndex),
    logId: b64(e.logId.keyId),
    integratedTime: Number(e.integratedTime ?? 0),
    kind: e.kindVersion?.kind,
    version: e.kindVersion?.version,
    canonicalizedBody: b64(e.canonicalizedBody),
    ...(e.inclusionPromise ? { signedEntryTimestamp: b64(e.inclusionPromise.signedEntryTimestamp) } : {}),
    ...(proof
      ? {
          inclusionProof: {
            logIndex: Number(proof.logIndex),
            rootHash: b64(proof.rootHash),
            treeSize: Number(proof.treeSize),
            hashes: proof.hashes.map(b64),
            checkpoint: proof.checkpoint?.envelope ?? "",
          },
        }
      : {}),
  };
}

/** A bundle file's evidence; `artifact` is the signed file for message signatures. */
export function bundleEvidence(name: string, artifact?: Uint8Array): KeylessEvidence {
  const b: Json = JSON.parse(vectorText(name));
  const vm = b.verificationMaterial;
  const certs: Uint8Array[] = vm.certificate ? [b64(vm.certificate.rawBytes)] : vm.x509CertificateChain.certificates.map((c: Json) => b64(c.rawBytes));
  const [certificate, ...chain] = certs;
  const common = { source: name, certificate: certificate!, chain, tlogEntries: (vm.tlogEntries ?? []).map(tlogEntry), rfc3161Timestamps: [] };
  if (b.dsseEnvelope) {
    const env = b.dsseEnvelope;
    return { ...common, signature: b64(env.signatures[0].sig), signed: { kind: "dsse", payloadType: env.payloadType, payload: b64(env.payload) } };
  }
  if (!artifact) throw new Error(`${name} is a message signature: give the artifact`);
  return { ...common, signature: b64(b.messageSignature.signature), signed: { kind: "message", payload: artifact } };
}
