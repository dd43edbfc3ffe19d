// The verdict log's group commit: concurrent requests' rows share D1 writes, none is lost, and a
// failing group costs no other group its rows.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { parseReference } from "../../src/reference";
import { newVerdictId, VerdictLog, type RecordedVerdict } from "../../worker/stores/verdict-log";

const DIGEST = `sha256:${"ab".repeat(32)}`;

function entry(policyId: string, n: number): { verdict: RecordedVerdict; repository: string } {
  const image = `example.com/app/n${n}@${DIGEST}`;
  const reference = parseReference(image);
  const evaluatedAt = new Date(1_700_000_000_000 + n).toISOString();
  return {
    repository: reference.name,
    verdict: {
      decision: "allow",
      allowed: true,
      image,
      reference: reference.canonical,
      digest: DIGEST,
      policy: { id: policyId, revision: "r1" },
      rule: "example.com/app/*",
      mode: "enforce",
      reasons: [],
      cached: false,
      evaluatedAt,
      id: newVerdictId(Date.parse(evaluatedAt)),
      source: "decisions",
      context: null,
    },
  };
}

/** The real D1 binding, with its inserts counted by rows (and, when asked, one write made to fail). */
function countingDb(failWhen?: (rows: number) => boolean) {
  const calls: number[] = [];
  /** When each insert was made (Date.now(): in workerd it advances at I/O, such as a timer firing). */
  const startedAt: number[] = [];
  const db = new Proxy(env.VERDICTS, {
    get(target, prop) {
      if (prop === "prepare") {
        return (sql: string) => {
          const statement = target.prepare(sql);
          if (!sql.startsWith("INSERT INTO verdicts")) return statement;
          return {
            bind: (rows: string) => {
              const n = (JSON.parse(rows) as unknown[]).length;
              calls.push(n);
              startedAt.push(Date.now());
              const bound = statement.bind(rows);
              return {
                run: async () => {
                  if (failWhen?.(n)) throw new Error("D1 refused the write");
                  return bound.run();
                },
              };
            },
          };
        };
      }
      const value = Reflect.get(target, prop) as unknown;
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { db, calls, startedAt };
}

async function count(policyId: string): Promise<number> {
  const row = await env.VERDICTS.prepare("SELECT COUNT(*) AS n FROM verdicts WHERE policy_id = ?1").bind(policyId).first<{ n: number }>();
  return row?.n ?? 0;
}

describe("VerdictLog.recordAll (group commit)", () => {
  it("writes concurrent requests' rows in fewer writes than requests, and every row lands", async () => {
    const { db, calls } = countingDb();
    const log = new VerdictLog(db);
    await Promise.all(Array.from({ length: 40 }, (_, i) => log.recordAll([entry("group-a", i)])));
    expect(await count("group-a")).toBe(40);
    expect(calls.reduce((a, b) => a + b, 0)).toBe(40);
    // All 40 arrive while the first write gathers: they share it.
    expect(calls).toEqual([40]);
  });

  it("without gathering or a minimum interval, each call writes its own rows", async () => {
    const { db, calls } = countingDb();
    const log = new VerdictLog(db, 0, 0);
    await Promise.all(Array.from({ length: 5 }, (_, i) => log.recordAll([entry("group-a0", i)])));
    expect(await count("group-a0")).toBe(5);
    expect(calls).toEqual([1, 1, 1, 1, 1]);
  });

  it("a call that only queues rows returns at once; the gathering call writes them", async () => {
    const { db, calls } = countingDb();
    const log = new VerdictLog(db, 20);
    const writer = log.recordAll([entry("group-f", 1)]);
    await log.recordAll([entry("group-f", 2)]); // returns before anything is written
    expect(calls).toEqual([]);
    await writer;
    expect(calls).toEqual([2]);
    expect(await count("group-f")).toBe(2);
  });

  it("a write starts no sooner than the minimum interval after the previous one; rows that arrive meanwhile share it", async () => {
    const { db, calls, startedAt } = countingDb();
    const log = new VerdictLog(db, 5, 120);
    await log.recordAll([entry("group-g", 1)]); // a quiet start: written after the 5 ms gathering
    const rest = Array.from({ length: 4 }, (_, i) => log.recordAll([entry("group-g", i + 2)]));
    await Promise.all(rest);
    expect(calls).toEqual([1, 4]);
    expect(startedAt[1]! - startedAt[0]!).toBeGreaterThanOrEqual(120);
    expect(await count("group-g")).toBe(5);
  });

  it("a lone call is written on its own, whole", async () => {
    const { db, calls } = countingDb();
    const log = new VerdictLog(db);
    await log.recordAll([entry("group-b", 1), entry("group-b", 2)]);
    expect(calls).toEqual([2]);
    expect(await count("group-b")).toBe(2);
  });

  it("a call that arrives while a write is in flight waits for it, then writes", async () => {
    const { db, calls } = countingDb();
    const log = new VerdictLog(db, 5);
    const first = log.recordAll([entry("group-e", 1)]);
    await new Promise((r) => setTimeout(r, 10)); // the first write has started
    await Promise.all([first, log.recordAll([entry("group-e", 2)]), log.recordAll([entry("group-e", 3)])]);
    expect(await count("group-e")).toBe(3);
    expect(calls.reduce((a, b) => a + b, 0)).toBe(3);
  });

  it("when a shared write fails, each group is retried alone; the writer rejects only for its own rows", async () => {
    // Writes of more than two rows fail, as if one group's rows broke the shared statement.
    const { db, calls } = countingDb((n) => n > 2);
    const log = new VerdictLog(db);
    const errors: unknown[][] = [];
    const original = console.error;
    console.error = (...args: unknown[]) => void errors.push(args);
    try {
      const results = await Promise.allSettled([
        log.recordAll([entry("group-c", 1)]),
        log.recordAll([entry("group-c", 2)]),
        log.recordAll([entry("group-c", 3)]),
        log.recordAll([entry("group-c", 4), entry("group-c", 5), entry("group-c", 6)]),
      ]);
      expect(results.map((r) => r.status)).toEqual(["fulfilled", "fulfilled", "fulfilled", "fulfilled"]);
      // The single rows are written on retry; the three-row group fails alone too, and is logged.
      expect(await count("group-c")).toBe(3);
      expect(calls[0]).toBe(6);
      expect(errors).toHaveLength(1);
      expect(String(errors[0]![0])).toMatch(/^recording 3 verdict\(s\) of another request failed:/);

      const own = await log.recordAll([entry("group-c", 7), entry("group-c", 8), entry("group-c", 9)]).catch((e: unknown) => e);
      expect(own).toBeInstanceOf(Error);
      expect((own as Error).message).toBe("D1 refused the write");
    } finally {
      console.error = original;
    }
  });

  it("never puts more than 200 rows in one write, and splits a long queue", async () => {
    const { db, calls } = countingDb();
    const log = new VerdictLog(db);
    await Promise.all(Array.from({ length: 150 }, (_, i) => log.recordAll([entry("group-d", 2 * i), entry("group-d", 2 * i + 1)])));
    expect(await count("group-d")).toBe(300);
    expect(calls).toEqual([200, 100]);
  });
});
