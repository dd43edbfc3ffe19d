// One entry point for every policy format: text in, validated normalised policy and revision out.
import { parseDocumentText } from "./document";
import { parseNativePolicy } from "./native";
import { importConnaisseur } from "./importers/connaisseur";
import { importContainersPolicy } from "./importers/containers-policy";
import { importPortieris } from "./importers/portieris";
import { importKyverno } from "./importers/kyverno";
import { importPolicyController } from "./importers/policy-controller";
import { distinctWarnings } from "./review";
import { POLICY_FORMATS, type Policy, type PolicyFormat, type PolicyIssue } from "./model";
import type { RequirementKinds } from "./requirement-kinds";
import { stableStringify, sha256Hex } from "../encoding";

/** Formats with an importer today. */
export const SUPPORTED_FORMATS: readonly PolicyFormat[] = ["native", "containers-policy", "portieris", "connaisseur", "kyverno", "policy-controller"];

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
  /** What imports but probably does not do what its author meant, located like validation issues. */
  readonly warnings: readonly PolicyIssue[];
}

export async function importPolicy(
  text: string,
  format: string,
  kinds: RequirementKinds,
): Promise<ImportedPolicy> {
  if (!(SUPPORTED_FORMATS as readonly string[]).includes(format)) throw new UnsupportedFormatError(format);
  const { value } = parseDocumentText(text);
  const warnings: PolicyIssue[] = [];
  const policy = parseFormat(value, format as PolicyFormat, kinds, warnings);
  return { format: format as PolicyFormat, policy, revision: await policyRevision(policy), warnings: distinctWarnings(warnings) };
}

function parseFormat(document: unknown, format: PolicyFormat, kinds: RequirementKinds, warnings: PolicyIssue[]): Policy {
  switch (format) {
    case "portieris":
      return importPortieris(document, kinds, warnings);
    case "connaisseur":
      return importConnaisseur(document, kinds, warnings);
    case "containers-policy":
      return importContainersPolicy(document, kinds, warnings);
    case "native":
      return parseNativePolicy(document, kinds, warnings);
    case "kyverno":
      return importKyverno(document, kinds, warnings);
    case "policy-controller":
      return importPolicyController(document, kinds, warnings);
    default:
      throw new UnsupportedFormatError(format);
  }
}

export async function policyRevision(policy: Policy): Promise<string> {
  return (await sha256Hex(stableStringify(policy))).slice(0, 32);
}
