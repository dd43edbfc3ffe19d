#!/usr/bin/env bash
# Regenerates the Notary v1 test vectors (test/vectors/notary-v1/) with the real notary tools on 127.0.0.1.
# Usage: scripts/vectors/make-notary-vectors.sh [case ...] [--out DIR]
# Needs notary, notary-server, notary-signer and openssl (scripts/install-lab.sh) and npm ci'd node_modules.
set -euo pipefail
cd "$(dirname "$0")/../.."
for bin in notary notary-server notary-signer openssl; do
  command -v "$bin" >/dev/null || { echo "make-notary-vectors: $bin not found (see scripts/install-lab.sh)" >&2; exit 1; }
done
work=$(mktemp -d "${TMPDIR:-/tmp}/trustgate-vectors-XXXXXX")
trap 'rm -rf "$work"' EXIT
# Node 20 cannot run TypeScript: bundle the script and the lab modules it imports first.
node_modules/.bin/esbuild scripts/vectors/make-notary-vectors.ts \
  --bundle --platform=node --format=esm --packages=external --log-level=warning \
  --outfile="$work/make-notary-vectors.mjs"
node "$work/make-notary-vectors.mjs" "$@"
