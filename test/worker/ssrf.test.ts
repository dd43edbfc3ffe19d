// SSRF through the Worker: references and policies that point at internal addresses are refused
// before any connection. The global fetch is replaced so that nothing but loopback could ever be
// contacted from this file, and every attempt is recorded.
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { DIGEST_A, decideImage, putPolicy } from "./http";

let attempts: string[] = [];

beforeEach(() => {
  attempts = [];
  const real = globalThis.fetch;
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    if (url.hostname === "trustgate.test") return real(input, init);
    attempts.push(url.toString());
    if (url.hostname !== "127.0.0.1") throw new Error(`test refused a non-loopback fetch to ${url.host}`);
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

  it("refuses a trust server on a private address even when the image is pinned", async () => {
    await putPolicy("ssrf-server", {
      mode: "enforce",
      rules: [{ pattern: "*", require: [{ type: "notary", server: "https://10.9.8.7:4443" }] }],
    });
    const res = await decideImage(`127.0.0.1:1/app@${DIGEST_A}`, "ssrf-server");
    expect(res.json.decision).toBe("deny");
    expect(res.json.reasons[0].code).toBe("NOTARY_TRUST_SERVER_UNREACHABLE");
    expect(res.json.reasons[0].message).toMatch(/refused to contact 10\.9\.8\.7:4443: it is a private address/);
    expect(attempts.filter((u) => u.includes("10.9.8.7"))).toEqual([]);
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
    expect(attempts.every((u) => new URL(u).hostname === "127.0.0.1")).toBe(true);
  });
});
