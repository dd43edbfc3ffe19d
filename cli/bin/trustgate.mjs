#!/usr/bin/env node
// trustgate CLI: `trustgate check <image…> --policy <id>` asks the service and gates CI on the verdicts;
// `trustgate preview --policy <id> <file>` shows what a candidate policy would change (docs/preview.md).
// Also a module: the GitHub Action (action/index.mjs) imports its parsing, requests and formatting.
import { readFileSync, realpathSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

export const EXIT_ALLOWED = 0;
export const EXIT_DENIED = 1;
export const EXIT_ERROR = 2;
const MAX_BATCH = 256; // the service's limit per /v1/decisions:batch request
const DEFAULT_TIMEOUT_SECONDS = 30;
/** A preview job is polled this often, and given up after the service's job lifetime (an hour). */
const POLL_INTERVAL_MS = 1000;
const MAX_JOB_WAIT_MS = 3_600_000;

const HELP = `trustgate: ask a trustgate service whether container images may be used.

Usage:
  trustgate check <image>... --policy <id> [options]
  trustgate preview <policy-file> --policy <id> [--format <f>] [--since <time>] [--limit <n>] [options]
  trustgate --help | --version

Options for check:
  -p, --policy <id>       policy to decide with (required)
  -u, --url <url>         the service, e.g. https://trustgate.example.com   [env TRUSTGATE_URL]
  -t, --token <token>     client token (prefer the env var: argv is visible) [env TRUSTGATE_TOKEN]
  -c, --context <k=v>     context recorded with each verdict; repeatable
      --timeout <seconds> give up on the service after this long (default ${DEFAULT_TIMEOUT_SECONDS})
                                                                           [env TRUSTGATE_TIMEOUT]
      --json              print { policy, allowed, verdicts } as JSON on stdout
  -h, --help              this text

Options for preview (an admin token; "-" reads the policy from stdin):
  -p, --policy <id>       the stored policy the file would replace (required)
      --format <f>        the file's format, as for PUT /v1/policies (default native)
      --since <time>      replay the images decided since this ISO 8601 time (default 7 days ago)
      --limit <n>         replay at most this many distinct images (default and most 1000)
  -u, -t, --timeout, --json as for check (--timeout is per request; a long preview is polled)

Exit status:
  0  check: every image is allowed; preview: no image would become denied
  1  check: at least one image is denied (each verdict is printed with its reasons);
     preview: at least one image would become denied (each change is printed)
  2  usage error, or the service could not give an answer (unreachable, timeout, HTTP error,
     bad response, an invalid candidate policy), or a preview could not replay some image that was
     allowed (an upstream away): a gate must not pass when it cannot tell

With GITHUB_ACTIONS=true every denied image (and any error) also becomes an ::error annotation
(on stdout; on stderr with --json so stdout stays valid JSON).

Example:
  TRUSTGATE_URL=https://trustgate.example.com TRUSTGATE_TOKEN=... \\
    npx @trustgate/cli check ghcr.io/acme/api@sha256:... --policy prod --context pipeline=build
`;

export class UsageError extends Error {}

/** The service did not give a usable answer. `status`/`code` when it answered with an HTTP error. */
export class ServiceError extends Error {
  constructor(message, { status, code, issues } = {}) {
    super(message);
    this.status = status;
    this.code = code;
    /** An invalid policy's problems, as the service lists them ({ path, message }). */
    this.issues = issues;
  }
}

// ---------------------------------------------------------------- output helpers

const github = process.env.GITHUB_ACTIONS === "true";

/** Control characters from the service never reach the terminal as such. */
export function clean(value) {
  return String(value ?? "").replace(/[\u0000-\u001f\u007f-\u009f]/g, (ch) =>
    ch === "\n" || ch === "\r" || ch === "\t" ? " " : `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

/** GitHub workflow command data: % CR LF escaped. */
function escapeData(value) {
  return String(value).replace(/%/g, "%25").replace(/\r/g, "%0D").replace(/\n/g, "%0A");
}

/** GitHub workflow command property values: also ':' and ','. */
function escapeProperty(value) {
  return escapeData(value).replace(/:/g, "%3A").replace(/,/g, "%2C");
}

export function annotation(title, message) {
  return `::error title=${escapeProperty(title)}::${escapeData(message)}\n`;
}

function useColor(stream) {
  return Boolean(stream.isTTY) && !("NO_COLOR" in process.env) && process.env.TERM !== "dumb";
}

export function painter(stream) {
  const on = useColor(stream);
  const wrap = (code) => (text) => (on ? `\u001b[${code}m${text}\u001b[0m` : text);
  return { red: wrap("31;1"), green: wrap("32;1"), yellow: wrap("33"), dim: wrap("2"), bold: wrap("1") };
}

// ---------------------------------------------------------------- arguments

export function parseCommandLine(argv) {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        policy: { type: "string", short: "p" },
        url: { type: "string", short: "u" },
        token: { type: "string", short: "t" },
        context: { type: "string", short: "c", multiple: true },
        timeout: { type: "string" },
        json: { type: "boolean" },
        format: { type: "string" },
        since: { type: "string" },
        limit: { type: "string" },
        help: { type: "boolean", short: "h" },
        version: { type: "boolean" },
      },
    });
  } catch (err) {
    throw new UsageError(err.message);
  }
  const { values, positionals } = parsed;
  if (values.help || positionals[0] === "help") return { command: "help" };
  if (values.version) return { command: "version" };
  const [command, ...images] = positionals;
  if (command === undefined) throw new UsageError("no command given; try `trustgate check <image>... --policy <id>`");
  if (command !== "check" && command !== "preview") throw new UsageError(`unknown command "${command}"; the commands are "check" and "preview"`);
  const only = command === "check" ? ["format", "since", "limit"] : ["context"];
  for (const name of only) if (values[name] !== undefined) throw new UsageError(`--${name} is not an option of ${command}`);
  if (command === "preview") {
    if (images.length !== 1) throw new UsageError("preview needs exactly one policy file (or - for stdin)");
  } else {
    if (images.length === 0) throw new UsageError("check needs at least one image reference");
    for (const image of images) {
      if (image.trim() === "" || /\s/.test(image)) throw new UsageError(`not an image reference: "${clean(image)}"`);
    }
  }
  const policy = values.policy;
  if (policy === undefined || policy === "") throw new UsageError("--policy <id> is required");

  const urlText = values.url ?? process.env.TRUSTGATE_URL ?? "";
  if (urlText === "") throw new UsageError("the service URL is required: --url <url> or TRUSTGATE_URL");
  let url;
  try {
    url = new URL(urlText);
  } catch {
    throw new UsageError(`--url: not a URL: "${clean(urlText)}"`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new UsageError(`--url: must be http or https, not ${url.protocol}`);
  if (url.username || url.password) throw new UsageError("--url: put the token in --token or TRUSTGATE_TOKEN, not in the URL");
  if (url.search || url.hash) throw new UsageError("--url: the service's base URL takes no query or fragment");

  const token = values.token ?? process.env.TRUSTGATE_TOKEN ?? "";
  if (token !== "" && /\s/.test(token)) throw new UsageError("the token must not contain whitespace");

  const timeoutText = values.timeout ?? process.env.TRUSTGATE_TIMEOUT ?? String(DEFAULT_TIMEOUT_SECONDS);
  const timeout = Number(timeoutText);
  if (!/^\d+(\.\d+)?$/.test(timeoutText.trim()) || !(timeout > 0) || timeout > 3600) {
    throw new UsageError(`--timeout: a number of seconds above 0 and at most 3600, not "${clean(timeoutText)}"`);
  }

  const context = {};
  for (const pair of values.context ?? []) {
    const eq = pair.indexOf("=");
    if (eq <= 0) throw new UsageError(`--context: expected key=value, not "${clean(pair)}"`);
    const key = pair.slice(0, eq);
    if (Object.hasOwn(context, key)) throw new UsageError(`--context: "${clean(key)}" is given twice`);
    context[key] = pair.slice(eq + 1);
  }

  const common = { policy, url, token, timeoutMs: Math.round(timeout * 1000), json: Boolean(values.json) };
  if (command === "preview") {
    const query = new URLSearchParams();
    if (values.format !== undefined) query.set("format", values.format);
    if (values.since !== undefined) query.set("since", values.since);
    if (values.limit !== undefined) {
      if (!/^\d+$/.test(values.limit)) throw new UsageError(`--limit: a whole number, not "${clean(values.limit)}"`);
      query.set("limit", values.limit);
    }
    return { command: "preview", file: images[0], query, ...common };
  }
  return { command: "check", images, context, ...common };
}

// ---------------------------------------------------------------- the service

function endpoint(base) {
  return `${base.origin}${base.pathname.replace(/\/+$/, "")}/v1/decisions:batch`;
}

function describeFetchError(err) {
  const parts = [];
  for (let e = err, depth = 0; e && depth < 4; e = e.cause, depth++) {
    const text = e.code && !String(e.message).includes(e.code) ? `${e.message} (${e.code})` : e.message;
    if (text && !parts.includes(text)) parts.push(text);
  }
  return parts.join(": ") || String(err);
}

/**
 * One request to the service: its JSON answer and status, or a ServiceError that says why there is
 * none (unreachable, timeout, an HTTP error with the service's code and message, a body not JSON).
 */
async function callService(opts, method, target, body, contentType = "application/json") {
  const headers = { accept: "application/json", "user-agent": "trustgate-cli" };
  if (body !== undefined) headers["content-type"] = contentType;
  if (opts.token) headers.authorization = `Bearer ${opts.token}`;
  const signal = AbortSignal.timeout(opts.timeoutMs);
  const seconds = `${opts.timeoutMs / 1000} s`;

  let response;
  let text;
  try {
    // No redirects: a gate talks to the URL it was given, and a 3xx is not an answer.
    response = await fetch(target, { method, headers, ...(body !== undefined ? { body } : {}), redirect: "manual", signal });
    text = await response.text();
  } catch (err) {
    if (err?.name === "TimeoutError" || err?.name === "AbortError" || signal.aborted) {
      throw new ServiceError(`no answer from ${target} within ${seconds}`);
    }
    throw new ServiceError(`cannot reach ${target}: ${describeFetchError(err)}`);
  }

  let json;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  if (response.status < 200 || response.status > 299) {
    const code = typeof json?.error?.code === "string" ? json.error.code : undefined;
    const message = typeof json?.error?.message === "string" ? json.error.message : text.slice(0, 200).trim();
    let hint = "";
    if (response.status === 401) {
      hint = opts.token ? " (is the token right?)" : " (no token given: set TRUSTGATE_TOKEN or --token)";
    }
    throw new ServiceError(
      `${target} answered HTTP ${response.status}${code ? ` ${code}` : ""}${message ? `: ${clean(message)}` : ""}${hint}`,
      { status: response.status, code, issues: Array.isArray(json?.error?.issues) ? json.error.issues : undefined },
    );
  }
  if (json === undefined) throw new ServiceError(`${target} answered HTTP ${response.status} with a body that is not JSON`);
  return { status: response.status, json };
}

async function decideBatch(opts, images) {
  const target = endpoint(opts.url);
  const body = { policy: opts.policy, images, ...(Object.keys(opts.context).length ? { context: opts.context } : {}) };
  const { json } = await callService(opts, "POST", target, JSON.stringify(body));
  const verdicts = json?.verdicts;
  if (!Array.isArray(verdicts) || verdicts.length !== images.length) {
    throw new ServiceError(`${target} answered without one verdict per image (asked ${images.length})`);
  }
  verdicts.forEach((v, i) => {
    const ok =
      v !== null &&
      typeof v === "object" &&
      (v.decision === "allow" || v.decision === "deny") &&
      v.allowed === (v.decision === "allow") &&
      Array.isArray(v.reasons);
    if (!ok) throw new ServiceError(`${target} answered with a malformed verdict for ${clean(images[i])}`);
  });
  return verdicts;
}

/** Every image's verdict, in input order, in batches of the service's limit. */
export async function decideAll(opts) {
  let verdicts = [];
  for (let i = 0; i < opts.images.length; i += MAX_BATCH) {
    verdicts = verdicts.concat(await decideBatch(opts, opts.images.slice(i, i + MAX_BATCH)));
  }
  return verdicts;
}

// ---------------------------------------------------------------- preview

function previewEndpoint(base, policy) {
  return `${base.origin}${base.pathname.replace(/\/+$/, "")}/v1/policies/${encodeURIComponent(policy)}:preview`;
}

function isPreviewAnswer(json) {
  const s = json?.summary;
  return (
    Array.isArray(json?.changes) &&
    typeof json?.window === "object" &&
    ["newlyDenied", "newlyAllowed", "unchanged", "errors"].every((k) => Number.isInteger(s?.[k])) &&
    json.changes.every((c) => typeof c?.image === "string" && Array.isArray(c?.before?.reasons) && Array.isArray(c?.after?.reasons))
  );
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Asks the service what the candidate would change: the answer at once, or (202) a job polled until
 * it is done, `onProgress(done, total)` after each poll. The service moves a job on as it is polled.
 */
export async function previewPolicy(opts, text, onProgress = () => {}) {
  const target = `${previewEndpoint(opts.url, opts.policy)}${opts.query.size ? `?${opts.query}` : ""}`;
  let { status, json } = await callService(opts, "POST", target, text, "text/plain; charset=utf-8");
  const deadline = Date.now() + MAX_JOB_WAIT_MS;
  while (status === 202) {
    const poll = json?.poll;
    const progress = json?.job?.progress;
    if (typeof poll !== "string" || !poll.startsWith("/v1/policies/") || !Number.isInteger(progress?.done) || !Number.isInteger(progress?.total)) {
      throw new ServiceError(`${target} answered 202 without a job to poll`);
    }
    onProgress(progress.done, progress.total);
    if (Date.now() > deadline) throw new ServiceError(`the preview job did not finish within ${MAX_JOB_WAIT_MS / 60_000} minutes`);
    await sleep(POLL_INTERVAL_MS);
    ({ status, json } = await callService(opts, "GET", `${opts.url.origin}${opts.url.pathname.replace(/\/+$/, "")}${poll}`));
  }
  if (!isPreviewAnswer(json)) throw new ServiceError(`${target} answered with a body that is not a preview`);
  return json;
}

/**
 * What each listed change is, by its place: the service lists newly denied, then newly allowed,
 * then images it could not replay, as many of each as its summary counts (docs/preview.md).
 */
function changeKinds(answer) {
  const denied = Number(answer.summary?.newlyDenied) || 0;
  const allowed = Number(answer.summary?.newlyAllowed) || 0;
  return answer.changes.map((_, i) => (i < denied ? "denied" : i < denied + allowed ? "allowed" : "error"));
}

function contextText(context) {
  if (context === null || typeof context !== "object") return "";
  return Object.entries(context)
    .map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    .join(" ");
}

export function formatChange(c, kind, paint) {
  const label = kind === "denied" ? paint.red("NEWLY DENIED ") : kind === "allowed" ? paint.green("NEWLY ALLOWED") : paint.yellow("NOT REPLAYED ");
  const lines = [`${label}  ${paint.bold(clean(c.image))}`];
  const field = (name, value) => lines.push(`       ${paint.dim(name.padEnd(9))} ${clean(value)}`);
  if (c.reference && c.reference !== c.image) field("reference", c.reference);
  const context = contextText(c.context);
  if (context) field("context", context);
  for (const [name, outcome] of [["before", c.before], ["after", c.after]]) {
    field(name, outcome.decision);
    for (const r of outcome.reasons) lines.push(`         - ${paint.bold(clean(r?.code ?? "?"))}: ${clean(r?.message ?? "")}`);
  }
  return lines.join("\n");
}

export function formatPreview(opts, answer, paint) {
  const { candidate, window: w, summary: s } = answer;
  const out = [
    `policy ${clean(opts.policy)}: candidate revision ${clean(candidate?.revision ?? "?")}`,
    ...(candidate?.warnings ?? []).map((x) => `${paint.yellow("warning")} ${clean(x?.path ?? "")}: ${clean(x?.message ?? "")}`),
    `replayed ${w.images} image(s) from ${w.verdicts} verdict(s) recorded ${clean(w.since)} to ${clean(w.until)}`,
    "",
  ];
  const kinds = changeKinds(answer);
  if (answer.changes.length) out.push(answer.changes.map((c, i) => formatChange(c, kinds[i], paint)).join("\n\n"), "");
  const denied = s.newlyDenied ? paint.red(`${s.newlyDenied} newly denied`) : paint.green("0 newly denied");
  const errors = s.errors ? paint.yellow(`${s.errors} not replayed`) : "0 not replayed";
  out.push(`${denied}, ${s.newlyAllowed} newly allowed, ${s.unchanged} unchanged, ${errors}`);
  return `${out.join("\n")}\n`;
}

/** 1 when an image would become denied; else 2 when some could not be replayed; else 0. */
export function previewExit(answer) {
  if (answer.summary.newlyDenied > 0) return EXIT_DENIED;
  return answer.summary.errors > 0 ? EXIT_ERROR : EXIT_ALLOWED;
}

async function runPreview(opts) {
  const annotations = opts.json ? process.stderr : process.stdout;
  let text;
  try {
    text = readFileSync(opts.file === "-" ? 0 : opts.file, "utf8");
  } catch (err) {
    process.stderr.write(`trustgate: cannot read the policy file ${clean(opts.file)}: ${clean(err.message)}\n`);
    return EXIT_ERROR;
  }
  const tty = Boolean(process.stderr.isTTY);
  let shown = "";
  const onProgress = (done, total) => {
    const line = `preview: ${done}/${total} images replayed`;
    if (line === shown) return;
    shown = line;
    // One line rewritten on a terminal; a line per step in a CI log.
    process.stderr.write(tty ? `\r${line}` : `${line}\n`);
  };
  let answer;
  try {
    answer = await previewPolicy(opts, text, onProgress);
  } catch (err) {
    if (!(err instanceof ServiceError)) throw err;
    if (tty && shown) process.stderr.write("\n");
    process.stderr.write(`trustgate: error: ${err.message}\n`);
    for (const issue of err.issues ?? []) process.stderr.write(`  ${clean(issue?.path ?? "")}: ${clean(issue?.message ?? "")}\n`);
    process.stderr.write(`trustgate: no preview, so the check fails (exit ${EXIT_ERROR})\n`);
    if (opts.json) {
      const error = { message: err.message, ...(err.status ? { status: err.status } : {}), ...(err.code ? { code: err.code } : {}), ...(err.issues ? { issues: err.issues } : {}) };
      process.stdout.write(`${JSON.stringify({ error }, null, 2)}\n`);
    }
    if (github) annotations.write(annotation("trustgate preview failed", err.message));
    return EXIT_ERROR;
  }
  if (tty && shown) process.stderr.write("\n");
  if (opts.json) process.stdout.write(`${JSON.stringify(answer, null, 2)}\n`);
  else process.stdout.write(formatPreview(opts, answer, painter(process.stdout)));
  if (github) {
    const kinds = changeKinds(answer);
    for (const [i, c] of answer.changes.entries()) {
      if (kinds[i] !== "denied") continue;
      const reasons = c.after.reasons.map((r) => `${r?.code ?? "?"}: ${r?.message ?? ""}`).join("\n");
      annotations.write(annotation(`policy ${opts.policy} would deny ${c.image}`, `${c.image} would become denied\n${reasons}`));
    }
  }
  return previewExit(answer);
}

// ---------------------------------------------------------------- printing

export function formatVerdict(v, paint) {
  const allowed = v.decision === "allow";
  const label = allowed ? paint.green("ALLOW") : paint.red("DENY ");
  const audit = v.mode === "audit" ? paint.yellow(" (audit mode)") : "";
  const lines = [`${label}  ${paint.bold(clean(v.image))}${audit}`];
  const field = (name, value) => lines.push(`       ${paint.dim(name.padEnd(9))} ${clean(value)}`);
  if (v.reference && v.reference !== v.image) field("reference", v.reference);
  field("digest", v.digest ?? "(unknown)");
  field("rule", v.rule ?? "(no matching rule)");
  if (v.reasons.length === 0) lines.push(`       ${paint.dim("(no reasons given)")}`);
  for (const r of v.reasons) lines.push(`       - ${paint.bold(clean(r?.code ?? "?"))}: ${clean(r?.message ?? "")}`);
  return lines.join("\n");
}

export function summary(opts, verdicts, paint) {
  const denied = verdicts.filter((v) => v.decision !== "allow").length;
  const allowed = verdicts.length - denied;
  const revision = verdicts[0]?.policy?.revision ? ` (revision ${clean(verdicts[0].policy.revision)})` : "";
  const outcome = denied ? paint.red(`${denied} denied`) : paint.green("all allowed");
  return `policy ${clean(opts.policy)}${revision}: ${verdicts.length} checked, ${allowed} allowed, ${outcome}`;
}

export function denyAnnotation(v) {
  const reasons = v.reasons.map((r) => `${r?.code ?? "?"}: ${r?.message ?? ""}`).join("\n");
  return annotation(`trustgate denied ${v.image}`, `${v.image} is denied by policy ${v.policy?.id ?? "?"}\n${reasons}`);
}

// ---------------------------------------------------------------- main

function version() {
  try {
    return JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")).version ?? "unknown";
  } catch {
    return "unknown";
  }
}

async function main(argv) {
  let opts;
  try {
    opts = parseCommandLine(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stderr.write(`trustgate: ${err.message}\nRun "trustgate --help" for usage.\n`);
    return EXIT_ERROR;
  }
  if (opts.command === "help") {
    process.stdout.write(HELP);
    return EXIT_ALLOWED;
  }
  if (opts.command === "version") {
    process.stdout.write(`${version()}\n`);
    return EXIT_ALLOWED;
  }

  if (opts.command === "preview") return runPreview(opts);

  const annotations = opts.json ? process.stderr : process.stdout;
  let verdicts;
  try {
    verdicts = await decideAll(opts);
  } catch (err) {
    if (!(err instanceof ServiceError)) throw err;
    process.stderr.write(`trustgate: error: ${err.message}\ntrustgate: no verdict, so the check fails (exit ${EXIT_ERROR})\n`);
    if (opts.json) {
      const error = { message: err.message, ...(err.status ? { status: err.status } : {}), ...(err.code ? { code: err.code } : {}) };
      process.stdout.write(`${JSON.stringify({ error }, null, 2)}\n`);
    }
    if (github) annotations.write(annotation("trustgate check failed", err.message));
    return EXIT_ERROR;
  }

  const allAllowed = verdicts.every((v) => v.decision === "allow");
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ policy: opts.policy, allowed: allAllowed, verdicts }, null, 2)}\n`);
  } else {
    const paint = painter(process.stdout);
    process.stdout.write(`${verdicts.map((v) => formatVerdict(v, paint)).join("\n\n")}\n\n${summary(opts, verdicts, paint)}\n`);
  }
  if (github) for (const v of verdicts) if (v.decision !== "allow") annotations.write(denyAnnotation(v));
  return allAllowed ? EXIT_ALLOWED : EXIT_DENIED;
}

/** Run as a command (node, npm's bin link, npx), not when imported. */
function invokedDirectly() {
  try {
    return process.argv[1] !== undefined && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedDirectly()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`trustgate: internal error: ${err?.stack ?? err}\n`);
      process.exitCode = EXIT_ERROR;
    },
  );
}
