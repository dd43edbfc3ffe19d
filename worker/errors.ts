// The one HTTP-aware error type, and the mapping of core errors to status codes and bodies.
import type { Context } from "hono";
import type { ContentfulStatusCode } from "hono/utils/http-status";
import { AdmissionReviewError } from "../src/admission/review";
import { TrustgateError } from "../src/errors";
import { HookPayloadError } from "../src/hooks/common";
import { InvalidReferenceError } from "../src/reference";
import { PolicyValidationError } from "../src/policy/model";
import { UnsupportedFormatError } from "../src/policy/import";
import { ConfigError } from "./env";

/** The API's error codes (docs/reasons.md, "Error codes"): the `code` of every 4xx/5xx body. */
export const HTTP_ERROR_CODES = [
  "INVALID_JSON",
  "INVALID_BODY",
  "INVALID_POLICY",
  "INVALID_POLICY_ID",
  "INVALID_REFERENCE",
  "INVALID_QUERY",
  "UNSUPPORTED_FORMAT",
  "UNAUTHORIZED",
  "FORBIDDEN",
  "POLICY_NOT_FOUND",
  "NOT_FOUND",
  "PAYLOAD_TOO_LARGE",
  "SERVICE_MISCONFIGURED",
  "INTERNAL_ERROR",
] as const;

export type HttpErrorCode = (typeof HTTP_ERROR_CODES)[number];

export class HttpError extends TrustgateError<HttpErrorCode> {
  constructor(
    readonly status: ContentfulStatusCode,
    code: HttpErrorCode,
    message: string,
    readonly details: Record<string, unknown> = {},
  ) {
    super(code, message);
  }
}

export function errorResponse(c: Context, err: unknown): Response {
  if (err instanceof HttpError) return body(c, err.status, err.code, err.message, err.details);
  if (err instanceof PolicyValidationError) {
    return body(c, 400, "INVALID_POLICY", `the policy is invalid: ${err.message}`, { issues: err.issues });
  }
  if (err instanceof InvalidReferenceError) return body(c, 400, "INVALID_REFERENCE", err.message);
  if (err instanceof UnsupportedFormatError) return body(c, 400, "UNSUPPORTED_FORMAT", err.message);
  if (err instanceof AdmissionReviewError) {
    return body(c, 400, "INVALID_BODY", `the request body is invalid: ${err.message}`, { issues: [{ path: err.path, message: err.problem }] });
  }
  if (err instanceof HookPayloadError) {
    return body(c, 400, "INVALID_BODY", err.message, { issues: err.issues, ...(err.more > 0 ? { moreIssues: err.more } : {}) });
  }
  if (err instanceof ConfigError) {
    console.error("configuration error:", err.message);
    return body(c, 503, "SERVICE_MISCONFIGURED", `trustgate is misconfigured: ${err.message}`);
  }
  // Never a stack trace to the caller; the log keeps it.
  console.error("unexpected error:", err);
  return body(c, 500, "INTERNAL_ERROR", "internal error; the request was not completed");
}

function body(
  c: Context,
  status: ContentfulStatusCode,
  code: HttpErrorCode,
  message: string,
  details: Record<string, unknown> = {},
): Response {
  return c.json({ error: { code, message, ...details } }, status);
}
