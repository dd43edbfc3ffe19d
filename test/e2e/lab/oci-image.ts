// Minimal OCI images built in-process (no Docker) and pushed to a loopback registry with skopeo.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { assertLoopback } from "./ports";
import { withoutProxies } from "./process";

const run = promisify(execFile);

export const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
export const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
export const OCI_CONFIG = "application/vnd.oci.image.config.v1+json";
export const OCI_LAYER_GZIP = "application/vnd.oci.image.layer.v1.tar+gzip";

export interface OciImage {
  /** Digest of the image manifest: "sha256:<hex>". */
  manifestDigest: string;
  configDigest: string;
  layerDigest: string;
}

const sha256 = (data: Uint8Array) => `sha256:${createHash("sha256").update(data).digest("hex")}`;

/** Writes an OCI image layout with one image (tag "latest") into dir; the seed changes every digest. */
export async function writeOciImage(dir: string, { seed }: { seed: string }): Promise<OciImage> {
  const blobs = join(dir, "blobs", "sha256");
  await mkdir(blobs, { recursive: true });
  const putBlob = async (data: Uint8Array) => {
    const digest = sha256(data);
    await writeFile(join(blobs, digest.slice("sha256:".length)), data);
    return { digest, size: data.byteLength };
  };

  const tar = buildTar([
    { name: "etc/", type: "dir" },
    { name: "etc/trustgate-seed", type: "file", content: Buffer.from(`seed=${seed}\n`, "utf8") },
  ]);
  // mtime 0 in the gzip header (Node's default) keeps the layer digest a function of the seed only.
  const layer = await putBlob(gzipSync(tar, { level: 9 }));
  const config = await putBlob(
    json({
      created: "2024-01-01T00:00:00Z",
      architecture: "amd64",
      os: "linux",
      config: { Labels: { "org.trustgate.seed": seed } },
      rootfs: { type: "layers", diff_ids: [sha256(tar)] },
      history: [{ created: "2024-01-01T00:00:00Z", created_by: `trustgate lab (seed ${seed})` }],
    }),
  );
  const manifest = await putBlob(
    json({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { mediaType: OCI_CONFIG, digest: config.digest, size: config.size },
      layers: [{ mediaType: OCI_LAYER_GZIP, digest: layer.digest, size: layer.size }],
    }),
  );
  await writeFile(join(dir, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await writeFile(
    join(dir, "index.json"),
    json({
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [
        {
          mediaType: OCI_MANIFEST,
          digest: manifest.digest,
          size: manifest.size,
          annotations: { "org.opencontainers.image.ref.name": "latest" },
        },
      ],
    }),
  );
  return { manifestDigest: manifest.digest, configDigest: config.digest, layerDigest: layer.digest };
}

/**
 * Copies the image in ociDir to destRef ("127.0.0.1:PORT/demo/app:v1") over plain http and
 * returns the manifest digest skopeo pushed.
 */
/** The files and arguments of one `skopeo copy`, all under its work directory. */
export interface SkopeoCopy {
  /** Left for the caller to create and fill. */
  readonly registriesD: string;
  /** Where skopeo writes the pushed manifest's digest. */
  readonly digestFile: string;
  readonly args: string[];
}

/**
 * `skopeo copy oci:<ociDir>:latest docker://<destRef>` to a lab registry: plain http, no
 * credentials, a policy.json that accepts anything (written now), scratch files in work. `extra`
 * options go before the images (e.g. --sign-by).
 */
export async function prepareSkopeoCopy(work: string, ociDir: string, destRef: string, extra: readonly string[] = []): Promise<SkopeoCopy> {
  const policy = join(work, "policy.json");
  const registriesD = join(work, "registries.d");
  const digestFile = join(work, "digest");
  await writeFile(policy, JSON.stringify({ default: [{ type: "insecureAcceptAnything" }] }));
  const args = [
    "--policy", policy,
    "--registries.d", registriesD,
    "--tmpdir", work,
    "copy",
    "--quiet",
    "--dest-tls-verify=false",
    "--dest-no-creds",
    "--digestfile", digestFile,
    ...extra,
    `oci:${ociDir}:latest`,
    `docker://${destRef}`,
  ];
  return { registriesD, digestFile, args };
}

export async function pushImage(ociDir: string, destRef: string): Promise<string> {
  assertLoopback(`http://${destRef.split("/")[0]}/`);
  // Everything skopeo would read from the host (policy, registries.d, registries.conf, auth)
  // is replaced by files in a temp dir, so the machine's /etc/containers doesn't matter.
  const work = await mkdtemp(join(tmpdir(), "trustgate-skopeo-"));
  try {
    const registriesConf = join(work, "registries.conf");
    const { registriesD, digestFile, args } = await prepareSkopeoCopy(work, ociDir, destRef);
    await mkdir(registriesD);
    await writeFile(registriesConf, "unqualified-search-registries = []\n");
    try {
      await run("skopeo", args, {
        env: {
          ...withoutProxies(process.env),
          CONTAINERS_REGISTRIES_CONF: registriesConf,
          REGISTRY_AUTH_FILE: join(work, "auth.json"),
        },
        timeout: 60_000,
      });
    } catch (err) {
      const e = err as { stderr?: string; message: string };
      throw new Error(`skopeo copy to ${destRef} failed: ${e.stderr?.trim() || e.message}`);
    }
    const digest = (await readFile(digestFile, "utf8")).trim();
    if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new Error(`skopeo wrote an odd digest: ${JSON.stringify(digest)}`);
    return digest;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** HEAD the manifest for a tag (or digest) and return the registry's Docker-Content-Digest, or null on 404. */
export async function registryDigest(registryUrl: string, repository: string, reference: string): Promise<string | null> {
  assertLoopback(registryUrl);
  const response = await fetch(`${registryUrl}/v2/${repository}/manifests/${reference}`, {
    method: "HEAD",
    headers: { Accept: [OCI_MANIFEST, OCI_INDEX, "application/vnd.docker.distribution.manifest.v2+json"].join(", ") },
  });
  if (response.status === 404) return null;
  if (!response.ok) throw new Error(`HEAD manifest ${repository}:${reference} answered ${response.status}`);
  return response.headers.get("docker-content-digest");
}

const json = (value: unknown) => Buffer.from(JSON.stringify(value), "utf8");

interface TarEntry {
  name: string;
  type: "file" | "dir";
  content?: Buffer;
}

/** A POSIX ustar archive: 512-byte header per entry, content padded to 512, two zero blocks at the end. */
export function buildTar(entries: readonly TarEntry[]): Buffer {
  const parts: Buffer[] = [];
  for (const entry of entries) {
    const content = entry.content ?? Buffer.alloc(0);
    const header = Buffer.alloc(512);
    const field = (offset: number, length: number, value: string) => {
      header.write(value, offset, length, "utf8");
    };
    const octal = (offset: number, length: number, value: number) => {
      field(offset, length, value.toString(8).padStart(length - 1, "0") + "\0");
    };
    if (Buffer.byteLength(entry.name) > 100) throw new Error(`tar name too long: ${entry.name}`);
    field(0, 100, entry.name);
    octal(100, 8, entry.type === "dir" ? 0o755 : 0o644);
    octal(108, 8, 0); // uid
    octal(116, 8, 0); // gid
    octal(124, 12, entry.type === "dir" ? 0 : content.length);
    octal(136, 12, 0); // mtime: fixed so the layer is reproducible
    field(148, 8, "        "); // checksum counts as spaces while summing
    field(156, 1, entry.type === "dir" ? "5" : "0");
    field(257, 6, "ustar\0");
    field(263, 2, "00");
    field(265, 32, "root");
    field(297, 32, "root");
    let sum = 0;
    for (const byte of header) sum += byte;
    field(148, 8, sum.toString(8).padStart(6, "0") + "\0 ");
    parts.push(header);
    if (entry.type === "file" && content.length > 0) {
      parts.push(content, Buffer.alloc((512 - (content.length % 512)) % 512));
    }
  }
  parts.push(Buffer.alloc(1024));
  return Buffer.concat(parts);
}
