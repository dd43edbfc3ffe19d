// Imports Kyverno ClusterPolicy / Policy objects with verifyImages rules (docs/kyverno.md): each
// verifyImages entry becomes a rule of an allMatching policy, its attestor sets anyOf requirements.
import * as z from "../../schema";
import { compilePattern, PatternSyntaxError } from "../pattern";
import { wildcardMatch } from "../dialect-pattern";
import { PolicyValidationError, type Mode, type ModeOverride, type Policy, type PolicyIssue, type Requirement, type Rule, type RuleCondition } from "../model";
import type { RequirementKinds } from "../requirement-kinds";
import { distinctWarnings } from "../review";
import { at, checkRequirement, dictionary, distinctIssues, flag, list, mapping, mappingWith, nested, normalizePem, pemProblem, readShape, requiredText, text, typeName, type Issues } from "./shared";
import { collectObjects, keyReferenceProblem, patternBudgetProblem, KYVERNO_EXTENSIONS, PUBLIC_REKOR, splitPems, wildcardIdentity, type Located } from "./k8s-objects";
import { looseTrustRoot } from "./sigstore-root";

const API_VERSIONS = ["kyverno.io/v1", "kyverno.io/v2beta1", "kyverno.io/v2"];
const MAX_RULES = 1000;
const AUTOGEN_ANNOTATION = "pod-policies.kyverno.io/autogen-controllers";
/** Kyverno's pod controllers (pkg/autogen): a rule on Pods also checks their templates. */
const POD_CONTROLLERS = ["DaemonSet", "Deployment", "Job", "StatefulSet", "ReplicaSet", "ReplicationController", "CronJob"];

const int = () => z.nullish(z.int({ error: (issue) => `expected a whole number, got ${typeName(issue.input)}` }));
const refused = (message: string) => z.optional(z.custom<never>((v) => v === undefined || v === null, { message }));

const metadataShape = mappingWith({ name: text(), namespace: text(), annotations: dictionary() });

const specShape = mapping({
  rules: list(),
  validationFailureAction: text(),
  validationFailureActionOverrides: list(),
  // Admission plumbing with no bearing on a decision.
  background: flag(),
  failurePolicy: text(),
  webhookTimeoutSeconds: int(),
  admission: flag(),
  schemaValidation: flag(),
  emitWarning: flag(),
  useServerSideApply: flag(),
  mutateExistingOnPolicyUpdate: flag(),
  generateExisting: flag(),
  generateExistingOnPolicyUpdate: flag(),
  webhookConfiguration: nested(),
  applyRules: text(),
});

const ruleShape = mapping({
  name: requiredText(),
  match: nested(),
  exclude: nested(),
  verifyImages: list(),
  validate: nested(),
  mutate: nested(),
  generate: nested(),
  preconditions: nested(),
  celPreconditions: nested(),
  context: nested(),
  skipBackgroundRequests: flag(),
  reportProperties: nested(),
  imageExtractors: refused("imageExtractors: trustgate decides the images a workload's containers name; custom image locations are not supported"),
});

const verifyImageShape = mapping({
  type: text(),
  imageReferences: list(),
  skipImageReferences: list(),
  attestors: list(),
  repository: text(),
  mutateDigest: flag(),
  verifyDigest: flag(),
  required: flag(),
  useCache: flag(),
  failureAction: text(),
  cosignOCI11: flag(),
  annotations: dictionary(),
  attestations: refused("attestations are not supported yet: trustgate verifies image signatures (attestors) only"),
  validate: refused("verifyImages validate (conditions over attestations) is not supported"),
  imageRegistryCredentials: refused("imageRegistryCredentials: give registry credentials to trustgate (REGISTRY_CREDENTIALS), not in the policy"),
  image: refused("image is deprecated in Kyverno: write imageReferences"),
  key: refused("key is deprecated in Kyverno: write attestors[].entries[].keys.publicKeys"),
  roots: refused("roots is deprecated in Kyverno: write attestors[].entries[].keyless"),
  subject: refused("subject is deprecated in Kyverno: write attestors[].entries[].keyless.subject"),
  issuer: refused("issuer is deprecated in Kyverno: write attestors[].entries[].keyless.issuer"),
  additionalExtensions: refused("additionalExtensions is deprecated here in Kyverno: write attestors[].entries[].keyless.additionalExtensions"),
});

const attestorSetShape = mapping({ count: int(), entries: list() });

const attestorShape = mapping({
  keys: nested(),
  attestor: nested(),
  repository: text(),
  annotations: dictionary(),
  keyless: nested(),
  certificates: refused("certificates attestors are not supported: verify with keys.publicKeys"),
});

const keysShape = mapping({
  publicKeys: text(),
  signatureAlgorithm: text(),
  rekor: nested(),
  ctlog: nested(),
  kms: refused("kms keys are references trustgate cannot follow: give the PEM public key in publicKeys (cosign public-key --key <kms-uri> prints it)"),
  secret: refused("secret keys are references trustgate cannot follow (it reads no Secrets): give the PEM public key in publicKeys"),
});

const rekorShape = mapping({ url: text(), pubkey: text(), ignoreTlog: flag() });
const keylessShape = mapping({
  issuer: text(),
  issuerRegExp: text(),
  subject: text(),
  subjectRegExp: text(),
  additionalExtensions: dictionary(),
  rekor: nested(),
  ctlog: nested(),
  roots: text(),
});
const ctlogShape = mapping({ ignoreSCT: flag(), pubkey: text(), tsaCertChain: text() });
const filterShape = mapping({
  resources: nested(),
  subjects: refused("subjects: trustgate decides on namespace and kind only"),
  roles: refused("roles: trustgate decides on namespace and kind only"),
  clusterRoles: refused("clusterRoles: trustgate decides on namespace and kind only"),
});
const matchShape = mapping({ any: list(), all: list(), resources: nested(), subjects: nested(), roles: nested(), clusterRoles: nested() });
const resourcesShape = mapping({
  kinds: list(),
  namespaces: list(),
  names: refused("names: trustgate decides on namespace and kind only; drop it or keep this rule in Kyverno"),
  name: refused("name: trustgate decides on namespace and kind only"),
  selector: refused("selector: trustgate decides on namespace and kind only (labels are not in a decision's context)"),
  namespaceSelector: refused("namespaceSelector: trustgate decides on namespace names; list them in namespaces"),
  annotations: refused("annotations: trustgate decides on namespace and kind only"),
  operations: refused("operations: trustgate decides every admitted workload (CREATE and UPDATE)"),
});
const overrideShape = mapping({
  action: requiredText(),
  namespaces: list(),
  namespaceSelector: refused("namespaceSelector: trustgate decides on namespace names; list them in namespaces"),
});

interface Ctx {
  readonly kinds: RequirementKinds;
  readonly issues: Issues;
  readonly warnings: PolicyIssue[];
}

export function importKyverno(document: unknown, kinds: RequirementKinds, out: PolicyIssue[] = []): Policy {
  const ctx: Ctx = { kinds, issues: [], warnings: [] };
  const objects: Located[] = [];
  collectObjects(document, "", 0, objects, ctx.issues, "ClusterPolicy, Policy");
  const rules: Rule[] = [];
  const seen = new Map<string, string>();
  let policies = 0;
  for (const { obj, path } of objects) {
    if (obj.kind !== "ClusterPolicy" && obj.kind !== "Policy") {
      const hint = obj.kind === "ImageValidatingPolicy" ? ": ImageValidatingPolicy is not supported yet by this importer; write a ClusterPolicy with verifyImages" : "";
      ctx.issues.push({ path: at(path, "kind"), message: `expected ClusterPolicy or Policy, got ${typeof obj.kind === "string" ? `"${obj.kind}"` : obj.kind === undefined ? "no kind" : typeName(obj.kind)}${hint}` });
      continue;
    }
    if (typeof obj.apiVersion !== "string" || !API_VERSIONS.includes(obj.apiVersion)) {
      ctx.issues.push({ path: at(path, "apiVersion"), message: `expected ${API_VERSIONS.join(", ")} for a ${obj.kind}, got ${typeof obj.apiVersion === "string" ? `"${obj.apiVersion}"` : typeName(obj.apiVersion)}` });
    }
    policies++;
    const meta = readShape(metadataShape, obj.metadata ?? {}, at(path, "metadata"), ctx.issues)?.data;
    const name = meta?.name ?? "";
    if (name === "") ctx.issues.push({ path: at(at(path, "metadata"), "name"), message: "required" });
    const namespace = obj.kind === "Policy" ? (meta?.namespace ?? undefined) : undefined;
    if (obj.kind === "Policy" && !namespace) ctx.issues.push({ path: at(at(path, "metadata"), "namespace"), message: "a Policy applies in its namespace: give metadata.namespace" });
    const id = `${obj.kind}/${namespace ?? ""}/${name}`;
    if (seen.has(id)) ctx.issues.push({ path: at(path, "metadata"), message: `${obj.kind} ${name} is also defined at ${seen.get(id) || "the top"}` });
    seen.set(id, path);
    const label = namespace ? `${namespace}/${name}` : name;
    rules.push(...importPolicy(obj, path, label, namespace, autogenKinds(meta?.annotations ?? undefined), ctx));
  }
  if (policies === 0 && ctx.issues.length === 0) ctx.issues.push({ path: "", message: "no ClusterPolicy or Policy in the document" });
  if (rules.length === 0 && ctx.issues.length === 0) ctx.issues.push({ path: "", message: "no verifyImages rule in the document: nothing to import" });
  if (rules.length > MAX_RULES) ctx.issues.push({ path: "", message: `${rules.length} rules: at most ${MAX_RULES}` });
  const budget = patternBudgetProblem(rules);
  if (budget) ctx.issues.push({ path: "", message: budget });
  if (ctx.issues.length > 0) throw new PolicyValidationError(distinctIssues(ctx.issues));
  out.push(...distinctWarnings(ctx.warnings));
  // Every rule carries its own mode; an image no rule matches is not checked (Kyverno).
  return { mode: "enforce", patternStyle: "kyverno", ruleSelection: "allMatching", noMatch: "allow", rules };
}

/** The kinds a rule on Pods also covers, per the policy's autogen annotation (absent: all). */
function autogenKinds(annotations: Record<string, unknown> | undefined): string[] {
  const value = annotations?.[AUTOGEN_ANNOTATION];
  if (typeof value !== "string" || value === "all") return POD_CONTROLLERS;
  if (value === "none") return [];
  return value.split(",").map((s) => s.trim()).filter((s) => POD_CONTROLLERS.includes(s));
}

function mode(value: string | null | undefined, path: string, issues: Issues): Mode | undefined {
  if (value === undefined || value === null) return undefined;
  const lower = value.toLowerCase();
  if (lower === "enforce") return "enforce";
  if (lower === "audit") return "audit";
  issues.push({ path, message: `expected Enforce or Audit, got "${value}"` });
  return undefined;
}

function importPolicy(obj: Record<string, unknown>, path: string, label: string, namespace: string | undefined, autogen: string[], ctx: Ctx): Rule[] {
  const specPath = at(path, "spec");
  const spec = readShape(specShape, obj.spec, specPath, ctx.issues)?.data;
  if (!spec) return [];
  if (spec.applyRules === "One") {
    ctx.issues.push({ path: at(specPath, "applyRules"), message: "applyRules: One (only the first matching rule) is not supported: trustgate applies every matching verifyImages rule, as applyRules: All does" });
  }
  // Kyverno's default is Audit: failures are reported, the workload is admitted.
  const policyMode = mode(spec.validationFailureAction, at(specPath, "validationFailureAction"), ctx.issues) ?? "audit";
  const overrides: ModeOverride[] = [];
  (spec.validationFailureActionOverrides ?? []).forEach((raw, i) => {
    const p = at(at(specPath, "validationFailureActionOverrides"), i);
    const o = readShape(overrideShape, raw, p, ctx.issues)?.data;
    const m = o ? mode(o.action, at(p, "action"), ctx.issues) : undefined;
    if (m) overrides.push({ mode: m, namespaces: stringList(o?.namespaces, at(p, "namespaces"), ctx.issues) });
  });
  const rules: Rule[] = [];
  (spec.rules ?? []).forEach((raw, i) => {
    const rulePath = at(at(specPath, "rules"), i);
    const rule = readShape(ruleShape, raw, rulePath, ctx.issues)?.data;
    if (!rule) return;
    if (!rule.verifyImages || rule.verifyImages.length === 0) {
      ctx.warnings.push({ path: rulePath, message: `rule ${rule.name ?? i} has no verifyImages: trustgate checks image signatures only, and ignores it` });
      return;
    }
    for (const field of ["preconditions", "celPreconditions", "context"] as const) {
      if (rule[field] !== undefined) ctx.warnings.push({ path: at(rulePath, field), message: `${field} is not evaluated: the rule applies to every image it matches` });
    }
    let when = condition(rule.match, rule.exclude, rulePath, autogen, ctx.issues);
    if (namespace !== undefined) {
      // A Policy acts in its own namespace only.
      const globs = when?.namespaces;
      if (globs && !globs.some((g) => wildcardMatch(g, namespace))) {
        ctx.warnings.push({ path: at(rulePath, "match"), message: `none of the rule's namespaces is ${namespace}, the Policy's own: it never applies` });
        return;
      }
      when = { ...when, namespaces: [namespace] };
    }
    const entries = rule.verifyImages;
    entries.forEach((rawEntry, j) => {
      const entryPath = at(at(rulePath, "verifyImages"), j);
      const name = `${label}/${rule.name ?? ""}${entries.length > 1 ? `[${j}]` : ""}`;
      const built = verifyImage(rawEntry, entryPath, name, ctx);
      if (!built) return;
      const ownMode = mode(built.failureAction, at(entryPath, "failureAction"), ctx.issues) ?? policyMode;
      rules.push({
        name,
        pattern: built.patterns[0]!,
        ...(built.patterns.length > 1 ? { patterns: built.patterns.slice(1) } : {}),
        ...(built.skip.length > 0 ? { skip: built.skip } : {}),
        ...(when && Object.keys(when).length > 0 ? { when } : {}),
        mode: ownMode,
        ...(overrides.length > 0 ? { modeOverrides: overrides } : {}),
        require: built.require,
      });
    });
  });
  return rules;
}

function stringList(value: unknown, path: string, issues: Issues): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) {
    issues.push({ path, message: `expected a list of strings, got ${typeName(value)}` });
    return [];
  }
  const out: string[] = [];
  value.forEach((v, i) => {
    if (typeof v === "string" && v !== "") out.push(v);
    else issues.push({ path: at(path, i), message: `expected a string, got ${typeName(v)}` });
  });
  return out;
}

/** A resource filter's kinds (the name after any group/version) and namespaces. */
function filter(raw: unknown, path: string, autogen: string[], issues: Issues): { kinds?: string[]; namespaces?: string[] } {
  const f = readShape(filterShape, raw, path, issues)?.data;
  const r = f?.resources === undefined ? undefined : readShape(resourcesShape, f.resources, at(path, "resources"), issues)?.data;
  return resources(r, at(path, "resources"), autogen, issues);
}

function resources(r: { kinds?: unknown; namespaces?: unknown } | undefined, path: string, autogen: string[], issues: Issues): { kinds?: string[]; namespaces?: string[] } {
  if (!r) return {};
  const kinds = r.kinds === undefined || r.kinds === null ? undefined : stringList(r.kinds, at(path, "kinds"), issues).map((k) => k.slice(k.lastIndexOf("/") + 1));
  const namespaces = r.namespaces === undefined || r.namespaces === null ? undefined : stringList(r.namespaces, at(path, "namespaces"), issues);
  const withControllers = kinds && kinds.includes("Pod") ? [...new Set([...kinds, ...autogen])] : kinds;
  return { ...(withControllers ? { kinds: withControllers } : {}), ...(namespaces ? { namespaces } : {}) };
}

/**
 * match/exclude as far as a decision's context carries them: kinds and namespaces. What the model's
 * one condition cannot say exactly (filters that differ in both) is refused, never widened.
 */
function condition(match: unknown, exclude: unknown, path: string, autogen: string[], issues: Issues): RuleCondition | undefined {
  const when: { namespaces?: string[]; kinds?: string[]; excludeNamespaces?: string[]; excludeKinds?: string[] } = {};
  const read = (raw: unknown, p: string) => {
    const m = readShape(matchShape, raw, p, issues)?.data;
    if (!m) return undefined;
    for (const field of ["subjects", "roles", "clusterRoles"] as const) {
      if (m[field] !== undefined) issues.push({ path: at(p, field), message: `${field}: trustgate decides on namespace and kind only` });
    }
    const anyList = (m.any ?? []).map((f, i) => filter(f, at(at(p, "any"), i), autogen, issues));
    const allList = (m.all ?? []).map((f, i) => filter(f, at(at(p, "all"), i), autogen, issues));
    const legacy = m.resources === undefined ? [] : [resources(readShape(resourcesShape, m.resources, at(p, "resources"), issues)?.data, at(p, "resources"), autogen, issues)];
    return { anyList: [...anyList, ...legacy], allList };
  };
  if (match !== undefined && match !== null) {
    const p = at(path, "match");
    const m = read(match, p);
    if (m) {
      const { anyList, allList } = m;
      if (anyList.length > 0 && allList.length > 0) issues.push({ path: p, message: "match with both any and all is not supported: use one" });
      if (anyList.length > 1) {
        // OR of filters: exact when each names the same one field (or one names nothing: all match).
        const byKind = anyList.some((f) => f.kinds !== undefined);
        const byNamespace = anyList.some((f) => f.namespaces !== undefined);
        const open = anyList.some((f) => f.kinds === undefined && f.namespaces === undefined);
        if (open) {
          // One filter matches every resource: so does the OR.
        } else if (byKind && byNamespace) {
          issues.push({ path: at(p, "any"), message: "match.any filters that name both kinds and namespaces cannot be combined: split them into rules" });
        } else if (byKind) {
          when.kinds = anyList.flatMap((f) => f.kinds ?? []);
        } else {
          when.namespaces = anyList.flatMap((f) => f.namespaces ?? []);
        }
      } else if (anyList.length === 1) {
        Object.assign(when, anyList[0]);
      }
      for (const f of allList) {
        for (const field of ["kinds", "namespaces"] as const) {
          if (!f[field]) continue;
          if (when[field]) issues.push({ path: at(p, "all"), message: `match.all names ${field} in more than one filter: write them in one` });
          when[field] = f[field];
        }
      }
    }
  }
  if (exclude !== undefined && exclude !== null) {
    const p = at(path, "exclude");
    const e = read(exclude, p);
    if (e) {
      const filters = [...e.anyList, ...(e.allList.length === 1 ? e.allList : [])];
      if (e.allList.length > 1) issues.push({ path: at(p, "all"), message: "exclude.all with more than one filter is not supported" });
      for (const f of filters) {
        if (f.kinds && f.namespaces) {
          issues.push({ path: p, message: "an exclude filter that names both kinds and namespaces is not supported: exclude by kinds or by namespaces" });
          continue;
        }
        if (f.kinds) when.excludeKinds = [...(when.excludeKinds ?? []), ...f.kinds];
        if (f.namespaces) when.excludeNamespaces = [...(when.excludeNamespaces ?? []), ...f.namespaces];
      }
    }
  }
  return Object.keys(when).length > 0 ? when : undefined;
}

interface BuiltEntry {
  readonly patterns: string[];
  readonly skip: string[];
  readonly require: Requirement[];
  readonly failureAction: string | null | undefined;
}

function patternList(value: unknown, path: string, issues: Issues): string[] {
  const list = stringList(value, path, issues);
  list.forEach((p, i) => {
    try {
      compilePattern(p, "kyverno");
    } catch (err) {
      if (!(err instanceof PatternSyntaxError)) throw err;
      issues.push({ path: at(path, i), message: err.message });
    }
  });
  return list;
}

function verifyImage(raw: unknown, path: string, ruleName: string, ctx: Ctx): BuiltEntry | undefined {
  const v = readShape(verifyImageShape, raw, path, ctx.issues)?.data;
  if (!v) return undefined;
  const type = v.type ?? "Cosign";
  if (type !== "Cosign") {
    ctx.issues.push({ path: at(path, "type"), message: `type ${type} is not supported: trustgate verifies Cosign signatures here (Notary v1 has its own requirement)` });
  }
  if (v.cosignOCI11 === true) ctx.issues.push({ path: at(path, "cosignOCI11"), message: "cosignOCI11 (signatures as OCI 1.1 referrers) is not supported: sign with cosign's default layout" });
  if (v.annotations && Object.keys(v.annotations).length > 0) ctx.issues.push({ path: at(path, "annotations"), message: "annotations (required signature payload annotations) are not supported yet" });
  const patterns = patternList(v.imageReferences, at(path, "imageReferences"), ctx.issues);
  if (patterns.length === 0 && v.imageReferences !== undefined) ctx.issues.push({ path: at(path, "imageReferences"), message: "at least one image reference" });
  if (v.imageReferences === undefined || v.imageReferences === null) ctx.issues.push({ path: at(path, "imageReferences"), message: "required" });
  const skip = patternList(v.skipImageReferences, at(path, "skipImageReferences"), ctx.issues);

  const require: Requirement[] = [];
  (v.attestors ?? []).forEach((set, i) => {
    const r = attestorSet(set, at(at(path, "attestors"), i), `.attestors[${i}]`, v.repository ?? undefined, 1, ctx);
    if (r) require.push(r);
  });
  // With mutateDigest (default) Kyverno pins the tag to its digest before verifyDigest looks.
  if ((v.verifyDigest ?? true) && v.mutateDigest === false) require.push({ type: "digestPinned", message: "missing digest for {image}" });
  if (require.length === 0) {
    ctx.warnings.push({ path, message: `verifyImages entry of ${ruleName} has no attestors: Kyverno checks nothing for it, and neither does trustgate` });
    require.push({ type: "allow" });
  }
  if (patterns.length === 0) return undefined;
  return { patterns, skip, require, failureAction: v.failureAction };
}

function attestorSet(raw: unknown, path: string, label: string, repository: string | undefined, depth: number, ctx: Ctx): Requirement | undefined {
  if (depth > 3) {
    ctx.issues.push({ path, message: "attestors nested more than 3 deep" });
    return undefined;
  }
  const set = readShape(attestorSetShape, raw, path, ctx.issues)?.data;
  if (!set) return undefined;
  const of: { name: string; requirement: Requirement }[] = [];
  const sources: Record<string, string> = { "": path };
  (set.entries ?? []).forEach((rawEntry, j) => {
    const entryPath = at(at(path, "entries"), j);
    const entryLabel = `${label}.entries[${j}]`;
    const e = readShape(attestorShape, rawEntry, entryPath, ctx.issues)?.data;
    if (!e) return;
    if (e.annotations && Object.keys(e.annotations).length > 0) ctx.issues.push({ path: at(entryPath, "annotations"), message: "annotations (required signature payload annotations) are not supported yet" });
    const repo = e.repository ?? repository;
    if (e.attestor !== undefined) {
      const nestedReq = attestorSet(e.attestor, at(entryPath, "attestor"), `${entryLabel}.attestor`, repo, depth + 1, ctx);
      if (nestedReq) {
        sources[`of[${of.length}]`] = at(entryPath, "attestor");
        of.push({ name: `${entryLabel}.attestor`, requirement: nestedReq });
      }
      return;
    }
    const hasKeys = e.keys !== undefined && e.keys !== null;
    const hasKeyless = e.keyless !== undefined && e.keyless !== null;
    if (hasKeys === hasKeyless) {
      ctx.issues.push({ path: entryPath, message: "an attestor entry needs one of keys, keyless or attestor (certificates: not supported)" });
      return;
    }
    if (hasKeyless) {
      const keyless = keylessAttestor(e.keyless, at(entryPath, "keyless"), ctx);
      if (!keyless) return;
      sources[`of[${of.length}]`] = at(entryPath, "keyless");
      of.push({ name: `${entryLabel}.keyless`, requirement: { type: "cosign", keyless, ...(repo ? { signatureRepository: repo } : {}) } });
      return;
    }
    for (const key of staticKeys(e.keys, at(entryPath, "keys"), ctx)) {
      sources[`of[${of.length}]`] = at(entryPath, "keys");
      const name = `${entryLabel}.keys${key.index !== undefined ? `[${key.index}]` : ""}`;
      of.push({ name, requirement: { type: "cosign", keys: [{ name, key: key.pem }], ...(repo ? { signatureRepository: repo } : {}) } });
    }
  });
  if (of.length === 0) {
    if ((set.entries ?? []).length === 0) ctx.issues.push({ path: at(path, "entries"), message: "an attestor set needs at least one entry" });
    return undefined;
  }
  // Kyverno counts entries after splitting publicKeys into one entry per key; no count: all of them.
  const count = set.count === undefined || set.count === null || set.count === 0 ? of.length : set.count;
  if (count > of.length) {
    ctx.issues.push({ path: at(path, "count"), message: `count ${count} is more than the ${of.length} entries: no image could pass` });
    return undefined;
  }
  const req: Requirement = { type: "anyOf", count, of, message: "failed to verify image {image}: {failures}" };
  return checkRequirement(req, ctx.kinds, sources, ctx.issues, ctx.warnings);
}

/** keys.publicKeys split into one key per PEM block, as Kyverno's ExpandStaticKeys does. */
function staticKeys(raw: unknown, path: string, ctx: Ctx): { pem: string; index?: number }[] {
  const k = readShape(keysShape, raw, path, ctx.issues)?.data;
  if (!k) return [];
  const algorithm = k.signatureAlgorithm ?? "sha256";
  if (algorithm !== "sha256") {
    ctx.issues.push({ path: at(path, "signatureAlgorithm"), message: `signatureAlgorithm ${algorithm} is not supported: trustgate verifies cosign ECDSA P-256 / Ed25519 signatures over SHA-256 (cosign's default)` });
  }
  const rekor = k.rekor === undefined || k.rekor === null ? undefined : readShape(rekorShape, k.rekor, at(path, "rekor"), ctx.issues)?.data;
  if (k.ctlog !== undefined && k.ctlog !== null) readShape(ctlogShape, k.ctlog, at(path, "ctlog"), ctx.issues);
  if (rekor?.ignoreTlog !== true) {
    ctx.issues.push({
      path: at(path, "rekor"),
      message: "Kyverno verifies this key's signatures in the Rekor transparency log, which this importer does not support yet: set rekor.ignoreTlog: true to verify by key alone, or keep this rule in Kyverno",
    });
  }
  const text = k.publicKeys ?? "";
  if (text.trim() === "") {
    ctx.issues.push({ path: at(path, "publicKeys"), message: "required: one or more PEM public keys" });
    return [];
  }
  const reference = keyReferenceProblem(text);
  if (reference) {
    ctx.issues.push({ path: at(path, "publicKeys"), message: reference });
    return [];
  }
  const pems = splitPems(text);
  const problem = pems.length === 0 ? pemProblem(text) : pems.map(pemProblem).find((p) => p !== undefined);
  if (problem || pems.length === 0) {
    ctx.issues.push({ path: at(path, "publicKeys"), message: problem ?? "expected a PEM public key" });
    return [];
  }
  return pems.map((pem, i) => ({ pem: normalizePem(pem), ...(pems.length > 1 ? { index: i } : {}) }));
}

/**
 * A keyless attestor as the native `keyless` block: issuer and subject are Kyverno wildcards
 * (matchCertificateData) or Go regular expressions; additionalExtensions exact. The public-good
 * Rekor and CT logs only: the native default trust root holds their keys.
 */
function keylessAttestor(raw: unknown, path: string, ctx: Ctx): Record<string, unknown> | undefined {
  const k = readShape(keylessShape, raw, path, ctx.issues)?.data;
  if (!k) return undefined;
  const before = ctx.issues.length;
  const identity: Record<string, unknown> = {};
  const side = (field: "issuer" | "subject", fallback: string) => {
    const wildcard = k[field];
    const regExp = k[`${field}RegExp`];
    if (wildcard && regExp) {
      ctx.issues.push({ path: at(path, `${field}RegExp`), message: `give ${field} or ${field}RegExp, not both: trustgate matches one of them` });
    } else if (wildcard) {
      const id = wildcardIdentity(wildcard);
      if ("exact" in id) identity[field] = id.exact;
      else identity[`${field}RegExp`] = id.regExp;
    } else if (regExp) {
      identity[`${field}RegExp`] = regExp;
    } else {
      // Kyverno checks nothing then; say so rather than invent a constraint.
      identity[`${field}RegExp`] = ".*";
      ctx.warnings.push({ path, message: `no ${field}: ${fallback}, as Kyverno accepts` });
    }
  };
  side("issuer", "a certificate from any OIDC issuer is accepted");
  side("subject", "a certificate for any subject is accepted");
  const extensions: Record<string, string> = {};
  for (const [key, value] of Object.entries(k.additionalExtensions ?? {})) {
    const p = at(at(path, "additionalExtensions"), key);
    const name = KYVERNO_EXTENSIONS[key];
    if (!name) {
      ctx.issues.push({ path: p, message: `extension ${key} is not one Kyverno reads (${Object.keys(KYVERNO_EXTENSIONS).filter((n) => !n.includes(".")).join(", ")})` });
    } else if (typeof value !== "string" || /[*?]/.test(value)) {
      ctx.issues.push({ path: p, message: "expected an exact value: trustgate compares extensions exactly (no wildcards)" });
    } else {
      extensions[name] = value;
    }
  }
  if (Object.keys(extensions).length > 0) identity.extensions = extensions;

  const rekor = k.rekor === undefined || k.rekor === null ? undefined : readShape(rekorShape, k.rekor, at(path, "rekor"), ctx.issues)?.data;
  const ctlog = k.ctlog === undefined || k.ctlog === null ? undefined : readShape(ctlogShape, k.ctlog, at(path, "ctlog"), ctx.issues)?.data;
  const trust = sigstoreTrust(
    { roots: k.roots, rekorUrl: rekor?.url, rekorKey: rekor?.pubkey, ctKey: ctlog?.pubkey, tsa: ctlog?.tsaCertChain, ignoreTlog: rekor?.ignoreTlog, ignoreSCT: ctlog?.ignoreSCT },
    path,
    CLUSTER_POLICY_TRUST,
    ctx,
  );
  if (ctx.issues.length > before) return undefined;
  return { identities: [identity], ...trust };
}

/** Where a dialect writes the Sigstore trust fields, relative to the block that holds them. */
interface TrustFields {
  readonly roots: string;
  readonly rekor: string;
  readonly rekorUrl: string;
  readonly rekorKey: string;
  readonly ignoreTlog: string;
  readonly ctlog: string;
  readonly ctKey: string;
  readonly ignoreSCT: string;
  readonly tsa: string;
}
const CLUSTER_POLICY_TRUST: TrustFields = {
  roots: "roots",
  rekor: "rekor",
  rekorUrl: "rekor.url",
  rekorKey: "rekor.pubkey",
  ignoreTlog: "rekor.ignoreTlog",
  ctlog: "ctlog",
  ctKey: "ctlog.pubkey",
  ignoreSCT: "ctlog.ignoreSCT",
  tsa: "ctlog.tsaCertChain",
};

interface TrustInput {
  readonly roots?: string | null | undefined;
  readonly rekorUrl?: string | null | undefined;
  readonly rekorKey?: string | null | undefined;
  readonly ctKey?: string | null | undefined;
  readonly tsa?: string | null | undefined;
  readonly ignoreTlog?: boolean | null | undefined;
  readonly ignoreSCT?: boolean | null | undefined;
}

/**
 * The trust half of a keyless attestor: a private Sigstore (roots, the Rekor and CT log keys
 * together make one trust root) or, without roots, the public-good trust root (TUF) that holds them all.
 */
function sigstoreTrust(t: TrustInput, path: string, f: TrustFields, ctx: Ctx): { trustRoot?: Record<string, unknown>; ignoreSCT?: true; ignoreTlog?: true } {
  if (t.tsa) ctx.issues.push({ path: at(path, f.tsa), message: "a timestamp authority of your own is not supported by this importer" });
  let trustRoot: Record<string, unknown> | undefined;
  if (t.roots) {
    if (!t.rekorKey && !t.ignoreTlog) ctx.issues.push({ path: at(path, f.rekor), message: `with roots of your own, give ${f.rekorKey} (your Rekor's key) or ${f.ignoreTlog}: true` });
    if (!t.ctKey && !t.ignoreSCT) ctx.issues.push({ path: at(path, f.ctlog), message: `with roots of your own, give ${f.ctKey} (your CT log's key) or ${f.ignoreSCT}: true` });
    const built = looseTrustRoot({
      fulcioCertificates: t.roots,
      rekorKeys: t.rekorKey ? [t.rekorKey] : [],
      ctLogKeys: t.ctKey ? [t.ctKey] : [],
      ...(t.rekorUrl ? { rekorUrl: t.rekorUrl } : {}),
    });
    if (built.ok) trustRoot = built.root;
    else ctx.issues.push({ path: at(path, built.what === "fulcio" ? f.roots : built.what === "rekor" ? f.rekorKey : f.ctKey), message: built.why });
  } else {
    if (t.rekorUrl && !PUBLIC_REKOR.has(t.rekorUrl)) ctx.issues.push({ path: at(path, f.rekorUrl), message: `a private Rekor (${t.rekorUrl}) needs its key and your Fulcio roots: give ${f.roots}, ${f.rekorKey} and ${f.ctKey}` });
    if (t.rekorKey) ctx.issues.push({ path: at(path, f.rekorKey), message: `a Rekor key of your own needs your Fulcio roots too: give ${f.roots} (trustgate builds one trust root from ${f.roots}, ${f.rekorKey} and ${f.ctKey})` });
    if (t.ctKey) ctx.issues.push({ path: at(path, f.ctKey), message: `a CT log key of your own needs your Fulcio roots too: give ${f.roots}` });
  }
  return { ...(trustRoot ? { trustRoot } : {}), ...(t.ignoreSCT ? { ignoreSCT: true as const } : {}), ...(t.ignoreTlog ? { ignoreTlog: true as const } : {}) };
}
