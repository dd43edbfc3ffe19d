// Differential, end to end: Red Hat simple signing (GPG, lookaside) decided by trustgate and by
// skopeo 1.9 from the same policy.json and registries.d, against a real docker-registry, a loopback
// lookaside store and signatures made by real gpg through `skopeo copy --sign-by`.
import { writeFileSync } from "node:fs";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { createGpgHome, type GpgHome, type GpgKey } from "./lab/gpg";
import { GARBAGE_BODY, startLookaside, type LookasideServer } from "./lab/lookaside";
import { writeOciImage, type OciImage } from "./lab/oci-image";
import { startRegistry, type Registry } from "./lab/registry";
import { createSkopeoLab, type OracleResult, type SkopeoLab } from "./lab/skopeo-oracle";
import { startWorker, type WorkerHandle } from "./lab/worker";
import { callApi, type ApiVerdict as Verdict } from "./lab/api";

type KeyName = "rsa" | "ed" | "wrong" | "old" | "past" | "sub";
type Seed = "one" | "two" | "three";
type RegistriesD = "main" | "split" | "legacy" | "none";

/** What the cases need to know about the lab once it runs. */
interface Lab {
  /** "127.0.0.1:PORT" of the registry. */
  h: string;
  keys: Record<KeyName, GpgKey>;
  /** Base64 of a keyring holding several keys (`gpg --export a b`). */
  keyring: Map<string, string>;
  digests: Record<Seed, string>;
}

interface Case {
  name: string;
  policy: (l: Lab) => unknown;
  image: (l: Lab) => string;
  registriesD?: RegistriesD;
  /** What skopeo is expected to say: keeps the lab honest (a case must test what it claims). */
  skopeo: "accept" | "reject";
  /** For rejects: a pattern of skopeo's message that shows the reason is the intended one. */
  because?: RegExp;
  /**
   * A known, explained difference between skopeo 1.9 (containers/image 5.23) and current
   * containers/image, which trustgate follows: trustgate's decision is asserted to be this one,
   * and the table marks the row. Anything else must agree with skopeo.
   */
  divergence?: { trustgate: "allow" | "deny"; why: string };
}

const REJECT = [{ type: "reject" }];
const ACCEPT = [{ type: "insecureAcceptAnything" }];

function signedBy(l: Lab, keys: KeyName | readonly KeyName[], signedIdentity?: Record<string, string>) {
  const keyData = typeof keys === "string" ? l.keys[keys].keyData : l.keyring.get(keys.join("+"));
  if (keyData === undefined) throw new Error(`no keyring ${String(keys)}`);
  return { type: "signedBy", keyType: "GPGKeys", keyData, ...(signedIdentity ? { signedIdentity } : {}) };
}

/** policy.json with `default` and `transports.docker` scopes. */
const dockerPolicy = (def: unknown[], scopes: Record<string, unknown[]>) => ({ default: def, transports: { docker: scopes } });

/** The scope-specificity policy: tag > repository > namespace > host > default. */
const specificity = (l: Lab) =>
  dockerPolicy(REJECT, {
    [l.h]: ACCEPT,
    [`${l.h}/lab`]: [signedBy(l, "rsa")],
    [`${l.h}/lab/ed`]: [signedBy(l, "ed")],
    [`${l.h}/lab/rsa:v1`]: REJECT,
  });

/** Signed by RSA in namespace lab, with a chosen signedIdentity. */
const rsaWith = (identity?: Record<string, string>) => (l: Lab) => dockerPolicy(REJECT, { [`${l.h}/lab`]: [signedBy(l, "rsa", identity)] });
const rsaEverywhere = (identity?: Record<string, string>) => (l: Lab) => dockerPolicy(REJECT, { [l.h]: [signedBy(l, "rsa", identity)] });

/** Namespace craft, default identity. */
const craft = (key: KeyName = "rsa") => (l: Lab) => dockerPolicy(REJECT, { [`${l.h}/craft`]: [signedBy(l, key)] });

/** A simple-signing payload as containers/image writes it, to be edited into what it would never write. */
function simplePayload(reference: string, digest: string, edit: (p: Record<string, any>) => void = () => {}): string {
  const payload: Record<string, any> = {
    critical: {
      identity: { "docker-reference": reference },
      image: { "docker-manifest-digest": digest },
      type: "atomic container signature",
    },
    optional: { creator: "trustgate lab", timestamp: Math.floor(Date.now() / 1000) },
  };
  edit(payload);
  return JSON.stringify(payload);
}

// Signatures in the store (all made by gpg through skopeo; identity = the reference signed):
//   lab/rsa:v1 (seed one, RSA, identity lab/rsa:v1); lab/rsa:latest = same digest, not signed again
//   lab/ed:v1 (two, Ed25519)          lab/unsigned:v1, other/app:v1 (three, none)
//   lab/moved:v1   signed as one, then re-pushed as two (two has no signature)
//   lab/replayed:v1 as lab/moved, and one's signature copied next to two
//   lab/foreign:v1 (one) carries a signature for elsewhere/app:v1
//   lab/two-sigs:v1 (one) RSA + a second signature by the wrong key
//   lab/corrupt:v1 (one) signature-1 corrupted, signature-2 good; lab/corrupt-only:v1 only the corrupt one
//   lab/both:v1 (two) RSA + Ed25519      mirror/rsa:v1 (one) carries lab/rsa:v1's signature
//   faulty/notfound:v1, faulty/html:v1 (one, RSA) behind lookaside scopes answering 404 / HTML
//   lab/html-first:v1 (one) signature-1 is an HTML page, signature-2 is good
//   craft/<name>:v1 (one) one hand-made signature each: payload and envelope variants, expired
//   key and signature (gpg --faked-system-time), and craft/subkey:v1 signed by a signing subkey
const CASES: Case[] = [
  // Requirement types and scope kinds.
  { name: "default insecureAcceptAnything, unsigned", policy: () => ({ default: ACCEPT }), image: (l) => `${l.h}/lab/unsigned:v1`, skopeo: "accept" },
  { name: "default reject, signed", policy: () => ({ default: REJECT }), image: (l) => `${l.h}/lab/rsa:v1`, skopeo: "reject", because: /is rejected by policy/ },
  { name: "default signedBy RSA, signed", policy: (l) => ({ default: [signedBy(l, "rsa")] }), image: (l) => `${l.h}/lab/rsa:v1`, skopeo: "accept" },
  {
    name: 'docker "" scope beats default, unsigned',
    policy: (l) => dockerPolicy(ACCEPT, { "": [signedBy(l, "rsa")] }),
    image: (l) => `${l.h}/lab/unsigned:v1`,
    skopeo: "reject",
    because: /no signature exists/,
  },
  { name: "host:port scope signedBy RSA", policy: rsaEverywhere(), image: (l) => `${l.h}/lab/rsa:v1`, skopeo: "accept" },
  {
    name: "host scope without port: no match",
    policy: () => dockerPolicy(REJECT, { "127.0.0.1": ACCEPT }),
    image: (l) => `${l.h}/lab/rsa:v1`,
    skopeo: "reject",
    because: /is rejected by policy/,
  },
  {
    name: "string-prefix scope lab/rs: no match",
    policy: (l) => dockerPolicy(REJECT, { [`${l.h}/lab/rs`]: ACCEPT }),
    image: (l) => `${l.h}/lab/rsa:v1`,
    skopeo: "reject",
    because: /is rejected by policy/,
  },
  {
    name: "no docker scope matches: default",
    policy: (l) => dockerPolicy(ACCEPT, { [`${l.h}/lab/ed`]: REJECT }),
    image: (l) => `${l.h}/lab/unsigned:v1`,
    skopeo: "accept",
  },
  // Scope specificity: one policy, four images.
  { name: "specificity: repo:tag scope rejects", policy: specificity, image: (l) => `${l.h}/lab/rsa:v1`, skopeo: "reject", because: /is rejected by policy/ },
  { name: "specificity: digest ref -> ns scope", policy: specificity, image: (l) => `${l.h}/lab/rsa@${l.digests.one}`, skopeo: "accept" },
  { name: "specificity: repo scope, Ed25519", policy: specificity, image: (l) => `${l.h}/lab/ed:v1`, skopeo: "accept" },
  { name: "specificity: ns scope, unsigned", policy: specificity, image: (l) => `${l.h}/lab/unsigned:v1`, skopeo: "reject", because: /no signature exists/ },
  { name: "specificity: host scope accepts", policy: specificity, image: (l) => `${l.h}/other/app:v1`, skopeo: "accept" },
  // Keys.
  {
    name: "RSA-signed, policy wants Ed25519",
    policy: (l) => dockerPolicy(REJECT, { [`${l.h}/lab`]: [signedBy(l, "ed")] }),
    image: (l) => `${l.h}/lab/rsa:v1`,
    skopeo: "reject",
    because: /Invalid GPG signature/,
  },
  {
    name: "Ed25519-signed, policy wants wrong key",
    policy: (l) => dockerPolicy(REJECT, { [`${l.h}/lab`]: [signedBy(l, "wrong")] }),
    image: (l) => `${l.h}/lab/ed:v1`,
    skopeo: "reject",
    because: /Invalid GPG signature/,
  },
  {
    name: "keyData = wrong + Ed25519 keyring",
    policy: (l) => dockerPolicy(REJECT, { [`${l.h}/lab`]: [signedBy(l, ["wrong", "ed"])] }),
    image: (l) => `${l.h}/lab/ed:v1`,
    skopeo: "accept",
  },
  // signedIdentity variants (lab/rsa's signature names lab/rsa:v1; :latest is the same digest).
  { name: "matchExact, same tag", policy: rsaWith({ type: "matchExact" }), image: (l) => `${l.h}/lab/rsa:v1`, skopeo: "accept" },
  {
    name: "matchExact, other tag same digest",
    policy: rsaWith({ type: "matchExact" }),
    image: (l) => `${l.h}/lab/rsa:latest`,
    skopeo: "reject",
    because: /Signature for identity .* is not accepted/,
  },
  {
    name: "matchExact, digest reference",
    policy: rsaWith({ type: "matchExact" }),
    image: (l) => `${l.h}/lab/rsa@${l.digests.one}`,
    skopeo: "reject",
    because: /Signature for identity .* is not accepted/,
  },
  {
    name: "matchRepoDigestOrExact, other tag",
    policy: rsaWith({ type: "matchRepoDigestOrExact" }),
    image: (l) => `${l.h}/lab/rsa:latest`,
    skopeo: "reject",
    because: /Signature for identity .* is not accepted/,
  },
  { name: "default identity, digest reference", policy: rsaWith(), image: (l) => `${l.h}/lab/rsa@${l.digests.one}`, skopeo: "accept" },
  { name: "matchRepository, other tag", policy: rsaWith({ type: "matchRepository" }), image: (l) => `${l.h}/lab/rsa:latest`, skopeo: "accept" },
  {
    name: "matchRepository, foreign signature",
    policy: rsaWith({ type: "matchRepository" }),
    image: (l) => `${l.h}/lab/foreign:v1`,
    skopeo: "reject",
    because: /Signature for identity .*elsewhere\/app:v1 is not accepted/,
  },
  {
    name: "exactReference lab/rsa:v1, image :latest",
    policy: (l) => rsaWith({ type: "exactReference", dockerReference: `${l.h}/lab/rsa:v1` })(l),
    image: (l) => `${l.h}/lab/rsa:latest`,
    skopeo: "accept",
  },
  {
    name: "exactReference lab/rsa:latest, image :v1",
    policy: (l) => rsaWith({ type: "exactReference", dockerReference: `${l.h}/lab/rsa:latest` })(l),
    image: (l) => `${l.h}/lab/rsa:v1`,
    skopeo: "reject",
    because: /Signature for identity .* is not accepted/,
  },
  {
    name: "exactRepository lab/rsa, image :latest",
    policy: (l) => rsaWith({ type: "exactRepository", dockerRepository: `${l.h}/lab/rsa` })(l),
    image: (l) => `${l.h}/lab/rsa:latest`,
    skopeo: "accept",
  },
  {
    name: "exactRepository lab/other",
    policy: (l) => rsaWith({ type: "exactRepository", dockerRepository: `${l.h}/lab/other` })(l),
    image: (l) => `${l.h}/lab/rsa:v1`,
    skopeo: "reject",
    because: /Signature for identity .* is not accepted/,
  },
  {
    name: "remapIdentity mirror -> lab",
    policy: (l) => rsaEverywhere({ type: "remapIdentity", prefix: `${l.h}/mirror`, signedPrefix: `${l.h}/lab` })(l),
    image: (l) => `${l.h}/mirror/rsa:v1`,
    skopeo: "accept",
  },
  {
    name: "mirror without remapIdentity",
    policy: rsaEverywhere(),
    image: (l) => `${l.h}/mirror/rsa:v1`,
    skopeo: "reject",
    because: /Signature for identity .*lab\/rsa:v1 is not accepted/,
  },
  {
    name: "remapIdentity, prefix not matching",
    policy: (l) => rsaEverywhere({ type: "remapIdentity", prefix: `${l.h}/elsewhere`, signedPrefix: `${l.h}/mirror` })(l),
    image: (l) => `${l.h}/lab/rsa:v1`,
    skopeo: "accept",
  },
  // Signatures for another repository, moved tags, replayed signatures.
  {
    name: "signature made for another repository",
    policy: rsaWith(),
    image: (l) => `${l.h}/lab/foreign:v1`,
    skopeo: "reject",
    because: /Signature for identity .*elsewhere\/app:v1 is not accepted/,
  },
  {
    name: "foreign signature, exactRepository it",
    policy: (l) => rsaWith({ type: "exactRepository", dockerRepository: `${l.h}/elsewhere/app` })(l),
    image: (l) => `${l.h}/lab/foreign:v1`,
    skopeo: "accept",
  },
  { name: "tag moved after signing", policy: rsaWith(), image: (l) => `${l.h}/lab/moved:v1`, skopeo: "reject", because: /no signature exists/ },
  { name: "moved tag, old digest by digest", policy: rsaWith(), image: (l) => `${l.h}/lab/moved@${l.digests.one}`, skopeo: "accept" },
  {
    name: "moved tag, old signature replayed",
    policy: rsaWith(),
    image: (l) => `${l.h}/lab/replayed:v1`,
    skopeo: "reject",
    because: /Signature for digest .* does not match/,
  },
  // Several signatures.
  { name: "good RSA + wrong-key signature-2", policy: rsaWith(), image: (l) => `${l.h}/lab/two-sigs:v1`, skopeo: "accept" },
  {
    name: "RSA + wrong-key, policy wants Ed25519",
    policy: (l) => dockerPolicy(REJECT, { [`${l.h}/lab`]: [signedBy(l, "ed")] }),
    image: (l) => `${l.h}/lab/two-sigs:v1`,
    skopeo: "reject",
    because: /None of the signatures were accepted/,
  },
  { name: "corrupt signature-1, good signature-2", policy: rsaWith(), image: (l) => `${l.h}/lab/corrupt:v1`, skopeo: "accept" },
  { name: "only a corrupt signature", policy: rsaWith(), image: (l) => `${l.h}/lab/corrupt-only:v1`, skopeo: "reject" },
  {
    name: "requirements RSA AND Ed25519, both",
    policy: (l) => dockerPolicy(REJECT, { [`${l.h}/lab`]: [signedBy(l, "rsa"), signedBy(l, "ed")] }),
    image: (l) => `${l.h}/lab/both:v1`,
    skopeo: "accept",
  },
  {
    name: "requirements RSA AND Ed25519, RSA only",
    policy: (l) => dockerPolicy(REJECT, { [`${l.h}/lab`]: [signedBy(l, "rsa"), signedBy(l, "ed")] }),
    image: (l) => `${l.h}/lab/rsa:v1`,
    skopeo: "reject",
    because: /Invalid GPG signature/,
  },
  // registries.d: scopes, old key names, broken stores.
  { name: "registries.d repo scope over default", policy: rsaEverywhere(), registriesD: "split", image: (l) => `${l.h}/lab/rsa:v1`, skopeo: "accept" },
  {
    name: "registries.d default-docker (404)",
    policy: (l) => dockerPolicy(REJECT, { [`${l.h}/lab`]: [signedBy(l, "ed")] }),
    registriesD: "split",
    image: (l) => `${l.h}/lab/ed:v1`,
    skopeo: "reject",
    because: /no signature exists/,
  },
  { name: "registries.d sigstore/sigstore-staging", policy: rsaEverywhere(), registriesD: "legacy", image: (l) => `${l.h}/lab/rsa:v1`, skopeo: "accept" },
  { name: "lookaside scope answers 404", policy: rsaEverywhere(), image: (l) => `${l.h}/faulty/notfound:v1`, skopeo: "reject", because: /no signature exists/ },
  {
    name: "lookaside scope answers HTML",
    policy: rsaEverywhere(),
    image: (l) => `${l.h}/faulty/html:v1`,
    skopeo: "reject",
    because: /unrecognized signature format/,
  },
  {
    name: "HTML signature-1, good signature-2",
    policy: rsaWith(),
    image: (l) => `${l.h}/lab/html-first:v1`,
    skopeo: "reject",
    because: /unrecognized signature format/,
  },
  { name: "no registries.d at all", policy: rsaEverywhere(), registriesD: "none", image: (l) => `${l.h}/lab/rsa:v1`, skopeo: "reject", because: /no signature exists/ },
  // Envelopes and payloads skopeo would never write, made with gpg directly (craft/*: seed one).
  { name: "gpg --sign of a valid payload (control)", policy: craft(), image: (l) => `${l.h}/craft/control:v1`, skopeo: "accept" },
  { name: "payload: unknown field in critical", policy: craft(), image: (l) => `${l.h}/craft/critical-extra:v1`, skopeo: "reject" },
  { name: "payload: unknown fields in optional", policy: craft(), image: (l) => `${l.h}/craft/optional-extra:v1`, skopeo: "accept" },
  { name: "payload: no optional member", policy: craft(), image: (l) => `${l.h}/craft/no-optional:v1`, skopeo: "reject" },
  { name: "payload: cosign type", policy: craft(), image: (l) => `${l.h}/craft/cosign-type:v1`, skopeo: "reject" },
  { name: "payload: duplicate digest key", policy: craft(), image: (l) => `${l.h}/craft/duplicate-key:v1`, skopeo: "reject" },
  { name: "payload: digest in upper case", policy: craft(), image: (l) => `${l.h}/craft/upper-digest:v1`, skopeo: "reject" },
  { name: "envelope: detached signature", policy: craft(), image: (l) => `${l.h}/craft/detached:v1`, skopeo: "reject" },
  { name: "envelope: clearsigned text", policy: craft(), image: (l) => `${l.h}/craft/clearsigned:v1`, skopeo: "reject" },
  { name: "key expired since it signed", policy: craft("old"), image: (l) => `${l.h}/craft/expired-key:v1`, skopeo: "reject" },
  { name: "signature expired", policy: craft("past"), image: (l) => `${l.h}/craft/expired-sig:v1`, skopeo: "reject" },
  {
    name: "signing subkey, primary in keyData",
    policy: craft("sub"),
    image: (l) => `${l.h}/craft/subkey:v1`,
    skopeo: "reject",
    because: /Signature by key [0-9A-F]{40} is not accepted/,
    divergence: {
      trustgate: "allow",
      why:
        "containers/image before containers/image#2905 (merged 2025-07) compares the subkey's fingerprint with the primary keys " +
        "it imported and refuses (podman#16406); since then a signing subkey counts as its primary key, as trustgate does",
    },
  },
];

interface Row {
  n: number;
  name: string;
  divergence?: string;
  image: string;
  skopeo?: OracleResult;
  trustgate?: Verdict;
  error?: string;
}

describe("simple signing: trustgate decides as skopeo does (containers-policy import)", () => {
  let registry: Registry;
  let lookaside: LookasideServer;
  let gpg: GpgHome;
  let skopeo: SkopeoLab;
  let worker: WorkerHandle;
  let booting: Promise<WorkerHandle> | undefined;
  let work: string;
  const lab = { keyring: new Map<string, string>() } as Lab;
  const images = {} as Record<Seed, OciImage>;
  const registriesD = {} as Record<RegistriesD | "signing", string[]>;
  const rows: Row[] = [];
  const started = Date.now();

  const manifest = (seed: Seed) => readFile(join(work, seed, "blobs", "sha256", images[seed].manifestDigest.slice("sha256:".length)));
  /** Path of signature-n for repo@digest in the lookaside store (as skopeo's staging writes it). */
  const sigPath = (repo: string, digest: string, n: number) =>
    join(lookaside.dir, `${repo}@${digest.replace(":", "=")}`, `signature-${n}`);
  const putSig = async (repo: string, digest: string, n: number, blob: Buffer | string) => {
    await mkdir(dirname(sigPath(repo, digest, n)), { recursive: true });
    await writeFile(sigPath(repo, digest, n), blob);
  };
  /** One byte flipped in the middle: still starts like OpenPGP, no longer verifies. */
  const corrupt = (blob: Buffer) => {
    const copy = Buffer.from(blob);
    copy[copy.length >> 1] = copy[copy.length >> 1]! ^ 0xff;
    return copy;
  };

  async function push(seed: Seed, repoTag: string, signBy?: KeyName): Promise<string> {
    const digest = await skopeo.push(join(work, seed), `${lab.h}/${repoTag}`, {
      ...(signBy ? { signBy: lab.keys[signBy].fingerprint, gpg } : {}),
      registriesD: registriesD.signing,
    });
    expect(digest).toBe(images[seed].manifestDigest);
    return digest;
  }

  /** Pushes seed one to craft/<name>:v1 and stores a hand-made signature-1 for it. */
  function craftedSignatures(one: string): Promise<unknown>[] {
    const { rsa, old, past } = lab.keys;
    const ref = (name: string) => `${lab.h}/craft/${name}:v1`;
    const crafted: Record<string, () => Promise<Buffer | string>> = {
      control: () => gpg.sign(simplePayload(ref("control"), one), rsa.fingerprint),
      "critical-extra": () => gpg.sign(simplePayload(ref("critical-extra"), one, (p) => (p.critical.unexpected = true)), rsa.fingerprint),
      "optional-extra": () =>
        gpg.sign(simplePayload(ref("optional-extra"), one, (p) => Object.assign(p.optional, { note: "hi", nested: { a: [1] } })), rsa.fingerprint),
      "no-optional": () => gpg.sign(simplePayload(ref("no-optional"), one, (p) => delete p.optional), rsa.fingerprint),
      "cosign-type": () =>
        gpg.sign(simplePayload(ref("cosign-type"), one, (p) => (p.critical.type = "cosign container image signature")), rsa.fingerprint),
      // Two "docker-manifest-digest" members: a wrong one first, the right one last (what JSON.parse keeps).
      "duplicate-key": () =>
        gpg.sign(
          simplePayload(ref("duplicate-key"), one).replace(
            `"docker-manifest-digest":"${one}"`,
            `"docker-manifest-digest":"sha256:${"0".repeat(64)}","docker-manifest-digest":"${one}"`,
          ),
          rsa.fingerprint,
        ),
      "upper-digest": () => gpg.sign(simplePayload(ref("upper-digest"), `sha256:${one.slice(7).toUpperCase()}`), rsa.fingerprint),
      detached: () => gpg.sign(simplePayload(ref("detached"), one), rsa.fingerprint, { mode: "detached" }),
      clearsigned: () => gpg.sign(simplePayload(ref("clearsigned"), one), rsa.fingerprint, { mode: "clearsign" }),
      "expired-key": () => gpg.sign(simplePayload(ref("expired-key"), one), old.fingerprint, { fakedSystemTime: "20200601T000000" }),
      "expired-sig": () => gpg.sign(simplePayload(ref("expired-sig"), one), past.fingerprint, { fakedSystemTime: "20200601T000000", sigExpire: "1d" }),
    };
    return [
      ...Object.entries(crafted).map(async ([name, make]) => {
        await push("one", `craft/${name}:v1`);
        await putSig(`craft/${name}`, one, 1, await make());
      }),
      // The signing subkey, chosen by gpg for --sign-by <primary fingerprint>.
      push("one", "craft/subkey:v1", "sub"),
    ];
  }

  const api = (method: string, path: string, token: string, body: unknown) => callApi(worker.url, method, path, token, body);

  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "trustgate-e2e-simple-"));
    // The Worker boots (migrations, wrangler dev) while the lab signs.
    booting = startWorker({ vars: { TAG_CACHE_TTL_SECONDS: "0", TRUST_RECHECK_SECONDS: "0" } });
    booting.catch(() => undefined);
    await mkdir(join(work, "lookaside"));
    [registry, lookaside, gpg, skopeo] = await Promise.all([
      startRegistry(),
      startLookaside(join(work, "lookaside")),
      createGpgHome(),
      createSkopeoLab(),
    ]);
    lab.h = registry.host;
    const [rsa, ed, wrong, old, past, sub] = await Promise.all([
      gpg.makeKey("rsa", "rsa"),
      gpg.makeKey("ed", "ed25519"),
      gpg.makeKey("wrong", "rsa"),
      // Valid during 2020 only: it signs "in 2020" (faked time), and has expired since.
      gpg.makeKey("old", "rsa", { fakedSystemTime: "20200101T000000", expire: "2021-01-01" }),
      // Made in 2020, never expires: its signatures can be dated 2020 and expire a day later.
      gpg.makeKey("past", "ed25519", { fakedSystemTime: "20200101T000000" }),
      gpg.makeKey("sub", "ed25519", { signingSubkey: true }),
    ]);
    lab.keys = { rsa, ed, wrong, old, past, sub };
    lab.keyring.set("wrong+ed", (await gpg.exportKeys([wrong.fingerprint, ed.fingerprint])).toString("base64"));
    for (const seed of ["one", "two", "three"] as const) images[seed] = await writeOciImage(join(work, seed), { seed: `simple-signing-${seed}` });
    lab.digests = { one: images.one.manifestDigest, two: images.two.manifestDigest, three: images.three.manifestDigest };

    const h = lab.h;
    const lk = lookaside.url;
    // Signing: signatures are staged into the store directory, read back over HTTP.
    registriesD.signing = [stringify({ docker: { [h]: { lookaside: lk, "lookaside-staging": `file://${lookaside.dir}` } } })];
    registriesD.main = [
      stringify({
        docker: {
          [h]: { lookaside: lk },
          [`${h}/faulty/notfound`]: { lookaside: lookaside.faultUrl("404") },
          [`${h}/faulty/html`]: { lookaside: lookaside.faultUrl("garbage") },
        },
      }),
    ];
    // Two files: a default that finds nothing, and one repository with the real store.
    registriesD.split = [
      stringify({ "default-docker": { lookaside: lookaside.faultUrl("404") } }),
      stringify({ docker: { [`${h}/lab/rsa`]: { lookaside: lk } } }),
    ];
    // The older key names (the seed tutorial's), still read by skopeo 1.9 and its successors.
    registriesD.legacy = [stringify({ docker: { [h]: { sigstore: lk, "sigstore-staging": `file://${lookaside.dir}` } } })];
    registriesD.none = [];

    // Pushes per repository, repositories in parallel.
    const m = { one: await manifest("one"), two: await manifest("two") };
    const { one, two } = lab.digests;
    await Promise.all([
      (async () => {
        await push("one", "lab/rsa:latest"); // unsigned push: leaves the store alone
        await push("one", "lab/rsa:v1", "rsa");
        await push("one", "mirror/rsa:v1");
        await mkdir(dirname(sigPath("mirror/rsa", one, 1)), { recursive: true });
        await copyFile(sigPath("lab/rsa", one, 1), sigPath("mirror/rsa", one, 1));
      })(),
      push("two", "lab/ed:v1", "ed"),
      push("three", "lab/unsigned:v1"),
      push("three", "other/app:v1"),
      (async () => {
        await push("one", "lab/moved:v1", "rsa");
        await push("two", "lab/moved:v1");
      })(),
      (async () => {
        await push("one", "lab/replayed:v1", "rsa");
        await push("two", "lab/replayed:v1");
        await putSig("lab/replayed", two, 1, await readFile(sigPath("lab/replayed", one, 1)));
      })(),
      (async () => {
        await push("one", "lab/foreign:v1");
        await putSig("lab/foreign", one, 1, await skopeo.standaloneSign(m.one, `${h}/elsewhere/app:v1`, rsa.fingerprint, gpg));
      })(),
      (async () => {
        await push("one", "lab/two-sigs:v1", "rsa");
        await putSig("lab/two-sigs", one, 2, await skopeo.standaloneSign(m.one, `${h}/lab/two-sigs:v1`, wrong.fingerprint, gpg));
      })(),
      (async () => {
        await push("one", "lab/corrupt:v1", "rsa");
        const good = await readFile(sigPath("lab/corrupt", one, 1));
        await putSig("lab/corrupt", one, 2, good);
        await putSig("lab/corrupt", one, 1, corrupt(good));
      })(),
      (async () => {
        await push("one", "lab/corrupt-only:v1");
        await putSig("lab/corrupt-only", one, 1, corrupt(await skopeo.standaloneSign(m.one, `${h}/lab/corrupt-only:v1`, rsa.fingerprint, gpg)));
      })(),
      (async () => {
        await push("two", "lab/both:v1", "rsa");
        await putSig("lab/both", two, 2, await skopeo.standaloneSign(m.two, `${h}/lab/both:v1`, ed.fingerprint, gpg));
      })(),
      push("one", "faulty/notfound:v1", "rsa"),
      push("one", "faulty/html:v1", "rsa"),
      ...craftedSignatures(one),
      (async () => {
        await push("one", "lab/html-first:v1");
        await putSig("lab/html-first", one, 1, GARBAGE_BODY);
        await putSig("lab/html-first", one, 2, await skopeo.standaloneSign(m.one, `${h}/lab/html-first:v1`, rsa.fingerprint, gpg));
      })(),
    ]);
    // The store holds what the cases assume.
    const stored = await readFile(sigPath("lab/rsa", one, 1));
    expect(stored[0]! & 0x80).toBe(0x80); // an OpenPGP packet, not the sigstore format
    const fetched = await fetch(`${lookaside.url}/lab/rsa@${one.replace(":", "=")}/signature-1`);
    expect(Buffer.from(await fetched.arrayBuffer()).equals(stored)).toBe(true);
    expect((await fetch(`${lookaside.url}/lab/moved@${two.replace(":", "=")}/signature-1`)).status).toBe(404);

    worker = await booting;
  });

  afterAll(async () => {
    printTable();
    await (await booting?.catch(() => undefined))?.stop();
    await lookaside?.close();
    await registry?.stop();
    await gpg?.close();
    await skopeo?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("has at least 20 cases", () => {
    expect(CASES.length).toBeGreaterThanOrEqual(20);
    expect(new Set(CASES.map((c) => c.name)).size).toBe(CASES.length);
  });

  it.each(CASES.map((c, i) => [i + 1, c.name, c] as const))("%i. %s", async (n, _name, c) => {
    const image = c.image(lab);
    const row: Row = { n, name: c.name, image, ...(c.divergence ? { divergence: c.divergence.why } : {}) };
    rows.push(row);
    const policy = c.policy(lab);
    const docs = registriesD[c.registriesD ?? "main"];
    try {
      // skopeo's verdict: also checks the case tests what it claims.
      row.skopeo = await skopeo.verdict(policy, docs, image);
      expect(row.skopeo.verdict, `skopeo on ${image}: ${row.skopeo.message}`).toBe(c.skopeo);
      if (c.because) expect(row.skopeo.message).toMatch(c.because);

      // trustgate: the same files, imported as containers-policy, then one decision.
      const id = `simple-${String(n).padStart(2, "0")}`;
      const put = await api("PUT", `/v1/policies/${id}?format=containers-policy`, worker.adminToken, { policy, "registries.d": docs });
      expect(put.status, `PUT ${id}: ${JSON.stringify(put.json)}`).toBe(200);
      expect(put.json).toMatchObject({ id, format: "containers-policy" });
      const decided = await api("POST", "/v1/decisions", worker.clientToken, { image, policy: id });
      expect(decided.status, `decide ${image}: ${JSON.stringify(decided.json)}`).toBe(200);
      row.trustgate = decided.json as Verdict;

      const expected = c.divergence?.trustgate ?? (row.skopeo.verdict === "accept" ? "allow" : "deny");
      expect(
        row.trustgate.decision,
        `skopeo ${row.skopeo.verdict} (${row.skopeo.message || "exit 0"}), trustgate ${JSON.stringify(row.trustgate, null, 1)}`,
      ).toBe(expected);
      if (row.trustgate.decision === "allow") expect(row.trustgate.digest).toBe(await digestOf(image));
    } catch (err) {
      row.error = (err instanceof Error ? err.message.split("\n")[0]! : String(err)).replace(/\s+/g, " ");
      throw err;
    }
  });

  it("ECDSA keys: P-256 verifies through the deployed bundle (WebCrypto); brainpool, which only openpgp.js's left-out JS curves could check, is a deny naming the curve", async () => {
    const [p256, brainpool] = await Promise.all([gpg.makeKey("p256", { ecdsa: "nistp256" }), gpg.makeKey("brainpool", { ecdsa: "brainpoolP256r1" })]);
    const signed = { "curves/p256": p256, "curves/brainpool": brainpool };
    for (const [repo, key] of Object.entries(signed)) {
      await skopeo.push(join(work, "one"), `${lab.h}/${repo}:v1`, { signBy: key.fingerprint, gpg, registriesD: registriesD.signing });
    }
    const policy = dockerPolicy(
      REJECT,
      Object.fromEntries(Object.entries(signed).map(([repo, key]) => [`${lab.h}/${repo}`, [{ type: "signedBy", keyType: "GPGKeys", keyData: key.keyData }]])),
    );
    // The oracle (gpgme) accepts both.
    for (const repo of Object.keys(signed)) expect((await skopeo.verdict(policy, registriesD.main, `${lab.h}/${repo}:v1`)).verdict, repo).toBe("accept");
    const put = await api("PUT", "/v1/policies/simple-curves?format=containers-policy", worker.adminToken, { policy, "registries.d": registriesD.main });
    expect(put.status, JSON.stringify(put.json)).toBe(200);
    const decide = async (repo: string) => (await api("POST", "/v1/decisions", worker.clientToken, { image: `${lab.h}/${repo}:v1`, policy: "simple-curves" })).json;
    const p256Verdict = await decide("curves/p256");
    expect(p256Verdict.decision, JSON.stringify(p256Verdict)).toBe("allow");
    const bp = await decide("curves/brainpool");
    expect(bp.decision, JSON.stringify(bp)).toBe("deny");
    expect(JSON.stringify(bp.reasons)).toMatch(/curve brainpoolP256r1/);
  });

  it("a lookaside answering 500 is no verdict for skopeo (the oracle refuses to count it); trustgate denies", async () => {
    const policy = rsaEverywhere()(lab);
    const image = `${lab.h}/lab/rsa:v1`;
    lookaside.setFault("500");
    try {
      await expect(skopeo.verdict(policy, registriesD.main, image)).rejects.toThrow(/reading signature from .*status 500/);
      const put = await api("PUT", "/v1/policies/simple-500?format=containers-policy", worker.adminToken, { policy, "registries.d": registriesD.main });
      expect(put.status, JSON.stringify(put.json)).toBe(200);
      const decided = await api("POST", "/v1/decisions", worker.clientToken, { image, policy: "simple-500" });
      expect(decided.status, JSON.stringify(decided.json)).toBe(200);
      // Could not decide → deny (fail closed), never allow.
      expect(decided.json.decision, JSON.stringify(decided.json)).toBe("deny");
    } finally {
      lookaside.setFault(null);
    }
  });

  /** The manifest digest the registry serves for image (by tag or digest). */
  async function digestOf(image: string): Promise<string | null> {
    const rest = image.slice(lab.h.length + 1);
    const [repo, ref] = rest.includes("@") ? rest.split("@") : [rest.slice(0, rest.lastIndexOf(":")), rest.slice(rest.lastIndexOf(":") + 1)];
    const response = await fetch(`${registry.url}/v2/${repo}/manifests/${ref}`, {
      method: "HEAD",
      headers: { Accept: "application/vnd.oci.image.manifest.v1+json" },
    });
    return response.headers.get("docker-content-digest");
  }

  function printTable() {
    if (rows.length === 0) return;
    const cut = (s: string, w: number) => (s.length > w ? `${s.slice(0, w - 1)}…` : s).padEnd(w);
    const short = (image: string) => image.replace(`${lab.h}/`, "").replace(/@sha256:([0-9a-f]{8})[0-9a-f]+/, "@sha256:$1…");
    const tg = (r: Row) => (r.trustgate ? r.trustgate.decision : r.error ? "ERROR" : "-");
    const sk = (r: Row) => (r.skopeo ? r.skopeo.verdict : r.error ? "ERROR" : "-");
    const same = (r: Row) =>
      r.skopeo && r.trustgate
        ? (r.skopeo.verdict === "accept") === (r.trustgate.decision === "allow")
          ? "yes"
          : r.divergence
            ? "NO*"
            : "NO"
        : "?";
    const lines = [
      `registry ${lab.h}, lookaside ${lookaside?.url}; skopeo accept = trustgate allow`,
      `${"#".padStart(2)}  ${cut("case", 40)} ${cut("image", 28)} ${cut("skopeo", 7)} ${cut("trustgate", 9)} ${cut("same", 4)} ${cut("skopeo says", 70)} trustgate reasons`,
      "-".repeat(200),
      ...[...rows]
        .sort((a, b) => a.n - b.n)
        .map((r) => {
          const says = (r.skopeo?.message ?? "").replace(/^Source image rejected: /, "").replace(new RegExp(lab.h.replace(/\./g, "\\."), "g"), "H");
          const reasons = r.trustgate ? r.trustgate.reasons.map((x) => x.code).join(",") : (r.error ?? "");
          return `${String(r.n).padStart(2)}  ${cut(r.name, 40)} ${cut(short(r.image), 28)} ${cut(sk(r), 7)} ${cut(tg(r), 9)} ${cut(same(r), 4)} ${cut(says || "(exit 0)", 70)} ${reasons.slice(0, 120)}`;
        }),
      `${rows.length} cases, ${rows.filter((r) => same(r) === "yes").length} agree; ${((Date.now() - started) / 1000).toFixed(1)} s`,
      ...rows.filter((r) => r.divergence).map((r) => `* ${r.n}. known divergence: ${r.divergence}`),
    ];
    console.log(lines.join("\n"));
    // Everything both sides said, for a closer look: SIMPLE_SIGNING_DUMP=/path/rows.json.
    const dump = process.env.SIMPLE_SIGNING_DUMP;
    if (dump) writeFileSync(dump, JSON.stringify(rows, null, 2));
  }
});
