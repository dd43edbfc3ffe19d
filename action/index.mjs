// The GitHub Action's entry point (action.yml): reads its inputs as the runner passes them
// (INPUT_<NAME> environment variables), asks the service through the CLI's code, prints the
// verdicts, writes an ::error annotation per deny and sets outputs in $GITHUB_OUTPUT.
// Exit 0: all allowed; 1: a deny; 2: bad inputs or no answer from the service.
import { appendFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import {
  EXIT_ALLOWED,
  EXIT_DENIED,
  EXIT_ERROR,
  ServiceError,
  UsageError,
  annotation,
  decideAll,
  denyAnnotation,
  formatVerdict,
  painter,
  parseCommandLine,
  summary,
} from "../cli/bin/trustgate.mjs";

/** The runner's spelling: INPUT_ + name upper-cased with spaces as underscores; absent is "". */
function input(name) {
  return (process.env[`INPUT_${name.replace(/ /g, "_").toUpperCase()}`] ?? "").trim();
}

/** One output, in the multi-line form GitHub documents for $GITHUB_OUTPUT. */
function setOutput(name, value) {
  const file = process.env.GITHUB_OUTPUT;
  if (!file) return;
  const delimiter = `trustgate_${randomBytes(16).toString("hex")}`;
  appendFileSync(file, `${name}<<${delimiter}\n${value}\n${delimiter}\n`);
}

export async function run() {
  const token = input("token");
  // Masked before anything is printed, in case a message ever quotes it.
  if (token) process.stdout.write(`::add-mask::${token}\n`);
  const argv = ["check", ...input("images").split(/\s+/).filter(Boolean), "--policy", input("policy"), "--url", input("url")];
  if (token) argv.push("--token", token);
  const timeout = input("timeout");
  if (timeout) argv.push("--timeout", timeout);
  for (const line of input("context").split("\n").map((l) => l.trim()).filter(Boolean)) argv.push("--context", line);

  let opts;
  try {
    opts = parseCommandLine(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    process.stdout.write(annotation("trustgate: bad input", err.message.replace(/--(\w+)/g, "input $1")));
    return EXIT_ERROR;
  }
  let verdicts;
  try {
    verdicts = await decideAll(opts);
  } catch (err) {
    if (!(err instanceof ServiceError)) throw err;
    process.stdout.write(annotation("trustgate check failed", `${err.message}; no verdict, so the check fails`));
    return EXIT_ERROR;
  }
  const paint = painter(process.stdout);
  process.stdout.write(`${verdicts.map((v) => formatVerdict(v, paint)).join("\n\n")}\n\n${summary(opts, verdicts, paint)}\n`);
  const denied = verdicts.filter((v) => v.decision !== "allow");
  for (const v of denied) process.stdout.write(denyAnnotation(v));
  setOutput("allowed", String(denied.length === 0));
  setOutput("denied", denied.map((v) => v.image).join("\n"));
  setOutput("verdicts", JSON.stringify(verdicts));
  return denied.length === 0 ? EXIT_ALLOWED : EXIT_DENIED;
}

run().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stdout.write(annotation("trustgate internal error", String(err?.stack ?? err)));
    process.exitCode = EXIT_ERROR;
  },
);
