// End to end: the dashboard in real headless Chromium against the real Worker: token, overview charts
// from the recorded verdicts, the verdict list and detail, the policy audit, a policy change preview,
// the keyboard, live updates, and a CSP that is never violated.
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { REPO_ROOT, startWorker, type WorkerHandle } from "./lab/worker";
import { callApi, type ApiVerdict as Verdict } from "./lab/api";
import { executeD1 } from "./lab/d1";
import { freePort } from "./lab/ports";
import { decidingCode } from "../../src/stats";
import type { Reason } from "../../src/reasons";

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

/** DASHBOARD_SCREENSHOT=1 writes docs/dashboard*.png (the README's and docs/dashboard.md's pictures); otherwise a temp dir gets them. */
const SCREENSHOT_TO_DOCS = process.env.DASHBOARD_SCREENSHOT === "1";

// Digests that look like real ones (the screenshots show them); any 64 hex digits will do, no registry is asked.
const hex = (n: number) => createHash("sha256").update(`dashboard-e2e-${n}`).digest("hex");
const img = (name: string, n: number) => `${name}@sha256:${hex(n)}`;
const BUSYBOX_MESSAGE = "busybox is not allowed in production; use the distroless base";
const MINER = "quay.io/evil/miner:latest";
const HOUR = 3600_000;
const DAY = 24 * HOUR;
/** Markup in a context value: it must show as text and never become an element. */
const MARKUP = '<img src="/x" onerror="window.__pwned = 1">';

/**
 * Verdicts recorded hours ago, as copies of the live ones (same rows but for time and ID): the
 * decision API records only "now", so these go into D1 directly. [source image, hours ago, copies, cached]
 */
const EARLIER: readonly [string, number, number, boolean][] = [
  [img("nginx", 1), 2, 3, true],
  [img("busybox", 3), 2, 1, false],
  [img("redis:7.2", 2), 5, 2, false],
  [MINER, 9, 2, false],
  [img("busybox", 3), 30, 1, false],
];

const sql = (value: string | number | null) => (value === null ? "NULL" : typeof value === "number" ? String(value) : `'${value.replace(/'/g, "''")}'`);

/** registry/path of a canonical reference, as the verdict log keeps it. */
const repositoryOf = (reference: string) => reference.replace(/@.*$/, "").replace(/:[^/:]*$/, "");

describe("dashboard in Chromium", () => {
  let worker: WorkerHandle;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let shots: string;
  /** Every verdict in the history, newest first, once seeded. */
  let history: (Verdict & { context?: Record<string, unknown> | null })[] = [];
  /** A registry nobody listens on: a cosign rule for it denies with REGISTRY_UNREACHABLE (an upstream error). */
  let downRegistry: string;
  let app: string;
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

  async function recordEarlier(live: Verdict[]): Promise<void> {
    const rows: string[] = [];
    for (const [image, hoursAgo, copies, cached] of EARLIER) {
      const v = live.find((x) => x.image === image) as Verdict & { source: string; context: unknown };
      for (let i = 0; i < copies; i++) {
        const ms = Date.now() - hoursAgo * HOUR - i * 60_000;
        const id = `${ms.toString(36).padStart(9, "0")}${randomBytes(6).toString("hex")}`;
        rows.push(
          `(${[
            id, new Date(ms).toISOString(), ms, v.image, v.reference, repositoryOf(v.reference), v.digest, v.policy.id, v.policy.revision,
            v.decision, v.mode, v.rule, cached ? 1 : 0, JSON.stringify(v.reasons), v.context ? JSON.stringify(v.context) : null, v.source,
            decidingCode(v.decision, v.reasons as unknown as Reason[]), null,
          ].map(sql).join(", ")})`,
        );
      }
    }
    await executeD1(
      worker,
      `INSERT INTO verdicts (id, evaluated_at, evaluated_ms, image, reference, repository, digest, policy_id, policy_revision, decision, mode, rule, cached, reasons, context, source, code, upstream_host) VALUES ${rows.join(", ")}`,
    );
  }

  /** Allowed and denied per bucket start (ISO), from the history: what a chart must show. */
  function expectedBuckets(size: number, from: number, policy?: string): Map<string, { allow: number; deny: number }> {
    const buckets = new Map<string, { allow: number; deny: number }>();
    for (const v of history) {
      const t = Date.parse(v.evaluatedAt);
      if (t < from || (policy && v.policy.id !== policy)) continue;
      const start = new Date(Math.floor(t / size) * size).toISOString();
      const b = buckets.get(start) ?? { allow: 0, deny: 0 };
      b[v.decision]++;
      buckets.set(start, b);
    }
    return buckets;
  }

  /** The counts a chart shows, per bucket start, read from its focusable bars. */
  async function chartBuckets(selector: string): Promise<{ start: string; allow: number; deny: number; label: string }[]> {
    return page.locator(`${selector} g.bucket`).evaluateAll((gs) =>
      gs.map((g) => ({
        start: (g as SVGGElement).dataset.start!,
        allow: Number((g as SVGGElement).dataset.allow),
        deny: Number((g as SVGGElement).dataset.deny),
        label: g.getAttribute("aria-label")!,
      })),
    );
  }

  /** The chart must equal the history: every bucket with verdicts, zero elsewhere. */
  async function expectChart(selector: string, size: number, n: number, policy?: string): Promise<void> {
    const bars = await chartBuckets(selector);
    expect(bars).toHaveLength(n);
    const from = Date.parse(bars[0]!.start);
    const expected = expectedBuckets(size, from, policy);
    expect(Object.fromEntries(bars.filter((b) => b.allow + b.deny > 0).map((b) => [b.start, { allow: b.allow, deny: b.deny }]))).toEqual(
      Object.fromEntries(expected),
    );
    for (const bar of bars) expect(bar.label).toMatch(new RegExp(`: ${bar.allow} allowed, ${bar.deny} denied$`));
  }

  async function shot(name: string, options: { fullPage?: boolean } = {}): Promise<void> {
    const path = SCREENSHOT_TO_DOCS ? join(REPO_ROOT, "docs", `${name}.png`) : join(shots, `${name}.png`);
    await mkdir(join(path, ".."), { recursive: true });
    await page.mouse.move(0, 0);
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path, ...options });
  }

  const rows = () => page.locator("#verdict-rows tr");
  const text = (selector: string) => page.locator(selector).innerText();
  const totals = async () => ({ shown: await text("#total-shown"), allow: await text("#total-allow"), deny: await text("#total-deny") });
  const violations = () => page.evaluate(() => (window as unknown as { __violations: string[] }).__violations);
  const focused = () =>
    page.evaluate(() => {
      const a = document.activeElement as HTMLElement | null;
      return a ? { tag: a.tagName.toLowerCase(), id: a.id, cls: a.getAttribute("class") ?? "", text: (a.textContent ?? "").trim().slice(0, 80), data: { ...a.dataset } } : null;
    });
  /** The focused element's focus indicator: its outline, or (an SVG bar) its focus ring's stroke. */
  const focusIndicator = () =>
    page.evaluate(() => {
      const a = document.activeElement as Element;
      const ring = a.classList.contains("bucket") ? a.querySelector(".bucket-focus") : null;
      if (ring) return { kind: "stroke", width: parseFloat(getComputedStyle(ring).strokeWidth), visible: getComputedStyle(ring).stroke !== "none" };
      const s = getComputedStyle(a);
      return { kind: "outline", width: parseFloat(s.outlineWidth), visible: s.outlineStyle !== "none" };
    });
  /**
   * Text whose contrast with what lies behind it is under WCAG AA (4.5:1, or 3:1 for large text),
   * for every visible element with text of its own in the view; backgrounds blended up the tree.
   */
  const contrastFailures = (root: string) =>
    page.evaluate((selector) => {
      const parse = (c: string): number[] | null => {
        const m = /^rgba?\(([^)]+)\)$/.exec(c) ?? /^color\(srgb ([^)]+)\)$/.exec(c);
        if (!m) return null;
        const parts = m[1]!.split(/[\s,/]+/).filter(Boolean).map(Number);
        const scale = c.startsWith("color(") ? 255 : 1;
        return [parts[0]! * scale, parts[1]! * scale, parts[2]! * scale, parts[3] ?? 1];
      };
      const over = (top: number[], bottom: number[]) => top.slice(0, 3).map((v, i) => v * top[3]! + bottom[i]! * (1 - top[3]!)).concat(1);
      const backdrop = (el: Element | null): number[] => {
        const layers: number[][] = [];
        for (let e = el; e; e = e.parentElement) {
          const bg = parse(getComputedStyle(e).backgroundColor);
          if (bg && bg[3]! > 0) layers.push(bg);
          if (bg && bg[3] === 1) break;
        }
        let color = [255, 255, 255, 1];
        if (layers.length && layers.at(-1)![3] === 1) color = layers.pop()!;
        for (const layer of layers.reverse()) color = over(layer, color);
        return color;
      };
      const lum = (c: number[]) => {
        const [r, g, b] = c.slice(0, 3).map((v) => {
          const x = v / 255;
          return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4;
        });
        return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
      };
      const failures: string[] = [];
      for (const el of Array.from(document.querySelectorAll(`${selector} *`))) {
        const own = Array.from(el.childNodes).some((n) => n.nodeType === Node.TEXT_NODE && n.textContent!.trim());
        const box = (el as HTMLElement).getBoundingClientRect?.();
        if (!own || !box || box.width === 0 || box.height === 0 || el.closest("[hidden], :disabled, .visually-hidden, svg")) continue;
        const style = getComputedStyle(el);
        if (style.visibility === "hidden") continue;
        const bg = backdrop(el);
        const fg = over(parse(style.color)!, bg);
        const [hi, lo] = [lum(fg), lum(bg)].sort((x, y) => y - x);
        const ratio = (hi! + 0.05) / (lo! + 0.05);
        const size = parseFloat(style.fontSize);
        const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
        if (ratio < (large ? 3 : 4.5)) failures.push(`${el.tagName.toLowerCase()}.${el.className} "${el.textContent!.trim().slice(0, 30)}": ${ratio.toFixed(2)}`);
      }
      return failures;
    }, root);

  async function tabTo(predicate: (f: Awaited<ReturnType<typeof focused>>) => boolean, max = 40): Promise<void> {
    for (let i = 0; i < max; i++) {
      await page.keyboard.press("Tab");
      const f = await focused();
      if (predicate(f)) return;
    }
    throw new Error(`Tab never reached the element; last focused: ${JSON.stringify(await focused())}`);
  }
  async function openView(name: string): Promise<void> {
    await page.click(`#nav a[data-view="${name}"]`);
    await expect.poll(() => page.locator(`#nav a[data-view="${name}"]`).getAttribute("aria-current")).toBe("page");
  }

  beforeAll(async () => {
    // Two images per request: a preview of more runs as a polled job, with progress.
    worker = await startWorker({ vars: { PREVIEW_IMAGES_PER_REQUEST: "2" } });
    shots = await mkdtemp(join(tmpdir(), "trustgate-dashboard-"));
    await api("PUT", "/v1/policies/web", worker.adminToken, {
      rules: [
        { pattern: "docker.io/library/*", require: [{ type: "allow" }] },
        { pattern: "docker.io/library/busybox", require: [{ type: "deny", message: BUSYBOX_MESSAGE }] },
      ],
    });
    downRegistry = `127.0.0.1:${await freePort()}`;
    app = `${downRegistry}/team/app@sha256:${hex(9)}`;
    const alice = await readFile(join(REPO_ROOT, "test/vectors/cosign/keys/alice.pub"), "utf8");
    await api("PUT", "/v1/policies/jobs", worker.adminToken, {
      rules: [
        { pattern: "docker.io/library/alpine", require: [{ type: "allow" }] },
        { pattern: `${downRegistry}/*`, require: [{ type: "cosign", keys: [{ name: "alice", key: alice }] }] },
      ],
    });
    await api("PUT", "/v1/policies/staging", worker.adminToken, {
      mode: "audit",
      rules: [{ pattern: "ghcr.io/acme/*", require: [{ type: "deny", message: "acme images must be signed before staging" }] }],
    });
    // 8 verdicts now: allowed nginx, redis, alpine, ghcr.io/acme/api (audit); denied busybox twice, the miner, the app.
    await api("POST", "/v1/decisions:batch", worker.clientToken, {
      policy: "web",
      images: [img("nginx", 1), img("redis:7.2", 2), img("busybox", 3)],
      context: { namespace: "payments", pipeline: "deploy-7" },
    });
    await api("POST", "/v1/decisions", worker.clientToken, { policy: "jobs", image: img("alpine", 4) });
    await api("POST", "/v1/decisions", worker.clientToken, { policy: "jobs", image: MINER, context: { namespace: "ci", note: MARKUP } });
    await api("POST", "/v1/decisions", worker.clientToken, { policy: "jobs", image: app, context: { namespace: "ci" } });
    await api("POST", "/v1/decisions", worker.clientToken, { policy: "staging", image: img("ghcr.io/acme/api", 5) });
    await api("POST", "/v1/decisions", worker.clientToken, { policy: "web", image: img("busybox", 6), context: { namespace: "batch" } });
    // And 9 more recorded hours ago (2, 5, 9 and 30 hours), so the charts have more than one bar.
    await recordEarlier(await waitForHistory(8));
    history = await waitForHistory(17);
    expect(history).toHaveLength(17);
    expect(history.find((v) => v.image === app)?.reasons[0]?.code).toBe("REGISTRY_UNREACHABLE");

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
    expect(await page.locator("#nav").isVisible()).toBe(false);
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

  it("opens on the overview: allowed and denied per hour, as recorded, in the chart and its table", async () => {
    await page.fill("#token-input", worker.clientToken);
    await page.press("#token-input", "Enter");
    await expect.poll(() => page.locator("#stats-chart g.bucket").count()).toBe(24);
    expect(await page.locator("#nav a[aria-current=page]").innerText()).toBe("Overview");
    expect(new URL(page.url()).hash).toBe("#overview");
    // 24 hours: all but the verdict of 30 hours ago.
    expect(await text("#stats-allow")).toBe("9");
    expect(await text("#stats-deny")).toBe("7");
    await expectChart("#stats-chart", HOUR, 24);
    const bars = await chartBuckets("#stats-chart");
    expect(bars.filter((b) => b.allow + b.deny > 0).length).toBeGreaterThanOrEqual(4);
    // The newest bar holds the 8 verdicts made by the test (unless an hour began since).
    const now = expectedBuckets(HOUR, 0).get(new Date(Math.floor(Date.now() / HOUR) * HOUR).toISOString());
    if (now) expect(bars.at(-1)).toMatchObject(now);

    // The table alternative: hidden until asked for, the same numbers.
    const toggle = page.locator("#stats-chart .chart-toggle");
    expect(await toggle.getAttribute("aria-expanded")).toBe("false");
    expect(await page.locator("#stats-chart table").isVisible()).toBe(false);
    await toggle.click();
    expect(await toggle.getAttribute("aria-expanded")).toBe("true");
    const table = await page.locator("#stats-chart table tbody tr").evaluateAll((trs) =>
      trs.map((tr) => [(tr as HTMLElement).dataset.start, ...Array.from(tr.querySelectorAll("td"), (td) => Number(td.textContent))]),
    );
    expect(table).toEqual(bars.map((b) => [b.start, b.allow, b.deny]));
    await toggle.click();
    // The SVG names itself and says what it shows.
    const svg = page.locator("#stats-chart svg");
    expect(await svg.getAttribute("role")).toBe("group");
    expect(await page.locator("#stats-chart svg title").textContent()).toBe("Verdicts of all policies");
    expect(await page.locator("#stats-chart svg desc").textContent()).toContain("in all 9 allowed and 7 denied");
    expect(await page.locator("#error").isVisible()).toBe(false);
  });

  it("shows the top denied images and reason codes, and a chart per policy", async () => {
    const images = await page.locator("#top-images tr").evaluateAll((trs) =>
      trs.map((tr) => [tr.querySelector("a")!.dataset.reference, tr.querySelector("td.num")!.textContent]),
    );
    expect(images).toEqual([
      [MINER, "3"],
      [`docker.io/library/${img("busybox", 3)}`, "2"],
      [app, "1"],
      [`docker.io/library/${img("busybox", 6)}`, "1"],
    ]);
    const reasons = Object.fromEntries(
      await page.locator("#top-reasons tr").evaluateAll((trs) => trs.map((tr) => [tr.querySelector("td")!.textContent, Number(tr.querySelector("td.num")!.textContent)])),
    );
    expect(reasons).toEqual({ NO_MATCHING_RULE: 3, STATIC_DENY: 3, REGISTRY_UNREACHABLE: 1 });
    expect(await page.locator("#upstream-empty").isVisible()).toBe(false);
    expect(await page.locator("#upstream-errors tr").allInnerTexts()).toEqual([`${downRegistry}\t1`]);
    // The verdict cache: the three copies recorded as cached are hits, the app a miss; static rules count as neither.
    expect(await text("#stats-cache")).toBe("75 %");
    expect(await text("#stats-cache-detail")).toBe("3 hits, 1 miss");

    // A client token cannot list policies: the charts are for those of the latest verdicts.
    await expect.poll(() => page.locator("#per-policy-charts figure").count()).toBe(3);
    expect(await page.locator("#per-policy-charts figure").evaluateAll((fs) => fs.map((f) => (f as HTMLElement).dataset.chart))).toEqual(["jobs", "staging", "web"]);
    expect(await text("#per-policy-note")).toContain("latest 100 verdicts");
    for (const policy of ["jobs", "staging", "web"]) await expectChart(`#per-policy-charts figure[data-chart="${policy}"]`, HOUR, 24, policy);
    await shot("dashboard-overview", { fullPage: true });
  });

  it("draws days for the 7-day window and one policy when chosen", async () => {
    await page.selectOption("#stats-range", "7d");
    await expect.poll(() => page.locator("#stats-chart g.bucket").count()).toBe(7);
    await expectChart("#stats-chart", DAY, 7);
    expect(await text("#stats-deny")).toBe("8");
    await page.selectOption("#stats-policy", "web");
    await expect.poll(() => page.locator("#stats-chart svg title").textContent()).toBe("Verdicts of policy web");
    await expectChart("#stats-chart", DAY, 7, "web");
    expect(await text("#stats-allow")).toBe("7");
    expect(await text("#stats-deny")).toBe("4");
    expect(await page.locator("#per-policy").isVisible()).toBe(false);
    await page.selectOption("#stats-policy", "");
    await page.selectOption("#stats-range", "24h");
    await expect.poll(() => page.locator("#stats-chart g.bucket").count()).toBe(24);
  });

  it("opens a top denied image's denials in the verdict list", async () => {
    await page.click(`#top-images a[data-reference="${MINER}"]`);
    await expect.poll(() => page.locator("#board").isVisible()).toBe(true);
    await expect.poll(() => rows().count()).toBe(3);
    expect(await rows().evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.image))).toEqual([MINER, MINER, MINER]);
    expect(await page.inputValue("#filter-image")).toBe(MINER);
    expect(await page.inputValue("#filter-decision")).toBe("deny");
    expect(new URL(page.url()).searchParams.get("image")).toBe(MINER);
    await page.click("#filters-clear");
    await expect.poll(() => rows().count()).toBe(17);
  });

  it("lists the recent verdicts with totals", async () => {
    expect(await page.locator("#error").isVisible()).toBe(false);
    expect(await totals()).toEqual({ shown: "17", allow: "9", deny: "8" });
    // The token is kept for this tab only.
    expect(await page.evaluate(() => sessionStorage.getItem("trustgate.dashboard.token"))).toBe(worker.clientToken);

    // Newest first, as the API gives them; the cells show what the API says.
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

    const miner = page.locator(`#verdict-rows tr[data-image="${MINER}"] td`);
    expect(await miner.nth(3).innerText()).toBe("—");
    expect(await miner.nth(5).innerText()).toContain("NO_MATCHING_RULE");
    const audited = page.locator(`#verdict-rows tr[data-image="${img("ghcr.io/acme/api", 5)}"] td`);
    expect(await audited.nth(1).innerText()).toMatch(/Allow\s*audit/i);
    await expect.poll(() => page.locator("#live").getAttribute("data-state")).toBe("live");
  });

  it("filters by decision=deny through the API's query", async () => {
    verdictRequests.length = 0;
    await page.selectOption("#filter-decision", "deny");
    await expect.poll(() => rows().count()).toBe(8);
    expect(new Set(await rows().evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.decision)))).toEqual(new Set(["deny"]));
    expect(await totals()).toEqual({ shown: "8", allow: "0", deny: "8" });
    expect(verdictRequests.some((u) => u.searchParams.get("decision") === "deny")).toBe(true);
    expect(new URL(page.url()).searchParams.get("decision")).toBe("deny");
    expect(new URL(page.url()).hash).toBe("#verdicts");
  });

  it("opens a denied verdict: every reason, the rule, the digest, the context (as text), the cached flag", async () => {
    const busybox = history.find((v) => v.image === img("busybox", 3))!;
    await page.click(`#verdict-rows tr[data-id="${busybox.id}"]`);
    const dialog = page.locator("#detail");
    await expect.poll(() => dialog.isVisible()).toBe(true);
    expect(await text("#detail-title")).toBe(img("busybox", 3));
    expect(await text("#detail-decision")).toBe("Deny");
    const reasons = page.locator("#detail-reasons li");
    expect(await reasons.count()).toBe(busybox.reasons.length);
    expect(await reasons.first().locator(".reason-code").innerText()).toBe("STATIC_DENY");
    expect(await reasons.first().locator(".reason-message").innerText()).toBe(BUSYBOX_MESSAGE);
    const fields = await text("#detail-fields");
    expect(fields).toContain(`sha256:${hex(3)}`);
    expect(fields).toContain("docker.io/library/busybox");
    expect(fields).toMatch(new RegExp(`Rule\\s+${busybox.rule}`));
    expect(fields).toMatch(/Cached\s+no/);
    expect(fields).toContain(`web @ ${busybox.policy.revision}`);
    const contextText = await text("#detail-context");
    expect(contextText).toMatch(/namespace\s+payments/);
    expect(contextText).toMatch(/pipeline\s+deploy-7/);
    await shot("dashboard-detail");
    await page.click("#detail-close");
    await expect.poll(() => dialog.isVisible()).toBe(false);

    // Markup sent as context is shown as it was sent, and never becomes an element.
    await page.click(`#verdict-rows tr[data-id="${history.find((v) => v.image === MINER)!.id}"]`);
    await expect.poll(() => dialog.isVisible()).toBe(true);
    expect(await page.locator("#detail-context dd", { hasText: "onerror" }).innerText()).toBe(MARKUP);
    expect(await page.locator("#detail-context img").count()).toBe(0);
    expect(await page.locator("#detail img").count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    await page.keyboard.press("Escape");
    await expect.poll(() => dialog.isVisible()).toBe(false);

    // An audit-mode allow: both reasons (the deny it would have been, and AUDIT_MODE).
    await page.selectOption("#filter-decision", "");
    await expect.poll(() => rows().count()).toBe(17);
    const audited = history.find((v) => v.image === img("ghcr.io/acme/api", 5))!;
    expect(audited.reasons.length).toBeGreaterThanOrEqual(2);
    await page.click(`#verdict-rows tr[data-id="${audited.id}"]`);
    await expect.poll(() => dialog.isVisible()).toBe(true);
    expect(await page.locator("#detail-reasons .reason-code").allInnerTexts()).toEqual(audited.reasons.map((r) => r.code));
    expect(await page.locator("#detail-reasons .reason-message").allInnerTexts()).toEqual(audited.reasons.map((r) => r.message));
    expect(await text("#detail-no-context")).toContain("No context");
    await page.keyboard.press("Escape");
    await expect.poll(() => dialog.isVisible()).toBe(false);

    // A verdict reused from the verdict cache says so.
    const cached = history.find((v) => v.cached)!;
    await page.click(`#verdict-rows tr[data-id="${cached.id}"]`);
    await expect.poll(() => dialog.isVisible()).toBe(true);
    expect(await text("#detail-fields")).toMatch(/Cached\s+yes/);
    await page.keyboard.press("Escape");
  });

  it("filters by policy and by image", async () => {
    await page.fill("#filter-policy", "jobs");
    await page.click("#filters button[type=submit]");
    await expect.poll(() => rows().evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.image))).toEqual([app, MINER, img("alpine", 4), MINER, MINER]);
    expect(await totals()).toEqual({ shown: "5", allow: "1", deny: "4" });

    await page.fill("#filter-policy", "");
    await page.fill("#filter-image", "busybox");
    await page.press("#filter-image", "Enter");
    await expect.poll(() => rows().evaluateAll((trs) => trs.map((tr) => (tr as HTMLElement).dataset.image))).toEqual([
      img("busybox", 6),
      img("busybox", 3),
      img("busybox", 3),
      img("busybox", 3),
    ]);

    // The API's 400 for a bad filter is shown, not swallowed.
    await page.fill("#filter-image", "Not/A/Valid/Ref");
    await page.press("#filter-image", "Enter");
    await expect.poll(() => page.locator("#error").isVisible()).toBe(true);
    expect(await text("#error")).toContain("HTTP 400 INVALID_REFERENCE");

    await page.click("#filters-clear");
    await expect.poll(() => rows().count()).toBe(17);
    expect(await page.locator("#error").isVisible()).toBe(false);
    await page.setViewportSize({ width: 1280, height: 640 });
    await shot("dashboard");
    await page.setViewportSize({ width: 1280, height: 760 });
  });

  it("shows the policy audit: asks a client token for an admin token, then lists every change", async () => {
    // One more change: web updated (a rule for redis added).
    const before = await api("GET", "/v1/policies/web", worker.adminToken);
    const updated = await api("PUT", "/v1/policies/web", worker.adminToken, {
      rules: [
        { pattern: "docker.io/library/*", require: [{ type: "allow" }] },
        { pattern: "docker.io/library/busybox", require: [{ type: "deny", message: BUSYBOX_MESSAGE }] },
        { pattern: "docker.io/library/redis", require: [{ type: "allow" }] },
      ],
    });
    await openView("audit");
    await expect.poll(() => page.locator(".admin-gate").isVisible()).toBe(true);
    expect(await text(".admin-gate")).toContain("HTTP 403 FORBIDDEN");
    // The gate takes the focus: the next key goes into the token field.
    expect((await focused())?.id).toBe("audit-gate-token");
    await page.keyboard.type(worker.adminToken);
    await page.keyboard.press("Enter");
    await expect.poll(() => page.locator("#audit-rows tr").count()).toBe(4);
    expect(await page.locator(".admin-gate").count()).toBe(0);
    const entries = await page.locator("#audit-rows tr").evaluateAll((trs) =>
      trs.map((tr) => [(tr as HTMLElement).dataset.policy, (tr as HTMLElement).dataset.action, ...Array.from(tr.querySelectorAll("td"), (td) => td.getAttribute("title") ?? td.textContent).slice(3)]),
    );
    expect(entries).toEqual([
      ["web", "update", before.revision, updated.revision, "native", "admin-1"],
      ["staging", "create", "—", expect.any(String), "native", "admin-1"],
      ["jobs", "create", "—", expect.any(String), "native", "admin-1"],
      ["web", "create", "—", before.revision, "native", "admin-1"],
    ]);
    expect(await text("#audit-rows tr:first-child")).toMatch(/Updated/);
    // The admin token stays in this tab, apart from the client token.
    expect(await page.evaluate(() => sessionStorage.getItem("trustgate.dashboard.admin"))).toBe(worker.adminToken);
    expect(await page.evaluate(() => sessionStorage.getItem("trustgate.dashboard.token"))).toBe(worker.clientToken);

    await shot("dashboard-audit");
    await page.fill("#audit-policy", "web");
    await page.press("#audit-policy", "Enter");
    await expect.poll(() => page.locator("#audit-rows tr").count()).toBe(2);
    await page.fill("#audit-policy", "");
    await page.press("#audit-policy", "Enter");
    await expect.poll(() => page.locator("#audit-rows tr").count()).toBe(4);
  });

  it("previews a policy change from an uploaded file: progress while the job runs, then the changes before and after", async () => {
    const recorded = (await waitForHistory(17)).length;
    const audit = (await api("GET", "/v1/audit", worker.adminToken)).entries.length;
    await openView("preview");
    // The policy field suggests the policies the page knows of.
    expect(await page.locator("#policy-ids option").evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value))).toEqual(["jobs", "staging", "web"]);
    await page.fill("#preview-policy", "web");
    // The candidate: nginx denied from now on, busybox allowed.
    const candidate = [
      "rules:",
      "  - pattern: docker.io/library/*",
      "    require: [{ type: allow }]",
      "  - pattern: docker.io/library/nginx",
      "    require: [{ type: deny, message: nginx is replaced by caddy }]",
      "",
    ].join("\n");
    await page.setInputFiles("#preview-file", { name: "web.yaml", mimeType: "application/yaml", buffer: Buffer.from(candidate) });
    await expect.poll(() => page.inputValue("#preview-text")).toBe(candidate);
    // Every progress text shown while it runs.
    await page.evaluate(() => {
      const seen: string[] = ((window as unknown as { __progress: string[] }).__progress = []);
      new MutationObserver(() => seen.push(document.getElementById("preview-progress-text")!.textContent!)).observe(document.getElementById("preview-progress-text")!, {
        childList: true,
        characterData: true,
        subtree: true,
      });
    });
    const answers: number[] = [];
    page.on("response", (r) => {
      if (new URL(r.url()).pathname.includes(":preview")) answers.push(r.status());
    });
    await page.click("#preview-run");
    await expect.poll(() => page.locator("#preview-result").isVisible(), { timeout: 60_000 }).toBe(true);
    // Web's window holds 4 distinct images (nginx, redis, busybox twice: one per namespace and reference):
    // more than 2 per request, so a job answered 202 and was polled to the end.
    expect(answers[0]).toBe(202);
    expect(answers.at(-1)).toBe(200);
    const progress = await page.evaluate(() => (window as unknown as { __progress: string[] }).__progress);
    expect(progress.some((p) => /^Replaying: \d+ of 4 images/.test(p))).toBe(true);
    expect(await page.locator("#preview-progress").isVisible()).toBe(false);

    expect(await text("#preview-newly-denied")).toBe("1");
    expect(await text("#preview-newly-allowed")).toBe("2");
    expect(await text("#preview-unchanged")).toBe("1");
    expect(await text("#preview-errors")).toBe("0");
    const changes = await page.locator("#preview-changes tr").evaluateAll((trs) =>
      trs.map((tr) => ({ ...(tr as HTMLElement).dataset })),
    );
    expect(changes).toEqual([
      { kind: "newly-denied", reference: `docker.io/library/${img("nginx", 1)}`, before: "allow", after: "deny" },
      { kind: "newly-allowed", reference: `docker.io/library/${img("busybox", 6)}`, before: "deny", after: "allow" },
      { kind: "newly-allowed", reference: `docker.io/library/${img("busybox", 3)}`, before: "deny", after: "allow" },
    ]);
    const nginx = page.locator("#preview-changes tr").first();
    const cells = await nginx.locator("td").allInnerTexts();
    expect(cells[0]).toMatch(/newly denied/i);
    expect(cells[1]).toMatch(/namespace\s+payments/);
    expect(cells[2]).toContain("Allow");
    expect(cells[3]).toContain("Deny");
    expect(cells[3]).toContain("STATIC_DENY");
    expect(cells[3]).toContain("nginx is replaced by caddy");
    expect(await text("#preview-facts")).toContain("4 distinct images from 11 verdicts");
    await shot("dashboard-preview", { fullPage: true });

    // Nothing was recorded or changed.
    expect((await waitForHistory(0)).length).toBe(recorded);
    expect((await api("GET", "/v1/audit", worker.adminToken)).entries.length).toBe(audit);
  });

  it("shows an invalid candidate's 400 beside the form", async () => {
    await page.fill("#preview-text", "rules:\n  - pattern: docker.io/library/*\n    require: [{ type: nonsense }]\n");
    await page.click("#preview-run");
    await expect.poll(() => page.locator("#preview-error").isVisible()).toBe(true);
    expect(await text("#preview-error")).toMatch(/^HTTP 400 /);
    expect(await text("#preview-error")).toContain("rules[0]");
    expect(await page.locator("#preview-result").isVisible()).toBe(false);
  });

  it("meets WCAG AA contrast in every view, in the light and the dark theme", async () => {
    for (const scheme of ["light", "dark"] as const) {
      await page.emulateMedia({ colorScheme: scheme });
      expect((await contrastFailures("#view-preview")).join("\n"), `preview, ${scheme}`).toBe("");
      await openView("audit");
      await expect.poll(() => page.locator("#audit-rows tr").count()).toBe(4);
      expect((await contrastFailures("#view-audit")).join("\n"), `audit, ${scheme}`).toBe("");
      await openView("verdicts");
      await expect.poll(() => rows().count()).toBe(17);
      expect((await contrastFailures("#board")).join("\n"), `verdicts, ${scheme}`).toBe("");
      expect((await contrastFailures("header")).join("\n"), `header, ${scheme}`).toBe("");
      await rows().first().click();
      await expect.poll(() => page.locator("#detail").isVisible()).toBe(true);
      expect((await contrastFailures("#detail")).join("\n"), `detail, ${scheme}`).toBe("");
      await page.keyboard.press("Escape");
      await openView("overview");
      await expect.poll(() => page.locator("#view-overview").getAttribute("aria-busy")).toBe("false");
      await expect.poll(() => page.locator("#per-policy-charts figure").count()).toBe(3);
      expect((await contrastFailures("#view-overview")).join("\n"), `overview, ${scheme}`).toBe("");
      await openView("preview");
    }
    await page.emulateMedia({ colorScheme: "light" });
  });

  it("is usable with the keyboard alone, with a visible focus everywhere", async () => {
    // From the top of the page: the navigation comes first.
    await page.evaluate(() => (document.activeElement as HTMLElement | null)?.blur());
    await tabTo((f) => f?.tag === "a" && f.data.view === "overview");
    expect(await focusIndicator()).toMatchObject({ visible: true });
    await page.keyboard.press("Enter");
    await expect.poll(async () => (await focused())?.id).toBe("overview-title");
    await expect.poll(() => page.locator("#view-overview").getAttribute("aria-busy")).toBe("false");
    await expect.poll(() => page.locator("#stats-chart g.bucket").count()).toBe(24);

    // The chart: one bar in the tab order (the newest), the arrows move between bars.
    await tabTo((f) => f?.cls === "bucket");
    expect(await focusIndicator()).toMatchObject({ kind: "stroke", visible: true });
    const bars = await chartBuckets("#stats-chart");
    expect((await focused())?.data.start).toBe(bars.at(-1)!.start);
    await page.keyboard.press("ArrowLeft");
    expect((await focused())?.data.start).toBe(bars.at(-2)!.start);
    await page.keyboard.press("Home");
    expect((await focused())?.data.start).toBe(bars[0]!.start);
    await page.keyboard.press("End");
    expect((await focused())?.data.start).toBe(bars.at(-1)!.start);
    const withData = bars.map((b) => b.allow + b.deny > 0).lastIndexOf(true);
    for (let i = bars.length - 1; i > withData; i--) await page.keyboard.press("ArrowLeft");
    expect(await text("#stats-chart .chart-readout")).toBe(`${bars[withData]!.label}.`);
    // A refresh draws the chart anew and gives the focus back to the same bar.
    const before = await page.locator("#stats-chart g.bucket:focus").elementHandle();
    await page.evaluate(() => (document.getElementById("stats-form") as HTMLFormElement).requestSubmit());
    await expect.poll(() => before!.evaluate((g) => g.isConnected)).toBe(false);
    await expect.poll(() => page.locator("#view-overview").getAttribute("aria-busy")).toBe("false");
    expect(await focused()).toMatchObject({ cls: "bucket", data: { start: bars[withData]!.start } });
    expect(await page.locator("#stats-chart g.bucket[tabindex='0']").getAttribute("data-start")).toBe(bars[withData]!.start);
    // Tab leaves the chart for its table button; Space opens the table.
    await page.keyboard.press("Tab");
    expect((await focused())?.text).toBe("Show as table");
    expect(await focusIndicator()).toMatchObject({ visible: true });
    await page.keyboard.press("Space");
    expect(await page.locator("#stats-chart table").isVisible()).toBe(true);

    // To the verdicts, to the first row, down one, open it, close it: the focus comes back to the row.
    await page.keyboard.down("Shift");
    await tabTo((f) => f?.data.view === "verdicts");
    await page.keyboard.up("Shift");
    await page.keyboard.press("Enter");
    await expect.poll(async () => (await focused())?.id).toBe("verdicts-title");
    await expect.poll(() => rows().count()).toBe(17);
    await tabTo((f) => f?.tag === "tr");
    expect((await focused())?.data.id).toBe(history[0]!.id);
    expect(await focusIndicator()).toMatchObject({ kind: "outline", visible: true });
    await page.keyboard.press("ArrowDown");
    expect((await focused())?.data.id).toBe(history[1]!.id);
    await page.keyboard.press("Enter");
    await expect.poll(() => page.locator("#detail").isVisible()).toBe(true);
    expect((await focused())?.id).toBe("detail-close");
    expect(await text("#detail-title")).toBe(history[1]!.image);
    await page.keyboard.press("Escape");
    await expect.poll(() => page.locator("#detail").isVisible()).toBe(false);
    expect((await focused())?.data.id).toBe(history[1]!.id);
    // Again, with a new verdict arriving while the detail is open (the rows are drawn anew behind it).
    await page.keyboard.press("Enter");
    await expect.poll(() => page.locator("#detail").isVisible()).toBe(true);
    const stale = await page.locator(`#verdict-rows tr[data-id="${history[1]!.id}"]`).elementHandle();
    await api("POST", "/v1/decisions", worker.clientToken, { policy: "web", image: img("nginx", 10) });
    await expect.poll(() => rows().count(), { timeout: 20_000, interval: 250 }).toBe(18);
    expect(await stale!.evaluate((tr) => tr.isConnected)).toBe(false);
    await page.keyboard.press("Escape");
    await expect.poll(() => page.locator("#detail").isVisible()).toBe(false);
    // The dialog's close event, which gives the focus back, is dispatched after it closes.
    await expect.poll(async () => (await focused())?.data.id).toBe(history[1]!.id);

    // The preview form, field by field.
    await page.keyboard.down("Shift");
    await tabTo((f) => f?.data.view === "preview");
    await page.keyboard.up("Shift");
    await page.keyboard.press("Enter");
    await expect.poll(async () => (await focused())?.id).toBe("preview-title");
    const order: string[] = [];
    for (let i = 0; i < 6; i++) {
      await page.keyboard.press("Tab");
      order.push((await focused())!.id);
      expect(await focusIndicator(), order.at(-1)).toMatchObject({ visible: true });
    }
    expect(order).toEqual(["preview-policy", "preview-format", "preview-since", "preview-file", "preview-text", "preview-run"]);
  });

  it("holds its CSP: no violation, no page error, no request off loopback; HTML assignment is refused", async () => {
    expect(await violations()).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(offLoopback).toEqual([]);
    // Trusted Types: a string assigned as HTML throws (and is reported), so no data can become markup.
    const outcome = await page.evaluate(() => {
      try {
        document.body.insertAdjacentHTML("beforeend", "<b>x</b>");
        return "assigned";
      } catch (e) {
        return (e as Error).name;
      }
    });
    expect(outcome).toBe("TypeError");
    // The report is an event dispatched after the refusal.
    await expect.poll(async () => (await violations()).some((v) => v.startsWith("require-trusted-types-for"))).toBe(true);
    expect(await violations()).toHaveLength(1);
    await page.evaluate(() => {
      (window as unknown as { __violations: string[] }).__violations.length = 0;
    });
  });

  it("shows a new verdict without a reload", async () => {
    await openView("verdicts");
    await page.selectOption("#filter-decision", "deny");
    await expect.poll(() => rows().count()).toBe(8);
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
    expect(await rows().count()).toBe(9);
    expect(await rows().first().getAttribute("class")).toContain("is-new");
    expect(await totals()).toEqual({ shown: "9", allow: "0", deny: "9" });
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
    expect(await rows().count()).toBe(9);
    expect(await violations()).toEqual([]);
    expect(pageErrors).toEqual([]);
    expect(offLoopback).toEqual([]);
  });
});
