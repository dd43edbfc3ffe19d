// One entry point for every policy format: text in, validated normalised policy and revision out.
import { parseDocumentText } from "./document";
import { parseNativePolicy } from "./native";
import { importConnaisseur } from "./importers/connaisseur";
import { importContainersPolicy } from "./importers/containers-policy";
import { importPortieris } from "./importers/portieris";
import { POLICY_FORMATS, type Policy, type PolicyFormat } from "./model";
import type { RequirementKinds } from "./requirement-kinds";
import { stableStringify, sha256Hex } from "../encoding";

/** Formats with an importer today. */
export const SUPPORTED_FORMATS: readonly PolicyFormat[] = ["native", "containers-policy", "portieris", "connaisseur"];

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
  const policy = parseFormat(value, format as PolicyFormat, kinds);
  return { format: format as PolicyFormat, policy, revision: await policyRevision(policy) };
}

function parseFormat(document: unknown, format: PolicyFormat, kinds: RequirementKinds): Policy {
  switch (format) {
    case "portieris":
      return importPortieris(document, kinds);
    case "connaisseur":
      return importConnaisseur(document, kinds);
    case "containers-policy":
      return importContainersPolicy(document, kinds);
    case "native":
      return parseNativePolicy(document, kinds);
    default:
      throw new UnsupportedFormatError(format);
  }
}

export async function policyRevision(policy: Policy): Promise<string> {
  return (await sha256Hex(stableStringify(policy))).slice(0, 32);
}
