// Imports Connaisseur's Helm values (the 2.x and 3.x layouts) into the normalised policy, deciding as Connaisseur would.
import * as z from "../../schema";
import { formatPath } from "../issues";
import { compilePattern, PatternSyntaxError } from "../pattern";
import { PolicyValidationError, type NamespacedValidation, type Policy, type PolicyIssue, type Requirement, type Rule } from "../model";
import { distinctWarnings, reviewRules, samePem, type LocatedRule } from "../review";
import type { RequirementKinds } from "../requirement-kinds";
import { looseTrustRoot } from "./sigstore-root";
import {
  at,
  checkRequirement,
  distinctIssues,
  flag,
  isAbsent,
  isRecord,
  list,
  mapping,
  MAX_RULES,
  nested,
  normalizePem,
  optionalBoolean,
  optionalList,
  optionalRecord,
  optionalString,
  pemProblem,
  requiredString,
  requiredText,
  text,
  trustServerUrl,
  typeName,
  type Issues,
} from "./shared";

// ---------------------------------------------------------------------------------------------
// Shapes: what each mapping of the values may hold. A mapping is parsed against its shape at once;
// the translation then takes its fields in the order the checks have always been reported in.

/** A shape for one mapping of the values (null or undefined where the mapping may be left out). */
type Shape = z.Schema<Record<string, unknown> | null | undefined>;

/** `expected <what>, got <type>` for a value of the wrong type. */
const expected = (what: string) => ({ error: (issue: { input?: unknown }) => `expected ${what}, got ${typeName(issue.input)}` });

/** A field Connaisseur 2's schema requires: `required: <why>` when absent, else the type's wording. */
function requiredField<T>(make: (params: ReturnType<typeof expected>) => T, what: string, why: string): T {
  return make({ error: (issue) => (isAbsent(issue.input) ? `required: ${why}` : `expected ${what}, got ${typeName(issue.input)}`) });
}

/** A string that must be one of `allowed` (the tool would read anything else as a default). */
const oneOf = (allowed: readonly string[], named: string) =>
  z.nullish(z.string(expected("a string")).check(z.refine((value) => allowed.includes(value), { error: (issue) => `expected ${named}, got "${String(issue.input)}"` })));

/** Name and type come first: which fields a validator may have depends on its type. */
const validatorHead = z.object({ name: requiredText(), type: requiredText() }, expected("a validator (name, type, …)"));
const notaryRootShape = mapping({ name: requiredText(), key: requiredText() }, "a trust root (name, key)");
const ruleShape = mapping({ pattern: requiredText(), validator: text(), with: nested() }, "a rule (pattern, validator, with)");
const validatorFields = { name: nested(), type: nested() };
const ruleMode = oneOf(["mutate", "insecureValidateOnly"], "mutate or insecureValidateOnly");
// The chart would read anything but "validate" as ignore: a typo must not pass unnoticed.
const namespacedMode = oneOf(["ignore", "validate"], "ignore or validate");
/** `threshold` of a cosign rule: a whole number of signatures, 1 or more. */
const threshold = z.nullish(
  z.number(expectedCount()).check(z.refine((n) => Number.isInteger(n) && n >= 1, expectedCount())),
);
function expectedCount() {
  return { error: (issue: { input?: unknown }) => `expected a whole number of signatures, 1 or more, got ${JSON.stringify(issue.input)}` };
}

/** Field names differ between the layouts; the meaning does not. */
interface Layout {
  readonly version: 2 | 3;
  readonly trustRoots: string;
  readonly authSecret: string;
  readonly validatorShapes: Record<"static" | "notaryv1" | "cosign", Shape>;
  /** Connaisseur 3's cosign `host` mapping (Rekor, Fulcio, CT log); Connaisseur 2's is a string. */
  readonly cosignHostShape?: Shape;
  readonly cosignRootShape: Shape;
  readonly authShape: Shape;
  /** Auth of a cosign validator, and which of its fields are credentials. */
  readonly cosignAuthShape: Shape;
  readonly cosignCredentials: readonly string[];
  readonly withShape: Shape;
  /** The `with` fields only a cosign rule reads. */
  readonly cosignWithShape: Shape;
  readonly namespacedShape: Shape;
  /** The rule option that turns Rekor verification on or off. */
  readonly tlogKey: string;
  /** `with` keys naming the trust root, first the canonical one. */
  readonly trustRootRefs: readonly string[];
  missingRoot(root: string, validator: string): string;
  missingCosignRoot(root: string, validator: string): string;
}

const V2: Layout = {
  version: 2,
  trustRoots: "trust_roots",
  authSecret: "secret_name",
  validatorShapes: {
    static: mapping({ ...validatorFields, approve: requiredField(z.boolean, "true or false", "true (allow every image) or false (deny every image)") }),
    notaryv1: mapping({
      ...validatorFields,
      host: requiredField(z.string, "a string", "the Notary server, e.g. notary.docker.io"),
      trust_roots: nested(),
      cert: text(),
      auth: nested(),
      // is_acr only changes how Connaisseur reads the token response and skips a health check.
      is_acr: flag(),
    }),
    // connaisseur/validators/cosign/cosign_validator.py: host is the Rekor URL.
    cosign: mapping({ ...validatorFields, host: text(), trust_roots: nested(), cert: text(), auth: nested() }),
  },
  cosignRootShape: notaryRootShape,
  authShape: z.nullish(mapping({ username: text(), password: text(), secret_name: nested() })),
  cosignAuthShape: z.nullish(mapping({ secret_name: nested(), k8s_keychain: flag() })),
  cosignCredentials: ["secret_name"],
  withShape: z.nullish(
    mapping({ trust_root: text(), delegations: list(), threshold: nested(), required: nested(), mode: ruleMode, verify_in_transparency_log: nested() }),
  ),
  cosignWithShape: z.object({ threshold, required: list(), verify_in_transparency_log: flag() }),
  namespacedShape: z.nullish(mapping({ mode: namespacedMode, enabled: flag() })),
  tlogKey: "verify_in_transparency_log",
  trustRootRefs: ["trust_root"],
  // connaisseur/validators/notaryv1/notary.py get_key()
  missingRoot: (root, validator) => `Trust root "${root}" not configured for validator "${validator}".`,
  // CosignValidator.__get_pinned_trust_roots
  missingCosignRoot: (root, validator) => `Trust roots "${root}" not configured for validator "${validator}".`,
};

const V3: Layout = {
  version: 3,
  trustRoots: "trustRoots",
  authSecret: "secretName",
  validatorShapes: {
    static: mapping({ ...validatorFields, approve: flag() }),
    notaryv1: mapping({ ...validatorFields, host: text(), trustRoots: nested(), cert: text(), auth: nested(), isAcr: flag() }),
    // internal/validator/cosign CosignValidatorYaml: host holds rekor, rekorPubkey, fulcioCert, ctLogPubkey.
    cosign: mapping({ ...validatorFields, host: nested(), trustRoots: nested(), cert: text(), auth: nested() }),
  },
  cosignHostShape: z.nullish(mapping({ rekor: text(), rekorPubkey: text(), fulcioCert: text(), ctLogPubkey: text() })),
  cosignRootShape: mapping({ name: requiredText(), key: text(), keyless: nested() }, "a trust root (name, key or keyless)"),
  // registry only tells Connaisseur which host the credentials are for; for notaryv1 that is the host.
  authShape: z.nullish(mapping({ username: text(), password: text(), registry: text(), secretName: nested(), useKeychain: flag() })),
  cosignAuthShape: z.nullish(mapping({ username: nested(), password: nested(), registry: text(), secretName: nested(), useKeychain: flag() })),
  cosignCredentials: ["secretName", "username", "password"],
  // internal/policy/rule.go reads trustRoot; the notaryv1 documentation's example writes key.
  withShape: z.nullish(
    mapping({
      trustRoot: text(),
      key: text(),
      delegations: list(),
      threshold: nested(),
      required: nested(),
      mode: ruleMode,
      verifyInTransparencyLog: nested(),
      verifySCT: nested(),
    }),
  ),
  cosignWithShape: z.object({ threshold, required: list(), verifyInTransparencyLog: flag(), verifySCT: flag() }),
  namespacedShape: z.nullish(mapping({ mode: namespacedMode })),
  tlogKey: "verifyInTransparencyLog",
  trustRootRefs: ["trustRoot", "key"],
  // internal/validator/notaryv1 trustRootKeys() and auth.GetTrustRoots()
  missingRoot: (root, validator) =>
    `error getting trust root keys for validator ${validator}: error getting keys for validator ${validator}: unable to find trust root ${root}`,
  // internal/validator/cosign ValidateImage → verifiers() → auth.GetTrustRoots()
  missingCosignRoot: (root, validator) =>
    `error getting verifiers: error getting trust roots for validator ${validator}: unable to find trust root ${root}`,
};

/** Hints at the other layout's spelling of a trust root field (trust_roots, trustRoot, …) where `own` is meant. */
function misspelt(layout: Layout, own: string): (key: string) => string | undefined {
  const other = layout.version === 2 ? own.replace("_r", "R") : own.replace("R", "_r");
  return (key) => (key === other ? `Connaisseur ${layout.version} calls it ${own}` : undefined);
}

/** One mapping as parsed against its shape; each field's problems are reported when it is taken. */
interface Fields {
  readonly raw: Record<string, unknown>;
  /** Reports the fields the shape does not have. */
  unknown(): void;
  known(key: string): boolean;
  /** The field as its shape reads it (T: the shape's type): undefined when absent, unknown, or wrong (reported now). */
  take<T = unknown>(key: string): T | undefined;
}

/**
 * Parses one mapping of the values against its shape. Undefined when raw is absent (where the shape
 * allows it) or not a mapping (reported). `hint` adds to the message of an unknown field.
 */
function parse(shape: Shape, raw: unknown, path: string, issues: Issues, hint?: (key: string) => string | undefined): Fields | undefined {
  const parsed = shape.safeParse(raw);
  const found = parsed.success ? [] : parsed.error.issues;
  if (!isRecord(raw)) {
    for (const issue of found) issues.push({ path: at(path, formatPath(issue.path)), message: issue.message });
    return undefined;
  }
  const unknown: Issues = [];
  const unknownKeys = new Set<string>();
  const pending = new Map<string, Issues>();
  for (const issue of found) {
    if (issue.code === "unrecognized_keys") {
      for (const key of issue.keys) {
        unknownKeys.add(key);
        const extra = hint?.(key);
        unknown.push({ path: at(path, key), message: `unknown field${extra ? `: ${extra}` : ""}` });
      }
      continue;
    }
    const key = String(issue.path[0]);
    pending.set(key, [...(pending.get(key) ?? []), { path: at(path, formatPath(issue.path)), message: issue.message }]);
  }
  const take = <T>(key: string): T | undefined => {
    const problems = pending.get(key);
    pending.delete(key);
    if (problems) issues.push(...problems);
    return problems || unknownKeys.has(key) || isAbsent(raw[key]) ? undefined : (raw[key] as T);
  };
  return {
    raw,
    unknown: () => issues.push(...unknown.splice(0)),
    known: (key) => !unknownKeys.has(key),
    take,
  };
}

const UNSUPPORTED_TYPES = ["notaryv2", "notation"];
const DEFAULT_NOTARY_HOST = "notary.docker.io";

interface TrustRoot {
  readonly name: string;
  /** The PEM key; "" for a keyless trust root. */
  readonly key: string;
  readonly keyPath: string;
  /** Connaisseur 3 cosign: a keyless trust root's identity (issuer/subject, exact or regular expressions). */
  readonly keyless?: KeylessRoot;
}

interface KeylessRoot {
  readonly issuer?: string;
  readonly issuerRegex?: string;
  readonly subject?: string;
  readonly subjectRegex?: string;
}

/** internal/validator/auth/trust_root.go Keyless: issuer or issuerRegex, subject or subjectRegex. */
const keylessRootShape = mapping({ issuer: text(), issuerRegex: text(), subject: text(), subjectRegex: text() }, "a keyless identity (issuer or issuerRegex, subject or subjectRegex)");

/** A validator's host: Connaisseur 3 names a private Sigstore's keys there. */
interface SigstoreHost {
  readonly rekor?: string;
  readonly rekorPubkey?: string;
  readonly fulcioCert?: string;
  readonly ctLogPubkey?: string;
  readonly path: string;
}

type Validator =
  | { readonly kind: "static"; readonly name: string; readonly approve: boolean }
  | {
      readonly kind: "notaryv1";
      readonly name: string;
      readonly path: string;
      readonly server: string;
      readonly serverPath: string;
      readonly roots: readonly TrustRoot[];
      readonly auth?: { readonly username: string; readonly password: string };
      readonly authPath: string;
    }
  | {
      readonly kind: "cosign";
      readonly name: string;
      readonly roots: readonly TrustRoot[];
      readonly rootsPath: string;
      /** Connaisseur 2 checks Rekor when host (the Rekor URL) is set. */
      readonly rekorHostPath?: string;
      /** Connaisseur 3: the host's Sigstore settings, for keyless trust roots. */
      readonly sigstore?: SigstoreHost;
    }
  /** Reported already; rules using it get no requirement of their own. */
  | { readonly kind: "unusable"; readonly name: string };

export function importConnaisseur(document: unknown, kinds: RequirementKinds, out: PolicyIssue[] = []): Policy {
  const warnings: PolicyIssue[] = [];
  const issues: Issues = [];
  const located = locate(document, issues);
  if (!located) throw new PolicyValidationError(issues);
  const { layout, values, path, detectionMode, detectionModePath } = located;

  const validatorsPath = at(path, "validators");
  const validators = readValidators(values.validators, layout, validatorsPath, issues, warnings);
  const placed = readRules(values.policy, layout, validators, at(path, "policy"), kinds, issues, warnings);
  const rules = placed.map((p) => p.rule);
  const detection = optionalBoolean(detectionMode, detectionModePath, issues);
  // Which namespaces are validated at all: /v1/admission reads it from the policy.
  const namespaced = readNamespacedValidation(located.namespacedValidation, layout, located.namespacedValidationPath, issues);

  if (issues.length > 0) throw new PolicyValidationError(distinctIssues(issues));
  warnings.push(...reviewRules(placed, "connaisseur"));
  out.push(...distinctWarnings(warnings));
  return {
    mode: detection ? "audit" : "enforce",
    patternStyle: "connaisseur",
    rules,
    ...(namespaced ? { namespacedValidation: namespaced } : {}),
  };
}

/**
 * namespacedValidation as Connaisseur's chart turns it into the webhook's namespaceSelector
 * (label securesystemsengineering.connaisseur/webhook NotIn [ignore], or In [validate]):
 * - Connaisseur 2: `namespacedValidation: { enabled, mode }`, off unless enabled, mode ignore by default;
 * - Connaisseur 3: `application.features.namespacedValidation: { mode }`, on whenever the mapping is
 *   not empty (the chart's `if .namespacedValidation`), mode ignore unless it is validate.
 */
function readNamespacedValidation(
  raw: unknown,
  layout: Layout,
  path: string,
  issues: Issues,
): NamespacedValidation | undefined {
  const values = parse(layout.namespacedShape, raw, path, issues, (key) =>
    key === "enabled" && layout.version === 3
      ? "Connaisseur 3 has no enabled switch: the namespacedValidation mapping turns the feature on; remove the mapping to validate every namespace"
      : undefined,
  );
  if (!values) return undefined;
  const mode = values.take<string>("mode") === "validate" ? "validate" : "ignore";
  values.unknown();
  if (layout.version === 2) return values.take<boolean>("enabled") ? { mode } : undefined;
  return Object.keys(values.raw).length === 0 ? undefined : { mode };
}

interface Located {
  readonly layout: Layout;
  readonly values: Record<string, unknown>;
  readonly path: string;
  readonly detectionMode: unknown;
  readonly detectionModePath: string;
  readonly namespacedValidation: unknown;
  readonly namespacedValidationPath: string;
}

function locate(document: unknown, issues: Issues): Located | undefined {
  const expected =
    "expected Connaisseur's Helm values: `validators` and `policy` (Connaisseur 2) or " +
    "`application.validators` and `application.policy` (Connaisseur 3)";
  if (!isRecord(document)) {
    issues.push({ path: "", message: `${expected}, got ${typeName(document)}` });
    return undefined;
  }
  let root = document;
  let path = "";
  // Values for Connaisseur as a dependency of an umbrella chart sit under the chart's name.
  const wrapped = document.connaisseur;
  if (isRecord(wrapped) && !("validators" in document) && !("policy" in document) && !("application" in document)) {
    root = wrapped;
    path = "connaisseur";
  }

  const app = root.application;
  if (isRecord(app) && ("validators" in app || "policy" in app)) {
    for (const key of ["validators", "policy"]) {
      if (key in root) {
        issues.push({
          path: at(path, key),
          message: `Connaisseur 3 reads application.${key} and ignores this one: remove it, or move it there`,
        });
      }
    }
    const appPath = at(path, "application");
    const features = optionalRecord(app.features, at(appPath, "features"), issues);
    return {
      layout: V3,
      values: app,
      path: appPath,
      detectionMode: features?.detectionMode,
      detectionModePath: at(at(appPath, "features"), "detectionMode"),
      namespacedValidation: features?.namespacedValidation,
      namespacedValidationPath: at(at(appPath, "features"), "namespacedValidation"),
    };
  }
  if ("validators" in root || "policy" in root) {
    return {
      layout: V2,
      values: root,
      path,
      detectionMode: root.detectionMode,
      detectionModePath: at(path, "detectionMode"),
      namespacedValidation: root.namespacedValidation,
      namespacedValidationPath: at(path, "namespacedValidation"),
    };
  }
  if ("notaries" in root) {
    issues.push({
      path: at(path, "notaries"),
      message: "this is the `notaries` layout of early Connaisseur releases; write `validators` and `policy` as Connaisseur 2.1 and later do",
    });
    return undefined;
  }
  issues.push({ path, message: expected });
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Validators

function readValidators(raw: unknown, layout: Layout, path: string, issues: Issues, warnings: Issues): Map<string, Validator> | undefined {
  const list = optionalList(raw, path, issues);
  if (list === undefined || list.length === 0) {
    if (isAbsent(raw) || list?.length === 0) issues.push({ path, message: "at least one validator is required" });
    return undefined;
  }
  const byName = new Map<string, Validator>();
  list.forEach((entry, i) => {
    const vPath = at(path, i);
    const head = parse(validatorHead, entry, vPath, issues);
    if (!head) return;
    const name = head.take<string>("name");
    const validator = readValidator(head, name ?? "", layout, vPath, issues, warnings);
    if (name === undefined) return;
    if (byName.has(name)) {
      // Connaisseur would silently take the first; two validators of one name is a mistake to fix.
      issues.push({ path: at(vPath, "name"), message: `validator "${name}" is defined twice` });
      return;
    }
    byName.set(name, validator);
  });
  return byName;
}

function readValidator(head: Fields, name: string, layout: Layout, path: string, issues: Issues, warnings: Issues): Validator {
  const type = head.take<string>("type");
  if (type === undefined) return { kind: "unusable", name };
  if (type === "static") {
    const entry = parse(layout.validatorShapes.static, head.raw, path, issues);
    entry?.unknown();
    // Connaisseur 2's schema requires approve; Connaisseur 3 reads a missing one as false.
    return { kind: "static", name, approve: entry?.take<boolean>("approve") ?? false };
  }
  if (type === "notaryv1" || type === "cosign") {
    // Both keep their keys under trust roots, whose other layout's spelling is named if used.
    const entry = parse(layout.validatorShapes[type], head.raw, path, issues, misspelt(layout, layout.trustRoots));
    if (!entry) return { kind: "unusable", name };
    entry.unknown();
    return type === "notaryv1" ? readNotaryV1(entry, name, layout, path, issues, warnings) : readCosign(entry, name, layout, path, issues, warnings);
  }
  if (UNSUPPORTED_TYPES.includes(type)) {
    issues.push({ path: at(path, "type"), message: `validator type ${type} is not supported yet` });
  } else {
    issues.push({
      path: at(path, "type"),
      message: `unknown validator type "${type}"; Connaisseur knows static, notaryv1, cosign and notaryv2, and trustgate imports static, notaryv1 and cosign`,
    });
  }
  return { kind: "unusable", name };
}

function readNotaryV1(entry: Fields, name: string, layout: Layout, path: string, issues: Issues, warnings: Issues): Validator {
  // Connaisseur 3 falls back to Docker Hub's Notary; Connaisseur 2's schema requires the host.
  const host = entry.take<string>("host") || undefined;
  const server = trustServerUrl(host ?? DEFAULT_NOTARY_HOST);

  const { roots } = readValidatorRoots(entry, "notaryv1", notaryRootShape, pemProblem, layout, path, issues, warnings);

  refuseCustomCa(entry, path, "a trust server", "the Notary", issues);

  const authPath = at(path, "auth");
  const auth = readAuth(entry.take("auth"), layout, authPath, issues);
  entry.take(layout.version === 2 ? "is_acr" : "isAcr");

  return {
    kind: "notaryv1",
    name,
    path,
    server,
    serverPath: host !== undefined ? at(path, "host") : path,
    roots,
    ...(auth ? { auth } : {}),
    authPath,
  };
}

/**
 * A notaryv1 or cosign validator's trust roots, under the layout's name for them. Connaisseur 3
 * refuses to start without any ("no trust roots provided for validator %s"); Connaisseur 2 starts
 * (a notaryv1 validator then denies each image at its rule).
 */
function readValidatorRoots(
  entry: Fields,
  type: "notaryv1" | "cosign",
  shape: Shape,
  keyProblem: (key: string) => string | undefined,
  layout: Layout,
  path: string,
  issues: Issues,
  warnings: Issues,
): { roots: TrustRoot[]; rootsPath: string } {
  const rootsPath = at(path, layout.trustRoots);
  const { roots, count } = readTrustRoots(entry.take(layout.trustRoots), rootsPath, shape, keyProblem, issues, warnings);
  if (layout.version === 3 && count === 0) {
    issues.push({ path: rootsPath, message: `Connaisseur 3 requires at least one trust root for a ${type} validator` });
  }
  return { roots, rootsPath };
}

/**
 * A validator's trust roots ({name, key}); `keyProblem` says what is wrong with a key. A trust root
 * with `keyless` (Connaisseur 3 cosign) is reported: only keys can be checked here.
 */
function readTrustRoots(
  raw: unknown,
  rootsPath: string,
  shape: Shape,
  keyProblem: (key: string) => string | undefined,
  issues: Issues,
  warnings: Issues,
): { roots: TrustRoot[]; count: number } {
  const roots: TrustRoot[] = [];
  const list = optionalList(raw, rootsPath, issues) ?? [];
  list.forEach((item, k) => {
    const rPath = at(rootsPath, k);
    const root = parse(shape, item, rPath, issues);
    if (!root) return;
    root.unknown();
    const rootName = root.take<string>("name");
    const keyPath = at(rPath, "key");
    const rawKeyless = root.take("keyless");
    if (!isAbsent(rawKeyless)) {
      if (!isAbsent(root.raw.key)) {
        issues.push({ path: rPath, message: "a trust root has a key or keyless, not both" });
        return;
      }
      const keyless = readKeylessRoot(rawKeyless, at(rPath, "keyless"), issues);
      if (!keyless || rootName === undefined) return;
      if (roots.some((r) => r.name === rootName)) {
        issues.push({ path: at(rPath, "name"), message: `trust root "${rootName}" is defined twice in this validator` });
        return;
      }
      roots.push({ name: rootName, key: "", keyPath: at(rPath, "keyless"), keyless });
      return;
    }
    const key = root.take<string>("key");
    if (key === undefined && root.known("keyless") && isAbsent(root.raw.key)) {
      issues.push({ path: keyPath, message: "required: a public key (or keyless: issuer and subject)" });
      return;
    }
    if (key !== undefined) {
      const problem = keyProblem(key);
      if (problem) issues.push({ path: keyPath, message: problem });
    }
    if (rootName === undefined || key === undefined) return;
    if (roots.some((r) => r.name === rootName)) {
      issues.push({ path: at(rPath, "name"), message: `trust root "${rootName}" is defined twice in this validator` });
      return;
    }
    const twin = roots.find((r) => r.keyless === undefined && samePem(r.key, key));
    if (twin) {
      // Connaisseur counts a signature once per trust root that verifies it; trustgate counts a key once.
      warnings.push({
        path: keyPath,
        message: `trust roots "${twin.name}" (${twin.keyPath}) and "${rootName}" are the same key: a threshold counts them as one signer`,
      });
    }
    roots.push({ name: rootName, key: normalizePem(key), keyPath });
  });
  return { roots, count: list.length };
}

/** A keyless trust root's identity: exactly one of issuer/issuerRegex and of subject/subjectRegex (Connaisseur's validation). */
function readKeylessRoot(raw: unknown, path: string, issues: Issues): KeylessRoot | undefined {
  const fields = parse(keylessRootShape, raw, path, issues);
  if (!fields) return undefined;
  fields.unknown();
  const read = (k: string) => {
    const v = fields.take<string>(k);
    return v === undefined || v === "" ? undefined : v;
  };
  const out: { -readonly [K in keyof KeylessRoot]: KeylessRoot[K] } = {};
  let ok = true;
  for (const [exact, regex] of [["issuer", "issuerRegex"], ["subject", "subjectRegex"]] as const) {
    const e = read(exact);
    const r = read(regex);
    if ((e === undefined) === (r === undefined)) {
      issues.push({ path, message: `give ${exact} or ${regex} (one of them)` });
      ok = false;
      continue;
    }
    if (e !== undefined) out[exact] = e;
    if (r !== undefined) out[regex] = r;
  }
  return ok ? out : undefined;
}

/** A cosign trust root is a PEM public key (cosign.pub); a KMS reference cannot be reached from here. */
function cosignKeyProblem(key: string): string | undefined {
  if (/^[a-z0-9]{2,20}:\/\//i.test(key.trim())) {
    return "trustgate cannot reach a KMS: export the public key (cosign public-key --key <reference>) and give the PEM here";
  }
  const problem = pemProblem(key);
  if (problem) return problem;
  return /-----BEGIN PUBLIC KEY-----/.test(key) ? undefined : "expected a PEM PUBLIC KEY (cosign.pub), got a certificate";
}

function readCosign(entry: Fields, name: string, layout: Layout, path: string, issues: Issues, warnings: Issues): Validator {
  const { rekorHostPath, sigstore } = readCosignHost(entry, layout, at(path, "host"), issues);

  const { roots, rootsPath } = readValidatorRoots(entry, "cosign", layout.cosignRootShape, cosignKeyProblem, layout, path, issues, warnings);

  refuseCustomCa(entry, path, "a registry", "the registry", issues);

  const authPath = at(path, "auth");
  const auth = parse(layout.cosignAuthShape, entry.take("auth"), authPath, issues);
  if (auth) {
    auth.unknown();
    for (const key of layout.cosignCredentials) {
      if (isAbsent(auth.take(key))) continue;
      issues.push({
        path: at(authPath, key),
        message:
          "a cosign requirement takes registry credentials from REGISTRY_CREDENTIALS (per registry host), " +
          `not from the policy: configure them there and remove auth.${key}`,
      });
    }
    // The Kubernetes keychain has no equivalent; REGISTRY_CREDENTIALS for the host is the closest.
    auth.take(layout.version === 2 ? "k8s_keychain" : "useKeychain");
    if (layout.version === 3) auth.take("registry");
  }

  return { kind: "cosign", name, roots, rootsPath, ...(rekorHostPath ? { rekorHostPath } : {}), ...(sigstore ? { sigstore } : {}) };
}

/**
 * A cosign validator's host; the path of a Rekor URL when it turns the transparency log on.
 * Connaisseur 2: host is the Rekor URL, and setting it makes cosign check the transparency log.
 * Connaisseur 3: host holds Rekor, Fulcio and CT log settings, which only the log and keyless use.
 */
function readCosignHost(entry: Fields, layout: Layout, hostPath: string, issues: Issues): { rekorHostPath?: string; sigstore?: SigstoreHost } {
  if (!layout.cosignHostShape) {
    const host = entry.take<string>("host");
    return host !== undefined && host.trim() !== "" ? { rekorHostPath: hostPath } : {};
  }
  const host = parse(layout.cosignHostShape, entry.take("host"), hostPath, issues);
  if (!host) return {};
  host.unknown();
  const sigstore: { -readonly [K in keyof SigstoreHost]: SigstoreHost[K] } = { path: hostPath };
  // Every value is read as a string, an unknown field's too.
  for (const key of Object.keys(host.raw)) {
    if (!host.known(key)) {
      optionalString(host.raw[key], at(hostPath, key), issues);
      continue;
    }
    const value = host.take<string>(key);
    if (value !== undefined && value.trim() !== "") sigstore[key as "rekor" | "rekorPubkey" | "fulcioCert" | "ctLogPubkey"] = value;
  }
  return { sigstore };
}

/** A validator's `cert` (a custom CA) cannot be honoured: fetch in Workers trusts public CAs only. */
function refuseCustomCa(entry: Fields, path: string, forWhat: string, serve: string, issues: Issues): void {
  const cert = entry.take<string>("cert");
  if (cert !== undefined && cert.trim() !== "") {
    issues.push({
      path: at(path, "cert"),
      message:
        `trustgate cannot pin a custom CA for ${forWhat}: the Workers runtime only trusts the public ` +
        `certificate authorities. Serve ${serve} with a publicly trusted certificate, then remove cert`,
    });
  }
}

function readAuth(
  raw: unknown,
  layout: Layout,
  path: string,
  issues: Issues,
): { username: string; password: string } | undefined {
  const auth = parse(layout.authShape, raw, path, issues);
  if (!auth) return undefined;
  auth.unknown();
  if (!isAbsent(auth.take(layout.authSecret))) {
    issues.push({
      path: at(path, layout.authSecret),
      message:
        "trustgate cannot read Kubernetes secrets: give the credentials inline as auth.username and " +
        "auth.password (they are stored with the policy), or configure REGISTRY_CREDENTIALS for the Notary host",
    });
    return undefined;
  }
  const absent = (key: string) => isAbsent(auth.raw[key]);
  if (layout.version === 3) {
    // The Kubernetes keychain has no equivalent here; REGISTRY_CREDENTIALS for the host is the closest.
    const keychain = auth.take<boolean>("useKeychain");
    auth.take("registry");
    if (keychain !== undefined && absent("username") && absent("password")) return undefined;
  }
  const username = auth.take<string>("username");
  const password = auth.take<string>("password");
  if (username === undefined || password === undefined) {
    if (absent("username")) issues.push({ path: at(path, "username"), message: "required together with password" });
    if (absent("password")) issues.push({ path: at(path, "password"), message: "required together with username" });
    return undefined;
  }
  return { username, password };
}

// ---------------------------------------------------------------------------------------------
// Policy

function readRules(
  raw: unknown,
  layout: Layout,
  validators: Map<string, Validator> | undefined,
  path: string,
  kinds: RequirementKinds,
  issues: Issues,
  warnings: Issues,
): LocatedRule[] {
  const list = optionalList(raw, path, issues);
  if (list === undefined || list.length === 0) {
    // Connaisseur 2 would deny every image, Connaisseur 3 refuses to start: either way not meant.
    if (isAbsent(raw) || list?.length === 0) issues.push({ path, message: "at least one rule is required" });
    return [];
  }
  if (list.length > MAX_RULES) {
    issues.push({ path, message: `too many rules: ${list.length}, at most ${MAX_RULES}` });
    return [];
  }
  const rules: LocatedRule[] = [];
  const seen = new Map<string, number>();
  list.forEach((entry, j) => {
    const rule = readRule(entry, at(path, j), j, seen, { layout, validators, kinds, issues, warnings });
    if (rule) rules.push(rule);
  });
  return rules;
}

interface RuleContext {
  readonly layout: Layout;
  readonly validators: Map<string, Validator> | undefined;
  readonly kinds: RequirementKinds;
  readonly issues: Issues;
  readonly warnings: Issues;
}

/** Policy rule j; `seen` maps each pattern read so far to the rule that has it first. */
function readRule(raw: unknown, rPath: string, j: number, seen: Map<string, number>, ctx: RuleContext): LocatedRule | undefined {
  const { layout, validators, kinds, issues, warnings } = ctx;
  const entry = parse(ruleShape, raw, rPath, issues);
  if (!entry) return undefined;
  entry.unknown();

  const patternPath = at(rPath, "pattern");
  const pattern = entry.take<string>("pattern");
  if (pattern !== undefined) {
    try {
      compilePattern(pattern, "connaisseur");
    } catch (err) {
      if (!(err instanceof PatternSyntaxError)) throw err;
      issues.push({ path: patternPath, message: err.message });
    }
    const first = seen.get(pattern);
    if (first !== undefined) {
      // On such a tie Connaisseur 2 takes the first rule and Connaisseur 3 the last.
      issues.push({ path: patternPath, message: `the same pattern as policy rule ${first}: keep one of them` });
    } else {
      seen.set(pattern, j);
    }
  }

  const validatorPath = at(rPath, "validator");
  const named = entry.take<string>("validator");
  const validatorName = named || "default";
  const validator = validators?.get(validatorName);
  if (validators && !validator && (named !== undefined || isAbsent(entry.raw.validator))) {
    issues.push({
      path: validatorPath,
      message: named
        ? `validator "${named}" is not defined in validators`
        : 'required: no validator is named "default", so the rule must name one',
    });
  }

  const withPath = at(rPath, "with");
  const options = readWith(entry.take("with"), layout, withPath, issues);
  if (pattern === undefined || !validator) return undefined;
  const built = requirementsFor(validator, options, layout, rPath, kinds, issues, warnings);
  if (!built) return undefined;
  const rule: Rule = { pattern, require: built.require, description: built.description };
  return { rule, path: rPath };
}

interface RuleOptions {
  readonly trustRoot?: string;
  readonly trustRootPath: string;
  readonly delegations?: readonly string[];
  readonly delegationsPath: string;
  /** The `with` mapping as written (validator types read their own options from it), and its path. */
  readonly raw?: Record<string, unknown>;
  readonly path: string;
}

function readWith(raw: unknown, layout: Layout, path: string, issues: Issues): RuleOptions {
  const [canonical = "trust_root", ...aliases] = layout.trustRootRefs;
  const none = { trustRootPath: at(path, canonical), delegationsPath: at(path, "delegations"), path };
  const options = parse(layout.withShape, raw, path, issues, misspelt(layout, canonical));
  if (!options) return none;
  options.unknown();

  let trustRoot: string | undefined;
  let trustRootPath = none.trustRootPath;
  for (const key of [canonical, ...aliases]) {
    if (isAbsent(options.raw[key])) continue;
    const keyPath = at(path, key);
    if (trustRoot !== undefined) {
      issues.push({ path: keyPath, message: `give the trust root once, as ${canonical}` });
      continue;
    }
    trustRoot = options.take<string>(key);
    trustRootPath = keyPath;
  }

  const delegationsPath = none.delegationsPath;
  let delegations: string[] | undefined;
  const list = options.take<unknown[]>("delegations");
  if (list && list.length > 0) {
    delegations = [];
    list.forEach((d, k) => {
      const name = requiredString(d, at(delegationsPath, k), issues);
      if (name !== undefined) delegations?.push(name);
    });
  }

  // Whether Connaisseur rewrites the pod's image to the digest is the admission front end's concern.
  options.take("mode");
  return {
    ...(trustRoot ? { trustRoot } : {}),
    trustRootPath,
    ...(delegations ? { delegations } : {}),
    delegationsPath,
    raw: options.raw,
    path,
  };
}

/** A rule naming a trust root its validator lacks: Connaisseur accepts it, then denies every image it matches. */
function missingTrustRoot(described: string, ref: string, message: string): { require: Requirement[]; description: string } {
  return {
    require: [{ type: "deny", message }],
    description: `${described}, which has no trust root "${ref}": Connaisseur denies every image of this rule`,
  };
}

function requirementsFor(
  validator: Validator,
  options: RuleOptions,
  layout: Layout,
  rulePath: string,
  kinds: RequirementKinds,
  issues: Issues,
  warnings: Issues,
): { require: Requirement[]; description: string } | undefined {
  const described = `validator ${validator.name}`;
  if (validator.kind === "unusable") return undefined;
  if (validator.kind === "static") {
    // Without a message the deny kind uses Connaisseur's own wording.
    return { require: [{ type: validator.approve ? "allow" : "deny" }], description: described };
  }
  if (validator.kind === "cosign") return cosignRequirementFor(validator, options, layout, rulePath, kinds, issues, warnings);

  const ref = options.trustRoot ?? "default";
  let roots: readonly TrustRoot[];
  let which: string;
  if (ref === "*" && layout.version === 3) {
    // Connaisseur 3: every trust root of the validator must have signed the root metadata.
    roots = validator.roots;
    which = "all trust roots";
  } else {
    // Connaisseur 2 knows no "*" for notaryv1: it looks for a root of that name like any other.
    const root = validator.roots.find((r) => r.name === ref);
    if (!root) return missingTrustRoot(described, ref, layout.missingRoot(ref, validator.name));
    roots = [root];
    which = `trust root ${root.name}`;
  }

  const require = roots.map((root) => {
    const raw: Requirement = {
      type: "notary",
      server: validator.server,
      rootKeys: [root.key],
      ...(options.delegations ? { signers: options.delegations.map((name) => ({ name })) } : {}),
      ...(validator.auth ? { auth: validator.auth } : {}),
    };
    const sources: Record<string, string> = {
      "": rulePath,
      server: validator.serverPath,
      rootKeys: root.keyPath,
      signers: options.delegationsPath,
      auth: validator.authPath,
    };
    options.delegations?.forEach((_, k) => (sources[`signers[${k}]`] = at(options.delegationsPath, k)));
    return checkRequirement(raw, kinds, sources, issues, warnings);
  });
  return { require, description: `${described}, ${which}` };
}

/** `threshold` and `required` of a cosign rule's `with`, and where they are. */
interface CosignCounts {
  readonly threshold: number | undefined;
  readonly thresholdPath: string;
  /** A required name listed twice counts once. */
  readonly required: readonly string[];
  readonly requiredPath: string;
}

function readCosignCounts(options: Fields, path: string, issues: Issues): CosignCounts {
  const requiredPath = at(path, "required");
  const threshold = options.take<number>("threshold");
  const required: string[] = [];
  options.take<unknown[]>("required")?.forEach((r, k) => {
    const n = requiredString(r, at(requiredPath, k), issues);
    if (n !== undefined && !required.includes(n)) required.push(n);
  });
  return { threshold, thresholdPath: at(path, "threshold"), required, requiredPath };
}

/** The trust roots a cosign rule verifies, and how many of them must sign (undefined: all pinned). */
interface Pinned {
  readonly roots: readonly TrustRoot[];
  readonly threshold: number | undefined;
}

/** trustRoot "*": the required roots (all must sign) unless the threshold asks for more, else every root. */
function pinEveryRoot(validator: Extract<Validator, { kind: "cosign" }>, counts: CosignCounts, issues: Issues, warnings: Issues): Pinned {
  const { threshold, required, requiredPath } = counts;
  for (const [k, n] of required.entries()) {
    if (!validator.roots.some((r) => r.name === n)) {
      issues.push({ path: at(requiredPath, k), message: `validator ${validator.name} has no trust root "${n}": Connaisseur would deny every image of this rule` });
    }
  }
  const effective = threshold ?? (required.length > 0 ? undefined : validator.roots.length);
  const roots =
    required.length > 0 && (effective === undefined || effective <= required.length)
      ? validator.roots.filter((r) => required.includes(r.name))
      : validator.roots;
  if (effective !== undefined && roots.length > 0 && effective > roots.length) {
    // Connaisseur starts so, and denies each image at its rule: imported as it is, with a warning.
    warnings.push({
      path: counts.thresholdPath,
      message: `a threshold of ${effective} cannot be met by the ${roots.length} trust roots of validator ${validator.name}: every image of this rule is denied (validation threshold not reached), as Connaisseur does`,
    });
  }
  return { roots, threshold: effective };
}

/** A named trust root; undefined when the validator has none of that name (nothing reported yet). */
function pinNamedRoot(
  validator: Extract<Validator, { kind: "cosign" }>,
  ref: string,
  counts: CosignCounts,
  layout: Layout,
  issues: Issues,
  warnings: Issues,
): Pinned | undefined {
  const { threshold, required } = counts;
  const root = validator.roots.find((r) => r.name === ref);
  if (!root) return undefined;
  const others = required.filter((n) => n !== ref);
  if (others.length > 0) {
    issues.push({
      path: counts.requiredPath,
      message: `required names ${others.join(", ")}, but the rule verifies only trust root ${ref}: set ${layout.trustRootRefs[0]} to "*" or Connaisseur denies every image of this rule`,
    });
  }
  if (layout.version === 2 && threshold !== undefined && threshold > 1) {
    // Connaisseur 2 applies the threshold to a named trust root too.
    warnings.push({
      path: counts.thresholdPath,
      message: `a threshold of ${threshold} cannot be met by the one trust root ${ref}: every image of this rule is denied (validation threshold not reached), as Connaisseur 2 does; set trust_root to "*" to count every trust root`,
    });
    return { roots: [root], threshold };
  }
  return { roots: [root], threshold: undefined };
}

/**
 * Whether Connaisseur checks the Rekor transparency log for this rule. Keyless trust roots are
 * checked against it here too; key-based signatures are not (a rule with keys and the log is refused).
 */
function reportRekor(
  validator: Extract<Validator, { kind: "cosign" }>,
  options: RuleOptions,
  cosignOptions: Fields,
  layout: Layout,
  rulePath: string,
  keyBased: boolean,
  issues: Issues,
): boolean {
  const tlogPath = at(options.path, layout.tlogKey);
  const tlog = cosignOptions.take<boolean>(layout.tlogKey);
  const rekor = layout.version === 3 ? tlog !== false : tlog === true || (tlog === undefined && validator.rekorHostPath !== undefined);
  if (rekor && keyBased) {
    issues.push({
      path: tlog !== undefined ? tlogPath : (validator.rekorHostPath ?? rulePath),
      message:
        layout.version === 3
          ? "Connaisseur 3 also verifies cosign signatures in the Rekor transparency log (verifyInTransparencyLog defaults to true); " +
            "trustgate checks key-based signatures without the transparency log (keyless trust roots are checked against it): " +
            "set with.verifyInTransparencyLog: false for this rule"
          : "Connaisseur 2 verifies cosign signatures in the Rekor transparency log when the validator has a host; " +
            "trustgate checks signatures by key only and no transparency log: set with.verify_in_transparency_log: false for this rule",
    });
  }
  return rekor;
}

/**
 * The trust root for keyless trust roots: Sigstore's public-good one (undefined), or one built from
 * the validator's host keys (a private Sigstore). Connaisseur takes each key from host or else from
 * the public good; trustgate takes all or none, and says which are missing. null: reported.
 */
function hostTrustRoot(validator: Extract<Validator, { kind: "cosign" }>, tlog: boolean, sct: boolean, issues: Issues): Record<string, unknown> | undefined | null {
  const h = validator.sigstore;
  if (!h || (h.fulcioCert === undefined && h.rekorPubkey === undefined && h.ctLogPubkey === undefined)) return undefined;
  const missing = [
    ...(h.fulcioCert === undefined ? ["fulcioCert"] : []),
    ...(tlog && h.rekorPubkey === undefined ? ["rekorPubkey"] : []),
    ...(sct && h.ctLogPubkey === undefined ? ["ctLogPubkey"] : []),
  ];
  if (missing.length > 0) {
    issues.push({
      path: h.path,
      message:
        `keyless trust roots under a private Sigstore need all of its keys here: add ${missing.join(", ")} ` +
        "(trustgate does not mix them with Sigstore's public-good keys), or remove host's keys to use the public-good trust root",
    });
    return null;
  }
  const built = looseTrustRoot({
    fulcioCertificates: h.fulcioCert!,
    rekorKeys: tlog && h.rekorPubkey !== undefined ? [h.rekorPubkey] : [],
    ctLogKeys: sct && h.ctLogPubkey !== undefined ? [h.ctLogPubkey] : [],
    ...(h.rekor !== undefined ? { rekorUrl: /^https?:\/\//.test(h.rekor) ? h.rekor : `https://${h.rekor}` } : {}),
  });
  if (!built.ok) {
    issues.push({ path: at(h.path, built.what === "fulcio" ? "fulcioCert" : built.what === "rekor" ? "rekorPubkey" : "ctLogPubkey"), message: built.why });
    return null;
  }
  return built.root;
}

/**
 * A cosign rule as Connaisseur decides it. Which trust roots, and how many must sign:
 * - a named trust root (default "default"): that key must have signed; Connaisseur 3 ignores
 *   `threshold` here, Connaisseur 2 applies it (so more than 1 can never be met);
 * - "*": with neither threshold nor required, every trust root; with required, the required roots
 *   (all of them must sign) unless the threshold asks for more signers than that, then every
 *   root (Connaisseur 3 ValidateImage; Connaisseur 2 __get_pinned_trust_roots, the same sets).
 * Rekor: Connaisseur 3 verifies in the transparency log unless verifyInTransparencyLog is false;
 * Connaisseur 2 when the validator's host (its Rekor URL) is set. trustgate checks the log for keyless trust roots only.
 */
function cosignRequirementFor(
  validator: Extract<Validator, { kind: "cosign" }>,
  options: RuleOptions,
  layout: Layout,
  rulePath: string,
  kinds: RequirementKinds,
  issues: Issues,
  warnings: Issues,
): { require: Requirement[]; description: string } | undefined {
  const described = `validator ${validator.name}`;
  // The with mapping has been parsed as a whole (readWith): these are the fields only cosign reads.
  const cosignOptions = parse(layout.cosignWithShape, options.raw ?? {}, options.path, issues) as Fields;
  const counts = readCosignCounts(cosignOptions, options.path, issues);
  const { required, thresholdPath, requiredPath } = counts;
  if (options.delegations) {
    issues.push({ path: options.delegationsPath, message: "delegations are Notary roles: a cosign validator has none (name trust roots in required)" });
  }

  const ref = options.trustRoot ?? "default";
  if (ref === "*" && validator.roots.length === 0) {
    // Connaisseur 2 starts so (Connaisseur 3 does not, reported above) and denies every image.
    return {
      require: [{ type: "deny", message: `validator "${validator.name}" has no trust roots` }],
      description: `${described}, which has no trust roots: Connaisseur denies every image of this rule`,
    };
  }
  const pin = ref === "*" ? pinEveryRoot(validator, counts, issues, warnings) : pinNamedRoot(validator, ref, counts, layout, issues, warnings);
  if (!pin) return missingTrustRoot(described, ref, layout.missingCosignRoot(ref, validator.name));
  const { roots: pinned, threshold: effectiveThreshold } = pin;

  const keyRoots = pinned.filter((r) => r.keyless === undefined);
  const keylessRoots = pinned.filter((r) => r.keyless !== undefined);
  const tlog = reportRekor(validator, options, cosignOptions, layout, rulePath, keyRoots.length > 0, issues);
  // Connaisseur 3 with.verifySCT, true unless set false (cosign's IgnoreSCT).
  const sct = cosignOptions.take<boolean>("verifySCT") !== false;
  if (pinned.length === 0) return undefined;
  const trustRoot = keylessRoots.length > 0 ? hostTrustRoot(validator, tlog, sct, issues) : undefined;
  if (trustRoot === null) return undefined;

  // What could not be met is reported above; the requirement keeps what can.
  const signers = required.filter((n) => pinned.some((r) => r.name === n));
  const requirement: Requirement = {
    type: "cosign",
    ...(keyRoots.length > 0 ? { keys: keyRoots.map((r) => ({ name: r.name, key: r.key })) } : {}),
    ...(keylessRoots.length > 0
      ? {
          keyless: {
            identities: keylessRoots.map((r) => ({
              name: r.name,
              ...(r.keyless!.issuer !== undefined ? { issuer: r.keyless!.issuer } : { issuerRegExp: r.keyless!.issuerRegex }),
              ...(r.keyless!.subject !== undefined ? { subject: r.keyless!.subject } : { subjectRegExp: r.keyless!.subjectRegex }),
            })),
            ...(trustRoot ? { trustRoot } : {}),
            ...(sct ? {} : { ignoreSCT: true }),
            ...(tlog ? {} : { ignoreTlog: true }),
          },
        }
      : {}),
    ...(effectiveThreshold !== undefined && effectiveThreshold !== 1 ? { threshold: effectiveThreshold } : {}),
    ...(signers.length > 0 ? { required: signers } : {}),
  };
  const sources: Record<string, string> = { "": rulePath, keys: validator.rootsPath, keyless: validator.rootsPath, threshold: thresholdPath, required: requiredPath };
  keyRoots.forEach((r, k) => (sources[`keys[${k}]`] = r.keyPath));
  keylessRoots.forEach((r, k) => (sources[`keyless.identities[${k}]`] = r.keyPath));
  if (trustRoot && validator.sigstore) sources["keyless.trustRoot"] = validator.sigstore.path;
  const which =
    ref !== "*"
      ? `trust root ${ref}`
      : pinned.length === validator.roots.length
        ? "all trust roots"
        : `trust roots ${pinned.map((r) => r.name).join(", ")}`;
  const counted = effectiveThreshold !== undefined && ref === "*" ? `, ${effectiveThreshold} of ${pinned.length} must sign` : "";
  const musts = required.length > 0 && ref === "*" ? `, required ${required.join(", ")}` : "";
  return { require: [checkRequirement(requirement, kinds, sources, issues, warnings)], description: `${described}, ${which}${counted}${musts}` };
}
