// Reads a submitted policy document: JSON, or YAML (one document or a stream of them).
import { parseAllDocuments } from "yaml";
import { PolicyValidationError } from "./model";

/** Parses text as JSON when it looks like JSON, else as YAML; a YAML stream yields an array. */
export function parseDocumentText(text: string): { value: unknown; documents: number } {
  const trimmed = text.trimStart();
  if (trimmed === "") throw new PolicyValidationError([{ path: "", message: "the document is empty" }]);
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    try {
      return { value: JSON.parse(text), documents: 1 };
    } catch {
      // Not JSON after all: YAML flow style also starts with { or [.
    }
  }
  // Aliases are bounded so a "billion laughs" document cannot blow up memory.
  const docs = parseAllDocuments(text, { uniqueKeys: true, prettyErrors: false });
  const list = Array.isArray(docs) ? docs : [docs];
  const values: unknown[] = [];
  for (const doc of list) {
    const error = doc.errors[0];
    if (error) {
      throw new PolicyValidationError([
        { path: "", message: `not valid JSON or YAML: ${error.message.split("\n")[0]}` },
      ]);
    }
    let value: unknown;
    try {
      value = doc.toJS({ maxAliasCount: 100 });
    } catch (err) {
      throw new PolicyValidationError([
        { path: "", message: `the YAML cannot be read: ${err instanceof Error ? err.message : String(err)}` },
      ]);
    }
    if (value !== null && value !== undefined) values.push(value);
  }
  if (values.length === 0) throw new PolicyValidationError([{ path: "", message: "the document is empty" }]);
  return values.length === 1 ? { value: values[0], documents: 1 } : { value: values, documents: values.length };
}
