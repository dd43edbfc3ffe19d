// One way for every e2e suite to call the Worker under test: bearer token, JSON in and out.

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
