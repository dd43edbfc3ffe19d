// End to end: the dashboard in real headless Chromium against the real Worker: token, rows, totals, filters, detail, live updates.
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, startWorker, type WorkerHandle } from "./lab/worker";
import { callApi, type ApiVerdict as Verdict } from "./lab/api";

const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/** DASHBOARD_SCREENSHOT=1 writes docs/dashboard.png (the README's picture); otherwise a temp dir gets it. */
const SCREENSHOT_TO_DOCS = process.env.DASHBOARD_SCREENSHOT === "1";

// Digests that look like real ones (the screenshot shows them); any 64 hex digits will do, no registry is asked.
const hex = (n: number) => createHash("sha256").update(`dashboard-e2e-${n}`).digest("hex");
const img = (name: string, n: number) => `${name}@sha256:${hex(n)}`;
const BUSYBOX_MESSAGE = "busybox is not allowed in production; use the distroless base";

describe("dashboard in Chromium", () => {
  let worker: WorkerHandle;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let shots: string;
  const pageErrors: string[] = [];
  const offLoopback: string[] = [];
  const verdictRequests: URL[] = [];

  async function api(method: string, path: string, token: string, body?: unknown): Promise<any> {
    const { status, json } = await callApi(worker.url, method, path, token, body);
    if (status >= 400) throw new Error(`${method} ${path}: HTTP ${status} ${JSON.stringify(json)}`);
    return json;
  }

  /** Verdicts are recorded just after the response (waitUntil): wait until the history has them. */
  async function waitForHistory(count: number): Promise<Verdict[]> {
    for (let i = 0; i < 100; i++) {
      const { verdicts } = await api("GET", "/v1/verdicts?limit=100", worker.clientToken);
      if (verdicts.length >= count) return verdicts;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`the history never reached ${count} verdicts`);
  }

  const rows = () => page.locator("#verdict-rows tr");
  const text = (selector: string) => page.locator(selector).innerText();
  const totals = async () => ({ shown: await text("#total-shown"), allow: await text("#total-allow"), deny: await text("#total-deny") });

  beforeAll(async () => {
    worker = await startWorker();
    shots = await mkdtemp(join(tmpdir(), "trustgate-dashboard-"));
    await api("PUT", "/v1/policies/web", worker.adminToken, {
      rules: [
        { pattern: "docker.io/library/*", require: [{ type: "allow" }] },
        { pattern: "docker.io/library/busybox", require: [{ type: "deny", message: BUSYBOX_MESSAGE }] },
      ],
    });
    await api("PUT", "/v1/policies/jobs", worker.adminToken, {
      rules: [{ pattern: "docker.io/library/alpine", require: [{ type: "allow" }] }],
    });
    await api("PUT", "/v1/policies/staging", worker.adminToken, {
      mode: "audit",
      rules: [{ pattern: "ghcr.io/acme/*", require: [{ type: "deny", message: "acme images must be signed before staging" }] }],
    });
    // 7 verdicts: allowed nginx, redis, alpine, ghcr.io/acme/api (audit); denied busybox twice and the miner.
    await api("POST", "/v1/decisions:batch", worker.clientToken, {
      policy: "web",
      images: [img("nginx", 1), img("redis:7.2", 2), img("busybox", 3)],
      context: { namespace: "payments", pipeline: "deploy-7" },
    });
    await api("POST", "/v1/decisions", worker.clientToken, { policy: "jobs", image: img("alpine", 4) });
    await api("POST", "/v1/decisions", worker.clientToken, { policy: "jobs", image: "quay.io/evil/miner:latest" });
    await api("POST", "/v1/decisions", worker.clientToken, { policy: "staging", image: img("ghcr.io/acme/api", 5) });
    await api("POST", "/v1/decisions", worker.clientToken, { policy: "web", image: img("busybox", 6), context: { namespace: "batch" } });
    await waitForHistory(7);

    browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: CHROMIUM_ARGS });
    context = await browser.newContext({ viewport: { width: 1280, height: 760 }, locale: "en-US", timezoneId: "UTC" });
    // The browser talks to the loopback Worker and nothing else.
    await context.route(
      (url) => !["127.0.0.1", "localhost", "[::1]"].includes(url.hostname),
      async (route) => {
        offLoopback.push(route.request().url());
        await route.abort();
      },
    );
    // CSP violations are reported as events; collect them all.
    await context.addInitScript(() => {
      (window as unknown as { __violations: string[] }).__violations = [];
      document.addEventListener("securitypolicyviolation", (e) => {
        (window as unknown as { __violations: string[] }).__violations.push(`${e.violatedDirective}: ${e.blockedURI}`);
      });
    });
    page = await context.newPage();
    page.on("pageerror", (err) => pageErrors.push(err.message));
    page.on("request", (request) => {
      const url = new URL(request.url());
      if (url.pathname === "/v1/verdicts") verdictRequests.push(url);
    });
  });

  afterAll(async () => {
    await browser?.close();
    await worker?.stop();
    if (shots) await rm(shots, { recursive: true, force: true });
  });

  it("serves the page without auth, with a strict CSP, and asks for a token", async () => {
    const response = await page.goto(`${worker.url}/`);
    expect(response?.status()).toBe(200);
    const csp = response?.headers()["content-security-policy"] ?? "";
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain("unsafe-inline");
    await expect.poll(() => page.locator("#connect").isVisible()).toBe(true);
    expect(await page.locator("#board").isVisible()).toBe(false);
    await page.screenshot({ path: join(shots, "connect.png") });
  });

  it("shows a rejected token's 401 and keeps asking", async () => {
    await page.fill("#token-input", "not-the-token");
    await page.click("#connect-button");
    await expect.poll(() => page.locator("#error").isVisible()).toBe(true);
    expect(await text("#error")).toContain("HTTP 401 UNAUTHORIZED");
    expect(await page.locator("#connect").isVisible()).toBe(true);
    expect(await page.evaluate(() => sessionStorage.getItem("trustgate.dashboard.token"))).toBeNull();
  });

  it("lists the recent verdicts with totals once the client token is entered", async () => {
    await page.fill("#token-input", worker.clientToken);
    await page.click("#connect-button");
    await expect.poll(() => rows().count()).toBe(7);
    expect(await page.locator("#error").isVisible()).toBe(false);
    expect(await totals()).toEqual({ shown: "7", allow: "4", deny: "3" });
    // The token is kept for this tab only.
    expect(await page.evaluate(() => sessionStorage.getItem("trustgate.dashboard.token"))).toBe(worker.clientToken);

    // Newest first, as the API gives them; the cells show what the API says.
    const history = await waitForHistory(7);
    expect(await rows().evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.id))).toEqual(history.map((v) => v.id));
    const newest = rows().first();
    expect(await newest.getAttribute("data-image")).toBe(img("busybox", 6));
    const cells = await newest.locator("td").allInnerTexts();
    expect(cells[1]).toContain("Deny");
    expect(cells[2]).toBe("busybox");
    expect(cells[3]).toBe(`sha256:${hex(6).slice(0, 12)}`);
    expect(cells[4]).toBe("web");
    expect(cells[5]).toContain("STATIC_DENY");
    expect(cells[5]).toContain(BUSYBOX_MESSAGE);
    expect(cells[0]).toMatch(/^\d\d:\d\d:\d\d$/);

    const miner = page.locator('#verdict-rows tr[data-image="quay.io/evil/miner:latest"] td');
    expect(await miner.nth(3).innerText()).toBe("—");
    expect(await miner.nth(5).innerText()).toContain("NO_MATCHING_RULE");
    const audited = page.locator(`#verdict-rows tr[data-image="${img("ghcr.io/acme/api", 5)}"] td`);
    expect(await audited.nth(1).innerText()).toMatch(/Allow\s*audit/i);
    await expect.poll(() => page.locator("#live").getAttribute("data-state")).toBe("live");
  });

  it("filters by decision=deny through the API's query", async () => {
    verdictRequests.length = 0;
    await page.selectOption("#filter-decision", "deny");
    await expect.poll(() => rows().count()).toBe(3);
    expect(await rows().evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.decision))).toEqual(["deny", "deny", "deny"]);
    expect(await totals()).toEqual({ shown: "3", allow: "0", deny: "3" });
    expect(verdictRequests.some((u) => u.searchParams.get("decision") === "deny")).toBe(true);
    expect(new URL(page.url()).searchParams.get("decision")).toBe("deny");
  });

  it("opens a denied verdict and shows every reason and the context", async () => {
    await page.click(`#verdict-rows tr[data-image="${img("busybox", 3)}"]`);
    const dialog = page.locator("#detail");
    await expect.poll(() => dialog.isVisible()).toBe(true);
    expect(await text("#detail-title")).toBe(img("busybox", 3));
    expect(await text("#detail-decision")).toBe("Deny");
    const reasons = page.locator("#detail-reasons li");
    expect(await reasons.count()).toBe(1);
    expect(await reasons.first().locator(".reason-code").innerText()).toBe("STATIC_DENY");
    expect(await reasons.first().locator(".reason-message").innerText()).toBe(BUSYBOX_MESSAGE);
    const fields = await text("#detail-fields");
    expect(fields).toContain(`sha256:${hex(3)}`);
    expect(fields).toContain("docker.io/library/busybox");
    const contextText = await text("#detail-context");
    expect(contextText).toMatch(/namespace\s+payments/);
    expect(contextText).toMatch(/pipeline\s+deploy-7/);
    await page.screenshot({ path: join(shots, "detail.png") });
    await page.click("#detail-close");
    await expect.poll(() => dialog.isVisible()).toBe(false);
  });

  it("filters by policy and by image", async () => {
    await page.selectOption("#filter-decision", "");
    await page.fill("#filter-policy", "jobs");
    await page.click("#filters button[type=submit]");
    await expect.poll(() => rows().evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.image))).toEqual([
      "quay.io/evil/miner:latest",
      img("alpine", 4),
    ]);
    expect(await totals()).toEqual({ shown: "2", allow: "1", deny: "1" });

    await page.fill("#filter-policy", "");
    await page.fill("#filter-image", "busybox");
    await page.press("#filter-image", "Enter");
    await expect.poll(() => rows().evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.image))).toEqual([
      img("busybox", 6),
      img("busybox", 3),
    ]);

    // The API's 400 for a bad filter is shown, not swallowed.
    await page.fill("#filter-image", "Not/A/Valid/Ref");
    await page.press("#filter-image", "Enter");
    await expect.poll(() => page.locator("#error").isVisible()).toBe(true);
    expect(await text("#error")).toContain("HTTP 400 INVALID_REFERENCE");

    await page.click("#filters-clear");
    await expect.poll(() => rows().count()).toBe(7);
    expect(await page.locator("#error").isVisible()).toBe(false);
  });

  it("looks right (screenshot)", async () => {
    const path = SCREENSHOT_TO_DOCS ? join(REPO_ROOT, "docs", "dashboard.png") : join(shots, "dashboard.png");
    await mkdir(join(path, ".."), { recursive: true });
    await page.mouse.move(0, 0);
    await page.setViewportSize({ width: 1280, height: 640 });
    await page.screenshot({ path });
    await page.setViewportSize({ width: 1280, height: 760 });
    const violations = await page.evaluate(() => (window as unknown as { __violations: string[] }).__violations);
    expect(violations).toEqual([]);
    expect(pageErrors).toEqual([]);
  });

  it("shows a new verdict without a reload", async () => {
    await page.selectOption("#filter-decision", "deny");
    await expect.poll(() => rows().count()).toBe(3);
    await page.evaluate(() => {
      (window as unknown as { __sameDocument: boolean }).__sameDocument = true;
    });
    const navigations: string[] = [];
    page.on("framenavigated", (frame) => navigations.push(frame.url()));

    await api("POST", "/v1/decisions", worker.clientToken, { policy: "web", image: img("busybox", 7) });
    // An allow made at the same time stays out of the deny view.
    await api("POST", "/v1/decisions", worker.clientToken, { policy: "web", image: img("nginx", 8) });

    await expect
      .poll(() => rows().first().getAttribute("data-image"), { timeout: 20_000, interval: 250 })
      .toBe(img("busybox", 7));
    expect(await rows().count()).toBe(4);
    expect(await rows().first().getAttribute("class")).toContain("is-new");
    expect(await totals()).toEqual({ shown: "4", allow: "0", deny: "4" });
    expect(await page.locator('#verdict-rows tr[data-decision="allow"]').count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument)).toBe(true);
    expect(navigations).toEqual([]);
    expect(await page.locator("#live").getAttribute("data-state")).toBe("live");
    expect(await text("#live")).toContain("Live");
  });

  it("shows a network error when the service goes away, keeping the rows", async () => {
    await worker.stop();
    await expect.poll(() => page.locator("#live").getAttribute("data-state"), { timeout: 20_000, interval: 250 }).toBe("offline");
    expect(await text("#error")).toContain("Cannot reach trustgate");
    expect(await rows().count()).toBe(4);
    expect(pageErrors).toEqual([]);
    expect(offLoopback).toEqual([]);
  });
});
