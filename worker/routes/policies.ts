// Policy administration: put (validated fully before anything is stored), get, list, delete.
// Every change is recorded in the policy audit log before it is made (see stores/policy-audit).
import type { Context } from "hono";
import { Hono } from "../hono";
import { importPolicy } from "../../src/policy/import";
import { defaultRequirementKinds } from "../../src/requirements";
import type { Env } from "../env";
import { readText } from "../body";
import { HttpError } from "../errors";
import { requireRole } from "../middleware/auth";
import { policyId } from "../policy-id";
import { servicesFor } from "../services";
import { PolicyAuditLog, type PolicyAuditEntry } from "../stores/policy-audit";

/** Records the change, then makes it; a change that fails withdraws its entry (best effort). */
async function audited(
  c: Context<Env>,
  change: Omit<PolicyAuditEntry, "id" | "at" | "tokenName">,
  apply: () => Promise<void>,
): Promise<void> {
  const audit = new PolicyAuditLog(c.env.VERDICTS);
  const entry = await audit.record({ ...change, tokenName: c.get("token").name });
  try {
    await apply();
  } catch (err) {
    await audit.withdraw(entry.id).catch((e: unknown) => console.error("withdrawing a policy audit entry failed:", e));
    throw err;
  }
}

export const policyRoutes = new Hono<Env>()
  .use("*", requireRole("admin"))
  .get("/", async (c) => {
    const list = await servicesFor(c.env).policies.list();
    return c.json({ policies: list.sort((a, b) => a.id.localeCompare(b.id)) });
  })
  .put("/:id", async (c) => {
    const id = policyId(c.req.param("id"));
    const format = c.req.query("format") ?? "native";
    const text = await readText(c);
    const imported = await importPolicy(text, format, defaultRequirementKinds);
    const { policies } = servicesFor(c.env);
    const previous = await policies.get(id);
    const now = new Date().toISOString();
    await audited(
      c,
      {
        policyId: id,
        action: previous ? "update" : "create",
        oldRevision: previous?.revision ?? null,
        newRevision: imported.revision,
        format: imported.format,
      },
      () =>
        policies.put({
          id,
          revision: imported.revision,
          format: imported.format,
          policy: imported.policy,
          document: text,
          warnings: imported.warnings,
          createdAt: previous?.createdAt ?? now,
          updatedAt: now,
        }),
    );
    // Warnings do not stop the import: they say what it probably does that its author did not mean.
    return c.json({ id, revision: imported.revision, format: imported.format, warnings: imported.warnings });
  })
  .get("/:id", async (c) => {
    const id = policyId(c.req.param("id"));
    const stored = await servicesFor(c.env).policies.get(id);
    if (!stored) throw new HttpError(404, "POLICY_NOT_FOUND", `no policy with ID "${id}"`);
    return c.json({ ...stored, warnings: stored.warnings ?? [] });
  })
  .delete("/:id", async (c) => {
    const id = policyId(c.req.param("id"));
    const { policies } = servicesFor(c.env);
    const previous = await policies.get(id);
    if (!previous) throw new HttpError(404, "POLICY_NOT_FOUND", `no policy with ID "${id}"`);
    await audited(
      c,
      { policyId: id, action: "delete", oldRevision: previous.revision, newRevision: null, format: previous.format },
      () => policies.delete(id),
    );
    return c.json({ id, deleted: true });
  });
