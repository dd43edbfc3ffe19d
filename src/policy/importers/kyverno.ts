// Imports Kyverno ClusterPolicy / Policy objects with verifyImages rules (docs/kyverno.md): each
// verifyImages entry becomes a rule of an allMatching policy, its attestor sets anyOf requirements.
// (Namespaced)ImageValidatingPolicy objects: one rule each, below.
import * as z from "../../schema";
import { compilePattern, PatternSyntaxError } from "../pattern";
import { wildcardMatch } from "../dialect-pattern";
import { PolicyValidationError, type Mode, type ModeOverride, type Policy, type PolicyIssue, type Requirement, type Rule, type RuleCondition } from "../model";
import type { RequirementKinds } from "../requirement-kinds";
import { distinctWarnings } from "../review";
import { at, checkRequirement, MAX_RULES, dictionary, distinctIssues, flag, list, mapping, mappingWith, nested, normalizePem, pemProblem, readShape, requiredText, text, typeName, type Issues } from "./shared";
import { collectObjects, keyReferenceProblem, patternBudgetProblem, KYVERNO_EXTENSIONS, PUBLIC_REKOR, splitPems, wildcardIdentity, type Located } from "./k8s-objects";
import { looseTrustRoot } from "./sigstore-root";

const API_VERSIONS = ["kyverno.io/v1", "kyverno.io/v2beta1", "kyverno.io/v2"];
const KINDS = ["ClusterPolicy", "Policy", "ImageValidatingPolicy", "NamespacedImageValidatingPolicy"];
const KINDS_IN_WORDS = `${KINDS.slice(0, -1).join(", ")} or ${KINDS.at(-1)}`;
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
  /** The warnings that say why a rule or policy was left out: they explain an import with nothing left. */
  readonly leftOut: PolicyIssue[];
}

function leaveOut(ctx: Ctx, why: PolicyIssue): void {
  ctx.warnings.push(why);
  ctx.leftOut.push(why);
}

export function importKyverno(document: unknown, kinds: RequirementKinds, out: PolicyIssue[] = []): Policy {
  const ctx: Ctx = { kinds, issues: [], warnings: [], leftOut: [] };
  const objects: Located[] = [];
  collectObjects(document, "", 0, objects, ctx.issues, KINDS.join(", "));
  const rules: Rule[] = [];
  const seen = new Map<string, string>();
  let policies = 0;
  for (const { obj, path } of objects) {
    if (obj.kind === "ImageValidatingPolicy" || obj.kind === "NamespacedImageValidatingPolicy") {
      policies++;
      const rule = imageValidatingPolicy(obj, obj.kind, path, seen, ctx);
      if (rule) rules.push(rule);
      continue;
    }
    if (obj.kind !== "ClusterPolicy" && obj.kind !== "Policy") {
      ctx.issues.push({ path: at(path, "kind"), message: `expected ${KINDS_IN_WORDS}, got ${typeof obj.kind === "string" ? `"${obj.kind}"` : obj.kind === undefined ? "no kind" : typeName(obj.kind)}` });
      continue;
    }
    if (typeof obj.apiVersion !== "string" || !API_VERSIONS.includes(obj.apiVersion)) {
      ctx.issues.push({ path: at(path, "apiVersion"), message: `expected ${API_VERSIONS.join(", ")} for a ${obj.kind}, got ${typeof obj.apiVersion === "string" ? `"${obj.apiVersion}"` : typeName(obj.apiVersion)}` });
    }
    policies++;
    const meta = readShape(metadataShape, obj.metadata ?? {}, at(path, "metadata"), ctx.issues)?.data;
    const name = meta?.name ?? "";
    if (name === "") ctx.issues.push({ path: at(at(path, "metadata"), "name"), message: "required" });
    const namespace = obj.kind === "Policy" ? policyNamespace(obj.kind, meta?.namespace, path, ctx.issues) : undefined;
    const id = `${obj.kind}/${namespace ?? ""}/${name}`;
    if (seen.has(id)) ctx.issues.push({ path: at(path, "metadata"), message: `${obj.kind} ${name} is also defined at ${seen.get(id) || "the top"}` });
    seen.set(id, path);
    const label = namespace ? `${namespace}/${name}` : name;
    rules.push(...importPolicy(obj, path, label, namespace, autogenKinds(meta?.annotations ?? undefined), ctx));
  }
  if (policies === 0 && ctx.issues.length === 0) ctx.issues.push({ path: "", message: `no ${KINDS_IN_WORDS} in the document` });
  if (rules.length === 0 && ctx.issues.length === 0) {
    ctx.issues.push({ path: "", message: "no verifyImages rule or image validating policy that can apply: nothing to import" }, ...distinctWarnings(ctx.leftOut));
  }
  if (rules.length > MAX_RULES) ctx.issues.push({ path: "", message: `${rules.length} rules: at most ${MAX_RULES}` });
  const budget = patternBudgetProblem(rules);
  if (budget) ctx.issues.push({ path: "", message: budget });
  if (ctx.issues.length > 0) throw new PolicyValidationError(distinctIssues(ctx.issues));
  out.push(...distinctWarnings(ctx.warnings));
  // Every rule carries its own mode; an image no rule matches is not checked (Kyverno).
  return { mode: "enforce", patternStyle: "kyverno", ruleSelection: "allMatching", noMatch: "allow", rules };
}

/**
 * A namespaced policy's metadata.namespace: required, and a namespace name as Kubernetes validates
 * it (a DNS-1123 label, apimachinery ValidateNamespaceName), so it matches that namespace only.
 */
function policyNamespace(kind: string, value: string | null | undefined, path: string, issues: Issues): string | undefined {
  const p = at(at(path, "metadata"), "namespace");
  if (!value) {
    issues.push({ path: p, message: `a ${kind} applies in its namespace: give metadata.namespace` });
    return undefined;
  }
  if (value.length > 63 || !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(value)) {
    issues.push({ path: p, message: `expected a namespace name (lowercase letters, digits and '-', at most 63 characters), got ${JSON.stringify(value.slice(0, 80))}` });
    return undefined;
  }
  return value;
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
      leaveOut(ctx, { path: rulePath, message: `rule ${rule.name ?? i} has no verifyImages: trustgate checks image signatures only, and ignores it` });
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
        leaveOut(ctx, { path: at(rulePath, "match"), message: `none of the rule's namespaces is ${namespace}, the Policy's own: it never applies` });
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

// ---------------------------------------------------------------------------------------------
// ImageValidatingPolicy (policies.kyverno.io, Kyverno 1.14+): attestors named in the spec, checked
// by CEL validations. Only the validations that say "every image is signed by these attestors"
// are read; anything else a CEL expression could say is refused, never guessed at.

const IVP_API_VERSIONS = ["policies.kyverno.io/v1alpha1", "policies.kyverno.io/v1beta1", "policies.kyverno.io/v1"];
/**
 * NamespacedImageValidatingPolicy: the same spec, in its own namespace (kyverno/api
 * api/policies.kyverno.io/v1beta1 and v1 imagevalidating_policy.go; v1alpha1 has no such kind, and
 * Kyverno's CRD serves v1beta1 and v1 only). Kyverno scopes it twice: its webhook's namespaceSelector
 * is pinned to kubernetes.io/metadata.name In [<namespace>] whatever matchConstraints says
 * (pkg/controllers/webhook/validating.go resolveNamespaceSelector), and the /nivpol handlers evaluate
 * only the policies of the request's namespace (pkg/webhooks/resource/ivpol/handler.go
 * ValidateNamespaced, predicate NamespacedPolicy in pkg/cel/policies/ivpol/engine/predicate.go).
 * The engine then still matches spec.matchConstraints, namespaceSelector included
 * (pkg/cel/policies/ivpol/engine/engine.go matchPolicy, pkg/cel/matching/matcher.go Match): the
 * policy applies where both hold, so a selector that leaves out its own namespace never applies.
 */
const NIVP_API_VERSIONS = ["policies.kyverno.io/v1beta1", "policies.kyverno.io/v1"];
/** The container lists Kyverno extracts from a workload (images.<field>). */
const IVP_IMAGE_FIELDS = ["containers", "initContainers", "ephemeralContainers"];
/** Kubernetes resources (matchConstraints.resourceRules[].resources) as the kinds a decision's context names. */
const RESOURCE_KINDS: Readonly<Record<string, string>> = {
  pods: "Pod",
  deployments: "Deployment",
  daemonsets: "DaemonSet",
  statefulsets: "StatefulSet",
  replicasets: "ReplicaSet",
  replicationcontrollers: "ReplicationController",
  jobs: "Job",
  cronjobs: "CronJob",
};
const NAMESPACE_NAME_LABEL = "kubernetes.io/metadata.name";
const MAX_EXPRESSION = 4096;

const ivpSpecShape = mapping({
  matchConstraints: nested(),
  matchImageReferences: list(),
  attestors: list(),
  validations: list(),
  validationActions: list(),
  validationConfigurations: nested(),
  credentials: nested(),
  // Admission plumbing with no bearing on a decision (trustgate fails closed whatever failurePolicy says).
  failurePolicy: text(),
  webhookConfiguration: nested(),
  evaluation: nested(),
  autogen: nested(),
  auditAnnotations: list(),
  matchConditions: refused("matchConditions (CEL) are not evaluated by trustgate: narrow the policy with matchConstraints (resources, namespaceSelector on kubernetes.io/metadata.name) or keep it in Kyverno"),
  variables: refused("variables (CEL) are not evaluated by trustgate: write the validations in the canonical form images.containers.map(image, verifyImageSignatures(image, [attestors.<name>])).all(e, e > 0)"),
  attestations: refused("attestations are not supported yet: trustgate verifies image signatures (verifyImageSignatures) only"),
  images: refused("images (CEL image extractors) are not supported: trustgate decides the images a workload's containers name"),
});
const ivpEvaluationShape = mapping({ mode: text(), admission: nested(), background: nested() });
const ivpConfigShape = mapping({ mutateDigest: flag(), verifyDigest: flag(), required: flag() });
const ivpCredentialsShape = mapping({
  providers: list(),
  allowInsecureRegistry: refused("allowInsecureRegistry: trustgate talks to registries over HTTPS only"),
  secrets: refused("secrets: give registry credentials to trustgate (REGISTRY_CREDENTIALS), not in the policy"),
});
const imageReferenceShape = mapping({
  glob: text(),
  expression: refused("CEL image matching is not supported: write a glob"),
  cel: refused("CEL image matching is not supported: write a glob"),
});
const ivpAttestorShape = mapping({
  name: requiredText(),
  cosign: nested(),
  notary: refused("notary attestors (Notary v2 / notation) are not supported: trustgate verifies cosign signatures here"),
});
const ivpCosignShape = mapping({
  key: nested(),
  keyless: nested(),
  ctlog: nested(),
  source: nested(),
  certificate: refused("certificate attestors are not supported: verify with key.data or keyless"),
  tuf: refused("tuf (a Sigstore TUF root of your own) is not supported: give keyless.roots with ctlog.rekorPubKey and ctlog.ctLogPubKey, or use the public-good Sigstore"),
  annotations: refused("annotations (required signature payload annotations) are not supported yet"),
});
const ivpKeyShape = mapping({
  data: text(),
  hashAlgorithm: text(),
  kms: refused("kms keys are references trustgate cannot follow: give the PEM public key in data (cosign public-key --key <kms-uri> prints it)"),
  expression: refused("a key from a CEL expression cannot be read by trustgate: give the PEM public key in data"),
});
const ivpKeylessShape = mapping({ identities: list(), roots: text() });
const ivpIdentityShape = mapping({ issuer: text(), subject: text(), issuerRegExp: text(), subjectRegExp: text() });
const ivpCtlogShape = mapping({ url: text(), rekorPubKey: text(), ctLogPubKey: text(), tsaCertChain: text(), insecureIgnoreTlog: flag(), insecureIgnoreSCT: flag() });
const ivpSourceShape = mapping({
  repository: text(),
  tagPrefix: refused("tagPrefix: trustgate reads cosign's default signature tags"),
  PullSecrets: refused("PullSecrets: give registry credentials to trustgate (REGISTRY_CREDENTIALS), not in the policy"),
});
const validationShape = mapping({ expression: requiredText(), message: text(), messageExpression: text(), reason: text() });
const matchResourcesShape = mapping({
  resourceRules: list(),
  namespaceSelector: nested(),
  matchPolicy: text(),
  objectSelector: nested(),
  excludeResourceRules: refused("excludeResourceRules: trustgate cannot exclude by resource here; list the resources to check in resourceRules"),
});
const resourceRuleShape = mapping({
  apiGroups: list(),
  apiVersions: list(),
  operations: list(),
  resources: list(),
  scope: text(),
  resourceNames: list(),
});
const labelSelectorShape = mapping({ matchLabels: dictionary(), matchExpressions: list() });
const labelExpressionShape = mapping({ key: requiredText(), operator: requiredText(), values: list() });

const IVP_TRUST: TrustFields = {
  roots: "keyless.roots",
  rekor: "ctlog",
  rekorUrl: "ctlog.url",
  rekorKey: "ctlog.rekorPubKey",
  ignoreTlog: "ctlog.insecureIgnoreTlog",
  ctlog: "ctlog",
  ctKey: "ctlog.ctLogPubKey",
  ignoreSCT: "ctlog.insecureIgnoreSCT",
  tsa: "ctlog.tsaCertChain",
};

function imageValidatingPolicy(obj: Record<string, unknown>, kind: "ImageValidatingPolicy" | "NamespacedImageValidatingPolicy", path: string, seen: Map<string, string>, ctx: Ctx): Rule | undefined {
  const namespaced = kind === "NamespacedImageValidatingPolicy";
  const versions = namespaced ? NIVP_API_VERSIONS : IVP_API_VERSIONS;
  if (typeof obj.apiVersion !== "string" || !versions.includes(obj.apiVersion)) {
    ctx.issues.push({ path: at(path, "apiVersion"), message: `expected ${versions.join(", ")} for ${namespaced ? "a" : "an"} ${kind}, got ${typeof obj.apiVersion === "string" ? `"${obj.apiVersion}"` : typeName(obj.apiVersion)}` });
  }
  const meta = readShape(metadataShape, obj.metadata ?? {}, at(path, "metadata"), ctx.issues)?.data;
  const name = meta?.name ?? "";
  if (name === "") ctx.issues.push({ path: at(at(path, "metadata"), "name"), message: "required" });
  const namespace = namespaced ? policyNamespace(kind, meta?.namespace, path, ctx.issues) : undefined;
  // As Kubernetes keys them: a namespaced policy by namespace and name, a cluster one by name.
  const id = `${kind}/${namespace ?? ""}/${name}`;
  const label = namespace ? `${namespace}/${name}` : name;
  if (seen.has(id)) ctx.issues.push({ path: at(path, "metadata"), message: `${kind} ${label} is also defined at ${seen.get(id) || "the top"}` });
  seen.set(id, path);
  return importImageValidatingPolicy(obj, path, label, namespace, ctx);
}

/**
 * One (Namespaced)ImageValidatingPolicy as one rule: its globs select images, its validations are
 * the requirements; a namespaced one applies in its own namespace only (NIVP_API_VERSIONS).
 */
function importImageValidatingPolicy(obj: Record<string, unknown>, path: string, name: string, namespace: string | undefined, ctx: Ctx): Rule | undefined {
  const specPath = at(path, "spec");
  const spec = readShape(ivpSpecShape, obj.spec, specPath, ctx.issues)?.data;
  if (!spec) return undefined;
  const evaluation = spec.evaluation === undefined || spec.evaluation === null ? undefined : readShape(ivpEvaluationShape, spec.evaluation, at(specPath, "evaluation"), ctx.issues)?.data;
  if (evaluation?.mode && evaluation.mode !== "Kubernetes") {
    ctx.issues.push({ path: at(at(specPath, "evaluation"), "mode"), message: `evaluation mode ${evaluation.mode} is not supported: trustgate decides on the images of Kubernetes workloads (mode Kubernetes)` });
  }
  if (spec.credentials !== undefined && spec.credentials !== null) {
    const c = readShape(ivpCredentialsShape, spec.credentials, at(specPath, "credentials"), ctx.issues)?.data;
    if (c?.providers && c.providers.length > 0) ctx.warnings.push({ path: at(at(specPath, "credentials"), "providers"), message: "credentials.providers is not used: trustgate authenticates with its own REGISTRY_CREDENTIALS" });
  }
  if (spec.auditAnnotations && spec.auditAnnotations.length > 0) ctx.warnings.push({ path: at(specPath, "auditAnnotations"), message: "auditAnnotations are not produced: a trustgate decision carries its own reasons" });

  const patterns = ivpPatterns(spec.matchImageReferences, at(specPath, "matchImageReferences"), ctx.issues);
  const attestors = ivpAttestors(spec.attestors, at(specPath, "attestors"), ctx);
  const require = ivpValidations(spec.validations, at(specPath, "validations"), attestors, ctx);
  const config = spec.validationConfigurations === undefined || spec.validationConfigurations === null ? undefined : readShape(ivpConfigShape, spec.validationConfigurations, at(specPath, "validationConfigurations"), ctx.issues)?.data;
  // As verifyImages: with mutateDigest (default) Kyverno pins the tag to its digest before verifyDigest looks.
  if ((config?.verifyDigest ?? true) && config?.mutateDigest === false) require.push({ type: "digestPinned", message: "missing digest for {image}" });
  const constraintsPath = at(specPath, "matchConstraints");
  let when = matchConstraints(spec.matchConstraints, constraintsPath, ctx.issues);
  const mode = validationActions(spec.validationActions, at(specPath, "validationActions"), ctx.issues);
  if (patterns.length === 0 || require.length === 0) return undefined;
  if (namespace !== undefined) {
    // Its own namespace, intersected with what namespaceSelector selects (names compared exactly, as labels are).
    if ((when?.namespaces && !when.namespaces.includes(namespace)) || when?.excludeNamespaces?.includes(namespace)) {
      leaveOut(ctx, {
        path: at(constraintsPath, "namespaceSelector"),
        message: `matchConstraints.namespaceSelector does not select ${namespace}, the policy's own namespace: Kyverno never applies ${name}, so it is left out`,
      });
      return undefined;
    }
    const { excludeNamespaces: _others, ...rest } = when ?? {};
    when = { ...rest, namespaces: [namespace] };
  }
  return {
    name,
    pattern: patterns[0]!,
    ...(patterns.length > 1 ? { patterns: patterns.slice(1) } : {}),
    ...(when ? { when } : {}),
    mode,
    require,
  };
}

/** Kyverno compiles each glob with gobwas/glob and no separators: '*' crosses '/', '?' is one character. */
function ivpPatterns(raw: unknown[] | null | undefined, path: string, issues: Issues): string[] {
  if (raw === undefined || raw === null || raw.length === 0) {
    issues.push({ path, message: "required: the globs of the images this policy checks (write - glob: '*' for every image)" });
    return [];
  }
  const out: string[] = [];
  raw.forEach((entry, i) => {
    const p = at(path, i);
    const r = readShape(imageReferenceShape, entry, p, issues)?.data;
    if (!r) return;
    if (!r.glob) {
      if (r.expression === undefined && r.cel === undefined) issues.push({ path: at(p, "glob"), message: "required" });
      return;
    }
    if (/[[\]{}\\]/.test(r.glob)) {
      issues.push({ path: at(p, "glob"), message: "character classes, {alternatives} and escapes are not supported in trustgate's Kyverno globs: write '*' and '?' wildcards (one entry per alternative)" });
      return;
    }
    out.push(...patternList([r.glob], at(p, "glob"), issues));
  });
  return out;
}

interface IvpAttestor {
  readonly requirement: Requirement;
  readonly path: string;
}

/** The attestors that translate, by name; `defined` also holds those refused (their issue is reported already). */
function ivpAttestors(raw: unknown[] | null | undefined, path: string, ctx: Ctx): { usable: Map<string, IvpAttestor>; defined: Set<string> } {
  const out = new Map<string, IvpAttestor>();
  const defined = new Set<string>();
  (raw ?? []).forEach((entry, i) => {
    const p = at(path, i);
    const a = readShape(ivpAttestorShape, entry, p, ctx.issues)?.data;
    if (!a?.name) return;
    if (defined.has(a.name)) {
      ctx.issues.push({ path: at(p, "name"), message: `attestor ${a.name} is defined twice` });
      return;
    }
    defined.add(a.name);
    if (a.cosign === undefined || a.cosign === null) {
      if (a.notary === undefined) ctx.issues.push({ path: at(p, "cosign"), message: "required: trustgate verifies cosign attestors" });
      return;
    }
    const requirement = ivpCosign(a.cosign, at(p, "cosign"), a.name, ctx);
    if (requirement) out.set(a.name, { requirement, path: at(p, "cosign") });
  });
  return { usable: out, defined };
}

function ivpCosign(raw: unknown, path: string, name: string, ctx: Ctx): Requirement | undefined {
  const c = readShape(ivpCosignShape, raw, path, ctx.issues)?.data;
  if (!c) return undefined;
  const before = ctx.issues.length;
  const ctlog = c.ctlog === undefined || c.ctlog === null ? undefined : readShape(ivpCtlogShape, c.ctlog, at(path, "ctlog"), ctx.issues)?.data;
  // Kyverno builds a Rekor client from ctlog.url whenever ctlog is given, and fails every verification without one.
  if (ctlog && !ctlog.url) ctx.issues.push({ path: at(at(path, "ctlog"), "url"), message: "required with ctlog: Kyverno fails every verification without it; write url: https://rekor.sigstore.dev (or your Rekor's URL)" });
  const source = c.source === undefined || c.source === null ? undefined : readShape(ivpSourceShape, c.source, at(path, "source"), ctx.issues)?.data;
  const repo = source?.repository ? { signatureRepository: source.repository } : {};
  const hasKey = c.key !== undefined && c.key !== null;
  const hasKeyless = c.keyless !== undefined && c.keyless !== null;
  if (hasKey === hasKeyless) {
    ctx.issues.push({ path, message: "a cosign attestor needs one of key or keyless (certificate: not supported)" });
    return undefined;
  }
  let requirement: Requirement | undefined;
  if (hasKey) {
    const k = readShape(ivpKeyShape, c.key, at(path, "key"), ctx.issues)?.data;
    if (!k) return undefined;
    const keyPath = at(path, "key");
    const algorithm = k.hashAlgorithm ?? "sha256";
    if (algorithm !== "sha256") ctx.issues.push({ path: at(keyPath, "hashAlgorithm"), message: `hashAlgorithm ${algorithm} is not supported: trustgate verifies cosign ECDSA P-256 / Ed25519 signatures over SHA-256 (cosign's default)` });
    // Kyverno looks the signature up in Rekor unless told not to; trustgate verifies keys alone.
    if (ctlog?.insecureIgnoreTlog !== true) {
      ctx.issues.push({ path: at(path, "ctlog"), message: "Kyverno verifies this key's signatures in the Rekor transparency log, which this importer does not support yet for keys: set ctlog.insecureIgnoreTlog: true to verify by key alone, or keep this policy in Kyverno" });
    }
    if (ctlog?.tsaCertChain) ctx.issues.push({ path: at(at(path, "ctlog"), "tsaCertChain"), message: "a timestamp authority of your own is not supported by this importer" });
    const data = k.data ?? "";
    const reference = keyReferenceProblem(data);
    const pems = splitPems(data);
    if (data.trim() === "") ctx.issues.push({ path: at(keyPath, "data"), message: "required: a PEM public key" });
    else if (reference) ctx.issues.push({ path: at(keyPath, "data"), message: reference });
    else if (pems.length !== 1) ctx.issues.push({ path: at(keyPath, "data"), message: pems.length === 0 ? (pemProblem(data) ?? "expected a PEM public key") : "one PEM public key per attestor: give each key its own attestor" });
    else {
      const problem = pemProblem(pems[0]!);
      if (problem) ctx.issues.push({ path: at(keyPath, "data"), message: problem });
      else requirement = { type: "cosign", keys: [{ name, key: normalizePem(pems[0]!) }], ...repo };
    }
  } else {
    const k = readShape(ivpKeylessShape, c.keyless, at(path, "keyless"), ctx.issues)?.data;
    if (!k) return undefined;
    const identities = (k.identities ?? []).map((rawIdentity, i) => ivpIdentity(rawIdentity, at(at(at(path, "keyless"), "identities"), i), ctx)).filter((x) => x !== undefined);
    if ((k.identities ?? []).length === 0) ctx.issues.push({ path: at(at(path, "keyless"), "identities"), message: "required: at least one identity (issuer and subject)" });
    const trust = sigstoreTrust(
      { roots: k.roots, rekorUrl: ctlog?.url, rekorKey: ctlog?.rekorPubKey, ctKey: ctlog?.ctLogPubKey, tsa: ctlog?.tsaCertChain, ignoreTlog: ctlog?.insecureIgnoreTlog, ignoreSCT: ctlog?.insecureIgnoreSCT },
      path,
      IVP_TRUST,
      ctx,
    );
    requirement = { type: "cosign", keyless: { identities, ...trust }, ...repo };
  }
  if (ctx.issues.length > before || !requirement) return undefined;
  return checkRequirement(requirement, ctx.kinds, { "": path }, ctx.issues, ctx.warnings);
}

/** Kyverno's identities match exactly (issuer, subject) or by Go regular expression (…RegExp). */
function ivpIdentity(raw: unknown, path: string, ctx: Ctx): Record<string, string> | undefined {
  const i = readShape(ivpIdentityShape, raw, path, ctx.issues)?.data;
  if (!i) return undefined;
  const identity: Record<string, string> = {};
  for (const [field, fallback] of [
    ["issuer", "a certificate from any OIDC issuer is accepted"],
    ["subject", "a certificate for any subject is accepted"],
  ] as const) {
    const exact = i[field];
    const regExp = i[`${field}RegExp`];
    if (exact && regExp) ctx.issues.push({ path: at(path, `${field}RegExp`), message: `give ${field} or ${field}RegExp, not both: trustgate matches one of them` });
    else if (exact) identity[field] = exact;
    else if (regExp) identity[`${field}RegExp`] = regExp;
    else {
      identity[`${field}RegExp`] = ".*";
      ctx.warnings.push({ path, message: `no ${field}: ${fallback}, as Kyverno accepts` });
    }
  }
  return identity;
}

const CANONICAL_FORM = "images.containers.map(image, verifyImageSignatures(image, [attestors.<name>])).all(e, e > 0)";
// After removing whitespace: images.<field>.map(v, verifyImageSignatures(v, [list])).all(e, e <op> n)
// and images.<field>.all(v, verifyImageSignatures(v, [list]) <op> n).
const MAP_FORM = /^images\.(\w+)\.map\(([A-Za-z_]\w*),verifyImageSignatures\(\2,\[((?:[^[\]]|\[[^[\]]*\])*)\]\)\)\.all\(([A-Za-z_]\w*),\4(>=|>|==)(\d{1,3})\)$/;
const ALL_FORM = /^images\.(\w+)\.all\(([A-Za-z_]\w*),verifyImageSignatures\(\2,\[((?:[^[\]]|\[[^[\]]*\])*)\]\)(>=|>|==)(\d{1,3})\)$/;
const ATTESTOR_REF = /^attestors(?:\.([A-Za-z_]\w*)|\[(?:"([^"]+)"|'([^']+)')\])$/;

/**
 * Each validation in a recognised form: every image of a container list is verified by at least
 * `n` of the named attestors (verifyImageSignatures counts the attestors that verify). Every
 * validation must hold, as in Kyverno.
 */
function ivpValidations(raw: unknown[] | null | undefined, path: string, { usable: attestors, defined }: { usable: Map<string, IvpAttestor>; defined: Set<string> }, ctx: Ctx): Requirement[] {
  if (raw === undefined || raw === null || raw.length === 0) {
    ctx.issues.push({ path, message: `required: a validation such as ${CANONICAL_FORM}` });
    return [];
  }
  const out: Requirement[] = [];
  const byField = new Map<string, Set<string>>();
  raw.forEach((entry, i) => {
    const p = at(path, i);
    const v = readShape(validationShape, entry, p, ctx.issues)?.data;
    if (!v?.expression) return;
    const exprPath = at(p, "expression");
    const compact = v.expression.length > MAX_EXPRESSION ? "" : v.expression.replace(/\s+/g, "");
    const m = MAP_FORM.exec(compact);
    const a = m ? undefined : ALL_FORM.exec(compact);
    const parts = m ? { field: m[1]!, list: m[3]!, op: m[5]!, n: Number(m[6]) } : a ? { field: a[1]!, list: a[3]!, op: a[4]!, n: Number(a[5]) } : undefined;
    if (!parts) {
      const hint = /verifyImageAttestations|payload\(|getImageData|image\(|imageData\./.test(compact) ? " (attestations and image data are not supported yet)" : "";
      ctx.issues.push({ path: exprPath, message: `this CEL expression is not one trustgate can translate${hint}: it reads validations of the form ${CANONICAL_FORM} (or .all(image, verifyImageSignatures(image, [...]) > 0)); keep other checks in Kyverno` });
      return;
    }
    if (!IVP_IMAGE_FIELDS.includes(parts.field)) {
      ctx.issues.push({ path: exprPath, message: `images.${parts.field} is not a container list trustgate knows: use ${IVP_IMAGE_FIELDS.map((f) => `images.${f}`).join(", ")}` });
      return;
    }
    const names: string[] = [];
    for (const item of parts.list.split(",")) {
      const ref = ATTESTOR_REF.exec(item);
      const name = ref ? (ref[1] ?? ref[2] ?? ref[3]) : undefined;
      if (!name) {
        ctx.issues.push({ path: exprPath, message: `expected attestors.<name> in the list, got ${JSON.stringify(item)}` });
        return;
      }
      if (names.includes(name)) {
        ctx.issues.push({ path: exprPath, message: `attestor ${name} is named twice: Kyverno would count it twice` });
        return;
      }
      names.push(name);
    }
    const unknown = names.find((n) => !attestors.has(n));
    if (unknown !== undefined) {
      // An attestor refused above has its own issue already; a missing one is Kyverno's own error.
      if (!defined.has(unknown)) ctx.issues.push({ path: exprPath, message: `attestor not found in policy: ${unknown}` });
      return;
    }
    const count = parts.op === ">" ? parts.n + 1 : parts.n;
    if (parts.op === "==" && parts.n !== names.length) {
      ctx.issues.push({ path: exprPath, message: `== ${parts.n} (exactly ${parts.n} of ${names.length} attestors) is not supported: write >= ${parts.n}` });
      return;
    }
    if (count < 1) {
      ctx.issues.push({ path: exprPath, message: "this validation holds whatever the signatures: it checks nothing; require > 0" });
      return;
    }
    if (count > names.length) {
      ctx.issues.push({ path: exprPath, message: `${count} of ${names.length} attestors can never verify: no image could pass` });
      return;
    }
    const sources: Record<string, string> = { "": exprPath };
    const of = names.map((n, k) => {
      sources[`of[${k}]`] = attestors.get(n)!.path;
      return { name: n, requirement: attestors.get(n)!.requirement };
    });
    const key = `${count}:${[...names].sort().join(",")}`;
    byField.set(parts.field, new Set([...(byField.get(parts.field) ?? []), key]));
    const message = v.message ? `${v.message.replaceAll("{", "(").replaceAll("}", ")")}: {image}: {failures}` : "failed to verify image {image}: {failures}";
    out.push(checkRequirement({ type: "anyOf", count, of, message }, ctx.kinds, sources, ctx.issues, ctx.warnings));
  });
  // trustgate cannot tell which container list an image came from: every check applies to every image.
  const sets = [...byField.values()].map((s) => [...s].sort().join("|"));
  if (new Set(sets).size > 1) {
    ctx.issues.push({ path, message: "the validations check the container lists with different attestors: trustgate cannot tell which list an image comes from; check every list against the same attestors" });
  } else if (byField.size > 0 && byField.size < IVP_IMAGE_FIELDS.length) {
    const missing = IVP_IMAGE_FIELDS.filter((f) => !byField.has(f));
    ctx.warnings.push({ path, message: `trustgate checks the images of ${missing.join(" and ")} too, which these validations leave to no check in Kyverno` });
  }
  return out;
}

/** Deny decides; Audit or Warn alone admit and report. Kyverno's default is Deny. */
function validationActions(raw: unknown[] | null | undefined, path: string, issues: Issues): Mode {
  const actions = stringList(raw, path, issues);
  actions.forEach((a, i) => {
    if (!["Deny", "Audit", "Warn"].includes(a)) issues.push({ path: at(path, i), message: `expected Deny, Audit or Warn, got "${a}"` });
  });
  return actions.length === 0 || actions.includes("Deny") ? "enforce" : "audit";
}

/** matchConstraints as far as a decision's context carries it: resources as kinds, namespaces by name. */
function matchConstraints(raw: unknown, path: string, issues: Issues): RuleCondition | undefined {
  if (raw === undefined || raw === null) return undefined;
  const m = readShape(matchResourcesShape, raw, path, issues)?.data;
  if (!m) return undefined;
  const when: { kinds?: string[]; namespaces?: string[]; excludeNamespaces?: string[] } = {};
  if (m.objectSelector !== undefined && m.objectSelector !== null && !isEmptySelector(m.objectSelector)) {
    issues.push({ path: at(path, "objectSelector"), message: "objectSelector: trustgate decides on namespace and kind only (labels are not in a decision's context)" });
  }
  let anyKind = false;
  const kinds: string[] = [];
  (m.resourceRules ?? []).forEach((entry, i) => {
    const p = at(at(path, "resourceRules"), i);
    const r = readShape(resourceRuleShape, entry, p, issues)?.data;
    if (!r) return;
    if (r.resourceNames && r.resourceNames.length > 0) issues.push({ path: at(p, "resourceNames"), message: "resourceNames: trustgate decides on namespace and kind only" });
    const operations = stringList(r.operations, at(p, "operations"), issues);
    if (r.operations !== undefined && r.operations !== null && !operations.some((o) => o === "*" || o === "CREATE" || o === "UPDATE")) {
      issues.push({ path: at(p, "operations"), message: "trustgate decides workloads as they are created or updated: give CREATE and UPDATE" });
    }
    for (const [k, resource] of stringList(r.resources, at(p, "resources"), issues).entries()) {
      if (resource === "*") anyKind = true;
      else if (RESOURCE_KINDS[resource]) kinds.push(RESOURCE_KINDS[resource]!);
      else issues.push({ path: at(at(p, "resources"), k), message: `resource ${resource} is not a workload trustgate decides (${Object.keys(RESOURCE_KINDS).join(", ")}, or *)` });
    }
  });
  // Kyverno generates the rules for Pod controllers from one on pods (autogen).
  if (!anyKind && kinds.length > 0) when.kinds = [...new Set(kinds.includes("Pod") ? [...kinds, ...POD_CONTROLLERS] : kinds)];
  if (m.namespaceSelector !== undefined && m.namespaceSelector !== null) namespaceSelector(m.namespaceSelector, at(path, "namespaceSelector"), when, issues);
  return Object.keys(when).length > 0 ? when : undefined;
}

function isEmptySelector(value: unknown): boolean {
  return typeof value === "object" && value !== null && Object.values(value).every((v) => v === null || (Array.isArray(v) ? v.length === 0 : typeof v === "object" && Object.keys(v).length === 0));
}

/** Only the namespace-name label (kubernetes.io/metadata.name) is a namespace's name; other labels are not in the context. */
function namespaceSelector(raw: unknown, path: string, when: { namespaces?: string[]; excludeNamespaces?: string[] }, issues: Issues): void {
  const s = readShape(labelSelectorShape, raw, path, issues)?.data;
  if (!s) return;
  const other = (p: string) => issues.push({ path: p, message: `only the ${NAMESPACE_NAME_LABEL} label can be decided on (a decision's context names the namespace, not its labels): select namespaces by name` });
  const include = (names: string[], p: string) => {
    if (when.namespaces) issues.push({ path: p, message: `namespaces are selected by name more than once: give one list of ${NAMESPACE_NAME_LABEL} values` });
    else when.namespaces = names;
  };
  for (const [key, value] of Object.entries(s.matchLabels ?? {})) {
    const p = at(at(path, "matchLabels"), key);
    if (key !== NAMESPACE_NAME_LABEL) other(p);
    else if (typeof value !== "string" || value === "") issues.push({ path: p, message: "expected a namespace name" });
    else include([value], p);
  }
  (s.matchExpressions ?? []).forEach((entry, i) => {
    const p = at(at(path, "matchExpressions"), i);
    const e = readShape(labelExpressionShape, entry, p, issues)?.data;
    if (!e?.key || !e.operator) return;
    if (e.key !== NAMESPACE_NAME_LABEL) {
      other(at(p, "key"));
      return;
    }
    // Namespace names hold no '*' or '?': as Kyverno wildcards they match themselves only.
    const values = stringList(e.values, at(p, "values"), issues);
    if (e.operator === "In") include(values, p);
    else if (e.operator === "NotIn") when.excludeNamespaces = [...(when.excludeNamespaces ?? []), ...values];
    else issues.push({ path: at(p, "operator"), message: `operator ${e.operator} on namespace names is not supported: use In or NotIn` });
  });
}
