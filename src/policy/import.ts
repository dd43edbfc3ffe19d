// One entry point for every policy format: text in, validated normalised policy and revision out.
import { parseDocumentText } from "./document";
import { parseNativePolicy } from "./native";
import { POLICY_FORMATS, type Policy, type PolicyFormat } from "./model";
import type { RequirementKinds } from "./requirement-kinds";
import { stableStringify, sha256Hex } from "../encoding";

/** Formats with an importer today; the rest arrive with their issues. */
export const SUPPORTED_FORMATS: readonly PolicyFormat[] = ["native"];

export class UnsupportedFormatError extends Error {
  override readonly name = "UnsupportedFormatError";
  constructor(format: string) {
    const known = (POLICY_FORMATS as readonly string[]).includes(format);
    super(
      `${known ? "format not supported yet" : "unknown format"}: "${format}"; supported: ${SUPPORTED_FORMATS.join(", ")}`,
    );
  }
}

export interface ImportedPolicy {
  readonly format: PolicyFormat;
  readonly policy: Policy;
  /** Content hash of the normalised policy: same policy, same revision, whatever the source text. */
  readonly revision: string;
}

export async function importPolicy(
  text: string,
  format: string,
  kinds: RequirementKinds,
): Promise<ImportedPolicy> {
  if (!(SUPPORTED_FORMATS as readonly string[]).includes(format)) throw new UnsupportedFormatError(format);
  const { value } = parseDocumentText(text);
  const policy = parseNativePolicy(value, kinds);
  return { format: format as PolicyFormat, policy, revision: await policyRevision(policy) };
}

export async function policyRevision(policy: Policy): Promise<string> {
  return (await sha256Hex(stableStringify(policy))).slice(0, 32);
}
