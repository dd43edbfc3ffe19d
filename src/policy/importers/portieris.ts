// Imports Portieris ImagePolicy / ClusterImagePolicy objects (and the Secrets they name) into the normalised policy.
import { compilePattern, normalizedPattern, PatternSyntaxError, type CompiledPattern } from "../pattern";
import { PolicyValidationError, type Policy, type PolicyIssue, type Requirement, type Rule } from "../model";
import { distinctWarnings, reviewRules, type LocatedRule } from "../review";
import type { RequirementKinds } from "../requirement-kinds";
import {
  at,
  checkRequirement,
  decodeBase64Text,
  distinctIssues,
  isAbsent,
  isRecord,
  normalizePem,
  optionalBoolean,
  optionalList,
  optionalRecord,
  optionalString,
  pemProblem,
  rejectUnknownKeys,
  requiredString,
  trustServerUrl,
  typeName,
  type Issues,
} from "./shared";

const MAX_RULES = 1000;
/** A List inside a List inside a stream is as deep as kubectl output goes. */
const MAX_NESTING = 4;

const POLICY_API_VERSIONS = ["portieris.cloud.ibm.com/v1", "securityenforcement.admission.cloud.ibm.com/v1beta1"];
const POLICY_GROUPS = POLICY_API_VERSIONS.map((v) => v.slice(0, v.indexOf("/")));
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

interface Located {
  readonly obj: Record<string, unknown>;
  readonly path: string;
}

interface PolicyObject extends Located {
  readonly kind: "ImagePolicy" | "ClusterImagePolicy";
  readonly name: string;
  /** Set for ImagePolicy only (a ClusterImagePolicy is cluster-scoped). */
  readonly namespace?: string;
}

interface SecretObject extends Located {
  readonly name: string;
  /** Unset when the document leaves it out (the Secret then lives wherever it is applied). */
  readonly namespace?: string;
}

interface Signer {
  readonly name: string;
  readonly key: string;
  readonly namePath: string;
  readonly keyPath: string;
}

export function importPortieris(document: unknown, kinds: RequirementKinds, out: PolicyIssue[] = []): Policy {
  const warnings: PolicyIssue[] = [];
  const issues: Issues = [];
  const objects: Located[] = [];
  collect(document, "", 0, objects, issues);

  const policies: PolicyObject[] = [];
  const secrets: SecretObject[] = [];
  for (const located of objects) classify(located, policies, secrets, issues);
  if (policies.length === 0 && issues.length === 0) {
    issues.push({ path: "", message: "no ImagePolicy or ClusterImagePolicy in the document" });
  }
  reportDuplicates(policies, secrets, issues);

  // Kubernetes lists objects by namespace and name (byte order), and Portieris keeps the first of
  // equally good matches: the same order here makes ties come out the same.
  const byBytes = (x: string, y: string) => (x < y ? -1 : x > y ? 1 : 0);
  const ordered = [...policies].sort(
    (a, b) =>
      Number(a.kind === "ImagePolicy") - Number(b.kind === "ImagePolicy") ||
      byBytes(a.namespace ?? "", b.namespace ?? "") ||
      byBytes(a.name, b.name),
  );

  const rules: Rule[] = [];
  const placed: LocatedRule[] = [];
  const namespacesWithPolicies = new Map<string, PolicyObject>();
  const namespacesWithRules = new Set<string>();
  const secretReader = new SecretReader(issues);
  for (const policy of ordered) {
    if (policy.namespace !== undefined && !namespacesWithPolicies.has(policy.namespace)) {
      namespacesWithPolicies.set(policy.namespace, policy);
    }
    for (const located of readPolicy(policy, secrets, secretReader, kinds, issues, warnings)) {
      const { rule } = located;
      rules.push(rule);
      placed.push(located);
      if (rule.namespace !== undefined) namespacesWithRules.add(rule.namespace);
    }
  }
  // An ImagePolicy without repositories still shuts the ClusterImagePolicies out of its namespace.
  for (const [namespace, policy] of namespacesWithPolicies) {
    if (namespacesWithRules.has(namespace)) continue;
    rules.push({
      pattern: "*",
      require: [{ type: "deny", message: "no matching repositories in the ImagePolicies" }],
      description: `ImagePolicy ${namespace}/${policy.name} has no repositories: Portieris denies every image in namespace ${namespace}`,
      namespace,
    });
  }
  if (rules.length > MAX_RULES) issues.push({ path: "", message: `too many repositories: ${rules.length}, at most ${MAX_RULES}` });

  if (issues.length > 0) throw new PolicyValidationError(distinctIssues(issues));
  warnings.push(...reviewRules(placed, "portieris"));
  out.push(...distinctWarnings(warnings));
  return { mode: "enforce", patternStyle: "portieris", rules };
}

// ---------------------------------------------------------------------------------------------
// Objects: a YAML stream, a `kind: List` (what `kubectl get … -o yaml` prints), or one object

function collect(value: unknown, path: string, depth: number, out: Located[], issues: Issues): void {
  if (Array.isArray(value)) {
    if (depth >= MAX_NESTING) {
      issues.push({ path, message: "lists nested too deeply" });
      return;
    }
    value.forEach((item, i) => collect(item, at(path, i), depth + 1, out, issues));
    return;
  }
  if (!isRecord(value)) {
    issues.push({ path, message: `expected a Kubernetes object (ImagePolicy, ClusterImagePolicy, Secret), got ${typeName(value)}` });
    return;
  }
  const kind = value.kind;
  if (typeof kind === "string" && kind.endsWith("List") && "items" in value) {
    const itemsPath = at(path, "items");
    const items = optionalList(value.items, itemsPath, issues) ?? [];
    if (depth >= MAX_NESTING) {
      issues.push({ path: itemsPath, message: "lists nested too deeply" });
      return;
    }
    items.forEach((item, i) => collect(item, at(itemsPath, i), depth + 1, out, issues));
    return;
  }
  out.push({ obj: value, path });
}

function classify(located: Located, policies: PolicyObject[], secrets: SecretObject[], issues: Issues): void {
  const { obj, path } = located;
  const kind = obj.kind;
  const apiVersion = typeof obj.apiVersion === "string" ? obj.apiVersion : undefined;
  const metaPath = at(path, "metadata");
  const metadata = () => optionalRecord(obj.metadata, metaPath, issues);

  if (kind === "ImagePolicy" || kind === "ClusterImagePolicy") {
    if (!apiVersion || !POLICY_API_VERSIONS.includes(apiVersion)) {
      issues.push({
        path: at(path, "apiVersion"),
        message: `expected ${POLICY_API_VERSIONS.join(" or ")} for a ${kind}, got ${apiVersion ? `"${apiVersion}"` : typeName(obj.apiVersion)}`,
      });
    }
    const meta = metadata();
    const name = optionalString(meta?.name, at(metaPath, "name"), issues) ?? "";
    let namespace: string | undefined;
    if (kind === "ImagePolicy") {
      const nsPath = at(metaPath, "namespace");
      namespace = requiredString(meta?.namespace, nsPath, issues);
      if (namespace !== undefined && !NAMESPACE.test(namespace)) {
        issues.push({ path: nsPath, message: `"${namespace}" is not a Kubernetes namespace name` });
        namespace = undefined;
      }
      // Without it trustgate cannot tell which namespace's requests the ImagePolicy governs.
      if (namespace === undefined) return;
    }
    policies.push({ obj, path, kind, name, ...(namespace !== undefined ? { namespace } : {}) });
    return;
  }
  if (kind === "Secret") {
    const meta = metadata();
    const name = optionalString(meta?.name, at(metaPath, "name"), issues);
    const namespace = optionalString(meta?.namespace, at(metaPath, "namespace"), issues);
    if (name) secrets.push({ obj, path, name, ...(namespace ? { namespace } : {}) });
    return;
  }
  if (typeof kind !== "string") {
    issues.push({ path: at(path, "kind"), message: "required: ImagePolicy, ClusterImagePolicy or Secret" });
    return;
  }
  const group = apiVersion?.includes("/") ? apiVersion.slice(0, apiVersion.indexOf("/")) : undefined;
  if (group && POLICY_GROUPS.includes(group)) {
    issues.push({ path: at(path, "kind"), message: `unknown Portieris kind "${kind}"; expected ImagePolicy or ClusterImagePolicy` });
  }
  // Any other object (a Deployment in the same `kubectl get` output) has no say in admission here.
}

function reportDuplicates(policies: readonly PolicyObject[], secrets: readonly SecretObject[], issues: Issues): void {
  const seen = new Set<string>();
  for (const p of policies) {
    if (!p.name) continue;
    const key = `${p.kind}/${p.namespace ?? ""}/${p.name}`;
    if (seen.has(key)) {
      const where = p.namespace !== undefined ? ` in namespace ${p.namespace}` : "";
      issues.push({ path: at(at(p.path, "metadata"), "name"), message: `${p.kind} "${p.name}"${where} appears twice: Kubernetes keeps only one` });
    }
    seen.add(key);
  }
  const seenSecrets = new Set<string>();
  for (const s of secrets) {
    const key = `${s.namespace ?? ""}/${s.name}`;
    if (seenSecrets.has(key)) {
      issues.push({ path: at(at(s.path, "metadata"), "name"), message: `Secret "${s.name}" appears twice in the same namespace` });
    }
    seenSecrets.add(key);
  }
}

// ---------------------------------------------------------------------------------------------
// Policies

function readPolicy(
  policy: PolicyObject,
  secrets: readonly SecretObject[],
  secretReader: SecretReader,
  kinds: RequirementKinds,
  issues: Issues,
  warnings: Issues,
): LocatedRule[] {
  const specPath = at(policy.path, "spec");
  const spec = optionalRecord(policy.obj.spec, specPath, issues);
  if (!spec) {
    if (isAbsent(policy.obj.spec)) issues.push({ path: specPath, message: "required: spec.repositories" });
    return [];
  }
  rejectUnknownKeys(spec, ["repositories"], specPath, issues);
  const reposPath = at(specPath, "repositories");
  const repositories = optionalList(spec.repositories, reposPath, issues) ?? [];
  const description =
    policy.kind === "ImagePolicy" ? `ImagePolicy ${policy.namespace}/${policy.name}` : `ClusterImagePolicy ${policy.name}`;

  const rules: LocatedRule[] = [];
  repositories.forEach((repo, k) => {
    const repoPath = at(reposPath, k);
    if (!isRecord(repo)) {
      issues.push({ path: repoPath, message: `expected a repository (name, policy), got ${typeName(repo)}` });
      return;
    }
    rejectUnknownKeys(repo, ["name", "policy"], repoPath, issues);
    const namePath = at(repoPath, "name");
    const name = requiredString(repo.name, namePath, issues);
    let compiled: CompiledPattern | undefined;
    if (name !== undefined) {
      try {
        compiled = compilePattern(name, "portieris");
      } catch (err) {
        if (!(err instanceof PatternSyntaxError)) throw err;
        issues.push({ path: namePath, message: err.message });
      }
    }
    const require = readRepositoryPolicy(repo.policy, at(repoPath, "policy"), {
      policy,
      pattern: compiled,
      namePath,
      secrets,
      secretReader,
      kinds,
      issues,
      warnings,
    });
    if (name === undefined || !require) return;
    const rule: Rule = {
      pattern: name,
      require,
      description,
      ...(policy.namespace !== undefined ? { namespace: policy.namespace } : {}),
    };
    rules.push({ rule, path: repoPath });
  });
  return rules;
}

interface RepositoryContext {
  readonly policy: PolicyObject;
  readonly pattern: CompiledPattern | undefined;
  readonly namePath: string;
  readonly secrets: readonly SecretObject[];
  readonly secretReader: SecretReader;
  readonly kinds: RequirementKinds;
  readonly issues: Issues;
  readonly warnings: Issues;
}

/** The requirements of one repository entry, or undefined when it cannot be imported. */
function readRepositoryPolicy(raw: unknown, path: string, ctx: RepositoryContext): Requirement[] | undefined {
  const { issues } = ctx;
  // `policy:` with nothing after it (Portieris's own default) admits without any check.
  const policy = optionalRecord(raw, path, issues);
  if (!policy) return isAbsent(raw) ? [{ type: "allow" }] : undefined;
  rejectUnknownKeys(policy, ["trust", "simple", "vulnerability", "va", "mutateImage"], path, issues);

  let importable = true;
  // Rewriting the pod's image to the verified digest is the admission front end's concern.
  optionalBoolean(policy.mutateImage, at(path, "mutateImage"), issues);

  const simple = readSimple(policy.simple, at(path, "simple"), ctx);
  if (simple === undefined) importable = false;

  const vulnerabilityPath = at(path, "vulnerability");
  const vulnerability = optionalRecord(policy.vulnerability, vulnerabilityPath, issues);
  if (vulnerability) {
    // The CRD field is ICCRVA; Portieris's POLICIES.md writes IBMVA.
    rejectUnknownKeys(vulnerability, ["ICCRVA", "IBMVA"], vulnerabilityPath, issues);
    for (const key of ["ICCRVA", "IBMVA"]) {
      const advisor = optionalRecord(vulnerability[key], at(vulnerabilityPath, key), issues);
      if (!advisor) continue;
      rejectUnknownKeys(advisor, ["enabled", "account"], at(vulnerabilityPath, key), issues);
      if (optionalBoolean(advisor.enabled, at(at(vulnerabilityPath, key), "enabled"), issues)) {
        issues.push({ path: at(vulnerabilityPath, key), message: "vulnerability policies (IBM Cloud Vulnerability Advisor) are not supported" });
        importable = false;
      }
    }
  }
  const vaPath = at(path, "va");
  const va = optionalRecord(policy.va, vaPath, issues);
  if (va) {
    rejectUnknownKeys(va, ["enabled"], vaPath, issues);
    if (optionalBoolean(va.enabled, at(vaPath, "enabled"), issues)) {
      issues.push({ path: vaPath, message: "vulnerability policies (IBM Cloud Vulnerability Advisor) are not supported" });
      importable = false;
    }
  }

  const trust = readTrust(policy.trust, at(path, "trust"), ctx);
  if (!importable || trust === undefined || simple === undefined) return undefined;
  // Portieris checks simple signing first, then trust; both must pass.
  const require = [...simple, ...(trust ? [trust] : [])];
  return require.length > 0 ? require : [{ type: "allow" }];
}

// ---------------------------------------------------------------------------------------------
// Simple signing (pkg/verifier/simple): a containers/image policy with one scope, docker[""]

/** Portieris's signedIdentity names, and the native identity each one means. */
const SIMPLE_IDENTITIES: Readonly<Record<string, { readonly type: string; readonly fields: readonly string[] }>> = {
  matchExact: { type: "matchExact", fields: [] },
  matchRepository: { type: "matchRepository", fields: [] },
  matchExactReference: { type: "exactReference", fields: ["dockerReference"] },
  matchExactRepository: { type: "exactRepository", fields: ["dockerRepository"] },
  remapIdentity: { type: "remapIdentity", fields: ["prefix", "signedPrefix"] },
};

/**
 * The requirements of `policy.simple`: [] when Portieris checks no simple signature (no
 * requirements listed), undefined when they cannot be imported (reported).
 */
function readSimple(raw: unknown, path: string, ctx: RepositoryContext): Requirement[] | undefined {
  const { issues } = ctx;
  const simple = optionalRecord(raw, path, issues);
  if (!simple) return isAbsent(raw) ? [] : undefined;
  rejectUnknownKeys(simple, ["requirements", "storeURL", "storeSecret"], path, issues);
  const listPath = at(path, "requirements");
  const list = optionalList(simple.requirements, listPath, issues);
  const storeUrlPath = at(path, "storeURL");
  const storeUrl = optionalString(simple.storeURL, storeUrlPath, issues);
  const storeSecretPath = at(path, "storeSecret");
  const storeSecret = optionalString(simple.storeSecret, storeSecretPath, issues);
  // Portieris only checks simple signing when requirements are listed.
  if (!list) return isAbsent(simple.requirements) ? [] : undefined;
  if (list.length === 0) return [];

  let ok = true;
  // storeURL becomes registries.d default-docker (sigStoreConfig.go); without it containers/image
  // reads the registry's signature extension only (nothing else is configured in Portieris's pod).
  let lookaside: string | undefined;
  if (storeUrl) {
    if (!storeUrl.startsWith("http://") && !storeUrl.startsWith("https://")) {
      issues.push({ path: storeUrlPath, message: `expecting https:// or http:// URL, got: ${storeUrl}` });
      ok = false;
    } else {
      lookaside = storeUrl;
    }
  }
  if (storeSecret) {
    issues.push({
      path: storeSecretPath,
      message:
        "trustgate does not send credentials to a signature store: serve the signatures without authentication, then remove storeSecret",
    });
    ok = false;
  }

  const out: Requirement[] = [];
  list.forEach((entry, i) => {
    const reqPath = at(listPath, i);
    if (!isRecord(entry)) {
      issues.push({ path: reqPath, message: `expected a requirement (type, keySecret, signedIdentity), got ${typeName(entry)}` });
      ok = false;
      return;
    }
    rejectUnknownKeys(entry, ["type", "keySecret", "signedIdentity"], reqPath, issues);
    const typePath = at(reqPath, "type");
    const type = entry.type;
    if (type === "insecureAcceptAnything") return;
    if (type === "reject") {
      // Portieris wraps containers/image's words (enforcer.go, policy_eval_simple.go).
      out.push({ type: "deny", message: "simple: policy denied the request: Running image docker://{familiarImage} is rejected by policy." });
      return;
    }
    if (type !== "signedBy") {
      issues.push({
        path: typePath,
        message:
          typeof type === "string"
            ? `simple policy invalid Type: ${type}; Portieris knows insecureAcceptAnything, reject and signedBy`
            : "required: insecureAcceptAnything, reject or signedBy",
      });
      ok = false;
      return;
    }
    const secretPath = at(reqPath, "keySecret");
    const secretName = optionalString(entry.keySecret, secretPath, issues);
    if (!secretName) {
      if (secretName === "" || isAbsent(entry.keySecret)) issues.push({ path: secretPath, message: "KeySecret missing in signedBy requirement" });
      ok = false;
    }
    const identityPath = at(reqPath, "signedIdentity");
    const identity = readSimpleIdentity(entry.signedIdentity, identityPath, issues);
    const key = secretName ? resolveKeySecret(secretName, secretPath, ctx) : undefined;
    if (!key || identity === null) {
      ok = false;
      return;
    }
    const requirement: Requirement = {
      type: "signedBy",
      keys: [key.key],
      ...(identity ? { signedIdentity: identity } : {}),
      ...(lookaside ? { lookaside } : {}),
    };
    out.push(
      checkRequirement(requirement, ctx.kinds, { "": reqPath, keys: key.keyPath, signedIdentity: identityPath, lookaside: storeUrlPath }, issues, ctx.warnings),
    );
  });
  return ok ? out : undefined;
}

/** Absent or type "" means matchRepoDigestOrExact (undefined); null when invalid (reported). */
function readSimpleIdentity(raw: unknown, path: string, issues: Issues): Record<string, unknown> | undefined | null {
  const identity = optionalRecord(raw, path, issues);
  if (!identity) return isAbsent(raw) ? undefined : null;
  rejectUnknownKeys(identity, ["type", "dockerReference", "dockerRepository", "prefix", "signedPrefix"], path, issues);
  const type = optionalString(identity.type, at(path, "type"), issues);
  if (type === undefined && !isAbsent(identity.type)) return null;
  if (!type) return undefined;
  const known = SIMPLE_IDENTITIES[type];
  if (!known) {
    const portierisName = Object.entries(SIMPLE_IDENTITIES).find(([, v]) => v.type === type)?.[0];
    issues.push({
      path: at(path, "type"),
      message:
        `invalid SignedIdentity Type: ${type}` +
        (portierisName ? `; Portieris calls it ${portierisName}` : type === "matchRepoDigestOrExact" ? '; Portieris means it by type ""' : ""),
    });
    return null;
  }
  const out: Record<string, unknown> = { type: known.type };
  let ok = true;
  for (const field of known.fields) {
    const value = optionalString(identity[field], at(path, field), issues);
    if (!value) {
      if (value === "" || isAbsent(identity[field])) issues.push({ path: at(path, field), message: "required" });
      ok = false;
    } else {
      out[field] = value;
    }
  }
  return ok ? out : null;
}

/**
 * The armored key of a keySecret, read (like signer secrets) from the namespace of the pod being
 * admitted: an ImagePolicy's own namespace, or for a ClusterImagePolicy any namespace, so every
 * copy in the document must hold the same key.
 */
function resolveKeySecret(secretName: string, refPath: string, ctx: RepositoryContext): { key: string; keyPath: string } | undefined {
  const { policy, issues } = ctx;
  const named = ctx.secrets.filter((s) => s.name === secretName);
  let candidates: readonly SecretObject[] = named;
  if (policy.kind === "ImagePolicy") {
    const inNamespace = named.filter((s) => s.namespace === policy.namespace);
    candidates = inNamespace.length > 0 ? inNamespace : named.filter((s) => s.namespace === undefined);
  }
  if (candidates.length === 0) {
    issues.push({
      path: refPath,
      message:
        policy.kind === "ImagePolicy"
          ? `Secret "${secretName}" is not in the document: Portieris reads it from namespace ${policy.namespace}; ` +
            `add it (kubectl get secret ${secretName} -n ${policy.namespace} -o yaml)`
          : `Secret "${secretName}" is not in the document: Portieris reads a ClusterImagePolicy's keySecret ` +
            `from the namespace of the pod being admitted; add that Secret`,
    });
    return undefined;
  }
  const read = candidates.map((s) => readKeySecret(s, issues));
  const first = read[0];
  if (read.some((r) => r === undefined) || !first) return undefined;
  if (read.some((r) => r && r.key !== first.key)) {
    const where = candidates.map((s) => s.namespace ?? "(no namespace)").join(", ");
    issues.push({
      path: refPath,
      message:
        `Secret "${secretName}" holds different keys in namespaces ${where}: Portieris would require a different ` +
        `key per namespace, trustgate needs one; use one Secret content, or ImagePolicies per namespace`,
    });
    return undefined;
  }
  return first;
}

/** `key` of a Secret (stringData over data): the armored public key, as Portieris's decodeArmoredKey reads it. */
function readKeySecret(secret: SecretObject, issues: Issues): { key: string; keyPath: string } | undefined {
  const dataPath = at(secret.path, "data");
  const stringDataPath = at(secret.path, "stringData");
  const data = optionalRecord(secret.obj.data, dataPath, issues);
  const stringData = optionalRecord(secret.obj.stringData, stringDataPath, issues);
  let text: string | undefined;
  let keyPath: string;
  if (stringData && !isAbsent(stringData.key)) {
    keyPath = at(stringDataPath, "key");
    text = optionalString(stringData.key, keyPath, issues);
    if (text === undefined) return undefined;
  } else {
    keyPath = at(dataPath, "key");
    if (isAbsent(data?.key)) {
      // Portieris's own words (GetSecretKey).
      issues.push({ path: keyPath, message: `Secret "${secret.name}" in "${secret.namespace ?? ""}" does not contain a "key" attribute` });
      return undefined;
    }
    const encoded = optionalString(data?.key, keyPath, issues);
    if (encoded === undefined) return undefined;
    text = decodeBase64Text(encoded);
    if (text === undefined) {
      issues.push({ path: keyPath, message: "not base64 of UTF-8 text (Secret data values are base64)" });
      return undefined;
    }
  }
  if (text.trim() === "") {
    issues.push({ path: keyPath, message: "Key: empty" });
    return undefined;
  }
  // golang.org/x/crypto/openpgp/armor.Decode reads the first armored block only.
  const block = /-----BEGIN ([^\n-]+)-----[\s\S]*?-----END \1-----/.exec(text);
  const begin = /-----BEGIN ([^\n-]+)-----/.exec(text);
  if (!begin) {
    issues.push({ path: keyPath, message: "Unable to decode key: EOF (expected an armored key: gpg --export --armour <fingerprint>)" });
    return undefined;
  }
  if (begin[1] !== "PGP PUBLIC KEY BLOCK") {
    const label = begin[1] ?? "";
    issues.push({
      path: keyPath,
      message: `Expected "PGP PUBLIC KEY BLOCK" not found: ${label}${label.includes("PRIVATE") ? " (never hand over a private key)" : ""}`,
    });
    return undefined;
  }
  if (!block || block.index !== begin.index) {
    issues.push({ path: keyPath, message: "the armored key has no -----END PGP PUBLIC KEY BLOCK----- line" });
    return undefined;
  }
  return { key: block[0], keyPath };
}

/** The notary requirement; null when trust is not enabled; undefined when it cannot be built. */
function readTrust(raw: unknown, path: string, ctx: RepositoryContext): Requirement | null | undefined {
  const { issues } = ctx;
  const trust = optionalRecord(raw, path, issues);
  if (!trust) return isAbsent(raw) ? null : undefined;
  rejectUnknownKeys(trust, ["enabled", "signerSecrets", "trustServer"], path, issues);
  const enabled = optionalBoolean(trust.enabled, at(path, "enabled"), issues);
  const serverPath = at(path, "trustServer");
  const written = optionalString(trust.trustServer, serverPath, issues);
  const secretsPath = at(path, "signerSecrets");
  const refs = optionalList(trust.signerSecrets, secretsPath, issues) ?? [];
  // A wrongly typed `enabled` is reported above; only a real false (or none) means "no trust check".
  if (enabled !== true) return enabled === false || isAbsent(trust.enabled) ? null : undefined;

  let ok = true;
  let server: string | undefined;
  if (written) {
    server = trustServerUrl(written);
  } else if (ctx.pattern) {
    const chosen = defaultTrustServer(ctx.pattern);
    if ("server" in chosen) server = chosen.server;
    else issues.push({ path: ctx.namePath, message: `${chosen.problem}; set policy.trust.trustServer` });
  }
  if (!server) ok = false;

  const signers: Signer[] = [];
  const refPaths: string[] = [];
  refs.forEach((ref, i) => {
    const refPath = at(secretsPath, i);
    if (!isRecord(ref)) {
      issues.push({ path: refPath, message: `expected { name: <secret name> }, got ${typeName(ref)}` });
      ok = false;
      return;
    }
    rejectUnknownKeys(ref, ["name"], refPath, issues);
    const secretName = requiredString(ref.name, at(refPath, "name"), issues);
    const signer = secretName === undefined ? undefined : resolveSigner(secretName, at(refPath, "name"), ctx);
    if (!signer) {
      ok = false;
      return;
    }
    signers.push(signer);
    refPaths.push(refPath);
  });
  if (!ok || !server) return undefined;

  const requirement: Requirement = {
    type: "notary",
    server,
    ...(signers.length > 0 ? { signers: signers.map((s) => ({ name: s.name, keys: [s.key] })) } : {}),
  };
  const sources: Record<string, string> = { "": path, server: written ? serverPath : ctx.namePath, signers: secretsPath };
  signers.forEach((s, i) => {
    sources[`signers[${i}]`] = refPaths[i] ?? secretsPath;
    sources[`signers[${i}].name`] = s.namePath;
    sources[`signers[${i}].keys`] = s.keyPath;
  });
  return checkRequirement(requirement, ctx.kinds, sources, issues, ctx.warnings);
}

/**
 * Portieris's trust server for an image without trustServer (helpers/image GetContentTrustURL and
 * helpers/trustmap): chosen by the suffix of the image's host name, port dropped.
 */
function defaultTrustServer(pattern: CompiledPattern): { server: string } | { problem: string } {
  const normalized = normalizedPattern(pattern);
  const slash = normalized.indexOf("/");
  const registry = slash < 0 ? "*" : normalized.slice(0, slash);
  if (registry.includes("*")) {
    return {
      problem:
        "Portieris picks the trust server from each image's registry, and this pattern matches several registries, " +
        "so trustgate cannot fix one",
    };
  }
  const host = registry.startsWith("[") ? registry.slice(1, registry.indexOf("]")) : registry.replace(/:[^:]*$/, "");
  if (host.endsWith("docker.io")) return { server: "https://notary.docker.io" };
  if (host.endsWith("quay.io")) return { server: "https://quay.io:443" };
  if (host.endsWith("icr.io") || host.endsWith("bluemix.net")) return { server: `https://${host}:4443` };
  return {
    problem:
      `Portieris knows no trust server for registry ${registry} (it denies such images with ` +
      `"Trust Server/Image Configuration Error: no trust server could be found")`,
  };
}

// ---------------------------------------------------------------------------------------------
// Signer secrets

/**
 * Finds the Secret a signerSecrets entry names. Portieris reads it from the namespace of the pod
 * being admitted: for an ImagePolicy that is the policy's own namespace; for a ClusterImagePolicy it
 * is whichever namespace the pod is in, so every copy in the document must hold the same signer.
 */
function resolveSigner(secretName: string, refPath: string, ctx: RepositoryContext): Signer | undefined {
  const { policy, issues } = ctx;
  const named = ctx.secrets.filter((s) => s.name === secretName);
  let candidates: readonly SecretObject[];
  if (policy.kind === "ImagePolicy") {
    const inNamespace = named.filter((s) => s.namespace === policy.namespace);
    // A Secret written without a namespace is taken to be applied where the ImagePolicy is.
    candidates = inNamespace.length > 0 ? inNamespace : named.filter((s) => s.namespace === undefined);
    if (candidates.length === 0) {
      issues.push({
        path: refPath,
        message:
          `Secret "${secretName}" is not in the document: Portieris reads it from namespace ${policy.namespace}; ` +
          `add it (kubectl get secret ${secretName} -n ${policy.namespace} -o yaml)`,
      });
      return undefined;
    }
  } else {
    candidates = named;
    if (candidates.length === 0) {
      issues.push({
        path: refPath,
        message:
          `Secret "${secretName}" is not in the document: Portieris reads a ClusterImagePolicy's signer secrets ` +
          `from the namespace of the pod being admitted; add that Secret`,
      });
      return undefined;
    }
  }

  const read = candidates.map((s) => ctx.secretReader.read(s));
  const first = read[0];
  if (read.some((r) => r === undefined) || !first) return undefined;
  const differing = read.some((r) => r && (r.name !== first.name || r.key !== first.key));
  if (differing) {
    const where = candidates.map((s) => s.namespace ?? "(no namespace)").join(", ");
    issues.push({
      path: refPath,
      message:
        `Secret "${secretName}" holds different signers in namespaces ${where}: Portieris would require a ` +
        `different signer per namespace, trustgate needs one; use one Secret content, or ImagePolicies per namespace`,
    });
    return undefined;
  }
  return first;
}

/** Reads `name` and `publicKey` of a Secret once (stringData over data, as the API server merges them). */
class SecretReader {
  private readonly cache = new Map<SecretObject, Signer | undefined>();

  constructor(private readonly issues: Issues) {}

  read(secret: SecretObject): Signer | undefined {
    if (this.cache.has(secret)) return this.cache.get(secret);
    const signer = this.readUncached(secret);
    this.cache.set(secret, signer);
    return signer;
  }

  private readUncached(secret: SecretObject): Signer | undefined {
    const { issues } = this;
    const dataPath = at(secret.path, "data");
    const stringDataPath = at(secret.path, "stringData");
    const data = optionalRecord(secret.obj.data, dataPath, issues);
    const stringData = optionalRecord(secret.obj.stringData, stringDataPath, issues);
    const field = (key: "name" | "publicKey"): { value: string | undefined; path: string; reported: boolean } => {
      if (stringData && !isAbsent(stringData[key])) {
        const path = at(stringDataPath, key);
        const value = optionalString(stringData[key], path, issues);
        return { value, path, reported: value === undefined };
      }
      const path = at(dataPath, key);
      const encoded = optionalString(data?.[key], path, issues);
      if (encoded === undefined) return { value: undefined, path, reported: !isAbsent(data?.[key]) };
      const value = decodeBase64Text(encoded);
      if (value === undefined) issues.push({ path, message: "not base64 of UTF-8 text (Secret data values are base64)" });
      return { value, path, reported: value === undefined };
    };
    const name = field("name");
    const key = field("publicKey");
    if (!name.value?.trim() || !key.value?.trim()) {
      // Portieris's own words (getSignerSecret).
      const message = `name or publicKey field in secret ${secret.name} is empty`;
      for (const f of [name, key]) if (!f.value?.trim() && !f.reported) issues.push({ path: f.path, message });
      return undefined;
    }
    const problem = pemProblem(key.value);
    if (problem) {
      issues.push({ path: key.path, message: problem });
      return undefined;
    }
    return { name: name.value.trim(), key: normalizePem(key.value), namePath: name.path, keyPath: key.path };
  }
}
