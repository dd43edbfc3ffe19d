// The overview: GET /v1/stats as charts of allowed and denied over time (all policies, then one per
// policy), the top denied images and reason codes, the verdict cache and the upstream errors.
import { barChart, bucketsOf, chartFocus, restoreChartFocus, windowOf } from "./chart.js";
import { $, api, count, el, knownPolicies, offerPolicies, percent, plural, shortRef, timeFormat } from "./util.js";

const RANGES = {
  "24h": { bucket: "hour", n: 24, caption: "Last 24 hours, per hour (UTC)" },
  "3d": { bucket: "hour", n: 72, caption: "Last 3 days, per hour (UTC)" },
  "7d": { bucket: "day", n: 7, caption: "Last 7 days, per day (UTC)" },
  "30d": { bucket: "day", n: 30, caption: "Last 30 days, per day (UTC)" },
};
/** Small charts drawn at most, one stats request each. */
const MAX_POLICY_CHARTS = 8;
const REFRESH_MS = 30000;

/** ctx: { fail(err), openVerdicts(filters) } from app.js. */
export function createOverview(ctx) {
  let generation = 0;
  let timer = null;
  let policies = null;

  function statsPath(policy, win) {
    const q = new URLSearchParams();
    if (policy) q.set("policy", policy);
    q.set("from", new Date(win.from).toISOString());
    q.set("to", new Date(win.to).toISOString());
    q.set("bucket", win.bucket);
    return "/v1/stats?" + q.toString();
  }

  function setPolicies(list) {
    policies = list;
    const select = $("stats-policy");
    const chosen = select.value;
    const options = [el("option", null, "All policies")];
    options[0].value = "";
    list.ids.forEach((id) => {
      const o = el("option", null, id);
      o.value = id;
      options.push(o);
    });
    select.replaceChildren(...options);
    if (chosen && !list.ids.includes(chosen)) {
      const o = el("option", null, chosen);
      o.value = chosen;
      select.appendChild(o);
    }
    select.value = chosen;
    offerPolicies(list.ids);
  }

  function renderList(body, empty, rows, cell) {
    body.replaceChildren(...rows.map((row) => {
      const tr = el("tr");
      tr.appendChild(cell(row));
      tr.appendChild(el("td", "num", count(row.count)));
      return tr;
    }));
    empty.hidden = rows.length > 0;
  }

  function render(stats, win, range, policy) {
    const totals = stats.totals || { allow: 0, deny: 0 };
    $("stats-allow").textContent = count(totals.allow);
    $("stats-deny").textContent = count(totals.deny);
    const all = (totals.allow || 0) + (totals.deny || 0);
    $("stats-deny-share").textContent = all ? percent(totals.deny / all) : "–";
    const cache = stats.cache || {};
    $("stats-cache").textContent = percent(cache.ratio);
    $("stats-cache-detail").textContent = plural(cache.hits, "hit", "hits") + ", " + plural(cache.misses, "miss", "misses");

    const title = policy ? "Verdicts of policy " + policy : "Verdicts of all policies";
    const focus = chartFocus();
    $("stats-chart").replaceChildren(barChart({ title, caption: range.caption, buckets: bucketsOf(stats.series, win) }));
    restoreChartFocus($("stats-chart"), focus);

    renderList($("top-images"), $("top-images-empty"), Array.isArray(stats.topDeniedImages) ? stats.topDeniedImages : [], (row) => {
      const td = el("td", "mono");
      // The image's denials in the verdict list: the same reference, decision deny.
      const link = el("a", "link", shortRef(row.reference));
      link.href = "#verdicts";
      link.title = row.reference;
      link.setAttribute("aria-label", row.reference + ": show its denials");
      link.dataset.reference = row.reference;
      link.addEventListener("click", (e) => {
        e.preventDefault();
        ctx.openVerdicts({ policy: policy || "", decision: "deny", image: row.reference });
      });
      td.appendChild(link);
      return td;
    });
    renderList($("top-reasons"), $("top-reasons-empty"), Array.isArray(stats.topReasonCodes) ? stats.topReasonCodes : [], (row) => el("td", "mono", row.code));
    renderList($("upstream-errors"), $("upstream-empty"), Array.isArray(stats.upstreamErrors) ? stats.upstreamErrors : [], (row) => el("td", "mono", row.host));
  }

  async function renderPerPolicy(win, range, mine) {
    const section = $("per-policy");
    const ids = policies ? policies.ids.slice(0, MAX_POLICY_CHARTS) : [];
    if (!ids.length) {
      section.hidden = true;
      return;
    }
    const answers = await Promise.all(ids.map((id) => api(statsPath(id, win)).then((r) => r.body, (err) => err)));
    if (mine !== generation) return;
    const charts = answers.map((stats, i) => {
      const id = ids[i];
      const box = el("div", "card");
      if (stats instanceof Error) {
        box.appendChild(el("h3", "chart-title", id));
        box.appendChild(el("p", "muted", stats.message));
        return box;
      }
      box.appendChild(barChart({ title: id, caption: range.caption, buckets: bucketsOf(stats.series, win), compact: true }));
      const open = el("button", "btn btn-small", "Open " + id);
      open.type = "button";
      open.addEventListener("click", () => {
        $("stats-policy").value = id;
        refresh();
        $("overview-title").focus();
      });
      box.appendChild(open);
      return box;
    });
    const focus = chartFocus();
    $("per-policy-charts").replaceChildren(...charts);
    restoreChartFocus($("per-policy-charts"), focus);
    const more = policies.ids.length > ids.length ? " The first " + ids.length + " of " + policies.ids.length + " are shown." : "";
    $("per-policy-note").textContent =
      (policies.source === "policies" ? "Every policy of this service." : "The policies of the latest 100 verdicts (an admin token lists them all).") + more;
    section.hidden = false;
  }

  async function refresh() {
    const mine = ++generation;
    clearTimeout(timer);
    const range = RANGES[$("stats-range").value] || RANGES["24h"];
    const policy = $("stats-policy").value;
    const win = windowOf(range.bucket, range.n);
    $("stats-status").textContent = "Loading…";
    $("view-overview").setAttribute("aria-busy", "true");
    try {
      if (!policies) setPolicies(await knownPolicies());
      const { body } = await api(statsPath(policy, win));
      if (mine !== generation) return;
      render(body, win, range, policy);
      $("stats-status").textContent = "Updated " + timeFormat.format(new Date()) + ".";
      if (policy) $("per-policy").hidden = true;
      else await renderPerPolicy(win, range, mine);
    } catch (err) {
      if (mine !== generation) return;
      $("stats-status").textContent = "";
      ctx.fail(err);
    }
    if (mine !== generation) return;
    $("view-overview").setAttribute("aria-busy", "false");
    if (!$("view-overview").hidden) timer = setTimeout(again, REFRESH_MS);
  }

  /** The periodic refresh waits while the focus is inside the view: redrawing would take it away. */
  function again() {
    if ($("view-overview").contains(document.activeElement) && document.activeElement !== $("overview-title")) {
      timer = setTimeout(again, REFRESH_MS);
      return;
    }
    if (!document.hidden) refresh();
    else timer = setTimeout(again, REFRESH_MS);
  }

  $("stats-form").addEventListener("submit", (e) => {
    e.preventDefault();
    refresh();
  });
  $("stats-policy").addEventListener("change", refresh);
  $("stats-range").addEventListener("change", refresh);

  return {
    show: refresh,
    hide() {
      generation++;
      clearTimeout(timer);
      $("view-overview").setAttribute("aria-busy", "false");
    },
    reset() {
      this.hide();
      policies = null;
    },
  };
}
