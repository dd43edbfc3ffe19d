// The signing certificate's path to a Fulcio CA of the trust root, at the signing time, as Go's
// x509.Verify builds it for sigstore-go (roots: each CA's last certificate; intermediates: the
// CA's others, plus those the evidence carries): each link's issuer name is its parent's subject
// and its signature verifies under the parent's key; every parent is a CA; every certificate, and
// the CA's validFor window, covers the signing time; no unhandled critical extension.
import { DerError, parseCertificate, parseExtendedKeyUsage, type Certificate } from "../../shared/der";
import { bytesEqual } from "../../shared/encoding";
import { signatureAlgorithmHash, verifyWithKey } from "./crypto";
import { MAX_CERTIFICATE_BYTES, MAX_CHAIN_CERTIFICATES } from "./limits";
import type { TrustedCertificateAuthority, TrustedRoot } from "./trusted-root";
import type { KeylessFailureCode } from "./types";

export const EKU_CODE_SIGNING = "1.3.6.1.5.5.7.3.3";
const EKU_ANY = "2.5.29.37.0";
const EXT = {
  keyUsage: "2.5.29.15",
  subjectAltName: "2.5.29.17",
  basicConstraints: "2.5.29.19",
  extKeyUsage: "2.5.29.37",
  nameConstraints: "2.5.29.30",
  certificatePolicies: "2.5.29.32",
} as const;
// What Go's x509 handles when critical (apart from name constraints, refused below).
const HANDLED_CRITICAL = new Set<string>([EXT.keyUsage, EXT.subjectAltName, EXT.basicConstraints, EXT.extKeyUsage, EXT.certificatePolicies]);

export type ChainCheck =
  | { readonly ok: true; readonly path: readonly Certificate[]; readonly authority: TrustedCertificateAuthority }
  | { readonly ok: false; readonly code: KeylessFailureCode; readonly why: string };

/** A trust-root CA's certificates, parsed, and whether its own links verified; kept per parsed root. */
interface Authority {
  readonly certs: readonly Certificate[];
  linksOk?: Promise<string | undefined>;
}
const authorities = new WeakMap<TrustedCertificateAuthority, Authority>();

function authorityOf(ca: TrustedCertificateAuthority): Authority {
  let a = authorities.get(ca);
  if (!a) {
    a = { certs: ca.chain.map((der) => parseCertificate(der)) };
    authorities.set(ca, a);
  }
  return a;
}

export function describeCertificate(c: Certificate): string {
  return c.commonName ? `"${c.commonName}"` : "a certificate without a common name";
}

/** Why `child` is not issued by `parent`, or undefined when it is. */
async function linkProblem(child: Certificate, parent: Certificate): Promise<string | undefined> {
  if (!bytesEqual(child.issuerName, parent.subjectName)) return `${describeCertificate(child)} is not issued by ${describeCertificate(parent)}`;
  if (!parent.isCA) return `${describeCertificate(parent)} is not a CA certificate`;
  const hash = signatureAlgorithmHash(child.signatureAlgorithm);
  if (!hash) return `${describeCertificate(child)} is signed with an unsupported algorithm (${child.signatureAlgorithm})`;
  if (!(await verifyWithKey(parent.spki, hash, child.signature, child.tbs))) return `the signature on ${describeCertificate(child)} does not verify under ${describeCertificate(parent)}`;
  return undefined;
}

function extensionProblem(c: Certificate): string | undefined {
  const seen = new Set<string>();
  for (const e of c.extensions) {
    if (seen.has(e.oid)) return `${describeCertificate(c)} has the extension ${e.oid} twice`;
    seen.add(e.oid);
    if (e.oid === EXT.nameConstraints) return `${describeCertificate(c)} has name constraints, which keyless verification does not support`;
    if (e.critical && !HANDLED_CRITICAL.has(e.oid)) return `${describeCertificate(c)} has an unhandled critical extension ${e.oid}`;
  }
  return undefined;
}

/** Go's EKU nesting: a CA that restricts extended key usage must allow code signing. */
function ekuProblem(c: Certificate): string | undefined {
  const ext = c.extensions.find((e) => e.oid === EXT.extKeyUsage);
  if (!ext) return undefined;
  const usages = parseExtendedKeyUsage(ext.value);
  return usages.includes(EKU_CODE_SIGNING) || usages.includes(EKU_ANY) ? undefined : `${describeCertificate(c)} does not allow code signing (extended key usage)`;
}

function validAt(c: Certificate, at: Date): boolean {
  // Go compares at second precision; certificates carry whole seconds.
  return at.getTime() >= c.notBefore.getTime() && at.getTime() <= c.notAfter.getTime() + 999;
}

function windowProblem(ca: TrustedCertificateAuthority, at: Date): string | undefined {
  if (ca.validFrom && at < ca.validFrom) return `the CA ${ca.uri ?? ""} is trusted from ${ca.validFrom.toISOString()}`;
  if (ca.validTo && at > ca.validTo) return `the CA ${ca.uri ?? ""} was trusted until ${ca.validTo.toISOString()}`;
  return undefined;
}

export async function verifyChain(leaf: Certificate, carried: readonly Uint8Array[], root: TrustedRoot, at: Date): Promise<ChainCheck> {
  if (root.certificateAuthorities.length === 0) return { ok: false, code: "CERTIFICATE_UNTRUSTED", why: "the trust root names no Fulcio certificate authority" };
  let extra: Certificate[];
  try {
    if (carried.length > MAX_CHAIN_CERTIFICATES) return { ok: false, code: "MALFORMED", why: `the signature carries ${carried.length} chain certificates, over the limit of ${MAX_CHAIN_CERTIFICATES}` };
    extra = carried.map((der) => {
      if (der.length > MAX_CERTIFICATE_BYTES) throw new DerError(`a chain certificate is over ${MAX_CERTIFICATE_BYTES} bytes`);
      return parseCertificate(der);
    });
  } catch (err) {
    if (err instanceof DerError) return { ok: false, code: "MALFORMED", why: `a chain certificate does not parse: ${err.message}` };
    throw err;
  }
  const problems: string[] = [];
  for (const ca of root.certificateAuthorities) {
    const result = await pathThrough(leaf, extra, ca, at);
    if (result.ok) return result;
    problems.push(result.why);
    if (result.code !== "CERTIFICATE_UNTRUSTED") return result;
  }
  return { ok: false, code: "CERTIFICATE_UNTRUSTED", why: `the certificate does not chain to a Fulcio CA of the trust root: ${[...new Set(problems)].join("; ")}` };
}

async function pathThrough(leaf: Certificate, extra: readonly Certificate[], ca: TrustedCertificateAuthority, at: Date): Promise<ChainCheck> {
  const untrusted = (why: string): ChainCheck => ({ ok: false, code: "CERTIFICATE_UNTRUSTED", why });
  const authority = authorityOf(ca);
  // Climb from the leaf through carried intermediates until a certificate of this CA issues one.
  const path: Certificate[] = [leaf];
  let anchorIndex = -1;
  let lastProblem = `no certificate of the CA ${ca.uri ?? ""} issued ${describeCertificate(leaf)}`.replace("  ", " ");
  while (anchorIndex < 0 && path.length <= MAX_CHAIN_CERTIFICATES) {
    const current = path[path.length - 1]!;
    let next: Certificate | undefined;
    for (const [i, c] of authority.certs.entries()) {
      const problem = bytesEqual(c.subjectName, current.issuerName) ? await linkProblem(current, c) : "skip";
      if (problem === undefined) {
        anchorIndex = i;
        break;
      }
      if (problem !== "skip") lastProblem = problem;
    }
    if (anchorIndex >= 0) break;
    for (const c of extra) {
      if (path.includes(c) || !bytesEqual(c.subjectName, current.issuerName)) continue;
      const problem = await linkProblem(current, c);
      if (problem === undefined) {
        next = c;
        break;
      }
      lastProblem = problem;
    }
    if (!next) return untrusted(lastProblem);
    path.push(next);
  }
  if (anchorIndex < 0) return untrusted(`the chain is longer than ${MAX_CHAIN_CERTIFICATES} certificates`);
  // The CA's own links, verified once per parsed trust root.
  authority.linksOk ??= (async () => {
    for (let i = 0; i + 1 < authority.certs.length; i++) {
      const problem = await linkProblem(authority.certs[i]!, authority.certs[i + 1]!);
      if (problem) return problem;
    }
    return undefined;
  })();
  const caProblem = await authority.linksOk;
  if (caProblem) return untrusted(`the trust root's CA chain is broken: ${caProblem}`);
  path.push(...authority.certs.slice(anchorIndex));

  const window = windowProblem(ca, at);
  if (window) return untrusted(`${window}, not at the signing time ${at.toISOString()}`);
  for (const c of path) {
    const problem = extensionProblem(c);
    if (problem) return untrusted(problem);
  }
  for (const c of path.slice(1)) {
    const problem = ekuProblem(c);
    if (problem) return untrusted(problem);
  }
  if (!validAt(leaf, at)) {
    return {
      ok: false,
      code: "CERTIFICATE_EXPIRED",
      why: `the signing certificate was valid from ${leaf.notBefore.toISOString()} to ${leaf.notAfter.toISOString()}, not at the signing time ${at.toISOString()}`,
    };
  }
  for (const c of path.slice(1)) {
    if (!validAt(c, at)) return untrusted(`the CA certificate ${describeCertificate(c)} was valid from ${c.notBefore.toISOString()} to ${c.notAfter.toISOString()}, not at the signing time ${at.toISOString()}`);
  }
  return { ok: true, path, authority: ca };
}
