// The policy change audit (GET /v1/audit, admin): who changed which policy when, from which revision
// to which, newest first, with older pages on demand.
import { $, adminGate, api, el, needsAdmin, when, whenFull } from "./util.js";

const PAGE_SIZE = 50;
const ACTIONS = { create: "Created", update: "Updated", delete: "Deleted" };

function revision(value) {
  const td = el("td", "mono", value ? value.slice(0, 19) : "—");
  if (value) td.title = value;
  return td;
}

/** ctx: { fail(err), setError(message) } from app.js. */
export function createAudit(ctx) {
  let entries = [];
  let cursor = null;
  let generation = 0;

  function row(entry) {
    const tr = el("tr");
    tr.dataset.id = entry.id;
    tr.dataset.policy = entry.policyId;
    tr.dataset.action = entry.action;
    const time = el("td", "time");
    const stamp = el("time", null, when(entry.at));
    stamp.dateTime = entry.at;
    time.title = whenFull(entry.at);
    time.appendChild(stamp);
    const action = el("td");
    action.appendChild(el("span", "badge badge-" + (entry.action === "delete" ? "deny" : entry.action === "create" ? "allow" : "neutral"), ACTIONS[entry.action] || entry.action));
    tr.append(time, el("td", "mono", entry.policyId), action, revision(entry.oldRevision), revision(entry.newRevision), el("td", null, entry.format || "—"), el("td", "mono", entry.tokenName));
    return tr;
  }

  function render() {
    $("audit-rows").replaceChildren(...entries.map(row));
    $("audit-empty").hidden = entries.length > 0;
    $("audit-more").hidden = !cursor;
  }

  async function load(more) {
    const mine = more ? generation : ++generation;
    const q = new URLSearchParams();
    const policy = $("audit-policy").value.trim();
    if (policy) q.set("policy", policy);
    q.set("limit", String(PAGE_SIZE));
    if (more && cursor) q.set("cursor", cursor);
    $("audit-more").disabled = true;
    try {
      const { body } = await api("/v1/audit?" + q.toString(), { admin: true });
      if (mine !== generation) return;
      const page = Array.isArray(body.entries) ? body.entries : [];
      entries = more ? entries.concat(page) : page;
      cursor = body.nextCursor || null;
      $("audit-gate").replaceChildren();
      ctx.setError("");
      render();
    } catch (err) {
      if (mine !== generation) return;
      if (needsAdmin(err)) {
        entries = [];
        cursor = null;
        render();
        $("audit-empty").hidden = true;
        adminGate($("audit-gate"), err, () => load(false));
      } else ctx.fail(err);
    } finally {
      $("audit-more").disabled = false;
    }
  }

  $("audit-form").addEventListener("submit", (e) => {
    e.preventDefault();
    load(false);
  });
  $("audit-more").addEventListener("click", () => load(true));

  return {
    show: () => load(false),
    hide() {
      generation++;
    },
    reset() {
      generation++;
      entries = [];
      cursor = null;
      render();
      $("audit-gate").replaceChildren();
    },
  };
}
