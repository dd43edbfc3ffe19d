// Checks the lab itself: a real registry on loopback, OCI images built in-process, pushed with skopeo.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pushImage, registryDigest, writeOciImage, type OciImage } from "./oci-image";
import { freePort, waitForHttp } from "./ports";
import { startRegistry, type Registry } from "./registry";

describe("lab: registry + OCI images + skopeo", () => {
  let registry: Registry;
  let work: string;
  const images: Record<string, OciImage> = {};

  beforeAll(async () => {
    registry = await startRegistry();
    work = await mkdtemp(join(tmpdir(), "trustgate-lab-test-"));
    for (const seed of ["one", "two"]) images[seed] = await writeOciImage(join(work, seed), { seed });
  });

  afterAll(async () => {
    await registry?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("serves the distribution API on 127.0.0.1", async () => {
    expect(registry.host).toMatch(/^127\.0\.0\.1:\d+$/);
    const response = await fetch(`${registry.url}/v2/`);
    expect(response.status).toBe(200);
    expect(response.headers.get("docker-distribution-api-version")).toBe("registry/2.0");
  });

  it("refuses to wait on anything but loopback, and gives up on a closed port", async () => {
    await expect(waitForHttp("http://192.0.2.1/", { timeoutMs: 100 })).rejects.toThrow(/non-loopback/);
    const closed = await freePort();
    await expect(waitForHttp(`http://127.0.0.1:${closed}/`, { timeoutMs: 300 })).rejects.toThrow(/no answer within 300 ms/);
  });

  it("builds reproducible images whose digests depend on the seed", async () => {
    const again = await writeOciImage(join(work, "one-again"), { seed: "one" });
    expect(again).toEqual(images.one);
    expect(images.one!.manifestDigest).not.toBe(images.two!.manifestDigest);
    expect(images.one!.layerDigest).not.toBe(images.two!.layerDigest);
  });

  it("pushes two images whose digests match the registry's Docker-Content-Digest", async () => {
    const v1 = await pushImage(join(work, "one"), `${registry.host}/demo/app:v1`);
    const v2 = await pushImage(join(work, "two"), `${registry.host}/demo/app:v2`);

    expect(v1).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(v2).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(v1).not.toBe(v2);
    // skopeo keeps the OCI manifest byte for byte, so the pushed digest is the one we built.
    expect(v1).toBe(images.one!.manifestDigest);
    expect(v2).toBe(images.two!.manifestDigest);
    expect(await registryDigest(registry.url, "demo/app", "v1")).toBe(v1);
    expect(await registryDigest(registry.url, "demo/app", "v2")).toBe(v2);
    expect(await registryDigest(registry.url, "demo/app", "nope")).toBeNull();

    // The manifest the registry serves is an OCI image manifest pointing at our layer.
    const manifest = await fetch(`${registry.url}/v2/demo/app/manifests/v1`, {
      headers: { Accept: "application/vnd.oci.image.manifest.v1+json" },
    });
    expect(manifest.status).toBe(200);
    expect(manifest.headers.get("content-type")).toBe("application/vnd.oci.image.manifest.v1+json");
    const body = (await manifest.json()) as { layers: { digest: string }[] };
    expect(body.layers.map((l) => l.digest)).toEqual([images.one!.layerDigest]);
  });

  it("moves a tag when another image is pushed to it", async () => {
    const moved = await pushImage(join(work, "two"), `${registry.host}/demo/app:v1`);
    expect(moved).toBe(images.two!.manifestDigest);
    expect(await registryDigest(registry.url, "demo/app", "v1")).toBe(moved);
  });
});
