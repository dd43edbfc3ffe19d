// ECDSA-Sig-Value (ASN.1 DER) → raw r‖s for Web Crypto, as strictly as Go's ecdsa.VerifyASN1 reads it.
//
// cosign verifies ECDSA signatures with sigstore's ECDSAVerifier, i.e. Go's ecdsa.VerifyASN1
// (sigstore pkg/signature/ecdsa.go): SEQUENCE { INTEGER r, INTEGER s } in DER, nothing after it.
// cryptobyte refuses non-minimal lengths, non-minimal or negative integers and trailing bytes, so
// a 64-byte raw r‖s signature is refused too ("invalid ASN.1 from signature").

/** r‖s, each left-padded to `size` bytes; undefined when `der` is not a strict DER ECDSA-Sig-Value. */
export function ecdsaDerToRaw(der: Uint8Array, size = 32): Uint8Array | undefined {
  const seq = readElement(der, 0, 0x30);
  if (!seq || seq.end !== der.length) return undefined;
  const r = readElement(der, seq.start, 0x02);
  if (!r) return undefined;
  const s = readElement(der, r.end, 0x02);
  if (!s || s.end !== seq.end) return undefined;
  const rb = positiveInteger(der.subarray(r.start, r.end));
  const sb = positiveInteger(der.subarray(s.start, s.end));
  if (!rb || !sb || rb.length > size || sb.length > size) return undefined;
  const out = new Uint8Array(size * 2);
  out.set(rb, size - rb.length);
  out.set(sb, size * 2 - sb.length);
  return out;
}

/** One TLV with the expected tag at `offset`: definite, minimal length (signatures stay below 64 KiB). */
function readElement(bytes: Uint8Array, offset: number, tag: number): { start: number; end: number } | undefined {
  if (offset + 2 > bytes.length || bytes[offset] !== tag) return undefined;
  let length = bytes[offset + 1]!;
  let start = offset + 2;
  if (length & 0x80) {
    const count = length & 0x7f;
    if (count === 0 || count > 2 || start + count > bytes.length) return undefined;
    length = 0;
    for (let i = 0; i < count; i++) length = length * 256 + bytes[start + i]!;
    // Minimal: the long form only for lengths ≥ 128, and no leading zero byte.
    if (length < 0x80 || bytes[start] === 0) return undefined;
    start += count;
  }
  const end = start + length;
  return end <= bytes.length ? { start, end } : undefined;
}

/** The magnitude of a minimally encoded, strictly positive INTEGER; undefined otherwise. */
function positiveInteger(value: Uint8Array): Uint8Array | undefined {
  if (value.length === 0) return undefined;
  if (value[0]! & 0x80) return undefined; // negative
  if (value.length > 1 && value[0] === 0 && !(value[1]! & 0x80)) return undefined; // non-minimal
  const magnitude = value[0] === 0 ? value.subarray(1) : value;
  if (magnitude.length === 0) return undefined; // zero
  return magnitude;
}
