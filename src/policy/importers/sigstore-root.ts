// An inline Sigstore trust root (protobuf-specs TrustedRoot JSON) from the loose key material other
// tools configure: a Fulcio CA's certificates, Rekor public keys, CT log public keys. Importers use
// it for private Sigstore deployments (Connaisseur's host.fulcioCert, containers-policy's caData).
//
// Each log is named by logId.keyId = sha256 of its SPKI (as Rekor and CT logs name themselves);
// no validity window is known, so each is valid from the epoch on, as cosign treats keys given
// outright.
import { sha256 } from "@noble/hashes/sha2.js";
import { DerError, parseCertificate, parseSpki } from "../../verify/shared/der";
import { base64Encode, parsePem } from "../../verify/shared/encoding";

const TRUSTED_ROOT_MEDIA_TYPE = "application/vnd.dev.sigstore.trustedroot+json;version=0.1";
const FROM_THE_START = { start: "1970-01-01T00:00:00Z" };

export interface LooseSigstoreMaterial {
  /** PEM certificates of the Fulcio CA, as given (intermediates first, the root last, or the root alone). */
  readonly fulcioCertificates: string;
  /** PEM public keys of the Rekor logs whose SETs and checkpoints are accepted. */
  readonly rekorKeys: readonly string[];
  /** PEM public keys of the CT logs whose SCTs are accepted. */
  readonly ctLogKeys: readonly string[];
  readonly rekorUrl?: string;
}

/** The trust root, or what is wrong with the material (for the importer's issue). */
export function looseTrustRoot(m: LooseSigstoreMaterial): { ok: true; root: Record<string, unknown> } | { ok: false; why: string; what: "fulcio" | "rekor" | "ctlog" } {
  const certs = parsePem(m.fulcioCertificates);
  if (!certs || certs.length === 0) return { ok: false, what: "fulcio", why: "no PEM certificate found" };
  for (const c of certs) {
    if (c.type !== "CERTIFICATE") return { ok: false, what: "fulcio", why: `expected PEM CERTIFICATE blocks, got ${c.type}` };
    try {
      parseCertificate(c.der);
    } catch (err) {
      return { ok: false, what: "fulcio", why: `not an X.509 certificate: ${err instanceof DerError ? err.message : String(err)}` };
    }
  }
  const logs = (pems: readonly string[], what: "rekor" | "ctlog", url?: string) => {
    const out: Record<string, unknown>[] = [];
    for (const pem of pems) {
      const block = parsePem(pem)?.[0];
      if (!block || block.type !== "PUBLIC KEY") return { ok: false as const, what, why: "expected a PEM PUBLIC KEY" };
      try {
        parseSpki(block.der);
      } catch (err) {
        return { ok: false as const, what, why: `not a public key: ${err instanceof DerError ? err.message : String(err)}` };
      }
      out.push({
        ...(url !== undefined ? { baseUrl: url } : {}),
        hashAlgorithm: "SHA2_256",
        publicKey: { rawBytes: base64Encode(block.der), validFor: FROM_THE_START },
        logId: { keyId: base64Encode(sha256(block.der)) },
      });
    }
    return { ok: true as const, logs: out };
  };
  const tlogs = logs(m.rekorKeys, "rekor", m.rekorUrl);
  if (!tlogs.ok) return tlogs;
  const ctlogs = logs(m.ctLogKeys, "ctlog");
  if (!ctlogs.ok) return ctlogs;
  return {
    ok: true,
    root: {
      mediaType: TRUSTED_ROOT_MEDIA_TYPE,
      certificateAuthorities: [
        { subject: {}, certChain: { certificates: certs.map((c) => ({ rawBytes: base64Encode(c.der) })) }, validFor: FROM_THE_START },
      ],
      tlogs: tlogs.logs,
      ctlogs: ctlogs.logs,
      timestampAuthorities: [],
    },
  };
}
