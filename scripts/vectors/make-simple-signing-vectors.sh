#!/usr/bin/env bash
# Regenerates the Red Hat simple-signing test vectors (test/vectors/simple-signing/) with real gpg,
# skopeo and a loopback docker-registry, and records what skopeo's own policy check says about each case.
# Usage: scripts/vectors/make-simple-signing-vectors.sh [--out DIR]
# Needs gpg, skopeo, docker-registry, jq, tar, gzip (scripts/install-lab.sh installs the first three).
# Only 127.0.0.1 is used; proxies are switched off. No private key leaves the temporary GNUPGHOME.
set -euo pipefail
cd "$(dirname "$0")/../.."
out=test/vectors/simple-signing
if [[ "${1:-}" == "--out" ]]; then out=$2; fi
for bin in gpg skopeo docker-registry jq tar gzip sha256sum base64; do
  command -v "$bin" >/dev/null || { echo "make-simple-signing-vectors: $bin not found (see scripts/install-lab.sh)" >&2; exit 1; }
done
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY no_proxy NO_PROXY

work=$(mktemp -d "${TMPDIR:-/tmp}/trustgate-simple-signing-XXXXXX")
registry_pid=""
cleanup() {
  if [[ -n "$registry_pid" ]]; then kill "$registry_pid" 2>/dev/null || true; wait "$registry_pid" 2>/dev/null || true; fi
  gpgconf --homedir "$work/gnupg" --kill all >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

export GNUPGHOME="$work/gnupg"
mkdir -m 700 "$GNUPGHOME"
gpgb=(gpg --batch --yes --quiet --no-tty --pinentry-mode loopback --passphrase "")
fpr_of() { gpg --with-colons --list-keys "$1" | awk -F: '/^fpr:/ {print $10; exit}'; }
sha256() { sha256sum "$1" | cut -d' ' -f1; }
log() { echo "make-simple-signing-vectors: $*" >&2; }

# --- keys ------------------------------------------------------------------------------------------
log "keys"
"${gpgb[@]}" --quick-gen-key "trustgate RSA <rsa@trustgate.test>" rsa3072 sign never
"${gpgb[@]}" --quick-gen-key "trustgate Ed25519 <ed25519@trustgate.test>" ed25519 sign never
# A certify-only primary key with an Ed25519 signing subkey: gpg signs with the subkey.
"${gpgb[@]}" --quick-gen-key "trustgate subkey <subkey@trustgate.test>" ed25519 cert never
"${gpgb[@]}" --quick-add-key "$(fpr_of subkey@trustgate.test)" ed25519 sign never
# Nobody trusts this one: the "unknown key".
"${gpgb[@]}" --quick-gen-key "trustgate other <other@trustgate.test>" ed25519 sign never
# Made in 2020 (faked clock): "old" never expires; "shortlived" expired on 2020-01-03.
"${gpgb[@]}" --faked-system-time 20200101T000000! --quick-gen-key "trustgate old <old@trustgate.test>" ed25519 sign never
"${gpgb[@]}" --faked-system-time 20200101T000000! --quick-gen-key "trustgate shortlived <shortlived@trustgate.test>" ed25519 sign 2d
# Revoked after it signed (below).
"${gpgb[@]}" --quick-gen-key "trustgate revoked <revoked@trustgate.test>" ed25519 sign never

declare -A FPR
for k in rsa ed25519 subkey other old shortlived revoked; do FPR[$k]=$(fpr_of "$k@trustgate.test"); done

# --- the image: a tiny reproducible OCI image, pushed to a loopback registry ----------------------------
log "image"
mkdir -p "$work/rootfs" "$work/layout/blobs/sha256"
printf 'trustgate simple-signing vector\n' >"$work/rootfs/hello.txt"
tar --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -C "$work/rootfs" -cf "$work/layer.tar" hello.txt
gzip -n -9 <"$work/layer.tar" >"$work/layer.tar.gz"
diff_id=$(sha256 "$work/layer.tar")
layer=$(sha256 "$work/layer.tar.gz")
cp "$work/layer.tar.gz" "$work/layout/blobs/sha256/$layer"
printf '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:%s"]},"config":{}}' "$diff_id" >"$work/config.json"
config=$(sha256 "$work/config.json")
cp "$work/config.json" "$work/layout/blobs/sha256/$config"
printf '{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:%s","size":%d},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"sha256:%s","size":%d}]}' \
  "$config" "$(stat -c %s "$work/config.json")" "$layer" "$(stat -c %s "$work/layer.tar.gz")" >"$work/manifest.json"
hex=$(sha256 "$work/manifest.json")
digest="sha256:$hex"
cp "$work/manifest.json" "$work/layout/blobs/sha256/$hex"
printf '{"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"%s","size":%d,"annotations":{"org.opencontainers.image.ref.name":"v1"}}]}' \
  "$digest" "$(stat -c %s "$work/manifest.json")" >"$work/layout/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' >"$work/layout/oci-layout"
# Another manifest (same layers, an annotation more): its signatures are for another digest.
jq -cj '. + {annotations: {"org.opencontainers.image.title": "other"}}' "$work/manifest.json" >"$work/manifest-other.json"
other_digest="sha256:$(sha256 "$work/manifest-other.json")"

port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()')
R="127.0.0.1:$port"
cat >"$work/registry.yml" <<EOF
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $work/storage}, delete: {enabled: true}}
http: {addr: "$R", secret: trustgate-vectors}
EOF
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 50); do curl -fs "http://$R/v2/" >/dev/null 2>&1 && break; sleep 0.1; done

printf '{"default":[{"type":"insecureAcceptAnything"}]}' >"$work/accept.json"
mkdir -p "$work/registries.d" "$work/sigstore"
cat >"$work/registries.d/default.yaml" <<EOF
docker:
  $R:
    sigstore: file://$work/sigstore
    sigstore-staging: file://$work/sigstore
EOF
# skopeo copy --sign-by writes signature-1 into the file:// lookaside (sigstore-staging).
skopeo --policy "$work/accept.json" --registries.d "$work/registries.d" copy -q --preserve-digests \
  --dest-tls-verify=false --sign-by "${FPR[rsa]}" "oci:$work/layout:v1" "docker://$R/demo/app:v1"
lookaside_sig="$work/sigstore/demo/app@sha256=$hex/signature-1"
[[ -s "$lookaside_sig" ]] || { log "skopeo copy --sign-by wrote no $lookaside_sig"; exit 1; }
for ref in demo/app:v2 mirror/app:v1; do
  skopeo --policy "$work/accept.json" --registries.d "$work/registries.d" copy -q --preserve-digests \
    --src-tls-verify=false --dest-tls-verify=false "docker://$R/demo/app:v1" "docker://$R/$ref"
done
served=$(skopeo inspect --raw --tls-verify=false "docker://$R/demo/app:v1" | sha256sum | cut -d' ' -f1)
[[ "$served" == "$hex" ]] || { log "registry serves $served, expected $hex"; exit 1; }

# --- signatures -----------------------------------------------------------------------------------
log "signatures"
sigs="$work/sigs"
mkdir -p "$sigs"
declare -A SIG_NOTE SIG_SIGNER SIG_IDENTITY
note() { SIG_NOTE[$1]=$2; SIG_SIGNER[$1]=$3; SIG_IDENTITY[$1]=${4:-}; }

cp "$lookaside_sig" "$sigs/rsa.sig"
note rsa "skopeo copy --sign-by (RSA key) into a file:// lookaside" rsa "$R/demo/app:v1"

standalone() { # name key reference [manifest]
  skopeo standalone-sign "${4:-$work/manifest.json}" "$3" "${FPR[$2]}" --output "$sigs/$1.sig"
}
standalone ed25519 ed25519 "$R/demo/app:v1";  note ed25519 "skopeo standalone-sign, Ed25519 key" ed25519 "$R/demo/app:v1"
standalone subkey subkey "$R/demo/app:v1";    note subkey "skopeo standalone-sign with the primary fingerprint; gpg signs with the Ed25519 signing subkey" subkey "$R/demo/app:v1"
standalone other other "$R/demo/app:v1";      note other "skopeo standalone-sign by a key no policy trusts" other "$R/demo/app:v1"
standalone revoked revoked "$R/demo/app:v1";  note revoked "skopeo standalone-sign, then the key was revoked" revoked "$R/demo/app:v1"
standalone digest-mismatch rsa "$R/demo/app:v1" "$work/manifest-other.json"
note digest-mismatch "skopeo standalone-sign over another manifest ($other_digest)" rsa "$R/demo/app:v1"
for pair in "id-demo-app-v2=demo/app:v2" "id-demo-app-digest=demo/app@$digest" "id-demo-app=demo/app" \
  "id-other-app-v1=other/app:v1" "id-mirror-app-v1=mirror/app:v1"; do
  name=${pair%%=*}
  id=${pair#*=}
  standalone "$name" rsa "$R/$id"
  note "$name" "skopeo standalone-sign, RSA key, identity $R/$id" rsa "$R/$id"
done
# For unit tests of docker.io normalisation (not pulled: the oracle only reaches the loopback registry).
standalone id-busybox rsa "docker.io/library/busybox:latest"
note id-busybox "skopeo standalone-sign, RSA key, identity docker.io/library/busybox:latest" rsa "docker.io/library/busybox:latest"

# The payload as skopeo writes it (keys sorted, no spaces), for the gpg-made variants below.
default_optional='{"creator":"trustgate vectors","timestamp":1700000000}'
payload() { # identity digest [type] [extra critical json] [optional json]
  printf '{"critical":{"identity":{"docker-reference":"%s"},"image":{"docker-manifest-digest":"%s"},"type":"%s"%s},"optional":%s}' \
    "$1" "$2" "${3:-atomic container signature}" "${4:-}" "${5:-$default_optional}"
}
gpg_sign() { # name key payload-file [extra gpg args...]
  local name=$1 key=$2 file=$3
  shift 3
  "${gpgb[@]}" "$@" --local-user "${FPR[$key]}" --sign --output "$sigs/$name.sig" "$file"
}
p() { printf '%s' "$2" >"$work/$1.json"; echo "$work/$1.json"; }

good=$(p good "$(payload "$R/demo/app:v1" "$digest")")
gpg_sign gpg-rsa rsa "$good"; note gpg-rsa "gpg --sign (what gpgme does for skopeo), RSA key" rsa "$R/demo/app:v1"
# Faked clock: signed on 2020-01-02 by the 2020 keys.
gpg_sign old-valid old "$good" --faked-system-time 20200102T000000!
note old-valid "gpg --sign at 2020-01-02 (faked clock) by the 2020 key, no expiry" old "$R/demo/app:v1"
gpg_sign expired-signature old "$good" --faked-system-time 20200102T000000! --default-sig-expire 1d
note expired-signature "gpg --sign at 2020-01-02 with --default-sig-expire 1d: expired on 2020-01-03" old "$R/demo/app:v1"
gpg_sign expired-key shortlived "$good" --faked-system-time 20200102T000000!
note expired-key "gpg --sign at 2020-01-02 by a key that expired on 2020-01-03" shortlived "$R/demo/app:v1"
# Two signers in one message (gpgme: exactly one signature is expected).
"${gpgb[@]}" --local-user "${FPR[rsa]}" --local-user "${FPR[ed25519]}" --sign --output "$sigs/two-signers.sig" "$good"
note two-signers "gpg --sign -u RSA -u Ed25519: one message, two signatures" rsa "$R/demo/app:v1"
# Not a signed message at all.
"${gpgb[@]}" --compress-algo zlib --store --output "$sigs/unsigned-literal.sig" "$good"
note unsigned-literal "gpg --store: literal data, no signature" "" "$R/demo/app:v1"
"${gpgb[@]}" --local-user "${FPR[rsa]}" --detach-sign --output "$sigs/detached.sig" "$good"
note detached "gpg --detach-sign: a signature packet without the data" rsa "$R/demo/app:v1"
"${gpgb[@]}" --local-user "${FPR[rsa]}" --clearsign --output "$sigs/cleartext.sig" "$good"
note cleartext "gpg --clearsign: a cleartext signature (text, not binary packets)" rsa "$R/demo/app:v1"
# Corruption: uncompressed so the bytes are reachable; flip the last byte (the RSA signature) or one
# byte of the payload inside the literal data packet.
gpg_sign plain rsa "$good" --compress-algo none
cp "$sigs/plain.sig" "$sigs/corrupt-signature.sig"
size=$(stat -c %s "$sigs/corrupt-signature.sig")
last=$(xxd -p -s $((size - 1)) -l 1 "$sigs/corrupt-signature.sig")
printf "$(printf '\\x%02x' $((0x$last ^ 0x01)))" | dd of="$sigs/corrupt-signature.sig" bs=1 seek=$((size - 1)) conv=notrunc status=none
note corrupt-signature "gpg --sign --compress-algo none, last byte (RSA signature) flipped" rsa "$R/demo/app:v1"
cp "$sigs/plain.sig" "$sigs/corrupt-payload.sig"
offset=$(grep -obUa 'atomic container signature' "$sigs/corrupt-payload.sig" | head -1 | cut -d: -f1)
printf 'A' | dd of="$sigs/corrupt-payload.sig" bs=1 seek="$offset" conv=notrunc status=none
note corrupt-payload "gpg --sign --compress-algo none, one payload byte changed after signing" rsa "$R/demo/app:v1"
rm "$sigs/plain.sig"

variant() { # name note payload-text
  gpg_sign "$1" rsa "$(p "$1" "$3")"
  note "$1" "gpg --sign, RSA key: $2" rsa "$R/demo/app:v1"
}
variant not-json "payload is not JSON" 'this is not JSON'
variant wrong-type "critical.type is \"cosign container image signature\"" "$(payload "$R/demo/app:v1" "$digest" "cosign container image signature")"
variant extra-critical "critical has a fourth field" "$(payload "$R/demo/app:v1" "$digest" "" ',"extra":1')"
variant extra-top "a third top-level field" "$(payload "$R/demo/app:v1" "$digest" | sed 's/}$/,"extra":{}}/')"
variant extra-image "critical.image has a second field" "$(payload "$R/demo/app:v1" "$digest" | sed 's/"docker-manifest-digest":"[^"]*"/&,"size":1/')"
variant duplicate-type "critical.type twice (the last one valid)" "$(payload "$R/demo/app:v1" "$digest" "" ',"type":"atomic container signature"' | sed 's/"type":"atomic container signature"/"type":"x"/')"
variant duplicate-identity "critical.identity.docker-reference twice (the last one the image's)" "$(payload "$R/demo/app:v1" "$digest" | sed "s|\"docker-reference\":\"[^\"]*\"|\"docker-reference\":\"$R/other/app:v1\",&|")"
variant optional-unknown "optional has unknown keys (ignored)" "$(payload "$R/demo/app:v1" "$digest" "" "" '{"creator":"x","timestamp":1,"x-note":{"a":[1,2]}}')"
variant optional-duplicate "optional.creator twice" "$(payload "$R/demo/app:v1" "$digest" "" "" '{"creator":"x","creator":"y"}')"
variant optional-fraction "optional.timestamp is 1.5" "$(payload "$R/demo/app:v1" "$digest" "" "" '{"timestamp":1.5}')"
variant optional-null "optional is null" "$(payload "$R/demo/app:v1" "$digest" "" "" 'null')"
variant missing-optional "no optional field" "$(payload "$R/demo/app:v1" "$digest" | sed 's/,"optional":.*}$/}/')"
variant identity-null "docker-reference is null" "$(payload "$R/demo/app:v1" "$digest" | sed 's/"docker-reference":"[^"]*"/"docker-reference":null/')"
variant bad-digest "docker-manifest-digest is not a digest" "$(payload "$R/demo/app:v1" "sha256:1234")"
variant trailing-data "JSON followed by more data" "$(payload "$R/demo/app:v1" "$digest") {}"

# Revoke the revoked key now; its public key is exported with the revocation.
sed 's/^:-----BEGIN/-----BEGIN/' "$GNUPGHOME/openpgp-revocs.d/${FPR[revoked]}.rev" >"$work/revoke.asc"
"${gpgb[@]}" --import "$work/revoke.asc"

# --- public keys ----------------------------------------------------------------------------------
# README.md and .gitattributes are kept; everything generated is replaced.
rm -rf "$out/keys" "$out/signatures" "$out/cases.json" "$out/manifest.json" "$out/manifest-other.json"
mkdir -p "$out/keys" "$out/signatures"
for k in rsa ed25519 subkey other old shortlived revoked; do
  gpg --batch --armor --export "${FPR[$k]}" >"$out/keys/$k.asc"
done
for f in "$sigs"/*.sig; do base64 -w 76 "$f" >"$out/signatures/$(basename "$f").b64"; done
cp "$work/manifest.json" "$out/manifest.json"
cp "$work/manifest-other.json" "$out/manifest-other.json"

# --- what skopeo itself decides (its policy check on a pull from the registry) ---------------------
log "oracle"
cases="$work/cases.jsonl"
: >"$cases"
oracle() { # name image keys(comma) identity-json sigs...
  local name=$1 image=$2 keys=$3 identity=$4
  shift 4
  local dir="$work/oracle/$name"
  local repo=${image#"$R"/}
  repo=${repo%%[:@]*}
  mkdir -p "$dir/registries.d" "$dir/sigstore/$repo@sha256=$hex"
  local i=1
  for s in "$@"; do cp "$sigs/$s.sig" "$dir/sigstore/$repo@sha256=$hex/signature-$i"; i=$((i + 1)); done
  printf 'docker:\n  %s:\n    sigstore: file://%s\n' "$R" "$dir/sigstore" >"$dir/registries.d/default.yaml"
  IFS=, read -ra ks <<<"$keys"
  for k in "${ks[@]}"; do gpg --batch --export "${FPR[$k]}" >>"$dir/keys.gpg"; done
  jq -n --arg R "$R" --arg key "$dir/keys.gpg" --argjson id "$identity" \
    '{default: [{type: "reject"}], transports: {docker: {($R): [{type: "signedBy", keyType: "GPGKeys", keyPath: $key} + (if $id == null then {} else {signedIdentity: $id} end)]}}}' \
    >"$dir/policy.json"
  local accepted=true message=""
  if ! skopeo --policy "$dir/policy.json" --registries.d "$dir/registries.d" copy -q --src-tls-verify=false \
    "docker://$image" "dir:$dir/out" 2>"$dir/err"; then
    accepted=false
    message=$(sed -n 's/.*Source image rejected: //p' "$dir/err" | sed 's/"$//; s/\\"/"/g' | head -1)
    [[ -n "$message" ]] || message=$(tr '\n' ' ' <"$dir/err" | sed 's/^.*msg="//; s/"\s*$//; s/\\"/"/g')
  fi
  jq -cn --arg name "$name" --arg image "$image" --arg keys "$keys" --argjson id "$identity" \
    --argjson accepted "$accepted" --arg message "$message" '$ARGS.positional as $s |
    {name: $name, image: $image, keys: ($keys | split(",")), signedIdentity: $id, signatures: $s,
     skopeo: ({accepted: $accepted} + (if $accepted then {} else {message: $message} end))}' --args "$@" >>"$cases"
}
V1="$R/demo/app:v1"
oracle lookaside-rsa "$V1" rsa null rsa
oracle gpg-rsa "$V1" rsa null gpg-rsa
oracle ed25519 "$V1" ed25519 null ed25519
oracle subkey "$V1" subkey null subkey
oracle two-keys-second "$V1" rsa,ed25519 null ed25519
oracle unknown-key "$V1" rsa null other
oracle old-valid "$V1" old null old-valid
oracle expired-signature "$V1" old null expired-signature
oracle expired-key "$V1" shortlived null expired-key
oracle revoked-key "$V1" revoked null revoked
oracle two-signers "$V1" rsa,ed25519 null two-signers
oracle unsigned-literal "$V1" rsa null unsigned-literal
oracle detached "$V1" rsa null detached
oracle cleartext "$V1" rsa null cleartext
oracle corrupt-signature "$V1" rsa null corrupt-signature
oracle corrupt-payload "$V1" rsa null corrupt-payload
oracle digest-mismatch "$V1" rsa null digest-mismatch
for v in not-json wrong-type extra-critical extra-top extra-image duplicate-type duplicate-identity optional-unknown \
  optional-duplicate optional-fraction optional-null missing-optional identity-null bad-digest trailing-data; do
  oracle "$v" "$V1" rsa null "$v"
done
oracle none "$V1" rsa null
oracle bad-then-good "$V1" rsa null other rsa
oracle good-then-bad "$V1" rsa null rsa corrupt-signature
oracle all-bad "$V1" rsa null other digest-mismatch wrong-type

# signedIdentity table: every rule type, accepted and refused, on images the registry serves.
D="$R/demo/app@$digest"
M="$R/mirror/app:v1"
V2="$R/demo/app:v2"
oracle exact-same "$V1" rsa '{"type":"matchExact"}' rsa
oracle exact-other-tag "$V2" rsa '{"type":"matchExact"}' rsa
oracle exact-digest-ref "$D" rsa '{"type":"matchExact"}' id-demo-app-digest
oracle exact-digest-vs-tag "$D" rsa '{"type":"matchExact"}' rsa
oracle exact-name-only-sig "$V1" rsa '{"type":"matchExact"}' id-demo-app
oracle repodigest-same "$V1" rsa '{"type":"matchRepoDigestOrExact"}' rsa
oracle repodigest-other-tag "$V2" rsa '{"type":"matchRepoDigestOrExact"}' rsa
oracle repodigest-digest-ref "$D" rsa '{"type":"matchRepoDigestOrExact"}' rsa
oracle repodigest-digest-other-repo "$D" rsa '{"type":"matchRepoDigestOrExact"}' id-other-app-v1
oracle repodigest-name-only-sig "$V1" rsa '{"type":"matchRepoDigestOrExact"}' id-demo-app
oracle default-other-tag "$V2" rsa null rsa
oracle repository-other-tag "$V2" rsa '{"type":"matchRepository"}' rsa
oracle repository-name-only-sig "$V1" rsa '{"type":"matchRepository"}' id-demo-app
oracle repository-other-repo "$V1" rsa '{"type":"matchRepository"}' id-other-app-v1
oracle repository-digest-sig "$V2" rsa '{"type":"matchRepository"}' id-demo-app-digest
oracle exactref-same "$V2" rsa "$(jq -cn --arg r "$V1" '{type: "exactReference", dockerReference: $r}')" rsa
oracle exactref-other "$V1" rsa "$(jq -cn --arg r "$V2" '{type: "exactReference", dockerReference: $r}')" rsa
oracle exactref-digest "$V1" rsa "$(jq -cn --arg r "$D" '{type: "exactReference", dockerReference: $r}')" id-demo-app-digest
oracle exactrepo-same "$M" rsa "$(jq -cn --arg r "$R/demo/app" '{type: "exactRepository", dockerRepository: $r}')" id-demo-app-v2
oracle exactrepo-other "$V1" rsa "$(jq -cn --arg r "$R/demo/app" '{type: "exactRepository", dockerRepository: $r}')" id-other-app-v1
oracle remap-mirror "$M" rsa "$(jq -cn --arg p "$R/mirror" --arg s "$R/demo" '{type: "remapIdentity", prefix: $p, signedPrefix: $s}')" rsa
oracle remap-mirror-other-tag "$M" rsa "$(jq -cn --arg p "$R/mirror" --arg s "$R/demo" '{type: "remapIdentity", prefix: $p, signedPrefix: $s}')" id-demo-app-v2
oracle remap-mirror-own-identity "$M" rsa "$(jq -cn --arg p "$R/mirror" --arg s "$R/demo" '{type: "remapIdentity", prefix: $p, signedPrefix: $s}')" id-mirror-app-v1
oracle remap-not-prefixed "$V1" rsa "$(jq -cn --arg p "$R/mirror" --arg s "$R/other" '{type: "remapIdentity", prefix: $p, signedPrefix: $s}')" rsa
oracle remap-repo-prefix "$M" rsa "$(jq -cn --arg p "$R/mirror/app" --arg s "$R/demo/app" '{type: "remapIdentity", prefix: $p, signedPrefix: $s}')" rsa
oracle remap-partial-component "$M" rsa "$(jq -cn --arg p "$R/mirr" --arg s "$R/dem" '{type: "remapIdentity", prefix: $p, signedPrefix: $s}')" rsa
oracle remap-host "$M" rsa "$(jq -cn --arg p "$R" --arg s "$R" '{type: "remapIdentity", prefix: $p, signedPrefix: $s}')" id-mirror-app-v1

now=$(date -u +%Y-%m-%dT%H:%M:%SZ)
jq -n --slurpfile cases "$cases" \
  --arg now "$now" --arg registry "$R" --arg digest "$digest" --arg otherDigest "$other_digest" \
  --arg gpg "$(gpg --version | head -1)" --arg skopeo "$(skopeo --version)" \
  --arg registryVersion "$(docker-registry --version)" \
  --argjson keys "$(for k in rsa ed25519 subkey other old shortlived revoked; do
      jq -cn --arg k "$k" --arg f "${FPR[$k]}" \
        --argjson sub "$(gpg --with-colons --list-keys "${FPR[$k]}" | awk -F: '/^sub:/ {s=1; next} s && /^fpr:/ {print $10; s=0}' | jq -R . | jq -cs .)" \
        '{($k): {file: ("keys/" + $k + ".asc"), fingerprint: $f, subkeys: $sub}}'
    done | jq -cs add)" \
  --argjson sigs "$(for s in "${!SIG_NOTE[@]}"; do
      jq -cn --arg s "$s" --arg n "${SIG_NOTE[$s]}" --arg k "${SIG_SIGNER[$s]}" --arg i "${SIG_IDENTITY[$s]}" \
        '{($s): ({file: ("signatures/" + $s + ".sig.b64"), note: $n} + (if $k == "" then {} else {signer: $k} end) + {identity: $i})}'
    done | jq -cs 'add | to_entries | sort_by(.key) | from_entries')" \
  '{
    generatedAt: $now,
    tools: {gpg: $gpg, skopeo: $skopeo, registry: $registryVersion},
    registry: $registry, repository: "demo/app", digest: $digest, otherDigest: $otherDigest,
    manifest: "manifest.json", otherManifest: "manifest-other.json",
    keys: $keys, signatures: $sigs, cases: $cases
  }' >"$out/cases.json"
log "wrote $out ($(jq '.cases | length' "$out/cases.json") cases, $(ls "$out/signatures" | wc -l) signatures)"
