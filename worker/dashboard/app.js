// The dashboard's script (served as /dashboard/app.js, a module): the token, the views and the URL.
// Each view is its own module; data reaches the DOM only via textContent.
import { createAudit } from "./audit.js";
import { createOverview } from "./overview.js";
import { createPreview } from "./preview.js";
import { $, tokens, validToken } from "./util.js";
import { createVerdicts } from "./verdicts.js";

const VIEWS = ["overview", "verdicts", "audit", "preview"];
const SECTIONS = { overview: "view-overview", verdicts: "board", audit: "view-audit", preview: "view-preview" };
const HEADINGS = { overview: "overview-title", verdicts: "verdicts-title", audit: "audit-title", preview: "preview-title" };

let current = null;

function setError(message) {
  const banner = $("error");
  banner.textContent = message || "";
  banner.hidden = !message;
}

/** Any view's error: a refused token goes back to the token form, anything else to the banner. */
function fail(err) {
  if (err && err.kind === "auth") signOut("The token was not accepted (" + err.message + "). Enter a valid token.");
  else setError((err && err.message) || String(err));
}

const ctx = { fail, setError, saveUrl, openVerdicts };
const views = {
  overview: createOverview(ctx),
  verdicts: createVerdicts(ctx),
  audit: createAudit(ctx),
  preview: createPreview(ctx),
};

/** The verdict filters as the page's query, the view as its fragment: a link reopens the same page. */
function saveUrl() {
  const query = new URLSearchParams();
  const filters = views.verdicts.params();
  Object.keys(filters).forEach((key) => {
    if (filters[key]) query.set(key, filters[key]);
  });
  const search = query.toString();
  history.replaceState(null, "", (search ? "?" + search : location.pathname) + "#" + (current || "overview"));
}

function viewFromUrl() {
  const name = location.hash.slice(1);
  if (VIEWS.includes(name)) return name;
  // Links from before the views (/?decision=deny) meant the verdict list.
  const params = new URLSearchParams(location.search);
  return ["policy", "decision", "image"].some((key) => params.has(key)) ? "verdicts" : "overview";
}

function showView(name, focus) {
  if (!tokens.main) return;
  if (current && current !== name) views[current].hide();
  current = name;
  VIEWS.forEach((view) => {
    $(SECTIONS[view]).hidden = view !== name;
  });
  document.querySelectorAll("#nav a").forEach((a) => {
    if (a.dataset.view === name) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  });
  document.title = "trustgate · " + document.querySelector('#nav a[data-view="' + name + '"]').textContent.toLowerCase();
  setError("");
  saveUrl();
  if (focus) $(HEADINGS[name]).focus();
  views[name].show();
}

function openVerdicts(filters) {
  views.verdicts.setFilters(filters);
  location.hash = "#verdicts";
}

function connect(token) {
  tokens.setMain(token);
  $("connect").hidden = true;
  $("nav").hidden = false;
  $("sign-out").hidden = false;
  setError("");
  showView(viewFromUrl(), false);
}

function signOut(message) {
  VIEWS.forEach((view) => views[view].reset());
  current = null;
  tokens.setMain(null);
  tokens.setAdmin(null);
  VIEWS.forEach((view) => {
    $(SECTIONS[view]).hidden = true;
  });
  $("nav").hidden = true;
  $("sign-out").hidden = true;
  $("live").hidden = true;
  $("connect").hidden = false;
  setError(message || "");
  const input = $("token-input");
  input.value = "";
  input.focus();
}

function init() {
  const params = new URLSearchParams(location.search);
  views.verdicts.setFilters({ policy: params.get("policy"), decision: params.get("decision"), image: params.get("image") });

  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    const token = $("token-input").value.trim();
    if (!validToken(token)) {
      setError("Enter the token: one word, no spaces.");
      return;
    }
    $("token-input").value = "";
    connect(token);
  });
  $("sign-out").addEventListener("click", () => signOut(""));
  // A view chosen from the navigation (a link: Enter works, and so does the history) gets the focus on its heading.
  window.addEventListener("hashchange", () => {
    const name = location.hash.slice(1);
    if (VIEWS.includes(name) && name !== current) showView(name, true);
  });

  if (tokens.main) connect(tokens.main);
  else signOut("");
}

init();
