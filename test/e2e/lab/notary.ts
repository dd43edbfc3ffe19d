// A real Notary v1 trust server (notary-server, memory storage) on 127.0.0.1 and a wrapper around the notary CLI.
//
// Server: `notary-server` serves plain HTTP when its config has no tls_* files, and the notary
// client accepts an http:// server URL, so TLS is optional here (`tls: true` makes a lab CA).
// Signing of the server-managed roles (timestamp, and snapshot once rotated to the server):
//   - "local" (default): notary-server's built-in signer. It only does ED25519.
//   - "notary-signer": a notary-signer (memory storage) over gRPC+TLS, ECDSA keys by default,
//     which is what Docker Hub's notary serves (ecdsa timestamp/snapshot keys).
// Memory storage means: stop() + restart() gives an EMPTY server on the same URL (all GUNs and,
// with notary-signer, all server keys are gone). Use stop() for "trust server unreachable".
import { spawn } from "node:child_process";
import { createHash, createPublicKey, X509Certificate } from "node:crypto";
import { rmSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertLoopback, freePort, waitForHttp } from "./ports";
import { startProcess, withoutProxies, type LabProcess } from "./process";

const keep = () => process.env.TRUSTGATE_LAB_KEEP === "1";

// ---------------------------------------------------------------------------------------------
// Small process helper for one-shot commands (openssl, notary): stdin text, captured output.

export interface RunResult {
  stdout: string;
  stderr: string;
  code: number;
}

export async function runCommand(
  command: string,
  args: readonly string[],
  options: { input?: string; env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; allowFailure?: boolean } = {},
): Promise<RunResult> {
  const child = spawn(command, [...args], {
    cwd: options.cwd,
    env: options.env ?? withoutProxies(process.env),
    // Never interactive: stdin is closed, or carries `input` (e.g. "yes" to a confirmation).
    stdio: [options.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (c: Buffer) => (stdout += c.toString("utf8")));
  child.stderr!.on("data", (c: Buffer) => (stderr += c.toString("utf8")));
  if (child.stdin) {
    // The command may exit before reading its input (EPIPE): that is its answer, not ours to throw.
    child.stdin.on("error", () => undefined);
    child.stdin.end(options.input);
  }
  const timeoutMs = options.timeoutMs ?? 60_000;
  const code = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${command} ${args.join(" ")}: timed out after ${timeoutMs} ms\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once("error", (err) => {
      clearTimeout(timer);
      reject(new Error(`${command}: failed to start: ${err.message}`));
    });
    child.once("close", (c, signal) => {
      clearTimeout(timer);
      resolve(c ?? (signal ? 128 : 1));
    });
  });
  if (code !== 0 && !options.allowFailure) {
    throw new Error(`${command} ${args.join(" ")} exited ${code}\n--- stdout ---\n${stdout}\n--- stderr ---\n${stderr}`);
  }
  return { stdout, stderr, code };
}

// ---------------------------------------------------------------------------------------------
// Keys and certificates (openssl), and the key IDs notary gives them.

export type KeyType = "ecdsa" | "rsa";

export interface LabKey {
  /** Unencrypted private key PEM file ("EC PRIVATE KEY" / "PRIVATE KEY"). */
  keyFile: string;
  /** Self-signed leaf certificate for the key (CA:FALSE, codeSigning, 10 years), as notary makes them. */
  certFile: string;
  /** SubjectPublicKeyInfo PEM ("PUBLIC KEY"), what `docker trust key generate` writes as NAME.pub. */
  publicKeyFile: string;
  certPem: string;
  publicKeyPem: string;
  type: KeyType;
  /** TUF key ID of the certificate form: "ecdsa-x509"/"rsa-x509" (what root.json lists for roots). */
  certKeyId: string;
  /** TUF key ID of the bare public key: "ecdsa"/"rsa" (notary's "canonical" ID, private/<id>.key). */
  publicKeyId: string;
}

/**
 * A key pair and a self-signed certificate made with openssl. The certificate has the extensions
 * notary's own certificates have; notary rejects a CA:TRUE certificate as a root ("unable to
 * retrieve valid leaf certificates"). For a root certificate pass the GUN as `commonName`.
 */
export async function makeKey(dir: string, name: string, options: { type?: KeyType; commonName?: string; days?: number } = {}): Promise<LabKey> {
  const type = options.type ?? "ecdsa";
  await mkdir(dir, { recursive: true });
  const keyFile = join(dir, `${name}.key`);
  const certFile = join(dir, `${name}.crt`);
  const publicKeyFile = join(dir, `${name}.pub`);
  if (type === "ecdsa") await runCommand("openssl", ["ecparam", "-genkey", "-name", "prime256v1", "-noout", "-out", keyFile]);
  else await runCommand("openssl", ["genrsa", "-out", keyFile, "2048"]);
  // "/" in a CN (a GUN) must be escaped in openssl's -subj syntax.
  const cn = (options.commonName ?? name).replace(/[/\\=+,]/g, (c) => `\\${c}`);
  await runCommand("openssl", [
    "req", "-new", "-x509", "-key", keyFile, "-out", certFile,
    "-days", String(options.days ?? 3650), "-sha256",
    "-subj", `/CN=${cn}`,
    "-addext", "basicConstraints=critical,CA:FALSE",
    "-addext", "keyUsage=critical,digitalSignature,keyEncipherment",
    "-addext", "extendedKeyUsage=codeSigning",
  ]);
  await runCommand("openssl", ["pkey", "-in", keyFile, "-pubout", "-out", publicKeyFile]);
  const certPem = await readFile(certFile, "utf8");
  const publicKeyPem = await readFile(publicKeyFile, "utf8");
  return { keyFile, certFile, publicKeyFile, certPem, publicKeyPem, type, ...keyIdsForCert(certPem) };
}

/** Go's canonical JSON of a TUF public key, hashed: notary's key ID. */
export function tufKeyId(keytype: string, publicBase64: string): string {
  // Keys sorted, no whitespace: {"keytype":..,"keyval":{"private":null,"public":..}}
  const canonical = `{"keytype":${JSON.stringify(keytype)},"keyval":{"private":null,"public":${JSON.stringify(publicBase64)}}}`;
  return createHash("sha256").update(canonical).digest("hex");
}

/** Both key IDs for a certificate PEM: the x509 form (as in root.json) and the bare public key. */
export function keyIdsForCert(certPem: string): { certKeyId: string; publicKeyId: string } {
  const cert = new X509Certificate(certPem);
  const alg = cert.publicKey.asymmetricKeyType === "rsa" ? "rsa" : "ecdsa";
  // notary stores the PEM text (with its trailing newline) base64-encoded as the x509 key value.
  const certKeyId = tufKeyId(`${alg}-x509`, Buffer.from(certPem, "utf8").toString("base64"));
  const spki = createPublicKey(certPem).export({ type: "spki", format: "der" });
  const publicKeyId = tufKeyId(alg, spki.toString("base64"));
  return { certKeyId, publicKeyId };
}

/**
 * Re-encrypts a private key the way `notary init --rootkey` insists on: PKCS#8, PBES2 with
 * PBKDF2-HMAC-SHA1 and AES-256-CBC (notary's pkcs8 code rejects openssl 3's default PRF,
 * hmacWithSHA256, as "password invalid"), under the root passphrase.
 */
export async function encryptForNotary(keyFile: string, outFile: string, passphrase: string): Promise<void> {
  await runCommand("openssl", [
    "pkcs8", "-topk8", "-in", keyFile, "-out", outFile,
    "-v2", "aes-256-cbc", "-v2prf", "hmacWithSHA1",
    "-passout", `pass:${passphrase}`,
  ]);
}

// ---------------------------------------------------------------------------------------------
// Lab CA for TLS (the signer's gRPC always; the server's HTTPS when asked).

interface LabCa {
  caFile: string;
  caKey: string;
}

async function makeCa(dir: string): Promise<LabCa> {
  const caKey = join(dir, "ca.key");
  const caFile = join(dir, "ca.crt");
  await runCommand("openssl", ["ecparam", "-genkey", "-name", "prime256v1", "-noout", "-out", caKey]);
  await runCommand("openssl", ["req", "-new", "-x509", "-key", caKey, "-out", caFile, "-days", "30", "-sha256", "-subj", "/CN=trustgate notary lab CA"]);
  return { caFile, caKey };
}

/** A server certificate for 127.0.0.1 (IP SAN: Go ignores the CN). */
async function makeServerCert(dir: string, ca: LabCa, name: string): Promise<{ certFile: string; keyFile: string }> {
  const keyFile = join(dir, `${name}.key`);
  const csr = join(dir, `${name}.csr`);
  const certFile = join(dir, `${name}.crt`);
  const ext = join(dir, `${name}.ext`);
  await runCommand("openssl", ["ecparam", "-genkey", "-name", "prime256v1", "-noout", "-out", keyFile]);
  await runCommand("openssl", ["req", "-new", "-key", keyFile, "-subj", "/CN=127.0.0.1", "-out", csr]);
  await writeFile(
    ext,
    "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\n",
  );
  await runCommand("openssl", [
    "x509", "-req", "-in", csr, "-CA", ca.caFile, "-CAkey", ca.caKey, "-CAcreateserial",
    "-days", "30", "-sha256", "-extfile", ext, "-out", certFile,
  ]);
  return { certFile, keyFile };
}

// ---------------------------------------------------------------------------------------------
// The server.

export interface NotaryServerOptions {
  /** Who signs server-managed roles; see the file comment. Default "local" (ED25519). */
  signer?: "local" | "notary-signer";
  /** Key algorithm notary-signer generates (ignored by "local", which is always ED25519). Default "ecdsa". */
  keyAlgorithm?: "ecdsa" | "rsa" | "ed25519";
  /** Serve HTTPS with a certificate from a lab CA (then give clients `caFile`). Default false. */
  tls?: boolean;
  /** Cache-Control max-age the server sends; notary's defaults are 300 s and 31536000 s. */
  caching?: { currentMetadata?: number; consistentMetadata?: number };
  startTimeoutMs?: number;
}

export interface NotaryServer {
  /** "http://127.0.0.1:PORT" (or https:// with `tls`). */
  url: string;
  /** CA certificate file for an https:// url (pass as --tlscacert / remote_server.root_ca). */
  caFile?: string;
  /** Temp dir with configs, certificates and logs. */
  dir: string;
  logs(): string;
  /** Stops the server (and signer); the URL then refuses connections. Safe to call twice. */
  stop(): Promise<void>;
  /** Stops if running, then starts again on the same port: a fresh, EMPTY server (memory storage). */
  restart(): Promise<void>;
  /** stop() and remove the temp dir (unless TRUSTGATE_LAB_KEEP=1). */
  close(): Promise<void>;
}

export async function startNotaryServer(options: NotaryServerOptions = {}): Promise<NotaryServer> {
  const dir = await mkdtemp(join(tmpdir(), "trustgate-notary-server-"));
  const signerMode = options.signer ?? "local";
  const needCa = options.tls === true || signerMode === "notary-signer";
  const ca = needCa ? await makeCa(dir) : undefined;
  const serverTls = options.tls && ca ? await makeServerCert(dir, ca, "notary-server") : undefined;
  const signerTls = signerMode === "notary-signer" && ca ? await makeServerCert(dir, ca, "notary-signer") : undefined;
  const scheme = serverTls ? "https" : "http";

  let ports: { http: number; grpc: number } | undefined;
  let procs: LabProcess[] = [];
  let allLogs = "";

  const writeConfigs = async (httpPort: number, grpcPort: number) => {
    const server: Record<string, unknown> = {
      server: {
        http_addr: `127.0.0.1:${httpPort}`,
        ...(serverTls ? { tls_cert_file: serverTls.certFile, tls_key_file: serverTls.keyFile } : {}),
      },
      trust_service:
        signerMode === "local"
          ? { type: "local" }
          : {
              type: "remote",
              hostname: "127.0.0.1",
              port: String(grpcPort),
              key_algorithm: options.keyAlgorithm ?? "ecdsa",
              tls_ca_file: ca!.caFile,
            },
      storage: { backend: "memory" },
      logging: { level: "info" },
    };
    if (options.caching) {
      server.caching = {
        max_age: {
          current_metadata: options.caching.currentMetadata ?? 300,
          consistent_metadata: options.caching.consistentMetadata ?? 31536000,
        },
      };
    }
    await writeFile(join(dir, "server.json"), JSON.stringify(server, null, 2));
    if (signerTls) {
      // No client_ca_file: the signer then does not require a client certificate from the server.
      const signer = {
        server: { grpc_addr: `127.0.0.1:${grpcPort}`, tls_cert_file: signerTls.certFile, tls_key_file: signerTls.keyFile },
        storage: { backend: "memory" },
        logging: { level: "info" },
      };
      await writeFile(join(dir, "signer.json"), JSON.stringify(signer, null, 2));
    }
  };

  const startOnce = async (httpPort: number, grpcPort: number) => {
    await writeConfigs(httpPort, grpcPort);
    const env = withoutProxies(process.env);
    const started: LabProcess[] = [];
    try {
      if (signerTls) {
        const signer = startProcess({
          command: "notary-signer",
          args: ["-config", join(dir, "signer.json"), "-logf", "logfmt"],
          cwd: dir,
          env,
          logFile: join(dir, "notary-signer.log"),
        });
        started.push(signer);
        await waitForTcp(grpcPort, options.startTimeoutMs ?? 20_000, () => signer.exited());
      }
      const server = startProcess({
        command: "notary-server",
        args: ["-config", join(dir, "server.json"), "-logf", "logfmt"],
        cwd: dir,
        env,
        logFile: join(dir, "notary-server.log"),
      });
      started.push(server);
      const url = `${scheme}://127.0.0.1:${httpPort}`;
      if (serverTls) {
        // Node's fetch cannot be given a CA per request; a TCP connect is enough to see it listening.
        await waitForTcp(httpPort, options.startTimeoutMs ?? 20_000, () => server.exited());
      } else {
        const response = await waitForHttp(`${url}/_notary_server/health`, {
          timeoutMs: options.startTimeoutMs ?? 20_000,
          accept: (r) => r.status === 200,
          abortIf: () => server.exited(),
        });
        await response.body?.cancel();
      }
      procs = started;
    } catch (err) {
      for (const p of started.reverse()) await p.stop();
      const tails = started.map((p) => p.tail(20)).join("\n---\n");
      const message = err instanceof Error ? err.message : String(err);
      throw new Error(`notary-server did not start on 127.0.0.1:${httpPort}: ${message}\n--- logs (tail) ---\n${tails}`);
    }
  };

  const stopProcs = async () => {
    const running = procs;
    procs = [];
    // Server first, so it never sees its signer vanish under a request.
    for (const p of running.reverse()) {
      await p.stop();
      allLogs += p.output();
    }
  };

  // freePort() can race with another process grabbing the port; retry a couple of times.
  let lastError: unknown;
  for (let attempt = 0; attempt < 3 && ports === undefined; attempt++) {
    const candidate = { http: await freePort(), grpc: signerTls ? await freePort() : 0 };
    try {
      await startOnce(candidate.http, candidate.grpc);
      ports = candidate;
    } catch (err) {
      lastError = err;
      if (!(err instanceof Error && /address already in use/i.test(err.message))) break;
    }
  }
  if (ports === undefined) {
    if (!keep()) await rm(dir, { recursive: true, force: true });
    throw lastError;
  }
  const fixed = ports;
  const url = `${scheme}://127.0.0.1:${fixed.http}`;
  assertLoopback(url);

  // If a test forgets close(), the temp dir still goes (processes go via process.ts's own hook).
  const onExit = () => {
    if (!keep()) rmSync(dir, { recursive: true, force: true });
  };
  process.once("exit", onExit);

  let closed = false;
  return {
    url,
    ...(serverTls && ca ? { caFile: ca.caFile } : {}),
    dir,
    logs: () => allLogs + procs.map((p) => p.output()).join(""),
    stop: stopProcs,
    async restart() {
      if (closed) throw new Error("notary server: restart() after close()");
      await stopProcs();
      await startOnce(fixed.http, fixed.grpc);
    },
    async close() {
      if (closed) return;
      closed = true;
      await stopProcs();
      process.removeListener("exit", onExit);
      if (!keep()) await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Polls a loopback TCP port until it accepts a connection. */
async function waitForTcp(port: number, timeoutMs: number, exited: () => string | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const gone = exited();
    if (gone !== undefined) throw new Error(`process exited (${gone}) before 127.0.0.1:${port} accepted connections`);
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect({ host: "127.0.0.1", port });
      socket.once("connect", () => {
        socket.destroy();
        resolve(true);
      });
      socket.once("error", () => resolve(false));
    });
    if (ok) return;
    if (Date.now() >= deadline) throw new Error(`127.0.0.1:${port}: no TCP listener within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

// ---------------------------------------------------------------------------------------------
// The client.

export interface NotaryPassphrases {
  root: string;
  targets: string;
  snapshot: string;
  delegation: string;
}

export interface NotaryClientOptions {
  /** Trust dir (`-d`); a new temp dir by default (removed by close()). */
  dir?: string;
  passphrases?: Partial<NotaryPassphrases>;
  /** `trust_pinning.certs`: GUN → TUF key IDs of acceptable root certificates. */
  pinnedRootCerts?: Record<string, string[]>;
}

export interface LookupResult {
  name: string;
  /** Hex sha256 of the target (for images: the manifest digest without "sha256:"). */
  sha256: string;
  size: number;
}

export type ServerManagedRole = "snapshot" | "timestamp";

/**
 * Runs the real `notary` CLI against one server with its own trust dir and config file
 * (so ~/.notary/config.json never matters), passphrases from the environment, stdin closed.
 */
export class NotaryClient {
  readonly dir: string;
  readonly serverUrl: string;
  readonly passphrases: NotaryPassphrases;
  private readonly caFile: string | undefined;
  private readonly ownsDir: boolean;

  private constructor(dir: string, ownsDir: boolean, server: Pick<NotaryServer, "url" | "caFile">, passphrases: NotaryPassphrases) {
    this.dir = dir;
    this.ownsDir = ownsDir;
    this.serverUrl = server.url;
    this.caFile = server.caFile;
    this.passphrases = passphrases;
  }

  static async create(server: Pick<NotaryServer, "url" | "caFile">, options: NotaryClientOptions = {}): Promise<NotaryClient> {
    assertLoopback(server.url);
    const ownsDir = options.dir === undefined;
    const dir = options.dir ?? (await mkdtemp(join(tmpdir(), "trustgate-notary-client-")));
    await mkdir(join(dir, "trust"), { recursive: true });
    const passphrases: NotaryPassphrases = {
      root: "lab-root-passphrase",
      targets: "lab-targets-passphrase",
      snapshot: "lab-snapshot-passphrase",
      delegation: "lab-delegation-passphrase",
      ...options.passphrases,
    };
    const config: Record<string, unknown> = {
      trust_dir: join(dir, "trust"),
      remote_server: { url: server.url, ...(server.caFile ? { root_ca: server.caFile } : {}) },
    };
    if (options.pinnedRootCerts) config.trust_pinning = { certs: options.pinnedRootCerts };
    await writeFile(join(dir, "config.json"), JSON.stringify(config, null, 2));
    return new NotaryClient(dir, ownsDir, server, passphrases);
  }

  /** The trust dir notary writes keys (private/) and cached metadata (tuf/) to. */
  get trustDir(): string {
    return join(this.dir, "trust");
  }

  /** Runs `notary <args>` with -c/-d/-s (and --tlscacert); throws on a non-zero exit unless allowFailure. */
  async run(args: readonly string[], options: { input?: string; allowFailure?: boolean } = {}): Promise<RunResult> {
    const global = ["-c", join(this.dir, "config.json"), "-d", this.trustDir, "-s", this.serverUrl];
    if (this.caFile) global.push("--tlscacert", this.caFile);
    return runCommand("notary", [...global, ...args], {
      env: {
        ...withoutProxies(process.env),
        NOTARY_ROOT_PASSPHRASE: this.passphrases.root,
        NOTARY_TARGETS_PASSPHRASE: this.passphrases.targets,
        NOTARY_SNAPSHOT_PASSPHRASE: this.passphrases.snapshot,
        NOTARY_DELEGATION_PASSPHRASE: this.passphrases.delegation,
      },
      cwd: this.dir,
      ...options,
    });
  }

  /**
   * `notary init GUN [--rootkey] [--rootcert]`, then publish. rootKey is a private key PEM file,
   * unencrypted (re-encrypted here for --rootkey) or already in notary's encrypted PKCS#8 form.
   * rootCert must be a non-CA leaf for that key (see makeKey); without it notary makes its own
   * self-signed certificate (CN = GUN, 10 years) at init time.
   *
   * serverManagedSnapshot (default true) then rotates the snapshot key to the server, as docker
   * does (docker/cli initializes with the snapshot key remotely managed). The CLI cannot init that
   * way, so root.json reaches version 2 (1.root.json: local snapshot key; 2.root.json: server's).
   */
  async init(gun: string, options: { rootKey?: string; rootCert?: string; serverManagedSnapshot?: boolean } = {}): Promise<void> {
    const args = ["init", gun, "--publish"];
    if (options.rootKey !== undefined) {
      const pem = await readFile(options.rootKey, "utf8");
      let keyFile = options.rootKey;
      if (!pem.includes("ENCRYPTED PRIVATE KEY")) {
        // notary init refuses unencrypted root keys ("only encrypted root keys may be imported").
        keyFile = join(this.dir, `rootkey-${createHash("sha256").update(pem).digest("hex").slice(0, 12)}.p8`);
        await encryptForNotary(options.rootKey, keyFile, this.passphrases.root);
      }
      args.push("--rootkey", keyFile);
    }
    if (options.rootCert !== undefined) args.push("--rootcert", options.rootCert);
    await this.run(args);
    if (options.serverManagedSnapshot ?? true) await this.rotateKey(gun, "snapshot", { serverManaged: true });
  }

  /** `notary publish GUN`: pushes everything staged. */
  async publish(gun: string): Promise<void> {
    await this.run(["publish", gun]);
  }

  /**
   * Stages a target the way docker does for an image: name = tag, hashes.sha256 = manifest digest,
   * length = manifest size (`notary addhash GUN TAG SIZE --sha256 HEX [-r ROLE]...`).
   * roles: delegation roles to write it into ("targets/releases", ...); none = the targets role.
   */
  async addTarget(gun: string, tag: string, sha256Hex: string, size: number, options: { roles?: string[]; publish?: boolean } = {}): Promise<void> {
    const hex = sha256Hex.replace(/^sha256:/, "");
    if (!/^[0-9a-f]{64}$/.test(hex)) throw new Error(`addTarget: not a sha256 hex digest: ${sha256Hex}`);
    const args = ["addhash", gun, tag, String(size), "--sha256", hex];
    for (const role of options.roles ?? []) args.push("--roles", role);
    if (options.publish) args.push("--publish");
    await this.run(args);
  }

  /** `notary remove GUN TAG [-r ROLE]...` (staged unless publish). */
  async removeTarget(gun: string, tag: string, options: { roles?: string[]; publish?: boolean } = {}): Promise<void> {
    const args = ["remove", gun, tag];
    for (const role of options.roles ?? []) args.push("--roles", role);
    if (options.publish) args.push("--publish");
    await this.run(args);
  }

  /**
   * `notary delegation add GUN ROLE KEYFILE... [--all-paths | --paths P]` (staged unless publish).
   * Key files: x509 certificate PEMs (TUF keytype ecdsa-x509/rsa-x509) or SubjectPublicKeyInfo
   * PEMs (keytype ecdsa/rsa, what docker trust key generate produces); both are accepted.
   */
  async addDelegation(
    gun: string,
    role: string,
    keyFiles: string | string[],
    options: { allPaths?: boolean; paths?: string[]; publish?: boolean } = {},
  ): Promise<void> {
    const args = ["delegation", "add", gun, role, ...(Array.isArray(keyFiles) ? keyFiles : [keyFiles])];
    if (options.allPaths ?? true) args.push("--all-paths");
    if (options.paths?.length) args.push("--paths", options.paths.join(","));
    if (options.publish) args.push("--publish");
    await this.run(args);
  }

  /**
   * `notary key import FILE --role ROLE [--gun GUN]`: an unencrypted private key PEM, stored
   * encrypted under the role's passphrase. Delegation keys are imported with the signer's name
   * as role (docker trust key load --name alice does the same), which makes them usable for
   * any targets/* role listing that key.
   */
  async importKey(keyFile: string, options: { role: string; gun?: string }): Promise<void> {
    const args = ["key", "import", keyFile, "--role", options.role];
    if (options.gun) args.push("--gun", options.gun);
    await this.run(args);
  }

  /**
   * `docker trust signer add NAME GUN` with the CLI: import the signer's private key (so this
   * client can sign as them), then targets/NAME and targets/releases both get the key with
   * paths [""], published together. keyFile is the signer's public key or certificate.
   */
  async addSigner(gun: string, name: string, key: { privateKeyFile?: string; keyFile: string }): Promise<void> {
    if (key.privateKeyFile) await this.importKey(key.privateKeyFile, { role: name });
    await this.addDelegation(gun, `targets/${name}`, key.keyFile, { allPaths: true });
    await this.addDelegation(gun, "targets/releases", key.keyFile, { allPaths: true });
    await this.publish(gun);
  }

  /** `notary delegation remove GUN ROLE [KEYID...]` (staged unless publish); no key IDs removes the role. */
  async removeDelegation(gun: string, role: string, options: { keyIds?: string[]; publish?: boolean } = {}): Promise<void> {
    const args = ["delegation", "remove", gun, role, ...(options.keyIds ?? [])];
    if (options.publish) args.push("--publish");
    // Removing a whole role asks for confirmation.
    await this.run(args, { input: "yes\n" });
  }

  /** `notary lookup GUN TAG` (verifies the remote data); null when the tag is not there. */
  async lookup(gun: string, tag: string): Promise<LookupResult | null> {
    const result = await this.run(["lookup", gun, tag], { allowFailure: true });
    if (result.code !== 0) {
      // A missing tag: "fatal: No valid trust data for TAG". A missing GUN ("does not have trust
      // data for GUN") or an unreachable server ("client is offline") are errors.
      // (notary prints "* fatal: ..." on stdout, its log lines on stderr.)
      if (/No valid trust data for /.test(result.stdout + result.stderr)) return null;
      throw new Error(`notary lookup ${gun} ${tag} failed (exit ${result.code}): ${`${result.stdout.trim()}\n${result.stderr.trim()}`.trim()}`);
    }
    // Output: "<name> sha256:<hex> <size>"
    const match = /^(\S+) sha256:([0-9a-f]{64}) (\d+)\s*$/m.exec(result.stdout);
    if (!match) throw new Error(`notary lookup: unexpected output ${JSON.stringify(result.stdout)}`);
    return { name: match[1]!, sha256: match[2]!, size: Number(match[3]) };
  }

  /** `notary list GUN [-r ROLE]`: the raw table. */
  async list(gun: string, role?: string): Promise<string> {
    return (await this.run(["list", gun, ...(role ? ["--roles", role] : [])])).stdout;
  }

  /**
   * `notary key rotate GUN ROLE [-r]`: published at once. serverManaged is required for
   * timestamp and optional for snapshot; for targets a new local key is generated.
   */
  async rotateKey(gun: string, role: ServerManagedRole | "targets", options: { serverManaged?: boolean } = {}): Promise<void> {
    const args = ["key", "rotate", gun, role];
    if (options.serverManaged || role === "timestamp") args.push("--server-managed");
    await this.run(args);
  }

  /**
   * `notary key rotate GUN root [-k KEYFILE]`: a new root key (a generated ECDSA one, or keyFile:
   * an unencrypted PEM, re-encrypted here), signed by old and new root keys, published at once as
   * root version N+1. The CLI asks "are you sure" on stdin: we answer "yes" (with EOF it says
   * "Aborting action." and still exits 0, so we check its output).
   */
  async rotateRoot(gun: string, options: { keyFile?: string } = {}): Promise<void> {
    const args = ["key", "rotate", gun, "root"];
    if (options.keyFile !== undefined) {
      const pem = await readFile(options.keyFile, "utf8");
      let keyFile = options.keyFile;
      if (!pem.includes("ENCRYPTED PRIVATE KEY")) {
        keyFile = join(this.dir, `rootkey-${createHash("sha256").update(pem).digest("hex").slice(0, 12)}.p8`);
        await encryptForNotary(options.keyFile, keyFile, this.passphrases.root);
      }
      args.push("--key", keyFile);
    }
    const result = await this.run(args, { input: "yes\n" });
    if (!/Successfully rotated root key/i.test(result.stdout + result.stderr)) {
      throw new Error(`notary key rotate ${gun} root did not rotate:\n${result.stdout}\n${result.stderr}`);
    }
  }

  /** `notary key list`: the raw table. */
  async keyList(): Promise<string> {
    return (await this.run(["key", "list"])).stdout;
  }

  /** Removes the trust dir if this client created it. */
  async close(): Promise<void> {
    if (this.ownsDir && !keep()) await rm(this.dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Reading what the server serves.

/** `<server>/v2/<gun>/_trust/tuf/<role>.json` (role: "root", "targets/releases", "2.root", ...). */
export function trustUrl(serverUrl: string, gun: string, role: string): string {
  return `${serverUrl}/v2/${gun}/_trust/tuf/${role}.json`;
}

/** The exact bytes the server serves for a role, or null on 404. Plain-HTTP servers only (Node's fetch has no per-request CA). */
export async function fetchRole(serverUrl: string, gun: string, role: string): Promise<Uint8Array | null> {
  const url = trustUrl(serverUrl, gun, role);
  assertLoopback(url);
  const response = await fetch(url);
  if (response.status === 404) {
    await response.body?.cancel();
    return null;
  }
  if (!response.ok) throw new Error(`GET ${url}: HTTP ${response.status} ${await response.text()}`);
  return new Uint8Array(await response.arrayBuffer());
}
