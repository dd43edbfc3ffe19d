// The dashboard's script (served as /dashboard/app.js): vanilla JS; data reaches the DOM only via textContent.
"use strict";
(function () {
  var POLL_MS = 4000;
  var PAGE_SIZE = 100;
  var MAX_ROWS = 1000;
  var REQUEST_TIMEOUT_MS = 15000;
  var TOKEN_KEY = "trustgate.dashboard.token";

  var $ = function (id) { return document.getElementById(id); };
  var state = {
    token: null,
    verdicts: [],
    ids: new Set(),
    fresh: new Set(),
    cursor: null,
    filters: { policy: "", decision: "", image: "" },
    generation: 0,
    timer: null,
    busy: false,
  };

  // ------------------------------------------------------------ helpers

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function readToken() {
    try { return sessionStorage.getItem(TOKEN_KEY); } catch (e) { return null; }
  }
  function storeToken(token) {
    try {
      if (token) sessionStorage.setItem(TOKEN_KEY, token); else sessionStorage.removeItem(TOKEN_KEY);
    } catch (e) { /* storage disabled: the token lives in memory for this page only */ }
  }

  var timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
  var dayFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
  var fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium", hourCycle: "h23" });

  function when(iso) {
    var d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso);
    var sameDay = d.toDateString() === new Date().toDateString();
    return sameDay ? timeFormat.format(d) : dayFormat.format(d) + " " + timeFormat.format(d);
  }
  function whenFull(iso) {
    var d = new Date(iso);
    return isNaN(d.getTime()) ? String(iso) : fullFormat.format(d) + " (" + iso + ")";
  }
  function shortDigest(digest) {
    if (!digest) return "—";
    var i = digest.indexOf(":");
    return i < 0 ? digest.slice(0, 19) : digest.slice(0, i + 13);
  }
  /** The image as given, less a digest the digest column already shows. */
  function imageName(v) {
    var at = v.image.indexOf("@");
    return v.digest && at > 0 && v.image.slice(at + 1) === v.digest ? v.image.slice(0, at) : v.image;
  }
  function show(value) {
    if (value === null || value === undefined) return "—";
    return typeof value === "string" ? value : JSON.stringify(value);
  }

  // ------------------------------------------------------------ the API

  function ApiError(kind, message, status) {
    this.kind = kind;
    this.message = message;
    this.status = status;
  }

  function fetchVerdicts(cursor) {
    var query = new URLSearchParams();
    var f = state.filters;
    if (f.policy) query.set("policy", f.policy);
    if (f.decision) query.set("decision", f.decision);
    if (f.image) query.set("image", f.image);
    query.set("limit", String(PAGE_SIZE));
    if (cursor) query.set("cursor", cursor);
    var controller = new AbortController();
    var timer = setTimeout(function () { controller.abort(); }, REQUEST_TIMEOUT_MS);
    var status = 0;
    return fetch("/v1/verdicts?" + query.toString(), {
      headers: { Authorization: "Bearer " + state.token, Accept: "application/json" },
      cache: "no-store",
      credentials: "omit",
      signal: controller.signal,
    })
      .then(function (res) {
        status = res.status;
        return res.text();
      }, function (err) {
        var why = controller.signal.aborted ? "no answer within " + REQUEST_TIMEOUT_MS / 1000 + " s" : (err && err.message) || String(err);
        throw new ApiError("network", "Cannot reach trustgate: " + why + ". Retrying every " + POLL_MS / 1000 + " s.", 0);
      })
      .then(function (text) {
        clearTimeout(timer);
        var body = null;
        try { body = JSON.parse(text); } catch (e) { body = null; }
        if (status < 200 || status > 299) {
          var error = body && body.error ? body.error : {};
          var message = "HTTP " + status + (error.code ? " " + error.code : "") + (error.message ? ": " + error.message : "");
          throw new ApiError(status === 401 ? "auth" : "http", message, status);
        }
        if (!body || !Array.isArray(body.verdicts)) {
          throw new ApiError("http", "Unexpected answer from /v1/verdicts (HTTP " + status + ", not a list of verdicts).", status);
        }
        return body;
      }, function (err) {
        clearTimeout(timer);
        throw err instanceof ApiError ? err : new ApiError("network", "Cannot reach trustgate: " + ((err && err.message) || err), 0);
      });
  }

  // ------------------------------------------------------------ status: banner and live indicator

  function setError(message) {
    var banner = $("error");
    banner.textContent = message || "";
    banner.hidden = !message;
  }

  function setLive(stateName, text) {
    var live = $("live");
    live.hidden = false;
    live.dataset.state = stateName;
    $("live-text").textContent = text;
  }

  function markUpdated() {
    $("updated").textContent = "· updated " + timeFormat.format(new Date());
  }

  function handleError(err, generation) {
    if (generation !== state.generation) return;
    if (!(err instanceof ApiError)) err = new ApiError("network", String((err && err.message) || err), 0);
    if (err.kind === "auth") {
      signOut("The token was not accepted (" + err.message + "). Enter a valid client token.");
      return;
    }
    if (err.kind === "network") setLive("offline", "Offline");
    else setLive("error", "Error");
    setError(err.message);
  }

  // ------------------------------------------------------------ rendering

  function renderTotals() {
    var allow = 0;
    var deny = 0;
    state.verdicts.forEach(function (v) { if (v.decision === "allow") allow++; else deny++; });
    $("total-shown").textContent = String(state.verdicts.length);
    $("total-allow").textContent = String(allow);
    $("total-deny").textContent = String(deny);
  }

  function row(v) {
    var tr = el("tr", "row row-" + (v.decision === "allow" ? "allow" : "deny") + (state.fresh.has(v.id) ? " is-new" : ""));
    tr.dataset.id = v.id;
    tr.dataset.decision = v.decision;
    tr.dataset.image = v.image;
    tr.tabIndex = 0;

    var time = el("td", "time");
    var stamp = el("time", null, when(v.evaluatedAt));
    stamp.dateTime = v.evaluatedAt;
    time.title = whenFull(v.evaluatedAt);
    time.appendChild(stamp);

    var decision = el("td", "decision");
    decision.appendChild(el("span", "badge badge-" + (v.decision === "allow" ? "allow" : "deny"), v.decision === "allow" ? "Allow" : "Deny"));
    if (v.mode === "audit") decision.appendChild(el("span", "tag-audit", "audit"));

    var image = el("td", "image mono", imageName(v));
    image.title = v.image + (v.reference && v.reference !== v.image ? "\n" + v.reference : "");

    var digest = el("td", "digest mono", shortDigest(v.digest));
    if (v.digest) digest.title = v.digest;

    var policy = el("td", "policy", v.policy && v.policy.id);

    var reason = el("td", "reason");
    var first = Array.isArray(v.reasons) ? v.reasons[0] : null;
    if (first) {
      reason.appendChild(el("span", "reason-code", first.code));
      reason.appendChild(el("span", "reason-message", first.message));
      reason.title = first.code + ": " + first.message;
    } else {
      reason.appendChild(el("span", "reason-message", "—"));
    }

    [time, decision, image, digest, policy, reason].forEach(function (td) { tr.appendChild(td); });
    tr.addEventListener("click", function () { openDetail(v); });
    tr.addEventListener("keydown", function (e) {
      if (e.key === "Enter" || e.key === " ") { e.preventDefault(); openDetail(v); }
    });
    return tr;
  }

  function render() {
    var body = $("verdict-rows");
    var rows = state.verdicts.map(row);
    body.replaceChildren.apply(body, rows);
    state.fresh.clear();
    $("empty").hidden = state.verdicts.length > 0;
    $("load-more").hidden = !state.cursor || state.verdicts.length >= MAX_ROWS;
    renderTotals();
  }

  function addField(list, name, value, mono) {
    list.appendChild(el("dt", null, name));
    list.appendChild(el("dd", mono ? "mono" : null, show(value)));
  }

  function openDetail(v) {
    var decision = $("detail-decision");
    decision.className = "badge badge-" + (v.decision === "allow" ? "allow" : "deny");
    decision.textContent = v.decision === "allow" ? "Allow" : "Deny";
    $("detail-title").textContent = v.image;

    var fields = $("detail-fields");
    fields.replaceChildren();
    addField(fields, "Reference", v.reference, true);
    addField(fields, "Digest", v.digest, true);
    addField(fields, "Policy", v.policy ? v.policy.id + (v.policy.revision ? " @ " + v.policy.revision : "") : null, true);
    addField(fields, "Rule", v.rule === null ? "no matching rule" : v.rule, true);
    addField(fields, "Mode", v.mode);
    addField(fields, "Cached", v.cached ? "yes" : "no");
    addField(fields, "Source", v.source);
    addField(fields, "Evaluated", whenFull(v.evaluatedAt));
    addField(fields, "Verdict ID", v.id, true);

    var reasons = $("detail-reasons");
    reasons.replaceChildren();
    (Array.isArray(v.reasons) ? v.reasons : []).forEach(function (r) {
      var item = el("li", "reason");
      item.appendChild(el("div", "reason-code", r.code));
      item.appendChild(el("p", "reason-message", r.message));
      var extra = el("dl", "fields");
      Object.keys(r).forEach(function (key) {
        if (key !== "code" && key !== "message") addField(extra, key, r[key], true);
      });
      if (extra.childNodes.length) item.appendChild(extra);
      reasons.appendChild(item);
    });
    if (!reasons.childNodes.length) reasons.appendChild(el("li", "reason muted", "No reasons recorded."));

    var context = $("detail-context");
    context.replaceChildren();
    var keys = v.context && typeof v.context === "object" ? Object.keys(v.context) : [];
    keys.forEach(function (key) { addField(context, key, v.context[key], true); });
    context.hidden = keys.length === 0;
    $("detail-no-context").hidden = keys.length > 0;

    var dialog = $("detail");
    if (!dialog.open) dialog.showModal();
    $("detail-close").focus();
  }

  // ------------------------------------------------------------ loading and polling

  function remember(list) {
    list.forEach(function (v) { state.ids.add(v.id); });
  }

  function byNewest(a, b) {
    return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
  }

  function schedule() {
    clearTimeout(state.timer);
    if (state.token) state.timer = setTimeout(poll, POLL_MS);
  }

  function reload() {
    var generation = ++state.generation;
    clearTimeout(state.timer);
    state.verdicts = [];
    state.ids = new Set();
    state.cursor = null;
    setLive("connecting", "Connecting…");
    render();
    state.busy = true;
    return fetchVerdicts(null)
      .then(function (page) {
        if (generation !== state.generation) return;
        state.verdicts = page.verdicts.slice();
        remember(state.verdicts);
        state.cursor = page.nextCursor || null;
        setError("");
        setLive("live", "Live");
        markUpdated();
        render();
      })
      .catch(function (err) { handleError(err, generation); })
      .then(function () {
        if (generation === state.generation) { state.busy = false; schedule(); }
      });
  }

  function poll() {
    if (!state.token) return;
    if (document.hidden) { setLive("paused", "Paused"); schedule(); return; }
    if (state.busy) { schedule(); return; }
    var generation = state.generation;
    state.busy = true;
    fetchVerdicts(null)
      .then(function (page) {
        if (generation !== state.generation) return;
        var incoming = page.verdicts.filter(function (v) { return !state.ids.has(v.id); });
        if (incoming.length && incoming.length === page.verdicts.length && page.nextCursor && state.verdicts.length) {
          // More arrived than one page holds: start over from the newest rather than leave a gap.
          state.verdicts = page.verdicts.slice();
          state.ids = new Set();
          state.cursor = page.nextCursor;
        } else {
          state.verdicts = incoming.concat(state.verdicts).sort(byNewest).slice(0, MAX_ROWS);
        }
        remember(incoming);
        incoming.forEach(function (v) { state.fresh.add(v.id); });
        remember(state.verdicts);
        setError("");
        setLive("live", "Live");
        markUpdated();
        if (incoming.length) render();
      })
      .catch(function (err) { handleError(err, generation); })
      .then(function () {
        if (generation === state.generation) { state.busy = false; schedule(); }
      });
  }

  function loadMore() {
    if (!state.cursor) return;
    var generation = state.generation;
    var button = $("load-more");
    button.disabled = true;
    fetchVerdicts(state.cursor)
      .then(function (page) {
        if (generation !== state.generation) return;
        var older = page.verdicts.filter(function (v) { return !state.ids.has(v.id); });
        state.verdicts = state.verdicts.concat(older).slice(0, MAX_ROWS);
        remember(older);
        state.cursor = page.nextCursor || null;
        setError("");
        render();
      })
      .catch(function (err) { handleError(err, generation); })
      .then(function () { button.disabled = false; });
  }

  // ------------------------------------------------------------ token and filters

  function connect(token) {
    state.token = token;
    storeToken(token);
    $("connect").hidden = true;
    $("board").hidden = false;
    $("sign-out").hidden = false;
    setError("");
    return reload();
  }

  function signOut(message) {
    state.generation++;
    clearTimeout(state.timer);
    state.token = null;
    state.busy = false;
    storeToken(null);
    state.verdicts = [];
    state.ids = new Set();
    state.cursor = null;
    var dialog = $("detail");
    if (dialog.open) dialog.close();
    $("board").hidden = true;
    $("sign-out").hidden = true;
    $("live").hidden = true;
    $("connect").hidden = false;
    setError(message || "");
    var input = $("token-input");
    input.value = "";
    input.focus();
  }

  function readFilters() {
    state.filters = {
      policy: $("filter-policy").value.trim(),
      decision: $("filter-decision").value,
      image: $("filter-image").value.trim(),
    };
    var query = new URLSearchParams();
    Object.keys(state.filters).forEach(function (key) { if (state.filters[key]) query.set(key, state.filters[key]); });
    var search = query.toString();
    history.replaceState(null, "", search ? "?" + search : location.pathname);
  }

  function writeFilters() {
    $("filter-policy").value = state.filters.policy;
    $("filter-decision").value = state.filters.decision;
    $("filter-image").value = state.filters.image;
  }

  function init() {
    var params = new URLSearchParams(location.search);
    var decision = params.get("decision");
    state.filters = {
      policy: params.get("policy") || "",
      decision: decision === "allow" || decision === "deny" ? decision : "",
      image: params.get("image") || "",
    };
    writeFilters();

    $("token-form").addEventListener("submit", function (e) {
      e.preventDefault();
      var token = $("token-input").value.trim();
      if (!token || /\s/.test(token)) { setError("Enter the client token: one word, no spaces."); return; }
      $("token-input").value = "";
      connect(token);
    });
    $("sign-out").addEventListener("click", function () { signOut(""); });
    $("filters").addEventListener("submit", function (e) {
      e.preventDefault();
      readFilters();
      reload();
    });
    $("filter-decision").addEventListener("change", function () {
      readFilters();
      reload();
    });
    $("filters-clear").addEventListener("click", function () {
      state.filters = { policy: "", decision: "", image: "" };
      writeFilters();
      readFilters();
      reload();
    });
    $("load-more").addEventListener("click", loadMore);
    $("detail-close").addEventListener("click", function () { $("detail").close(); });
    $("detail").addEventListener("click", function (e) {
      // A click on the backdrop lands on the dialog itself, outside its box.
      var dialog = e.currentTarget;
      var box = dialog.getBoundingClientRect();
      var outside = e.clientX < box.left || e.clientX > box.right || e.clientY < box.top || e.clientY > box.bottom;
      if (e.target === dialog && outside) dialog.close();
    });
    document.addEventListener("visibilitychange", function () {
      if (!document.hidden && state.token) poll();
    });

    var token = readToken();
    if (token) connect(token);
    else signOut("");
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
  else init();
})();
