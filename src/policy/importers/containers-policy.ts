// Imports containers-policy.json (podman, skopeo, CRI-O) and its registries.d into the normalised policy, deciding as containers/image would.
import { splitHostPort } from "../../hosts";
import { parseDocumentText } from "../document";
import { joinPath } from "../issues";
import { compilePattern, PatternSyntaxError } from "../pattern";
import { PolicyValidationError, type Policy, type PolicyIssue, type Requirement } from "../model";
import { distinctWarnings, reviewRules, type LocatedRule } from "../review";
import type { RequirementKinds } from "../requirement-kinds";
import type * as z from "../../schema";
import { looseTrustRoot } from "./sigstore-root";
import {
  at,
  checkRequirement,
  dictionary,
  distinctIssues,
  flag,
  isAbsent,
  isRecord,
  mapping,
  MAX_RULES,
  nested,
  optionalList,
  optionalRecord,
  optionalString,
  pemProblem,
  readShape,
  requiredText,
  text,
  typeName,
  type Issues,
  type Read,
} from "./shared";

const MAX_DESCRIPTION = 4096;

/** containers/image's words (signature/policy_eval_simple.go); `{image}` is the image the deny names. */
export const REJECT_MESSAGE = "Running image docker://{familiarImage} is rejected by policy.";
/** What containers/image says when sigstoreSigned finds no signature (policy_eval_sigstore.go). */
export const NO_SIGNATURE_MESSAGE = "A signature was required, but no signature exists";

const FILES_HINT = "trustgate cannot read files on your hosts: give the key inline as keyData (base64 -w0 <key file>)";
const REKOR_KEYS = ["rekorPublicKeyPath", "rekorPublicKeyPaths", "rekorPublicKeyData", "rekorPublicKeyDatas"] as const;

// ---------------------------------------------------------------------------------------------
// Shapes: the fields each mapping may hold. A field whose problems are named after others (the
// tools' order) is `nested` here and read where it is translated. Maps keyed by the user's names
// (scopes, transports) are iterated as written: a zod record would drop a key named "__proto__".

const documentShape = mapping({ policy: nested(), "registries.d": nested() });
const registriesFileShape = mapping({ "default-docker": nested(), docker: nested() }, "a registries.d file (docker, default-docker)");
const namespaceShape = mapping({
  "lookaside-staging": text(),
  "sigstore-staging": text(),
  lookaside: text(),
  sigstore: text(),
  "use-sigstore-attachments": flag(),
});
const policyShape = mapping({ default: nested(), transports: dictionary() }, "the content of policy.json (default, transports)");

const bare = mapping({ type: nested() });
const signedByShape = mapping({
  type: nested(),
  keyType: text(),
  keyPath: nested(),
  keyPaths: nested(),
  keyData: nested(),
  signedIdentity: nested(),
});
const SIGSTORE_KEYS = ["type", "keyPath", "keyPaths", "keyData", "keyDatas", "fulcio", ...REKOR_KEYS, "pki", "signedIdentity"] as const;
/** Every field is read where its problem comes in containers/image's order. */
const sigstoreSignedShape = mapping(
  Object.fromEntries(SIGSTORE_KEYS.map((key) => [key, nested()])) as Record<(typeof SIGSTORE_KEYS)[number], ReturnType<typeof nested>>,
);
const signedBaseLayerShape = mapping({ type: nested(), baseLayerIdentity: nested() });

/** signedIdentity by its type: the fields each one needs (policy_reference_match.go). */
const identityShapes = {
  matchExact: bare,
  matchRepoDigestOrExact: bare,
  matchRepository: bare,
  exactReference: mapping({ type: nested(), dockerReference: requiredText() }),
  exactRepository: mapping({ type: nested(), dockerRepository: requiredText() }),
  remapIdentity: mapping({ type: nested(), prefix: requiredText(), signedPrefix: requiredText() }),
};
const IDENTITY_TYPES = Object.keys(identityShapes).join(", ");

/** readShape, with a hint after "unknown field" for the names people write instead of the right one. */
function readHinted<S extends z.ZodMiniObject>(
  schema: S,
  raw: unknown,
  path: string,
  issues: Issues,
  hints: Readonly<Record<string, string>>,
): Read<z.infer<S>> | undefined {
  const local: Issues = [];
  const read = readShape(schema, raw, path, local);
  for (const issue of local) {
    const key = Object.keys(hints).find((k) => issue.message === "unknown field" && issue.path === at(path, k));
    issues.push(key ? { path: issue.path, message: `unknown field: ${hints[key]}` } : issue);
  }
  return read;
}

/** A JSON map key as a path step: `docker["registry.example.com"]`, since scopes contain dots. */
function atKey(path: string, key: string): string {
  return joinPath(path, `[${JSON.stringify(key)}]`);
}

// ---------------------------------------------------------------------------------------------
// Entry point

export function importContainersPolicy(document: unknown, kinds: RequirementKinds, out: PolicyIssue[] = []): Policy {
  const warnings: PolicyIssue[] = [];
  const issues: Issues = [];
  const located = locate(document, issues);
  if (!located) throw new PolicyValidationError(issues);

  const registries = readRegistriesD(located.registriesD, located.registriesDPath, issues);
  const policy = readPolicyJson(located.policy, located.policyPath, issues);
  if (!policy) throw new PolicyValidationError(distinctIssues(issues));

  const placed = buildRules(policy, registries, kinds, issues, warnings);
  const rules = placed.map((p) => p.rule);
  if (rules.length > MAX_RULES) issues.push({ path: located.policyPath, message: `too many rules: ${rules.length}, at most ${MAX_RULES}` });
  if (issues.length > 0) throw new PolicyValidationError(distinctIssues(issues));
  warnings.push(...reviewRules(placed, "containers-policy"));
  out.push(...distinctWarnings(warnings));

  const notes = describe(policy, registries);
  return {
    mode: "enforce",
    patternStyle: "containers-policy",
    rules,
    ...(notes ? { description: notes } : {}),
  };
}

interface Input {
  readonly policy: unknown;
  readonly policyPath: string;
  readonly registriesD: unknown;
  readonly registriesDPath: string;
}

/** `{ policy, "registries.d": [...] }`, or a bare policy.json (it has `default`). */
function locate(document: unknown, issues: Issues): Input | undefined {
  const expected =
    'expected { "policy": <policy.json>, "registries.d": [<registries.d YAML files>] }, or policy.json itself';
  if (!isRecord(document)) {
    issues.push({ path: "", message: `${expected}, got ${typeName(document)}` });
    return undefined;
  }
  if (!("policy" in document) && ("default" in document || "transports" in document)) {
    return { policy: document, policyPath: "", registriesD: undefined, registriesDPath: "registries.d" };
  }
  if (!("policy" in document)) {
    issues.push({ path: "policy", message: `required: the content of policy.json; ${expected}` });
    return undefined;
  }
  const hint = 'write it as "registries.d"';
  const read = readHinted(documentShape, document, "", issues, { registries: hint, registriesD: hint, registries_d: hint });
  const fields = read?.data ?? {};
  let policy = fields.policy;
  if (typeof policy === "string") {
    // policy.json pasted as text inside a YAML document.
    try {
      policy = parseDocumentText(policy).value;
    } catch (err) {
      if (!(err instanceof PolicyValidationError)) throw err;
      for (const issue of err.issues) issues.push({ path: "policy", message: issue.message });
      return undefined;
    }
  }
  return { policy, policyPath: "policy", registriesD: fields["registries.d"], registriesDPath: "registries.d" };
}

// ---------------------------------------------------------------------------------------------
// Scopes of the docker: transport (docker/policyconfiguration/naming.go)

interface Scope {
  readonly scope: string;
  readonly kind: "identity" | "name" | "host" | "wildcard";
  /** Native patterns that together match exactly the images whose lookup list contains the scope. */
  readonly patterns: readonly string[];
  /** The scope, then what containers/image looks up after it when it is absent. */
  readonly chain: readonly string[];
}

const LABEL = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const PATH_COMPONENT = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/**
 * After the repository and its parent namespaces, containers/image looks up the host with its
 * port, then `*.` + each domain suffix of the host without the port (a.b.example.com:5000 →
 * *.b.example.com, *.example.com, *.com). It cuts the port at the first ':', as naming.go does.
 */
function wildcardsOf(host: string): string[] {
  const colon = host.indexOf(":");
  let rest = colon >= 0 ? host.slice(0, colon) : host;
  const out: string[] = [];
  for (let dot = rest.indexOf("."); dot >= 0; dot = rest.indexOf(".")) {
    rest = rest.slice(dot + 1);
    out.push(`*.${rest}`);
  }
  return out;
}

/** The lookup list after a name: itself, each parent namespace, the host, then the host's wildcards. */
function namesOf(name: string): string[] {
  const out: string[] = [];
  let current = name;
  for (;;) {
    out.push(current);
    const slash = current.lastIndexOf("/");
    if (slash < 0) break;
    current = current.slice(0, slash);
  }
  return [...out, ...wildcardsOf(current)];
}

/** A scope key as containers/image would use it, or the reason it could never select a policy there. */
function parseScope(scope: string): Scope | { problem: string } {
  if (scope === "") return { problem: "containers/image never looks up an empty namespace here: default-docker is the default" };
  if (scope.length > 1000) return { problem: "scope is too long" };
  if (/\s/.test(scope)) return { problem: "contains whitespace: containers/image never matches this scope" };

  if (scope.startsWith("*.")) return parseWildcardScope(scope);
  if (scope.includes("*")) {
    return { problem: 'containers/image never matches this scope: "*" only stands for the leading labels of a host, as in "*.example.com"' };
  }

  const slash = scope.indexOf("/");
  const host = slash < 0 ? scope : scope.slice(0, slash);
  const rest = slash < 0 ? "" : scope.slice(slash + 1);
  const looksLikeHost = host === "localhost" || host.includes(".") || host.includes(":") || host !== host.toLowerCase();
  if (!looksLikeHost) {
    const hint = slash < 0 ? `docker.io/library/${scope}` : `docker.io/${scope}`;
    return {
      problem:
        "containers/image never matches this scope: scopes are fully expanded names that start with the registry " +
        `host (write "${hint}"; a host without a port needs a '.' or must be localhost)`,
    };
  }
  if (host !== host.toLowerCase()) return { problem: `write the registry host "${host}" in lower case` };
  if (host === "index.docker.io") {
    return { problem: `containers/image never matches this scope: Docker Hub names are expanded to docker.io; write "docker.io${slash < 0 ? "" : `/${rest}`}"` };
  }
  const hostProblem = registryHostProblem(host);
  if (hostProblem) return { problem: `containers/image never matches this scope: ${hostProblem}` };
  if (slash < 0) return { scope, kind: "host", patterns: [`${host}/*`], chain: [host, ...wildcardsOf(host)] };

  return parseRepositoryScope(scope, host, rest);
}

/** A "*.example.com" scope: every host below the domain, on any port. */
function parseWildcardScope(scope: string): Scope | { problem: string } {
  const domain = scope.slice(2);
  if (domain.includes("/") || domain.includes(":") || domain.includes("*")) {
    return {
      problem:
        'containers/image never matches this scope: a wildcard scope names a domain only, as "*.example.com" ' +
        "(it matches every host below that domain, on any port, and every repository there)",
    };
  }
  const labels = domain.split(".");
  if (!labels.every((l) => LABEL.test(l))) return { problem: `"${domain}" is not a lower-case DNS domain` };
  if (labels.length < 2) {
    return {
      problem:
        `trustgate refuses a wildcard over a whole top-level domain ("${scope}" covers hosts anyone can register); ` +
        "name the registries, or a domain of at least two labels, instead",
    };
  }
  return {
    scope,
    kind: "wildcard",
    // The registry glob never crosses a ':', so a second pattern covers hosts with a port.
    patterns: [`${scope}/*`, `${scope}:*/*`],
    chain: [scope, ...wildcardsOf(domain)],
  };
}

/** Why a scope's registry host (with its port) is not one, or undefined when it is. */
function registryHostProblem(host: string): string | undefined {
  try {
    const { host: name, port } = splitHostPort(host, (problem) => {
      throw new Error(problem);
    });
    // A bad port is named before a bad host name.
    if (port !== undefined && !/^[0-9]+$/.test(port)) return `port "${port}" is not a number`;
    if (!name.startsWith("[") && !name.split(".").every((l) => LABEL.test(l))) return `"${name}" is not a valid host name`;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  return undefined;
}

/** A scope below a registry host: a repository (and namespace), or an image identity with a tag or digest. */
function parseRepositoryScope(scope: string, host: string, rest: string): Scope | { problem: string } {
  let name = rest;
  let suffix: string | undefined;
  const atSign = rest.indexOf("@");
  if (atSign >= 0) {
    const digest = rest.slice(atSign + 1);
    name = rest.slice(0, atSign);
    if (!DIGEST.test(digest)) return { problem: `containers/image never matches this scope: "${digest}" is not a digest` };
    suffix = `@${digest}`;
  }
  const colon = name.lastIndexOf(":");
  if (colon >= 0) {
    if (suffix !== undefined) {
      return { problem: "containers/image never matches this scope: an image identity has a tag or a digest, never both" };
    }
    const tag = name.slice(colon + 1);
    if (!TAG.test(tag)) return { problem: `containers/image never matches this scope: "${tag}" is not a valid tag` };
    suffix = `:${tag}`;
    name = name.slice(0, colon);
  }
  if (!name.split("/").every((c) => PATH_COMPONENT.test(c))) {
    return {
      problem: `containers/image never matches this scope: "${name}" is not a repository path (lower-case components separated by '/')`,
    };
  }
  const full = `${host}/${name}`;
  // Docker Hub names always have two components (busybox is docker.io/library/busybox), so
  // docker.io/<one component> can only be a namespace.
  const hubNamespace = host === "docker.io" && !name.includes("/");
  if (suffix !== undefined) {
    if (hubNamespace) {
      return { problem: `containers/image never matches this scope: Docker Hub images are named in full; write "docker.io/library/${name}${suffix}"` };
    }
    return { scope, kind: "identity", patterns: [`${full}${suffix}`], chain: [scope, ...namesOf(full)] };
  }
  return {
    scope,
    kind: "name",
    // A scope is the repository of that name and the namespace of every repository below it.
    patterns: hubNamespace ? [`${full}/*`] : [full, `${full}/*`],
    chain: namesOf(full),
  };
}

function readScope(scope: string, path: string, issues: Issues): Scope | undefined {
  const parsed = parseScope(scope);
  if ("problem" in parsed) {
    issues.push({ path, message: parsed.problem });
    return undefined;
  }
  for (const pattern of parsed.patterns) {
    try {
      compilePattern(pattern, "native");
    } catch (err) {
      if (!(err instanceof PatternSyntaxError)) throw err;
      issues.push({ path, message: err.message });
      return undefined;
    }
  }
  return parsed;
}

// ---------------------------------------------------------------------------------------------
// registries.d (docker/registries_d.go)

interface Located<T> {
  readonly value: T;
  readonly path: string;
}

interface Namespace {
  /** `lookaside`, else the older `sigstore` (the *-staging ones are for writing only). */
  readonly lookaside?: Located<string>;
  readonly attachments?: Located<boolean>;
}

interface RegistriesD {
  readonly defaultDocker?: Namespace;
  readonly docker: ReadonlyMap<string, Namespace & { readonly scope: Scope; readonly path: string }>;
}

function readRegistriesD(raw: unknown, path: string, issues: Issues): RegistriesD {
  const docker = new Map<string, Namespace & { scope: Scope; path: string }>();
  let defaultDocker: (Namespace & { path: string }) | undefined;
  const files = optionalList(raw, path, issues) ?? [];
  files.forEach((entry, i) => {
    const filePath = at(path, i);
    const content = registriesFileContent(entry, filePath, issues);
    if (content === undefined) return;
    const config = readShape(registriesFileShape, content, filePath, issues)?.data;
    if (!config) return;
    const defaultPath = at(filePath, "default-docker");
    if (!isAbsent(config["default-docker"])) {
      const ns = readNamespace(config["default-docker"], defaultPath, issues);
      if (defaultDocker) {
        issues.push({ path: defaultPath, message: `"default-docker" defined both in ${defaultDocker.path} and ${defaultPath}` });
      } else if (ns) {
        defaultDocker = { ...ns, path: defaultPath };
      }
    }
    const dockerPath = at(filePath, "docker");
    const scopes = optionalRecord(config.docker, dockerPath, issues);
    for (const [key, value] of Object.entries(scopes ?? {})) {
      const nsPath = atKey(dockerPath, key);
      const ns = readNamespace(value, nsPath, issues);
      const previous = docker.get(key);
      if (previous) {
        issues.push({ path: nsPath, message: `"docker" namespace "${key}" defined both in ${previous.path} and ${nsPath}` });
        continue;
      }
      const scope = readScope(key, nsPath, issues);
      if (ns && scope) docker.set(key, { ...ns, scope, path: nsPath });
    }
  });
  return { ...(defaultDocker ? { defaultDocker } : {}), docker };
}

/**
 * One registries.d file: given as its YAML text or already as a mapping. Undefined (absent) when
 * there is nothing to read: an empty or comment-only file, or one whose text is broken (reported).
 */
function registriesFileContent(entry: unknown, filePath: string, issues: Issues): unknown {
  if (typeof entry !== "string") return isAbsent(entry) ? undefined : entry;
  if (entry.trim() === "" || entry.split("\n").every((l) => l.trim() === "" || l.trim().startsWith("#"))) return undefined;
  try {
    const parsed = parseDocumentText(entry);
    if (parsed.documents > 1) {
      issues.push({ path: filePath, message: "one YAML document per registries.d file: containers/image reads only the first" });
      return undefined;
    }
    return isAbsent(parsed.value) ? undefined : parsed.value;
  } catch (err) {
    if (!(err instanceof PolicyValidationError)) throw err;
    for (const issue of err.issues) issues.push({ path: filePath, message: issue.message });
    return undefined;
  }
}

function readNamespace(raw: unknown, path: string, issues: Issues): Namespace | undefined {
  if (isAbsent(raw)) return {};
  const read = readHinted(namespaceShape, raw, path, issues, {
    "use-cosign-attachments": "containers/image now reads use-sigstore-attachments",
  });
  if (!read) return undefined;
  const { lookaside, sigstore, "use-sigstore-attachments": attachments } = read.data;
  const attachmentsPath = at(path, "use-sigstore-attachments");
  return {
    ...(lookaside || sigstore ? { lookaside: { value: (lookaside || sigstore) as string, path: at(path, lookaside ? "lookaside" : "sigstore") } } : {}),
    ...(isAbsent(attachments) ? {} : { attachments: { value: attachments, path: attachmentsPath } }),
  };
}

// ---------------------------------------------------------------------------------------------
// policy.json (signature/policy_config.go, policy_config_sigstore.go)

type Identity = Record<string, unknown>;

type ParsedRequirement =
  | { readonly kind: "accept" }
  | { readonly kind: "reject" }
  | {
      readonly kind: "signedBy";
      readonly path: string;
      readonly key: string;
      readonly keyPath: string;
      readonly identity?: Located<Identity>;
    }
  | {
      readonly kind: "sigstore";
      readonly path: string;
      readonly keys: readonly Located<string>[];
      readonly keysPath: string;
      readonly identity?: Located<Identity>;
      /** fulcio: the Fulcio identity and the trust root built from caData and the Rekor keys (instead of keys). */
      readonly keyless?: { readonly issuer: string; readonly subject: string; readonly trustRoot: Record<string, unknown>; readonly path: string };
    };

interface RequirementList {
  readonly path: string;
  /** Written with a signedBy, even one that could not be read: registries.d then matters. */
  readonly signedBy: boolean;
  /** undefined where a requirement could not be read (already reported). */
  readonly requirements: readonly (ParsedRequirement | undefined)[];
}

interface PolicyJson {
  readonly path: string;
  /** The global default; only read in full when no transports.docker[""] takes its place. */
  readonly defaultList: RequirementList | undefined;
  readonly dockerDefault: RequirementList | undefined;
  readonly docker: ReadonlyMap<string, { readonly scope: Scope; readonly list: RequirementList }>;
  /** Transports other than docker: kept in the stored document, not decided here. */
  readonly ignored: ReadonlyMap<string, number>;
}

function readPolicyJson(raw: unknown, path: string, issues: Issues): PolicyJson | undefined {
  const read = readShape(policyShape, raw, path, issues);
  if (!read || !isRecord(raw)) return undefined;
  const transportsPath = at(path, "transports");
  // Checked as a mapping by the shape; its transports are taken as written (see Shapes).
  const transports = read.data.transports ? (raw.transports as Record<string, unknown>) : {};
  const dockerPath = at(transportsPath, "docker");
  const docker = optionalRecord(transports.docker, dockerPath, issues) ?? {};
  const hasDockerDefault = Object.hasOwn(docker, "");

  const defaultPath = at(path, "default");
  let defaultList: RequirementList | undefined;
  if (isAbsent(read.data.default)) {
    // containers/image: "Default policy is missing".
    issues.push({ path: defaultPath, message: 'required: the global default, e.g. [{"type": "reject"}]' });
  } else {
    // With transports.docker[""], the global default decides no docker: image: check its form only.
    defaultList = readRequirementList(read.data.default, defaultPath, !hasDockerDefault, issues);
  }

  let dockerDefault: RequirementList | undefined;
  const scopes = new Map<string, { scope: Scope; list: RequirementList }>();
  for (const [key, value] of Object.entries(docker)) {
    const scopePath = atKey(dockerPath, key);
    if (key === "") {
      dockerDefault = readRequirementList(value, scopePath, true, issues);
      continue;
    }
    const scope = readScope(key, scopePath, issues);
    const list = readRequirementList(value, scopePath, true, issues);
    if (scope && list) scopes.set(key, { scope, list });
  }

  const ignored = new Map<string, number>();
  for (const [name, value] of Object.entries(transports)) {
    if (name === "docker") continue;
    const tPath = atKey(transportsPath, name);
    const tScopes = optionalRecord(value, tPath, issues) ?? {};
    for (const [key, list] of Object.entries(tScopes)) readRequirementList(list, atKey(tPath, key), false, issues);
    ignored.set(name, Object.keys(tScopes).length);
  }
  return { path, defaultList, dockerDefault, docker: scopes, ignored };
}

/**
 * A scope's requirement list. `used` lists decide images here, so what trustgate cannot do is an
 * issue; the others (other transports, an overridden default) are only checked for their form,
 * as containers/image checks every list when it loads the file.
 */
function readRequirementList(raw: unknown, path: string, used: boolean, issues: Issues): RequirementList | undefined {
  if (isAbsent(raw)) {
    issues.push({ path, message: "List of verification policy requirements must not be empty" });
    return undefined;
  }
  const list = optionalList(raw, path, issues);
  if (!list) return undefined;
  if (list.length === 0) {
    issues.push({ path, message: "List of verification policy requirements must not be empty" });
    return undefined;
  }
  return {
    path,
    signedBy: list.some((entry) => isRecord(entry) && entry.type === "signedBy"),
    requirements: list.map((entry, i) => readRequirement(entry, at(path, i), used, issues)),
  };
}

function readRequirement(raw: unknown, path: string, used: boolean, issues: Issues): ParsedRequirement | undefined {
  if (!isRecord(raw)) {
    issues.push({ path, message: `expected a policy requirement ({"type": …}), got ${typeName(raw)}` });
    return undefined;
  }
  const typePath = at(path, "type");
  const type = raw.type;
  switch (type) {
    case "insecureAcceptAnything":
      readShape(bare, raw, path, issues);
      return { kind: "accept" };
    case "reject":
      readShape(bare, raw, path, issues);
      return { kind: "reject" };
    case "signedBy":
      return readSignedBy(raw, path, used, issues);
    case "sigstoreSigned":
      return readSigstoreSigned(raw, path, used, issues);
    case "signedBaseLayer":
      readIdentity(readShape(signedBaseLayerShape, raw, path, issues)?.data.baseLayerIdentity, at(path, "baseLayerIdentity"), issues, true);
      if (used) {
        issues.push({ path: typePath, message: "containers/image does not implement signedBaseLayer: it rejects every image (\"signedBaseLayer not implemented yet!\"); use reject" });
      }
      return undefined;
    default:
      issues.push({
        path: typePath,
        message:
          typeof type === "string"
            ? `Unknown policy requirement type "${type}"; containers/image knows insecureAcceptAnything, reject, signedBy and sigstoreSigned`
            : "required: insecureAcceptAnything, reject, signedBy or sigstoreSigned",
      });
      return undefined;
  }
}

function readSignedBy(raw: Record<string, unknown>, path: string, used: boolean, issues: Issues): ParsedRequirement | undefined {
  const data: Partial<z.infer<typeof signedByShape>> = readShape(signedByShape, raw, path, issues)?.data ?? {};
  const keyTypePath = at(path, "keyType");
  const keyType = data.keyType ?? undefined;
  if (isAbsent(raw.keyType)) issues.push({ path: keyTypePath, message: 'required: "GPGKeys"' });
  // Only GPGKeys verifies anything; the other values containers/image accepts reject every signature.
  if (keyType !== undefined && keyType !== "GPGKeys") {
    if (!["signedByGPGKeys", "X509Certificates", "signedByX509CAs"].includes(keyType)) {
      issues.push({ path: keyTypePath, message: `Unrecognized keyType value "${keyType}"; expected GPGKeys` });
    } else if (used) {
      issues.push({
        path: keyTypePath,
        message: `containers/image accepts keyType "${keyType}" but does not implement it (it rejects every signature); use GPGKeys`,
      });
    }
  }
  let ok = keyType === "GPGKeys";

  const sources = (["keyPath", "keyPaths", "keyData"] as const).filter((k) => data[k] !== undefined);
  if (sources.length !== 1) {
    issues.push({
      path,
      message: `exactly one of keyPath, keyPaths and keyData must be specified, ${sources.length === 0 ? "none of them present" : `got ${sources.join(", ")}`}`,
    });
    ok = false;
  }
  if (data.keyPath !== undefined) {
    optionalString(data.keyPath, at(path, "keyPath"), issues);
    if (used) issues.push({ path: at(path, "keyPath"), message: FILES_HINT });
    ok = false;
  }
  if (data.keyPaths !== undefined) {
    optionalList(data.keyPaths, at(path, "keyPaths"), issues);
    if (used) issues.push({ path: at(path, "keyPaths"), message: FILES_HINT });
    ok = false;
  }
  const keyPath = at(path, "keyData");
  const key = data.keyData !== undefined ? gpgKeyring(data.keyData, keyPath, issues) : undefined;
  const identityPath = at(path, "signedIdentity");
  const identity = readIdentity(data.signedIdentity, identityPath, issues, false);
  if (!ok || key === undefined || identity === null) return undefined;
  return { kind: "signedBy", path, key, keyPath, ...(identity ? { identity: { value: identity, path: identityPath } } : {}) };
}

function readSigstoreSigned(raw: Record<string, unknown>, path: string, used: boolean, issues: Issues): ParsedRequirement | undefined {
  const data: Partial<z.infer<typeof sigstoreSignedShape>> = readShape(sigstoreSignedShape, raw, path, issues)?.data ?? {};
  let ok = true;
  const sources = (["keyPath", "keyPaths", "keyData", "keyDatas", "fulcio", "pki"] as const).filter((k) => data[k] !== undefined);
  if (sources.length !== 1) {
    issues.push({
      path,
      message: `exactly one of keyPath, keyPaths, keyData, keyDatas, fulcio, and pki must be specified${sources.length > 0 ? `, got ${sources.join(", ")}` : ""}`,
    });
    ok = false;
  }
  for (const key of ["keyPath", "keyPaths"] as const) {
    if (data[key] === undefined) continue;
    if (used) issues.push({ path: at(path, key), message: FILES_HINT });
    ok = false;
  }
  if (data.pki !== undefined) {
    optionalRecord(data.pki, at(path, "pki"), issues);
    if (used) {
      issues.push({
        path: at(path, "pki"),
        message: "certificate-based sigstore verification (pki) is not supported: trustgate verifies sigstore signatures by public key (keyData) or Fulcio identity (fulcio)",
      });
    }
    ok = false;
  }
  const rekor = REKOR_KEYS.filter((k) => data[k] !== undefined);
  if (rekor.length > 1) {
    issues.push({ path, message: "at most one of rekorPublicKeyPath, rekorPublicKeyPaths, rekorPublicKeyData and rekorPublicKeyDatas can be used simultaneously" });
    ok = false;
  }
  let keyless: Extract<ParsedRequirement, { kind: "sigstore" }>["keyless"];
  if (data.fulcio !== undefined) {
    const fulcio = readFulcio(data as Record<string, unknown>, rekor, path, used, issues);
    if (fulcio) keyless = fulcio;
    else ok = false;
  } else {
    for (const key of rekor) {
      if (used) {
        issues.push({
          path: at(path, key),
          message: "transparency-log (Rekor) checks of key-based signatures are not supported: trustgate cannot require a Rekor SET; remove it to verify by key alone",
        });
      }
      ok = false;
    }
  }

  const dataPath = at(path, "keyData");
  const datasPath = at(path, "keyDatas");
  const keys = readSigstoreKeys(data, dataPath, datasPath, issues);
  if (!keys) ok = false;
  const identityPath = at(path, "signedIdentity");
  const identity = readIdentity(data.signedIdentity, identityPath, issues, false);
  if (!ok || !keys || (keys.length === 0 && !keyless) || identity === null) return undefined;
  return {
    kind: "sigstore",
    path,
    keys,
    keysPath: data.keyDatas !== undefined ? datasPath : dataPath,
    ...(identity ? { identity: { value: identity, path: identityPath } } : {}),
    ...(keyless ? { keyless } : {}),
  };
}

const fulcioShape = mapping({ caPath: nested(), caData: nested(), oidcIssuer: nested(), subjectEmail: nested() });

/**
 * sigstoreSigned's fulcio (containers/image signature/policy_config_sigstore.go and fulcio_cert.go):
 * the CA in caData (base64 of PEM certificates), the OIDC issuer and subject email matched exactly,
 * and a Rekor key, mandatory with fulcio, whose SET dates the signature. containers/image checks no
 * SCT, so neither does the import (ignoreSCT). Files cannot be read here: caPath and
 * rekorPublicKeyPath(s) are refused, saying to inline the data.
 */
function readFulcio(
  data: Record<string, unknown>,
  rekor: readonly (typeof REKOR_KEYS)[number][],
  path: string,
  used: boolean,
  issues: Issues,
): Extract<ParsedRequirement, { kind: "sigstore" }>["keyless"] {
  const fPath = at(path, "fulcio");
  const f: Partial<z.infer<typeof fulcioShape>> | undefined = readShape(fulcioShape, data.fulcio, fPath, issues)?.data;
  if (!f) return undefined;
  let ok = true;
  if (f.caPath !== undefined && f.caData !== undefined) {
    issues.push({ path: fPath, message: "caPath and caData cannot be used simultaneously" });
    ok = false;
  } else if (f.caPath === undefined && f.caData === undefined) {
    issues.push({ path: fPath, message: "At least one of caPath and caData must be specified" });
    ok = false;
  }
  if (f.caPath !== undefined) {
    optionalString(f.caPath, at(fPath, "caPath"), issues);
    if (used) issues.push({ path: at(fPath, "caPath"), message: "trustgate cannot read files on your hosts: give the Fulcio CA inline as caData (base64 -w0 <CA file>)" });
    ok = false;
  }
  const issuer = optionalString(f.oidcIssuer, at(fPath, "oidcIssuer"), issues);
  const subject = optionalString(f.subjectEmail, at(fPath, "subjectEmail"), issues);
  if (isAbsent(f.oidcIssuer) || issuer === "") {
    issues.push({ path: fPath, message: "oidcIssuer not specified" });
    ok = false;
  }
  if (isAbsent(f.subjectEmail) || subject === "") {
    issues.push({ path: fPath, message: "subjectEmail not specified" });
    ok = false;
  }
  if (rekor.length === 0) {
    issues.push({
      path,
      message: "At least one of rekorPublickeyPath, rekorPublicKeyPaths, rekorPublickeyData and rekorPublicKeyDatas must be specified if fulcio is used",
    });
    ok = false;
  }
  const rekorKeys: Located<string>[] = [];
  for (const key of rekor) {
    if (key === "rekorPublicKeyPath" || key === "rekorPublicKeyPaths") {
      if (used) issues.push({ path: at(path, key), message: "trustgate cannot read files on your hosts: give the Rekor public key inline as rekorPublicKeyData (base64 -w0 <key file>)" });
      ok = false;
      continue;
    }
    const read = readSigstoreKeys(
      key === "rekorPublicKeyData" ? { keyData: data[key] } : { keyDatas: data[key] },
      at(path, "rekorPublicKeyData"),
      at(path, "rekorPublicKeyDatas"),
      issues,
    );
    if (!read) ok = false;
    else rekorKeys.push(...read);
  }
  let ca: string | undefined;
  if (f.caData !== undefined) {
    const bytes = decodeBase64(f.caData, at(fPath, "caData"), issues);
    if (!bytes) ok = false;
    else ca = new TextDecoder().decode(bytes);
  }
  if (!ok || ca === undefined || issuer === undefined || subject === undefined) return undefined;
  const built = looseTrustRoot({ fulcioCertificates: ca, rekorKeys: rekorKeys.map((k) => k.value), ctLogKeys: [] });
  if (!built.ok) {
    issues.push({ path: built.what === "fulcio" ? at(fPath, "caData") : at(path, rekor[0]!), message: built.why });
    return undefined;
  }
  return { issuer, subject, trustRoot: built.root, path: fPath };
}

/** The public keys of keyData and keyDatas; undefined when one cannot be read (reported). */
function readSigstoreKeys(
  raw: { readonly keyData?: unknown; readonly keyDatas?: unknown },
  dataPath: string,
  datasPath: string,
  issues: Issues,
): Located<string>[] | undefined {
  let ok = true;
  const keys: Located<string>[] = [];
  if (raw.keyData !== undefined) {
    const key = pemKey(raw.keyData, dataPath, issues);
    if (key === undefined) ok = false;
    else keys.push({ value: key, path: dataPath });
  }
  if (raw.keyDatas !== undefined) {
    const list = optionalList(raw.keyDatas, datasPath, issues);
    if (!list || list.length === 0) {
      if (list) issues.push({ path: datasPath, message: '"keyDatas" contains no entries' });
      ok = false;
    }
    list?.forEach((entry, i) => {
      const key = pemKey(entry, at(datasPath, i), issues);
      if (key === undefined) ok = false;
      else keys.push({ value: key, path: at(datasPath, i) });
    });
  }
  return ok ? keys : undefined;
}

/** Go's encoding/json reads []byte fields as standard base64 (padding required; CR and LF skipped). */
function decodeBase64(value: unknown, path: string, issues: Issues): Uint8Array | undefined {
  const text = optionalString(value, path, issues);
  if (text === undefined) {
    if (isAbsent(value)) issues.push({ path, message: "required: base64 of the key file" });
    return undefined;
  }
  const compact = text.replace(/[\r\n]/g, "");
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 !== 0) {
    issues.push({ path, message: "not base64 (policy.json holds key data as base64 of the key file: base64 -w0 <key file>)" });
    return undefined;
  }
  const bytes = Uint8Array.from(atob(compact), (c) => c.charCodeAt(0));
  if (bytes.length === 0) {
    issues.push({ path, message: "the key data is empty" });
    return undefined;
  }
  return bytes;
}

function latin1(bytes: Uint8Array): string {
  let out = "";
  for (const b of bytes) out += String.fromCharCode(b);
  return out;
}

/**
 * A GPG keyring from keyData: containers/image reads it binary (gpg --export) or armored (--armor).
 * The native signedBy keeps armored text as it is and binary keyrings as base64.
 */
function gpgKeyring(value: unknown, path: string, issues: Issues): string | undefined {
  const bytes = decodeBase64(value, path, issues);
  if (!bytes) return undefined;
  const text = latin1(bytes).trimStart();
  if (text.startsWith("-----BEGIN ")) {
    const label = /^-----BEGIN ([A-Z0-9 ]+)-----/.exec(text)?.[1] ?? "";
    if (label === "PGP PUBLIC KEY BLOCK") return new TextDecoder().decode(bytes).trim();
    issues.push({
      path,
      message: `expected a GPG public keyring, got ${label || "an unknown armored block"}${label.includes("PRIVATE") ? " (never hand over a private key)" : ""}`,
    });
    return undefined;
  }
  // An OpenPGP packet header: bit 7 set; the tag says which packet (old or new format).
  const first = bytes[0] ?? 0;
  const tag = (first & 0x40) !== 0 ? first & 0x3f : (first >> 2) & 0x0f;
  if ((first & 0x80) === 0 || (tag !== 6 && tag !== 5)) {
    issues.push({ path, message: "not a GPG public keyring (expected the output of gpg --export, binary or --armor, in base64)" });
    return undefined;
  }
  if (tag === 5) {
    issues.push({ path, message: "this is a GPG secret key: export the public key (gpg --export), never hand over a private key" });
    return undefined;
  }
  return btoa(latin1(bytes));
}

/** A sigstore public key from keyData: base64 of the PEM file cosign wrote (cosign.pub). */
function pemKey(value: unknown, path: string, issues: Issues): string | undefined {
  const bytes = decodeBase64(value, path, issues);
  if (!bytes) return undefined;
  const text = new TextDecoder().decode(bytes).trim();
  const problem = pemProblem(text) ?? (text.includes("-----BEGIN PUBLIC KEY-----") ? undefined : "expected a PEM PUBLIC KEY, as cosign writes to cosign.pub");
  if (problem) {
    issues.push({ path, message: problem });
    return undefined;
  }
  return text;
}

/**
 * signedIdentity: absent means matchRepoDigestOrExact (undefined here); null when it is invalid
 * (reported). `required` for signedBaseLayer's baseLayerIdentity.
 */
function readIdentity(raw: unknown, path: string, issues: Issues, required: boolean): Identity | undefined | null {
  if (isAbsent(raw)) {
    if (required) issues.push({ path, message: "required" });
    return required ? null : undefined;
  }
  const identity = optionalRecord(raw, path, issues);
  if (!identity) return null;
  const type = identity.type;
  if (typeof type !== "string" || !Object.hasOwn(identityShapes, type)) {
    issues.push({
      path: at(path, "type"),
      message:
        typeof type === "string"
          ? `Unknown policy reference match type "${type}"; expected one of ${IDENTITY_TYPES}`
          : `required: one of ${IDENTITY_TYPES}`,
    });
    return null;
  }
  const shape = identityShapes[type as keyof typeof identityShapes];
  const read = readShape(shape, identity, path, issues);
  // An unknown field is reported but does not make the identity unreadable; a wrong one does.
  let ok = ![...(read?.invalid ?? [])].some((key) => Object.hasOwn(shape.def.shape, key));
  const ref = (read?.data as { dockerReference?: string } | undefined)?.dockerReference;
  if (type === "exactReference" && typeof ref === "string" && ref !== "") {
    // containers/image: the reference must carry a tag or a digest.
    const afterSlash = ref.slice(ref.lastIndexOf("/") + 1);
    if (!ref.includes("@") && !afterSlash.includes(":")) {
      issues.push({ path: at(path, "dockerReference"), message: `dockerReference "${ref}" contains neither a tag nor digest` });
      ok = false;
    }
  }
  // The identity as written: the native requirement checks it again, and names what it finds there.
  return ok ? identity : null;
}

// ---------------------------------------------------------------------------------------------
// Rules

interface Context {
  readonly kinds: RequirementKinds;
  readonly issues: Issues;
  readonly warnings: Issues;
  readonly lookaside: Record<string, unknown> | undefined;
  readonly lookasideSources: Readonly<Record<string, string>>;
}

function buildRules(policy: PolicyJson, registries: RegistriesD, kinds: RequirementKinds, issues: Issues, warnings: Issues): LocatedRule[] {
  const catchAll = policy.dockerDefault
    ? { list: policy.dockerDefault, label: 'transports.docker[""]' }
    : policy.defaultList
      ? { list: policy.defaultList, label: "default" }
      : undefined;
  const usedLists = [...[...policy.docker.values()].map((s) => s.list), ...(catchAll ? [catchAll.list] : [])];
  const signedBy = usedLists.some((l) => l.signedBy);
  const { lookaside, sources } = signedBy ? lookasideFor(registries, issues) : { lookaside: undefined, sources: {} };
  const ctx: Context = { kinds, issues, warnings, lookaside, lookasideSources: sources };

  /** containers/image reads sigstore attachments for an image when the first registries.d entry
   * on its lookup list that sets use-sigstore-attachments says true (registries_d.go). */
  const attachmentsFor = (chain: readonly string[]): { value: boolean; from: string } => {
    for (const name of chain) {
      const ns = registries.docker.get(name);
      if (ns?.attachments) return { value: ns.attachments.value, from: `registries.d docker["${name}"]` };
    }
    const fallback = registries.defaultDocker?.attachments;
    return fallback ? { value: fallback.value, from: "registries.d default-docker" } : { value: false, from: "not set in registries.d" };
  };
  const policyScopeFor = (chain: readonly string[]) => {
    for (const name of chain) {
      const found = policy.docker.get(name);
      if (found) return { list: found.list, label: `transports.docker["${name}"]` };
    }
    return catchAll;
  };

  const rules: LocatedRule[] = [];
  const emit = (patterns: readonly string[], list: RequirementList, label: string, chain: readonly string[], via?: string) => {
    const hasSigstore = list.requirements.some((r) => r?.kind === "sigstore");
    const attachments = hasSigstore ? attachmentsFor(chain) : undefined;
    const require = requirementsOf(list, attachments?.value ?? false, ctx);
    if (!require) return;
    let description = label;
    if (via) description += `, for ${via}`;
    if (attachments) {
      description += attachments.value
        ? `; sigstore attachments read (use-sigstore-attachments: ${attachments.from})`
        : `; use-sigstore-attachments is not true for these images (${attachments.from}): containers/image finds no sigstore signature`;
    }
    for (const pattern of patterns) rules.push({ rule: { pattern, require, description }, path: list.path });
  };

  for (const [name, { scope, list }] of policy.docker) {
    emit(scope.patterns, list, `transports.docker["${name}"]`, scope.chain);
  }
  // A registries.d entry can switch sigstore attachments for part of a policy scope: those images
  // get a rule of their own, with the policy scope's requirements.
  for (const [name, ns] of registries.docker) {
    if (!ns.attachments || policy.docker.has(name)) continue;
    const owner = policyScopeFor(ns.scope.chain);
    if (!owner || !owner.list.requirements.some((r) => r?.kind === "sigstore")) continue;
    emit(ns.scope.patterns, owner.list, owner.label, ns.scope.chain, `images in registries.d docker["${name}"]`);
  }
  if (catchAll) emit(["*"], catchAll.list, catchAll.label, []);
  return rules;
}

/** The lookaside of every signedBy: registries.d default-docker and docker scopes, http(s) only. */
function lookasideFor(
  registries: RegistriesD,
  issues: Issues,
): { lookaside: Record<string, unknown> | undefined; sources: Record<string, string> } {
  const sources: Record<string, string> = {};
  const check = (located: Located<string>): boolean => {
    const scheme = /^([A-Za-z][A-Za-z0-9+.-]*):/.exec(located.value)?.[1]?.toLowerCase();
    if (scheme === "http" || scheme === "https") return true;
    issues.push({
      path: located.path,
      message:
        scheme === "file"
          ? "trustgate can only read signatures over http(s): serve this directory over HTTPS (any static web server) and give its URL"
          : `expected an http(s) URL for the signature store, got "${located.value}"`,
    });
    return false;
  };
  let fallback: string | undefined;
  const own = registries.defaultDocker?.lookaside;
  if (own && check(own)) {
    fallback = own.value;
    sources["lookaside.default"] = own.path;
  }
  const scopes: Record<string, string> = {};
  for (const [name, ns] of registries.docker) {
    if (!ns.lookaside || !check(ns.lookaside)) continue;
    scopes[name] = ns.lookaside.value;
    sources[`lookaside.scopes.${name}`] = ns.lookaside.path;
  }
  const hasScopes = Object.keys(scopes).length > 0;
  if (fallback === undefined && !hasScopes) return { lookaside: undefined, sources };
  return { lookaside: { ...(fallback !== undefined ? { default: fallback } : {}), ...(hasScopes ? { scopes } : {}) }, sources };
}

/** The native requirements of one scope, or undefined when one of them could not be read. */
function requirementsOf(list: RequirementList, attachments: boolean, ctx: Context): Requirement[] | undefined {
  if (list.requirements.some((r) => r === undefined)) return undefined;
  const out: Requirement[] = [];
  for (const parsed of list.requirements) {
    if (!parsed || parsed.kind === "accept") continue;
    if (parsed.kind === "reject") {
      out.push({ type: "deny", message: REJECT_MESSAGE });
      continue;
    }
    if (parsed.kind === "signedBy") {
      const raw: Requirement = {
        type: "signedBy",
        keys: [parsed.key],
        ...(parsed.identity ? { signedIdentity: parsed.identity.value } : {}),
        ...(ctx.lookaside ? { lookaside: ctx.lookaside } : {}),
      };
      const sources: Record<string, string> = {
        "": parsed.path,
        keys: parsed.keyPath,
        ...(parsed.identity ? { signedIdentity: parsed.identity.path } : {}),
        ...ctx.lookasideSources,
      };
      out.push(checkRequirement(raw, ctx.kinds, sources, ctx.issues, ctx.warnings));
      continue;
    }
    if (!attachments) {
      out.push({ type: "deny", message: NO_SIGNATURE_MESSAGE });
      continue;
    }
    const raw: Requirement = {
      type: "cosign",
      ...(parsed.keys.length > 0 ? { keys: parsed.keys.map((k, i) => ({ name: `key-${i + 1}`, key: k.value })) } : {}),
      ...(parsed.keyless
        ? {
            keyless: {
              identities: [{ name: "fulcio", issuer: parsed.keyless.issuer, subject: parsed.keyless.subject }],
              trustRoot: parsed.keyless.trustRoot,
              // containers/image checks no SCT (fulcio_cert.go).
              ignoreSCT: true,
            },
          }
        : {}),
      // containers/image's default; cosign's own payloads name a repository only.
      signedIdentity: parsed.identity?.value ?? { type: "matchRepoDigestOrExact" },
    };
    const sources: Record<string, string> = {
      "": parsed.path,
      keys: parsed.keysPath,
      ...(parsed.keyless ? { keyless: parsed.keyless.path } : {}),
      ...(parsed.identity ? { signedIdentity: parsed.identity.path } : {}),
    };
    parsed.keys.forEach((k, i) => (sources[`keys[${i}]`] = k.path));
    out.push(checkRequirement(raw, ctx.kinds, sources, ctx.issues, ctx.warnings));
  }
  // insecureAcceptAnything alone admits; next to other requirements it adds nothing.
  return out.length > 0 ? out : [{ type: "allow" }];
}

// ---------------------------------------------------------------------------------------------
// What the user should know: the PUT answer has no room for it, the stored policy does.

function describe(policy: PolicyJson, registries: RegistriesD): string | undefined {
  const notes: string[] = [];
  if (policy.ignored.size > 0) {
    const list = [...policy.ignored].map(([name, n]) => `${name} (${n} scope${n === 1 ? "" : "s"})`).join(", ");
    notes.push(`Ignored transports: ${list}. trustgate decides registry images (docker:) only; they stay in the stored document.`);
  }
  if (policy.dockerDefault && policy.defaultList) {
    notes.push('The global default decides no docker: image: transports.docker[""] applies first.');
  }
  const lists = [...[...policy.docker.values()].map((s) => s.list), policy.dockerDefault ?? policy.defaultList].filter(
    (l): l is RequirementList => l !== undefined,
  );
  if (lists.some((l) => l.signedBy) && !registries.defaultDocker?.lookaside) {
    notes.push(
      "Images without a registries.d lookaside get their simple signatures from the registry's signature " +
        "extension (X-Registry-Supports-Signatures) only; containers/image would also read file:///var/lib/containers/sigstore.",
    );
  }
  if (notes.length === 0) return undefined;
  const text = `Imported from containers-policy.json. ${notes.join(" ")}`;
  return text.length > MAX_DESCRIPTION ? `${text.slice(0, MAX_DESCRIPTION - 1)}…` : text;
}
