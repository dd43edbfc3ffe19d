// SSRF through the Worker: references and policies that point at internal addresses are refused
// before any connection, unless the matching rule names the host literally (never a metadata one).
// The global fetch is replaced so that nothing is ever contacted from this file (loopback requests
// fail, or get a canned answer; any other address is failed by the test itself), and every attempt
// that passed the egress guard is recorded.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import PUBLIC_KEY from "../vectors/simple-signing/keys/rsa.asc?raw";
import { DIGEST_A, decideImage, putPolicy } from "./http";

let attempts: string[] = [];
/** Answers for loopback URLs, when a test needs one (nothing is ever served from the network). */
let loopbackAnswer: ((url: URL) => Response | undefined) | undefined;

beforeEach(() => {
  attempts = [];
  loopbackAnswer = undefined;
  const real = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.hostname === "trustgate.test") return real(input, init);
    attempts.push(url.toString());
    // Reaching this line proves the request passed the egress guard; it never leaves the test.
    if (url.hostname !== "127.0.0.1") throw new Error(`test refused a non-loopback fetch to ${url.host}`);
    const answer = loopbackAnswer?.(url);
    if (answer) return answer;
    throw new TypeError("connection refused (loopback not served in this test)");
  });
});

afterEach(() => {
  vi.restoreAllMocks();
});

const notary = { type: "notary", server: "https://notary.example" };

describe("egress refusals", () => {
  it("denies a metadata-address image matched by a wildcard, without fetching", async () => {
    await putPolicy("ssrf-wild", { mode: "enforce", rules: [{ pattern: "*", require: [notary] }] });
    const res = await decideImage("169.254.169.254/latest/meta-data:v1", "ssrf-wild");
    expect(res.status).toBe(200);
    expect(res.json.decision).toBe("deny");
    expect(res.json.reasons[0].message).toMatch(/refused to contact 169\.254\.169\.254: it is a cloud metadata address/);
    expect(attempts.filter((u) => u.includes("169.254"))).toEqual([]);
  });

  it("refuses a trust server on a metadata address even though the requirement names it", async () => {
    await putPolicy("ssrf-server", {
      mode: "enforce",
      rules: [{ pattern: "*", require: [{ type: "notary", server: "http://169.254.169.254" }] }],
    });
    const res = await decideImage(`127.0.0.1:1/app@${DIGEST_A}`, "ssrf-server");
    expect(res.json.decision).toBe("deny");
    expect(res.json.reasons[0].code).toBe("NOTARY_TRUST_SERVER_UNREACHABLE");
    expect(res.json.reasons[0].message).toMatch(/refused to contact 169\.254\.169\.254: it is a cloud metadata address/);
    expect(attempts.filter((u) => u.includes("169.254"))).toEqual([]);
  });

  it("allows a private registry's image under a static allow, with a note that its digest was not looked up", async () => {
    await putPolicy("ssrf-allow", { mode: "enforce", rules: [{ pattern: "*", require: [{ type: "allow" }] }] });
    const res = await decideImage("10.0.0.1:5000/x", "ssrf-allow");
    expect(res.json.decision).toBe("allow");
    expect(res.json.digest).toBeNull();
    const note = res.json.reasons.find((r: any) => r.code === "DIGEST_UNRESOLVED");
    expect(note.message).toMatch(/refused to contact 10\.0\.0\.1:5000: it is a private address/);
    expect(attempts).toEqual([]);
  });

  it("denies the same image under a verifying rule, naming the refusal", async () => {
    await putPolicy("ssrf-verify", { mode: "enforce", rules: [{ pattern: "10.0.0.1:*/*", require: [notary] }] });
    const res = await decideImage("10.0.0.1:5000/x", "ssrf-verify");
    expect(res.json.decision).toBe("deny");
    expect(res.json.reasons[0].message).toMatch(/refused to contact 10\.0\.0\.1:5000/);
    expect(attempts).toEqual([]);
  });

  it("still contacts loopback (the lab): the failure is a connection, not a refusal", async () => {
    await putPolicy("ssrf-loopback", { mode: "enforce", rules: [{ pattern: "127.0.0.1:*/demo/*", require: [notary] }] });
    const res = await decideImage("127.0.0.1:1/demo/app:v1", "ssrf-loopback");
    expect(res.json.decision).toBe("deny");
    expect(res.json.reasons[0].message).not.toMatch(/refused to contact/);
    expect(attempts.length).toBeGreaterThan(0);
    // The registry on loopback, and the rule's own trust server (asked for its trust data while
    // the registry is asked for the digest: decide()'s prepare step); nothing else.
    expect(attempts.every((u) => ["127.0.0.1", "notary.example"].includes(new URL(u).hostname))).toBe(true);
    expect(attempts.some((u) => new URL(u).hostname === "127.0.0.1")).toBe(true);
  });
});

describe("hosts the matching rule names literally", () => {
  const manifestUrl = "https://10.1.2.3:5000/v2/app/web/manifests/v1";

  it("a rule naming 10.1.2.3:5000 in its pattern lets the decision contact it (it reaches the fetch port)", async () => {
    await putPolicy("ssrf-named", { mode: "enforce", rules: [{ pattern: "10.1.2.3:5000/app/*", require: [notary] }] });
    const res = await decideImage("10.1.2.3:5000/app/web:v1", "ssrf-named");
    expect(res.json.decision).toBe("deny");
    expect(res.json.reasons[0].code).toBe("REGISTRY_UNREACHABLE");
    // Not refused: the request went out to the (intercepted) fetch, which failed it.
    expect(res.json.reasons[0].message).toBe("10.1.2.3:5000 could not be reached (no HTTP answer)");
    expect(attempts).toContain(manifestUrl);
    // Besides the registry, only the rule's trust server (asked while the registry is).
    expect(attempts.every((u) => new URL(u).host === "10.1.2.3:5000" || new URL(u).hostname === "notary.example")).toBe(true);
  });

  it("a wildcard in the registry names nothing: refused with the reason, nothing sent", async () => {
    // A '*' inside a numeric host is not even a valid pattern.
    const bad = await putPolicy("ssrf-wild-host", { mode: "enforce", rules: [{ pattern: "10.1.2.*:5000/*", require: [notary] }] });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.json)).toMatch(/10\.1\.2\.\*/);
    for (const [id, pattern] of [
      ["ssrf-wild-port", "10.1.2.3:*/app/*"],
      ["ssrf-wild-any-host", "*:5000/*"],
    ] as const) {
      expect((await putPolicy(id, { mode: "enforce", rules: [{ pattern, require: [notary] }] })).status, pattern).toBeLessThan(300);
      const res = await decideImage("10.1.2.3:5000/app/web:v1", id);
      expect(res.json.decision, pattern).toBe("deny");
      expect(res.json.reasons[0].code, pattern).toBe("REGISTRY_UNREACHABLE");
      expect(res.json.reasons[0].message, pattern).toMatch(
        /^refused to contact 10\.1\.2\.3:5000: it is a private address, and neither the configuration \(EGRESS_ALLOWED_HOSTS\) nor the matching rule names it/,
      );
    }
    expect(attempts).toEqual([]);
  });

  it("the permission is per decision: the same policy's wildcard rule still refuses the same host", async () => {
    await putPolicy("ssrf-both", {
      mode: "enforce",
      rules: [
        { pattern: "*:5000/*", require: [notary] },
        { pattern: "10.1.2.3:5000/app/*", require: [notary] },
      ],
    });
    const other = await decideImage("10.1.2.3:5000/other/web:v1", "ssrf-both");
    expect(other.json.rule).toBe("*:5000/*");
    expect(other.json.reasons[0].message).toMatch(/^refused to contact 10\.1\.2\.3:5000: it is a private address/);
    expect(attempts).toEqual([]);
    const named = await decideImage("10.1.2.3:5000/app/web:v1", "ssrf-both");
    expect(named.json.rule).toBe("10.1.2.3:5000/app/*");
    expect(named.json.reasons[0].message).not.toMatch(/refused to contact/);
    expect(attempts).toContain(manifestUrl);
  });

  it("a metadata address stays refused even when the pattern names it", async () => {
    await putPolicy("ssrf-named-metadata", { mode: "enforce", rules: [{ pattern: "169.254.169.254:80/latest/*", require: [notary] }] });
    const res = await decideImage("169.254.169.254:80/latest/meta-data:v1", "ssrf-named-metadata");
    expect(res.json.decision).toBe("deny");
    expect(res.json.rule).toBe("169.254.169.254:80/latest/*");
    expect(res.json.reasons[0].message).toMatch(/^refused to contact 169\.254\.169\.254(:80)?: it is a cloud metadata address/);
    expect(attempts).toEqual([]);
  });

  it("an internal name (single-label, .internal, ...) is refused under a wildcard and contacted where the rule names it", async () => {
    await putPolicy("ssrf-internal", {
      mode: "enforce",
      rules: [
        { pattern: "*", require: [notary] },
        { pattern: "registry:5000/app/*", require: [notary] },
        { pattern: "registry.corp.internal/app/*", require: [{ type: "notary", server: "https://notary.corp.internal:4443" }] },
      ],
    });
    for (const image of ["registry:5000/other/web:v1", "registry.corp.internal/other/web:v1", "mirror.local/app/web:v1", "app.localhost:5000/app/web:v1"]) {
      const res = await decideImage(image, "ssrf-internal");
      expect(res.json.rule, image).toBe("*");
      expect(res.json.reasons[0].code, image).toBe("REGISTRY_UNREACHABLE");
      expect(res.json.reasons[0].message, image).toMatch(
        /^refused to contact [^ ]+: it is an internal name \(single-label, or under \.local, \.localdomain, \.internal or \.localhost\), and neither the configuration \(EGRESS_ALLOWED_HOSTS\) nor the matching rule names it/,
      );
    }
    expect(attempts).toEqual([]);
    const named = await decideImage("registry:5000/app/web:v1", "ssrf-internal");
    expect(named.json.reasons[0].message).toBe("registry:5000 could not be reached (no HTTP answer)");
    expect(attempts).toContain("https://registry:5000/v2/app/web/manifests/v1");
    attempts = [];
    const server = await decideImage(`registry.corp.internal/app/web@${DIGEST_A}`, "ssrf-internal");
    expect(server.json.reasons[0]).toMatchObject({ code: "NOTARY_TRUST_SERVER_UNREACHABLE", message: "failed to get content trust information: notary.corp.internal:4443 could not be reached (no HTTP answer)" });
    expect(attempts.some((u) => u.startsWith("https://notary.corp.internal:4443/v2/registry.corp.internal/app/web/_trust/tuf/"))).toBe(true);
  });

  it("a trust server and a lookaside the requirements name are contacted on private addresses", async () => {
    await putPolicy("ssrf-named-server", {
      mode: "enforce",
      rules: [{ pattern: "*", require: [{ type: "notary", server: "https://10.9.8.7:4443" }] }],
    });
    const notaryRes = await decideImage(`127.0.0.1:1/app@${DIGEST_A}`, "ssrf-named-server");
    expect(notaryRes.json.reasons[0].code).toBe("NOTARY_TRUST_SERVER_UNREACHABLE");
    expect(notaryRes.json.reasons[0].message).not.toMatch(/refused to contact/);
    expect(attempts.some((u) => u.startsWith("https://10.9.8.7:4443/v2/127.0.0.1:1/app/_trust/tuf/"))).toBe(true);

    // signedBy: the loopback registry answers its ping (no signature extension), then the lookaside is asked.
    loopbackAnswer = (url) => (url.pathname === "/v2/" ? new Response("{}", { status: 401 }) : undefined);
    attempts = [];
    await putPolicy("ssrf-named-lookaside", {
      mode: "enforce",
      rules: [{ pattern: "*", require: [{ type: "signedBy", keys: [PUBLIC_KEY], lookaside: "http://192.168.50.5:8080/sigs" }] }],
    });
    const lookasideRes = await decideImage(`127.0.0.1:1/app@${DIGEST_A}`, "ssrf-named-lookaside");
    expect(lookasideRes.json.reasons[0]).toMatchObject({ code: "SIMPLE_LOOKASIDE_UNREACHABLE", transient: true });
    expect(lookasideRes.json.reasons[0].message).toBe("lookaside 192.168.50.5:8080 could not be reached (no HTTP answer)");
    expect(attempts).toContain(`http://192.168.50.5:8080/sigs/app@sha256=${DIGEST_A.slice(7)}/signature-1`);
  });
});
