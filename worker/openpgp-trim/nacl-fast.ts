// Stand-in for openpgp.js's nacl-fast chunk: the JavaScript Ed25519/X25519 it falls back to only
// when WebCrypto throws NotSupportedError for them. workerd implements both in WebCrypto, so
// Ed25519 signatures (legacy EdDSA and v6) are verified there; see refuse.ts.
import { refuse } from "./refuse";

const unavailable = (): never => refuse("run Ed25519 or X25519 outside WebCrypto");

// The members openpgp.js calls: sign.detached(.verify), sign.keyPair.fromSeed, box.keyPair, scalarMult.
export default {
  sign: { detached: Object.assign(() => unavailable(), { verify: unavailable }), keyPair: { fromSeed: unavailable } },
  box: { keyPair: unavailable },
  scalarMult: unavailable,
};
