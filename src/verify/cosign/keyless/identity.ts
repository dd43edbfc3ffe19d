// Who a Fulcio certificate names, and whether a policy's identities accept it.
//
// Read as sigstore-go's certificate.SummarizeCertificate does: the issuer from OID
// 1.3.6.1.4.1.57264.1.8 (a DER string), else the legacy 1.3.6.1.4.1.57264.1.1 (raw bytes); the
// subject from the SAN: the first URI, else the first email, else the first otherName (Fulcio's
// 1.3.6.1.4.1.57264.1.7, a UTF8String username); the legacy GitHub extensions .1.2–.1.6 are raw
// strings, .1.9 and later DER strings.
//
// Regular expressions are matched as cosign and sigstore-go match --certificate-identity-regexp
// and --certificate-oidc-issuer-regexp: Go's regexp.MatchString, which is NOT anchored ("github"
// matches any subject containing it); write ^…$ to pin the whole value. They run here as
// JavaScript RegExps, so compileIdentityRegExp refuses any syntax that RE2 and JavaScript read
// differently, or that only one of them accepts.
import { DerError, TAG, decodeStringValue, parseSubjectAltNames, readSingle, type Certificate } from "../../shared/der";
import { utf8DecodeStrict } from "../../shared/encoding";
import type { Parsed } from "../payload";
import { MAX_REGEXP_LENGTH } from "./limits";
import { FULCIO_EXTENSIONS, type FulcioExtensionName, type FulcioIdentity, type IdentityMatcher } from "./types";

const OID_ISSUER_V1 = "1.3.6.1.4.1.57264.1.1";
const OID_ISSUER_V2 = "1.3.6.1.4.1.57264.1.8";
const OID_OTHERNAME = "1.3.6.1.4.1.57264.1.7";
const OID_SAN = "2.5.29.17";
const LEGACY = new Set(["1.3.6.1.4.1.57264.1.2", "1.3.6.1.4.1.57264.1.3", "1.3.6.1.4.1.57264.1.4", "1.3.6.1.4.1.57264.1.5", "1.3.6.1.4.1.57264.1.6"]);
const NAME_BY_OID = new Map<string, FulcioExtensionName>(Object.entries(FULCIO_EXTENSIONS).map(([name, oid]) => [oid, name as FulcioExtensionName]));

function rawString(value: Uint8Array, oid: string): string {
  const text = utf8DecodeStrict(value);
  if (text === undefined) throw new DerError(`the extension ${oid} is not UTF-8`);
  return text;
}

function derString(value: Uint8Array, oid: string): string {
  const node = readSingle(value);
  if (node.tag !== TAG.UTF8_STRING && node.tag !== TAG.PRINTABLE_STRING && node.tag !== TAG.IA5_STRING) {
    throw new DerError(`the extension ${oid} is not a DER string`);
  }
  return decodeStringValue(node);
}

/** The identity a Fulcio certificate names; throws DerError when it names none or does not read. */
export function fulcioIdentity(cert: Certificate): FulcioIdentity {
  let issuerV1: string | undefined;
  let issuerV2: string | undefined;
  const extensions: Partial<Record<FulcioExtensionName, string>> = {};
  let san: Uint8Array | undefined;
  for (const ext of cert.extensions) {
    if (ext.oid === OID_ISSUER_V1) issuerV1 = rawString(ext.value, ext.oid);
    else if (ext.oid === OID_ISSUER_V2) issuerV2 = derString(ext.value, ext.oid);
    else if (ext.oid === OID_SAN) san = ext.value;
    else {
      const name = NAME_BY_OID.get(ext.oid);
      if (name) extensions[name] = LEGACY.has(ext.oid) ? rawString(ext.value, ext.oid) : derString(ext.value, ext.oid);
    }
  }
  const issuer = issuerV2 ?? issuerV1;
  if (issuer === undefined) throw new DerError("the certificate names no OIDC issuer (Fulcio extension 1.3.6.1.4.1.57264.1.8 or .1.1)");
  if (!san) throw new DerError("the certificate has no subject alternative name");
  const names = parseSubjectAltNames(san);
  const named = (kind: "uri" | "email") => {
    for (const n of names) if (n.kind === kind) return n.value;
    return undefined;
  };
  let subject = named("uri") ?? named("email");
  if (subject === undefined) {
    const other = names.find((n) => n.kind === "otherName");
    if (other && other.kind === "otherName") {
      if (other.typeId !== OID_OTHERNAME) throw new DerError(`the certificate's otherName is ${other.typeId}, not Fulcio's ${OID_OTHERNAME}`);
      if (other.value.tag !== TAG.UTF8_STRING) throw new DerError("the certificate's otherName is not a UTF8String");
      subject = decodeStringValue(other.value);
    }
  }
  if (subject === undefined || subject === "") throw new DerError("the certificate's subject alternative name holds no URI, email or username");
  return { issuer, subject, extensions };
}

const compiled = new Map<string, Parsed<RegExp>>();

/**
 * A regular expression for an identity's issuerRegExp / subjectRegExp, matched unanchored (Go's
 * MatchString). Refused: what RE2 and JavaScript read differently or only one accepts — groups
 * other than (…) and (?:…) (flags, lookaround, named groups), backreferences and octal escapes,
 * \p / \P classes, \s (Unicode spaces in JavaScript, ASCII in RE2), \A \z \Q \E, [[:alpha:]],
 * "[]…]" and "[^]…]", counts over 1000. Compiled with the "u" flag, so escapes JavaScript would
 * read as literals are errors too.
 */
export function compileIdentityRegExp(text: string): Parsed<RegExp> {
  const hit = compiled.get(text);
  if (hit) return hit;
  const result = compileUncached(text);
  if (compiled.size >= 256) compiled.delete(compiled.keys().next().value!);
  compiled.set(text, result);
  return result;
}

function compileUncached(text: string): Parsed<RegExp> {
  if (text.length > MAX_REGEXP_LENGTH) return { ok: false, why: `the regular expression is over ${MAX_REGEXP_LENGTH} characters` };
  const refuse = (why: string): Parsed<RegExp> => ({ ok: false, why: `the regular expression ${JSON.stringify(text)} ${why}` });
  let inClass = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === "\\") {
      const n = text[i + 1];
      if (n === undefined) return refuse("ends with a backslash");
      if (/[0-9]/.test(n)) return refuse(`uses \\${n}: backreferences and octal escapes differ between Go (RE2) and JavaScript`);
      if (/[pP]/.test(n)) return refuse(`uses \\${n}: Unicode classes are spelled differently in Go (RE2) and JavaScript`);
      if (n === "s" || n === "S") return refuse(`uses \\${n}: Go's \\s is ASCII whitespace, JavaScript's is Unicode; write [ \\t\\n\\f\\r] instead`);
      if (/[AzQEkCxc]/.test(n) && !(n === "x" && /^[0-9A-Fa-f]{2}$/.test(text.slice(i + 2, i + 4)))) return refuse(`uses \\${n}, which Go (RE2) and JavaScript read differently`);
      i++;
      continue;
    }
    if (inClass) {
      if (c === "]") inClass = false;
      else if (c === "[" && text[i + 1] === ":") return refuse("uses a POSIX class [:…:], which JavaScript does not know");
      else if (c === "[") return refuse("has \"[\" inside a character class; escape it as \\[");
      continue;
    }
    if (c === "[") {
      inClass = true;
      if (text[i + 1] === "^") i++;
      if (text[i + 1] === "]") return refuse("starts a character class with \"]\", which Go reads as a literal and JavaScript as an empty class");
      continue;
    }
    if (c === "(" && text[i + 1] === "?" && text[i + 2] !== ":") return refuse("uses a (?…) group other than (?:…): flags, lookaround and named groups differ between Go (RE2) and JavaScript");
    if (c === "{") {
      const m = /^\{(\d+)(,(\d*))?\}/.exec(text.slice(i));
      if (m && (Number(m[1]) > 1000 || Number(m[3] || 0) > 1000)) return refuse("repeats more than 1000 times, which Go refuses");
    }
  }
  try {
    return { ok: true, value: new RegExp(text, "u") };
  } catch (err) {
    return refuse(`is not valid: ${(err as Error).message}`);
  }
}

/** Why `m` does not accept `id`, or undefined when it does. */
export function matcherProblem(m: IdentityMatcher, id: FulcioIdentity): string | undefined {
  if (m.issuer !== undefined && m.issuer !== id.issuer) return `issuer ${id.issuer} is not ${m.issuer}`;
  if (m.issuerRegExp !== undefined) {
    const re = compileIdentityRegExp(m.issuerRegExp);
    if (!re.ok) return re.why;
    if (!re.value.test(id.issuer)) return `issuer ${id.issuer} does not match ${m.issuerRegExp}`;
  }
  if (m.subject !== undefined && m.subject !== id.subject) return `subject ${id.subject} is not ${m.subject}`;
  if (m.subjectRegExp !== undefined) {
    const re = compileIdentityRegExp(m.subjectRegExp);
    if (!re.ok) return re.why;
    if (!re.value.test(id.subject)) return `subject ${id.subject} does not match ${m.subjectRegExp}`;
  }
  for (const [name, wanted] of Object.entries(m.extensions ?? {})) {
    if (wanted === undefined) continue;
    const found = id.extensions[name as FulcioExtensionName];
    if (found !== wanted) return `${name} is ${found === undefined ? "absent" : JSON.stringify(found)}, not ${JSON.stringify(wanted)}`;
  }
  return undefined;
}
