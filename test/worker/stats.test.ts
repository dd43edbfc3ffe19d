// GET /v1/stats: counts per bucket and decision, top denied images and reason codes, the verdict
// cache's hit ratio and upstream errors per host, from the verdict log in D1.
import { applyD1Migrations, createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import worker from "../../worker/index";
import { afterEach, describe, expect, it, vi } from "vitest";
import ALICE from "../vectors/cosign/keys/alice.pub?raw";
import { statsWindow } from "../../src/stats";
import { VerdictLog } from "../../worker/stores/verdict-log";
import { verdictStats } from "../../worker/stores/verdict-stats";
import { ADMIN, CLIENT, DIGEST_A, call, decideImage, putPolicy, waitForVerdicts } from "./http";

let seq = 0;

interface Seed {
  at: string;
  decision?: "allow" | "deny";
  reference?: string;
  cached?: boolean;
  code?: string | null;
  host?: string | null;
  policy: string;
}

/** Rows as the verdict log writes them (migrations 0001 and 0003), at chosen times. */
async function seed(rows: Seed[]): Promise<void> {
  const stmt = env.VERDICTS.prepare(
    `INSERT INTO verdicts (id, evaluated_at, evaluated_ms, image, reference, repository, digest, policy_id, policy_revision,
       decision, mode, rule, cached, reasons, context, source, code, upstream_host)
     VALUES (?1, ?2, ?3, ?4, ?4, ?5, NULL, ?6, 'r', ?7, 'enforce', NULL, ?8, ?9, NULL, 'decisions', ?10, ?11)`,
  );
  await env.VERDICTS.batch(
    rows.map((r) => {
      const ms = Date.parse(r.at);
      const decision = r.decision ?? "allow";
      const code = r.code === undefined ? (decision === "allow" ? "COSIGN_SIGNED" : "COSIGN_NO_SIGNATURES") : r.code;
      const reference = r.reference ?? "docker.io/library/nginx:1";
      return stmt.bind(`s${String(seq++).padStart(8, "0")}`, r.at, ms, reference, reference.split(":")[0], r.policy, decision, r.cached ? 1 : 0,
        JSON.stringify(code ? [{ code, message: "m" }] : []), code, r.host ?? null);
    }),
  );
}

function stats(query: string, token: string | null = CLIENT) {
  return call("GET", `/v1/stats?${query}`, { token });
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("GET /v1/stats", () => {
  it("widens an unaligned window to whole hours, and says so", async () => {
    await seed([{ policy: "st-widen", at: "2026-03-02T10:05:00.000Z" }]);
    // 12:10+01:00 is 11:10Z.
    const res = await stats("policy=st-widen&from=2026-03-02T10:30:00Z&to=2026-03-02T12:10:00%2B01:00");
    expect(res.json).toMatchObject({ from: "2026-03-02T10:00:00.000Z", to: "2026-03-02T12:00:00.000Z" });
    expect(res.json.series).toEqual([
      { start: "2026-03-02T10:00:00.000Z", allow: 1, deny: 0 },
      { start: "2026-03-02T11:00:00.000Z", allow: 0, deny: 0 },
    ]);
  });

  it("counts allow and deny per hour bucket, filling empty buckets, within [from, to)", async () => {
    await seed([
      { policy: "st-hour", at: "2026-03-01T10:00:00.000Z" },
      { policy: "st-hour", at: "2026-03-01T10:59:59.999Z", decision: "deny" },
      { policy: "st-hour", at: "2026-03-01T12:30:00.000Z" },
      { policy: "st-hour", at: "2026-03-01T13:00:00.000Z" }, // at `to`: outside
      { policy: "st-hour", at: "2026-03-01T09:59:59.999Z" }, // before `from`: outside
      { policy: "st-other", at: "2026-03-01T10:30:00.000Z", decision: "deny" },
    ]);
    const res = await stats("policy=st-hour&from=2026-03-01T10:00:00Z&to=2026-03-01T13:00:00Z");
    expect(res.status, JSON.stringify(res.json)).toBe(200);
    expect(Object.keys(res.json)).toEqual(["policy", "from", "to", "bucket", "series", "totals", "topDeniedImages", "topReasonCodes", "cache", "upstreamErrors"]);
    expect(res.json).toMatchObject({ policy: "st-hour", from: "2026-03-01T10:00:00.000Z", to: "2026-03-01T13:00:00.000Z", bucket: "hour" });
    expect(res.json.series).toEqual([
      { start: "2026-03-01T10:00:00.000Z", allow: 1, deny: 1 },
      { start: "2026-03-01T11:00:00.000Z", allow: 0, deny: 0 },
      { start: "2026-03-01T12:00:00.000Z", allow: 1, deny: 0 },
    ]);
    expect(res.json.totals).toEqual({ allow: 2, deny: 1 });
  });

  it("buckets by UTC day, and across policies when none is named", async () => {
    await seed([
      { policy: "st-day-a", at: "2026-04-01T00:00:00.000Z" },
      { policy: "st-day-b", at: "2026-04-01T23:59:59.000Z", decision: "deny" },
      { policy: "st-day-a", at: "2026-04-03T05:00:00.000Z", decision: "deny" },
    ]);
    const res = await stats("from=2026-04-01T00:00:00Z&to=2026-04-04T00:00:00Z&bucket=day");
    expect(res.status).toBe(200);
    expect(res.json.policy).toBe(null);
    expect(res.json.series).toEqual([
      { start: "2026-04-01T00:00:00.000Z", allow: 1, deny: 1 },
      { start: "2026-04-02T00:00:00.000Z", allow: 0, deny: 0 },
      { start: "2026-04-03T00:00:00.000Z", allow: 0, deny: 1 },
    ]);
    // A window that starts inside a day: the first bucket starts at that day's midnight.
    const mid = await stats("policy=st-day-a&from=2026-04-01T12:00:00Z&to=2026-04-03T12:00:00Z&bucket=day");
    expect(mid.json.series.map((p: { start: string }) => p.start)).toEqual(["2026-04-01T00:00:00.000Z", "2026-04-02T00:00:00.000Z", "2026-04-03T00:00:00.000Z"]);
    expect(mid.json.totals).toEqual({ allow: 0, deny: 1 });
  });

  it("lists the most denied images and the reason codes that denied, most first, ten at most", async () => {
    const rows: Seed[] = [];
    const at = "2026-05-01T10:00:00.000Z";
    for (let i = 0; i < 12; i++) {
      for (let n = 0; n <= i; n++) rows.push({ policy: "st-top", at, decision: "deny", reference: `docker.io/library/img${String(i).padStart(2, "0")}:1`, code: `NOTARY_SIGNER_MISSING` });
    }
    rows.push({ policy: "st-top", at, decision: "deny", reference: "docker.io/library/img11:1", code: "STATIC_DENY" });
    rows.push({ policy: "st-top", at, decision: "allow", reference: "docker.io/library/allowed:1" });
    await seed(rows);
    const res = await stats("policy=st-top&from=2026-05-01T00:00:00Z&to=2026-05-02T00:00:00Z");
    expect(res.json.topDeniedImages).toHaveLength(10);
    expect(res.json.topDeniedImages[0]).toEqual({ reference: "docker.io/library/img11:1", count: 13 });
    expect(res.json.topDeniedImages[1]).toEqual({ reference: "docker.io/library/img10:1", count: 11 });
    expect(res.json.topDeniedImages.map((r: { reference: string }) => r.reference)).not.toContain("docker.io/library/allowed:1");
    expect(res.json.topReasonCodes).toEqual([
      { code: "NOTARY_SIGNER_MISSING", count: 78 },
      { code: "STATIC_DENY", count: 1 },
    ]);
  });

  it("computes the verdict cache's hit ratio over verdicts a cache could answer", async () => {
    const at = "2026-06-01T10:00:00.000Z";
    await seed([
      { policy: "st-cache", at, cached: true },
      { policy: "st-cache", at, cached: true },
      { policy: "st-cache", at, cached: true, decision: "deny" },
      { policy: "st-cache", at }, // verified: a miss
      { policy: "st-cache", at, code: "STATIC_ALLOW" }, // a static rule: neither
      { policy: "st-cache", at, code: "NO_MATCHING_RULE", decision: "deny" },
    ]);
    const res = await stats("policy=st-cache&from=2026-06-01T00:00:00Z&to=2026-06-02T00:00:00Z");
    expect(res.json.cache).toEqual({ hits: 3, misses: 1, ratio: 0.75 });
  });

  it("counts upstream errors per host, most first", async () => {
    const at = "2026-07-01T10:00:00.000Z";
    await seed([
      { policy: "st-up", at, decision: "deny", code: "REGISTRY_UNREACHABLE", host: "ghcr.io" },
      { policy: "st-up", at, decision: "deny", code: "REGISTRY_UNREACHABLE", host: "ghcr.io" },
      { policy: "st-up", at, decision: "allow", code: "NOTARY_SIGNED", host: "notary.example.com" },
      { policy: "st-up", at, decision: "deny" },
    ]);
    const res = await stats("policy=st-up&from=2026-07-01T00:00:00Z&to=2026-07-02T00:00:00Z");
    expect(res.json.upstreamErrors).toEqual([
      { host: "ghcr.io", count: 2 },
      { host: "notary.example.com", count: 1 },
    ]);
  });

  it("answers an empty range with zero buckets and empty lists", async () => {
    const res = await stats("policy=st-none&from=2026-08-01T00:00:00Z&to=2026-08-01T03:00:00Z");
    expect(res.status).toBe(200);
    expect(res.json.series).toEqual([
      { start: "2026-08-01T00:00:00.000Z", allow: 0, deny: 0 },
      { start: "2026-08-01T01:00:00.000Z", allow: 0, deny: 0 },
      { start: "2026-08-01T02:00:00.000Z", allow: 0, deny: 0 },
    ]);
    expect(res.json).toMatchObject({ totals: { allow: 0, deny: 0 }, topDeniedImages: [], topReasonCodes: [], cache: { hits: 0, misses: 0, ratio: null }, upstreamErrors: [] });
  });

  it("defaults to the last 24 hours in hour buckets", async () => {
    const res = await stats("policy=st-default");
    expect(res.status).toBe(200);
    expect(Date.parse(res.json.to) - Date.parse(res.json.from)).toBe(86_400_000);
    expect(res.json.bucket).toBe("hour");
    // Widened to whole hours: the hour now is in, and 23 before it.
    expect(res.json.series).toHaveLength(24);
    expect(res.json.to.endsWith(":00:00.000Z")).toBe(true);
  });

  it("refuses bad parameters with 400 INVALID_QUERY", async () => {
    for (const q of [
      "bucket=week",
      "from=yesterday",
      "from=2026-01-01",
      "from=2026-01-01T00:00:00", // no zone
      "from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z",
      "from=2026-01-01T00:00:00Z&to=2026-01-01T00:00:00Z",
      "from=2026-01-01T00:00:00Z&to=2026-02-15T00:00:00Z", // 45 days of hours: too many buckets
      "from=2025-01-01T00:00:00Z&to=2026-03-01T00:00:00Z&bucket=day", // past 400 days
    ]) {
      const res = await stats(q);
      expect(res.status, q).toBe(400);
      expect(res.json.error.code, q).toBe("INVALID_QUERY");
    }
    const day = await stats("from=2026-01-01T00:00:00Z&to=2026-02-15T00:00:00Z&bucket=day");
    expect(day.status).toBe(200);
    const id = await stats("policy=Not_An_ID");
    expect(id.status).toBe(400);
    expect(id.json.error.code).toBe("INVALID_POLICY_ID");
  });

  it("counts only a restricted token's policies, and refuses it another's", async () => {
    await seed([
      { policy: "st-mine", at: "2026-11-01T10:00:00.000Z", decision: "deny" },
      { policy: "st-theirs", at: "2026-11-01T10:00:00.000Z", decision: "deny" },
      { policy: "st-theirs", at: "2026-11-01T10:00:00.000Z" },
    ]);
    const restricted = { ...env, CLIENT_TOKENS: "mine=mine-secret-0123@st-mine" } as typeof env;
    const get = async (query: string) => {
      const ctx = createExecutionContext();
      const res = await worker.fetch(new Request(`http://trustgate.test/v1/stats?${query}`, { headers: { authorization: "Bearer mine-secret-0123" } }), restricted, ctx);
      await waitOnExecutionContext(ctx);
      return { status: res.status, json: (await res.json()) as any };
    };
    const window = "from=2026-11-01T00:00:00Z&to=2026-11-02T00:00:00Z";
    const all = await get(window);
    expect(all.status).toBe(200);
    expect(all.json.totals).toEqual({ allow: 0, deny: 1 });
    expect((await get(`policy=st-theirs&${window}`)).status).toBe(403);
    expect((await stats(`${window}&policy=st-theirs`)).json.totals).toEqual({ allow: 1, deny: 1 });
  });

  it("needs a token; an admin token may read it too", async () => {
    expect((await stats("", null)).status).toBe(401);
    expect((await stats("", ADMIN)).status).toBe(200);
  });

  it("records the deciding code and the failed upstream's host with each verdict", async () => {
    const real = globalThis.fetch;
    vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL, init?: RequestInit) => {
      const url = new URL(input instanceof Request ? input.url : String(input));
      if (url.hostname === "trustgate.test") return real(input, init);
      throw new TypeError("connection refused");
    });
    await putPolicy("st-rec", {
      rules: [
        { pattern: "docker.io/library/*", require: [{ type: "deny" }] },
        { pattern: "127.0.0.1:5997/*", require: [{ type: "cosign", keys: [{ name: "k", key: ALICE }] }] },
      ],
    });
    await decideImage(`busybox@${DIGEST_A}`, "st-rec");
    const down = await decideImage(`127.0.0.1:5997/app@${DIGEST_A}`, "st-rec");
    expect(down.json.decision).toBe("deny");
    await waitForVerdicts("policy=st-rec", 2);
    const rows = await env.VERDICTS.prepare("SELECT reference, code, upstream_host FROM verdicts WHERE policy_id = 'st-rec' ORDER BY reference").all();
    expect(rows.results).toEqual([
      { reference: `127.0.0.1:5997/app@${DIGEST_A}`, code: down.json.reasons[0].code, upstream_host: "127.0.0.1:5997" },
      { reference: `docker.io/library/busybox@${DIGEST_A}`, code: "STATIC_DENY", upstream_host: null },
    ]);
    expect(down.json.reasons[0].code).toBe("REGISTRY_UNREACHABLE");
  });

  it("counts rows written before migration 0003: their deciding code filled in, their hours counted", async () => {
    const db = env.MIGRATION_TEST;
    const before = env.TEST_MIGRATIONS.filter((m) => m.name < "0003");
    const m0003 = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0003"))!;
    await applyD1Migrations(db, before, "migrations_0003_test");
    const old = db.prepare(
      `INSERT INTO verdicts (id, evaluated_at, evaluated_ms, image, reference, repository, digest, policy_id, policy_revision, decision, mode, rule, cached, reasons, context, source)
       VALUES (?1, '', ?2, 'i', ?3, 'r', NULL, 'st-old', 'r', ?4, 'enforce', NULL, ?5, ?6, NULL, 'decisions')`,
    );
    const at = Date.parse("2026-09-01T10:20:00Z");
    await db.batch([
      // A note first, then the reason to deny: the deny counts under the reason to deny.
      old.bind("o1", at, "docker.io/library/a:1", "deny", 0, JSON.stringify([{ code: "TAG_UNRESOLVED", message: "m" }, { code: "NOTARY_SIGNER_MISSING", message: "m" }])),
      old.bind("o2", at, "docker.io/library/a:1", "deny", 1, JSON.stringify([{ code: "NOTARY_SIGNER_MISSING", message: "m" }])),
      old.bind("o3", at + 3_600_000, "docker.io/library/b:1", "allow", 0, JSON.stringify([{ code: "STATIC_ALLOW", message: "m" }])),
    ]);
    await applyD1Migrations(db, [m0003], "migrations_0003_test");
    const w = statsWindow({ from: "2026-09-01T10:00:00Z", to: "2026-09-01T12:00:00Z" }, Date.now());
    const counted = await verdictStats(db, "st-old", w);
    expect(counted.series).toEqual([
      { start: "2026-09-01T10:00:00.000Z", allow: 0, deny: 2 },
      { start: "2026-09-01T11:00:00.000Z", allow: 1, deny: 0 },
    ]);
    expect(counted.topReasonCodes).toEqual([{ code: "NOTARY_SIGNER_MISSING", count: 2 }]);
    expect(counted.topDeniedImages).toEqual([{ reference: "docker.io/library/a:1", count: 2 }]);
    // One cached deny (a hit), one verified afresh (a miss); the static allow is neither.
    expect(counted.cache).toEqual({ hits: 1, misses: 1, ratio: 0.5 });
    // Rows inserted after the migration count themselves (the trigger).
    await db.prepare(
      `INSERT INTO verdicts (id, evaluated_at, evaluated_ms, image, reference, repository, digest, policy_id, policy_revision, decision, mode, rule, cached, reasons, context, source, code, upstream_host)
       VALUES ('n1', '', ?1, 'i', 'docker.io/library/a:1', 'r', NULL, 'st-old', 'r', 'deny', 'enforce', NULL, 0, '[]', NULL, 'decisions', 'REGISTRY_UNREACHABLE', 'ghcr.io')`,
    ).bind(at).run();
    const after = await verdictStats(db, "st-old", w);
    expect(after.topReasonCodes).toEqual([{ code: "NOTARY_SIGNER_MISSING", count: 2 }, { code: "REGISTRY_UNREACHABLE", count: 1 }]);
    expect(after.upstreamErrors).toEqual([{ host: "ghcr.io", count: 1 }]);
    expect(after.totals).toEqual({ allow: 1, deny: 3 });
  });

  it("drops an hour's counts with its verdicts when retention deletes them", async () => {
    await seed([
      { policy: "st-ret", at: "2026-10-01T10:30:00.000Z", decision: "deny", reference: "docker.io/library/gone:1" },
      { policy: "st-ret", at: "2026-10-01T11:30:00.000Z", decision: "deny", reference: "docker.io/library/kept:1" },
    ]);
    const log = new VerdictLog(env.VERDICTS);
    await log.deleteOlderThan(Date.parse("2026-10-01T11:00:00.000Z"));
    const res = await stats("policy=st-ret&from=2026-10-01T00:00:00Z&to=2026-10-02T00:00:00Z");
    expect(res.json.totals).toEqual({ allow: 0, deny: 1 });
    expect(res.json.topDeniedImages).toEqual([{ reference: "docker.io/library/kept:1", count: 1 }]);
  });
});
