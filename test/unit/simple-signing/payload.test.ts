// The signed payload read as strictly as containers/image's signature/simple.go: a table of payloads
// and what each must give (the words are Go's, from ParanoidUnmarshalJSONObject and strictUnmarshalJSON).
import { describe, expect, it } from "vitest";
import { parseSignaturePayload, SimpleSigningError, validateDigest } from "../../../src/verify/simple-signing";
import { parseJson } from "../../../src/verify/simple-signing/json";

const D = `sha256:${"a".repeat(64)}`;
const REF = "docker.io/library/busybox:latest";
const utf8 = (s: string) => new TextEncoder().encode(s);
const payload = (critical = `{"identity":{"docker-reference":"${REF}"},"image":{"docker-manifest-digest":"${D}"},"type":"atomic container signature"}`, optional = `{"creator":"atomic 5.23.1","timestamp":1700000000}`) =>
  `{"critical":${critical},"optional":${optional}}`;

function problem(text: string | Uint8Array): string | undefined {
  try {
    parseSignaturePayload(typeof text === "string" ? utf8(text) : text);
    return undefined;
  } catch (err) {
    if (err instanceof SimpleSigningError && err.code === "INVALID_PAYLOAD") return err.message;
    throw err;
  }
}

describe("simple-signing payload", () => {
  it("reads what skopeo writes", () => {
    expect(parseSignaturePayload(utf8(payload()))).toEqual({ dockerManifestDigest: D, dockerReference: REF, creator: "atomic 5.23.1", timestamp: 1700000000 });
    // Field order and whitespace do not matter; optional may be empty.
    const reordered = `{ "optional": {}, "critical": {"type": "atomic container signature", "image": {"docker-manifest-digest": "${D}"}, "identity": {"docker-reference": "${REF}"}} }\n`;
    expect(parseSignaturePayload(utf8(reordered))).toEqual({ dockerManifestDigest: D, dockerReference: REF });
  });

  const table: [string, string | Uint8Array, string | undefined][] = [
    ["not JSON", "this is not JSON", "invalid character 'h' in literal true (expecting 'r')"],
    ["empty", "", "unexpected end of JSON input"],
    ["truncated", payload().slice(0, -1), "unexpected end of JSON input"],
    ["trailing data", `${payload()} {}`, "invalid character '{' after top-level value"],
    ["trailing whitespace is fine", `${payload()} \r\n\t`, undefined],
    ["a BOM is not whitespace", `\ufeff${payload()}`, "invalid character 'ï' looking for beginning of value"],
    ["top level not an object", `[${payload()}]`, "JSON object expected, got array"],
    ["top level null", "null", "JSON object expected, got null"],
    ["extra top-level field", payload().replace(/}$/, ',"extra":{}}'), 'Unknown key "extra"'],
    ["missing optional", `{"critical":${payload().slice(12, payload().indexOf(',"optional"'))}}`, 'Key "optional" missing in a JSON object'],
    ["duplicate critical", payload().replace('{"critical":', `{"critical":{},"critical":`), 'Duplicate key "critical"'],
    ["critical null", payload("null"), "JSON object expected, got null"],
    ["optional null", payload(undefined, "null"), "JSON object expected, got null"],
    ["optional unknown keys ignored, any value", payload(undefined, '{"x":[1,{"y":null}],"creator":"c"}'), undefined],
    ["duplicates nested in an ignored optional value are Go's json.Decode business: accepted", payload(undefined, '{"x":{"a":1,"a":2}}'), undefined],
    ["optional duplicate key", payload(undefined, '{"creator":"a","creator":"b"}'), 'Duplicate key "creator"'],
    ["optional.creator not a string", payload(undefined, '{"creator":1}'), "json: cannot unmarshal number into Go value of type string"],
    ["optional.creator null", payload(undefined, '{"creator":null}'), undefined],
    ["optional.timestamp fraction", payload(undefined, '{"timestamp":1.5}'), "Field optional.timestamp is not an integer"],
    ["optional.timestamp exponent integer", payload(undefined, '{"timestamp":1.7e9}'), undefined],
    ["optional.timestamp beyond int64", payload(undefined, '{"timestamp":1e19}'), "Field optional.timestamp is not an integer"],
    ["optional.timestamp overflow", payload(undefined, '{"timestamp":1e400}'), "json: cannot unmarshal number 1e400 into Go value of type float64"],
    ["optional.timestamp string", payload(undefined, '{"timestamp":"1"}'), "json: cannot unmarshal string into Go value of type float64"],
    ["critical extra field", payload(`{"identity":{"docker-reference":"${REF}"},"image":{"docker-manifest-digest":"${D}"},"type":"atomic container signature","x":1}`), 'Unknown key "x"'],
    ["critical missing type", payload(`{"identity":{"docker-reference":"${REF}"},"image":{"docker-manifest-digest":"${D}"}}`), 'Key "type" missing in a JSON object'],
    ["critical duplicate type, last valid", payload(`{"type":"x","identity":{"docker-reference":"${REF}"},"image":{"docker-manifest-digest":"${D}"},"type":"atomic container signature"}`), 'Duplicate key "type"'],
    ["critical keys are case-sensitive", payload(`{"Type":"atomic container signature","identity":{"docker-reference":"${REF}"},"image":{"docker-manifest-digest":"${D}"}}`), 'Unknown key "Type"'],
    ["wrong type", payload(`{"identity":{"docker-reference":"${REF}"},"image":{"docker-manifest-digest":"${D}"},"type":"cosign container image signature"}`), "Unrecognized signature type cosign container image signature"],
    ["type null is the empty type", payload(`{"identity":{"docker-reference":"${REF}"},"image":{"docker-manifest-digest":"${D}"},"type":null}`), "Unrecognized signature type "],
    ["type not a string", payload(`{"identity":{"docker-reference":"${REF}"},"image":{"docker-manifest-digest":"${D}"},"type":true}`), "json: cannot unmarshal bool into Go value of type string"],
    ["image second field", payload(`{"identity":{"docker-reference":"${REF}"},"image":{"docker-manifest-digest":"${D}","size":1},"type":"atomic container signature"}`), 'Unknown key "size"'],
    ["image empty", payload(`{"identity":{"docker-reference":"${REF}"},"image":{},"type":"atomic container signature"}`), 'Key "docker-manifest-digest" missing in a JSON object'],
    ["image not an object", payload(`{"identity":{"docker-reference":"${REF}"},"image":"${D}","type":"atomic container signature"}`), "JSON object expected, got string"],
    ["digest too short", payload(`{"identity":{"docker-reference":"${REF}"},"image":{"docker-manifest-digest":"sha256:1234"},"type":"atomic container signature"}`), 'invalid docker-manifest-digest value "sha256:1234": invalid checksum digest length'],
    ["digest upper-case hex", payload(`{"identity":{"docker-reference":"${REF}"},"image":{"docker-manifest-digest":"sha256:${"A".repeat(64)}"},"type":"atomic container signature"}`), `invalid docker-manifest-digest value "sha256:${"A".repeat(64)}": invalid checksum digest format`],
    ["digest unknown algorithm", payload(`{"identity":{"docker-reference":"${REF}"},"image":{"docker-manifest-digest":"md5:${"a".repeat(32)}"},"type":"atomic container signature"}`), `invalid docker-manifest-digest value "md5:${"a".repeat(32)}": unsupported digest algorithm`],
    ["digest sha512 is a digest", payload(`{"identity":{"docker-reference":"${REF}"},"image":{"docker-manifest-digest":"sha512:${"b".repeat(128)}"},"type":"atomic container signature"}`), undefined],
    ["identity second field", payload(`{"identity":{"docker-reference":"${REF}","x":1},"image":{"docker-manifest-digest":"${D}"},"type":"atomic container signature"}`), 'Unknown key "x"'],
    ["identity duplicate reference", payload(`{"identity":{"docker-reference":"quay.io/x/y:1","docker-reference":"${REF}"},"image":{"docker-manifest-digest":"${D}"},"type":"atomic container signature"}`), 'Duplicate key "docker-reference"'],
    ["identity null reference is accepted here (and matches nothing later)", payload(`{"identity":{"docker-reference":null},"image":{"docker-manifest-digest":"${D}"},"type":"atomic container signature"}`), undefined],
    ["escaped key names are the same key", payload(`{"identity":{"docker-reference":"${REF}"},"image":{"docker-manifest-digest":"${D}"},"type":"atomic container signature","t\\u0079pe":"x"}`), 'Duplicate key "type"'],
    ["control character in a string", payload(undefined, '{"creator":"a\u0001"}'), "invalid character '\\x01' in string literal"],
    ["invalid escape", payload(undefined, '{"creator":"\\q"}'), "invalid character 'q' in string escape code"],
    ["invalid UTF-8 in a string is replaced, as Go does", new Uint8Array([...utf8(payload(undefined, '{"creator":"')), 0xff, ...utf8('"}}')]), undefined],
    ["leading zero", payload(undefined, '{"timestamp":01}'), "invalid character '1' after object key:value pair"],
  ];
  for (const [name, text, expected] of table) {
    it(`${name} → ${expected ?? "accepted"}`, () => expect(problem(text)).toBe(expected));
  }

  it("keeps duplicate members (JSON.parse would keep only the last)", () => {
    const doc = parseJson('{"a":1,"a":2}');
    expect(doc).toEqual({ kind: "object", entries: [["a", { kind: "number", value: 1, text: "1" }], ["a", { kind: "number", value: 2, text: "2" }]] });
    expect(JSON.parse('{"a":1,"a":2}')).toEqual({ a: 2 });
  });

  it("decodes escapes and surrogates like Go (a lone surrogate is U+FFFD)", () => {
    expect(parseJson('"\\u00e9\\ud83d\\ude00\\ud800x\\/\\b"')).toEqual({ kind: "string", value: "é😀\ufffdx/\b" });
  });

  it("refuses absurd nesting without exhausting the stack", () => {
    expect(() => parseJson(`${"[".repeat(100_000)}${"]".repeat(100_000)}`)).toThrow(/max depth/);
  });

  it("validates digests with go-digest's words", () => {
    expect(validateDigest(D)).toBeUndefined();
    expect(validateDigest("sha256")).toBe("invalid checksum digest format");
    expect(validateDigest("sha256:")).toBe("invalid checksum digest format");
    expect(validateDigest(":abc")).toBe("invalid checksum digest format");
    expect(validateDigest("sha256:xyz")).toBe("invalid checksum digest length");
    expect(validateDigest(`sha256:${"g".repeat(64)}`)).toBe("invalid checksum digest format");
    expect(validateDigest(`foo:${"a".repeat(64)}`)).toBe("unsupported digest algorithm");
    expect(validateDigest(`Foo:${"a".repeat(64)}`)).toBe("invalid checksum digest format");
  });
});
