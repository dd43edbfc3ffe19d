// Canonical JSON edge cases: the exact bytes docker/go canonical/json produces, which Notary v1 signs.
import { describe, expect, it } from "vitest";
import { CanonicalJsonError, encodeCanonical, encodeCanonicalString } from "../../../src/verify/shared/canonical-json";
import { utf8 } from "../../../src/verify/shared/encoding";

const hex = (bytes: Uint8Array) => [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" ");

describe("canonical JSON (docker/go canonical mode)", () => {
  it("drops whitespace and sorts keys at every level", () => {
    const parsed = JSON.parse('{ "b" : 1, "a" : [ true , false , null ], "c" : { "z" : "x", "y" : 2 } }');
    expect(encodeCanonicalString(parsed)).toBe('{"a":[true,false,null],"b":1,"c":{"y":2,"z":"x"}}');
  });

  it("keeps array order and empty containers", () => {
    expect(encodeCanonicalString({ a: [3, 1, 2], b: {}, c: [] })).toBe('{"a":[3,1,2],"b":{},"c":[]}');
  });

  it("sorts keys by UTF-8 bytes, not UTF-16 code units", () => {
    // UTF-16 order would put U+1F600 (a surrogate pair, 0xD83D...) before U+E000;
    // in UTF-8 U+E000 is EE 80 80 and U+1F600 is F0 9F 98 80.
    const obj = { "\u{1F600}": 1, "\uE000": 2, é: 3, z: 4, Z: 5, "": 6, aa: 7, a: 8 };
    expect(encodeCanonicalString(obj)).toBe('{"":6,"Z":5,"a":8,"aa":7,"z":4,"é":3,"\uE000":2,"\u{1F600}":1}');
    const sortedByUtf16 = Object.keys(obj).sort();
    expect(sortedByUtf16.indexOf("\u{1F600}")).toBeLessThan(sortedByUtf16.indexOf("\uE000"));
  });

  it("escapes only quote and backslash", () => {
    expect(encodeCanonicalString({ k: 'a"b\\c' })).toBe('{"k":"a\\"b\\\\c"}');
  });

  it("writes control characters raw", () => {
    const bytes = encodeCanonical({ k: "a\u0000b\n\t\r\u001f\u007f" });
    expect(hex(bytes)).toBe(hex(Uint8Array.of(0x7b, 0x22, 0x6b, 0x22, 0x3a, 0x22, 0x61, 0x00, 0x62, 0x0a, 0x09, 0x0d, 0x1f, 0x7f, 0x22, 0x7d)));
  });

  it("writes <>& and U+2028/U+2029 raw (no HTML escaping)", () => {
    expect(encodeCanonical({ k: "<a>&\u2028\u2029" })).toEqual(utf8('{"k":"<a>&\u2028\u2029"}'));
    expect(hex(encodeCanonical("\u2028"))).toBe("22 e2 80 a8 22");
  });

  it("writes non-ASCII as raw UTF-8, also in keys", () => {
    expect(hex(encodeCanonical({ ü: "ß€😀" }))).toBe(hex(utf8('{"ü":"ß€😀"}')));
  });

  it("turns a lone surrogate into U+FFFD, as Go's decoder does", () => {
    expect(hex(encodeCanonical(JSON.parse('"\\ud800x"')))).toBe("22 ef bf bd 78 22");
  });

  it("writes integers in decimal, -0 as 0, and integral floats as integers", () => {
    expect(encodeCanonicalString([0, -0, -5, 42, JSON.parse("1.0"), JSON.parse("1e3"), 1e18])).toBe("[0,0,-5,42,1,1000,1000000000000000000]");
  });

  it("writes integers beyond 2^53 as the double JSON.parse produced (as notary's float64 round trip does)", () => {
    expect(encodeCanonicalString(JSON.parse("9007199254740993"))).toBe("9007199254740992");
    expect(encodeCanonicalString(2 ** 62)).toBe("4611686018427387904");
  });

  it.each([[1.5], [-0.25], [Number.NaN], [Number.POSITIVE_INFINITY], [2 ** 63], [-(2 ** 64)]])("refuses %s", (n) => {
    expect(() => encodeCanonical({ n })).toThrow(CanonicalJsonError);
  });

  it("refuses values JSON cannot hold", () => {
    expect(() => encodeCanonical({ a: undefined })).toThrow(CanonicalJsonError);
    expect(() => encodeCanonical(() => 1)).toThrow(CanonicalJsonError);
    expect(() => encodeCanonical(new Date(0))).toThrow(CanonicalJsonError);
    expect(() => encodeCanonical(10n)).toThrow(CanonicalJsonError);
  });

  it("encodes a notary key object the way key IDs are computed", () => {
    const key = { keyval: { public: "QUJD", private: null }, keytype: "ecdsa" };
    expect(encodeCanonicalString(key)).toBe('{"keytype":"ecdsa","keyval":{"private":null,"public":"QUJD"}}');
  });

  it("re-encodes a pretty-printed role file to the compact form that was signed", () => {
    const pretty = JSON.stringify({ version: 2, _type: "Targets", targets: { "v<1>": { length: 10, hashes: { sha256: "x/y+" } } } }, null, 2);
    expect(encodeCanonicalString(JSON.parse(pretty))).toBe('{"_type":"Targets","targets":{"v<1>":{"hashes":{"sha256":"x/y+"},"length":10}},"version":2}');
  });
});
