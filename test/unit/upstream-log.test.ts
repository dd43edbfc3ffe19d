// What an upstream that cannot be reached leaves in the log: one line with its reason code, the
// request and the runtime's words; no stack, and nothing for a request its caller abandoned.
import { afterEach, describe, expect, it, vi } from "vitest";
import { HttpClient } from "../../src/adapters/http-client";

const instant = { sleep: async () => {}, random: () => 0 };

function captured() {
  const lines: string[] = [];
  for (const level of ["log", "info", "warn", "error", "debug"] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => void lines.push(args.map((a) => (a instanceof Error ? a.stack : String(a))).join(" ")));
  }
  return lines;
}

afterEach(() => vi.restoreAllMocks());

describe("a failed upstream connection in the log", () => {
  it("is one line with the reason code, after the retries, whatever the runtime's error carries", async () => {
    const lines = captured();
    const err = new TypeError("Network connection lost.\n    at someInternalFrame (workerd:1:1)");
    let attempts = 0;
    const http = new HttpClient({ fetch: async () => (attempts++, Promise.reject(err)), codes: { unreachable: "NOTARY_TRUST_SERVER_UNREACHABLE", auth: "NOTARY_TRUST_SERVER_AUTH_FAILED", badResponse: "NOTARY_TRUST_SERVER_UNREACHABLE" }, retry: instant });
    await expect(http.plainGet("http://127.0.0.1:4443/v2/app/_trust/tuf/root.json")).rejects.toMatchObject({ code: "NOTARY_TRUST_SERVER_UNREACHABLE", transient: true });
    expect(attempts).toBe(3);
    expect(lines).toHaveLength(1);
    expect(lines[0]).not.toContain("\n");
    expect(lines[0]).toMatch(/^upstream NOTARY_TRUST_SERVER_UNREACHABLE: GET http:\/\/127\.0\.0\.1:4443\/v2\/app\/_trust\/tuf\/root\.json: 127\.0\.0\.1:4443 could not be reached/);
  });

  it("names a timeout the same way, and says nothing of HTTP answers or egress refusals", async () => {
    const lines = captured();
    const timeout = Object.assign(new Error("The operation was aborted due to timeout"), { name: "TimeoutError" });
    const slow = new HttpClient({ fetch: async () => Promise.reject(timeout), retry: instant });
    await expect(slow.plainGet("http://127.0.0.1:5000/v2/")).rejects.toMatchObject({ code: "REGISTRY_UNREACHABLE" });
    expect(lines).toEqual([expect.stringMatching(/^upstream REGISTRY_UNREACHABLE: GET http:\/\/127\.0\.0\.1:5000\/v2\/: /)]);

    lines.length = 0;
    const answering = new HttpClient({ fetch: async () => new Response("no", { status: 500 }), retry: instant });
    expect((await answering.plainGet("http://127.0.0.1:5000/v2/")).status).toBe(500);
    expect(lines).toEqual([]);
  });

  it("logs nothing for a request abandoned by its caller, and makes no further attempt", async () => {
    const lines = captured();
    const stop = new AbortController();
    let attempts = 0;
    const http = new HttpClient({
      fetch: async () => {
        attempts++;
        stop.abort();
        throw new TypeError("connection refused");
      },
      retry: instant,
    });
    await expect(http.send({ url: "http://127.0.0.1:4443/x", method: "GET", scope: "s", host: "127.0.0.1:4443", signal: stop.signal })).rejects.toMatchObject({ transient: true });
    expect(attempts).toBe(1);
    expect(lines).toEqual([]);
  });
});
