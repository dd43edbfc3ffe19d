// The dashboard's stylesheet (served as /dashboard/app.css; the CSP allows no inline styles).

export const DASHBOARD_CSS = String.raw`
:root {
  --bg: #f5f6f8;
  --surface: #ffffff;
  --border: #e2e5ea;
  --border-strong: #cfd4db;
  --text: #1b1f24;
  --muted: #626a75;
  --accent: #3e63dd;
  --accent-hover: #3358d4;
  --allow: #18794e;
  --allow-bg: #e7f6ec;
  --deny: #c62a2f;
  --deny-bg: #fdecec;
  --warn: #9a5b00;
  --warn-bg: #fff4d6;
  --row-hover: #f7f8fa;
  --shadow: 0 1px 2px rgba(16, 24, 40, 0.06), 0 1px 3px rgba(16, 24, 40, 0.08);
  --mono: ui-monospace, SFMono-Regular, Menlo, Consolas, "DejaVu Sans Mono", "Liberation Mono", monospace;
  color-scheme: light dark;
}
@media (prefers-color-scheme: dark) {
  :root {
    --bg: #111316;
    --surface: #191c20;
    --border: #2b3037;
    --border-strong: #3a4049;
    --text: #e8eaed;
    --muted: #9aa2ad;
    --accent: #6e8dfa;
    --accent-hover: #839ffb;
    --allow: #4cc38a;
    --allow-bg: #15301f;
    --deny: #ff6b6f;
    --deny-bg: #3a1a1b;
    --warn: #f5c36b;
    --warn-bg: #3a2e12;
    --row-hover: #1f2328;
    --shadow: none;
  }
}
* { box-sizing: border-box; }
[hidden] { display: none !important; }
html, body { margin: 0; }
body {
  font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif;
  background: var(--bg);
  color: var(--text);
  -webkit-font-smoothing: antialiased;
}
code, .mono { font-family: var(--mono); font-size: 0.92em; }
.muted { color: var(--muted); }

/* top bar */
.topbar {
  display: flex; align-items: center; justify-content: space-between; gap: 16px;
  padding: 10px 24px; background: var(--surface); border-bottom: 1px solid var(--border);
  position: sticky; top: 0; z-index: 2;
}
.brand { display: flex; align-items: center; gap: 10px; }
.brand-name { font-weight: 700; font-size: 16px; letter-spacing: -0.01em; }
.brand-sub { color: var(--muted); padding-left: 10px; border-left: 1px solid var(--border); }
.topbar-right { display: flex; align-items: center; gap: 14px; }

.live { display: inline-flex; align-items: center; gap: 7px; font-size: 13px; color: var(--muted); }
.live-dot { width: 8px; height: 8px; border-radius: 50%; background: var(--border-strong); }
.live[data-state="live"] .live-dot { background: #30a46c; box-shadow: 0 0 0 0 rgba(48, 164, 108, 0.5); animation: pulse 2s infinite; }
.live[data-state="live"] #live-text { color: var(--allow); font-weight: 600; }
.live[data-state="offline"] .live-dot, .live[data-state="error"] .live-dot { background: var(--deny); }
.live[data-state="offline"] #live-text, .live[data-state="error"] #live-text { color: var(--deny); font-weight: 600; }
.live[data-state="paused"] .live-dot { background: var(--warn); }
.updated { font-variant-numeric: tabular-nums; }
@keyframes pulse {
  0% { box-shadow: 0 0 0 0 rgba(48, 164, 108, 0.45); }
  70% { box-shadow: 0 0 0 6px rgba(48, 164, 108, 0); }
  100% { box-shadow: 0 0 0 0 rgba(48, 164, 108, 0); }
}

main { max-width: 1280px; margin: 0 auto; padding: 20px 24px 40px; }

/* buttons and inputs */
.btn {
  font: inherit; font-size: 13px; font-weight: 500; line-height: 1;
  height: 34px; padding: 0 12px; border-radius: 6px; cursor: pointer;
  border: 1px solid var(--border-strong); background: var(--surface); color: var(--text);
}
.btn:hover { background: var(--row-hover); }
.btn-primary { background: var(--accent); border-color: var(--accent); color: #fff; }
.btn-primary:hover { background: var(--accent-hover); }
.btn-quiet { border-color: transparent; background: transparent; color: var(--muted); }
.btn-quiet:hover { color: var(--text); background: var(--row-hover); }
.btn:disabled { opacity: 0.6; cursor: default; }
input, select {
  font: inherit; font-size: 13px; color: var(--text); background: var(--surface);
  border: 1px solid var(--border-strong); border-radius: 6px; padding: 0 9px; height: 34px; min-width: 0; font-weight: 400;
}
::placeholder { color: var(--muted); opacity: 0.8; }
input:focus, select:focus, .btn:focus-visible, tr:focus-visible {
  outline: 2px solid var(--accent); outline-offset: 1px;
}

/* error banner */
.banner {
  margin-bottom: 16px; padding: 10px 14px; border-radius: 8px;
  background: var(--deny-bg); color: var(--deny); border: 1px solid color-mix(in srgb, var(--deny) 30%, transparent);
  font-weight: 500; overflow-wrap: anywhere;
}

/* token form */
.connect {
  max-width: 520px; margin: 48px auto; padding: 28px 32px;
  background: var(--surface); border: 1px solid var(--border); border-radius: 12px; box-shadow: var(--shadow);
}
.connect h1 { margin: 0 0 6px; font-size: 20px; }
.connect .lead { margin: 0 0 20px; color: var(--muted); }
.connect label { display: block; font-weight: 600; margin-bottom: 6px; }
.token-row { display: flex; gap: 8px; }
.token-row input { flex: 1; font-family: var(--mono); }
.hint { margin: 16px 0 0; font-size: 12.5px; color: var(--muted); }

/* totals */
.stats { display: flex; flex-wrap: wrap; align-items: stretch; gap: 12px; margin-bottom: 16px; }
.stat {
  min-width: 150px; padding: 12px 16px; background: var(--surface);
  border: 1px solid var(--border); border-radius: 10px; box-shadow: var(--shadow);
  display: flex; flex-direction: column; gap: 2px;
}
.stat-label { font-size: 12px; font-weight: 600; color: var(--muted); text-transform: uppercase; letter-spacing: 0.04em; }
.stat-value { font-size: 26px; font-weight: 700; font-variant-numeric: tabular-nums; letter-spacing: -0.02em; }
.stat-allow .stat-value { color: var(--allow); }
.stat-deny .stat-value { color: var(--deny); }
.stats-note { align-self: flex-end; margin: 0 0 4px auto; font-size: 12px; color: var(--muted); }

/* filters */
.filters {
  display: flex; flex-wrap: wrap; align-items: flex-end; gap: 12px; margin-bottom: 12px;
  padding: 12px 14px; background: var(--surface); border: 1px solid var(--border); border-radius: 10px;
}
.filters label { display: flex; flex-direction: column; gap: 4px; font-size: 12px; font-weight: 600; color: var(--muted); }
.filters label.grow { flex: 1; min-width: 220px; }
.filters #filter-policy { width: 160px; }
.filter-buttons { display: flex; gap: 8px; }

/* table */
.table-wrap {
  background: var(--surface); border: 1px solid var(--border); border-radius: 10px;
  box-shadow: var(--shadow); overflow-x: auto;
}
table.verdicts { width: 100%; border-collapse: collapse; table-layout: fixed; }
.verdicts th {
  text-align: left; font-size: 12px; font-weight: 600; color: var(--muted);
  text-transform: uppercase; letter-spacing: 0.04em;
  padding: 10px 12px; border-bottom: 1px solid var(--border); background: var(--surface);
}
.verdicts th:nth-child(1) { width: 100px; }
.verdicts th:nth-child(2) { width: 150px; }
.verdicts th:nth-child(3) { width: 20%; }
.verdicts th:nth-child(4) { width: 184px; }
.verdicts th:nth-child(5) { width: 120px; }
.verdicts td {
  padding: 9px 12px; border-bottom: 1px solid var(--border); vertical-align: middle;
  white-space: nowrap; overflow: hidden; text-overflow: ellipsis;
}
.verdicts tbody tr { cursor: pointer; }
.verdicts tbody tr:hover { background: var(--row-hover); }
.verdicts tbody tr:last-child td { border-bottom: none; }
.verdicts td.time { color: var(--muted); font-variant-numeric: tabular-nums; white-space: normal; line-height: 1.3; }
.verdicts td.digest { color: var(--muted); }
.verdicts .reason-code { font-family: var(--mono); font-size: 12px; font-weight: 600; margin-right: 8px; }
.verdicts .reason-message { color: var(--muted); }
.verdicts tr.is-new { animation: arrive 3s ease-out; }
@keyframes arrive { from { background: color-mix(in srgb, var(--accent) 16%, transparent); } to { background: transparent; } }

.badge {
  display: inline-flex; align-items: center; gap: 5px; padding: 2px 9px; border-radius: 999px;
  font-size: 12px; font-weight: 600; line-height: 18px;
}
.badge::before { content: ""; width: 6px; height: 6px; border-radius: 50%; background: currentColor; }
.badge-allow { color: var(--allow); background: var(--allow-bg); }
.badge-deny { color: var(--deny); background: var(--deny-bg); }
.tag-audit {
  margin-left: 6px; font-size: 10.5px; font-weight: 600; color: var(--warn); background: var(--warn-bg);
  padding: 1px 5px; border-radius: 4px; text-transform: uppercase;
}
.empty { margin: 0; padding: 32px; text-align: center; color: var(--muted); }
.more { display: flex; justify-content: center; margin-top: 14px; }

/* detail drawer */
dialog.drawer {
  margin: 0 0 0 auto; height: 100vh; max-height: 100vh; width: min(620px, 100vw); max-width: 100vw;
  padding: 0 24px 28px; border: none; border-left: 1px solid var(--border);
  background: var(--surface); color: var(--text); box-shadow: -8px 0 24px rgba(16, 24, 40, 0.12); overflow-y: auto;
}
dialog.drawer::backdrop { background: rgba(16, 24, 40, 0.35); }
.drawer-head {
  position: sticky; top: 0; display: flex; align-items: center; gap: 12px;
  padding: 18px 0 14px; background: var(--surface); border-bottom: 1px solid var(--border);
}
.drawer-head h2 { flex: 1; margin: 0; font-size: 14px; font-weight: 600; overflow-wrap: anywhere; }
.drawer h3 {
  margin: 22px 0 8px; font-size: 12px; font-weight: 600; color: var(--muted);
  text-transform: uppercase; letter-spacing: 0.04em;
}
.fields { display: grid; grid-template-columns: 120px 1fr; gap: 6px 14px; margin: 16px 0 0; }
.fields dt { color: var(--muted); font-size: 13px; }
.fields dd { margin: 0; overflow-wrap: anywhere; font-size: 13px; }
.reasons { list-style: none; margin: 0; padding: 0; display: flex; flex-direction: column; gap: 8px; }
.reasons li { padding: 10px 12px; border: 1px solid var(--border); border-radius: 8px; }
.reasons .reason-code { font-family: var(--mono); font-size: 12px; font-weight: 700; }
.reasons .reason-message { margin: 4px 0 0; overflow-wrap: anywhere; }
.reasons .fields { margin-top: 8px; grid-template-columns: 110px 1fr; }

@media (prefers-reduced-motion: reduce) {
  .live[data-state="live"] .live-dot, .verdicts tr.is-new { animation: none; }
}
@media (max-width: 760px) {
  .topbar, main { padding-left: 12px; padding-right: 12px; }
  .stats-note { margin-left: 0; }
  .verdicts th:nth-child(4), .verdicts td:nth-child(4), .verdicts th:nth-child(6), .verdicts td:nth-child(6) { display: none; }
}
`;
