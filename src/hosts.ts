// Host names: which ones are loopback (spoken to over plain http, as Docker does).

/** True for localhost, 127.0.0.0/8 and ::1, with or without a port ("127.0.0.1:5000", "[::1]:5000"). */
export function isLoopbackHost(hostPort: string): boolean {
  let host = hostPort.toLowerCase();
  if (host.startsWith("[")) host = host.slice(1, host.indexOf("]"));
  else if (host.split(":").length === 2) host = host.slice(0, host.indexOf(":"));
  return host === "localhost" || host === "::1" || /^127(\.\d{1,3}){3}$/.test(host);
}

/**
 * Splits "host[:port]" or "[v6]:port" into its parts, with a precise complaint for the shapes
 * neither Docker's grammar nor a pattern can mean. `describe` quotes the input for messages.
 */
export function splitHostPort(
  registry: string,
  fail: (problem: string) => never,
  describe: (s: string) => string = (s) => JSON.stringify(s),
): { host: string; port: string | undefined } {
  if (registry.startsWith("[")) {
    const close = registry.indexOf("]");
    if (close < 0) fail(`registry ${describe(registry)} has '[' without a closing ']'`);
    const after = registry.slice(close + 1);
    if (after !== "" && !after.startsWith(":")) fail(`registry ${describe(registry)}: only ':port' may follow the IPv6 address`);
    return { host: registry.slice(0, close + 1), port: after === "" ? undefined : after.slice(1) };
  }
  const colon = registry.indexOf(":");
  const host = colon >= 0 ? registry.slice(0, colon) : registry;
  const port = colon >= 0 ? registry.slice(colon + 1) : undefined;
  if (port?.includes(":")) fail(`registry ${describe(registry)} has more than one ':' (an IPv6 address must be in brackets)`);
  if (host === "") fail(`registry ${describe(registry)} has an empty host name`);
  if (host.split(".").includes("")) fail(`registry host ${describe(host)} has an empty label (leading, trailing or double '.')`);
  return { host, port };
}
