// Policy IDs as every route reads them: checked once, with the same 400.
import { HttpError } from "./errors";
import { POLICY_ID_RE } from "./stores/policy-store";

/** The ID, or a 400 INVALID_POLICY_ID that says what an ID may hold. */
export function policyId(id: string): string {
  if (!POLICY_ID_RE.test(id)) {
    throw new HttpError(
      400,
      "INVALID_POLICY_ID",
      `invalid policy ID "${id.slice(0, 80)}": use 1 to 63 characters a-z, 0-9, ".", "_", "-", starting with a letter or digit`,
    );
  }
  return id;
}
