// Rule patterns: one table of image × pattern(s) × style → expected winner, plus syntax errors.
import { describe, expect, it } from "vitest";
import {
  compilePattern,
  compareSpecificity,
  normalizedPattern,
  pickMostSpecific,
  PatternSyntaxError,
  type PatternStyle,
} from "../../src/policy/pattern";
import type { ImageReference } from "../../src/reference";

const STYLES: readonly PatternStyle[] = ["native", "portieris", "connaisseur"];
const D1 = `sha256:${"a".repeat(64)}`;
const D2 = `sha256:${"b".repeat(64)}`;

/**
 * Builds an already-normalised reference from "registry/path[:tag][@digest]" (tests always write the
 * registry). Deliberately independent of parseReference.
 */
function ref(text: string): ImageReference {
  let rest = text;
  let digest: string | undefined;
  const at = rest.indexOf("@");
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(":");
  if (colon > rest.lastIndexOf("/")) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  if (tag === undefined && digest === undefined) tag = "latest";
  const slash = rest.indexOf("/");
  const registry = rest.slice(0, slash);
  const path = rest.slice(slash + 1);
  const canonical = rest + (tag !== undefined ? `:${tag}` : "") + (digest !== undefined ? `@${digest}` : "");
  return {
    registry,
    path,
    name: rest,
    ...(tag !== undefined ? { tag } : {}),
    ...(digest !== undefined ? { digest } : {}),
    canonical,
  };
}

interface Candidate {
  readonly id: number;
  readonly pattern: ReturnType<typeof compilePattern>;
}

function winner(style: PatternStyle, image: string, patterns: readonly string[]): string | null {
  const candidates: Candidate[] = patterns.map((p, id) => ({ id, pattern: compilePattern(p, style) }));
  const best = pickMostSpecific(ref(image), candidates);
  return best === undefined ? null : `${best.id}:${best.pattern.source}`;
}

type Row = readonly [
  note: string,
  styles: readonly PatternStyle[] | "all",
  image: string,
  patterns: readonly string[],
  /** The winning pattern; null = nothing matches. For a single pattern: match or no match. */
  expected: string | null,
];

const ALL = "all" as const;
const N: readonly PatternStyle[] = ["native"];
const P: readonly PatternStyle[] = ["portieris"];
const C: readonly PatternStyle[] = ["connaisseur"];

// prettier-ignore
const TABLE: readonly Row[] = [
  // --- catch-alls and tag/digest parts (matching is the same in every style)
  ["bare * matches everything", ALL, "quay.io/org/app:1", ["*"], "*"],
  ["*:* is Connaisseur's catch-all", ALL, "docker.io/library/nginx:1.25", ["*:*"], "*:*"],
  ["bare ':*' also covers digest-only references", ALL, `docker.io/library/nginx@${D1}`, ["*:*"], "*:*"],
  ["digest glob matches a digest reference", ALL, `docker.io/library/nginx@${D1}`, ["*@sha256:*"], "*@sha256:*"],
  ["digest glob needs a digest", ALL, "docker.io/library/nginx:1.25", ["*@sha256:*"], null],
  ["tag-only catch-all", ALL, "quay.io/a/b:test", ["*:test"], "*:test"],
  ["tag-only catch-all, other tag", ALL, "quay.io/a/b:v1", ["*:test"], null],
  ["library glob", ALL, "docker.io/library/nginx:1.25", ["docker.io/library/*:*"], "docker.io/library/*:*"],
  ["tag glob", ALL, "docker.io/library/nginx:1.25", ["docker.io/library/nginx:1.*"], "docker.io/library/nginx:1.*"],
  ["tag glob, other tag", ALL, "docker.io/library/nginx:2.0", ["docker.io/library/nginx:1.*"], null],
  ["tag glob needs a tag: digest-only reference", ALL, `docker.io/library/nginx@${D1}`, ["docker.io/library/nginx:1.*"], null],
  ["tag glob checks the tag of tag+digest", ALL, `docker.io/library/nginx:1.25@${D1}`, ["docker.io/library/nginx:1.*"], "docker.io/library/nginx:1.*"],
  ["no tag part: any tag", ALL, "docker.io/library/nginx:anything", ["docker.io/library/nginx"], "docker.io/library/nginx"],
  ["no tag part: any digest", ALL, `docker.io/library/nginx@${D1}`, ["docker.io/library/nginx"], "docker.io/library/nginx"],
  ["pinned digest", ALL, `docker.io/library/nginx@${D1}`, [`docker.io/library/nginx@${D1}`], `docker.io/library/nginx@${D1}`],
  ["pinned digest, other digest", ALL, `docker.io/library/nginx@${D2}`, [`docker.io/library/nginx@${D1}`], null],
  ["tag is anchored: 1.2 is not 1.20", ALL, "docker.io/library/nginx:1.20", ["docker.io/library/nginx:1.2"], null],
  ["uppercase tags are kept", ALL, "docker.io/library/nginx:RC1", ["docker.io/library/nginx:RC*"], "docker.io/library/nginx:RC*"],

  // --- short names are normalised as Docker does
  ["short name with tag glob", ALL, "docker.io/library/nginx:latest", ["nginx:*"], "nginx:*"],
  ["short name is a whole name", ALL, "docker.io/library/nginx-evil:1", ["nginx"], null],
  ["docker.io/nginx means library/nginx", ALL, "docker.io/library/nginx:1", ["docker.io/nginx"], "docker.io/nginx"],
  ["index.docker.io is docker.io", ALL, "docker.io/library/nginx:1", ["index.docker.io/library/nginx"], "index.docker.io/library/nginx"],
  ["namespace short form", ALL, "docker.io/library/redis:7", ["library/*"], "library/*"],
  ["user repo short form", ALL, "docker.io/team/app:1", ["team/app"], "team/app"],
  ["short form is Docker Hub only", ALL, "quay.io/team/app:1", ["team/app"], null],
  ["docker.io/* covers official images", ALL, "docker.io/library/redis:7", ["docker.io/*"], "docker.io/*"],

  // --- paths: '*' crosses '/'
  ["path * spans '/'", ALL, "registry.example.com/team/a/b:1", ["registry.example.com/team/*:*"], "registry.example.com/team/*:*"],
  ["other namespace", ALL, "registry.example.com/other/app:1", ["registry.example.com/team/*"], null],
  ["any registry, fixed path", ALL, "quay.io/library/nginx:1", ["*/library/nginx"], "*/library/nginx"],
  ["*/* needs a registry and a path: everything", ALL, "docker.io/library/nginx:1", ["*/*"], "*/*"],

  // --- registries, ports, case
  ["port pattern", ALL, "127.0.0.1:5000/demo/app:v1", ["127.0.0.1:5000/demo/app"], "127.0.0.1:5000/demo/app"],
  ["other port", ALL, "127.0.0.1:5001/demo/app:v1", ["127.0.0.1:5000/demo/app"], null],
  ["port wildcard", ALL, "127.0.0.1:41234/demo/app:v1", ["127.0.0.1:*/demo/*"], "127.0.0.1:*/demo/*"],
  ["localhost registry", ALL, "localhost:5000/x:1", ["localhost:5000/*"], "localhost:5000/*"],
  ["a port is part of the registry", ALL, "registry.example.com:443/x:1", ["registry.example.com/*"], null],
  ["any host on a port", ALL, "127.0.0.1:5000/x:1", ["*:5000/*"], "*:5000/*"],
  ["any host on a port, no port", ALL, "registry.example.com/x:1", ["*:5000/*"], null],
  ["registry match ignores case", ALL, "registry.example.com/team/app:1", ["Registry.Example.COM/team/*"], "Registry.Example.COM/team/*"],
  ["reference registry case is folded too", ALL, "Foo.io/app:1", ["foo.io/*"], "foo.io/*"],

  // --- anchoring: the registry part never reaches into the path, nor into another host
  ["subdomain glob", ALL, "a.trusted.io/y:1", ["*.trusted.io/*"], "*.trusted.io/*"],
  ["leading star spans labels", ALL, "a.b.trusted.io/y:1", ["*.trusted.io/*"], "*.trusted.io/*"],
  ["subdomain glob needs a subdomain", ALL, "trusted.io/y:1", ["*.trusted.io/*"], null],
  ["BYPASS: trusted host in the path", ALL, "evil.com/x.trusted.io/y:1", ["*.trusted.io/*"], null],
  ["BYPASS: a star cannot widen the named domain", ALL, "eviltrusted.io/y:1", ["*.trusted.io/*"], null],
  ["a mid-label star stays under the named domain", ALL, "registry.evil.com/myorg/x:1", ["registry*.example.com/myorg/*"], null],
  ["a star never reaches the port", ALL, "a.trusted.io:5000/y:1", ["*.trusted.io/*"], null],
  ["Portieris: registry*.example.com legit", ALL, "registry01.example.com/myorg/worker:v1", ["registry*.example.com/myorg/*"], "registry*.example.com/myorg/*"],
  ["Portieris BYPASS: registry*.example.com", ALL, "registry.attacker.com/x.example.com/myorg/evil:1", ["registry*.example.com/myorg/*"], null],
  ["Portieris BYPASS: *.registry.example.com", ALL, "attacker.com/x.registry.example.com/myorg/malware:latest", ["*.registry.example.com/myorg/*"], null],
  ["Portieris BYPASS: host embedded in path", ALL, "evil.io/trusted.example.com/myorg/myimage:demo", ["trusted.example.com/*"], null],
  ["Portieris: other host", ALL, "evilreg.io/myorg/foo:latest", ["registry.example.com/myorg/*"], null],
  ["Connaisseur v3 BYPASS: implicit leading *", ALL, "evil.io/docker.io/library/nginx:1", ["docker.io/library/nginx"], null],
  ["Connaisseur v3 BYPASS: implicit trailing *", ALL, "docker.io/library/nginx-backdoor:1", ["docker.io/library/nginx"], null],

  // --- Portieris documented examples (POLICIES.md, default policies, tests)
  ["Portieris: allow-all-icrio", P, "icr.io/ns/app:1", ["icr.io/*"], "icr.io/*"],
  ["Portieris: default cluster policy", P, "quay.io/anything:1", ["*"], "*"],
  ["Portieris: db2mirror pinned tag", P, "uk.icr.io/mymirror/db2/db2manager:6.1.0.0", ["uk.icr.io/mymirror/db2/db2manager:6.1.0.0"], "uk.icr.io/mymirror/db2/db2manager:6.1.0.0"],
  ["Portieris: db2mirror other tag", P, "uk.icr.io/mymirror/db2/db2manager:6.1.0.1", ["uk.icr.io/mymirror/db2/db2manager:6.1.0.0"], null],
  ["Portieris: repo without tag matches tagged image", P, "test.com/namespace/image:tag", ["test.com/namespace/image"], "test.com/namespace/image"],
  ["Portieris: no matching repo", P, "unknown.com/hello:1", ["test.com/*"], null],
  ["Portieris: armada, regional host", P, "us.icr.io/armada/master:1", ["*", "registry*.bluemix.net/armada/*", "*.icr.io/armada/*", "icr.io/armada/*"], "*.icr.io/armada/*"],
  ["Portieris: armada, global host", P, "icr.io/armada/master:1", ["*", "registry*.bluemix.net/armada/*", "*.icr.io/armada/*", "icr.io/armada/*"], "icr.io/armada/*"],
  ["Portieris: armada, bluemix region", P, "registry.ng.bluemix.net/armada/x:1", ["*", "registry*.bluemix.net/armada/*", "icr.io/armada/*"], "registry*.bluemix.net/armada/*"],
  ["Portieris: armada, other bluemix repo", P, "registry.ng.bluemix.net/other/x:1", ["*", "registry*.bluemix.net/armada/*", "icr.io/armada/*"], "*"],
  ["Portieris: armada, other image", P, "docker.io/library/nginx:1", ["*", "*.icr.io/armada/*", "icr.io/armada/*"], "*"],
  ["Portieris: exact wins over a more specific-looking mirror rule", P, "uk.icr.io/mymirror/db2/db2manager:6.1.0.0", ["uk.icr.io/*", "uk.icr.io/mymirror/db2/db2manager:6.1.0.0"], "uk.icr.io/mymirror/db2/db2manager:6.1.0.0"],
  ["Portieris: longer literal wins", P, "icr.io/team/app:1", ["icr.io/*", "icr.io/team/*"], "icr.io/team/*"],

  // --- exact match wins, even declared later and tied on literal length
  ["exact wins a literal-length tie", ALL, "docker.io/library/nginx:1.25", ["docker.io/library/nginx*:1.25", "docker.io/library/nginx:1.25"], "docker.io/library/nginx:1.25"],
  ["exact wins on a digest reference", ALL, `docker.io/library/nginx@${D1}`, ["docker.io/library/nginx*", `docker.io/library/nginx@${D1}`], `docker.io/library/nginx@${D1}`],

  // --- ties and tie-breaks, where the styles differ
  ["Portieris tie: first declared", P, "icr.io/ab:1", ["icr.io/*b", "icr.io/a*"], "icr.io/*b"],
  ["native tie-break: longer literal prefix", N, "icr.io/ab:1", ["icr.io/*b", "icr.io/a*"], "icr.io/a*"],
  ["Connaisseur: longer common prefix", C, "icr.io/ab:1", ["icr.io/*b", "icr.io/a*"], "icr.io/a*"],
  ["Portieris tie: first declared (2)", P, "quay.io/abc:1", ["quay.io/*a*c", "quay.io/a*c"], "quay.io/*a*c"],
  ["native tie-break: fewer stars", N, "quay.io/abc:1", ["quay.io/*a*c", "quay.io/a*c"], "quay.io/a*c"],
  ["Connaisseur: common prefix decides", C, "quay.io/abc:1", ["quay.io/*a*c", "quay.io/a*c"], "quay.io/a*c"],
  ["identical patterns: first declared", ALL, "docker.io/library/nginx:1", ["*", "*"], "*"],

  // --- native specificity
  ["native: exact repository beats namespace", N, `docker.io/library/busybox@${D1}`, ["docker.io/library/*", "docker.io/library/busybox"], "docker.io/library/busybox"],
  ["native: tag glob beats bare repository", N, "docker.io/library/nginx:1.25", ["*:*", "docker.io/library/nginx", "docker.io/library/nginx:1.*"], "docker.io/library/nginx:1.*"],
  ["native: *:* beats *", N, "docker.io/library/nginx:1.25", ["*", "*:*"], "*:*"],
  ["native: short and long forms rank alike", N, "docker.io/library/nginx:1", ["docker.io/library/*", "nginx"], "nginx"],
  ["digest glob beats tag glob", ALL, `docker.io/library/nginx@${D1}`, ["docker.io/library/nginx:*", "docker.io/library/nginx@sha256:*"], "docker.io/library/nginx@sha256:*"],

  // --- Connaisseur documented examples (docs/basics.md "Image policy")
  ["Connaisseur doc: superrepo → rule 1", C, "docker.io/superrepo/myimg:v1", ["*:*", "docker.io/myrepo/*:*", "docker.io/myrepo/myimg:*"], "*:*"],
  ["Connaisseur doc: superimg → rule 2", C, "docker.io/myrepo/superimg:v1", ["*:*", "docker.io/myrepo/*:*", "docker.io/myrepo/myimg:*"], "docker.io/myrepo/*:*"],
  ["Connaisseur doc: myimg → rule 3", C, "docker.io/myrepo/myimg:v1", ["*:*", "docker.io/myrepo/*:*", "docker.io/myrepo/myimg:*"], "docker.io/myrepo/myimg:*"],
  ["Connaisseur doc: allowedimage:v1", C, "docker.io/myrepo/allowedimage:v1", ["*:*", "docker.io/myrepo/*:*", "docker.io/myrepo/deniedimage:*", "docker.io/myrepo/allowedimage:v*"], "docker.io/myrepo/allowedimage:v*"],
  ["Connaisseur doc: allowedimage:latest", C, "docker.io/myrepo/allowedimage:latest", ["*:*", "docker.io/myrepo/*:*", "docker.io/myrepo/deniedimage:*", "docker.io/myrepo/allowedimage:v*"], "docker.io/myrepo/*:*"],
  ["Connaisseur doc: deniedimage", C, "docker.io/myrepo/deniedimage:1", ["*:*", "docker.io/myrepo/*:*", "docker.io/myrepo/deniedimage:*", "docker.io/myrepo/allowedimage:v*"], "docker.io/myrepo/deniedimage:*"],
  ["Connaisseur doc: deniedimage by digest", C, `docker.io/myrepo/deniedimage@${D1}`, ["*:*", "docker.io/myrepo/*:*", "docker.io/myrepo/deniedimage:*"], "docker.io/myrepo/deniedimage:*"],
  ["Connaisseur doc: k8s.gcr.io", C, "k8s.gcr.io/pause:3.1", ["*:*", "k8s.gcr.io/*:*", "docker.io/securesystemsengineering/*:*", "docker.io/library/*:*"], "k8s.gcr.io/*:*"],
  ["Connaisseur doc: securesystemsengineering", C, "docker.io/securesystemsengineering/connaisseur:v3", ["*:*", "k8s.gcr.io/*:*", "docker.io/securesystemsengineering/*:*", "docker.io/library/*:*"], "docker.io/securesystemsengineering/*:*"],
  ["Connaisseur doc: official image", C, "docker.io/library/nginx:1", ["*:*", "k8s.gcr.io/*:*", "docker.io/securesystemsengineering/*:*", "docker.io/library/*:*"], "docker.io/library/*:*"],
  ["Connaisseur doc: anything else", C, "quay.io/x/y:1", ["*:*", "k8s.gcr.io/*:*", "docker.io/securesystemsengineering/*:*", "docker.io/library/*:*"], "*:*"],
  ["Connaisseur: more components win", C, "docker.io/securesystemsengineering/sample:v1", ["*:*", "*/*"], "*/*"],
  ["Connaisseur: more components win (2)", C, "docker.io/securesystemsengineering/sample:v1", ["docker.io/*", "*/*/*"], "*/*/*"],
  ["native: more literal characters win", N, "docker.io/securesystemsengineering/sample:v1", ["docker.io/*", "*/*/*"], "docker.io/*"],
  ["Connaisseur: longer component wins", C, "docker.io/securesystemsengineering/sample:v1", ["*", "*:*"], "*:*"],
  ["Connaisseur: common prefix before length", C, "docker.io/securesystemsengineering/sample:v1", ["docker.io/*systemsengineering/*", "docker.io/se*/*"], "docker.io/se*/*"],
  ["native: literal length, whatever the prefix", N, "docker.io/securesystemsengineering/sample:v1", ["docker.io/*systemsengineering/*", "docker.io/se*/*"], "docker.io/*systemsengineering/*"],
  ["Connaisseur: common prefix, same length", C, "docker.io/securesystemsengineering/sample:v1", ["docker.io/*e/sample:*", "docker.io/s*/sample:*"], "docker.io/s*/sample:*"],
  ["Connaisseur: registry prefix", C, "docker.io/securesystemsengineering/sample:v1", ["*/*", "docker.io/*"], "docker.io/*"],
  ["Connaisseur: short form ranks as docker.io", C, "docker.io/securesystemsengineering/sample:v1", ["securesystemsengineering/sample:*", "securesystemsengineering/sample:v*"], "securesystemsengineering/sample:v*"],
  ["Connaisseur: components beat literal length", C, "registry.example.com/team/app:1", ["registry.example.com/team*", "*/*/*"], "*/*/*"],
  ["native: literal length beats components", N, "registry.example.com/team/app:1", ["registry.example.com/team*", "*/*/*"], "registry.example.com/team*"],
];

describe("pattern table", () => {
  for (const [note, styles, image, patterns, expected] of TABLE) {
    for (const style of styles === ALL ? STYLES : styles) {
      it(`${style}: ${note} — ${image} × [${patterns.join(", ")}]`, () => {
        const got = winner(style, image, patterns);
        if (expected === null) {
          expect(got).toBeNull();
        } else {
          // The winner is named by position too, so "first declared" is checked, not just the text.
          expect(got).toBe(`${patterns.indexOf(expected)}:${expected}`);
        }
        if (patterns.length === 1) {
          expect(compilePattern(patterns[0] ?? "", style).matches(ref(image))).toBe(expected !== null);
        }
      });
    }
  }

  it("has enough rows", () => {
    expect(TABLE.length).toBeGreaterThanOrEqual(60);
  });
});

describe("Connaisseur's own Compare cases (ranking only; the patterns need not match)", () => {
  const image = ref("docker.io/securesystemsengineering/sample:v1");
  // [a, b, expected sign of compare(a, b)], from connaisseur internal/policy/match_test.go; its
  // host-prefix globs ("docker*/*") are refused here, so "docker.io" stands in for them.
  // prettier-ignore
  const cases: readonly [string, string, number][] = [
    ["*:*", "*/*", -1],
    ["docker.io/*", "*/*/*", -1],
    ["*", "*:*", -1],
    ["*/*", "docker.io/*", -1],
    ["*/*/image:v1", "*/sam*/*", -1],
    ["*:test", "*/*", -1],
    ["securesystemsengineering/sample:*", "securesystemsengineering/sample:v*", -1],
    ["*", "*", 0],
  ];
  for (const [a, b, expected] of cases) {
    it(`${a} vs ${b}`, () => {
      const pa = compilePattern(a, "connaisseur");
      const pb = compilePattern(b, "connaisseur");
      expect(Math.sign(compareSpecificity(image, pa, pb))).toBe(expected);
      expect(Math.sign(compareSpecificity(image, pb, pa))).toBe(-expected || 0);
    });
  }
});

describe("normalisation", () => {
  // prettier-ignore
  const cases: readonly [string, string][] = [
    ["nginx:1.*", "docker.io/library/nginx:1.*"],
    ["nginx", "docker.io/library/nginx"],
    ["team/app", "docker.io/team/app"],
    ["library/*", "docker.io/library/*"],
    ["Docker.IO/nginx", "docker.io/library/nginx"],
    ["index.docker.io/library/*", "docker.io/library/*"],
    ["docker.io/*", "docker.io/*"],
    ["docker.io/ngin*", "docker.io/ngin*"],
    ["*:*", "*:*"],
    ["*@sha256:*", "*@sha256:*"],
    ["127.0.0.1:5000/demo/app", "127.0.0.1:5000/demo/app"],
    ["[::1]:5000/demo/app:v1", "[::1]:5000/demo/app:v1"],
  ];
  for (const [source, normalized] of cases) {
    it(`${source} → ${normalized}`, () => {
      for (const style of STYLES) expect(normalizedPattern(compilePattern(source, style))).toBe(normalized);
    });
  }
});

describe("invalid patterns", () => {
  // prettier-ignore
  const cases: readonly [unknown, RegExp][] = [
    ["", /pattern is empty/],
    [" *", /whitespace at position 1/],
    ["docker.io/library/nginx ", /whitespace at position 24/],
    ["quay.io/a\tb", /whitespace/],
    ["docker.io/Library/nginx", /"Library\/nginx" must be lowercase/],
    ["Nginx", /"Nginx" must be lowercase/],
    ["docker.io/**", /'\*\*' at position 11/],
    ["docker.io/library/ngin?", /"\?" is not supported: '\*' is the only wildcard/],
    ["docker.io/library/{a,b}", /"\{" is not supported/],
    ["docker.io/library/[a-z]*", /'\[' and '\]' are not supported/],
    ["docker.io*", /without '\/'.*"docker\.io\/\*"/],
    ["ngin*", /without '\/'.*"docker\.io\/library\/ngin\*"/],
    ["*.trusted.io", /without '\/'.*"\*\.trusted\.io\/\*"/],
    ["docker.io*/library/*", /host "docker\.io\*": after its last '\*' it must end in a fixed domain/],
    ["docker*/*", /host "docker\*": after its last '\*'/],
    ["docker.i*/s*", /host "docker\.i\*": after its last '\*'/],
    ["*trusted.io/*", /host "\*trusted\.io": after its last '\*'/],
    ["*.io/*", /host "\*\.io": after its last '\*'/],
    ["10.0.0.*:5000/*", /host "10\.0\.0\.\*": after its last '\*'/],
    ["k8s.gcr.io", /"k8s\.gcr\.io" looks like a registry.*"k8s\.gcr\.io\/\*"/],
    ["localhost:5000", /"localhost" looks like a registry/],
    ["[::1]:5000", /looks like a registry/],
    ["nginx:", /tag is empty after ':'/],
    ["nginx@", /digest is empty after '@'/],
    ["a@b@c", /more than one '@'/],
    [":latest", /name is missing before ':'/],
    ["@sha256:abc", /name is missing before '@'/],
    ["docker.io/", /repository path is missing after registry "docker\.io"/],
    ["docker.io//x", /empty component/],
    ["docker.io/x/", /empty component/],
    ["registry..io/x", /empty label/],
    ["registry.io:/x", /empty port/],
    ["registry.io:abc/x", /port "abc" may contain only digits and '\*'/],
    ["[::1/x", /'\[' without a closing '\]'/],
    ["docker.io/library/nginx:1.0#", /character "#" cannot appear/],
    ["docker.io/library/nginx:a=b", /tag "a=b" may contain only/],
    ["docker.io/library/nginx@sha256:abc/def", /digest .* may contain only/],
    ["x".repeat(1025), /too long: 1025 characters, at most 1024/],
    [7, /must be a string, got number/],
    [null, /must be a string, got null/],
  ];
  for (const [source, message] of cases) {
    it(`${JSON.stringify(source).slice(0, 40)} → ${message.source}`, () => {
      for (const style of STYLES) {
        let thrown: unknown;
        try {
          compilePattern(source as string, style);
        } catch (err) {
          thrown = err;
        }
        expect(thrown).toBeInstanceOf(PatternSyntaxError);
        expect((thrown as Error).message).toMatch(message);
      }
    });
  }

  it("names the pattern in the message", () => {
    expect(() => compilePattern("docker.io/**", "native")).toThrow(/^invalid pattern "docker\.io\/\*\*": /);
  });

  it("rejects an unknown style as a programming error", () => {
    expect(() => compilePattern("*", "gatekeeper" as PatternStyle)).toThrow(TypeError);
  });
});

describe("pickMostSpecific", () => {
  const image = ref("docker.io/library/nginx:1");

  it("returns undefined without candidates or matches", () => {
    expect(pickMostSpecific(image, [])).toBeUndefined();
    expect(pickMostSpecific(image, [{ pattern: compilePattern("quay.io/*", "native") }])).toBeUndefined();
  });

  it("refuses to rank patterns of different styles", () => {
    const candidates = [{ pattern: compilePattern("*", "native") }, { pattern: compilePattern("*", "connaisseur") }];
    expect(() => pickMostSpecific(image, candidates)).toThrow(/cannot rank a connaisseur pattern against a native one/);
  });

  it("refuses patterns it did not compile", () => {
    const fake = { source: "*", style: "native" as const, matches: () => true };
    expect(() => pickMostSpecific(image, [{ pattern: fake }])).toThrow(/not made by compilePattern/);
  });

  it("compiles once and matches many times", () => {
    const p = compilePattern("*.icr.io/team/*:1.*", "native");
    expect(Object.isFrozen(p)).toBe(true);
    for (let i = 0; i < 1000; i++) {
      expect(p.matches(ref(`r${i}.icr.io/team/app${i}:1.${i}`))).toBe(true);
      expect(p.matches(ref(`evil${i}.com/r.icr.io/team/app:1.${i}`))).toBe(false);
    }
  });

  // Correctness on globs that would make a backtracking matcher explode (speed is for npm run bench).
  it("matches pathological globs correctly", () => {
    const p = compilePattern(`quay.io/${"a*".repeat(40)}b`, "native");
    const long = ref(`quay.io/${"a".repeat(250)}`);
    expect(p.matches(long)).toBe(false);
    const q = compilePattern(`${"a*".repeat(20)}.example.io/x`, "native");
    expect(q.matches(ref(`${"a".repeat(60)}.example.io/x`))).toBe(true);
    expect(q.matches(ref(`${"a".repeat(200)}.example.com/x`))).toBe(false);
  });
});
