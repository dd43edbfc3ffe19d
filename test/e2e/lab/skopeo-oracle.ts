// skopeo as the reference: it signs images as users do (simple signing, GPG) and judges them with
// policy.json + registries.d exactly as podman/CRI-O would; trustgate's decisions are compared to it.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import type { GpgHome } from "./gpg";
import { prepareSkopeoCopy } from "./oci-image";
import { assertLoopback } from "./ports";
import { withoutProxies } from "./process";

const run = promisify(execFile);

export type SkopeoVerdict = "accept" | "reject";

export interface OracleResult {
  verdict: SkopeoVerdict;
  /** skopeo's fatal message without the logrus framing ("" when accepted). */
  message: string;
  /** Raw stderr, for the record. */
  stderr: string;
  exitCode: number;
}

/** skopeo failed for a reason that is not a policy verdict (network, missing image, bad policy file). */
export class SkopeoFailure extends Error {
  override readonly name = "SkopeoFailure";
}

export interface SkopeoLab {
  /** Temp dir holding HOME, TMPDIR, registries.conf and each invocation's files. */
  dir: string;
  /**
   * `skopeo copy oci:<dir>:latest docker://<dest>` over plain http, signing with `--sign-by` when
   * asked (GNUPGHOME from gpg). registriesD: YAML documents written as files of a registries.d
   * dir, which must route `lookaside-staging` somewhere inside the lab. Returns the manifest digest.
   */
  push(ociDir: string, destRef: string, options?: { signBy?: string; gpg?: GpgHome; registriesD?: readonly string[] }): Promise<string>;
  /** `skopeo standalone-sign MANIFEST REF FINGERPRINT -o out`: a signature for any identity. */
  standaloneSign(manifest: Buffer, dockerReference: string, fingerprint: string, gpg: GpgHome): Promise<Buffer>;
  /**
   * skopeo's verdict for `docker://image` under this policy.json and registries.d:
   * `skopeo --policy P --registries.d D copy --src-tls-verify=false docker://IMAGE dir:TMP`.
   * Exit 0 → accept; "Source image rejected: …" from policy evaluation → reject; anything else
   * (registry or lookaside unreachable, a 5xx, a missing manifest, an invalid policy) throws.
   */
  verdict(policy: unknown, registriesD: readonly string[], image: string): Promise<OracleResult>;
  close(): Promise<void>;
}

export async function createSkopeoLab(): Promise<SkopeoLab> {
  const dir = await mkdtemp(join(tmpdir(), "trustgate-skopeo-oracle-"));
  const home = join(dir, "home");
  const tmp = join(dir, "tmp");
  await mkdir(home);
  await mkdir(tmp);
  const registriesConf = join(dir, "registries.conf");
  await writeFile(registriesConf, "unqualified-search-registries = []\n");
  let counter = 0;
  const scratch = async (label: string) => {
    const d = join(dir, `${label}-${counter++}`);
    await mkdir(d);
    return d;
  };

  // Nothing from the machine: no ~/.config/containers, no /var/lib/containers/sigstore default
  // lookaside under the real HOME, no auth files, no proxies. gpgme's ephemeral keyrings (one
  // per signedBy requirement) go to TMPDIR.
  const baseEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => {
    const env = withoutProxies(process.env);
    delete env.GNUPGHOME;
    return {
      ...env,
      HOME: home,
      TMPDIR: tmp,
      XDG_CONFIG_HOME: join(home, ".config"),
      XDG_RUNTIME_DIR: join(home, "run"),
      XDG_DATA_HOME: join(home, ".local", "share"),
      CONTAINERS_REGISTRIES_CONF: registriesConf,
      REGISTRY_AUTH_FILE: join(dir, "auth.json"),
      LC_ALL: "C",
      ...extra,
    };
  };

  const writeRegistriesD = async (target: string, documents: readonly string[]) => {
    await mkdir(target, { recursive: true });
    // One file per document, as an admin would drop them into /etc/containers/registries.d.
    await Promise.all(documents.map((doc, i) => writeFile(join(target, `${String(i).padStart(2, "0")}-lab.yaml`), doc)));
  };

  const skopeo = async (args: readonly string[], env: NodeJS.ProcessEnv) => {
    try {
      const { stdout, stderr } = await run("skopeo", args, { env, timeout: 60_000, maxBuffer: 16 << 20 });
      return { exitCode: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: unknown; killed?: boolean; stdout?: string; stderr?: string; message: string };
      if (typeof e.code !== "number" || e.killed) throw new SkopeoFailure(`skopeo ${args.join(" ")}: ${e.message}`);
      return { exitCode: e.code, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
    }
  };

  return {
    dir,

    async push(ociDir, destRef, options = {}) {
      assertLoopback(`http://${destRef.split("/")[0]}/`);
      const work = await scratch("push");
      const signBy = options.signBy !== undefined ? ["--sign-by", options.signBy] : [];
      const { registriesD, digestFile, args } = await prepareSkopeoCopy(work, ociDir, destRef, signBy);
      await writeRegistriesD(registriesD, options.registriesD ?? []);
      if (options.signBy !== undefined && options.gpg === undefined) throw new Error("push: signBy needs a GnuPG home");
      const result = await skopeo(args, baseEnv(options.gpg ? { GNUPGHOME: options.gpg.home } : {}));
      if (result.exitCode !== 0) throw new SkopeoFailure(`skopeo copy to ${destRef} failed: ${result.stderr.trim()}`);
      const digest = (await readFile(digestFile, "utf8")).trim();
      await rm(work, { recursive: true, force: true });
      if (!/^sha256:[0-9a-f]{64}$/.test(digest)) throw new Error(`skopeo wrote an odd digest: ${JSON.stringify(digest)}`);
      return digest;
    },

    async standaloneSign(manifest, dockerReference, fingerprint, gpg) {
      const work = await scratch("sign");
      const manifestFile = join(work, "manifest.json");
      const out = join(work, "signature");
      await writeFile(manifestFile, manifest);
      const result = await skopeo(
        ["standalone-sign", manifestFile, dockerReference, fingerprint, "--output", out],
        baseEnv({ GNUPGHOME: gpg.home }),
      );
      if (result.exitCode !== 0) throw new SkopeoFailure(`skopeo standalone-sign failed: ${result.stderr.trim()}`);
      const signature = await readFile(out);
      await rm(work, { recursive: true, force: true });
      return signature;
    },

    async verdict(policy, registriesD, image) {
      assertLoopback(`http://${image.split("/")[0]}/`);
      const work = await scratch("verdict");
      const policyFile = join(work, "policy.json");
      const registriesDir = join(work, "registries.d");
      await writeFile(policyFile, typeof policy === "string" ? policy : JSON.stringify(policy, null, 2));
      await writeRegistriesD(registriesDir, registriesD);
      const args = [
        "--policy", policyFile,
        "--registries.d", registriesDir,
        "--tmpdir", work,
        "copy",
        "--quiet",
        "--src-tls-verify=false",
        "--src-no-creds",
        `docker://${image}`,
        `dir:${join(work, "out")}`,
      ];
      try {
        const result = await skopeo(args, baseEnv());
        if (result.exitCode === 0) return { verdict: "accept", message: "", stderr: result.stderr, exitCode: 0 };
        const message = fatalMessage(result.stderr);
        if (isPolicyRejection(message)) return { verdict: "reject", message, stderr: result.stderr, exitCode: result.exitCode };
        throw new SkopeoFailure(`skopeo failed on ${image} without a policy verdict (exit ${result.exitCode}): ${message || result.stderr.trim()}`);
      } finally {
        await rm(work, { recursive: true, force: true });
      }
    },

    async close() {
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The text of logrus's `level=fatal msg="…"` line (Go-quoted), or the last stderr line. */
export function fatalMessage(stderr: string): string {
  const match = /level=fatal msg="((?:[^"\\]|\\.)*)"/.exec(stderr);
  if (match === null) return stderr.trim().split("\n").at(-1) ?? "";
  try {
    return JSON.parse(`"${match[1]}"`) as string;
  } catch {
    return match[1]!;
  }
}

/**
 * Whether skopeo's failure is a policy verdict. copy.Image wraps every failure of
 * IsRunningImageAllowed as "Source image rejected: …"; that includes errors while *fetching*
 * signatures (image.Signatures), which are not verdicts: an unreachable lookaside, a 5xx, too
 * many signatures. A signature that was fetched but cannot be parsed ("parsing signature <url>:
 * unrecognized signature format") is a verdict on what the store serves and counts as a reject.
 */
export function isPolicyRejection(message: string): boolean {
  const prefix = "Source image rejected: ";
  if (!message.startsWith(prefix)) return false;
  const reason = message.slice(prefix.length);
  const transport = [
    /^Get "/, // net/http client error: dial, timeout, reset
    /^reading signature from /, // non-200/404 status from the lookaside
    /server provided \d+ signatures, assuming that's unreasonable/,
    /\b(dial tcp|connection refused|connection reset|i\/o timeout|no such host|TLS handshake)\b/,
    /^pinging container registry/,
    /reading manifest/,
  ];
  return !transport.some((re) => re.test(reason));
}
