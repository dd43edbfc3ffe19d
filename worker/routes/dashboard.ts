// The verdict dashboard: a public static page at / whose script reads GET /v1/verdicts with the token a person enters.
import { Hono } from "hono";
import type { Env } from "../env";
import { DASHBOARD_JS } from "../dashboard/client";
import { DASHBOARD_ICON } from "../dashboard/icon";
import { DASHBOARD_HTML } from "../dashboard/page";
import { DASHBOARD_CSS } from "../dashboard/style";

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

const SECURITY_HEADERS: Record<string, string> = {
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

function asset(body: string, contentType: string): Response {
  return new Response(body, { headers: { ...SECURITY_HEADERS, "content-type": contentType } });
}

export const dashboardRoutes = new Hono<Env>()
  .get("/", () => asset(DASHBOARD_HTML, "text/html; charset=utf-8"))
  .get("/dashboard/app.js", () => asset(DASHBOARD_JS, "text/javascript; charset=utf-8"))
  .get("/dashboard/app.css", () => asset(DASHBOARD_CSS, "text/css; charset=utf-8"))
  .get("/dashboard/icon.svg", () => asset(DASHBOARD_ICON, "image/svg+xml; charset=utf-8"));
