// Turns zod issues into PolicyIssues with readable paths ("rules[0].require[1].type").
import type { SchemaError } from "../schema";
import type { PolicyIssue } from "./model";

export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

export function joinPath(prefix: string, path: string): string {
  if (!prefix) return path;
  if (!path) return prefix;
  return path.startsWith("[") ? prefix + path : `${prefix}.${path}`;
}

export function zodIssues(error: Pick<SchemaError, "issues">, prefix = ""): PolicyIssue[] {
  return error.issues.map((issue) => {
    let path = formatPath(issue.path);
    let message = issue.message;
    if (issue.code === "unrecognized_keys") {
      // Name each unknown field by its own path, so the user sees exactly what to remove.
      return issue.keys.map((key) => ({
        path: joinPath(prefix, joinPath(path, key)),
        message: "unknown field",
      }));
    }
    return [{ path: joinPath(prefix, path), message }];
  }).flat();
}
