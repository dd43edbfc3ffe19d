// One way for every e2e suite to call the Worker under test: bearer token, JSON in and out.

/** One reason of a verdict, as the API answers it (code and message, then fields of its own). */
export interface ApiReason {
  code: string;
  message: string;
  [field: string]: unknown;
}

/** A verdict as POST /v1/decisions answers it and GET /v1/verdicts lists it. */
export interface ApiVerdict {
  id: string;
  decision: "allow" | "deny";
  allowed: boolean;
  image: string;
  reference: string;
  digest: string | null;
  policy: { id: string; revision: string };
  rule: string | null;
  mode: "enforce" | "audit";
  reasons: ApiReason[];
  cached: boolean;
  evaluatedAt: string;
}

export interface ApiResponse {
  readonly status: number;
  readonly json: any;
}

/**
 * `body`: text is sent as it is (a YAML policy, say) with `contentType`; anything else as JSON.
 * A response that is not JSON is an error naming the request: the API always answers JSON.
 */
export async function callApi(
  baseUrl: string,
  method: string,
  path: string,
  token: string,
  body?: unknown,
  contentType = "application/json",
): Promise<ApiResponse> {
  const text = body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body);
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { Authorization: `Bearer ${token}`, ...(text !== undefined ? { "Content-Type": contentType } : {}) },
    ...(text !== undefined ? { body: text } : {}),
  });
  const answer = await response.text();
  try {
    return { status: response.status, json: JSON.parse(answer) };
  } catch {
    throw new Error(`${method} ${path}: HTTP ${response.status}, not JSON: ${answer.slice(0, 500)}`);
  }
}
