// The daily cron's trust refresh, through the Worker's scheduled handler inside workerd: a decision
// records the Notary repository it verified; the cron fetches and verifies again the trust data
// that is due, and leaves alone what is fresh. The trust server is the signed-releases vector (made
// by the real notary client), served from memory through the global fetch; the clock is set to the
// vector's time.
import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from "cloudflare:test";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import worker from "../../worker/index";
import { loadConfig } from "../../worker/env";
import { notaryTrustKeys, RECENT_TRUST_PREFIX } from "../../src/requirements/notary-refresh";
import type { TrustSummary } from "../../src/verify/notary-v1/trust-data";
import { decideImage, putPolicy } from "./http";

const files = import.meta.glob("../vectors/notary-v1/signed-releases/**/*.json", { query: "?raw", import: "default", eager: true }) as Record<string, string>;
const PREFIX = "../vectors/notary-v1/signed-releases/";
const CASE = JSON.parse(files[`${PREFIX}case.json`]!) as {
  gun: string;
  now: string;
  pinnedRoot: { publicKeyPem: string };
  tags: Record<string, { digest: string }>;
};
const SERVER = "http://127.0.0.1:4443";
const START = new Date(CASE.now).getTime();
const RECORD = { server: SERVER, gun: CASE.gun, rootKeys: [CASE.pinnedRoot.publicKeyPem] };

let fetched: string[] = [];

beforeEach(() => {
  fetched = [];
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(START);
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL) => {
    const url = new URL(input instanceof Request ? input.url : String(input));
    const m = /^\/v2\/(.+)\/_trust\/tuf\/(.+)$/.exec(url.pathname);
    fetched.push(`${m?.[1]} ${m?.[2] ?? url.pathname}`);
    const body = url.host === "127.0.0.1:4443" && m && m[1] === CASE.gun ? files[PREFIX + m[2]] : undefined;
    return body === undefined ? new Response("not found", { status: 404 }) : new Response(body);
  });
});

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

async function cron(bindings: typeof env = env): Promise<void> {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ scheduledTime: new Date(), cron: "17 3 * * *" }), bindings, ctx);
  await waitOnExecutionContext(ctx);
}

async function summary(): Promise<TrustSummary | null> {
  return env.TRUST_CACHE.get((await notaryTrustKeys(RECORD)).summaryKey, "json");
}

async function recorded(): Promise<string[]> {
  return (await env.TRUST_CACHE.list({ prefix: RECENT_TRUST_PREFIX })).keys.map((k) => k.name);
}

describe("the cron refreshes Notary trust data", () => {
  it("a decision records the repository; the cron re-verifies it once due, and not while it is fresh", async () => {
    const put = await putPolicy("refresh", {
      rules: [{ pattern: CASE.gun, require: [{ type: "notary", server: SERVER, rootKeys: RECORD.rootKeys }] }],
    });
    expect(put.status, JSON.stringify(put.json)).toBe(200);
    const res = await decideImage(`${CASE.gun}@${CASE.tags.v1!.digest}`, "refresh");
    expect(res.json.decision, JSON.stringify(res.json)).toBe("allow");
    // The trust cache writes go out after the response.
    for (let i = 0; i < 100 && (await recorded()).length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(await recorded()).toEqual([(await notaryTrustKeys(RECORD)).recentKey]);
    expect((await summary())?.checkedAt).toBe(START);

    // Still fresh (within TRUST_RECHECK_SECONDS, far from expiry): nothing is fetched.
    fetched = [];
    await cron();
    expect(fetched).toEqual([]);

    // Ten minutes on, the recheck time has passed: fetched, verified and written back.
    vi.setSystemTime(START + 600_000);
    await cron();
    expect(fetched).toEqual(expect.arrayContaining([`${CASE.gun} root.json`, `${CASE.gun} timestamp.json`, `${CASE.gun} snapshot.json`, `${CASE.gun} targets.json`]));
    const after = await summary();
    expect(after?.checkedAt).toBe(START + 600_000);
    expect(after?.roles["targets/releases"]?.targets.v1).toBe(CASE.tags.v1!.digest.slice("sha256:".length));
  });

  it("a repository the server no longer serves fails alone: the others are refreshed, nothing is written for it", async () => {
    const gone = { server: SERVER, gun: "127.0.0.1:5000/demo/gone", rootKeys: null };
    await env.TRUST_CACHE.put((await notaryTrustKeys(gone)).recentKey, JSON.stringify(gone));
    await env.TRUST_CACHE.put((await notaryTrustKeys(RECORD)).recentKey, JSON.stringify(RECORD));
    const warn = vi.spyOn(console, "warn").mockImplementation(() => {});
    vi.setSystemTime(START + 3_600_000);
    await cron();
    expect((await summary())?.checkedAt).toBe(START + 3_600_000);
    expect(await env.TRUST_CACHE.get((await notaryTrustKeys(gone)).summaryKey)).toBeNull();
    expect(warn.mock.calls.map((c) => String(c[0]))).toEqual([expect.stringContaining("127.0.0.1:5000/demo/gone")]);
  });

  it("TRUST_REFRESH_PER_RUN=0 turns the refresh off", async () => {
    await env.TRUST_CACHE.put((await notaryTrustKeys(RECORD)).recentKey, JSON.stringify(RECORD));
    vi.setSystemTime(START + 2 * 3_600_000);
    await cron({ ...env, TRUST_REFRESH_PER_RUN: "0" });
    expect(fetched).toEqual([]);
    await cron();
    expect(fetched).not.toEqual([]);
  });

  it("verdict history is kept 90 days unless VERDICT_RETENTION_DAYS says otherwise", () => {
    expect(loadConfig({ ...env, VERDICT_RETENTION_DAYS: undefined }).verdictRetentionDays).toBe(90);
    expect(loadConfig(env).verdictRetentionDays).toBe(90);
  });
});
