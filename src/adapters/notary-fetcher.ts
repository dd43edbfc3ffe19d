// Role files from a Notary server: GET <server>/v2/<gun>/_trust/tuf/<file>, exact bytes, bounded.
import type { RoleFetcher } from "../verify/notary-v1/trust-data";
import { HttpClient, UpstreamError, type Credentials } from "./http-client";
import { isLoopbackHost } from "../hosts";

/** A loopback trust server is spoken to over http, whatever the policy wrote (as for registries). */
export function trustServerBaseUrl(server: string): string {
  const url = new URL(server);
  if (isLoopbackHost(url.host)) url.protocol = "http:";
  return url.toString().replace(/\/+$/, "");
}

/** `signal`: aborted once the caller is done, so that no request (or retry) outlives it. */
export function notaryRoleFetcher(http: HttpClient, server: string, gun: string, credentials?: Credentials, signal?: AbortSignal): RoleFetcher {
  const base = `${trustServerBaseUrl(server)}/v2/${gun}/_trust/tuf`;
  const host = new URL(base).host;
  return {
    async fetch(file, maxBytes) {
      const url = `${base}/${file}`;
      const res = await http.send({
        url,
        method: "GET",
        accept: "application/json",
        scope: `repository:${gun}:pull`,
        host,
        ...(credentials ? { credentials } : {}),
        ...(signal ? { signal } : {}),
      });
      if (res.status === 404) {
        await res.body?.cancel();
        return null;
      }
      if (!res.ok) {
        await res.body?.cancel();
        if (res.status === 401 || res.status === 403) {
          throw new UpstreamError("NOTARY_TRUST_SERVER_AUTH_FAILED", `trust server ${host} refused access to ${gun} (HTTP ${res.status})`, false, url);
        }
        throw new UpstreamError("NOTARY_TRUST_SERVER_UNREACHABLE", `trust server ${host} answered HTTP ${res.status} for ${file}`, res.status >= 500 || res.status === 429, url);
      }
      return http.readBounded(res, url, maxBytes);
    },
  };
}
