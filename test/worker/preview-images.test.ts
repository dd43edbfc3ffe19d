// The images a preview replays come from verdict_images (migrations/0004_preview_images.sql): each
// (policy, reference, namespace)'s newest verdict, filled from the rows already there when the
// migration runs, moved forward by a trigger as verdicts are inserted, pruned with them.
import { applyD1Migrations, env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { readWindow } from "../../worker/preview";
import { VerdictLog } from "../../worker/stores/verdict-log";

const T0 = Date.parse("2026-11-01T10:00:00Z");
const HOUR = 3_600_000;

interface Row {
  id: string;
  at: number;
  reference: string;
  context?: unknown;
  decision?: "allow" | "deny";
  policy?: string;
}

/** Verdict rows as the verdict log writes them (0001's columns; 0003's are left NULL). */
function insert(db: D1Database, rows: readonly Row[]) {
  const stmt = db.prepare(
    `INSERT INTO verdicts (id, evaluated_at, evaluated_ms, image, reference, repository, digest, policy_id, policy_revision, decision, mode, rule, cached, reasons, context, source)
     VALUES (?1, '', ?2, ?3, ?3, 'r', NULL, ?4, 'r1', ?5, 'enforce', NULL, 0, ?6, ?7, 'decisions')`,
  );
  return db.batch(
    rows.map((r) =>
      stmt.bind(r.id, r.at, r.reference, r.policy ?? "pi", r.decision ?? "allow", JSON.stringify([{ code: r.decision === "deny" ? "STATIC_DENY" : "STATIC_ALLOW", message: r.id }]), r.context === undefined ? null : JSON.stringify(r.context)),
    ),
  );
}

/** What a preview would replay: [reference, namespace, the verdict's message (its row id)]. */
async function replayed(db: D1Database, policy: string, sinceMs: number, untilMs = T0 + 10 * HOUR, limit = 100) {
  const { items } = await readWindow(db, policy, sinceMs, untilMs, limit);
  return items.map((i) => [i.reference, (i.context as { namespace?: unknown } | null)?.namespace ?? null, i.before.reasons[0]!.message]);
}

describe("verdict_images: the images a preview replays", () => {
  it("are filled from the rows already there when migration 0004 runs, one per (reference, namespace), with its newest verdict", async () => {
    const db = env.MIGRATION_TEST;
    const before = env.TEST_MIGRATIONS.filter((m) => m.name < "0004");
    const m0004 = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0004"))!;
    expect(m0004, "migrations/0004_preview_images.sql").toBeDefined();
    await applyD1Migrations(db, before, "migrations_0004_test");
    await insert(db, [
      { id: "a-old", at: T0, reference: "docker.io/library/a:1", context: { namespace: "web" } },
      { id: "a-new", at: T0 + 2 * HOUR, reference: "docker.io/library/a:1", context: { namespace: "web", pipeline: "p2" } },
      { id: "a-ops", at: T0 + HOUR, reference: "docker.io/library/a:1", context: { namespace: "ops" } },
      { id: "b-none", at: T0 + 3 * HOUR, reference: "docker.io/library/b:1", context: null },
      { id: "b-nons", at: T0 + 3 * HOUR - 1, reference: "docker.io/library/b:1", context: { pipeline: "p1" } },
      // A namespace that is a number is another namespace than the string, as the GROUP BY had it.
      { id: "c-num", at: T0 + 4 * HOUR, reference: "docker.io/library/c:1", context: { namespace: 5 } },
      { id: "c-str", at: T0 + 4 * HOUR - 1, reference: "docker.io/library/c:1", context: { namespace: "5" } },
      { id: "other", at: T0 + 5 * HOUR, reference: "docker.io/library/a:1", policy: "other" },
    ]);
    await applyD1Migrations(db, [m0004], "migrations_0004_test");

    expect(await replayed(db, "pi", T0)).toEqual([
      ["docker.io/library/c:1", 5, "c-num"],
      ["docker.io/library/c:1", "5", "c-str"],
      // No context and a context without a namespace are one image (no namespace), its newest verdict.
      ["docker.io/library/b:1", null, "b-none"],
      ["docker.io/library/a:1", "web", "a-new"],
      ["docker.io/library/a:1", "ops", "a-ops"],
    ]);
    // An image is in the window when its newest verdict is.
    expect(await replayed(db, "pi", T0 + 2 * HOUR)).toHaveLength(4);
    expect(await replayed(db, "pi", T0 + 4 * HOUR - 1)).toEqual([
      ["docker.io/library/c:1", 5, "c-num"],
      ["docker.io/library/c:1", "5", "c-str"],
    ]);
    expect(await replayed(db, "pi", T0, undefined, 2)).toHaveLength(2);
  });

  it("move forward as verdicts are inserted, never back; a tie goes to the larger (later) verdict ID", async () => {
    await insert(env.VERDICTS, [
      { id: "m1", at: T0 + HOUR, reference: "docker.io/library/m:1", policy: "pi-forward", context: { namespace: "web" } },
      { id: "n1", at: T0 + HOUR, reference: "docker.io/library/n:1", policy: "pi-forward" },
    ]);
    // An older verdict recorded late (another isolate's write) leaves the image at its newest.
    await insert(env.VERDICTS, [{ id: "m0", at: T0, reference: "docker.io/library/m:1", policy: "pi-forward", context: { namespace: "web" }, decision: "deny" }]);
    // The same time: by reference.
    expect(await replayed(env.VERDICTS, "pi-forward", T0)).toEqual([
      ["docker.io/library/m:1", "web", "m1"],
      ["docker.io/library/n:1", null, "n1"],
    ]);
    await insert(env.VERDICTS, [
      { id: "m2", at: T0 + 2 * HOUR, reference: "docker.io/library/m:1", policy: "pi-forward", context: { namespace: "web" }, decision: "deny" },
      { id: "n2", at: T0 + HOUR, reference: "docker.io/library/n:1", policy: "pi-forward", decision: "deny" },
      { id: "n0", at: T0 + HOUR, reference: "docker.io/library/n:1", policy: "pi-forward" },
    ]);
    const { items } = await readWindow(env.VERDICTS, "pi-forward", T0, T0 + 10 * HOUR, 10);
    expect(items.map((i) => [i.reference, i.before.decision, i.before.reasons[0]!.message])).toEqual([
      ["docker.io/library/m:1", "deny", "m2"],
      ["docker.io/library/n:1", "deny", "n2"],
    ]);
  });

  it("take a verdict recorded after the preview's start (its `until`) as the image's newest", async () => {
    await insert(env.VERDICTS, [
      { id: "p1", at: T0, reference: "docker.io/library/p:1", policy: "pi-until" },
      { id: "p2", at: T0 + 2 * HOUR, reference: "docker.io/library/p:1", policy: "pi-until", decision: "deny" },
    ]);
    const { verdicts, items } = await readWindow(env.VERDICTS, "pi-until", T0, T0 + HOUR, 10);
    expect(verdicts).toBe(1);
    expect(items.map((i) => [i.reference, i.before.decision])).toEqual([["docker.io/library/p:1", "deny"]]);
  });

  it("go with their newest verdict when retention deletes it, and stay while it is kept", async () => {
    await insert(env.VERDICTS, [
      { id: "g1", at: T0, reference: "docker.io/library/gone:1", policy: "pi-retention" },
      { id: "k1", at: T0, reference: "docker.io/library/kept:1", policy: "pi-retention" },
      { id: "k2", at: T0 + 2 * HOUR, reference: "docker.io/library/kept:1", policy: "pi-retention" },
    ]);
    const images = async () =>
      (await env.VERDICTS.prepare("SELECT reference, verdict_id FROM verdict_images WHERE policy_id = 'pi-retention' ORDER BY reference").all()).results;
    expect(await images()).toEqual([
      { reference: "docker.io/library/gone:1", verdict_id: "g1" },
      { reference: "docker.io/library/kept:1", verdict_id: "k2" },
    ]);
    await new VerdictLog(env.VERDICTS).deleteOlderThan(T0 + HOUR);
    expect(await images()).toEqual([{ reference: "docker.io/library/kept:1", verdict_id: "k2" }]);
    expect(await replayed(env.VERDICTS, "pi-retention", 0)).toEqual([["docker.io/library/kept:1", null, "k2"]]);
  });
});
