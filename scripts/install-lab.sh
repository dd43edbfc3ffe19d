#!/usr/bin/env bash
# Installs the end-to-end lab's servers and tools (Debian/Ubuntu): a registry, skopeo, notary, gpg,
# openssl, and Chromium for the dashboard's browser test.
# Idempotent: does nothing when every binary is already present.
set -euo pipefail

packages=(docker-registry skopeo notary gnupg openssl curl ca-certificates chromium)
# binary -> package that provides it (notary-server ships in the "notary" package).
declare -A provides=(
  [docker-registry]=docker-registry
  [skopeo]=skopeo
  [notary]=notary
  [notary-server]=notary
  [notary-signer]=notary
  [chromium]=chromium
  [gpg]=gnupg
  [openssl]=openssl
  [curl]=curl
)

missing=()
for bin in "${!provides[@]}"; do
  if ! command -v "$bin" >/dev/null 2>&1; then
    missing+=("$bin")
  fi
done
# ca-certificates has no binary; its bundle is what tells us it is there.
if [[ ! -s /etc/ssl/certs/ca-certificates.crt ]]; then
  missing+=("ca-certificates")
fi

if [[ ${#missing[@]} -eq 0 ]]; then
  echo "install-lab: all lab tools present (${!provides[*]}, ca-certificates); nothing to do"
  exit 0
fi

echo "install-lab: missing: ${missing[*]}"
sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then
  if command -v sudo >/dev/null 2>&1; then
    sudo_cmd=(sudo)
  else
    echo "install-lab: not root and no sudo; install these packages by hand: ${packages[*]}" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
echo "install-lab: apt-get update"
"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update
echo "install-lab: apt-get install -y --no-install-recommends ${packages[*]}"
"${sudo_cmd[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${packages[@]}"

still_missing=()
for bin in "${!provides[@]}"; do
  command -v "$bin" >/dev/null 2>&1 || still_missing+=("$bin")
done
if [[ ${#still_missing[@]} -gt 0 ]]; then
  echo "install-lab: still missing after install: ${still_missing[*]}" >&2
  exit 1
fi
echo "install-lab: installed ${packages[*]}"
