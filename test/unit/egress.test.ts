// The egress guard: address classes, named hosts, redirects. No network: a scripted fetch port.
import { describe, expect, it } from "vitest";
import { checkEgress, classifyHost, DEFAULT_EGRESS_POLICY, egressFetch, EgressRefusedError, type EgressPolicy } from "../../src/adapters/egress";

const host = (url: string) => new URL(url).hostname;

describe("classifyHost", () => {
  it.each([
    ["http://169.254.169.254/latest", "metadata"],
    ["http://[fd00:ec2::254]/", "metadata"],
    ["http://metadata.google.internal/", "metadata"],
    ["http://[::ffff:169.254.169.254]/", "metadata"],
    ["http://10.0.0.1:5000/", "private"],
    ["http://172.16.3.4/", "private"],
    ["http://172.31.255.255/", "private"],
    ["http://192.168.1.1/", "private"],
    ["http://0x0a.1/", "private"],
    ["http://167772161/", "private"],
    ["http://169.254.1.1/", "link-local"],
    ["http://[fe80::1]/", "link-local"],
    ["http://[fc00::1]/", "unique-local"],
    ["http://[fd12:3456::1]/", "unique-local"],
    ["http://0.0.0.0/", "unspecified"],
    ["http://0.1.2.3/", "unspecified"],
    ["http://[::]/", "unspecified"],
    ["http://127.0.0.1:5000/", "loopback"],
    ["http://127.1/", "loopback"],
    ["http://[::1]:5000/", "loopback"],
    ["http://localhost:5000/", "loopback"],
    ["http://[::ffff:10.1.2.3]/", "private"],
    ["http://[64:ff9b::a00:1]/", "private"],
    ["https://172.32.0.1/", "public"],
    ["https://registry-1.docker.io/", "public"],
    ["https://[2606:4700::1111]/", "public"],
    ["http://224.0.0.1/", "reserved"],
  ])("%s is %s", (url, cls) => {
    expect(classifyHost(host(url))).toBe(cls);
  });

  // Names only a resolver inside the network answers: refused unless named, like a private address.
  it.each([
    ["http://registry:5000/", "internal-name"], // single label: the resolver's search domains complete it
    ["http://registry./", "internal-name"],
    ["http://com/", "internal-name"],
    ["http://localhost.localdomain/", "internal-name"],
    ["http://registry.localdomain/", "internal-name"],
    ["http://printer.local/", "internal-name"],
    ["http://registry.kube-system.svc.cluster.local/", "internal-name"],
    ["http://registry.corp.internal:5000/", "internal-name"],
    ["http://REGISTRY.Internal./", "internal-name"],
    ["http://app.localhost/", "internal-name"],
    // Bare localhost stays loopback (RFC 6761; Docker's and the lab's name for it), metadata names stay metadata.
    ["http://localhost/", "loopback"],
    ["http://localhost./", "loopback"],
    ["http://metadata/", "metadata"],
    ["http://metadata.google.internal./", "metadata"],
    ["http://instance-data.ec2.internal/", "metadata"],
    // Look-alikes that are ordinary DNS names.
    ["https://local.example.com/", "public"],
    ["https://internal.example/", "public"],
    ["https://registry.localhost.example/", "public"],
    ["https://mylocal/", "internal-name"],
  ])("name %s is %s", (url, cls) => {
    expect(classifyHost(host(url))).toBe(cls);
  });

  it.each([
    ["http://198.18.0.1/", "private"], // benchmarking 198.18/15
    ["http://198.19.255.255/", "private"],
    ["http://198.20.0.1/", "public"],
    ["http://198.17.255.255/", "public"],
    ["http://100.64.0.1/", "private"], // carrier-grade NAT 100.64/10
    ["http://100.127.255.255/", "private"],
    ["http://100.128.0.1/", "public"],
    ["http://240.0.0.1/", "reserved"], // 240/4
    ["http://255.255.255.255/", "reserved"],
    ["http://[fec0::1]/", "private"], // site-local fec0::/10
    ["http://[feff:1::1]/", "private"],
    ["http://[fe80::1]/", "link-local"],
  ])("IPv4/IPv6 range %s is %s", (url, cls) => {
    expect(classifyHost(host(url))).toBe(cls);
  });

  it.each([
    // NAT64, well-known prefix 64:ff9b::/96 (RFC 6052): the IPv4 address in its last 32 bits decides.
    ["http://[64:ff9b::10.0.0.1]/", "private"],
    ["http://[64:ff9b::169.254.169.254]/", "metadata"],
    ["http://[64:ff9b::127.0.0.1]/", "loopback"],
    ["http://[64:ff9b::192.168.1.1]/", "private"],
    ["http://[64:ff9b::8.8.8.8]/", "public"],
    // 6to4 2002::/16 (RFC 3056): the IPv4 address in bits 16-47.
    ["http://[2002:a00:1::1]/", "private"],
    ["http://[2002:a9fe:a9fe::]/", "metadata"],
    ["http://[2002:7f00:1::1]/", "loopback"],
    ["http://[2002:c0a8:101:5::1]/", "private"],
    ["http://[2002:ac10:1::]/", "private"],
    ["http://[2002:808:808::1]/", "public"],
    ["http://[2002::1]/", "unspecified"],
    // IPv4-compatible ::/96 (deprecated) and IPv4-mapped ::ffff:0:0/96: judged the same way.
    ["http://[::10.0.0.1]/", "private"],
    ["http://[::169.254.169.254]/", "metadata"],
    ["http://[::127.0.0.2]/", "loopback"],
    ["http://[::8.8.8.8]/", "public"],
    ["http://[::ffff:127.0.0.1]/", "loopback"],
    ["http://[::ffff:8.8.8.8]/", "public"],
    // IPv4-translated (SIIT) ::ffff:0:0:0/96.
    ["http://[::ffff:0:10.0.0.1]/", "private"],
    ["http://[::ffff:0:8.8.8.8]/", "public"],
    // Local-use NAT64 64:ff9b:1::/48 (RFC 8215): inside, whatever it carries; metadata where any RFC 6052 layout reads it.
    ["http://[64:ff9b:1::8.8.8.8]/", "private"],
    ["http://[64:ff9b:1::10.0.0.1]/", "private"],
    ["http://[64:ff9b:1:ffff::8.8.8.8]/", "private"],
    ["http://[64:ff9b:1::169.254.169.254]/", "metadata"],
    ["http://[64:ff9b:1:a9fe:a9:fe00::]/", "metadata"], // a /48 prefix: the IPv4 address in bits 48-63 and 72-87
  ])("embedded IPv4 %s is %s", (url, cls) => {
    expect(classifyHost(host(url))).toBe(cls);
  });

  it("sees the host as the URL parser normalises it (hex, octal, integer, short, percent-encoded, full-width)", () => {
    for (const url of ["http://0xa.0.0.1/", "http://012.0.0.1/", "http://167772161/", "http://10.1/", "http://%31%30.0.0.1/", "http://１０.0.0.1/", "http://10.0.0.1./"]) {
      expect(host(url), url).toBe("10.0.0.1");
      expect(classifyHost(host(url)), url).toBe("private");
    }
    expect(classifyHost(host("http://0xc6.0x12.1.1/"))).toBe("private"); // 198.18.1.1
    expect(classifyHost(host("http://4043309057/"))).toBe("reserved"); // 241.0.0.1
    expect(classifyHost(host("http://[0:0:0:0:0:ffff:7f00:1]/"))).toBe("loopback");
    expect(classifyHost(host("http://[0064:FF9B:0000::0A00:0001]/"))).toBe("private");
    expect(classifyHost(host("http://REGISTRY:5000/"))).toBe("internal-name");
  });
});

describe("checkEgress", () => {
  const policy: EgressPolicy = { allowLoopback: true, namedHosts: ["10.0.0.1:5000", "registry.internal", "192.168.7.7"], maxRedirects: 3 };

  it("refuses private, link-local, unique-local, metadata and 0/8 addresses nobody named", () => {
    for (const url of ["http://10.0.0.2/", "http://169.254.10.10/", "http://[fd00::1]/", "http://169.254.169.254/", "http://0.0.0.0:80/"]) {
      const r = checkEgress(new URL(url), policy);
      expect(r.ok, url).toBe(false);
      if (!r.ok) expect(r.error.message).toMatch(/^refused to contact /);
    }
  });

  it("allows a private host the configuration names, on the port it names", () => {
    expect(checkEgress(new URL("http://10.0.0.1:5000/v2/"), policy).ok).toBe(true);
    expect(checkEgress(new URL("http://10.0.0.1:5001/v2/"), policy).ok).toBe(false);
    expect(checkEgress(new URL("http://192.168.7.7:8443/"), policy).ok).toBe(true);
  });

  it("reads a configured scheme-default port as that port: h:443 names https://h/ only, h:80 http://h/ only", () => {
    const ports = { ...policy, namedHosts: ["10.0.0.5:443", "10.0.0.6:80"] };
    expect(checkEgress(new URL("https://10.0.0.5/v2/"), ports).ok).toBe(true);
    expect(checkEgress(new URL("https://10.0.0.5:443/v2/"), ports).ok).toBe(true);
    expect(checkEgress(new URL("http://10.0.0.5/v2/"), ports).ok).toBe(false);
    expect(checkEgress(new URL("http://10.0.0.6/v2/"), ports).ok).toBe(true);
    expect(checkEgress(new URL("http://10.0.0.6:8080/v2/"), ports).ok).toBe(false);
    expect(checkEgress(new URL("https://10.0.0.6/v2/"), ports).ok).toBe(false);
  });

  it("never allows a metadata address, named or not", () => {
    const named = { ...policy, namedHosts: ["169.254.169.254", "metadata.google.internal"] };
    expect(checkEgress(new URL("http://169.254.169.254/"), named).ok).toBe(false);
    expect(checkEgress(new URL("http://metadata.google.internal/"), named).ok).toBe(false);
  });

  it("allows loopback by default, and refuses it when turned off", () => {
    expect(checkEgress(new URL("http://127.0.0.1:5000/"), DEFAULT_EGRESS_POLICY).ok).toBe(true);
    expect(checkEgress(new URL("http://127.0.0.1:5000/"), { ...DEFAULT_EGRESS_POLICY, allowLoopback: false }).ok).toBe(false);
  });

  it("refuses internal names nobody named, saying what they are", () => {
    for (const url of ["http://registry:5000/v2/", "https://localhost.localdomain/", "https://r.local/", "https://r.corp.internal/", "http://r.localhost:5000/"]) {
      const r = checkEgress(new URL(url), policy);
      expect(r.ok, url).toBe(false);
      if (!r.ok) {
        expect(r.error.addressClass, url).toBe("internal-name");
        expect(r.error.why, url).toBe(
          "it is an internal name (single-label, or under .local, .localdomain, .internal or .localhost), and neither the configuration (EGRESS_ALLOWED_HOSTS) nor the matching rule names it",
        );
      }
    }
  });

  it("allows an internal name the configuration names, on the port it names", () => {
    // "registry.internal" is configured above (every port).
    expect(checkEgress(new URL("https://registry.internal/v2/"), policy).ok).toBe(true);
    expect(checkEgress(new URL("https://registry.internal:5000/v2/"), policy).ok).toBe(true);
    const ports = { ...policy, namedHosts: ["registry:5000", "r.local:443"] };
    expect(checkEgress(new URL("http://registry:5000/v2/"), ports).ok).toBe(true);
    expect(checkEgress(new URL("http://registry:5001/v2/"), ports).ok).toBe(false);
    expect(checkEgress(new URL("https://r.local/v2/"), ports).ok).toBe(true);
    expect(checkEgress(new URL("http://r.local/v2/"), ports).ok).toBe(false);
  });

  it("judges an IPv4 address inside an IPv6 one as that address, in the message too", () => {
    for (const [url, why] of [
      ["http://[2002:a00:1::1]/", "it is a private address (6to4 of 10.0.0.1), and neither"],
      ["http://[64:ff9b::a00:1]/", "it is a private address (NAT64 of 10.0.0.1), and neither"],
      ["http://[::ffff:0:a00:1]/", "it is a private address (IPv4-translated 10.0.0.1), and neither"],
      ["http://[64:ff9b:1::808:808]/", "it is a private address (local-use NAT64 64:ff9b:1::/48), and neither"],
      ["http://[fec0::5]/", "it is a private address (site-local fec0::/10), and neither"],
      ["http://198.18.0.5/", "it is a private address, and neither"],
      ["http://[2002:a9fe:a9fe::1]/", "it is a cloud metadata address (6to4 of 169.254.169.254), never an upstream"],
      ["http://[::ffff:a9fe:a9fe]/", "it is a cloud metadata address (IPv4-mapped 169.254.169.254), never an upstream"],
    ] as const) {
      const r = checkEgress(new URL(url), policy);
      expect(r.ok, url).toBe(false);
      if (!r.ok) expect(r.error.why.slice(0, why.length), url).toBe(why);
    }
    expect(checkEgress(new URL("https://[64:ff9b::808:808]/"), policy).ok).toBe(true);
    expect(checkEgress(new URL("https://[2002:808:808::1]/"), policy).ok).toBe(true);
  });

  it("a loopback address behind a translator (NAT64, 6to4, SIIT) is another machine's: refused even while loopback is allowed", () => {
    for (const url of ["http://[64:ff9b::7f00:1]:5000/", "http://[2002:7f00:1::1]:5000/", "http://[::ffff:0:7f00:1]:5000/"]) {
      const r = checkEgress(new URL(url), DEFAULT_EGRESS_POLICY);
      expect(r.ok, url).toBe(false);
      if (!r.ok) {
        expect(r.error.addressClass, url).toBe("loopback");
        expect(r.error.why, url).toMatch(/^it is a loopback address \((NAT64 of|6to4 of|IPv4-translated) 127\.0\.0\.1\), and neither the configuration/);
      }
      // Named, it opens like a private address.
      expect(checkEgress(new URL(url), { ...DEFAULT_EGRESS_POLICY, namedHosts: [new URL(url).host] }).ok, url).toBe(true);
    }
    // This machine's own IPv4 stack (mapped, compatible): loopback as 127.0.0.1 is, under ALLOW_LOOPBACK_UPSTREAMS.
    for (const url of ["http://[::ffff:127.0.0.1]:5000/", "http://[::127.0.0.1]:5000/"]) {
      expect(checkEgress(new URL(url), DEFAULT_EGRESS_POLICY).ok, url).toBe(true);
      expect(checkEgress(new URL(url), { ...DEFAULT_EGRESS_POLICY, allowLoopback: false }).ok, url).toBe(false);
    }
  });

  it("refuses schemes other than http and https", () => {
    expect(checkEgress(new URL("file:///etc/passwd"), policy).ok).toBe(false);
  });
});

describe("egressFetch", () => {
  function scripted(routes: Record<string, () => Response>) {
    const seen: { url: string; auth: string | null; redirect: string }[] = [];
    const fetch = async (req: Request) => {
      seen.push({ url: req.url, auth: req.headers.get("authorization"), redirect: req.redirect });
      const route = routes[req.url];
      if (!route) throw new Error(`unexpected fetch ${req.url}`);
      return route();
    };
    return { fetch, seen };
  }
  const redirect = (to: string, status = 307) => () => new Response(null, { status, headers: { location: to } });

  it("refuses before any connection", async () => {
    const s = scripted({});
    await expect(egressFetch(s.fetch)(new Request("http://169.254.169.254/latest/meta-data"))).rejects.toBeInstanceOf(EgressRefusedError);
    expect(s.seen).toHaveLength(0);
  });

  it("follows a blob redirect to public object storage, without the registry's token", async () => {
    const s = scripted({
      "https://registry.example/v2/a/blobs/sha256:1": redirect("https://storage.example/blob?sig=x"),
      "https://storage.example/blob?sig=x": () => new Response("bytes"),
    });
    const res = await egressFetch(s.fetch)(new Request("https://registry.example/v2/a/blobs/sha256:1", { headers: { authorization: "Bearer t" } }));
    expect(await res.text()).toBe("bytes");
    expect(s.seen.map((x) => [x.url, x.auth, x.redirect])).toEqual([
      ["https://registry.example/v2/a/blobs/sha256:1", "Bearer t", "manual"],
      ["https://storage.example/blob?sig=x", null, "manual"],
    ]);
  });

  it("keeps the token on a same-origin redirect", async () => {
    const s = scripted({
      "https://registry.example/a": redirect("/b"),
      "https://registry.example/b": () => new Response("ok"),
    });
    await egressFetch(s.fetch)(new Request("https://registry.example/a", { headers: { authorization: "Bearer t" } }));
    expect(s.seen[1]!.auth).toBe("Bearer t");
  });

  it("refuses redirects into private, metadata or loopback addresses from a public host", async () => {
    for (const to of [
      "http://169.254.169.254/",
      "https://10.0.0.1/",
      "https://127.0.0.1:5000/",
      "https://[::ffff:a9fe:a9fe]/",
      "https://registry:5000/",
      "https://r.internal/",
      "https://[2002:a00:1::1]/",
      "https://[64:ff9b::7f00:1]/",
    ]) {
      const s = scripted({ "https://registry.example/a": redirect(to) });
      const policy = { ...DEFAULT_EGRESS_POLICY, namedHosts: ["10.0.0.1"] };
      await expect(egressFetch(s.fetch, policy)(new Request("https://registry.example/a")), to).rejects.toBeInstanceOf(EgressRefusedError);
      expect(s.seen).toHaveLength(1);
    }
  });

  it("refuses an https to http downgrade", async () => {
    const s = scripted({ "https://registry.example/a": redirect("http://storage.example/a") });
    await expect(egressFetch(s.fetch)(new Request("https://registry.example/a"))).rejects.toThrow(/down to http/);
  });

  it("follows at most maxRedirects hops", async () => {
    const s = scripted({
      "https://r.example/0": redirect("https://r.example/1"),
      "https://r.example/1": redirect("https://r.example/2"),
      "https://r.example/2": redirect("https://r.example/3"),
      "https://r.example/3": redirect("https://r.example/4"),
    });
    await expect(egressFetch(s.fetch)(new Request("https://r.example/0"))).rejects.toThrow(/more than 3 redirects/);
    expect(s.seen).toHaveLength(4);
  });

  it("lets the loopback lab redirect within loopback", async () => {
    const s = scripted({
      "http://127.0.0.1:5000/a": redirect("http://127.0.0.1:5001/b"),
      "http://127.0.0.1:5001/b": () => new Response("ok"),
    });
    expect(await (await egressFetch(s.fetch)(new Request("http://127.0.0.1:5000/a"))).text()).toBe("ok");
  });
});

describe("hosts the matching rule names (per decision)", () => {
  const config: EgressPolicy = { allowLoopback: true, namedHosts: ["192.168.7.7"], maxRedirects: 3 };
  const ok = (url: string, rule: string[], policy = config) => checkEgress(new URL(url), policy, rule).ok;

  it("opens a private, link-local or unique-local host the rule names, on the port it names", () => {
    expect(ok("https://10.0.0.5:5000/v2/", [])).toBe(false);
    expect(ok("https://10.0.0.5:5000/v2/", ["10.0.0.5:5000"])).toBe(true);
    expect(ok("http://10.0.0.5:5000/v2/", ["10.0.0.5:5000"])).toBe(true);
    expect(ok("https://10.0.0.5:5001/v2/", ["10.0.0.5:5000"])).toBe(false);
    expect(ok("https://10.0.0.6/v2/", ["10.0.0.5:5000"])).toBe(false);
    expect(ok("http://169.254.3.3:8080/", ["169.254.3.3:8080"])).toBe(true);
    expect(ok("https://[fd00::5]:5000/v2/", ["[fd00::5]:5000"])).toBe(true);
    // The URL parser's other spellings of the same address are the same host.
    expect(ok("https://0x0a.0.0.5:5000/v2/", ["10.0.0.5:5000"])).toBe(true);
    expect(ok("https://10.0.0.5:5000/v2/", ["0x0a.0.0.5:5000"])).toBe(true);
  });

  it("a name without a port is the scheme's default port only (a registry written without one)", () => {
    expect(ok("https://10.0.0.6/v2/", ["10.0.0.6"])).toBe(true);
    expect(ok("http://10.0.0.6/v2/", ["10.0.0.6"])).toBe(true);
    expect(ok("https://10.0.0.6:8443/v2/", ["10.0.0.6"])).toBe(false);
    // "host:443" is https's default port, and what a URL like https://10.0.0.7/ names.
    expect(ok("https://10.0.0.7/v2/", ["10.0.0.7:443"])).toBe(true);
    expect(ok("http://10.0.0.7/v2/", ["10.0.0.7:443"])).toBe(false);
  });

  it("opens an internal name the rule names, on the port it names, as it opens a private address", () => {
    expect(ok("http://registry:5000/v2/", [])).toBe(false);
    expect(ok("http://registry:5000/v2/", ["registry:5000"])).toBe(true);
    expect(ok("http://registry:5001/v2/", ["registry:5000"])).toBe(false);
    expect(ok("https://notary.corp.internal:4443/v2/", ["notary.corp.internal:4443"])).toBe(true);
    expect(ok("https://NOTARY.corp.internal:4443/v2/", ["notary.CORP.internal:4443"])).toBe(true);
    expect(ok("https://r.local/v2/", ["r.local"])).toBe(true);
    expect(ok("https://r.local:8443/v2/", ["r.local"])).toBe(false);
    expect(ok("https://other.local/v2/", ["r.local"])).toBe(false);
    // Naming the 6to4 or NAT64 form of a private or translated-loopback address opens it the same way.
    expect(ok("http://[2002:a00:5::1]:5000/v2/", ["[2002:a00:5::1]:5000"])).toBe(true);
    expect(ok("http://[64:ff9b::7f00:1]:5000/v2/", ["[64:ff9b::7f00:1]:5000"])).toBe(true);
  });

  it("never opens metadata, unspecified or reserved addresses, nor other schemes", () => {
    for (const [url, name] of [
      ["http://169.254.169.254/latest", "169.254.169.254"],
      ["http://169.254.169.254:80/latest", "169.254.169.254:80"],
      ["http://[fd00:ec2::254]/", "[fd00:ec2::254]"],
      ["http://metadata.google.internal/", "metadata.google.internal"],
      ["http://0.0.0.0:5000/", "0.0.0.0:5000"],
      ["http://224.0.0.1/", "224.0.0.1"],
      ["http://[2002:a9fe:a9fe::1]/", "[2002:a9fe:a9fe::1]"],
      ["http://[64:ff9b:1::a9fe:a9fe]/", "[64:ff9b:1::a9fe:a9fe]"],
      ["http://240.1.2.3/", "240.1.2.3"],
      ["http://metadata/", "metadata"],
      ["ftp://10.0.0.5/", "10.0.0.5"],
    ]) {
      const r = checkEgress(new URL(url!), config, [name!]);
      expect(r.ok, url).toBe(false);
    }
  });

  it("opens loopback when the configuration turns it off, only where named", () => {
    const noLoopback = { ...config, allowLoopback: false };
    expect(ok("http://127.0.0.1:5000/v2/", [], noLoopback)).toBe(false);
    expect(ok("http://127.0.0.1:5000/v2/", ["127.0.0.1:5000"], noLoopback)).toBe(true);
    expect(ok("http://127.0.0.1:5001/v2/", ["127.0.0.1:5000"], noLoopback)).toBe(false);
  });

  it("says who could have named it", () => {
    const r = checkEgress(new URL("https://10.0.0.5:5000/v2/"), config, ["10.0.0.9"]);
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.message).toBe(
        "refused to contact 10.0.0.5:5000: it is a private address, and neither the configuration (EGRESS_ALLOWED_HOSTS) nor the matching rule names it",
      );
    }
  });

  it("naming() gives one guard per set of names, and the guard itself when nothing is opened", () => {
    const root = egressFetch(async () => new Response("ok"), config);
    const a = root.naming!(["10.0.0.5:5000", "10.9.9.9:443"]);
    expect(a).not.toBe(root);
    expect(root.naming!(["10.9.9.9:443", "10.0.0.5:5000"])).toBe(a);
    expect(root.naming!(["10.0.0.5:5000"])).not.toBe(a);
    // Public hosts, metadata, loopback while it is allowed, unreadable entries: nothing to open.
    expect(root.naming!(["registry.example.com", "169.254.169.254", "127.0.0.1:5000", "not a host", ""])).toBe(root);
    expect(root.naming!([])).toBe(root);
    // Internal names and a translator's loopback are opened by a rule's name; this machine's loopback is not closed.
    expect(root.naming!(["registry:5000"])).not.toBe(root);
    expect(root.naming!(["r.corp.internal"])).not.toBe(root);
    expect(root.naming!(["[64:ff9b::7f00:1]:5000"])).not.toBe(root);
    expect(root.naming!(["localhost:5000", "[::ffff:127.0.0.1]:5000"])).toBe(root);
    // Names of two rules never add up: a guard's naming starts from the configuration again.
    expect(a.naming!(["10.0.0.6"])).toBe(root.naming!(["10.0.0.6"]));
  });

  function scripted(routes: Record<string, () => Response>) {
    const seen: string[] = [];
    const fetch = async (req: Request) => {
      seen.push(req.url);
      const route = routes[req.url];
      if (!route) throw new Error(`unexpected fetch ${req.url}`);
      return route();
    };
    return { fetch, seen };
  }
  const redirect = (to: string) => () => new Response(null, { status: 307, headers: { location: to } });

  it("the guard a rule names contacts its host; the configuration's guard still refuses it, before any connection", async () => {
    const s = scripted({ "https://10.0.0.5:5000/v2/": () => new Response("ok") });
    const root = egressFetch(s.fetch, config);
    await expect(root(new Request("https://10.0.0.5:5000/v2/"))).rejects.toBeInstanceOf(EgressRefusedError);
    expect(s.seen).toEqual([]);
    expect(await (await root.naming!(["10.0.0.5:5000"])(new Request("https://10.0.0.5:5000/v2/"))).text()).toBe("ok");
    expect(s.seen).toEqual(["https://10.0.0.5:5000/v2/"]);
  });

  it("redirects go only where the configuration allows: never to a host only the rule names, itself included", async () => {
    for (const to of ["https://10.0.0.6/blob", "https://10.0.0.5:5000/v2/other", "http://169.254.169.254/"]) {
      const s = scripted({ "https://10.0.0.5:5000/v2/": redirect(to) });
      const named = egressFetch(s.fetch, config).naming!(["10.0.0.5:5000", "10.0.0.6"]);
      const err = await named(new Request("https://10.0.0.5:5000/v2/")).catch((e: unknown) => e);
      expect(err, to).toBeInstanceOf(EgressRefusedError);
      expect(s.seen, to).toEqual(["https://10.0.0.5:5000/v2/"]);
    }
    const s = scripted({ "https://10.0.0.5:5000/v2/": redirect("https://10.0.0.6/blob") });
    const err = (await egressFetch(s.fetch, config).naming!(["10.0.0.5:5000", "10.0.0.6"])(new Request("https://10.0.0.5:5000/v2/")).catch((e: unknown) => e)) as Error;
    expect(err.message).toBe(
      "refused to contact 10.0.0.6: redirect from 10.0.0.5:5000: it is a private address, and no configuration names it (EGRESS_ALLOWED_HOSTS; redirects go only where the configuration allows)",
    );
  });

  it("a host the rule names may redirect to one the configuration names, and to public storage", async () => {
    const s = scripted({
      "https://10.0.0.5:5000/a": redirect("https://192.168.7.7/b"),
      "https://192.168.7.7/b": redirect("https://storage.example/c"),
      "https://storage.example/c": () => new Response("blob"),
    });
    const named = egressFetch(s.fetch, config).naming!(["10.0.0.5:5000"]);
    expect(await (await named(new Request("https://10.0.0.5:5000/a"))).text()).toBe("blob");
    expect(s.seen).toHaveLength(3);
  });
});
