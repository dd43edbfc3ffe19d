// Sigstore's public-good trust root, kept fresh by a TUF client (issue 15): `trusted_root.json`
// from the TUF repository at `settings.sigstoreTufUrl` (default DEFAULT_SIGSTORE_TUF_URL),
// bootstrapped from an embedded root.json, state in the trust cache.
import type { Background } from "../ports";
import type { VerifierDeps } from "../policy/requirement-kinds";

export const DEFAULT_SIGSTORE_TUF_URL = "https://tuf-repo-cdn.sigstore.dev";

export type SigstoreRootResult =
  | {
      readonly ok: true;
      /** The verified `trusted_root.json` target's bytes. */
      readonly trustedRoot: Uint8Array;
      /** Set when a refresh failed and the last verified root is used: said in the reasons. */
      readonly note?: string;
    }
  | { readonly ok: false; readonly why: string; readonly transient: boolean };

/** CONTRACT STUB (issue 15): the TUF client replaces it. */
export async function loadSigstoreTrustedRoot(_deps: VerifierDeps, _background?: Background): Promise<SigstoreRootResult> {
  return { ok: false, why: "the Sigstore public-good trust root is not available yet", transient: false };
}
