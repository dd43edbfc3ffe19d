// The dashboard's shared helpers: DOM nodes made from text only, formats, the tokens and the one API client.

export const REQUEST_TIMEOUT_MS = 15000;
const TOKEN_KEY = "trustgate.dashboard.token";
const ADMIN_KEY = "trustgate.dashboard.admin";

export function $(id) {
  return document.getElementById(id);
}

/** An element with a class and text; never HTML (the CSP's Trusted Types would refuse it anyway). */
export function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

const SVG_NS = "http://www.w3.org/2000/svg";

/** An SVG element with attributes (presentation attributes, never a style attribute). */
export function svg(tag, attrs, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs || {})) node.setAttribute(name, String(value));
  if (text !== undefined && text !== null) node.textContent = String(text);
  return node;
}

// ------------------------------------------------------------ formats

export const timeFormat = new Intl.DateTimeFormat(undefined, { hour: "2-digit", minute: "2-digit", second: "2-digit", hourCycle: "h23" });
const dayFormat = new Intl.DateTimeFormat(undefined, { month: "short", day: "numeric" });
const fullFormat = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium", hourCycle: "h23" });
const numberFormat = new Intl.NumberFormat(undefined);

export function when(iso) {
  const d = new Date(iso);
  if (isNaN(d.getTime())) return String(iso);
  const sameDay = d.toDateString() === new Date().toDateString();
  return sameDay ? timeFormat.format(d) : dayFormat.format(d) + " " + timeFormat.format(d);
}

export function whenFull(iso) {
  const d = new Date(iso);
  return isNaN(d.getTime()) ? String(iso) : fullFormat.format(d) + " (" + iso + ")";
}

export function count(n) {
  return typeof n === "number" && isFinite(n) ? numberFormat.format(n) : "–";
}

export function plural(n, one, many) {
  return count(n) + " " + (n === 1 ? one : many);
}

export function percent(ratio) {
  return typeof ratio === "number" && isFinite(ratio) ? Math.round(ratio * 1000) / 10 + " %" : "–";
}

export function shortDigest(digest) {
  if (!digest) return "—";
  const i = digest.indexOf(":");
  return i < 0 ? digest.slice(0, 19) : digest.slice(0, i + 13);
}

/** A reference with its digest cut to 12 hex digits, for a narrow column (the title keeps it whole). */
export function shortRef(reference) {
  return String(reference).replace(/@(sha256|sha512):([0-9a-f]{12})[0-9a-f]+$/, "@$1:$2…");
}

export function show(value) {
  if (value === null || value === undefined) return "—";
  return typeof value === "string" ? value : JSON.stringify(value);
}

export function decisionBadge(decision) {
  const allow = decision === "allow";
  const known = allow || decision === "deny";
  return el("span", "badge badge-" + (known ? decision : "error"), known ? (allow ? "Allow" : "Deny") : String(decision || "error"));
}

/** dt/dd pairs into a <dl>. */
export function addField(list, name, value, mono) {
  list.appendChild(el("dt", null, name));
  list.appendChild(el("dd", mono ? "mono" : null, show(value)));
}

// ------------------------------------------------------------ tokens

/** The token entered at the start, and an admin token entered later for the admin views. */
export const tokens = {
  main: read(TOKEN_KEY),
  admin: read(ADMIN_KEY),
  setMain(token) {
    this.main = token;
    write(TOKEN_KEY, token);
  },
  setAdmin(token) {
    this.admin = token;
    write(ADMIN_KEY, token);
  },
};

function read(key) {
  try {
    return sessionStorage.getItem(key);
  } catch {
    return null;
  }
}

function write(key, value) {
  try {
    if (value) sessionStorage.setItem(key, value);
    else sessionStorage.removeItem(key);
  } catch {
    /* storage disabled: the token lives in memory for this page only */
  }
}

/** A token as a person types it: one word, no spaces. */
export function validToken(text) {
  return Boolean(text) && !/\s/.test(text);
}

// ------------------------------------------------------------ the API

export class ApiError extends Error {
  /** kind: "network" | "auth" (401) | "forbidden" (403) | "http" */
  constructor(kind, message, status, code) {
    super(message);
    this.kind = kind;
    this.status = status;
    this.code = code || null;
  }
}

/**
 * One call to this origin's API with a bearer token (the admin one for `admin: true` when entered);
 * JSON back, or an ApiError that says what went wrong in words a person can act on.
 */
export async function api(path, options = {}) {
  const token = options.admin ? tokens.admin || tokens.main : tokens.main;
  const headers = { Authorization: "Bearer " + token, Accept: "application/json" };
  if (options.contentType) headers["Content-Type"] = options.contentType;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs || REQUEST_TIMEOUT_MS);
  let res;
  let text;
  try {
    res = await fetch(path, {
      method: options.method || "GET",
      headers,
      body: options.body,
      cache: "no-store",
      credentials: "omit",
      redirect: "error",
      signal: controller.signal,
    });
    text = await res.text();
  } catch (err) {
    const why = controller.signal.aborted ? "no answer within " + (options.timeoutMs || REQUEST_TIMEOUT_MS) / 1000 + " s" : (err && err.message) || String(err);
    throw new ApiError("network", "Cannot reach trustgate: " + why + ".", 0);
  } finally {
    clearTimeout(timer);
  }
  let body = null;
  try {
    body = JSON.parse(text);
  } catch {
    body = null;
  }
  if (res.status < 200 || res.status > 299) {
    const error = body && body.error ? body.error : {};
    const message = "HTTP " + res.status + (error.code ? " " + error.code : "") + (error.message ? ": " + error.message : "");
    const kind = res.status === 401 ? "auth" : res.status === 403 ? "forbidden" : "http";
    throw new ApiError(kind, message, res.status, error.code);
  }
  if (!body || typeof body !== "object") throw new ApiError("http", "Unexpected answer from " + path.split("?")[0] + " (HTTP " + res.status + ", not JSON).", res.status);
  return { status: res.status, body };
}

/** The policy IDs offered by the forms' policy fields (<datalist id="policy-ids">). */
export function offerPolicies(ids) {
  $("policy-ids").replaceChildren(
    ...ids.map((id) => {
      const o = el("option");
      o.value = id;
      return o;
    }),
  );
}

/** The policies this token can name: the list for an admin token, else those seen in the latest verdicts. */
export async function knownPolicies() {
  try {
    const { body } = await api("/v1/policies", { admin: true });
    if (Array.isArray(body.policies)) return { ids: body.policies.map((p) => p.id).filter(Boolean), source: "policies" };
  } catch (err) {
    if (err.kind !== "forbidden" && err.kind !== "auth") throw err;
  }
  const { body } = await api("/v1/verdicts?limit=100");
  const ids = new Set();
  (Array.isArray(body.verdicts) ? body.verdicts : []).forEach((v) => v.policy && v.policy.id && ids.add(v.policy.id));
  return { ids: [...ids].sort(), source: "verdicts" };
}

/**
 * The admin views' answer to a 403 (or a refused admin token): says why and asks for an admin
 * token for this tab; `retry` runs once one is entered.
 */
export function adminGate(container, err, retry) {
  const box = el("form", "card admin-gate");
  box.autocomplete = "off";
  const heading = el("h2", null, "This view needs an admin token");
  box.appendChild(heading);
  box.appendChild(
    el(
      "p",
      "muted",
      (err.kind === "auth" ? "The admin token was not accepted (" + err.message + "). " : "The token in use is a client token (" + err.message + "). ") +
        "Enter an admin token to use this view; it is kept in this tab like the other token.",
    ),
  );
  const id = container.id + "-token";
  const label = el("label", null, "Admin token");
  label.htmlFor = id;
  const row = el("div", "token-row");
  const input = el("input");
  input.id = id;
  input.type = "password";
  input.autocomplete = "off";
  input.spellcheck = false;
  input.required = true;
  const button = el("button", "btn btn-primary", "Use admin token");
  button.type = "submit";
  row.append(input, button);
  const problem = el("p", "form-error");
  problem.setAttribute("role", "alert");
  box.append(label, row, problem);
  box.addEventListener("submit", (e) => {
    e.preventDefault();
    const token = input.value.trim();
    if (!validToken(token)) {
      problem.textContent = "Enter the admin token: one word, no spaces.";
      return;
    }
    tokens.setAdmin(token);
    container.replaceChildren();
    retry();
  });
  container.replaceChildren(box);
  input.focus();
}

/**
 * Whether an admin call's error asks for an admin token: a 403 (the token is a client token), or a
 * 401 for an admin token entered apart from the main one (then that one is forgotten, not the main).
 */
export function needsAdmin(err) {
  if (err.kind === "forbidden") return true;
  if (err.kind === "auth" && tokens.admin && tokens.admin !== tokens.main) {
    tokens.setAdmin(null);
    return true;
  }
  return false;
}
