// Reads a submitted policy document: JSON, or YAML (one document or a stream of them).
import { parseAllDocuments } from "yaml";
import { PolicyValidationError } from "./model";

/**
 * Parses JSON or YAML (one document or a stream, which yields an array). JSON goes through the YAML
 * parser too (YAML 1.2 is a superset), so a repeated key is refused instead of silently replaced,
 * as containers/image and Kubernetes refuse it.
 */
export function parseDocumentText(text: string): { value: unknown; documents: number } {
  if (text.trim() === "") throw new PolicyValidationError([{ path: "", message: "the document is empty" }]);
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
