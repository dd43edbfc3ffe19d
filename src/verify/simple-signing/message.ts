// The OpenPGP envelope of a simple signature: a binary signed message (optionally compressed: one-pass
// signature, literal data, signature), verified against the requirement's keys only, at a given time.
import { readMessage, verify, type Key, type PublicKey, type SignaturePacket, type Subkey } from "openpgp/lightweight";
import { compressionProblem, MAX_DECOMPRESSED_BYTES } from "./compressed";
import { SimpleSigningError } from "./errors";
import type { TrustedKeys } from "./keys";

export interface VerifiedMessage {
  /** The literal data: the payload, not yet parsed. */
  readonly payload: Uint8Array;
  /** Primary key fingerprint of the signer, upper-case hex: the key identity policy.json speaks of. */
  readonly keyIdentity: string;
  /** Fingerprint of the key that made the signature (a signing subkey, or the primary key). */
  readonly signingKey: string;
  readonly signedAt: Date;
  /** When the signature, the signing key or its primary key stops being valid (undefined: never). */
  readonly validUntil?: Date;
}

const fail = (code: SimpleSigningError["code"], message: string, cause?: unknown): never => {
  throw new SimpleSigningError(code, message, cause === undefined ? undefined : { cause });
};

/**
 * BZip2 packets are left to openpgp.js (its own JS decompressor, no DecompressionStream): this bound
 * makes it stop a compression bomb at the size compressed.ts stops ZIP and ZLIB at.
 */
const OPENPGP_CONFIG = { maxDecompressedMessageSize: MAX_DECOMPRESSED_BYTES };

/** Strips openpgp.js's "Error verifying signed message: " and similar wrappers down to the cause. */
function cause(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  // A bound hit is said as compressed.ts says it for ZIP and ZLIB (openpgp.js's words name a minified class).
  if (/Maximum decompressed (?:message )?size exceeded/.test(text)) {
    return `compressed data packet: it decompresses to more than ${MAX_DECOMPRESSED_BYTES} bytes`;
  }
  return text.replace(/^Error (?:verifying signed message|during parsing)[.:]\s*/, "");
}

/**
 * Verifies `blob` and returns its payload. Refuses (SimpleSigningError) anything but a message signed
 * exactly once, by one of `trusted`, cryptographically valid, with the signature unexpired and the
 * signing key (and its primary key) neither expired nor revoked at `now`.
 */
export async function verifySignedMessage(blob: Uint8Array, trusted: TrustedKeys, now: Date): Promise<VerifiedMessage> {
  // A compressed body that does not decompress cleanly never reaches openpgp.js (see compressed.ts).
  const problem = await compressionProblem(blob);
  if (problem) return fail("MALFORMED_MESSAGE", `Invalid GPG signature: not an OpenPGP message (${problem})`);
  let message;
  try {
    message = await readMessage({ binaryMessage: blob, config: OPENPGP_CONFIG });
  } catch (err) {
    return fail("MALFORMED_MESSAGE", `Invalid GPG signature: not an OpenPGP message (${cause(err)})`, err);
  }
  // gpgme's rule (exactly one signature), before any is checked: 64 KiB hold hundreds of signature
  // packets naming a trusted key, and verify() would check every one of them.
  let declared: number;
  try {
    declared = message.getSigningKeyIDs().length;
  } catch (err) {
    return fail("MALFORMED_MESSAGE", `Invalid GPG signature: not a signed message (${cause(err)})`, err);
  }
  // None is left to verify(): it tells encrypted or otherwise unsigned data apart.
  if (declared > 1) return fail("SIGNATURE_COUNT", `Unexpected GPG signature count ${declared}`);
  let result;
  try {
    // verify() unwraps one compression layer, enforces the message grammar and wants exactly one literal packet.
    result = await verify({ message, verificationKeys: [...trusted.keys], date: now, format: "binary", config: OPENPGP_CONFIG });
  } catch (err) {
    return fail("MALFORMED_MESSAGE", `Invalid GPG signature: not a signed message (${cause(err)})`, err);
  }
  // gpgme's rule (mechanism_gpgme.go): exactly one signature.
  if (result.signatures.length !== 1) return fail("SIGNATURE_COUNT", `Unexpected GPG signature count ${result.signatures.length}`);
  const [entry] = result.signatures;
  const keyID = entry!.keyID;

  let primary: PublicKey | undefined;
  let signing: Key | Subkey | undefined;
  for (const key of trusted.keys) {
    const found = key.getKeys(keyID);
    if (found.length > 0) {
      primary = key;
      signing = found[0];
      break;
    }
  }
  if (!primary || !signing) {
    return fail("UNKNOWN_KEY", `Invalid GPG signature: signed by key ID ${keyID.toHex().toUpperCase()}, which is not one of the required keys`);
  }
  const keyIdentity = primary.getFingerprint().toUpperCase();
  const signingKey = signing.getFingerprint().toUpperCase();
  const who = signingKey === keyIdentity ? `key ${keyIdentity}` : `subkey ${signingKey} of key ${keyIdentity}`;

  let packet: SignaturePacket | undefined;
  try {
    packet = (await entry!.signature).packets[0];
  } catch {
    packet = undefined;
  }
  try {
    await entry!.verified;
  } catch (err) {
    const why = cause(err);
    if (/Signature is expired/.test(why) && packet) {
      return fail("EXPIRED_SIGNATURE", `Invalid GPG signature: the signature by ${who} expired on ${iso(packet.getExpirationTime())}`);
    }
    if (/revoked/i.test(why)) return fail("KEY_REVOKED", `Invalid GPG signature: ${who} is revoked`);
    if (/expired/i.test(why)) return fail("KEY_EXPIRED", `Invalid GPG signature: ${who} had expired when it signed`);
    return fail("BAD_SIGNATURE", `Invalid GPG signature: the signature by ${who} does not verify (${why})`, err);
  }
  if (!packet?.created) return fail("BAD_SIGNATURE", `Invalid GPG signature: the signature by ${who} has no creation time`);

  // openpgp.js judges the key at signing time; gpg (and so skopeo) judges it now: expired or revoked since is refused.
  await checkKeyNow(primary, signing, who, now);

  // The verified primary key must be one of the accepted identities (signature/simple.go's rule; a
  // subkey counts as its primary key). Only the requirement's keys are in the keyring, so this holds
  // by construction; it is checked anyway, as upstream does.
  if (!trusted.fingerprints.includes(keyIdentity)) {
    return fail(
      "KEY_NOT_ACCEPTED",
      signingKey === keyIdentity ? `signature by key ${keyIdentity} is not accepted` : `signature by key ${signingKey} of ${keyIdentity} is not accepted`,
    );
  }

  const limits = [packet.getExpirationTime(), await expiryOf(primary), signing === primary ? Infinity : await expiryOf(signing as Subkey)];
  const until = Math.min(...limits.map((d) => (d instanceof Date ? d.getTime() : Infinity)));
  return {
    payload: result.data,
    keyIdentity,
    signingKey,
    signedAt: packet.created,
    ...(Number.isFinite(until) ? { validUntil: new Date(until) } : {}),
  };
}

async function expiryOf(key: PublicKey | Subkey): Promise<Date | number | null> {
  try {
    return await key.getExpirationTime();
  } catch {
    return null;
  }
}

async function checkKeyNow(primary: PublicKey, signing: Key | Subkey, who: string, now: Date): Promise<void> {
  try {
    await primary.getSigningKey(signing.getKeyID(), now);
    return;
  } catch (err) {
    const why = cause(err);
    if (/revoked/i.test(why)) fail("KEY_REVOKED", `Invalid GPG signature: ${who} is revoked`);
    if (/expired/i.test(why)) {
      const primaryExpiry = await expiryOf(primary);
      const subExpiry = signing === primary ? null : await expiryOf(signing as Subkey);
      const when = [primaryExpiry, subExpiry].find((d): d is Date => d instanceof Date && d.getTime() <= now.getTime());
      fail("KEY_EXPIRED", `Invalid GPG signature: ${who} expired${when ? ` on ${iso(when)}` : ""}`);
    }
    fail("BAD_SIGNATURE", `Invalid GPG signature: ${who} cannot sign at ${iso(now)} (${why})`);
  }
}

function iso(d: Date | number): string {
  return d instanceof Date ? d.toISOString() : "never";
}
