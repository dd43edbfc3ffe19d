// openpgp.js loads a few parts of itself on demand (dist/lightweight/*.min.mjs, imported lazily by
// openpgp.min.mjs). trustgate only verifies signatures, so wrangler.toml's [alias] swaps the parts
// that signature verification never loads for the modules in this folder: 85 KiB minified, 36 KiB
// gzipped off the Worker bundle (npm run bundle), and since keyless cosign filled the room, also
// noble_curves (the JS curves for brainpool, secp256k1, P-521, Ed448 and X448, which WebCrypto in
// workerd lacks: 44 KiB minified, 18 KiB gzipped; OpenPGP keys on those curves are a deny that names
// the curve). Kept: noble_hashes and sha512, unbzip2-stream (bzip2-compressed messages).
// Should a stand-in be loaded all the same (a hostile message steering openpgp.js into decryption,
// a runtime without Ed25519 in WebCrypto), it throws on every call: the verification fails and the
// decision is a deny, never an allow. The tests run openpgp.js whole (vitest bundles without the
// alias); test/unit/simple-signing/openpgp-trim.test.ts checks these modules and the alias.

/** The error every stand-in throws, naming what was left out of the bundle. */
export class OmittedFromBundle extends Error {
  constructor(what: string) {
    super(`trustgate does not ${what}: that part of OpenPGP.js is not in the Worker bundle`);
    this.name = "OmittedFromBundle";
  }
}

export function refuse(what: string): never {
  throw new OmittedFromBundle(what);
}
