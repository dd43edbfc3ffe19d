// Builds @noble/curves' Ed25519 tables when the isolate starts, not in the first decision that
// checks an Ed25519 cosign signature. A failed Web Crypto Ed25519 check is tried again as Ed25519ph
// in JS (signature.ts), and noble computes its base-point table on first use: ~15 ms of one
// synchronous block, which a registry serving bogus Ed25519 signatures could otherwise make every
// new isolate pay while other requests wait (bench/README.md, hostile phase). Runs at global scope
// (worker/index.ts), where the startup limit applies.
import { ed25519, ed25519ph } from "@noble/curves/ed25519.js";

/** Signs and verifies once with a fixed throwaway key; true when the check held. Never throws. */
export function primeCosignFallbacks(): boolean {
  try {
    const secret = new Uint8Array(32).fill(1);
    const message = new TextEncoder().encode("trustgate: prime the Ed25519 tables");
    const signature = ed25519ph.sign(message, secret);
    return ed25519ph.verify(signature, message, ed25519.getPublicKey(secret), { zip215: false });
  } catch {
    return false;
  }
}
