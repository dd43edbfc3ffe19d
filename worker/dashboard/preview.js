// The policy change preview (POST /v1/policies/{id}:preview, admin): a candidate document pasted or
// uploaded, replayed against the images recently decided under the policy; the summary and every
// change before/after. A large window answers 202 with a job, polled here with its progress.
import { $, adminGate, api, ApiError, addField, count, decisionBadge, el, knownPolicies, needsAdmin, offerPolicies, shortRef, whenFull } from "./util.js";

/** The API's body cap (DEFAULT_LIMITS.api.bodyBytes): a larger file is refused before it is sent. */
const MAX_FILE_BYTES = 1024 * 1024;
const POLL_MS = 1000;
const DAY = 24 * 3600 * 1000;

/**
 * The kind of each listed change. The API lists newly denied, then newly allowed, then errors
 * (src/preview.ts), as many of each as the summary counts: the position says which. An error is a
 * replay that could not check the image, a deny that says nothing about the candidate.
 */
function kindsOf(changes, summary) {
  const denied = Number(summary.newlyDenied) || 0;
  const allowed = Number(summary.newlyAllowed) || 0;
  return changes.map((change, i) => {
    const before = change.before && change.before.decision;
    const after = change.after && change.after.decision;
    if (i < denied && before !== "deny" && after === "deny") return "newly-denied";
    if (i >= denied && i < denied + allowed && before !== "allow" && after === "allow") return "newly-allowed";
    if (i >= denied + allowed) return "error";
    // The answer is not in that order after all: say what the decisions say.
    return after === "deny" ? "newly-denied" : "newly-allowed";
  });
}
const KIND_LABEL = { "newly-denied": "Newly denied", "newly-allowed": "Newly allowed", error: "Could not be checked" };

function outcome(side) {
  const td = el("td", "outcome");
  const decision = side && side.decision;
  td.appendChild(decisionBadge(decision));
  const reasons = side && Array.isArray(side.reasons) ? side.reasons : [];
  if (reasons.length) {
    const list = el("ul", "outcome-reasons");
    reasons.forEach((r) => {
      const item = el("li");
      item.appendChild(el("span", "reason-code", r.code));
      item.appendChild(el("span", "reason-message", r.message));
      list.appendChild(item);
    });
    td.appendChild(list);
  }
  return td;
}

/** ctx: { fail(err), setError(message) } from app.js. */
export function createPreview(ctx) {
  let generation = 0;
  let timer = null;

  function setProgress(text, done, total) {
    const box = $("preview-progress");
    const bar = $("preview-progress-bar");
    box.hidden = !text;
    $("preview-progress-text").textContent = text || "";
    if (typeof done === "number" && typeof total === "number" && total > 0) {
      bar.max = total;
      bar.value = Math.min(done, total);
    } else {
      bar.removeAttribute("value"); // indeterminate
    }
  }

  function setBusy(busy) {
    $("preview-run").disabled = busy;
    $("preview-cancel").hidden = !busy;
  }

  function showError(message) {
    const box = $("preview-error");
    box.textContent = message || "";
    box.hidden = !message;
  }

  function render(result) {
    const summary = result.summary || {};
    $("preview-newly-denied").textContent = count(summary.newlyDenied || 0);
    $("preview-newly-allowed").textContent = count(summary.newlyAllowed || 0);
    $("preview-unchanged").textContent = count(summary.unchanged || 0);
    $("preview-errors").textContent = count(summary.errors || 0);

    const facts = $("preview-facts");
    facts.replaceChildren();
    const candidate = result.candidate || {};
    const win = result.window || {};
    addField(facts, "Candidate revision", candidate.revision, true);
    addField(facts, "Window", (win.since ? whenFull(win.since) : "—") + " → " + (win.until ? whenFull(win.until) : "—"));
    addField(facts, "Replayed", count(win.images) + " distinct images from " + count(win.verdicts) + " verdicts");

    const warnings = Array.isArray(candidate.warnings) ? candidate.warnings : [];
    $("preview-warnings").replaceChildren(
      ...warnings.map((w) => el("li", "warning", "Warning: " + (typeof w === "string" ? w : [w.path, w.message].filter(Boolean).join(": ")))),
    );

    // In the API's order: what a gate acts on first.
    const changes = Array.isArray(result.changes) ? result.changes : [];
    const kinds = kindsOf(changes, summary);
    $("preview-changes").replaceChildren(
      ...changes.map((change, i) => {
        const kind = kinds[i];
        const tr = el("tr", "change change-" + kind);
        tr.dataset.kind = kind;
        tr.dataset.reference = change.reference || change.image || "";
        tr.dataset.before = (change.before && change.before.decision) || "";
        tr.dataset.after = (change.after && change.after.decision) || "";
        const image = el("td", "image");
        image.appendChild(el("span", "change-kind change-kind-" + kind, KIND_LABEL[kind]));
        const name = el("div", "mono", shortRef(change.reference || change.image));
        name.title = change.reference || change.image;
        image.appendChild(name);
        if (change.image && change.reference && change.image !== change.reference) {
          const given = el("div", "mono muted", "as given: " + shortRef(change.image));
          given.title = change.image;
          image.appendChild(given);
        }
        const context = el("td", "context");
        const keys = change.context && typeof change.context === "object" ? Object.keys(change.context) : [];
        if (keys.length) {
          const dl = el("dl", "fields fields-tight");
          keys.forEach((key) => addField(dl, key, change.context[key], true));
          context.appendChild(dl);
        } else context.appendChild(el("span", "muted", "none"));
        tr.append(image, context, outcome(change.before), outcome(change.after));
        return tr;
      }),
    );
    $("preview-no-changes").hidden = changes.length > 0;
    $("preview-result").hidden = false;
    $("preview-result-title").focus();
  }

  /** The result from a poll answer: the preview itself, or a job still running (null). */
  function resultOf(body) {
    if (body.summary) return body;
    if (body.result && body.result.summary) return body.result;
    const job = body.job || {};
    if (job.status === "failed" || job.status === "error") {
      const error = job.error || body.error || {};
      throw new ApiError("http", "The preview job failed" + (error.code ? " (" + error.code + ")" : "") + (error.message ? ": " + error.message : "."), 200);
    }
    return null;
  }

  function pollJob(url, mine) {
    return new Promise((resolve, reject) => {
      const step = () => {
        if (mine !== generation) return resolve(null);
        api(url, { admin: true }).then(({ body }) => {
          if (mine !== generation) return resolve(null);
          const result = resultOf(body);
          if (result) return resolve(result);
          const progress = (body.job && body.job.progress) || {};
          setProgress("Replaying: " + count(progress.done || 0) + " of " + count(progress.total || 0) + " images…", progress.done, progress.total);
          timer = setTimeout(step, POLL_MS);
        }, reject);
      };
      step();
    });
  }

  /** Only this origin's poll URL is followed (the CSP would refuse any other anyway). */
  function samePath(poll) {
    const url = new URL(poll, location.origin);
    if (url.origin !== location.origin) throw new ApiError("http", "The preview job's poll URL is not on this origin: " + url.origin, 202);
    return url.pathname + url.search;
  }

  async function run() {
    const mine = ++generation;
    clearTimeout(timer);
    showError("");
    ctx.setError("");
    const policy = $("preview-policy").value.trim();
    const text = $("preview-text").value;
    if (!policy) return showError("Name the policy whose verdicts to replay.");
    if (!text.trim()) return showError("Paste or upload a candidate policy document.");
    const q = new URLSearchParams();
    q.set("format", $("preview-format").value);
    q.set("since", new Date(Date.now() - Number($("preview-since").value) * DAY).toISOString());
    setBusy(true);
    setProgress("Sending the candidate…");
    $("preview-result").hidden = true;
    try {
      const { status, body } = await api("/v1/policies/" + encodeURIComponent(policy) + ":preview?" + q.toString(), {
        method: "POST",
        admin: true,
        body: text,
        contentType: /^\s*[{[]/.test(text) ? "application/json" : "application/yaml",
        timeoutMs: 60000,
      });
      if (mine !== generation) return;
      let result = status === 202 ? null : resultOf(body);
      if (!result) {
        const progress = (body.job && body.job.progress) || {};
        setProgress("Replaying: " + count(progress.done || 0) + " of " + count(progress.total || 0) + " images…", progress.done, progress.total);
        if (typeof body.poll !== "string") throw new ApiError("http", "The preview answered 202 without a poll URL.", status);
        result = await pollJob(samePath(body.poll), mine);
      }
      if (!result || mine !== generation) return;
      setProgress("");
      $("preview-gate").replaceChildren();
      render(result);
    } catch (err) {
      if (mine !== generation) return;
      setProgress("");
      if (needsAdmin(err)) adminGate($("preview-gate"), err, run);
      else if (err.kind === "auth") ctx.fail(err);
      else showError(err.message);
    } finally {
      if (mine === generation) setBusy(false);
    }
  }

  $("preview-form").addEventListener("submit", (e) => {
    e.preventDefault();
    run();
  });
  $("preview-cancel").addEventListener("click", () => {
    generation++;
    clearTimeout(timer);
    setBusy(false);
    setProgress("");
    showError("Stopped waiting for the preview (the job may still finish on the server).");
  });
  $("preview-file").addEventListener("change", async () => {
    const file = $("preview-file").files[0];
    if (!file) return;
    if (file.size > MAX_FILE_BYTES) {
      showError(file.name + " is " + count(file.size) + " bytes; the API takes at most " + count(MAX_FILE_BYTES) + ".");
      return;
    }
    try {
      $("preview-text").value = await file.text();
      showError("");
      if (/\.json$/i.test(file.name) && $("preview-format").value === "native" && /"(default|transports)"/.test($("preview-text").value)) {
        // A policy.json of containers/image: say so rather than let "native" refuse it.
        $("preview-format").value = "containers-policy";
      }
    } catch (err) {
      showError("Cannot read " + file.name + ": " + ((err && err.message) || err));
    }
  });

  return {
    show() {
      // The policy field's suggestions, when the overview has not made them yet.
      if (!$("policy-ids").children.length) knownPolicies().then((list) => offerPolicies(list.ids), () => {});
    },
    hide() {},
    reset() {
      generation++;
      clearTimeout(timer);
      setBusy(false);
      setProgress("");
      showError("");
      $("preview-result").hidden = true;
      $("preview-gate").replaceChildren();
    },
  };
}
