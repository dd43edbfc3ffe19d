// The verdict history (GET /v1/verdicts): newest first, filters kept in the URL, new verdicts polled
// while the view is shown, and a verdict's full detail (every reason, rule, digest, context, cached).
import { $, addField, ApiError, api, decisionBadge, el, shortDigest, timeFormat, when, whenFull } from "./util.js";

const POLL_MS = 4000;
const PAGE_SIZE = 100;
const MAX_ROWS = 1000;

/** The image as given, less a digest the digest column already shows. */
function imageName(v) {
  const at = v.image.indexOf("@");
  return v.digest && at > 0 && v.image.slice(at + 1) === v.digest ? v.image.slice(0, at) : v.image;
}

function byNewest(a, b) {
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** ctx: { fail(err), setError(message), saveUrl() } from app.js. */
export function createVerdicts(ctx) {
  const state = {
    verdicts: [],
    ids: new Set(),
    fresh: new Set(),
    cursor: null,
    filters: { policy: "", decision: "", image: "" },
    generation: 0,
    timer: null,
    busy: false,
    active: false,
    /** The row to give the focus back to when the detail closes. */
    opener: null,
  };

  function fetchVerdicts(cursor) {
    const query = new URLSearchParams();
    const f = state.filters;
    if (f.policy) query.set("policy", f.policy);
    if (f.decision) query.set("decision", f.decision);
    if (f.image) query.set("image", f.image);
    query.set("limit", String(PAGE_SIZE));
    if (cursor) query.set("cursor", cursor);
    return api("/v1/verdicts?" + query.toString()).then(({ status, body }) => {
      if (!Array.isArray(body.verdicts)) throw new ApiError("http", "Unexpected answer from /v1/verdicts (HTTP " + status + ", not a list of verdicts).", status);
      return body;
    });
  }

  // ---------------------------------------------------------- live indicator

  function setLive(name, text) {
    const live = $("live");
    live.hidden = false;
    live.dataset.state = name;
    $("live-text").textContent = text;
  }

  function markUpdated() {
    $("updated").textContent = "· updated " + timeFormat.format(new Date());
  }

  function handleError(err, generation) {
    if (generation !== state.generation) return;
    if (err instanceof ApiError && err.kind === "network") {
      setLive("offline", "Offline");
      ctx.setError(err.message + " Retrying every " + POLL_MS / 1000 + " s.");
      return;
    }
    if (!(err instanceof ApiError) || err.kind !== "auth") setLive("error", "Error");
    ctx.fail(err);
  }

  // ---------------------------------------------------------- rendering

  function renderTotals() {
    let allow = 0;
    let deny = 0;
    state.verdicts.forEach((v) => (v.decision === "allow" ? allow++ : deny++));
    $("total-shown").textContent = String(state.verdicts.length);
    $("total-allow").textContent = String(allow);
    $("total-deny").textContent = String(deny);
  }

  function row(v) {
    const tr = el("tr", "row row-" + (v.decision === "allow" ? "allow" : "deny") + (state.fresh.has(v.id) ? " is-new" : ""));
    tr.dataset.id = v.id;
    tr.dataset.decision = v.decision;
    tr.dataset.image = v.image;
    tr.tabIndex = 0;

    const time = el("td", "time");
    const stamp = el("time", null, when(v.evaluatedAt));
    stamp.dateTime = v.evaluatedAt;
    time.title = whenFull(v.evaluatedAt);
    time.appendChild(stamp);

    const decision = el("td", "decision");
    decision.appendChild(decisionBadge(v.decision));
    if (v.mode === "audit") decision.appendChild(el("span", "tag-audit", "audit"));

    const image = el("td", "image mono", imageName(v));
    image.title = v.image + (v.reference && v.reference !== v.image ? "\n" + v.reference : "");

    const digest = el("td", "digest mono", shortDigest(v.digest));
    if (v.digest) digest.title = v.digest;

    const policy = el("td", "policy", v.policy && v.policy.id);

    const reason = el("td", "reason");
    const first = Array.isArray(v.reasons) ? v.reasons[0] : null;
    if (first) {
      reason.appendChild(el("span", "reason-code", first.code));
      reason.appendChild(el("span", "reason-message", first.message));
      reason.title = first.code + ": " + first.message;
    } else {
      reason.appendChild(el("span", "reason-message", "—"));
    }

    [time, decision, image, digest, policy, reason].forEach((td) => tr.appendChild(td));
    tr.addEventListener("click", () => openDetail(v, tr));
    tr.addEventListener("keydown", (e) => {
      if (e.key === "Enter" || e.key === " ") {
        e.preventDefault();
        openDetail(v, tr);
      } else if (e.key === "ArrowDown" || e.key === "ArrowUp") {
        // Up and down walk the rows, as in a list.
        const next = e.key === "ArrowDown" ? tr.nextElementSibling : tr.previousElementSibling;
        if (next) {
          e.preventDefault();
          next.focus();
        }
      }
    });
    return tr;
  }

  function render() {
    // The focused row keeps the focus across a redraw (a poll that brings new verdicts).
    const focused = document.activeElement && document.activeElement.closest && document.activeElement.closest("#verdict-rows tr");
    const focusedId = focused ? focused.dataset.id : null;
    const rows = state.verdicts.map(row);
    $("verdict-rows").replaceChildren(...rows);
    if (focusedId) {
      const again = rows.find((tr) => tr.dataset.id === focusedId);
      if (again) again.focus();
    }
    state.fresh.clear();
    $("empty").hidden = state.verdicts.length > 0;
    $("load-more").hidden = !state.cursor || state.verdicts.length >= MAX_ROWS;
    renderTotals();
  }

  function openDetail(v, opener) {
    state.opener = opener || null;
    const decision = $("detail-decision");
    decision.className = "badge badge-" + (v.decision === "allow" ? "allow" : "deny");
    decision.textContent = v.decision === "allow" ? "Allow" : "Deny";
    $("detail-title").textContent = v.image;

    const fields = $("detail-fields");
    fields.replaceChildren();
    addField(fields, "Reference", v.reference, true);
    addField(fields, "Digest", v.digest, true);
    addField(fields, "Policy", v.policy ? v.policy.id + (v.policy.revision ? " @ " + v.policy.revision : "") : null, true);
    addField(fields, "Rule", v.rule === null ? "no matching rule" : v.rule, true);
    addField(fields, "Mode", v.mode);
    addField(fields, "Cached", v.cached ? "yes: a verdict verified earlier was reused" : "no: verified for this decision");
    addField(fields, "Source", v.source);
    addField(fields, "Evaluated", whenFull(v.evaluatedAt));
    addField(fields, "Verdict ID", v.id, true);

    const reasons = $("detail-reasons");
    reasons.replaceChildren();
    (Array.isArray(v.reasons) ? v.reasons : []).forEach((r) => {
      const item = el("li", "reason");
      item.appendChild(el("div", "reason-code", r.code));
      item.appendChild(el("p", "reason-message", r.message));
      const extra = el("dl", "fields");
      Object.keys(r).forEach((key) => {
        if (key !== "code" && key !== "message") addField(extra, key, r[key], true);
      });
      if (extra.childNodes.length) item.appendChild(extra);
      reasons.appendChild(item);
    });
    if (!reasons.childNodes.length) reasons.appendChild(el("li", "reason muted", "No reasons recorded."));

    const context = $("detail-context");
    context.replaceChildren();
    const keys = v.context && typeof v.context === "object" ? Object.keys(v.context) : [];
    keys.forEach((key) => addField(context, key, v.context[key], true));
    context.hidden = keys.length === 0;
    $("detail-no-context").hidden = keys.length > 0;

    const dialog = $("detail");
    if (!dialog.open) dialog.showModal();
    $("detail-close").focus();
  }

  // ---------------------------------------------------------- loading and polling

  function remember(list) {
    list.forEach((v) => state.ids.add(v.id));
  }

  function schedule() {
    clearTimeout(state.timer);
    if (state.active) state.timer = setTimeout(poll, POLL_MS);
  }

  function reload() {
    const generation = ++state.generation;
    clearTimeout(state.timer);
    state.verdicts = [];
    state.ids = new Set();
    state.cursor = null;
    setLive("connecting", "Connecting…");
    render();
    state.busy = true;
    return fetchVerdicts(null)
      .then((page) => {
        if (generation !== state.generation) return;
        state.verdicts = page.verdicts.slice();
        remember(state.verdicts);
        state.cursor = page.nextCursor || null;
        ctx.setError("");
        setLive("live", "Live");
        markUpdated();
        render();
      })
      .catch((err) => handleError(err, generation))
      .then(() => {
        if (generation === state.generation) {
          state.busy = false;
          schedule();
        }
      });
  }

  function poll() {
    if (!state.active) return;
    if (document.hidden) {
      setLive("paused", "Paused");
      schedule();
      return;
    }
    if (state.busy) {
      schedule();
      return;
    }
    const generation = state.generation;
    state.busy = true;
    fetchVerdicts(null)
      .then((page) => {
        if (generation !== state.generation) return;
        const incoming = page.verdicts.filter((v) => !state.ids.has(v.id));
        if (incoming.length && incoming.length === page.verdicts.length && page.nextCursor && state.verdicts.length) {
          // More arrived than one page holds: start over from the newest rather than leave a gap.
          state.verdicts = page.verdicts.slice();
          state.ids = new Set();
          state.cursor = page.nextCursor;
        } else {
          state.verdicts = incoming.concat(state.verdicts).sort(byNewest).slice(0, MAX_ROWS);
        }
        remember(incoming);
        incoming.forEach((v) => state.fresh.add(v.id));
        remember(state.verdicts);
        ctx.setError("");
        setLive("live", "Live");
        markUpdated();
        if (incoming.length) render();
      })
      .catch((err) => handleError(err, generation))
      .then(() => {
        if (generation === state.generation) {
          state.busy = false;
          schedule();
        }
      });
  }

  function loadMore() {
    if (!state.cursor) return;
    const generation = state.generation;
    const button = $("load-more");
    button.disabled = true;
    fetchVerdicts(state.cursor)
      .then((page) => {
        if (generation !== state.generation) return;
        const older = page.verdicts.filter((v) => !state.ids.has(v.id));
        state.verdicts = state.verdicts.concat(older).slice(0, MAX_ROWS);
        remember(older);
        state.cursor = page.nextCursor || null;
        ctx.setError("");
        render();
      })
      .catch((err) => handleError(err, generation))
      .then(() => {
        button.disabled = false;
      });
  }

  // ---------------------------------------------------------- filters

  function readFilters() {
    state.filters = {
      policy: $("filter-policy").value.trim(),
      decision: $("filter-decision").value,
      image: $("filter-image").value.trim(),
    };
    ctx.saveUrl();
  }

  function writeFilters() {
    $("filter-policy").value = state.filters.policy;
    $("filter-decision").value = state.filters.decision;
    $("filter-image").value = state.filters.image;
  }

  $("filters").addEventListener("submit", (e) => {
    e.preventDefault();
    readFilters();
    reload();
  });
  $("filter-decision").addEventListener("change", () => {
    readFilters();
    reload();
  });
  $("filters-clear").addEventListener("click", () => {
    state.filters = { policy: "", decision: "", image: "" };
    writeFilters();
    readFilters();
    reload();
  });
  $("load-more").addEventListener("click", loadMore);
  const dialog = $("detail");
  $("detail-close").addEventListener("click", () => dialog.close());
  dialog.addEventListener("click", (e) => {
    // A click on the backdrop lands on the dialog itself, outside its box.
    const box = dialog.getBoundingClientRect();
    const outside = e.clientX < box.left || e.clientX > box.right || e.clientY < box.top || e.clientY > box.bottom;
    if (e.target === dialog && outside) dialog.close();
  });
  dialog.addEventListener("close", () => {
    // Back to the row the detail was opened from, so the keyboard does not start over at the top;
    // the browser does so itself unless a poll redrew the rows meanwhile: then to the same verdict's row.
    // The event is dispatched later than the close: by then the detail may be open again.
    if (dialog.open) return;
    const id = state.opener && state.opener.dataset.id;
    state.opener = null;
    if (!id || (document.activeElement && document.activeElement.closest && document.activeElement.closest("#verdict-rows"))) return;
    const row = [...$("verdict-rows").children].find((tr) => tr.dataset.id === id);
    if (row) row.focus();
  });
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && state.active) poll();
  });

  return {
    /** The filters as URL parameters (app.js keeps them in the page's URL). */
    params() {
      return state.filters;
    },
    setFilters(filters) {
      const decision = filters.decision === "allow" || filters.decision === "deny" ? filters.decision : "";
      state.filters = { policy: filters.policy || "", decision, image: filters.image || "" };
      writeFilters();
    },
    show() {
      state.active = true;
      return reload();
    },
    hide() {
      state.active = false;
      state.generation++;
      state.busy = false;
      clearTimeout(state.timer);
      $("live").hidden = true;
      if (dialog.open) dialog.close();
    },
    reset() {
      this.hide();
      state.verdicts = [];
      state.ids = new Set();
      state.cursor = null;
      render();
    },
  };
}
