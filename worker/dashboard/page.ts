// The dashboard's HTML shell: static markup only; every verdict is put in by app.js with textContent.

export const DASHBOARD_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="robots" content="noindex">
<title>trustgate · verdicts</title>
<link rel="icon" href="/dashboard/icon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/dashboard/app.css">
<script src="/dashboard/app.js" defer></script>
</head>
<body>
<header class="topbar">
  <div class="brand">
    <img src="/dashboard/icon.svg" alt="" width="24" height="24">
    <span class="brand-name">trustgate</span>
    <span class="brand-sub">Verdicts</span>
  </div>
  <div class="topbar-right">
    <span id="live" class="live" data-state="idle" hidden>
      <span class="live-dot" aria-hidden="true"></span>
      <span id="live-text">Connecting…</span>
      <span id="updated" class="updated"></span>
    </span>
    <button id="sign-out" class="btn btn-quiet" type="button" hidden>Forget token</button>
  </div>
</header>

<main>
  <div id="error" class="banner" role="alert" hidden></div>

  <section id="connect" class="connect" hidden>
    <h1>Connect to trustgate</h1>
    <p class="lead">Enter a client token to see the most recent verdicts of this service.</p>
    <form id="token-form" autocomplete="off">
      <label for="token-input">Client token</label>
      <div class="token-row">
        <input id="token-input" name="token" type="password" autocomplete="off" spellcheck="false" autocapitalize="off" required>
        <button id="connect-button" class="btn btn-primary" type="submit">Connect</button>
      </div>
    </form>
    <p class="hint">The token is kept in this tab's <code>sessionStorage</code> and sent only to this
      service's <code>/v1/verdicts</code>. Closing the tab or “Forget token” removes it.</p>
  </section>

  <section id="board" hidden>
    <div class="stats" aria-live="polite">
      <div class="stat">
        <span class="stat-label">Shown</span>
        <span id="total-shown" class="stat-value">0</span>
      </div>
      <div class="stat stat-allow">
        <span class="stat-label">Allowed</span>
        <span id="total-allow" class="stat-value">0</span>
      </div>
      <div class="stat stat-deny">
        <span class="stat-label">Denied</span>
        <span id="total-deny" class="stat-value">0</span>
      </div>
      <p class="stats-note">Totals count the verdicts loaded below: newest first, filters applied.</p>
    </div>

    <form id="filters" class="filters" autocomplete="off">
      <label>Policy
        <input id="filter-policy" name="policy" placeholder="any policy" spellcheck="false">
      </label>
      <label>Decision
        <select id="filter-decision" name="decision">
          <option value="">Any</option>
          <option value="allow">Allow</option>
          <option value="deny">Deny</option>
        </select>
      </label>
      <label class="grow">Image
        <input id="filter-image" name="image" placeholder="repository (nginx) or exact reference (nginx:1.27)" spellcheck="false">
      </label>
      <div class="filter-buttons">
        <button class="btn btn-primary" type="submit">Apply</button>
        <button id="filters-clear" class="btn" type="button">Clear</button>
      </div>
    </form>

    <div class="table-wrap">
      <table class="verdicts">
        <thead>
          <tr><th>Time</th><th>Decision</th><th>Image</th><th>Digest</th><th>Policy</th><th>Reason</th></tr>
        </thead>
        <tbody id="verdict-rows"></tbody>
      </table>
      <p id="empty" class="empty" hidden>No verdicts match these filters yet.</p>
    </div>
    <div class="more">
      <button id="load-more" class="btn" type="button" hidden>Load older verdicts</button>
    </div>
  </section>
</main>

<dialog id="detail" class="drawer" aria-labelledby="detail-title">
  <div class="drawer-head">
    <span id="detail-decision" class="badge"></span>
    <h2 id="detail-title" class="mono"></h2>
    <button id="detail-close" class="btn btn-quiet" type="button">Close</button>
  </div>
  <dl id="detail-fields" class="fields"></dl>
  <h3>Reasons</h3>
  <ol id="detail-reasons" class="reasons"></ol>
  <h3>Context</h3>
  <dl id="detail-context" class="fields"></dl>
  <p id="detail-no-context" class="muted" hidden>No context was sent with this decision.</p>
</dialog>
</body>
</html>
`;
