// A Rekor entry's proofs: the v0.1 signed entry timestamp (SET) and the v0.2+ RFC 6962 inclusion
// proof with its signed checkpoint, each under a log key of the trust root valid at integrated time.
//
// - SET (rekor pkg/verify, sigstore-go tlog.VerifySET): ECDSA over the canonical JSON of
//   {"body":base64(body),"integratedTime":N,"logID":hex(logId),"logIndex":N} (the entry's global
//   index), under the log whose ID the entry names; the key's validFor.start must be set and the
//   window must cover the integrated time.
// - Inclusion (RFC 9162 2.1.3.2): leaf hash sha256(0x00‖body), the proof's index in its tree (the
//   shard's, not the global index), path hashes sha256(0x01‖l‖r), root compared with the proof's.
// - Checkpoint (C2SP signed-note, Rekor v1's STH): "origin\nsize\nbase64(root)\n[extra lines]\n\n"
//   then "— name base64(hint4‖signature)\n" lines; the note's text is everything before the blank
//   line plus its newline. Rekor v1 keys' hint is the log ID's first 4 bytes. A signature whose hint
//   is the log's must verify, one must; others (cosigners) are ignored. The checkpoint's size and
//   root must be the proof's.
import { parseSpki } from "../../shared/der";
import { base64Decode, base64Encode, bytesEqual, concatBytes, sha256, toHex, utf8 } from "../../shared/encoding";
import { defaultHash, verifyWithKey } from "./crypto";
import { MAX_CHECKPOINT_BYTES, MAX_CHECKPOINT_SIGNATURES, MAX_PROOF_HASHES } from "./limits";
import type { TrustedLogKey } from "./trusted-root";
import type { TlogEntry } from "./types";

export type ProofCheck = { readonly ok: true } | { readonly ok: false; readonly why: string };

/** The log key the trust root has under the entry's log ID, if any. */
export function findLog(logs: readonly TrustedLogKey[], logId: Uint8Array): TrustedLogKey | undefined {
  return logs.find((l) => bytesEqual(l.logId, logId));
}

/** Whether the key's validity window covers `time` (its start required, as sigstore-go requires it for a SET). */
export function logKeyValidAt(log: TrustedLogKey, time: Date, startRequired: boolean): string | undefined {
  if (!log.validFrom) return startRequired ? "the trust root gives this log key no validFor.start" : undefined;
  if (time < log.validFrom) return `the log key is valid from ${log.validFrom.toISOString()}, after ${time.toISOString()}`;
  if (log.validTo && time > log.validTo) return `the log key was valid until ${log.validTo.toISOString()}, before ${time.toISOString()}`;
  return undefined;
}

/** The bytes a Rekor SET signs. */
export function setPayload(entry: TlogEntry): Uint8Array {
  // Keys in canonical (sorted) order; base64 and hex need no JSON escaping.
  return utf8(
    `{"body":"${base64Encode(entry.canonicalizedBody)}","integratedTime":${entry.integratedTime},"logID":"${toHex(entry.logId)}","logIndex":${entry.logIndex}}`,
  );
}

export async function verifySet(entry: TlogEntry, log: TrustedLogKey): Promise<ProofCheck> {
  const set = entry.signedEntryTimestamp;
  if (!set) return { ok: false, why: "the entry has no signed entry timestamp" };
  const spki = parseSpki(log.spki);
  const valid = await verifyWithKey(spki, defaultHash(spki), set, setPayload(entry));
  return valid ? { ok: true } : { ok: false, why: `the signed entry timestamp of log entry ${entry.logIndex} does not verify under log ${toHex(entry.logId)}` };
}

const leafHash = (body: Uint8Array) => sha256(concatBytes(Uint8Array.of(0), body));
const nodeHash = (l: Uint8Array, r: Uint8Array) => sha256(concatBytes(Uint8Array.of(1), l, r));

/** RFC 9162 2.1.3.2: the root the proof leads to from `leaf`, or why it leads nowhere. */
export async function rootFromInclusionProof(index: number, size: number, leaf: Uint8Array, path: readonly Uint8Array[]): Promise<Uint8Array | string> {
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || size <= 0) return "the proof's index or tree size is out of range";
  if (index >= size) return `the proof's index ${index} is not below its tree size ${size}`;
  if (path.length > MAX_PROOF_HASHES) return `the proof has ${path.length} hashes, over the limit of ${MAX_PROOF_HASHES}`;
  let fn = index;
  let sn = size - 1;
  let r = leaf;
  for (const p of path) {
    if (p.length !== 32) return "a proof hash is not 32 bytes";
    if (sn === 0) return "the proof has more hashes than the tree needs";
    if (fn % 2 === 1 || fn === sn) {
      r = await nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = await nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  if (sn !== 0) return "the proof has fewer hashes than the tree needs";
  return r;
}

export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  readonly rootHash: Uint8Array;
  /** The signed text: the body lines, each ending in a newline. */
  readonly text: string;
  readonly signatures: readonly { readonly name: string; readonly hint: Uint8Array; readonly signature: Uint8Array }[];
}

export function parseCheckpoint(envelope: string): Checkpoint | string {
  if (envelope.length > MAX_CHECKPOINT_BYTES) return `the checkpoint is over ${MAX_CHECKPOINT_BYTES} bytes`;
  const split = envelope.indexOf("\n\n");
  if (split < 0) return "the checkpoint is not a signed note (no blank line before its signatures)";
  const text = envelope.slice(0, split + 1);
  const lines = text.slice(0, -1).split("\n");
  const [origin, sizeText, rootText] = lines;
  if (!origin || sizeText === undefined || rootText === undefined) return "the checkpoint lacks its origin, size or root hash line";
  if (!/^(0|[1-9][0-9]{0,15})$/.test(sizeText) || !Number.isSafeInteger(Number(sizeText))) return `the checkpoint's size ${JSON.stringify(sizeText)} is not a number`;
  const rootHash = base64Decode(rootText);
  if (!rootHash || rootHash.length !== 32) return "the checkpoint's root hash is not 32 bytes of base64";
  const sigBlock = envelope.slice(split + 2);
  if (!sigBlock.endsWith("\n")) return "the checkpoint's signature block does not end with a newline";
  const signatures: { name: string; hint: Uint8Array; signature: Uint8Array }[] = [];
  for (const line of sigBlock.slice(0, -1).split("\n")) {
    const m = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!m) return "a checkpoint signature line is not \"— <name> <base64>\"";
    const bytes = base64Decode(m[2]!);
    if (!bytes || bytes.length < 5) return "a checkpoint signature is not base64 of a key hint and a signature";
    if (signatures.length < MAX_CHECKPOINT_SIGNATURES) signatures.push({ name: m[1]!, hint: bytes.subarray(0, 4), signature: bytes.subarray(4) });
  }
  if (signatures.length === 0) return "the checkpoint carries no signature";
  return { origin, size: Number(sizeText), rootHash, text, signatures };
}

/** The v0.2+ proof: inclusion of the body in a tree whose head the log signed. */
export async function verifyInclusion(entry: TlogEntry, log: TrustedLogKey): Promise<ProofCheck> {
  const proof = entry.inclusionProof;
  if (!proof) return { ok: false, why: "the entry has no inclusion proof" };
  const root = await rootFromInclusionProof(proof.logIndex, proof.treeSize, await leafHash(entry.canonicalizedBody), proof.hashes);
  if (typeof root === "string") return { ok: false, why: `the inclusion proof of log entry ${entry.logIndex} is invalid: ${root}` };
  if (!bytesEqual(root, proof.rootHash)) return { ok: false, why: `the inclusion proof of log entry ${entry.logIndex} leads to root ${toHex(root)}, not the proof's ${toHex(proof.rootHash)}` };
  const cp = parseCheckpoint(proof.checkpoint);
  if (typeof cp === "string") return { ok: false, why: cp };
  if (cp.size !== proof.treeSize || !bytesEqual(cp.rootHash, proof.rootHash)) {
    return { ok: false, why: `the checkpoint (tree size ${cp.size}) is not for the proof's tree (size ${proof.treeSize}) and root` };
  }
  const hint = log.logId.subarray(0, 4);
  const spki = parseSpki(log.spki);
  let verified = false;
  for (const s of cp.signatures) {
    if (!bytesEqual(s.hint, hint)) continue;
    if (!(await verifyWithKey(spki, defaultHash(spki), s.signature, utf8(cp.text)))) {
      return { ok: false, why: `the checkpoint's signature by ${s.name} does not verify under log ${toHex(log.logId)}` };
    }
    verified = true;
  }
  return verified ? { ok: true } : { ok: false, why: `the checkpoint carries no signature by log ${toHex(log.logId)} (key hint ${toHex(hint)})` };
}
