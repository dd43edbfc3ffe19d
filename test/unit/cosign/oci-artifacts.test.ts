// The OCI artifact client: manifests by tag and digest, blobs, referrers and the referrers tag fallback, failures.
import { describe, expect, it } from "vitest";
import { HttpClient, UpstreamError } from "../../../src/adapters/http-client";
import { OciArtifactClient, referrersTag } from "../../../src/adapters/oci-artifacts";
import { sha256Hex } from "../../../src/encoding";

const REPO = { registry: "127.0.0.1:5000", path: "demo/app" };
const text = (s: string) => new TextEncoder().encode(s);

function client(handler: (url: URL, req: Request) => Response | Promise<Response>, options: { maxBlobBytes?: number } = {}) {
  const seen: string[] = [];
  const http = new HttpClient({
    fetch: async (req) => {
      const url = new URL(req.url);
      seen.push(`${url.pathname}${url.search}`);
      return handler(url, req);
    },
    timeoutMs: 500,
  });
  return { oci: new OciArtifactClient({ http, ...options }), seen };
}

async function rejection(p: Promise<unknown>): Promise<UpstreamError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(err instanceof UpstreamError)) throw new Error(`expected an UpstreamError, got ${String(err)}`);
  return err;
}

describe("OciArtifactClient", () => {
  it("speaks plain http to loopback registries and answers undefined for a missing manifest", async () => {
    const { oci } = client((url) => {
      expect(url.protocol).toBe("http:");
      return new Response("{}", { status: 404 });
    });
    expect(await oci.manifest(REPO, "sha256-abc.sig")).toBeUndefined();
  });

  it("hashes a manifest fetched by digest and refuses other bytes", async () => {
    const body = text('{"schemaVersion":2}');
    const digest = `sha256:${await sha256Hex(body)}`;
    const { oci } = client(() => new Response(body, { headers: { "content-type": "application/vnd.oci.image.manifest.v1+json; charset=x" } }));
    expect(await oci.manifest(REPO, digest)).toMatchObject({ digest, mediaType: "application/vnd.oci.image.manifest.v1+json" });
    const err = await rejection(oci.manifest(REPO, `sha256:${"0".repeat(64)}`));
    expect(err).toMatchObject({ code: "REGISTRY_DIGEST_MISMATCH", transient: false });
  });

  it("checks blobs against their digest, and bounds their size", async () => {
    const blob = text("payload");
    const digest = `sha256:${await sha256Hex(blob)}`;
    const { oci } = client(() => new Response(blob), { maxBlobBytes: 4 });
    expect((await rejection(oci.blob(REPO, digest))).message).toContain("more than the 4 bytes allowed");
    const { oci: roomy } = client(() => new Response(blob));
    expect(await roomy.blob(REPO, digest)).toEqual(blob);
    expect(await rejection(roomy.blob(REPO, `sha256:${"1".repeat(64)}`))).toMatchObject({ code: "REGISTRY_DIGEST_MISMATCH" });
    const { oci: empty } = client(() => new Response("", { status: 404 }));
    expect((await rejection(empty.blob(REPO, digest))).message).toBe(`blob unknown: 127.0.0.1:5000/demo/app has no blob ${digest}`);
  });

  it("reads the referrers API and filters by artifactType itself", async () => {
    const digest = `sha256:${"a".repeat(64)}`;
    const index = {
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.index.v1+json",
      manifests: [
        { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: `sha256:${"b".repeat(64)}`, size: 10, artifactType: "application/vnd.dev.sigstore.bundle.v0.3+json" },
        { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: `sha256:${"c".repeat(64)}`, size: 10, artifactType: "application/spdx+json" },
        { mediaType: "broken" },
      ],
    };
    const { oci, seen } = client(() => new Response(JSON.stringify(index)));
    const got = await oci.referrers(REPO, digest, "application/vnd.dev.sigstore.bundle.v0.3+json");
    expect(got).toEqual({ via: "api", descriptors: [index.manifests[0]] });
    expect(seen).toEqual([`/v2/demo/app/referrers/${digest}?artifactType=application%2Fvnd.dev.sigstore.bundle.v0.3%2Bjson`]);
  });

  it("keeps fallback entries that do not say their type (ggcr's empty-config artifactType, or none)", async () => {
    const digest = `sha256:${"a".repeat(64)}`;
    const entry = (d: string, artifactType?: string) => ({ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: `sha256:${d.repeat(64)}`, size: 1, ...(artifactType ? { artifactType } : {}) });
    const index = { schemaVersion: 2, manifests: [entry("b", "application/vnd.oci.empty.v1+json"), entry("c"), entry("d", "application/spdx+json")] };
    const { oci } = client((url) => (url.pathname.includes("/referrers/") ? new Response("", { status: 404 }) : new Response(JSON.stringify(index))));
    const got = await oci.referrers(REPO, digest, "application/vnd.dev.sigstore.bundle.v0.3+json");
    expect(got.via).toBe("tag");
    expect(got.descriptors.map((d) => d.digest)).toEqual([`sha256:${"b".repeat(64)}`, `sha256:${"c".repeat(64)}`]);
  });

  it("falls back to the referrers tag schema on 404, and finds nothing when that tag is absent too", async () => {
    const digest = `sha256:${"a".repeat(64)}`;
    expect(referrersTag(digest)).toBe(`sha256-${"a".repeat(64)}`);
    const { oci, seen } = client(() => new Response("{}", { status: 404 }));
    expect(await oci.referrers(REPO, digest)).toEqual({ via: "tag", descriptors: [] });
    expect(seen).toEqual([`/v2/demo/app/referrers/${digest}`, `/v2/demo/app/manifests/sha256-${"a".repeat(64)}`]);
  });

  it("tells passing failures (5xx, 429, unreachable) from lasting ones (401, 400, not an index)", async () => {
    const digest = `sha256:${"a".repeat(64)}`;
    for (const status of [500, 503, 429]) {
      expect(await rejection(client(() => new Response("", { status })).oci.manifest(REPO, "t")), String(status)).toMatchObject({ code: "REGISTRY_UNREACHABLE", transient: true });
    }
    const unreachable = client(() => {
      throw new TypeError("connect ECONNREFUSED");
    }).oci;
    expect(await rejection(unreachable.referrers(REPO, digest))).toMatchObject({ code: "REGISTRY_UNREACHABLE", transient: true });
    expect(await rejection(client(() => new Response("", { status: 401 })).oci.manifest(REPO, "t"))).toMatchObject({ code: "REGISTRY_AUTH_FAILED", transient: false });
    expect(await rejection(client(() => new Response("", { status: 400 })).oci.referrers(REPO, digest))).toMatchObject({ code: "REGISTRY_BAD_RESPONSE", transient: false });
    expect(await rejection(client(() => new Response("[]")).oci.referrers(REPO, digest))).toMatchObject({ code: "REGISTRY_BAD_RESPONSE", transient: false });
  });
});
