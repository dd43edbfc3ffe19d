// Harbor webhooks: PUSH_ARTIFACT in the Default and CloudEvents formats, other types ignored, bad shapes refused.
import { describe, expect, it } from "vitest";
import { HookPayloadError, MAX_IMAGES, tagOrNull } from "../../../src/hooks/common";
import { hostOfResourceUrl, parseHarborPayload } from "../../../src/hooks/harbor";

type RawGlob = (pattern: string, options: { query: "?raw"; import: "default"; eager: true }) => Record<string, string>;
const files = (import.meta as ImportMeta & { glob: RawGlob }).glob("../../vectors/hooks/*.json", { query: "?raw", import: "default", eager: true });
const vector = (name: string): any => JSON.parse(files[`../../vectors/hooks/${name}`]!);

const D = "sha256:dde8e930c7b6a490f728e66292bc9bce42efc9bbb5278bae40e4f30f6e00fe8c";
const OTHER = `sha256:${"e".repeat(64)}`;

function push(resources: unknown[], repository: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    type: "PUSH_ARTIFACT",
    occur_at: 1678082303,
    operator: "admin",
    event_data: {
      resources,
      repository: { date_created: 1677053165, name: "app", namespace: "team", repo_full_name: "team/app", repo_type: "private", ...repository },
    },
  };
}

function problems(body: unknown): { path: string; message: string }[] {
  try {
    parseHarborPayload(body);
  } catch (err) {
    expect(err).toBeInstanceOf(HookPayloadError);
    return [...(err as HookPayloadError).issues];
  }
  throw new Error("expected a HookPayloadError");
}

describe("parseHarborPayload: pushes", () => {
  it("decides a tagged push by digest, on the registry host of resource_url", () => {
    expect(parseHarborPayload(vector("harbor-push-default.json"))).toEqual({
      images: [{ image: `harbor.dev/library/busybox@${D}`, digest: D, tag: "1.36", eventId: null, actor: "admin" }],
      ignored: 0,
      rejected: [],
    });
  });

  it("reads a push by digest (Harbor puts the digest in `tag`) as untagged", () => {
    expect(parseHarborPayload(vector("harbor-push-by-digest-default.json")).images).toEqual([
      { image: `harbor.dev/library/busybox@${D}`, digest: D, tag: null, eventId: null, actor: "robot$library+ci" },
    ]);
  });

  it("reads the CloudEvents format, with its event ID", () => {
    expect(parseHarborPayload(vector("harbor-push-cloudevents.json"))).toEqual({
      images: [{ image: `harbor.dev/library/busybox@${D}`, digest: D, tag: "1.36", eventId: "4b2f89a6-548d-4c12-9993-a1f5790b97d2", actor: "admin" }],
      ignored: 0,
      rejected: [],
    });
  });

  it("keeps a port in the external URL, and tolerates a scheme in resource_url", () => {
    const batch = parseHarborPayload(
      push([
        { digest: D, tag: "v1", resource_url: "harbor.example.com:8443/team/app:v1" },
        { digest: OTHER, tag: "v2", resource_url: "https://Harbor.Example.com/team/app:v2" },
      ]),
    );
    expect(batch.images.map((i) => i.image)).toEqual([`harbor.example.com:8443/team/app@${D}`, `harbor.example.com/team/app@${OTHER}`]);
  });

  it("falls back to namespace/name without repo_full_name", () => {
    const batch = parseHarborPayload(push([{ digest: D, tag: "v1", resource_url: "h.example/team/app:v1" }], { repo_full_name: undefined }));
    expect(batch.images.map((i) => i.image)).toEqual([`h.example/team/app@${D}`]);
  });

  it("decides a repeated resource once", () => {
    const r = { digest: D, tag: "v1", resource_url: "h.example/team/app:v1" };
    const batch = parseHarborPayload(push([r, r, { ...r, tag: "v2", resource_url: "h.example/team/app:v2" }]));
    expect(batch.images.map((i) => i.tag)).toEqual(["v1", "v2"]);
    expect(batch.ignored).toBe(1);
  });
});

describe("parseHarborPayload: other event types", () => {
  it("counts a pull, a delete, a scan or a quota event as one ignored event, whatever its data", () => {
    expect(parseHarborPayload(vector("harbor-pull-default.json"))).toEqual({ images: [], ignored: 1, rejected: [] });
    for (const type of ["DELETE_ARTIFACT", "SCANNING_COMPLETED", "QUOTA_EXCEED", "REPLICATION", "TAG_RETENTION", "push_artifact"]) {
      expect(parseHarborPayload({ type, occur_at: 1, operator: "x", event_data: { custom_attributes: { a: "b" } } }).ignored).toBe(1);
    }
    const pulled = { ...vector("harbor-push-cloudevents.json"), type: "harbor.artifact.pulled" };
    expect(parseHarborPayload(pulled)).toEqual({ images: [], ignored: 1, rejected: [] });
  });

  it("does not take the Default type name in the CloudEvents format, nor the other way round", () => {
    expect(parseHarborPayload({ ...vector("harbor-push-cloudevents.json"), type: "PUSH_ARTIFACT" }).ignored).toBe(1);
    expect(parseHarborPayload({ ...vector("harbor-push-default.json"), type: "harbor.artifact.pushed" }).ignored).toBe(1);
  });
});

describe("parseHarborPayload: pushes that cannot be decided", () => {
  it("rejects a resource without a digest, or without a usable resource_url", () => {
    const batch = parseHarborPayload(
      push([
        { tag: "v1", resource_url: "h.example/team/app:v1" },
        { digest: D, tag: "v1" },
        { digest: D, tag: "v2", resource_url: "h.example/other/app:v2" },
        { digest: D, tag: "v3", resource_url: "/team/app:v3" },
        { digest: OTHER, tag: "v4", resource_url: "h.example/team/app:v4" },
      ]),
    );
    expect(batch.images.map((i) => i.tag)).toEqual(["v4"]);
    expect(batch.rejected).toEqual([
      { eventId: null, path: "event_data.resources[0]", message: "a pushed artifact without a digest" },
      { eventId: null, path: "event_data.resources[1]", message: "no resource_url, so the registry host is unknown" },
      { eventId: null, path: "event_data.resources[2]", message: expect.stringContaining("is not <registry host>/team/app") },
      { eventId: null, path: "event_data.resources[3]", message: expect.stringContaining("is not <registry host>/team/app") },
    ]);
  });

  it("rejects a host Docker would read as a namespace, and a bad digest", () => {
    const batch = parseHarborPayload(
      push([
        { digest: D, tag: "v1", resource_url: "harbor/team/app:v1" },
        { digest: "sha256:abc", tag: "v2", resource_url: "h.example/team/app:v2" },
      ]),
    );
    expect(batch.images).toEqual([]);
    expect(batch.rejected.map((r) => r.message)).toEqual([
      expect.stringContaining("Docker Hub namespace"),
      expect.stringContaining("sha256 digest must have 64 hex characters"),
    ]);
  });

  it("rejects a push without a repository name", () => {
    const batch = parseHarborPayload(
      push([{ digest: D, tag: "v1", resource_url: "h.example/team/app:v1" }], { repo_full_name: "", namespace: "" }),
    );
    expect(batch.rejected).toEqual([{ eventId: null, path: "event_data.repository", message: "no repo_full_name (nor namespace and name)" }]);
  });

  it("hostOfResourceUrl needs the repository right after the host", () => {
    expect(hostOfResourceUrl(`h.example/team/app@${D}`, "team/app")).toEqual({ host: "h.example" });
    expect(hostOfResourceUrl("h.example/team/app", "team/app")).toEqual({ host: "h.example" });
    expect(hostOfResourceUrl("h.example/team/application:v1", "team/app")).toHaveProperty("problem");
    expect(hostOfResourceUrl("h.example/x/team/app:v1", "team/app")).toHaveProperty("problem");
  });

  it("tagOrNull drops digests and empty tags", () => {
    expect(tagOrNull("v1", D)).toBe("v1");
    expect(tagOrNull(D, D)).toBeNull();
    expect(tagOrNull(OTHER, D)).toBeNull();
    expect(tagOrNull("", D)).toBeNull();
    expect(tagOrNull(null, D)).toBeNull();
  });
});

describe("parseHarborPayload: payloads that are not Harbor webhooks", () => {
  it("refuses anything but an object with a type", () => {
    expect(problems([])).toEqual([{ path: "", message: "expected a JSON object" }]);
    expect(problems(null)).toEqual([{ path: "", message: "expected a JSON object" }]);
    expect(problems({ occur_at: 1 }).map((i) => i.path)).toEqual(["type"]);
    expect(problems({ type: 5 }).map((i) => i.path)).toEqual(["type"]);
    // A distribution envelope sent to the wrong hook.
    expect(problems({ events: [] }).map((i) => i.path)).toEqual(["type"]);
    expect(problems({ specversion: "1.0", id: "x" }).map((i) => i.path)).toEqual(["type"]);
  });

  it("needs resources and repository in a push", () => {
    expect(problems({ type: "PUSH_ARTIFACT" }).map((i) => i.path)).toEqual(["event_data"]);
    expect(problems({ type: "PUSH_ARTIFACT", event_data: { repository: {} } }).map((i) => i.path)).toEqual(["event_data.resources"]);
    expect(problems({ type: "PUSH_ARTIFACT", event_data: { resources: [] } }).map((i) => i.path)).toEqual(["event_data.repository"]);
    expect(problems({ specversion: "1.0", type: "harbor.artifact.pushed", event_data: {} }).map((i) => i.path)).toEqual(["data"]);
  });

  it("names fields of the wrong type", () => {
    const issues = problems({
      ...push([{ digest: 1, tag: "v1" }, "x", { resource_url: ["u"] }], { repo_full_name: 7 }),
      operator: {},
    });
    expect(issues.map((i) => i.path)).toEqual(["operator"]);
    const inner = problems(push([{ digest: 1, tag: "v1" }, "x", { resource_url: ["u"] }]));
    expect(inner.map((i) => i.path)).toEqual([
      "event_data.resources[0].digest",
      "event_data.resources[1]",
      "event_data.resources[2].resource_url",
    ]);
    expect(problems(push([], { repo_full_name: 7 })).map((i) => i.path)).toEqual(["event_data.repository.repo_full_name"]);
  });

  it("refuses more than MAX_IMAGES resources", () => {
    const resources = Array.from({ length: MAX_IMAGES + 1 }, () => ({ digest: D, tag: "v1", resource_url: "h.example/team/app:v1" }));
    expect(problems(push(resources)).map((i) => i.path)).toEqual(["event_data.resources"]);
  });
});
