// Throwaway GnuPG homes for the lab: keys made by real gpg in batch mode, exported for policy.json.
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { withoutProxies } from "./process";

const run = promisify(execFile);

/** ECDSA on a named curve ("nistp256", "brainpoolP256r1"): gpg --gen-key with Key-Type ECDSA. */
export type GpgKeyKind = "rsa" | "ed25519" | { readonly ecdsa: string };

export interface GpgKey {
  /** Short lab name ("rsa", "ed", "wrong"). */
  name: string;
  kind: GpgKeyKind;
  /** Primary key fingerprint, 40 upper-case hex digits (what `--sign-by` and skopeo's messages use). */
  fingerprint: string;
  /** `gpg --export` output: binary OpenPGP transferable public key. */
  publicKey: Buffer;
  /** Base64 of publicKey: policy.json `keyData`. */
  keyData: string;
  /** ASCII-armored public key. */
  armored: string;
}

export interface MakeKeyOptions {
  /** gpg's Expire-Date ("0", "2021-01-01", "1y"); default never. */
  expire?: string;
  /** Create the key as if it were this time (gpg --faked-system-time, "20200101T000000"). */
  fakedSystemTime?: string;
  /** A certify-only primary key with a separate signing subkey of the same kind. */
  signingSubkey?: boolean;
}

export interface SignOptions {
  /** Sign as if it were this time (gpg --faked-system-time). */
  fakedSystemTime?: string;
  /** A signature expiry (gpg --default-sig-expire, e.g. "1d"), counted from the signing time. */
  sigExpire?: string;
  /** What kind of OpenPGP output: a signed message (the simple-signing envelope) or not. */
  mode?: "message" | "detached" | "clearsign";
}

export interface GpgHome {
  /** The GNUPGHOME directory (short path: gpg-agent's socket path must fit in sun_path). */
  home: string;
  /** process.env minus proxies, plus GNUPGHOME: for gpg and for `skopeo --sign-by`. */
  env: NodeJS.ProcessEnv;
  /** Generates a signing-only primary key without a passphrase (`%no-protection`). */
  makeKey(name: string, kind: GpgKeyKind, options?: MakeKeyOptions): Promise<GpgKey>;
  /**
   * `gpg --sign` of payload with the key: compressed data → one-pass signature → literal data →
   * signature, the envelope `skopeo standalone-sign` (gpgme) makes, for payloads skopeo won't write.
   */
  sign(payload: string | Buffer, fingerprint: string, options?: SignOptions): Promise<Buffer>;
  /** `gpg --export` of several keys at once: one keyring blob, as `keyData` may hold. */
  exportKeys(fingerprints: readonly string[]): Promise<Buffer>;
  /** Runs gpg in this home with --batch; returns stdout. */
  gpg(args: readonly string[], input?: Buffer): Promise<Buffer>;
  /** Stops this home's gpg-agent (started by gpgme when skopeo signs) and deletes the home. */
  close(): Promise<void>;
}

export async function createGpgHome(): Promise<GpgHome> {
  // /tmp rather than a deep TMPDIR: the agent's socket lives in the home (108-byte sun_path limit).
  const home = await mkdtemp(join(tmpdir().length > 40 ? "/tmp" : tmpdir(), "tg-gpg-"));
  const env: NodeJS.ProcessEnv = { ...withoutProxies(process.env), GNUPGHOME: home, LC_ALL: "C" };

  // One gpg at a time per home: concurrent first runs race to create the keybox and trustdb
  // ("no writable public keyring found"). skopeo's gpgme runs alongside, after the keys exist.
  let queue: Promise<unknown> = Promise.resolve();
  const gpg = (args: readonly string[], input?: Buffer): Promise<Buffer> => {
    const next = queue.then(() => gpgNow(args, input));
    queue = next.catch(() => undefined);
    return next;
  };
  const gpgNow = async (args: readonly string[], input?: Buffer): Promise<Buffer> => {
    const full = ["--batch", "--no-tty", "--quiet", ...args];
    try {
      if (input === undefined) {
        const { stdout } = await run("gpg", full, { env, encoding: "buffer", timeout: 30_000, maxBuffer: 16 << 20 });
        return stdout;
      }
      return await new Promise<Buffer>((resolve, reject) => {
        const child = execFile("gpg", full, { env, encoding: "buffer", timeout: 30_000, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
          if (err) reject(Object.assign(err, { stderr }));
          else resolve(stdout);
        });
        child.stdin?.end(input);
      });
    } catch (err) {
      const e = err as { stderr?: Buffer | string; message: string };
      throw new Error(`gpg ${args.join(" ")} failed: ${e.stderr?.toString().trim() || e.message}`);
    }
  };

  let counter = 0;
  const makeKey = async (name: string, kind: GpgKeyKind, options: MakeKeyOptions = {}): Promise<GpgKey> => {
    const email = `${name}@trustgate.test`;
    const algorithm = (prefix: "Key" | "Subkey") =>
      kind === "rsa"
        ? [`${prefix}-Type: RSA`, `${prefix}-Length: 2048`]
        : kind === "ed25519"
          ? [`${prefix}-Type: eddsa`, `${prefix}-Curve: ed25519`]
          : [`${prefix}-Type: ECDSA`, `${prefix}-Curve: ${kind.ecdsa}`];
    const params = [
      "%no-protection",
      ...algorithm("Key"),
      ...(options.signingSubkey ? ["Key-Usage: cert", ...algorithm("Subkey"), "Subkey-Usage: sign"] : ["Key-Usage: sign"]),
      `Name-Real: trustgate lab ${name}`,
      `Name-Email: ${email}`,
      `Expire-Date: ${options.expire ?? "0"}`,
      "%commit",
      "",
    ].join("\n");
    const paramFile = join(home, `keyparams-${counter++}.txt`);
    await writeFile(paramFile, params);
    await gpg([...(options.fakedSystemTime ? ["--faked-system-time", options.fakedSystemTime] : []), "--gen-key", paramFile]);
    const colons = (await gpg(["--with-colons", "--fingerprint", "--list-keys", `<${email}>`])).toString("utf8");
    // The first fpr record after the pub record is the primary key's fingerprint.
    const fingerprint = /^pub:[\s\S]*?^fpr:(?:[^:]*:){8}([0-9A-F]{40}):/m.exec(colons)?.[1];
    if (fingerprint === undefined) throw new Error(`gpg: no fingerprint for ${email} in:\n${colons}`);
    const publicKey = await gpg(["--export", fingerprint]);
    if (publicKey.length === 0) throw new Error(`gpg --export ${fingerprint}: empty`);
    const armored = (await gpg(["--armor", "--export", fingerprint])).toString("utf8");
    return { name, kind, fingerprint, publicKey, keyData: publicKey.toString("base64"), armored };
  };

  const sign = async (payload: string | Buffer, fingerprint: string, options: SignOptions = {}): Promise<Buffer> => {
    const mode = options.mode ?? "message";
    return gpg(
      [
        ...(options.fakedSystemTime ? ["--faked-system-time", options.fakedSystemTime] : []),
        ...(options.sigExpire ? ["--ask-sig-expire", "--default-sig-expire", options.sigExpire] : []),
        "--local-user", `${fingerprint}!`,
        mode === "detached" ? "--detach-sign" : mode === "clearsign" ? "--clearsign" : "--sign",
      ],
      Buffer.isBuffer(payload) ? payload : Buffer.from(payload, "utf8"),
    );
  };

  return {
    home,
    env,
    gpg,
    makeKey,
    sign,
    exportKeys: (fingerprints) => gpg(["--export", ...fingerprints]),
    async close() {
      try {
        await run("gpgconf", ["--kill", "all"], { env, timeout: 10_000 });
      } catch {
        // No agent was started, or gpgconf is missing: nothing to stop.
      }
      await rm(home, { recursive: true, force: true });
    },
  };
}
