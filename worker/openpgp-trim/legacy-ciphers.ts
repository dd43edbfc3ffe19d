// Stand-in for openpgp.js's legacy_ciphers chunk (CAST5, Blowfish, Twofish, TripleDES), which only
// symmetric encryption and decryption use; see refuse.ts.
import { refuse } from "./refuse";

export const legacyCiphers = {
  get(name: string): never {
    return refuse(`decrypt OpenPGP data (legacy cipher ${name})`);
  },
};
