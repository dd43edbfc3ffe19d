// Imports Portieris ImagePolicy / ClusterImagePolicy objects (and the Secrets they name) into the normalised policy.
import * as z from "../../schema";
import { compilePattern, normalizedPattern, PatternSyntaxError, type CompiledPattern } from "../pattern";
import { PolicyValidationError, type Policy, type PolicyIssue, type Requirement, type Rule } from "../model";
import { distinctWarnings, reviewRules, type LocatedRule } from "../review";
import type { RequirementKinds } from "../requirement-kinds";
import {
  at,
  checkRequirement,
  decodeBase64Text,
  dictionary,
  distinctIssues,
  flag,
  isAbsent,
  list,
  mapping,
  mappingWith,
  MAX_RULES,
  nested,
  normalizePem,
  optionalString,
  pemProblem,
  readShape,
  requiredText,
  text,
  trustServerUrl,
  typeName,
  type Issues,
} from "./shared";
import { collectObjects, type Located } from "./k8s-objects";

const POLICY_API_VERSIONS = ["portieris.cloud.ibm.com/v1", "securityenforcement.admission.cloud.ibm.com/v1beta1"];
const POLICY_GROUPS = POLICY_API_VERSIONS.map((v) => v.slice(0, v.indexOf("/")));
const NAMESPACE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

const metadataShape = mappingWith({ name: text(), namespace: text() });


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
  collectObjects(document, "", 0, objects, issues, "ImagePolicy, ClusterImagePolicy, Secret");

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
    for (const located of readPolicy({ policy, secrets, secretReader, kinds, issues, warnings })) {
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
// Objects: a YAML stream, a `kind: List` (what `kubectl get … -o yaml` prints), or one object, read
// by k8s-objects.ts as for Kyverno and policy-controller

function classify(located: Located, policies: PolicyObject[], secrets: SecretObject[], issues: Issues): void {
  const { obj, path } = located;
  const kind = obj.kind;
  const apiVersion = typeof obj.apiVersion === "string" ? obj.apiVersion : undefined;
  const metaPath = at(path, "metadata");
  const metadata = () => (isAbsent(obj.metadata) ? undefined : readShape(metadataShape, obj.metadata, metaPath, issues));

  if (kind === "ImagePolicy" || kind === "ClusterImagePolicy") {
    if (!apiVersion || !POLICY_API_VERSIONS.includes(apiVersion)) {
      issues.push({
        path: at(path, "apiVersion"),
        message: `expected ${POLICY_API_VERSIONS.join(" or ")} for a ${kind}, got ${apiVersion ? `"${apiVersion}"` : typeName(obj.apiVersion)}`,
      });
    }
    const meta = metadata();
    const name = meta?.data.name ?? "";
    let namespace: string | undefined;
    if (kind === "ImagePolicy") {
      const nsPath = at(metaPath, "namespace");
      namespace = meta?.data.namespace || undefined;
      if (namespace === undefined && !meta?.invalid.has("namespace")) issues.push({ path: nsPath, message: "required" });
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
    const meta = metadata()?.data;
    const name = meta?.name;
    const namespace = meta?.namespace;
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
// Policies: each mapping is parsed against its shape, then translated

const specShape = mapping({ repositories: list() });
const repositoryShape = mapping({ name: requiredText(), policy: nested() }, "a repository (name, policy)");
// mutateImage (rewriting the pod's image to the verified digest) is the admission front end's concern: only checked.
const repositoryPolicyShape = mapping({
  trust: nested(),
  simple: nested(),
  vulnerability: nested(),
  va: nested(),
  mutateImage: flag(),
});
// The CRD field is ICCRVA; Portieris's POLICIES.md writes IBMVA.
const vulnerabilityShape = mapping({ ICCRVA: nested(), IBMVA: nested() });
const advisorShape = mapping({ enabled: flag(), account: nested() });
const vaShape = mapping({ enabled: flag() });

interface PolicyContext {
  readonly policy: PolicyObject;
  readonly secrets: readonly SecretObject[];
  readonly secretReader: SecretReader;
  readonly kinds: RequirementKinds;
  readonly issues: Issues;
  readonly warnings: Issues;
}

interface RepositoryContext extends PolicyContext {
  readonly pattern: CompiledPattern | undefined;
  readonly namePath: string;
}

function readPolicy(ctx: PolicyContext): LocatedRule[] {
  const { policy, issues } = ctx;
  const specPath = at(policy.path, "spec");
  if (isAbsent(policy.obj.spec)) {
    issues.push({ path: specPath, message: "required: spec.repositories" });
    return [];
  }
  const spec = readShape(specShape, policy.obj.spec, specPath, issues);
  const reposPath = at(specPath, "repositories");
  const rules: LocatedRule[] = [];
  (spec?.data.repositories ?? []).forEach((repo, k) => {
    const rule = readRepository(repo, at(reposPath, k), ctx);
    if (rule) rules.push(rule);
  });
  return rules;
}

/** One entry of spec.repositories as a rule, or undefined when it cannot be imported (reported). */
function readRepository(raw: unknown, path: string, ctx: PolicyContext): LocatedRule | undefined {
  const { policy, issues } = ctx;
  const repo = readShape(repositoryShape, raw, path, issues);
  if (!repo) return undefined;
  const namePath = at(path, "name");
  const name = repo.data.name;
  let pattern: CompiledPattern | undefined;
  if (name !== undefined) {
    try {
      pattern = compilePattern(name, "portieris");
    } catch (err) {
      if (!(err instanceof PatternSyntaxError)) throw err;
      issues.push({ path: namePath, message: err.message });
    }
  }
  const require = readRepositoryPolicy(repo.data.policy, at(path, "policy"), { ...ctx, pattern, namePath });
  if (name === undefined || !require) return undefined;
  const description =
    policy.kind === "ImagePolicy" ? `ImagePolicy ${policy.namespace}/${policy.name}` : `ClusterImagePolicy ${policy.name}`;
  const rule: Rule = {
    pattern: name,
    require,
    description,
    ...(policy.namespace !== undefined ? { namespace: policy.namespace } : {}),
  };
  return { rule, path };
}

/** The requirements of one repository entry, or undefined when it cannot be imported. */
function readRepositoryPolicy(raw: unknown, path: string, ctx: RepositoryContext): Requirement[] | undefined {
  // `policy:` with nothing after it (Portieris's own default) admits without any check.
  if (isAbsent(raw)) return [{ type: "allow" }];
  const policy = readShape(repositoryPolicyShape, raw, path, ctx.issues);
  if (!policy) return undefined;
  const simple = readSimple(policy.data.simple, at(path, "simple"), ctx);
  const advised = asksForAdvisor(policy.data, path, ctx.issues);
  const trust = readTrust(policy.data.trust, at(path, "trust"), ctx);
  if (advised || trust === undefined || simple === undefined) return undefined;
  // Portieris checks simple signing first, then trust; both must pass.
  const require = [...simple, ...(trust ? [trust] : [])];
  return require.length > 0 ? require : [{ type: "allow" }];
}

/** Whether the policy enables IBM Cloud Vulnerability Advisor checks, which trustgate has not (reported). */
function asksForAdvisor(policy: { vulnerability?: unknown; va?: unknown }, path: string, issues: Issues): boolean {
  let asks = false;
  const refuse = (where: string) => {
    issues.push({ path: where, message: "vulnerability policies (IBM Cloud Vulnerability Advisor) are not supported" });
    asks = true;
  };
  const vulnerabilityPath = at(path, "vulnerability");
  const vulnerability = isAbsent(policy.vulnerability)
    ? undefined
    : readShape(vulnerabilityShape, policy.vulnerability, vulnerabilityPath, issues);
  for (const key of ["ICCRVA", "IBMVA"] as const) {
    const advisor = vulnerability?.data[key];
    const advisorPath = at(vulnerabilityPath, key);
    if (!isAbsent(advisor) && readShape(advisorShape, advisor, advisorPath, issues)?.data.enabled) refuse(advisorPath);
  }
  const vaPath = at(path, "va");
  if (!isAbsent(policy.va) && readShape(vaShape, policy.va, vaPath, issues)?.data.enabled) refuse(vaPath);
  return asks;
}

// ---------------------------------------------------------------------------------------------
// Simple signing (pkg/verifier/simple): a containers/image policy with one scope, docker[""]

/** Portieris's signedIdentity names, the native identity each one means, and the fields it needs. */
const SIMPLE_IDENTITIES: Readonly<Record<string, { readonly type: string; readonly fields: z.ZodMiniObject }>> = {
  matchExact: { type: "matchExact", fields: z.object({}) },
  matchRepository: { type: "matchRepository", fields: z.object({}) },
  matchExactReference: { type: "exactReference", fields: z.object({ dockerReference: requiredText() }) },
  matchExactRepository: { type: "exactRepository", fields: z.object({ dockerRepository: requiredText() }) },
  remapIdentity: { type: "remapIdentity", fields: z.object({ prefix: requiredText(), signedPrefix: requiredText() }) },
};

const simpleShape = mapping({ requirements: list(), storeURL: text(), storeSecret: text() });
const simpleRequirementShape = mapping(
  { type: nested(), keySecret: nested(), signedIdentity: nested() },
  "a requirement (type, keySecret, signedIdentity)",
);
// Only a signedBy requirement reads its keySecret.
const signedByShape = mappingWith({ keySecret: text() });
const identityShape = mapping({
  type: text(),
  dockerReference: nested(),
  dockerRepository: nested(),
  prefix: nested(),
  signedPrefix: nested(),
});

/**
 * The requirements of `policy.simple`: [] when Portieris checks no simple signature (no
 * requirements listed), undefined when they cannot be imported (reported).
 */
function readSimple(raw: unknown, path: string, ctx: RepositoryContext): Requirement[] | undefined {
  if (isAbsent(raw)) return [];
  const simple = readShape(simpleShape, raw, path, ctx.issues);
  if (!simple) return undefined;
  // Portieris only checks simple signing when requirements are listed.
  if (simple.invalid.has("requirements")) return undefined;
  const list = simple.data.requirements;
  if (!list || list.length === 0) return [];

  const storeUrlPath = at(path, "storeURL");
  const store = readSignatureStore(simple.data, path, ctx.issues);
  let ok = store !== undefined;
  const out: Requirement[] = [];
  list.forEach((entry, i) => {
    const requirement = readSimpleRequirement(entry, at(at(path, "requirements"), i), { lookaside: store?.lookaside, storeUrlPath }, ctx);
    if (requirement === undefined) ok = false;
    else if (requirement) out.push(requirement);
  });
  return ok ? out : undefined;
}

/**
 * storeURL becomes registries.d default-docker (sigStoreConfig.go); without it containers/image
 * reads the registry's signature extension only (nothing else is configured in Portieris's pod).
 * Undefined when the store cannot be used (reported).
 */
function readSignatureStore(
  simple: { storeURL?: string | null; storeSecret?: string | null },
  path: string,
  issues: Issues,
): { lookaside?: string } | undefined {
  let ok = true;
  let lookaside: string | undefined;
  const { storeURL, storeSecret } = simple;
  if (storeURL) {
    if (!storeURL.startsWith("http://") && !storeURL.startsWith("https://")) {
      issues.push({ path: at(path, "storeURL"), message: `expecting https:// or http:// URL, got: ${storeURL}` });
      ok = false;
    } else {
      lookaside = storeURL;
    }
  }
  if (storeSecret) {
    issues.push({
      path: at(path, "storeSecret"),
      message:
        "trustgate does not send credentials to a signature store: serve the signatures without authentication, then remove storeSecret",
    });
    ok = false;
  }
  return ok ? (lookaside ? { lookaside } : {}) : undefined;
}

/** One simple requirement: null when it requires nothing (insecureAcceptAnything), undefined when invalid (reported). */
function readSimpleRequirement(
  raw: unknown,
  path: string,
  store: { readonly lookaside: string | undefined; readonly storeUrlPath: string },
  ctx: RepositoryContext,
): Requirement | null | undefined {
  const { issues } = ctx;
  const entry = readShape(simpleRequirementShape, raw, path, issues);
  if (!entry) return undefined;
  const type = entry.data.type;
  if (type === "insecureAcceptAnything") return null;
  if (type === "reject") {
    // Portieris wraps containers/image's words (enforcer.go, policy_eval_simple.go).
    return { type: "deny", message: "simple: policy denied the request: Running image docker://{familiarImage} is rejected by policy." };
  }
  if (type !== "signedBy") {
    issues.push({
      path: at(path, "type"),
      message:
        typeof type === "string"
          ? `simple policy invalid Type: ${type}; Portieris knows insecureAcceptAnything, reject and signedBy`
          : "required: insecureAcceptAnything, reject or signedBy",
    });
    return undefined;
  }
  const secretPath = at(path, "keySecret");
  const signedBy = readShape(signedByShape, raw, path, issues);
  const secretName = signedBy?.data.keySecret;
  if (!secretName && signedBy && !signedBy.invalid.has("keySecret")) {
    issues.push({ path: secretPath, message: "KeySecret missing in signedBy requirement" });
  }
  const identityPath = at(path, "signedIdentity");
  const identity = readSimpleIdentity(entry.data.signedIdentity, identityPath, issues);
  const key = secretName ? resolveKeySecret(secretName, secretPath, ctx) : undefined;
  if (!key || identity === null) return undefined;
  const requirement: Requirement = {
    type: "signedBy",
    keys: [key.key],
    ...(identity ? { signedIdentity: identity } : {}),
    ...(store.lookaside ? { lookaside: store.lookaside } : {}),
  };
  const sources = { "": path, keys: key.keyPath, signedIdentity: identityPath, lookaside: store.storeUrlPath };
  return checkRequirement(requirement, ctx.kinds, sources, issues, ctx.warnings);
}

/** Absent or type "" means matchRepoDigestOrExact (undefined); null when invalid (reported). */
function readSimpleIdentity(raw: unknown, path: string, issues: Issues): Record<string, unknown> | undefined | null {
  if (isAbsent(raw)) return undefined;
  const identity = readShape(identityShape, raw, path, issues);
  if (!identity || identity.invalid.has("type")) return null;
  const type = identity.data.type;
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
  const fields = readShape(known.fields, raw, path, issues);
  if (!fields || fields.invalid.size > 0) return null;
  return { type: known.type, ...fields.data };
}

/**
 * The content of the Secret a policy names, read (as Portieris reads keySecrets and signer secrets)
 * from the namespace of the pod being admitted: an ImagePolicy's own namespace, or for a
 * ClusterImagePolicy any namespace, so every copy in the document must hold the same content.
 */
function readNamedSecret<T>(
  secretName: string,
  refPath: string,
  ctx: RepositoryContext,
  use: { readonly field: string; readonly noun: string; readonly read: (secret: SecretObject) => T | undefined; readonly same: (a: T, b: T) => boolean },
): T | undefined {
  const { policy, issues } = ctx;
  const named = ctx.secrets.filter((s) => s.name === secretName);
  let candidates: readonly SecretObject[] = named;
  if (policy.kind === "ImagePolicy") {
    const inNamespace = named.filter((s) => s.namespace === policy.namespace);
    // A Secret written without a namespace is taken to be applied where the ImagePolicy is.
    candidates = inNamespace.length > 0 ? inNamespace : named.filter((s) => s.namespace === undefined);
  }
  if (candidates.length === 0) {
    issues.push({
      path: refPath,
      message:
        policy.kind === "ImagePolicy"
          ? `Secret "${secretName}" is not in the document: Portieris reads it from namespace ${policy.namespace}; ` +
            `add it (kubectl get secret ${secretName} -n ${policy.namespace} -o yaml)`
          : `Secret "${secretName}" is not in the document: Portieris reads a ClusterImagePolicy's ${use.field} ` +
            `from the namespace of the pod being admitted; add that Secret`,
    });
    return undefined;
  }
  const read = candidates.map((s) => use.read(s));
  const first = read[0];
  if (read.some((r) => r === undefined) || first === undefined) return undefined;
  if (read.some((r) => r !== undefined && !use.same(r, first))) {
    const where = candidates.map((s) => s.namespace ?? "(no namespace)").join(", ");
    issues.push({
      path: refPath,
      message:
        `Secret "${secretName}" holds different ${use.noun}s in namespaces ${where}: Portieris would require a different ` +
        `${use.noun} per namespace, trustgate needs one; use one Secret content, or ImagePolicies per namespace`,
    });
    return undefined;
  }
  return first;
}

function resolveKeySecret(secretName: string, refPath: string, ctx: RepositoryContext): { key: string; keyPath: string } | undefined {
  return readNamedSecret(secretName, refPath, ctx, {
    field: "keySecret",
    noun: "key",
    read: (secret) => readKeySecret(secret, ctx.issues),
    same: (a, b) => a.key === b.key,
  });
}

// Only the fields read are checked: a Secret holds whatever else its owner put there.
const secretShape = mappingWith({ data: dictionary(), stringData: dictionary() });

/** One field of a Secret: stringData over data (as the API server merges them), data decoded from base64. */
function secretField(secret: SecretObject, key: string, issues: Issues): { value: string | undefined; path: string; reported: boolean } {
  const { stringData, data } = readShape(secretShape, secret.obj, secret.path, issues)?.data ?? {};
  if (stringData && !isAbsent(stringData[key])) {
    const path = at(at(secret.path, "stringData"), key);
    const value = optionalString(stringData[key], path, issues);
    return { value, path, reported: value === undefined };
  }
  const path = at(at(secret.path, "data"), key);
  const encoded = optionalString(data?.[key], path, issues);
  if (encoded === undefined) return { value: undefined, path, reported: !isAbsent(data?.[key]) };
  const value = decodeBase64Text(encoded);
  if (value === undefined) issues.push({ path, message: "not base64 of UTF-8 text (Secret data values are base64)" });
  return { value, path, reported: value === undefined };
}

/** `key` of a Secret (stringData over data): the armored public key, as Portieris's decodeArmoredKey reads it. */
function readKeySecret(secret: SecretObject, issues: Issues): { key: string; keyPath: string } | undefined {
  const { value: text, path: keyPath, reported } = secretField(secret, "key", issues);
  if (text === undefined) {
    // Portieris's own words (GetSecretKey).
    if (!reported) issues.push({ path: keyPath, message: `Secret "${secret.name}" in "${secret.namespace ?? ""}" does not contain a "key" attribute` });
    return undefined;
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

// Field order as Portieris's CRD lists them: problems come out in this order.
const trustShape = mapping({ enabled: flag(), trustServer: text(), signerSecrets: list() });
const signerRefShape = mapping({ name: requiredText() }, "{ name: <secret name> }");

/** The notary requirement; null when trust is not enabled; undefined when it cannot be built. */
function readTrust(raw: unknown, path: string, ctx: RepositoryContext): Requirement | null | undefined {
  if (isAbsent(raw)) return null;
  const trust = readShape(trustShape, raw, path, ctx.issues);
  if (!trust) return undefined;
  // A wrongly typed `enabled` is reported by the shape; only a real false (or none) means "no trust check".
  if (trust.data.enabled !== true) return trust.invalid.has("enabled") ? undefined : null;

  const written = trust.data.trustServer ?? undefined;
  const server = trustServerFor(written, ctx);
  const secretsPath = at(path, "signerSecrets");
  const signers = readSignerRefs(trust.data.signerSecrets ?? [], secretsPath, ctx);
  if (!signers || !server) return undefined;

  const requirement: Requirement = {
    type: "notary",
    server,
    ...(signers.length > 0 ? { signers: signers.map(({ signer }) => ({ name: signer.name, keys: [signer.key] })) } : {}),
  };
  const sources: Record<string, string> = { "": path, server: written ? at(path, "trustServer") : ctx.namePath, signers: secretsPath };
  signers.forEach(({ signer, refPath }, i) => {
    sources[`signers[${i}]`] = refPath;
    sources[`signers[${i}].name`] = signer.namePath;
    sources[`signers[${i}].keys`] = signer.keyPath;
  });
  return checkRequirement(requirement, ctx.kinds, sources, ctx.issues, ctx.warnings);
}

/** The trust server written, else Portieris's default for the repository's registry; undefined when none (reported). */
function trustServerFor(written: string | undefined, ctx: RepositoryContext): string | undefined {
  if (written) return trustServerUrl(written);
  if (!ctx.pattern) return undefined;
  const chosen = defaultTrustServer(ctx.pattern);
  if ("server" in chosen) return chosen.server;
  ctx.issues.push({ path: ctx.namePath, message: `${chosen.problem}; set policy.trust.trustServer` });
  return undefined;
}

/** The signers signerSecrets names, each with where it was named; undefined when one cannot be read (reported). */
function readSignerRefs(refs: readonly unknown[], path: string, ctx: RepositoryContext): { signer: Signer; refPath: string }[] | undefined {
  let ok = true;
  const out: { signer: Signer; refPath: string }[] = [];
  refs.forEach((raw, i) => {
    const refPath = at(path, i);
    const secretName = readShape(signerRefShape, raw, refPath, ctx.issues)?.data.name;
    const signer = secretName === undefined ? undefined : resolveSigner(secretName, at(refPath, "name"), ctx);
    if (signer) out.push({ signer, refPath });
    else ok = false;
  });
  return ok ? out : undefined;
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

/** The signer a signerSecrets entry names: `name` and `publicKey` of its Secret. */
function resolveSigner(secretName: string, refPath: string, ctx: RepositoryContext): Signer | undefined {
  return readNamedSecret(secretName, refPath, ctx, {
    field: "signer secrets",
    noun: "signer",
    read: (secret) => ctx.secretReader.read(secret),
    same: (a, b) => a.name === b.name && a.key === b.key,
  });
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
    const name = secretField(secret, "name", issues);
    const key = secretField(secret, "publicKey", issues);
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
