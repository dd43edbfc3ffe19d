// Allowed and denied verdicts per time bucket as an inline SVG bar chart, with the same numbers as a
// table: every bucket is a focusable point (arrow keys move between them) that reads out its counts.
import { count, el, svg } from "./util.js";

let serial = 0;

/** A round upper bound for the y axis and its step: 1, 2 or 5 times a power of ten. */
function scale(max) {
  if (max <= 0) return { top: 4, step: 1 };
  const rough = max / 4;
  const power = Math.pow(10, Math.floor(Math.log10(rough)));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough);
  const whole = Math.max(1, step);
  return { top: Math.ceil(max / whole) * whole, step: whole };
}

function describe(bucket) {
  return bucket.longLabel + ": " + count(bucket.allow) + " allowed, " + count(bucket.deny) + " denied";
}

/**
 * The chart as a <figure>: title, legend, the SVG, a readout of the focused bucket and a table the
 * "Show as table" button reveals. buckets: [{ label, longLabel, allow, deny }] in time order.
 */
export function barChart({ title, caption, buckets, compact }) {
  const id = "chart-" + ++serial;
  const figure = el("figure", "chart" + (compact ? " chart-compact" : ""));
  figure.dataset.chart = title;

  const head = el("div", "chart-head");
  const heading = el(compact ? "h3" : "h2", "chart-title", title);
  heading.id = id + "-title";
  head.appendChild(heading);
  const legend = el("ul", "legend");
  legend.appendChild(el("li", "legend-allow", "Allowed"));
  legend.appendChild(el("li", "legend-deny", "Denied"));
  head.appendChild(legend);
  figure.appendChild(head);

  const width = compact ? 360 : 1000;
  const height = compact ? 120 : 260;
  const pad = { left: compact ? 30 : 44, right: 8, top: 10, bottom: compact ? 20 : 26 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const max = buckets.reduce((m, b) => Math.max(m, b.allow + b.deny), 0);
  const { top, step } = scale(max);
  const y = (n) => pad.top + plotH - (n / top) * plotH;
  const slot = plotW / Math.max(1, buckets.length);
  const barW = Math.max(2, Math.min(40, slot * 0.7));

  const totalAllow = buckets.reduce((n, b) => n + b.allow, 0);
  const totalDeny = buckets.reduce((n, b) => n + b.deny, 0);
  const chart = svg("svg", {
    viewBox: "0 0 " + width + " " + height,
    class: "chart-svg",
    role: "group",
    "aria-labelledby": id + "-svg-title",
    "aria-describedby": id + "-svg-desc",
  });
  chart.appendChild(svg("title", { id: id + "-svg-title" }, title));
  chart.appendChild(
    svg(
      "desc",
      { id: id + "-svg-desc" },
      caption + ". " + buckets.length + " bars; in all " + count(totalAllow) + " allowed and " + count(totalDeny) + " denied. Arrow keys move between the bars.",
    ),
  );

  // Grid lines and y labels.
  const grid = svg("g", { class: "chart-grid", "aria-hidden": "true" });
  for (let n = 0; n <= top; n += step) {
    grid.appendChild(svg("line", { x1: pad.left, x2: width - pad.right, y1: y(n), y2: y(n) }));
    grid.appendChild(svg("text", { x: pad.left - 6, y: y(n) + 4, "text-anchor": "end" }, count(n)));
  }
  chart.appendChild(grid);

  // X labels: at most 8, evenly spread.
  const every = Math.max(1, Math.ceil(buckets.length / (compact ? 4 : 8)));
  const labels = svg("g", { class: "chart-labels", "aria-hidden": "true" });
  buckets.forEach((b, i) => {
    if (i % every !== 0) return;
    labels.appendChild(svg("text", { x: pad.left + slot * i + slot / 2, y: height - 6, "text-anchor": "middle" }, b.label));
  });
  chart.appendChild(labels);

  const readout = el("p", "chart-readout");
  readout.setAttribute("aria-hidden", "true");
  readout.textContent = "In all: " + count(totalAllow) + " allowed, " + count(totalDeny) + " denied.";

  const points = [];
  buckets.forEach((b, i) => {
    const x = pad.left + slot * i + (slot - barW) / 2;
    const point = svg("g", { class: "bucket", tabindex: "-1", role: "img", "aria-label": describe(b) });
    point.dataset.allow = String(b.allow);
    point.dataset.deny = String(b.deny);
    point.dataset.start = new Date(b.start).toISOString();
    point.appendChild(svg("rect", { class: "bucket-hit", x: pad.left + slot * i, y: pad.top, width: slot, height: plotH }));
    // Denied at the base, where a few are still seen; allowed on top.
    if (b.deny > 0) point.appendChild(svg("rect", { class: "bar-deny", x, width: barW, y: y(b.deny), height: y(0) - y(b.deny) }));
    if (b.allow > 0) point.appendChild(svg("rect", { class: "bar-allow", x, width: barW, y: y(b.deny + b.allow), height: y(b.deny) - y(b.deny + b.allow) }));
    point.appendChild(svg("rect", { class: "bucket-focus", x: pad.left + slot * i + 1, y: pad.top - 2, width: Math.max(1, slot - 2), height: plotH + 4, rx: 3 }));
    point.addEventListener("focus", () => {
      // The focused bar is the one in the tab order, however it got the focus.
      if (current !== i) {
        points[current].setAttribute("tabindex", "-1");
        current = i;
        point.setAttribute("tabindex", "0");
      }
      readout.textContent = describe(b) + ".";
    });
    point.addEventListener("mouseenter", () => {
      readout.textContent = describe(b) + ".";
    });
    point.addEventListener("click", () => point.focus());
    points.push(point);
    chart.appendChild(point);
  });
  // The axis on top of the bars.
  chart.appendChild(svg("line", { class: "chart-axis", x1: pad.left, x2: width - pad.right, y1: y(0), y2: y(0), "aria-hidden": "true" }));

  // One bar in the tab order (the newest); arrows, Home and End move the focus (roving tabindex).
  let current = points.length - 1;
  if (points[current]) points[current].setAttribute("tabindex", "0");
  chart.addEventListener("keydown", (e) => {
    const next = { ArrowLeft: current - 1, ArrowRight: current + 1, Home: 0, End: points.length - 1 }[e.key];
    if (next === undefined) return;
    e.preventDefault();
    points[Math.max(0, Math.min(points.length - 1, next))].focus();
  });
  chart.addEventListener("mouseleave", () => {
    if (!chart.contains(document.activeElement)) readout.textContent = "In all: " + count(totalAllow) + " allowed, " + count(totalDeny) + " denied.";
  });

  figure.appendChild(chart);
  figure.appendChild(readout);

  // The table alternative, hidden until asked for.
  const tableId = id + "-table";
  const toggle = el("button", "btn btn-small chart-toggle", "Show as table");
  toggle.type = "button";
  toggle.setAttribute("aria-expanded", "false");
  toggle.setAttribute("aria-controls", tableId);
  const table = el("table", "chart-table");
  table.id = tableId;
  table.hidden = true;
  table.appendChild(el("caption", null, title + " — " + caption));
  const head2 = el("tr");
  ["Period", "Allowed", "Denied"].forEach((name, i) => {
    const th = el("th", i ? "num" : null, name);
    th.scope = "col";
    head2.appendChild(th);
  });
  const thead = el("thead");
  thead.appendChild(head2);
  table.appendChild(thead);
  const tbody = el("tbody");
  buckets.forEach((b) => {
    const tr = el("tr");
    tr.dataset.start = new Date(b.start).toISOString();
    const th = el("th", null, b.longLabel);
    th.scope = "row";
    tr.appendChild(th);
    tr.appendChild(el("td", "num", count(b.allow)));
    tr.appendChild(el("td", "num", count(b.deny)));
    tbody.appendChild(tr);
  });
  table.appendChild(tbody);
  toggle.addEventListener("click", () => {
    table.hidden = !table.hidden;
    toggle.setAttribute("aria-expanded", String(!table.hidden));
    toggle.textContent = table.hidden ? "Show as table" : "Hide table";
  });
  const caption2 = el("figcaption", "chart-caption");
  caption2.appendChild(el("span", "muted", caption));
  caption2.appendChild(toggle);
  figure.appendChild(caption2);
  figure.appendChild(table);
  return figure;
}

/** What has the focus in a chart (its title and the bar's start, or its table button), to give it back after a redraw. */
export function chartFocus() {
  const active = document.activeElement;
  const figure = active && active.closest ? active.closest("figure.chart") : null;
  if (!figure) return null;
  return { chart: figure.dataset.chart, start: active.dataset ? active.dataset.start || null : null, toggle: active.classList.contains("chart-toggle") };
}

/** Gives the focus back to the same bar (or table button) of the redrawn chart, when it is still there. */
export function restoreChartFocus(container, saved) {
  if (!saved) return;
  const figure = [...container.querySelectorAll("figure.chart")].find((f) => f.dataset.chart === saved.chart);
  if (!figure) return;
  const target = saved.toggle ? figure.querySelector(".chart-toggle") : [...figure.querySelectorAll("g.bucket")].find((g) => g.dataset.start === saved.start);
  if (target) target.focus();
}

const HOUR = 3600 * 1000;
const DAY = 24 * HOUR;
const hourLabel = new Intl.DateTimeFormat("en-GB", { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: "UTC" });
const dayLabel = new Intl.DateTimeFormat("en-US", { month: "short", day: "numeric", timeZone: "UTC" });
const longDay = new Intl.DateTimeFormat("en-US", { weekday: "short", month: "short", day: "numeric", timeZone: "UTC" });

/** The UTC-aligned window for n buckets of `bucket` ("hour" | "day") ending with the current one. */
export function windowOf(bucket, n, now = Date.now()) {
  const size = bucket === "day" ? DAY : HOUR;
  const first = Math.floor(now / size) * size - (n - 1) * size;
  return { from: first, to: now, size, n, bucket };
}

/**
 * The API's series on the window's grid: a bucket the API left out counts zero. A series whose
 * starts are not on the grid is taken as it is, so no count is ever dropped.
 */
export function bucketsOf(series, win) {
  const byStart = new Map();
  let offGrid = false;
  for (const s of Array.isArray(series) ? series : []) {
    const t = Date.parse(s.start);
    if (isNaN(t) || (t - win.from) % win.size !== 0 || t < win.from || t > win.to) offGrid = true;
    byStart.set(t, { allow: Number(s.allow) || 0, deny: Number(s.deny) || 0 });
  }
  const starts = offGrid ? [...byStart.keys()].filter((t) => !isNaN(t)).sort((a, b) => a - b) : Array.from({ length: win.n }, (_, i) => win.from + i * win.size);
  return starts.map((t) => {
    const c = byStart.get(t) || { allow: 0, deny: 0 };
    const d = new Date(t);
    const label = win.bucket === "day" ? dayLabel.format(d) : hourLabel.format(d);
    const longLabel =
      win.bucket === "day" ? longDay.format(d) + " (UTC)" : longDay.format(d) + ", " + hourLabel.format(d) + "–" + hourLabel.format(new Date(t + HOUR)) + " UTC";
    return { start: t, label, longLabel, allow: c.allow, deny: c.deny };
  });
}
