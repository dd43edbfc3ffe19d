// The requirement's OpenPGP public keys (policy.json keyData: armored text or base64 of a key file),
// read once into the only keyring a signature is ever checked against.
import { readKeys, type Key, type PublicKey } from "openpgp/lightweight";
import { base64Decode } from "../shared/encoding";
import { SimpleSigningError } from "./errors";

export interface TrustedKeys {
  readonly keys: readonly PublicKey[];
  /** Primary key fingerprints, upper-case hex (gpgme's spelling): the accepted key identities. */
  readonly fingerprints: readonly string[];
}

const ARMOR_RE = /^\s*-----BEGIN PGP /;
const cache = new Map<string, Promise<TrustedKeys>>();
const CACHE_MAX = 64;

/**
 * Reads every key of every entry (an entry may be a keyring). Like containers/image's ephemeral
 * GPG mechanism, the identities are the primary keys' fingerprints. Throws
 * SimpleSigningError("INVALID_KEYS") when an entry holds no readable OpenPGP key.
 */
export function importTrustedKeys(entries: readonly string[]): Promise<TrustedKeys> {
  const id = JSON.stringify(entries);
  let pending = cache.get(id);
  if (!pending) {
    pending = readAll(entries);
    // Parsed keys are reused across requests; a failure is not remembered.
    pending.catch(() => cache.delete(id));
    if (cache.size >= CACHE_MAX) cache.delete(cache.keys().next().value!);
    cache.set(id, pending);
  }
  return pending;
}

async function readAll(entries: readonly string[]): Promise<TrustedKeys> {
  const keys: PublicKey[] = [];
  for (const [i, entry] of entries.entries()) {
    let read: Key[];
    try {
      read = await readEntry(entry);
    } catch (err) {
      throw new SimpleSigningError(
        "INVALID_KEYS",
        `keys[${i}] is not an OpenPGP public key (armored, or base64 of one): ${err instanceof Error ? err.message : String(err)}`,
        { cause: err },
      );
    }
    if (read.length === 0) throw new SimpleSigningError("INVALID_KEYS", `keys[${i}] holds no OpenPGP public key`);
    // A private key block is accepted for its public part only, as a key import would.
    for (const key of read) keys.push(key.isPrivate() ? key.toPublic() : key);
  }
  if (keys.length === 0) throw new SimpleSigningError("INVALID_KEYS", "No public keys imported");
  return { keys, fingerprints: [...new Set(keys.map((k) => k.getFingerprint().toUpperCase()))] };
}

async function readEntry(entry: string): Promise<Key[]> {
  if (ARMOR_RE.test(entry)) return readArmored(entry);
  const bytes = base64Decode(entry.trim());
  if (!bytes) throw new Error("neither armored nor valid base64");
  // keyData may be base64 of an armored file as well as of a binary one.
  const head = new TextDecoder().decode(bytes.subarray(0, 64));
  if (ARMOR_RE.test(head)) return readArmored(new TextDecoder().decode(bytes));
  return readKeys({ binaryKeys: bytes });
}

const BLOCK_RE = /-----BEGIN PGP (PUBLIC|PRIVATE) KEY BLOCK-----[\s\S]*?-----END PGP \1 KEY BLOCK-----/g;

/** Every armored block in the text (`gpg --export --armor a; gpg --export --armor b` concatenated), as gpg imports them. */
async function readArmored(text: string): Promise<Key[]> {
  const blocks = text.match(BLOCK_RE);
  if (!blocks) throw new Error("no complete armored key block");
  const keys: Key[] = [];
  for (const block of blocks) keys.push(...(await readKeys({ armoredKeys: block })));
  return keys;
}
