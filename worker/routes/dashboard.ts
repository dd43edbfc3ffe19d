// The dashboard: a public static page at / whose scripts read the API (stats, verdicts, audit,
// policy previews) with the token a person enters. The files are in worker/dashboard/ and are bundled as text (wrangler.toml
// [[rules]]): the Worker serves them itself, so no assets router sits in front of the API.
import { Hono } from "../hono";
import type { Env } from "../env";
// The script and stylesheet as built by scripts/build-dashboard.mjs (one minified module).
import DASHBOARD_CSS from "../dashboard/build/app.css";
import DASHBOARD_JS from "../dashboard/build/app.js";
import DASHBOARD_ICON from "../dashboard/icon.svg";
import DASHBOARD_HTML from "../dashboard/index.html";

/**
 * Nothing but this origin's own script, stylesheet and icon; fetches only to this origin; no
 * inline script or style, no framing, no forms posting anywhere, and Trusted Types so that no
 * string can ever be assigned as HTML.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "require-trusted-types-for 'script'",
  "trusted-types 'none'",
].join("; ");

const SECURITY_HEADERS: Readonly<Record<string, string>> = {
  "content-security-policy": DASHBOARD_CSP,
  "x-content-type-options": "nosniff",
  "x-frame-options": "DENY",
  "referrer-policy": "no-referrer",
  "cross-origin-opener-policy": "same-origin",
  "cross-origin-resource-policy": "same-origin",
  "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
  "x-robots-tag": "noindex",
  // Small files; revalidated each time so a deploy is seen at once.
  "cache-control": "no-cache",
};

interface File {
  readonly body: string;
  readonly type: string;
  /** Strong validator of the body, computed on first use: the files only change with a deploy. */
  etag?: Promise<string>;
}

const FILES: Readonly<Record<string, File>> = {
  "/": { body: DASHBOARD_HTML, type: "text/html; charset=utf-8" },
  // The views and helpers of worker/dashboard/*.js, bundled into this one module.
  "/dashboard/app.js": { body: DASHBOARD_JS, type: "text/javascript; charset=utf-8" },
  "/dashboard/app.css": { body: DASHBOARD_CSS, type: "text/css; charset=utf-8" },
  "/dashboard/icon.svg": { body: DASHBOARD_ICON, type: "image/svg+xml" },
};

async function etagOf(body: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(body)));
  return `"${[...digest.subarray(0, 12)].map((b) => b.toString(16).padStart(2, "0")).join("")}"`;
}

/** The file with its security headers; 304 when the browser already has this version (no-cache revalidates). */
async function serve(file: File, ifNoneMatch: string | undefined): Promise<Response> {
  file.etag ??= etagOf(file.body);
  const etag = await file.etag;
  const headers = { ...SECURITY_HEADERS, "content-type": file.type, etag };
  const known = ifNoneMatch?.split(",").some((t) => t.trim().replace(/^W\//, "") === etag) ?? false;
  return known ? new Response(null, { status: 304, headers }) : new Response(file.body, { headers });
}

export const dashboardRoutes = new Hono<Env>();
for (const [path, file] of Object.entries(FILES)) {
  dashboardRoutes.get(path, (c) => serve(file, c.req.header("if-none-match")));
}
