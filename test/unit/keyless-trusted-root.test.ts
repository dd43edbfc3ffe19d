// parseTrustedRoot: the public-good trusted_root.json, protojson's spellings, and what is refused.
import { describe, expect, it } from "vitest";
import { parseTrustedRoot, protojsonBytes } from "../../src/verify/cosign/keyless/trusted-root";
import { utf8, vectorText } from "./keyless-vectors";

const publicGood = () => JSON.parse(vectorText("trusted-root-public-good.json"));
const parse = (doc: unknown) => parseTrustedRoot(utf8(typeof doc === "string" ? doc : JSON.stringify(doc)));
const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

/** Renames every camelCase key to snake_case, as protobuf's own JSON names are. */
function snake(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(snake);
  if (value && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`), snake(v)]));
  }
  return value;
}

describe("parseTrustedRoot", () => {
  it("reads the public-good root: CAs, Rekor, CT logs, TSA, validity windows", () => {
    const r = parse(publicGood());
    if (!r.ok) throw new Error(r.why);
    const root = r.value;
    expect(root.certificateAuthorities.map((c) => c.chain.length)).toEqual([1, 2]);
    expect(root.certificateAuthorities[0]!.validTo?.toISOString()).toBe("2022-12-31T23:59:59.999Z");
    expect(root.certificateAuthorities[1]!.validFrom?.toISOString()).toBe("2022-04-13T20:06:15.000Z");
    expect(root.certificateAuthorities[1]!.validTo).toBeUndefined();
    expect(root.tlogs.map((l) => [l.baseUrl, hex(l.logId), l.keyDetails])).toEqual([["https://rekor.sigstore.dev", "c0d23d6ad406973f9559f3ba2d1ca01f84147d8ffc5b8445c224f98b9591801d", "PKIX_ECDSA_P256_SHA_256"]]);
    expect(root.ctlogs.map((l) => l.baseUrl)).toEqual(["https://ctfe.sigstore.dev/test", "https://ctfe.sigstore.dev/2022"]);
    expect(root.timestampAuthorities).toHaveLength(1);
  });

  it("reads proto (snake_case) field names, and URL-safe unpadded base64", () => {
    const doc = snake(publicGood()) as Record<string, unknown>;
    const text = JSON.stringify(doc).replace(/"key_id":"([^"]+)"/g, (_, b: string) => `"key_id":"${b.replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}"`);
    const r = parse(text);
    if (!r.ok) throw new Error(r.why);
    expect(hex(r.value.ctlogs[1]!.logId)).toBe("dd3d306ac6c7113263191e1c99673702a24a5eb8de3cadff878a72802f29ee8e");
    expect(r.value.certificateAuthorities).toHaveLength(2);
  });

  it("reads timestamps with nine fractional digits and offsets", () => {
    const doc = publicGood();
    doc.tlogs[0].publicKey.validFor = { start: "2021-01-12T12:53:27.123456789+01:00", end: "2031-01-01T00:00:00Z" };
    const r = parse(doc);
    expect(r.ok && r.value.tlogs[0]!.validFrom?.toISOString()).toBe("2021-01-12T11:53:27.123Z");
  });

  const refused: [string, (d: any) => unknown, string][] = [
    ["not JSON", () => "{", "not JSON"],
    ["another media type", (d) => ({ ...d, mediaType: "application/json" }), "mediaType"],
    ["no media type", ({ mediaType: _, ...d }) => d, "mediaType"],
    ["a field under both of its names", (d) => ({ ...d, certificate_authorities: d.certificateAuthorities }), "both certificateAuthorities and certificate_authorities"],
    ["a key that is not base64", (d) => (d.tlogs[0].publicKey.rawBytes = "not base64!", d), "tlogs[0].publicKey.rawBytes is not base64"],
    ["a key that is not DER", (d) => (d.tlogs[0].publicKey.rawBytes = "AAAA", d), "is not a DER public key"],
    ["a certificate that is not X.509", (d) => (d.certificateAuthorities[1].certChain.certificates[0].rawBytes = "MAA=", d), "certificateAuthorities[1].certChain.certificates[0] is not an X.509 certificate"],
    ["a log without an ID", (d) => (delete d.ctlogs[0].logId.keyId, d), "ctlogs[0].logId has no keyId"],
    ["an impossible date", (d) => (d.tlogs[0].publicKey.validFor.start = "2021-02-30T00:00:00Z", d), "not a valid time"],
    ["a date that is not RFC 3339", (d) => (d.tlogs[0].publicKey.validFor.start = "yesterday", d), "not an RFC 3339 timestamp"],
    ["an empty CA chain", (d) => (d.certificateAuthorities[0].certChain.certificates = [], d), "has no certificates"],
    ["a list that is not a list", (d) => ({ ...d, tlogs: {} }), "tlogs is not a list"],
    ["nothing to trust", (d) => ({ mediaType: d.mediaType }), "neither a certificate authority nor a transparency log"],
    ["too many logs", (d) => ({ ...d, ctlogs: Array(65).fill(d.ctlogs[0]) }), "over the limit"],
  ];
  for (const [what, mutate, why] of refused) {
    it(`refuses ${what}, saying why`, () => {
      const r = parse(mutate(publicGood()));
      expect(r.ok).toBe(false);
      expect(!r.ok && r.why).toContain(why);
    });
  }

  it("refuses bytes that are not UTF-8", () => {
    expect(parseTrustedRoot(Uint8Array.of(0xff, 0xfe))).toMatchObject({ ok: false, why: "trusted_root.json is not UTF-8" });
  });
});

describe("protojson bytes", () => {
  it("takes standard and URL-safe, padded or not; refuses mixed alphabets and bad lengths", () => {
    expect(protojsonBytes("+/8=")).toEqual(Uint8Array.of(0xfb, 0xff));
    expect(protojsonBytes("-_8")).toEqual(Uint8Array.of(0xfb, 0xff));
    expect(protojsonBytes("+_8=")).toBeUndefined();
    expect(protojsonBytes("A")).toBeUndefined();
    expect(protojsonBytes("AA=")).toBeUndefined();
  });
});
