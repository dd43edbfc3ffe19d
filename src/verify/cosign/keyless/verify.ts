// Keyless verification of one signature: certificate chain, SCT, transparency log, identity.
//
// In sigstore-go's order (verify/signed_entity.go), each step failing closed with a
// KeylessFailureCode and a reason naming what was found and what was wanted:
//  1. the signature over the signed content (message: the payload; DSSE: PAE(type, payload))
//     under the signing certificate's key;
//  2. the transparency-log entries (unless ignoreTlog): each by a log of the trust root, its SET
//     and/or inclusion proof and checkpoint verified (Rekor v1; Rekor v2: proof and checkpoint),
//     its body recording this signature, certificate and content; one is required;
//  3. the signing time: the integrated time of an entry whose SET verified (an inclusion proof
//     alone dates nothing: sigstore-go does not trust an unsigned integrated time), else an RFC
//     3161 timestamp by a TSA of the trust root (Rekor v2 entries carry no signed time: they need
//     one); the certificate must be valid at every time that verified;
//  4. the certificate chain to a Fulcio CA of the trust root at that time;
//  5. code signing: extended key usage codeSigning, key usage digitalSignature;
//  6. the embedded SCT under a CT log of the trust root (unless ignoreSCT);
//  7. the identity against the policy's matchers, first match wins.
import { DerError, parseCertificate, parseExtendedKeyUsage, parseKeyUsage, type Certificate } from "../../shared/der";
import { bytesEqual, toHex } from "../../shared/encoding";
import { pae } from "./pae";
import { verifyChain, validAt, EKU_CODE_SIGNING } from "./chain";
import { defaultHash, verifyWithKey } from "./crypto";
import { fulcioIdentity, matcherProblem } from "./identity";
import { MAX_CERTIFICATE_BYTES, MAX_TIMESTAMPS, MAX_TLOG_ENTRIES } from "./limits";
import { verifyTimestamp } from "./rfc3161";
import { matchEntryBody } from "./rekor-body";
import { verifyEmbeddedScts } from "./sct";
import { findLog, logKeyValidAt, verifyInclusion, verifySet } from "./tlog";
import type { TrustedLogKey, TrustedRoot } from "./trusted-root";
import type { FulcioIdentity, IdentityMatcher, KeylessCheck, KeylessEvidence, KeylessFailureCode, KeylessOptions, SignedContent, TlogEntry } from "./types";

export { compileIdentityRegExp } from "./identity";

type Failure = Extract<KeylessCheck, { ok: false }>;
const fail = (code: KeylessFailureCode, why: string, identity?: FulcioIdentity): Failure => (identity ? { ok: false, code, why, identity } : { ok: false, code, why });

export { pae } from "./pae";

function signedBytes(signed: SignedContent): Uint8Array {
  return signed.kind === "dsse" ? pae(signed.payloadType, signed.payload) : signed.payload;
}

/**
 * The signature under the leaf's key with its curve's hash; for P-384/P-521 keys also SHA-256, which
 * older clients used (sigstore-go's compatibility verifier; cosign hashed with SHA-256 throughout).
 */
async function verifySigned(leaf: Certificate, evidence: KeylessEvidence): Promise<boolean> {
  const content = signedBytes(evidence.signed);
  const hash = defaultHash(leaf.spki);
  if (await verifyWithKey(leaf.spki, hash, evidence.signature, content)) return true;
  return hash !== "SHA-256" && leaf.spki.algorithm === "ecdsa-other" && (await verifyWithKey(leaf.spki, "SHA-256", evidence.signature, content));
}

export async function verifyKeyless(evidence: KeylessEvidence, root: TrustedRoot, options: KeylessOptions): Promise<KeylessCheck> {
  try {
    return await verifyUnguarded(evidence, root, options);
  } catch (err) {
    // A certificate or trust-root part that does not read, found past the first checks; anything
    // else thrown on the way is a deny too (fail closed), never an allow or a crash.
    if (err instanceof DerError) return fail("MALFORMED", `${evidence.source}: ${err.message}`);
    return fail("MALFORMED", `${evidence.source}: the signature could not be verified (${err instanceof Error ? err.message : String(err)})`);
  }
}

async function verifyUnguarded(evidence: KeylessEvidence, root: TrustedRoot, options: KeylessOptions): Promise<KeylessCheck> {
  if (evidence.certificate.length > MAX_CERTIFICATE_BYTES) return fail("MALFORMED", `the signing certificate is over ${MAX_CERTIFICATE_BYTES} bytes`);
  let leaf: Certificate;
  try {
    leaf = parseCertificate(evidence.certificate);
    if (leaf.extensionsProblem) throw new DerError(leaf.extensionsProblem);
  } catch (err) {
    if (err instanceof DerError) return fail("MALFORMED", `the signing certificate does not parse: ${err.message}`);
    throw err;
  }

  // 1. The signature under the certificate's key.
  if (!(await verifySigned(leaf, evidence))) {
    return fail("SIGNATURE_INVALID", `the ${evidence.signed.kind === "dsse" ? "DSSE envelope's" : "payload's"} signature does not verify under the signing certificate's key`);
  }

  // 2–3. The transparency log, and the time it vouches for (else an RFC 3161 timestamp's).
  let signedAt: Date | undefined;
  let timeSource: "tlog" | "rfc3161" = "tlog";
  let dateLater: readonly { log: TrustedLogKey; where: string }[] = [];
  if (!options.ignoreTlog) {
    const tlog = await verifyTlog(evidence, root);
    if (!tlog.ok) return tlog;
    signedAt = tlog.signedAt;
    dateLater = tlog.dateLater;
  }
  const stamps = await verifyTimestamps(evidence, root);
  if (!stamps.ok) return stamps;
  if (!signedAt && stamps.times.length > 0) {
    signedAt = stamps.times[0]!;
    timeSource = "rfc3161";
  }
  if (!signedAt) {
    if (stamps.problem) return fail("TIMESTAMP_INVALID", stamps.problem);
    return fail(
      "TIMESTAMP_INVALID",
      options.ignoreTlog
        ? "the policy ignores the transparency log and the signature carries no RFC 3161 timestamp, so nothing dates the signature"
        : "the log entry has an inclusion proof but no signed entry timestamp, and no RFC 3161 timestamp dates the signature (an integrated time only the proof carries is not signed)",
    );
  }
  // Rekor v2 log keys must have been valid when the signature was made.
  for (const { log, where } of dateLater) {
    const problem = logKeyValidAt(log, signedAt, true);
    if (problem) return fail("TLOG_UNTRUSTED", `${where}: ${problem}`);
  }

  // 4. The chain at the signing time.
  const chain = await verifyChain(leaf, evidence.chain, root, signedAt);
  if (!chain.ok) return fail(chain.code, chain.why);
  // Every other verified time must fall within the signing certificate's validity too (sigstore-go).
  for (const t of stamps.times) {
    if (!validAt(leaf, t)) {
      return fail("CERTIFICATE_EXPIRED", `the signing certificate was valid from ${leaf.notBefore.toISOString()} to ${leaf.notAfter.toISOString()}, not at the RFC 3161 timestamp's time ${t.toISOString()}`);
    }
  }

  // 5. A code-signing certificate.
  const usage = codeSigningProblem(leaf);
  if (usage) return fail("NOT_CODE_SIGNING", usage);

  // 6. The embedded SCT.
  if (!options.ignoreSCT) {
    const issuer = chain.path[1];
    if (!issuer) return fail("CERTIFICATE_UNTRUSTED", "the signing certificate has no issuer to check its SCT against");
    const sct = await verifyEmbeddedScts(leaf, issuer, root.ctlogs);
    if (!sct.ok) return fail(sct.code, sct.why);
  }

  // 7. The identity.
  let identity: FulcioIdentity;
  try {
    identity = fulcioIdentity(leaf);
  } catch (err) {
    if (err instanceof DerError) return fail("MALFORMED", err.message);
    throw err;
  }
  const problems: string[] = [];
  for (const [i, m] of options.identities.entries()) {
    const problem = matcherProblem(m, identity);
    if (problem === undefined) return { ok: true, identity, matched: i, signedAt, timeSource };
    problems.push(problem);
  }
  const shown = problems.slice(0, 4).map((p, i) => `(${describeMatcher(options.identities[i]!)}: ${p})`);
  return fail(
    "IDENTITY_MISMATCH",
    `the certificate names issuer ${identity.issuer}, subject ${identity.subject}; no identity of the policy accepts it ${shown.join(" ")}${problems.length > 4 ? ` and ${problems.length - 4} more` : ""}`.trim(),
    identity,
  );
}

function codeSigningProblem(leaf: Certificate): string | undefined {
  const eku = leaf.extensions.find((e) => e.oid === "2.5.29.37");
  if (!eku || !parseExtendedKeyUsage(eku.value).includes(EKU_CODE_SIGNING)) return "the signing certificate's extended key usage does not include code signing";
  const ku = leaf.extensions.find((e) => e.oid === "2.5.29.15");
  if (ku && !parseKeyUsage(ku.value)[0]) return "the signing certificate's key usage does not include digital signature";
  return undefined;
}

type TlogResult = { readonly ok: true; readonly signedAt?: Date; readonly dateLater: readonly { log: TrustedLogKey; where: string }[] } | Failure;

async function verifyTlog(evidence: KeylessEvidence, root: TrustedRoot): Promise<TlogResult> {
  const entries = evidence.tlogEntries;
  if (entries.length === 0) return fail("TLOG_MISSING", "the signature has no transparency-log entry (set ignoreTlog to accept that, with an RFC 3161 timestamp to date it)");
  if (entries.length > MAX_TLOG_ENTRIES) return fail("MALFORMED", `the signature has ${entries.length} log entries, over the limit of ${MAX_TLOG_ENTRIES}`);
  for (let i = 0; i < entries.length; i++) {
    for (let j = i + 1; j < entries.length; j++) {
      if (bytesEqual(entries[i]!.logId, entries[j]!.logId) && entries[i]!.logIndex === entries[j]!.logIndex) return fail("MALFORMED", `log entry ${entries[i]!.logIndex} is given twice`);
    }
  }
  const unknown: string[] = [];
  const dateLater: { log: TrustedLogKey; where: string }[] = [];
  let verified = 0;
  let signedAt: Date | undefined;
  for (const entry of entries) {
    const log = findLog(root.tlogs, entry.logId);
    if (!log) {
      unknown.push(toHex(entry.logId));
      continue;
    }
    const where = `log entry ${entry.logIndex} of ${log.baseUrl ?? toHex(entry.logId)}`;
    if (!Number.isSafeInteger(entry.integratedTime) || entry.integratedTime < 0) return fail("MALFORMED", `${where} has no valid integrated time`);
    const integrated = new Date(entry.integratedTime * 1000);
    const proof = entry.inclusionProof;
    let origin: string | undefined;
    if (isRekorV2(entry)) {
      // Rekor v2: no SET and no integrated time; the proof's checkpoint names the log by its host,
      // and the key's validity is checked at the signing time a timestamp gives.
      if (!proof || proof.checkpoint === "") return fail("TLOG_INVALID", `${where} is a Rekor v2 entry without an inclusion proof and checkpoint`);
      origin = hostOf(log.baseUrl);
      if (origin === undefined) return fail("TLOG_UNTRUSTED", `${where} is a Rekor v2 entry, and the trust root gives its log no baseUrl to name its checkpoints`);
      dateLater.push({ log, where });
    } else {
      if (!entry.signedEntryTimestamp && (!proof || proof.checkpoint === "")) return fail("TLOG_INVALID", `${where} has neither a signed entry timestamp nor an inclusion proof with a checkpoint`);
      const keyProblem = logKeyValidAt(log, integrated, true);
      if (keyProblem) return fail("TLOG_UNTRUSTED", `${where}: ${keyProblem}`);
      if (entry.signedEntryTimestamp) {
        const set = await verifySet(entry, log);
        if (!set.ok) return fail("TLOG_INVALID", set.why);
      }
    }
    if (proof) {
      const inclusion = await verifyInclusion({ ...entry, inclusionProof: proof }, log, origin);
      if (!inclusion.ok) return fail("TLOG_INVALID", inclusion.why);
    }
    const body = await matchEntryBody(entry, evidence.signature, evidence.certificate, evidence.signed);
    if (!body.ok) return fail(body.malformed ? "MALFORMED" : "TLOG_MISMATCH", `${where}: ${body.why}`);
    verified++;
    if (entry.signedEntryTimestamp && origin === undefined && !signedAt) signedAt = integrated;
  }
  if (verified === 0) {
    const known = root.tlogs.map((l) => toHex(l.logId)).join(", ") || "none";
    return fail("TLOG_UNTRUSTED", `the log entry is by log ${unknown.join(", ")}, which the trust root does not know (it knows ${known})`);
  }
  return { ok: true, dateLater, ...(signedAt ? { signedAt } : {}) };
}

/** Rekor v2 entries: hashedrekord (or dsse) 0.0.2, as the entry or its body says. */
function isRekorV2(entry: TlogEntry): boolean {
  let kind = entry.kind;
  let version = entry.version;
  if (kind === undefined || version === undefined) {
    try {
      const body = JSON.parse(new TextDecoder().decode(entry.canonicalizedBody)) as { kind?: unknown; apiVersion?: unknown };
      kind = String(body.kind);
      version = String(body.apiVersion);
    } catch {
      return false;
    }
  }
  return version === "0.0.2" && (kind === "hashedrekord" || kind === "dsse");
}

function hostOf(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return new URL(url).hostname || undefined;
  } catch {
    return undefined;
  }
}

type StampResult = { readonly ok: true; readonly times: readonly Date[]; readonly problem?: string } | Failure;

/** The RFC 3161 timestamps that verify (by distinct authorities); why the others do not. */
async function verifyTimestamps(evidence: KeylessEvidence, root: TrustedRoot): Promise<StampResult> {
  const stamps = evidence.rfc3161Timestamps;
  if (stamps.length === 0) return { ok: true, times: [] };
  if (stamps.length > MAX_TIMESTAMPS) return fail("MALFORMED", `the signature has ${stamps.length} RFC 3161 timestamps, over the limit of ${MAX_TIMESTAMPS}`);
  const times: Date[] = [];
  const used = new Set<unknown>();
  const problems: string[] = [];
  for (const der of stamps) {
    const check = await verifyTimestamp(der, evidence.signature, root.timestampAuthorities);
    if (!check.ok) problems.push(check.why);
    else if (!used.has(check.authority)) {
      used.add(check.authority);
      times.push(check.time);
    }
  }
  return problems.length > 0 ? { ok: true, times, problem: problems.join("; ") } : { ok: true, times };
}

/** How a matcher is said in reasons: "issuer https://… subject ~^https://github.com/org/". */
export function describeMatcher(m: IdentityMatcher): string {
  const issuer = m.issuer ?? (m.issuerRegExp === undefined ? "any issuer" : `issuer matching ${m.issuerRegExp}`);
  const subject = m.subject ?? (m.subjectRegExp === undefined ? "any subject" : `subject matching ${m.subjectRegExp}`);
  return `${issuer}, ${subject}`;
}
