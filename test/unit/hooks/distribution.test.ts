// Distribution notification envelopes: manifest pushes picked out, hosts and names checked, bad shapes refused.
import { describe, expect, it } from "vitest";
import { HookPayloadError, MAX_EVENTS, MAX_IMAGES, MAX_ISSUES } from "../../../src/hooks/common";
import { isManifestPush, parseDistributionEnvelope, registryHostOf } from "../../../src/hooks/distribution";

type RawGlob = (pattern: string, options: { query: "?raw"; import: "default"; eager: true }) => Record<string, string>;
const files = (import.meta as ImportMeta & { glob: RawGlob }).glob("../../vectors/hooks/*.json", { query: "?raw", import: "default", eager: true });
const vector = (name: string): any => JSON.parse(files[`../../vectors/hooks/${name}`]!);

const DIGEST = `sha256:${"c".repeat(64)}`;
const OTHER = `sha256:${"d".repeat(64)}`;

function event(overrides: Record<string, unknown> = {}, target: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    id: "e1",
    timestamp: "2026-01-02T03:04:05Z",
    action: "push",
    target: {
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      size: 401,
      digest: DIGEST,
      length: 401,
      repository: "team/app",
      url: `https://registry.example.com/v2/team/app/manifests/${DIGEST}`,
      tag: "v1",
      ...target,
    },
    request: { id: "r1", addr: "10.0.0.9:5555", host: "registry.example.com", method: "PUT", useragent: "skopeo/1.9.3" },
    actor: { name: "ci" },
    source: { addr: "reg-0:5000", instanceID: "i1" },
    ...overrides,
  };
}

function problems(body: unknown): { path: string; message: string }[] {
  try {
    parseDistributionEnvelope(body);
  } catch (err) {
    expect(err).toBeInstanceOf(HookPayloadError);
    return [...(err as HookPayloadError).issues];
  }
  throw new Error("expected a HookPayloadError");
}

describe("parseDistributionEnvelope on what docker-registry 2.8.2 really sent", () => {
  const capture = vector("distribution-2.8.2-skopeo.json");
  const host: string = capture.registryHost;
  const results = (capture.requests as any[]).map((r) => ({ step: r.step as string, batch: parseDistributionEnvelope(r.envelope) }));

  it("was one event per envelope, with the events media type", () => {
    expect(capture.requests).toHaveLength(14);
    for (const r of capture.requests) {
      expect(r.envelope.events).toHaveLength(1);
      expect(r.contentType).toBe("application/vnd.docker.distribution.events.v1+json");
    }
  });

  it("decides the two manifest pushes (v1, and v9 in the copy) by digest, with their tags", () => {
    const images = results.flatMap((r) => r.batch.images);
    expect(images).toEqual([
      {
        image: `${host}/demo/app@${capture.pushedDigest}`,
        digest: capture.pushedDigest,
        tag: "v1",
        eventId: capture.requests[2].envelope.events[0].id,
        actor: null, // no auth on the lab registry: "actor": {}
      },
      {
        image: `${host}/demo/other@${capture.pushedDigest}`,
        digest: capture.pushedDigest,
        tag: "v9",
        eventId: capture.requests[11].envelope.events[0].id,
        actor: null,
      },
    ]);
  });

  it("ignores blob pushes, pulls, the mount and the deletes, and rejects nothing", () => {
    expect(results.reduce((n, r) => n + r.batch.ignored, 0)).toBe(12);
    expect(results.flatMap((r) => r.batch.rejected)).toEqual([]);
    const ignoredSteps = results.filter((r) => r.batch.ignored > 0).map((r) => r.step);
    expect(ignoredSteps.filter((s) => s.startsWith("pull"))).toHaveLength(3);
    expect(ignoredSteps.filter((s) => s.startsWith("DELETE"))).toHaveLength(2);
  });
});

describe("parseDistributionEnvelope: which events are decided", () => {
  it("takes a push of each manifest and index media type", () => {
    for (const mediaType of [
      "application/vnd.oci.image.manifest.v1+json",
      "application/vnd.oci.image.index.v1+json",
      "application/vnd.docker.distribution.manifest.v2+json",
      "application/vnd.docker.distribution.manifest.list.v2+json",
      "application/vnd.docker.distribution.manifest.v1+prettyjws",
      "Application/VND.OCI.Image.Index.v1+JSON; charset=utf-8",
    ]) {
      const batch = parseDistributionEnvelope({ events: [event({}, { mediaType })] });
      expect(batch.images.map((i) => i.image), mediaType).toEqual([`registry.example.com/team/app@${DIGEST}`]);
    }
  });

  it("ignores blobs, layers, configs, pulls, mounts and deletes", () => {
    const events = [
      event({ id: "a" }, { mediaType: "application/octet-stream" }),
      event({ id: "b" }, { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip" }),
      event({ id: "c" }, { mediaType: "application/vnd.oci.image.config.v1+json" }),
      event({ id: "d", action: "pull" }),
      event({ id: "e", action: "mount" }, { mediaType: "application/octet-stream", fromRepository: "team/base" }),
      event({ id: "f", action: "delete" }, { mediaType: undefined, url: undefined, tag: undefined }),
      event({ id: "g", action: "delete" }, { mediaType: undefined, digest: undefined, url: undefined }),
      event({ id: "h" }, { mediaType: undefined }),
      event({ id: "i", action: "PUSH" }),
    ];
    expect(parseDistributionEnvelope({ events })).toEqual({ images: [], ignored: events.length, rejected: [] });
  });

  it("keeps the tag, the event ID and the actor for the verdict's context; a push by digest has no tag", () => {
    const [tagged, byDigest] = parseDistributionEnvelope({
      events: [event(), event({ id: "e2", actor: {} }, { tag: undefined, digest: OTHER })],
    }).images;
    expect(tagged).toEqual({ image: `registry.example.com/team/app@${DIGEST}`, digest: DIGEST, tag: "v1", eventId: "e1", actor: "ci" });
    expect(byDigest).toEqual({ image: `registry.example.com/team/app@${OTHER}`, digest: OTHER, tag: null, eventId: "e2", actor: null });
  });

  it("decides an event once when its ID repeats in the envelope, and counts the repeat as ignored", () => {
    const batch = parseDistributionEnvelope({ events: [event(), event(), event({ id: "e2" }), event()] });
    expect(batch.images.map((i) => i.eventId)).toEqual(["e1", "e2"]);
    expect(batch.ignored).toBe(2);
  });

  it("does not merge events without an ID, nor pushes of one digest under two tags", () => {
    const batch = parseDistributionEnvelope({
      events: [event({ id: undefined }), event({ id: undefined }), event({ id: "x" }, { tag: "latest" })],
    });
    expect(batch.images.map((i) => [i.eventId, i.tag])).toEqual([[null, "v1"], [null, "v1"], ["x", "latest"]]);
    expect(batch.ignored).toBe(0);
  });

  it("accepts an empty envelope and fields later versions add", () => {
    expect(parseDistributionEnvelope({ events: [] })).toEqual({ images: [], ignored: 0, rejected: [] });
    const batch = parseDistributionEnvelope({
      events: [event({ extra: { nested: [1] } }, { references: [{ digest: OTHER }], annotations: { a: "b" } })],
      future: true,
    });
    expect(batch.images).toHaveLength(1);
    expect(isManifestPush(event() as never)).toBe(true);
  });
});

describe("parseDistributionEnvelope: the registry host", () => {
  it("comes from target.url, which honours the registry's http.host", () => {
    const e = event({ request: { host: "internal:5000" } }, { url: `https://Registry.Example.com:8443/v2/team/app/manifests/${DIGEST}` });
    expect(registryHostOf(e as never)).toBe("registry.example.com:8443");
  });

  it("comes from request.host when the URL is relative (relativeurls) or missing", () => {
    for (const url of [`/v2/team/app/manifests/${DIGEST}`, undefined, ""]) {
      const e = event({ request: { host: "Reg.Example.com:5000" } }, { url });
      expect(parseDistributionEnvelope({ events: [e] }).images[0]!.image).toBe(`reg.example.com:5000/team/app@${DIGEST}`);
    }
  });

  it("keeps loopback ports and IPv6 addresses", () => {
    expect(registryHostOf(event({}, { url: `http://127.0.0.1:39943/v2/demo/app/manifests/${DIGEST}` }) as never)).toBe("127.0.0.1:39943");
    const v6 = event({}, { url: `http://[::1]:5000/v2/team/app/manifests/${DIGEST}` });
    expect(parseDistributionEnvelope({ events: [v6] }).images[0]!.image).toBe(`[::1]:5000/team/app@${DIGEST}`);
  });

  it("drops the scheme's default port, as the URL does", () => {
    expect(registryHostOf(event({}, { url: `https://registry.example.com:443/v2/x/manifests/${DIGEST}` }) as never)).toBe(
      "registry.example.com",
    );
  });
});

describe("parseDistributionEnvelope: manifest pushes that cannot be decided are rejected one by one", () => {
  const rejectedFor = (e: Record<string, unknown>) => {
    const batch = parseDistributionEnvelope({ events: [event({ id: "ok" }), e] });
    expect(batch.images.map((i) => i.eventId)).toEqual(["ok"]);
    expect(batch.rejected).toHaveLength(1);
    expect(batch.rejected[0]).toMatchObject({ eventId: e.id ?? null, path: "events[1]" });
    return batch.rejected[0]!.message;
  };

  it("the docs' own example: a placeholder digest", () => {
    const batch = parseDistributionEnvelope(vector("distribution-docs-example.json"));
    expect(batch.images).toEqual([]);
    expect(batch.ignored).toBe(2);
    expect(batch.rejected).toEqual([
      { eventId: "asdf-asdf-asdf-asdf-0", path: "events[0]", message: expect.stringContaining("sha256 digest must have 64 hex characters") },
    ]);
  });

  it("no digest, no repository, no host", () => {
    expect(rejectedFor(event({ id: "n1" }, { digest: undefined }))).toMatch(/without target\.digest/);
    expect(rejectedFor(event({ id: "n2" }, { repository: "" }))).toMatch(/without target\.repository/);
    expect(rejectedFor(event({ id: "n3", request: {} }, { url: undefined }))).toMatch(/names the registry host/);
  });

  it("a host that would be read as a Docker Hub namespace, or that smuggles a path", () => {
    expect(rejectedFor(event({ id: "h1", request: { host: "registry" } }, { url: "" }))).toMatch(/Docker Hub namespace/);
    expect(rejectedFor(event({ id: "h2", request: { host: "evil.example/x" } }, { url: "" }))).toMatch(/contains '\/' or '@'/);
    expect(rejectedFor(event({ id: "h3", request: { host: "a@b.example" } }, { url: "" }))).toMatch(/contains '\/' or '@'/);
  });

  it("a repository that is not a repository name, or that carries a tag", () => {
    expect(rejectedFor(event({ id: "r1" }, { repository: "Team/App" }))).toMatch(/must be lowercase/);
    expect(rejectedFor(event({ id: "r2" }, { repository: "team/app:v1" }))).toMatch(/not a repository name/);
    expect(rejectedFor(event({ id: "r3" }, { repository: "team//app" }))).toMatch(/empty path component/);
    expect(rejectedFor(event({ id: "r4" }, { repository: "team/app@sha256:x" }))).toMatch(/more than one '@'/);
  });

  it("a digest go-digest would refuse", () => {
    expect(rejectedFor(event({ id: "d1" }, { digest: `sha256:${"C".repeat(64)}` }))).toMatch(/lowercase hex/);
    expect(rejectedFor(event({ id: "d2" }, { digest: `md5:${"c".repeat(32)}` }))).toMatch(/unsupported digest algorithm/);
  });
});

describe("parseDistributionEnvelope: payloads that are not envelopes", () => {
  it("refuses anything but an object with an events array", () => {
    expect(problems(null)).toEqual([{ path: "", message: "expected a JSON object" }]);
    expect(problems([event()])).toEqual([{ path: "", message: "expected a JSON object" }]);
    expect(problems("events")).toEqual([{ path: "", message: "expected a JSON object" }]);
    expect(problems({})).toEqual([{ path: "events", message: "missing" }]);
    expect(problems({ events: { 0: event() } })).toEqual([{ path: "events", message: "expected an array" }]);
    // A Harbor payload sent to the wrong hook.
    expect(problems(vector("harbor-push-default.json"))).toEqual([{ path: "events", message: "missing" }]);
  });

  it("names each field of the wrong type by its path", () => {
    const issues = problems({
      events: [event(), 7, event({ action: 1 }), event({}, { digest: 42, tag: ["v1"] }), event({ request: "r" }), event({ actor: { name: {} } })],
    });
    expect(issues.map((i) => i.path)).toEqual([
      "events[1]",
      "events[2].action",
      "events[3].target.digest",
      "events[3].target.tag",
      "events[4].request",
      "events[5].actor.name",
    ]);
  });

  it("bounds field sizes", () => {
    expect(problems({ events: [event({ id: "x".repeat(257) })] }).map((i) => i.path)).toEqual(["events[0].id"]);
    expect(problems({ events: [event({}, { url: `https://r.example/${"a".repeat(5000)}` })] }).map((i) => i.path)).toEqual([
      "events[0].target.url",
    ]);
  });

  it("reports at most MAX_ISSUES problems, however many events are bad", () => {
    let thrown: HookPayloadError | undefined;
    try {
      parseDistributionEnvelope({ events: Array.from({ length: 5000 }, () => 0) });
    } catch (err) {
      thrown = err as HookPayloadError;
    }
    expect(thrown).toBeInstanceOf(HookPayloadError);
    expect(thrown!.issues).toHaveLength(MAX_ISSUES);
    expect(thrown!.more).toBe(5000 - MAX_ISSUES);
    expect(thrown!.message).toMatch(/\(and 4980 more problems\)$/);
    expect(thrown!.message.length).toBeLessThan(3000);
  });

  it("refuses more than MAX_EVENTS events before reading any of them", () => {
    const events = Array.from({ length: MAX_EVENTS + 1 }, () => 0);
    expect(problems({ events })).toEqual([{ path: "events", message: `${MAX_EVENTS + 1} events; at most ${MAX_EVENTS} per envelope` }]);
  });

  it("refuses more than MAX_IMAGES manifest pushes in one envelope", () => {
    const events = Array.from({ length: MAX_IMAGES + 1 }, (_, i) => event({ id: `e${i}` }));
    expect(problems({ events })).toEqual([
      { path: "events", message: `${MAX_IMAGES + 1} manifest pushes; at most ${MAX_IMAGES} per envelope` },
    ]);
    // Ignored events do not count against the limit.
    const mixed = [...events.slice(0, MAX_IMAGES), ...events.map((e) => ({ ...e, id: `p${String(e.id)}`, action: "pull" }))];
    expect(parseDistributionEnvelope({ events: mixed }).images).toHaveLength(MAX_IMAGES);
  });
});
