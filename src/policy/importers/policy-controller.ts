// Imports Sigstore policy-controller ClusterImagePolicy objects (and the config-policy-controller
// ConfigMap beside them) into an allMatching policy (docs/policy-controller.md): every matching
// ClusterImagePolicy must pass, and within one any authority suffices.
import * as z from "../../schema";
import { compilePattern, PatternSyntaxError } from "../pattern";
import { PolicyValidationError, type NoMatch, type Policy, type PolicyIssue, type Requirement, type Rule } from "../model";
import type { RequirementKinds } from "../requirement-kinds";
import { distinctWarnings } from "../review";
import { at, checkRequirement, decodeBase64Text, dictionary, distinctIssues, flag, list, mapping, mappingWith, nested, normalizePem, pemProblem, readShape, requiredText, text, typeName, type Issues } from "./shared";
import { collectObjects, keyReferenceProblem, patternBudgetProblem, PUBLIC_FULCIO, PUBLIC_REKOR, splitPems, type Located } from "./k8s-objects";
import { looseTrustRoot } from "./sigstore-root";

const CIP_API_VERSIONS = ["policy.sigstore.dev/v1beta1", "policy.sigstore.dev/v1alpha1"];
const CONFIG_NAME = "config-policy-controller";
const MAX_POLICIES = 1000;
/** The resources policy-controller's webhook validates, by the Kind a decision's context names. */
const RESOURCE_KINDS: Readonly<Record<string, string>> = {
  pods: "Pod",
  deployments: "Deployment",
  replicasets: "ReplicaSet",
  statefulsets: "StatefulSet",
  daemonsets: "DaemonSet",
  jobs: "Job",
  cronjobs: "CronJob",
  replicationcontrollers: "ReplicationController",
};

const refused = (message: string) => z.optional(z.custom<never>((v) => v === undefined || v === null, { message }));

const metadataShape = mappingWith({ name: text(), namespace: text() });
const specShape = mapping({
  images: list(),
  authorities: list(),
  mode: text(),
  match: list(),
  policy: refused("policy (CUE or Rego over the verified signatures) is not supported: trustgate decides on signatures alone; drop it or keep this policy in policy-controller"),
});
const imageShape = mapping({ glob: requiredText() });
const authorityShape = mapping({
  name: text(),
  key: nested(),
  static: nested(),
  source: list(),
  signatureFormat: text(),
  keyless: nested(),
  ctlog: nested(),
  attestations: refused("attestations are not supported yet: trustgate verifies image signatures only"),
  rfc3161timestamp: refused("rfc3161timestamp (signed timestamps) is not supported yet by this importer"),
});
const keyShape = mapping({
  data: text(),
  hashAlgorithm: text(),
  secretRef: refused("secretRef keys are references trustgate cannot follow (it reads no Secrets): give the PEM public key in key.data"),
  kms: refused("kms keys are references trustgate cannot follow: give the PEM public key in key.data (cosign public-key --key <kms-uri> prints it)"),
});
const keylessShape = mapping({
  url: text(),
  identities: list(),
  insecureIgnoreSCT: flag(),
  "ca-cert": refused("ca-cert (a private Fulcio CA) is not supported by this importer: keyless signatures are verified under the Sigstore public-good trust root"),
  trustRootRef: text(),
});
const identityShape = mapping({ issuer: text(), subject: text(), issuerRegExp: text(), subjectRegExp: text() });
const tlogShape = mapping({
  url: text(),
  trustRootRef: text(),
});
const staticShape = mapping({ action: requiredText(), message: text() });
const sourceShape = mapping({
  oci: text(),
  signaturePullSecrets: refused("signaturePullSecrets: give registry credentials to trustgate (REGISTRY_CREDENTIALS), not in the policy"),
  tagPrefix: refused("tagPrefix is not supported: trustgate reads cosign's default sha256-<digest>.sig tags"),
});
const matchShape = mapping({
  group: text(),
  version: text(),
  resource: requiredText(),
  selector: refused("selector: labels are not in a decision's context; trustgate matches on the resource kind only"),
});
const configMapShape = mappingWith({ data: dictionary() });

interface Ctx {
  readonly kinds: RequirementKinds;
  readonly issues: Issues;
  readonly warnings: PolicyIssue[];
  /** TrustRoots of the stream by name, as native trust roots (undefined: named but unusable, reported). */
  readonly trustRoots: Map<string, Record<string, unknown> | undefined>;
  readonly usedTrustRoots: Set<string>;
}

const trustRootSpecShape = mapping({
  sigstoreKeys: nested(),
  remote: refused("remote (a TUF mirror) is not supported: give the keys as sigstoreKeys"),
  repository: refused("repository (a TUF repository) is not supported: give the keys as sigstoreKeys"),
});
const sigstoreKeysShape = mapping({ certificateAuthorities: list(), tLogs: list(), ctLogs: list(), timestampAuthorities: list() });
const caShape = mapping({ subject: nested(), uri: text(), certChain: requiredText() });
const logShape = mapping({ baseURL: text(), hashAlgorithm: text(), publicKey: requiredText() });

/**
 * A TrustRoot's sigstoreKeys (PEM as base64, as the CRD stores bytes) as a native trust root: one
 * Fulcio CA chain, Rekor and CT log keys (pkg/apis/policy/v1alpha1/trustroot_types.go).
 */
function readTrustRoot(obj: Record<string, unknown>, path: string, ctx: Ctx): Record<string, unknown> | undefined {
  const before = ctx.issues.length;
  const specPath = at(path, "spec");
  const spec = readShape(trustRootSpecShape, obj.spec, specPath, ctx.issues)?.data;
  const keysPath = at(specPath, "sigstoreKeys");
  if (spec && (spec.sigstoreKeys === undefined || spec.sigstoreKeys === null)) ctx.issues.push({ path: keysPath, message: "required: the Fulcio CA, Rekor and CT log keys" });
  const keys = spec?.sigstoreKeys ? readShape(sigstoreKeysShape, spec.sigstoreKeys, keysPath, ctx.issues)?.data : undefined;
  if (!keys) return undefined;
  const pemOf = (b64: string | undefined, p: string): string | undefined => {
    const text = b64 === undefined ? undefined : decodeBase64Text(b64);
    if (text === undefined) ctx.issues.push({ path: p, message: "expected base64 of PEM (the CRD's bytes)" });
    return text;
  };
  const cas = keys.certificateAuthorities ?? [];
  if (cas.length !== 1) ctx.issues.push({ path: at(keysPath, "certificateAuthorities"), message: `exactly one certificate authority is supported, got ${cas.length}` });
  const ca = cas.length === 1 ? readShape(caShape, cas[0], at(at(keysPath, "certificateAuthorities"), 0), ctx.issues)?.data : undefined;
  const chain = ca ? pemOf(ca.certChain, at(at(at(keysPath, "certificateAuthorities"), 0), "certChain")) : undefined;
  const logs = (field: "tLogs" | "ctLogs") =>
    (keys[field] ?? []).flatMap((raw, i) => {
      const p = at(at(keysPath, field), i);
      const log = readShape(logShape, raw, p, ctx.issues)?.data;
      if (log?.hashAlgorithm && log.hashAlgorithm.toLowerCase() !== "sha-256" && log.hashAlgorithm.toLowerCase() !== "sha256") {
        ctx.issues.push({ path: at(p, "hashAlgorithm"), message: `expected sha-256, got "${log.hashAlgorithm}"` });
      }
      const pem = log ? pemOf(log.publicKey, at(p, "publicKey")) : undefined;
      return pem === undefined ? [] : [{ pem, url: log?.baseURL ?? undefined }];
    });
  const tlogs = logs("tLogs");
  const ctlogs = logs("ctLogs");
  if ((keys.timestampAuthorities ?? []).length > 0) ctx.issues.push({ path: at(keysPath, "timestampAuthorities"), message: "timestamp authorities are not supported by this importer yet" });
  if (ctx.issues.length > before || chain === undefined) return undefined;
  const built = looseTrustRoot({ fulcioCertificates: chain, rekorKeys: tlogs.map((l) => l.pem), ctLogKeys: ctlogs.map((l) => l.pem), ...(tlogs[0]?.url ? { rekorUrl: tlogs[0].url } : {}) });
  if (!built.ok) {
    const where = built.what === "fulcio" ? "certificateAuthorities" : built.what === "rekor" ? "tLogs" : "ctLogs";
    ctx.issues.push({ path: at(keysPath, where), message: built.why });
    return undefined;
  }
  return built.root;
}

export function importPolicyController(document: unknown, kinds: RequirementKinds, out: PolicyIssue[] = []): Policy {
  const ctx: Ctx = { kinds, issues: [], warnings: [], trustRoots: new Map(), usedTrustRoots: new Set() };
  const objects: Located[] = [];
  collectObjects(document, "", 0, objects, ctx.issues, "ClusterImagePolicy, TrustRoot, the config-policy-controller ConfigMap");
  // TrustRoots first: a ClusterImagePolicy may name one that comes after it in the stream.
  for (const { obj, path } of objects) {
    if (obj.kind !== "TrustRoot") continue;
    const name = readShape(metadataShape, obj.metadata ?? {}, at(path, "metadata"), [])?.data.name ?? "";
    if (name === "") ctx.issues.push({ path: at(at(path, "metadata"), "name"), message: "required" });
    else if (ctx.trustRoots.has(name)) ctx.issues.push({ path: at(path, "metadata"), message: `TrustRoot ${name} is defined twice` });
    else ctx.trustRoots.set(name, readTrustRoot(obj, path, ctx));
  }
  const rules: Rule[] = [];
  const names = new Map<string, string>();
  let noMatch: NoMatch | undefined;
  for (const { obj, path } of objects) {
    const meta = readShape(metadataShape, obj.metadata ?? {}, at(path, "metadata"), ctx.issues)?.data;
    const name = meta?.name ?? "";
    if (obj.kind === "ConfigMap") {
      if (name !== CONFIG_NAME) {
        ctx.issues.push({ path: at(at(path, "metadata"), "name"), message: `only the ${CONFIG_NAME} ConfigMap is read, got "${name}"` });
        continue;
      }
      noMatch = readConfig(obj, path, ctx);
      continue;
    }
    if (obj.kind === "TrustRoot") continue;
    if (obj.kind !== "ClusterImagePolicy") {
      ctx.issues.push({ path: at(path, "kind"), message: `expected ClusterImagePolicy, TrustRoot or the ${CONFIG_NAME} ConfigMap, got ${typeof obj.kind === "string" ? `"${obj.kind}"` : obj.kind === undefined ? "no kind" : typeName(obj.kind)}` });
      continue;
    }
    if (typeof obj.apiVersion !== "string" || !CIP_API_VERSIONS.includes(obj.apiVersion)) {
      ctx.issues.push({ path: at(path, "apiVersion"), message: `expected ${CIP_API_VERSIONS.join(" or ")}, got ${typeof obj.apiVersion === "string" ? `"${obj.apiVersion}"` : typeName(obj.apiVersion)}` });
    }
    if (name === "") ctx.issues.push({ path: at(at(path, "metadata"), "name"), message: "required" });
    if (names.has(name)) ctx.issues.push({ path: at(path, "metadata"), message: `ClusterImagePolicy ${name} is also defined at ${names.get(name) || "the top"}` });
    names.set(name, path);
    const rule = clusterImagePolicy(obj, path, name, ctx);
    if (rule) rules.push(rule);
  }
  for (const name of ctx.trustRoots.keys()) {
    if (!ctx.usedTrustRoots.has(name)) ctx.warnings.push({ path: "", message: `TrustRoot ${name} is not named by any trustRootRef: it is not used` });
  }
  if (names.size === 0 && ctx.issues.length === 0) ctx.issues.push({ path: "", message: "no ClusterImagePolicy in the document" });
  if (rules.length > MAX_POLICIES) ctx.issues.push({ path: "", message: `${rules.length} ClusterImagePolicies: at most ${MAX_POLICIES}` });
  const budget = patternBudgetProblem(rules);
  if (budget) ctx.issues.push({ path: "", message: budget });
  if (ctx.issues.length > 0) throw new PolicyValidationError(distinctIssues(ctx.issues));
  out.push(...distinctWarnings(ctx.warnings));
  return {
    mode: "enforce",
    patternStyle: "policy-controller",
    ruleSelection: "allMatching",
    // policy-controller's config store: deny when the ConfigMap does not say otherwise.
    noMatch: noMatch ?? "deny",
    rules,
  };
}

function readConfig(obj: Record<string, unknown>, path: string, ctx: Ctx): NoMatch {
  const data = readShape(configMapShape, obj, path, ctx.issues)?.data.data ?? {};
  const value = data["no-match-policy"];
  // As pkg/config/store.go: anything but allow or warn is deny.
  if (value === "allow" || value === "warn") return value;
  if (value !== undefined && value !== "deny") {
    ctx.warnings.push({ path: at(at(path, "data"), "no-match-policy"), message: `"${String(value)}" is not allow, warn or deny: policy-controller reads it as deny` });
  }
  return "deny";
}

function clusterImagePolicy(obj: Record<string, unknown>, path: string, name: string, ctx: Ctx): Rule | undefined {
  const specPath = at(path, "spec");
  const spec = readShape(specShape, obj.spec, specPath, ctx.issues)?.data;
  if (!spec) return undefined;
  const globs: string[] = [];
  (spec.images ?? []).forEach((raw, i) => {
    const p = at(at(specPath, "images"), i);
    const image = readShape(imageShape, raw, p, ctx.issues)?.data;
    if (!image?.glob) return;
    try {
      compilePattern(image.glob, "policy-controller");
      globs.push(image.glob);
    } catch (err) {
      if (!(err instanceof PatternSyntaxError)) throw err;
      ctx.issues.push({ path: at(p, "glob"), message: err.message });
    }
  });
  if ((spec.images ?? []).length === 0) ctx.issues.push({ path: at(specPath, "images"), message: "required: at least one image glob" });

  const mode = spec.mode ?? "enforce";
  if (mode !== "enforce" && mode !== "warn") ctx.issues.push({ path: at(specPath, "mode"), message: `expected enforce or warn, got "${mode}"` });

  const kinds: string[] = [];
  (spec.match ?? []).forEach((raw, i) => {
    const p = at(at(specPath, "match"), i);
    const m = readShape(matchShape, raw, p, ctx.issues)?.data;
    if (!m?.resource) return;
    const kind = RESOURCE_KINDS[m.resource];
    if (kind) kinds.push(kind);
    else ctx.issues.push({ path: at(p, "resource"), message: `"${m.resource}" is not a resource trustgate decides (${Object.keys(RESOURCE_KINDS).join(", ")})` });
  });

  const of: { name: string; requirement: Requirement }[] = [];
  const sources: Record<string, string> = { "": at(specPath, "authorities") };
  (spec.authorities ?? []).forEach((raw, i) => {
    const p = at(at(specPath, "authorities"), i);
    const built = authority(raw, p, i, ctx);
    if (!built) return;
    sources[`of[${of.length}]`] = p;
    of.push(built);
  });
  if ((spec.authorities ?? []).length === 0) ctx.issues.push({ path: at(specPath, "authorities"), message: "required: at least one authority" });
  if (of.length === 0 || globs.length === 0) return undefined;
  const require = checkRequirement(
    { type: "anyOf", count: 1, of, message: `failed policy: ${name}: {image}: {failures}` },
    ctx.kinds,
    sources,
    ctx.issues,
    ctx.warnings,
  );
  return {
    name,
    pattern: globs[0]!,
    ...(globs.length > 1 ? { patterns: globs.slice(1) } : {}),
    ...(kinds.length > 0 ? { when: { kinds } } : {}),
    mode: mode === "warn" ? "audit" : "enforce",
    require: [require],
  };
}

function authority(raw: unknown, path: string, index: number, ctx: Ctx): { name: string; requirement: Requirement } | undefined {
  const a = readShape(authorityShape, raw, path, ctx.issues)?.data;
  if (!a) return undefined;
  // policy-controller's defaults: authority-<index>.
  const name = a.name || `authority-${index}`;
  const set = [a.key, a.static, a.keyless].filter((v) => v !== undefined && v !== null).length;
  if (set !== 1) {
    ctx.issues.push({ path, message: "an authority needs exactly one of key, keyless or static" });
    return undefined;
  }
  if (a.static !== undefined && a.static !== null) {
    const s = readShape(staticShape, a.static, at(path, "static"), ctx.issues)?.data;
    if (s?.action === "pass") return { name, requirement: { type: "allow" } };
    if (s?.action === "fail") return { name, requirement: { type: "deny", message: `disallowed by static policy: ${s.message ?? ""}` } };
    if (s?.action) ctx.issues.push({ path: at(at(path, "static"), "action"), message: `expected pass or fail, got "${s.action}"` });
    return undefined;
  }
  let repository: string | undefined;
  const sourceList = a.source ?? [];
  if (sourceList.length > 1) ctx.issues.push({ path: at(path, "source"), message: "more than one signature source is not supported: give one source.oci" });
  sourceList.slice(0, 1).forEach((raw, i) => {
    const s = readShape(sourceShape, raw, at(at(path, "source"), i), ctx.issues)?.data;
    if (s?.oci) repository = s.oci;
  });
  const tlog = a.ctlog === undefined || a.ctlog === null ? undefined : readShape(tlogShape, a.ctlog, at(path, "ctlog"), ctx.issues)?.data;
  if (a.keyless !== undefined && a.keyless !== null) {
    const keyless = keylessAuthority(a.keyless, at(path, "keyless"), ctx);
    const rootRef = typeof keyless?.trustRootRef === "string" ? keyless.trustRootRef : undefined;
    if (keyless) delete keyless.trustRootRef;
    // The log's keys come from the keyless trust root: without one, the public-good Rekor (checked
    // offline, as policy-controller does without ctlog); a ctlog naming another root cannot be had.
    if (tlog?.trustRootRef && tlog.trustRootRef !== rootRef) {
      ctx.issues.push({ path: at(at(path, "ctlog"), "trustRootRef"), message: "ctlog.trustRootRef must name the same TrustRoot as keyless.trustRootRef: trustgate checks the log with the keyless trust root's keys" });
      return undefined;
    }
    if (!rootRef && tlog?.url && !PUBLIC_REKOR.has(tlog.url)) {
      ctx.issues.push({ path: at(at(path, "ctlog"), "url"), message: `a private Rekor (${tlog.url}) needs its keys: name a TrustRoot with keyless.trustRootRef` });
      return undefined;
    }
    return keyless ? { name, requirement: { type: "cosign", keyless, ...(repository ? { signatureRepository: repository } : {}) } } : undefined;
  }
  if (tlog) {
    ctx.issues.push({
      path: at(path, "ctlog"),
      message:
        "ctlog asks for this key's signatures in a Rekor transparency log, which trustgate does not check for key signatures: drop ctlog to verify by key alone (as policy-controller does without it), or keep this policy in policy-controller",
    });
  }
  if (a.signatureFormat && a.signatureFormat !== "simplesigning") {
    ctx.issues.push({
      path: at(path, "signatureFormat"),
      message: a.signatureFormat === "bundle" ? "when using the new bundle format, the authority must be keyless (policy-controller's rule): drop signatureFormat for a key authority" : `expected bundle or nothing, got "${a.signatureFormat}"`,
    });
  }
  const keyPath = at(path, "key");
  const k = readShape(keyShape, a.key, keyPath, ctx.issues)?.data;
  if (!k) return undefined;
  const hash = k.hashAlgorithm ?? "sha256";
  if (hash !== "sha256") {
    ctx.issues.push({ path: at(keyPath, "hashAlgorithm"), message: `hashAlgorithm ${hash} is not supported: trustgate verifies cosign ECDSA P-256 / Ed25519 signatures over SHA-256 (cosign's default)` });
  }
  const data = k.data ?? "";
  if (data.trim() === "") {
    ctx.issues.push({ path: at(keyPath, "data"), message: "required: the PEM public key (secretRef and kms are not supported)" });
    return undefined;
  }
  const reference = keyReferenceProblem(data);
  if (reference) {
    ctx.issues.push({ path: at(keyPath, "data"), message: reference });
    return undefined;
  }
  const pems = splitPems(data);
  if (pems.length > 1) {
    ctx.issues.push({ path: at(keyPath, "data"), message: `${pems.length} PEM blocks: policy-controller reads one key per authority; give each key its own authority` });
    return undefined;
  }
  const problem = pemProblem(data);
  if (problem) {
    ctx.issues.push({ path: at(keyPath, "data"), message: problem });
    return undefined;
  }
  return { name, requirement: { type: "cosign", keys: [{ name, key: normalizePem(pems[0] ?? data) }], ...(repository ? { signatureRepository: repository } : {}) } };
}

/** A keyless authority as the native `keyless` block: identities are cosign's (exact or Go regular expressions), any one suffices. */
function keylessAuthority(raw: unknown, path: string, ctx: Ctx): Record<string, unknown> | undefined {
  const k = readShape(keylessShape, raw, path, ctx.issues)?.data;
  if (!k) return undefined;
  const before = ctx.issues.length;
  let trustRoot: Record<string, unknown> | undefined;
  if (k.trustRootRef) {
    if (!ctx.trustRoots.has(k.trustRootRef)) {
      ctx.issues.push({ path: at(path, "trustRootRef"), message: `no TrustRoot ${k.trustRootRef} in the document: give it in the same stream` });
    } else {
      ctx.usedTrustRoots.add(k.trustRootRef);
      // Unusable roots are reported where they are defined.
      trustRoot = ctx.trustRoots.get(k.trustRootRef);
      if (!trustRoot) return undefined;
    }
  } else if (k.url && !PUBLIC_FULCIO.has(k.url)) {
    ctx.issues.push({ path: at(path, "url"), message: `a private Fulcio (${k.url}) needs its CA: name a TrustRoot with trustRootRef` });
  }
  const identities: Record<string, string>[] = [];
  (k.identities ?? []).forEach((rawIdentity, i) => {
    const p = at(at(path, "identities"), i);
    const id = readShape(identityShape, rawIdentity, p, ctx.issues)?.data;
    if (!id) return;
    const out: Record<string, string> = {};
    for (const side of ["issuer", "subject"] as const) {
      const exact = id[side];
      const regExp = id[`${side}RegExp`];
      if (exact && regExp) ctx.issues.push({ path: at(p, `${side}RegExp`), message: `give ${side} or ${side}RegExp, not both` });
      else if (exact) out[side] = exact;
      else if (regExp) out[`${side}RegExp`] = regExp;
      else ctx.issues.push({ path: at(p, side), message: `required: ${side} or ${side}RegExp (policy-controller's validation asks for both sides)` });
    }
    identities.push(out);
  });
  if ((k.identities ?? []).length === 0) ctx.issues.push({ path: at(path, "identities"), message: "required: at least one identity" });
  if (ctx.issues.length > before) return undefined;
  return {
    identities,
    ...(trustRoot ? { trustRoot, trustRootRef: k.trustRootRef } : {}),
    ...(k.insecureIgnoreSCT ? { ignoreSCT: true } : {}),
  };
}
