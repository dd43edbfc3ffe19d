// Load at saturation: N concurrent clients hammer POST /v1/decisions for a bounded time against a
// real Worker (wrangler dev, local D1). Static rules and digest references, so no upstream I/O:
// this measures the Worker itself. Every response must be a 200 with a verdict, and every decision
// must end up in the verdict log (written after the response with waitUntil), counted back through
// GET /v1/verdicts with its cursor. Loopback only; every loop is bounded; it stops by itself.
//
// LOAD_SECONDS (default 60, as the issue asks; lower it while iterating), LOAD_CLIENTS (default 32).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callApi } from "./lab/api";
import { startWorker, type WorkerHandle } from "./lab/worker";

const SECONDS = Number(process.env.LOAD_SECONDS ?? "60");
const CLIENTS = Number(process.env.LOAD_CLIENTS ?? "32");
const POLICY = "load-static";
// A closed port: nothing here may ever be contacted (digest references, static rules).
const REGISTRY = "127.0.0.1:9";

const digest = (i: number) => `sha256:${i.toString(16).padStart(4, "0").repeat(16)}`;

/** The mix: allowed, denied by a static rule, and matched by no rule (deny), over many repositories. */
function imageFor(n: number): { image: string; expect: "allow" | "deny" } {
  const kind = n % 10;
  const repo = `load/app-${n % 17}`;
  if (kind < 6) return { image: `${REGISTRY}/${repo}@${digest(n % 97)}`, expect: "allow" };
  if (kind < 9) return { image: `${REGISTRY}/blocked/app-${n % 5}@${digest(n % 13)}`, expect: "deny" };
  return { image: `quay.io/elsewhere/app-${n % 3}@${digest(n % 7)}`, expect: "deny" };
}

describe(`load: ${CLIENTS} clients for ${SECONDS} s against POST /v1/decisions`, () => {
  let worker: WorkerHandle;

  beforeAll(async () => {
    expect(Number.isFinite(SECONDS) && SECONDS > 0 && SECONDS <= 600, "LOAD_SECONDS must be 1..600").toBe(true);
    expect(Number.isInteger(CLIENTS) && CLIENTS > 0 && CLIENTS <= 256, "LOAD_CLIENTS must be 1..256").toBe(true);
    worker = await startWorker();
    const put = await callApi(worker.url, "PUT", `/v1/policies/${POLICY}`, worker.adminToken, {
      rules: [
        { pattern: `${REGISTRY}/load/*`, require: [{ type: "allow" }] },
        { pattern: `${REGISTRY}/blocked/*`, require: [{ type: "deny", message: "blocked by the load test" }] },
      ],
    });
    expect(put.status, JSON.stringify(put.json)).toBe(200);
  });

  afterAll(async () => {
    await worker?.stop();
  });

  it(
    "answers every request with a verdict and records every decision",
    async () => {
      const deadline = Date.now() + SECONDS * 1000;
      let sent = 0;
      let ok = 0;
      const errors: string[] = [];
      const latencies: number[] = [];
      const tally = { allow: 0, deny: 0 };

      const client = async (c: number) => {
        for (let i = 0; Date.now() < deadline; i++) {
          const pick = imageFor(c * 100_003 + i);
          const started = performance.now();
          sent++;
          try {
            const res = await fetch(`${worker.url}/v1/decisions`, {
              method: "POST",
              headers: { Authorization: `Bearer ${worker.clientToken}`, "Content-Type": "application/json" },
              body: JSON.stringify({ image: pick.image, policy: POLICY }),
              signal: AbortSignal.timeout(30_000),
            });
            const text = await res.text();
            latencies.push(performance.now() - started);
            let json: any;
            try {
              json = JSON.parse(text);
            } catch {
              json = undefined;
            }
            if (res.status !== 200 || !json || json.decision !== pick.expect) {
              if (errors.length < 20) errors.push(`${pick.image}: HTTP ${res.status} ${text.slice(0, 300)}`);
              else errors.push("");
              continue;
            }
            ok++;
            tally[json.decision as "allow" | "deny"]++;
          } catch (err) {
            errors.push(errors.length < 20 ? `${pick.image}: ${err instanceof Error ? `${err.message} ${String(err.cause ?? "")}` : String(err)}` : "");
          }
        }
      };
      const t0 = Date.now();
      await Promise.all(Array.from({ length: CLIENTS }, (_, c) => client(c)));
      const elapsed = (Date.now() - t0) / 1000;

      latencies.sort((a, b) => a - b);
      const pct = (p: number) => (latencies.length ? latencies[Math.min(latencies.length - 1, Math.floor((latencies.length * p) / 100))]!.toFixed(1) : "-");
      console.log(
        `load: ${sent} requests in ${elapsed.toFixed(1)} s (${(sent / elapsed).toFixed(0)}/s), ${ok} ok (${tally.allow} allow, ${tally.deny} deny), ` +
          `${errors.length} errors; latency ms p50 ${pct(50)} p95 ${pct(95)} p99 ${pct(99)} max ${pct(100)}`,
      );
      expect(errors.filter(Boolean), `${errors.length} error responses`).toEqual([]);
      expect(errors.length).toBe(0);
      expect(ok).toBe(sent);
      expect(sent).toBeGreaterThan(CLIENTS);

      // Every decision recorded: waitUntil writes land after the responses, so poll until the count
      // reaches the number sent, or stops moving (bounded either way).
      const countRecorded = async (): Promise<number> => {
        let total = 0;
        let cursor: string | null = null;
        for (let page = 0; page < 10_000; page++) {
          const path: string = `/v1/verdicts?policy=${POLICY}&limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
          const { status, json } = await callApi(worker.url, "GET", path, worker.clientToken);
          expect(status, JSON.stringify(json)).toBe(200);
          total += json.verdicts.length;
          cursor = json.nextCursor;
          if (!cursor) return total;
        }
        throw new Error("verdict paging did not end within 10 000 pages");
      };
      let recorded = -1;
      let stableRounds = 0;
      const until = Date.now() + 60_000;
      while (Date.now() < until) {
        const now = await countRecorded();
        stableRounds = now === recorded ? stableRounds + 1 : 0;
        recorded = now;
        if (recorded >= sent || stableRounds >= 3) break;
        await new Promise((r) => setTimeout(r, 1_000));
      }
      console.log(`load: ${recorded} verdicts recorded for ${sent} decisions`);
      expect(recorded).toBe(sent);
    },
    SECONDS * 1000 + 180_000,
  );
});
