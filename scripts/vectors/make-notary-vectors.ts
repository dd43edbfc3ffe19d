// Regenerates test/vectors/notary-v1/: trust data made by the real notary CLI and served by a real notary-server (run via make-notary-vectors.sh).
//
// Every case gets its own fresh server (memory storage), client trust dir and keys; the files
// written are the exact bytes the server answered for GET /v2/<gun>/_trust/tuf/<role>.json.
// Private keys are thrown away: tests pin public keys and tamper with bytes, never re-sign.
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { promisify } from "node:util";
import { writeOciImage } from "../../test/e2e/lab/oci-image";
import {
  fetchRole,
  keyIdsForCert,
  makeKey,
  NotaryClient,
  startNotaryServer,
  type LabKey,
  type NotaryServer,
  type NotaryServerOptions,
} from "../../test/e2e/lab/notary";

const run = promisify(execFile);

const GUN = "127.0.0.1:5000/demo/app";

interface Image {
  seed: string;
  digest: string;
  size: number;
}

interface SignedFile {
  signed: {
    _type: string;
    version: number;
    expires: string;
    keys?: Record<string, { keytype: string; keyval: { public: string } }>;
    roles?: Record<string, { keyids: string[]; threshold: number }>;
    targets?: Record<string, { hashes: Record<string, string>; length: number }>;
    delegations?: { keys: Record<string, { keytype: string; keyval: { public: string } }>; roles: { name: string; keyids: string[]; paths: string[]; threshold: number }[] };
  };
  signatures: { keyid: string; method: string }[];
}

interface CaseContext {
  client: NotaryClient;
  keys: string;
  images: Record<string, Image>;
  /** Records who is who, for case.json. */
  note: { signers: Record<string, { key: LabKey; form: "certificate" | "public-key"; delegatedTo: string[] }>; roots: LabKey[]; rootCertMadeBy: "notary" | "openssl" };
}

interface CaseSpec {
  name: string;
  description: string;
  server: NotaryServerOptions;
  /** tag → roles the case means to sign it into (checked against what the server serves). */
  intent: Record<string, { image: string; roles: string[] }>;
  expected: (tags: Record<string, TagInfo>) => Record<string, unknown>;
  build(ctx: CaseContext): Promise<void>;
}

interface TagInfo {
  digest: string;
  size: number;
  signedBy: string[];
}

// docker/cli resolves a tag from targets/releases first, then the top-level targets role.
const dockerDigest = (t: TagInfo | undefined) =>
  t && (t.signedBy.includes("targets/releases") || t.signedBy.includes("targets")) ? t.digest : null;

async function rootKey(ctx: CaseContext, name: string, type: "ecdsa" | "rsa" = "ecdsa"): Promise<LabKey> {
  const key = await makeKey(ctx.keys, name, { type, commonName: GUN });
  ctx.note.roots.push(key);
  return key;
}

/**
 * docker trust signer add NAME (key from docker trust key generate: a bare public key).
 * canSign: this client also holds the private key. Without it the signer exists only as a
 * delegation (their key is on their own machine), so nothing here can sign as them.
 */
async function dockerSigner(ctx: CaseContext, name: string, canSign: boolean): Promise<LabKey> {
  const key = await makeKey(ctx.keys, name);
  await ctx.client.addSigner(GUN, name, { ...(canSign ? { privateKeyFile: key.keyFile } : {}), keyFile: key.publicKeyFile });
  ctx.note.signers[name] = { key, form: "public-key", delegatedTo: [`targets/${name}`, "targets/releases"] };
  return key;
}

/** A CI key delegated as targets/releases only, from an x509 certificate (notary's documented way). */
async function releasesCertSigner(ctx: CaseContext, name: string): Promise<LabKey> {
  const key = await makeKey(ctx.keys, name);
  await ctx.client.importKey(key.keyFile, { role: name });
  await ctx.client.addDelegation(GUN, "targets/releases", key.certFile, { allPaths: true, publish: true });
  ctx.note.signers[name] = { key, form: "certificate", delegatedTo: ["targets/releases"] };
  return key;
}

async function sign(ctx: CaseContext, tag: string, image: string, roles: string[]): Promise<void> {
  const img = ctx.images[image]!;
  await ctx.client.addTarget(GUN, tag, img.digest, img.size, { roles });
  await ctx.client.publish(GUN);
}

const releasesOnly = (ctx: CaseContext) => releasesCertSigner(ctx, "ci");

const CASES: CaseSpec[] = [
  {
    name: "signed-releases",
    description:
      "ECDSA root (certificate made by notary at init), snapshot rotated to the server, a CI key (x509 certificate) delegated as targets/releases with paths [\"\"]; v1 and v2 signed into targets/releases.",
    server: { signer: "notary-signer" },
    intent: { v1: { image: "one", roles: ["targets/releases"] }, v2: { image: "two", roles: ["targets/releases"] } },
    expected: (tags) => ({
      verifies: true,
      dockerPull: { v1: dockerDigest(tags.v1), v2: dockerDigest(tags.v2), v3: null },
      outcome: "v1 and v2 are trusted via targets/releases; any other tag has no trust data.",
    }),
    async build(ctx) {
      await ctx.client.init(GUN, { rootKey: (await rootKey(ctx, "root")).keyFile });
      await releasesOnly(ctx);
      await sign(ctx, "v1", "one", ["targets/releases"]);
      await sign(ctx, "v2", "two", ["targets/releases"]);
    },
  },
  {
    name: "alice-signed",
    description:
      "docker trust signer add alice (targets/alice and targets/releases, same ECDSA public key, paths [\"\"]); alice signs v1, which docker writes into both roles.",
    server: { signer: "notary-signer" },
    intent: { v1: { image: "one", roles: ["targets/releases", "targets/alice"] } },
    expected: (tags) => ({
      verifies: true,
      dockerPull: { v1: dockerDigest(tags.v1) },
      requireSigners: { alice: { v1: tags.v1!.digest } },
      outcome: "v1 is trusted via targets/releases and is signed by alice (targets/alice).",
    }),
    async build(ctx) {
      await ctx.client.init(GUN, { rootKey: (await rootKey(ctx, "root")).keyFile });
      await dockerSigner(ctx, "alice", true);
      await sign(ctx, "v1", "one", ["targets/releases", "targets/alice"]);
    },
  },
  {
    name: "alice-missing",
    description:
      "docker trust signer add alice and bob; only bob signs v1 (targets/releases + targets/bob). targets/alice is delegated but was never published: the server answers 404 for it.",
    server: { signer: "notary-signer" },
    intent: { v1: { image: "one", roles: ["targets/releases", "targets/bob"] } },
    expected: (tags) => ({
      verifies: true,
      dockerPull: { v1: dockerDigest(tags.v1) },
      requireSigners: { alice: { v1: null }, bob: { v1: tags.v1!.digest } },
      outcome: "v1 is trusted via targets/releases and signed by bob; a policy requiring alice must deny (targets/alice has no data: 404).",
    }),
    async build(ctx) {
      await ctx.client.init(GUN, { rootKey: (await rootKey(ctx, "root")).keyFile });
      await dockerSigner(ctx, "alice", false);
      await dockerSigner(ctx, "bob", true);
      await sign(ctx, "v1", "one", ["targets/releases", "targets/bob"]);
    },
  },
  {
    name: "ecdsa-root",
    description:
      "ECDSA root key with a root certificate made by openssl (CN = GUN, CA:FALSE, codeSigning) and passed to notary init --rootcert; v1 signed into targets/releases by a CI certificate key. The ECDSA twin of rsa-root.",
    server: { signer: "notary-signer" },
    intent: { v1: { image: "one", roles: ["targets/releases"] } },
    expected: (tags) => ({ verifies: true, dockerPull: { v1: dockerDigest(tags.v1) }, outcome: "v1 is trusted via targets/releases." }),
    async build(ctx) {
      const root = await rootKey(ctx, "root");
      ctx.note.rootCertMadeBy = "openssl";
      await ctx.client.init(GUN, { rootKey: root.keyFile, rootCert: root.certFile });
      await releasesOnly(ctx);
      await sign(ctx, "v1", "one", ["targets/releases"]);
    },
  },
  {
    name: "rsa-root",
    description:
      "RSA-2048 root key (notary init --rootkey; notary makes an rsa-x509 certificate and signs root with RSASSA-PSS, method \"rsapss\"); v1 signed into targets/releases by a CI certificate key.",
    server: { signer: "notary-signer" },
    intent: { v1: { image: "one", roles: ["targets/releases"] } },
    expected: (tags) => ({ verifies: true, dockerPull: { v1: dockerDigest(tags.v1) }, outcome: "v1 is trusted via targets/releases." }),
    async build(ctx) {
      await ctx.client.init(GUN, { rootKey: (await rootKey(ctx, "root", "rsa")).keyFile });
      await releasesOnly(ctx);
      await sign(ctx, "v1", "one", ["targets/releases"]);
    },
  },
  {
    name: "rotated-root",
    description:
      "signed-releases with v1, then notary key rotate GUN root to a second known ECDSA key: 3.root.json lists the new root key, is signed by old and new keys; 1.root.json and 2.root.json (old key) are kept.",
    server: { signer: "notary-signer" },
    intent: { v1: { image: "one", roles: ["targets/releases"] } },
    expected: (tags) => ({
      verifies: true,
      dockerPull: { v1: dockerDigest(tags.v1) },
      pinnedOldRoot: "verifies: walk 1.root.json → 2.root.json → 3.root.json (each signed by the previous root's keys and its own)",
      pinnedNewRoot: "verifies from root.json (= 3.root.json) directly",
      outcome: "v1 is trusted via targets/releases whichever root key is pinned.",
    }),
    async build(ctx) {
      await ctx.client.init(GUN, { rootKey: (await rootKey(ctx, "root")).keyFile });
      await releasesOnly(ctx);
      await sign(ctx, "v1", "one", ["targets/releases"]);
      const newRoot = await rootKey(ctx, "root-new");
      await ctx.client.rotateRoot(GUN, { keyFile: newRoot.keyFile });
    },
  },
  {
    name: "no-delegations",
    description:
      "No delegations at all: v1 is signed into the top-level targets role with the repository's targets key (docker push with trust on a repo without signers).",
    server: { signer: "notary-signer" },
    intent: { v1: { image: "one", roles: ["targets"] } },
    expected: (tags) => ({
      verifies: true,
      dockerPull: { v1: dockerDigest(tags.v1) },
      outcome: "v1 is trusted via the targets role (docker falls back to it when targets/releases does not exist).",
    }),
    async build(ctx) {
      await ctx.client.init(GUN, { rootKey: (await rootKey(ctx, "root")).keyFile });
      await sign(ctx, "v1", "one", []);
    },
  },
  {
    name: "ed25519-server-keys",
    description:
      "Like signed-releases (v1 only) but served by notary-server's local trust service: the timestamp and snapshot keys are ED25519 (method \"eddsa\"), which is all that service can make.",
    server: { signer: "local" },
    intent: { v1: { image: "one", roles: ["targets/releases"] } },
    expected: (tags) => ({ verifies: true, dockerPull: { v1: dockerDigest(tags.v1) }, outcome: "v1 is trusted via targets/releases." }),
    async build(ctx) {
      await ctx.client.init(GUN, { rootKey: (await rootKey(ctx, "root")).keyFile });
      await releasesOnly(ctx);
      await sign(ctx, "v1", "one", ["targets/releases"]);
    },
  },
];

const sha256Hex = (bytes: Uint8Array) => createHash("sha256").update(bytes).digest("hex");
const parse = (bytes: Uint8Array) => JSON.parse(Buffer.from(bytes).toString("utf8")) as SignedFile;
const pemOf = (key: { keyval: { public: string } }) => Buffer.from(key.keyval.public, "base64").toString("utf8");

async function toolVersions(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  const { stdout } = await run("dpkg-query", ["-W", "-f", "${Package} ${Version}\\n", "notary", "openssl"]).catch(() => ({ stdout: "" }));
  for (const line of stdout.trim().split("\n")) {
    const [pkg, version] = line.split(" ");
    if (pkg && version) out[`debian:${pkg}`] = version;
  }
  // The Debian build leaves notary's own version string empty; the Go version is still useful.
  out["notary version"] = (await run("notary", ["version"])).stdout.replace(/\s+/g, " ").trim();
  out["notary-server -version"] = (await run("notary-server", ["-version"])).stdout.trim();
  out["notary-signer -version"] = (await run("notary-signer", ["-version"])).stdout.trim();
  out["openssl version"] = (await run("openssl", ["version"])).stdout.trim();
  return out;
}

async function buildCase(spec: CaseSpec, images: Record<string, Image>, outRoot: string, tools: Record<string, string>) {
  const generatedAt = new Date();
  const server: NotaryServer = await startNotaryServer(spec.server);
  const client = await NotaryClient.create(server);
  const keys = await mkdtemp(join(tmpdir(), "trustgate-vector-keys-"));
  const ctx: CaseContext = { client, keys, images, note: { signers: {}, roots: [], rootCertMadeBy: "notary" } };
  try {
    await spec.build(ctx);
    const finishedAt = new Date();

    // Fetch everything the server has for the GUN: root versions, top-level roles, delegations.
    const files: Record<string, Uint8Array> = {};
    const fetchInto = async (role: string) => {
      const bytes = await fetchRole(server.url, GUN, role);
      if (bytes) files[role] = bytes;
      return bytes;
    };
    for (const role of ["root", "timestamp", "snapshot", "targets"]) {
      if (!(await fetchInto(role))) throw new Error(`${spec.name}: server has no ${role}.json`);
    }
    const root = parse(files.root!);
    for (let v = 1; v <= root.signed.version; v++) {
      if (!(await fetchInto(`${v}.root`))) throw new Error(`${spec.name}: server has no ${v}.root.json`);
    }
    const targets = parse(files.targets!);
    const delegated = (targets.signed.delegations?.roles ?? []).map((r) => r.name);
    const absent: string[] = [];
    for (const role of delegated) if (!(await fetchInto(role))) absent.push(role);

    // Which roles list which tags, from the served bytes.
    const tags: Record<string, TagInfo> = {};
    for (const role of ["targets", ...delegated]) {
      const bytes = files[role];
      if (!bytes) continue;
      for (const [tag, target] of Object.entries(parse(bytes).signed.targets ?? {})) {
        const digest = `sha256:${Buffer.from(target.hashes.sha256!, "base64").toString("hex")}`;
        const info = (tags[tag] ??= { digest, size: target.length, signedBy: [] });
        if (info.digest !== digest || info.size !== target.length) throw new Error(`${spec.name}: ${tag} differs between roles`);
        info.signedBy.push(role);
      }
    }
    for (const [tag, want] of Object.entries(spec.intent)) {
      const got = tags[tag];
      const img = images[want.image]!;
      if (!got || got.digest !== img.digest || got.size !== img.size || [...got.signedBy].sort().join() !== [...want.roles].sort().join()) {
        throw new Error(`${spec.name}: ${tag} served as ${JSON.stringify(got)}, meant ${JSON.stringify({ ...img, roles: want.roles })}`);
      }
    }
    if (Object.keys(tags).length !== Object.keys(spec.intent).length) throw new Error(`${spec.name}: unexpected tags ${Object.keys(tags)}`);

    // Cross-check with the CLI's own view (it verifies what the server serves).
    for (const [tag, info] of Object.entries(tags)) {
      const looked = await client.lookup(GUN, tag);
      if (info.signedBy.some((r) => r === "targets/releases" || r === "targets") && looked?.sha256 !== info.digest.slice(7)) {
        throw new Error(`${spec.name}: notary lookup ${tag} gave ${JSON.stringify(looked)}`);
      }
    }

    // Write the case.
    const dir = join(outRoot, spec.name);
    await rm(dir, { recursive: true, force: true });
    const fileIndex: Record<string, unknown> = {};
    for (const [role, bytes] of Object.entries(files)) {
      const path = `${role}.json`;
      await mkdir(dirname(join(dir, path)), { recursive: true });
      await writeFile(join(dir, path), bytes);
      const parsed = parse(bytes);
      fileIndex[role] = {
        file: path,
        url: `/v2/${GUN}/_trust/tuf/${path}`,
        length: bytes.byteLength,
        sha256: sha256Hex(bytes),
        type: parsed.signed._type,
        version: parsed.signed.version,
        expires: parsed.signed.expires,
        signatures: parsed.signatures.map((s) => ({ keyid: s.keyid, method: s.method })),
      };
    }
    for (const role of absent) fileIndex[role] = { file: null, url: `/v2/${GUN}/_trust/tuf/${role}.json`, status: 404 };

    const rootInfo = (key: LabKey, servedRoot: SignedFile) => {
      // The served root lists the x509 form; with --rootkey alone notary made the certificate.
      const entry = Object.entries(servedRoot.signed.keys ?? {}).find(([id, k]) => {
        if (!k.keytype.endsWith("-x509")) return false;
        return keyIdsForCert(pemOf(k)).publicKeyId === key.publicKeyId || id === key.certKeyId;
      });
      if (!entry) throw new Error(`${spec.name}: root key ${key.publicKeyId} not in root.json`);
      const certPem = pemOf(entry[1]);
      return {
        keytype: entry[1].keytype,
        tufKeyId: entry[0],
        publicKeyId: key.publicKeyId,
        certificatePem: certPem,
        publicKeyPem: key.publicKeyPem,
      };
    };
    const firstRoot = parse(files["1.root"]!);
    const roots = ctx.note.roots.map((k, i) => rootInfo(k, i === 0 ? firstRoot : root));
    const serverKeys = Object.fromEntries(
      (["timestamp", "snapshot", "targets"] as const).map((role) => {
        const id = root.signed.roles![role]!.keyids[0]!;
        return [role, { keyId: id, keytype: root.signed.keys![id]!.keytype }];
      }),
    );
    const signers = Object.fromEntries(
      Object.entries(ctx.note.signers).map(([name, s]) => [
        name,
        {
          form: s.form,
          tufKeyId: s.form === "certificate" ? s.key.certKeyId : s.key.publicKeyId,
          keytype: s.form === "certificate" ? "ecdsa-x509" : "ecdsa",
          publicKeyPem: s.key.publicKeyPem,
          ...(s.form === "certificate" ? { certificatePem: s.key.certPem } : {}),
          delegatedTo: s.delegatedTo,
          // Tags in a role file that carries this signer's signature.
          signed: Object.entries(tags)
            .filter(([, t]) =>
              t.signedBy.some((r) => {
                const bytes = files[r];
                const id = s.form === "certificate" ? s.key.certKeyId : s.key.publicKeyId;
                return bytes !== undefined && parse(bytes).signatures.some((sig) => sig.keyid === id);
              }),
            )
            .map(([tag]) => tag),
        },
      ]),
    );
    for (const [name, s] of Object.entries(signers)) {
      for (const role of s.delegatedTo) {
        const listed = targets.signed.delegations?.roles.find((r) => r.name === role)?.keyids ?? [];
        if (!listed.includes(s.tufKeyId)) throw new Error(`${spec.name}: ${name}'s key ${s.tufKeyId} is not in ${role}`);
      }
    }
    const timestampExpires = parse(files.timestamp!).signed.expires;
    // A fixed "now" just after generation: every file is valid then (the timestamp lasts 14 days).
    const now = new Date(Math.ceil((finishedAt.getTime() + 1000) / 1000) * 1000).toISOString();
    const expiredNow = new Date(Math.ceil((Date.parse(timestampExpires) + 1000) / 1000) * 1000).toISOString();
    const caseJson = {
      name: spec.name,
      description: spec.description,
      gun: GUN,
      generatedAt: generatedAt.toISOString(),
      now,
      expiredNow,
      expiredNowNote: "just after timestamp.json expires: verification must fail as EXPIRED (role timestamp)",
      server: { trustService: spec.server.signer === "local" ? "local (ED25519)" : "notary-signer (ecdsa)", storage: "memory" },
      tools,
      pinnedRoot: roots[0],
      ...(roots.length > 1 ? { rotatedToRoot: roots[1] } : {}),
      rootCertificateMadeBy: ctx.note.rootCertMadeBy,
      serverKeys,
      signers,
      delegations: Object.fromEntries(
        (targets.signed.delegations?.roles ?? []).map((r) => [r.name, { keyIds: r.keyids, paths: r.paths, threshold: r.threshold, published: !absent.includes(r.name) }]),
      ),
      tags: Object.fromEntries(Object.entries(tags).map(([tag, t]) => [tag, { ...t, image: { seed: spec.intent[tag]!.image } }])),
      expected: spec.expected(tags),
      files: fileIndex,
    };
    await writeFile(join(dir, "case.json"), `${JSON.stringify(caseJson, null, 2)}\n`);
    console.log(`${spec.name}: ${Object.keys(files).length} files, tags ${Object.keys(tags).join(", ")}, now ${now}`);
  } catch (err) {
    console.error(`--- ${spec.name}: notary-server logs (tail) ---\n${server.logs().split("\n").slice(-30).join("\n")}`);
    throw err;
  } finally {
    await client.close();
    await server.close();
    await rm(keys, { recursive: true, force: true });
  }
}

async function main() {
  const args = process.argv.slice(2);
  const outIndex = args.indexOf("--out");
  const outRoot = resolve(outIndex >= 0 ? args[outIndex + 1]! : "test/vectors/notary-v1");
  const only = args.filter((a, i) => !a.startsWith("--") && (outIndex < 0 || i !== outIndex + 1));
  const tools = await toolVersions();

  // The lab's reproducible images: e2e tests can push the same seeds and get the same digests.
  const work = await mkdtemp(join(tmpdir(), "trustgate-vector-images-"));
  const images: Record<string, Image> = {};
  try {
    for (const seed of ["one", "two"]) {
      const dir = join(work, seed);
      const { manifestDigest } = await writeOciImage(dir, { seed });
      const size = (await stat(join(dir, "blobs", "sha256", manifestDigest.slice(7)))).size;
      images[seed] = { seed, digest: manifestDigest, size };
    }
  } finally {
    await rm(work, { recursive: true, force: true });
  }

  await mkdir(outRoot, { recursive: true });
  for (const spec of CASES) {
    if (only.length > 0 && !only.includes(spec.name)) continue;
    await buildCase(spec, images, outRoot, tools);
  }
  // Sanity: the written root.json of each case still parses (catches a partial write).
  for (const spec of CASES) {
    if (only.length > 0 && !only.includes(spec.name)) continue;
    parse(await readFile(join(outRoot, spec.name, "root.json")));
  }
}

main().catch((err) => {
  console.error(err instanceof Error ? err.stack : err);
  process.exit(1);
});
