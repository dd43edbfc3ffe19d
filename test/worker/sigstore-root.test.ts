// The Sigstore trust root in the Worker: SIGSTORE_TUF_URL and SIGSTORE_TUF_ROOT read into the
// configuration (the URL's host named for the egress guard), and the daily cron refreshing the
// trust root once a decision has used it. The repository (test/support/tuf-repo.ts) is served from
// memory through the global fetch; the clock is the test's.
import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import worker from "../../worker/index";
import { ConfigError, loadConfig } from "../../worker/env";
import { servicesFor } from "../../worker/services";
import { loadSigstoreTrustedRoot } from "../../src/requirements/sigstore-root";
import { TufTestRepository } from "../support/tuf-repo";

const START = Date.parse("2026-03-01T00:00:00Z");
const URL_ = "http://127.0.0.1:8097/tuf";
const A = '{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1","tlogs":["a"]}';
const B = '{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1","tlogs":["b"]}';

let repo: TufTestRepository;
let fetched: string[] = [];

beforeEach(async () => {
  fetched = [];
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(START);
  repo = await TufTestRepository.create(new Date(START));
  await repo.publish({ targets: { "trusted_root.json": A } });
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL) => {
    const request = input instanceof Request ? input : new Request(String(input));
    fetched.push(new URL(request.url).pathname);
    return repo.serve(request, URL_);
  });
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

async function cron(bindings: typeof env): Promise<void> {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ scheduledTime: new Date(), cron: "17 3 * * *" }), bindings, ctx);
  await waitOnExecutionContext(ctx);
}

describe("SIGSTORE_TUF_URL and SIGSTORE_TUF_ROOT", () => {
  it("are read into the configuration; the URL's host counts as named for the egress guard", () => {
    const config = loadConfig({ ...env, SIGSTORE_TUF_URL: "https://tuf.corp.internal:8443/sigstore/", SIGSTORE_TUF_ROOT: '{"signed":{}}' });
    expect(config.sigstoreTufUrl).toBe("https://tuf.corp.internal:8443/sigstore");
    expect(config.sigstoreTufRoot).toBe('{"signed":{}}');
    expect(config.egress.namedHosts).toContain("tuf.corp.internal:8443");
    const unset = loadConfig({ ...env });
    expect(unset.sigstoreTufUrl).toBeUndefined();
    expect(unset.sigstoreTufRoot).toBeUndefined();
  });

  it("refuses a URL that is not http(s), carries credentials or a query, and a root that is not JSON", () => {
    for (const bad of ["ftp://tuf.example", "https://user:pw@tuf.example", "https://tuf.example/?x=1", "not a url"]) {
      expect(() => loadConfig({ ...env, SIGSTORE_TUF_URL: bad })).toThrow(ConfigError);
    }
    expect(() => loadConfig({ ...env, SIGSTORE_TUF_ROOT: "{not json" })).toThrow("SIGSTORE_TUF_ROOT must be the text of a TUF root.json");
  });
});

describe("the cron refreshes the Sigstore trust root", () => {
  it("not before a decision used it; then daily, reading what the repository published", async () => {
    const bindings = { ...env, SIGSTORE_TUF_URL: URL_, SIGSTORE_TUF_ROOT: repo.rootText };
    await cron(bindings);
    expect(fetched.filter((p) => p.startsWith("/tuf/"))).toEqual([]);

    const deps = servicesFor(bindings).decideDeps.verifier;
    const first = await loadSigstoreTrustedRoot(deps);
    expect(first.ok && new TextDecoder().decode(first.trustedRoot)).toBe(A);

    await repo.publish({ targets: { "trusted_root.json": B } });
    vi.setSystemTime(START + 60_000);
    fetched = [];
    await cron(bindings);
    expect(fetched).toEqual(["/tuf/2.root.json", "/tuf/timestamp.json", "/tuf/2.snapshot.json", "/tuf/2.targets.json", expect.stringMatching(/^\/tuf\/targets\//)]);
    // The isolate's decisions see what the cron verified.
    const after = await loadSigstoreTrustedRoot(deps);
    expect(after.ok && new TextDecoder().decode(after.trustedRoot)).toBe(B);
  });
});
