// Stand-in for openpgp.js's noble_curves chunk: the JavaScript elliptic curves it loads only for
// curves WebCrypto lacks (brainpool, secp256k1, NIST P-521 in workerd, Ed448, X448). workerd
// verifies NIST P-256 and P-384 ECDSA, Ed25519 and RSA signatures in WebCrypto; an OpenPGP key on
// another curve cannot verify here, and its signature check fails (a deny), see refuse.ts.
import { refuse } from "./refuse";

/** openpgp.js reads `nobleCurves.get(name)`: every name refuses. */
export const nobleCurves = {
  get(name: string): never {
    return refuse(`verify OpenPGP signatures on curve ${name} (WebCrypto lacks it)`);
  },
};
