// Stand-in for openpgp.js's argon2id chunk (the Argon2 S2K: deriving a key from a passphrase to
// decrypt a secret key or a password-encrypted message); see refuse.ts.
import { refuse } from "./refuse";

export default function loadArgon2(): never {
  return refuse("decrypt OpenPGP data (Argon2 passphrase derivation)");
}
