// Keyless verification of one signature: certificate chain, SCT, transparency log, identity.
//
// In sigstore-go's order (verify/signed_entity.go), each step failing closed with a
// KeylessFailureCode and a reason naming what was found and what was wanted:
//  1. the signature over the signed content (message: the payload; DSSE: PAE(type, payload))
//     under the signing certificate's key;
//  2. the transparency-log entries (unless ignoreTlog): each by a log of the trust root, its SET
//     and/or inclusion proof and checkpoint verified, its body recording this signature,
//     certificate and content; one is required;
//  3. the signing time: the integrated time of an entry whose SET verified (an inclusion proof
//     alone dates nothing: sigstore-go does not trust an unsigned integrated time);
//  4. the certificate chain to a Fulcio CA of the trust root at that time;
//  5. code signing: extended key usage codeSigning, key usage digitalSignature;
//  6. the embedded SCT under a CT log of the trust root (unless ignoreSCT);
//  7. the identity against the policy's matchers, first match wins.
import { DerError, parseCertificate, parseExtendedKeyUsage, parseKeyUsage, type Certificate } from "../../shared/der";
import { bytesEqual, concatBytes, toHex, utf8 } from "../../shared/encoding";
import { verifyChain, EKU_CODE_SIGNING } from "./chain";
import { defaultHash, verifyWithKey } from "./crypto";
import { fulcioIdentity, matcherProblem } from "./identity";
import { MAX_CERTIFICATE_BYTES, MAX_TLOG_ENTRIES } from "./limits";
import { matchEntryBody } from "./rekor-body";
import { verifyEmbeddedScts } from "./sct";
import { findLog, logKeyValidAt, verifyInclusion, verifySet } from "./tlog";
import type { TrustedRoot } from "./trusted-root";
import type { FulcioIdentity, IdentityMatcher, KeylessCheck, KeylessEvidence, KeylessFailureCode, KeylessOptions, SignedContent } from "./types";

export { compileIdentityRegExp } from "./identity";

type Failure = Extract<KeylessCheck, { ok: false }>;
const fail = (code: KeylessFailureCode, why: string, identity?: FulcioIdentity): Failure => (identity ? { ok: false, code, why, identity } : { ok: false, code, why });

/** DSSE's pre-authentication encoding: "DSSEv1 <len(type)> <type> <len(payload)> <payload>". */
export function pae(payloadType: string, payload: Uint8Array): Uint8Array {
  const type = utf8(payloadType);
  return concatBytes(utf8(`DSSEv1 ${type.length} `), type, utf8(` ${payload.length} `), payload);
}

function signedBytes(signed: SignedContent): Uint8Array {
  return signed.kind === "dsse" ? pae(signed.payloadType, signed.payload) : signed.payload;
}

export async function verifyKeyless(evidence: KeylessEvidence, root: TrustedRoot, options: KeylessOptions): Promise<KeylessCheck> {
  try {
    return await verifyUnguarded(evidence, root, options);
  } catch (err) {
    // A certificate or trust-root part that does not read, found past the first checks.
    if (err instanceof DerError) return fail("MALFORMED", `${evidence.source}: ${err.message}`);
    throw err;
  }
}

async function verifyUnguarded(evidence: KeylessEvidence, root: TrustedRoot, options: KeylessOptions): Promise<KeylessCheck> {
  if (evidence.certificate.length > MAX_CERTIFICATE_BYTES) return fail("MALFORMED", `the signing certificate is over ${MAX_CERTIFICATE_BYTES} bytes`);
  let leaf: Certificate;
  try {
    leaf = parseCertificate(evidence.certificate);
  } catch (err) {
    if (err instanceof DerError) return fail("MALFORMED", `the signing certificate does not parse: ${err.message}`);
    throw err;
  }

  // 1. The signature under the certificate's key.
  if (!(await verifyWithKey(leaf.spki, defaultHash(leaf.spki), evidence.signature, signedBytes(evidence.signed)))) {
    return fail("SIGNATURE_INVALID", `the ${evidence.signed.kind === "dsse" ? "DSSE envelope's" : "payload's"} signature does not verify under the signing certificate's key`);
  }

  // 2–3. The transparency log, and the time it vouches for.
  let signedAt: Date | undefined;
  if (!options.ignoreTlog) {
    const tlog = await verifyTlog(evidence, root);
    if (!tlog.ok) return tlog;
    signedAt = tlog.signedAt;
  }
  if (!signedAt) {
    if (options.ignoreTlog) {
      return fail(
        "TIMESTAMP_INVALID",
        evidence.rfc3161Timestamps.length > 0
          ? "the policy ignores the transparency log and the signature's RFC 3161 timestamps are not verified by this version, so nothing dates the signature"
          : "the policy ignores the transparency log and the signature carries no RFC 3161 timestamp, so nothing dates the signature",
      );
    }
    return fail("TIMESTAMP_INVALID", "the log entry has an inclusion proof but no signed entry timestamp, and no RFC 3161 timestamp dates the signature (an integrated time only the proof carries is not signed)");
  }

  // 4. The chain at the signing time.
  const chain = await verifyChain(leaf, evidence.chain, root, signedAt);
  if (!chain.ok) return fail(chain.code, chain.why);

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
    if (problem === undefined) return { ok: true, identity, matched: i, signedAt, timeSource: "tlog" };
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

type TlogResult = { readonly ok: true; readonly signedAt?: Date } | Failure;

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
    const proof = entry.inclusionProof && entry.inclusionProof.checkpoint !== "" ? entry.inclusionProof : undefined;
    if (!entry.signedEntryTimestamp && !proof) return fail("TLOG_INVALID", `${where} has neither a signed entry timestamp nor an inclusion proof with a checkpoint`);
    const keyProblem = logKeyValidAt(log, integrated, entry.signedEntryTimestamp !== undefined);
    if (keyProblem) return fail("TLOG_UNTRUSTED", `${where}: ${keyProblem}`);
    if (entry.signedEntryTimestamp) {
      const set = await verifySet(entry, log);
      if (!set.ok) return fail("TLOG_INVALID", set.why);
    }
    if (proof) {
      const inclusion = await verifyInclusion({ ...entry, inclusionProof: proof }, log);
      if (!inclusion.ok) return fail("TLOG_INVALID", inclusion.why);
    }
    const body = await matchEntryBody(entry, evidence.signature, evidence.certificate, evidence.signed);
    if (!body.ok) return fail(body.malformed ? "MALFORMED" : "TLOG_MISMATCH", `${where}: ${body.why}`);
    verified++;
    if (entry.signedEntryTimestamp && !signedAt) signedAt = integrated;
  }
  if (verified === 0) {
    const known = root.tlogs.map((l) => toHex(l.logId)).join(", ") || "none";
    return fail("TLOG_UNTRUSTED", `the log entry is by log ${unknown.join(", ")}, which the trust root does not know (it knows ${known})`);
  }
  return signedAt ? { ok: true, signedAt } : { ok: true };
}

/** How a matcher is said in reasons: "issuer https://… subject ~^https://github.com/org/". */
export function describeMatcher(m: IdentityMatcher): string {
  const issuer = m.issuer ?? (m.issuerRegExp === undefined ? "any issuer" : `issuer matching ${m.issuerRegExp}`);
  const subject = m.subject ?? (m.subjectRegExp === undefined ? "any subject" : `subject matching ${m.subjectRegExp}`);
  return `${issuer}, ${subject}`;
}
