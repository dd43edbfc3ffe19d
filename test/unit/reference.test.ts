// Table-driven tests for parseReference: Docker's ParseNormalizedNamed + TagNameOnly behaviour.
import { describe, expect, it } from "vitest";
import { InvalidReferenceError, parseReference, type ImageReference } from "../../src/reference";

const HEX64 = "47dce53ee8707091a7c0d1cf8d5479f7b765e0488f1b6a00eb2cc3b73a3b150c";
const HEX96 = "f4cd60f6c737ccfd629e8ed96caed948733ae70fb79235114db3f6789c61274a8410730fb22c3beafdcdec7376b1c690";
const HEX128 =
  "b351b6ec15bfc817b676c9e35d2d5a47e34fedd8d73396e0632963caee5211f049a78a740899fe900ea893d4d66af101f6b6c16b219934063be159ca8005442a";
const SHA256 = `sha256:${HEX64}`;
const SHA384 = `sha384:${HEX96}`;
const SHA512 = `sha512:${HEX128}`;
// Not hex beyond 'f', so Docker treats it as a name rather than an image ID.
const SONG = "thisisthesongthatneverendsitgoesonandonandonthisisthesongthatnev";

interface ValidRow {
  readonly input: string;
  readonly registry: string;
  readonly path: string;
  readonly tag?: string;
  readonly digest?: string;
  readonly canonical: string;
  readonly label?: string;
}

interface InvalidRow {
  readonly input: string;
  /** What the message must say about the problem. */
  readonly message: RegExp;
  readonly label?: string;
}

const VALID: readonly ValidRow[] = [
  // Docker Hub normalisation.
  { input: "nginx", registry: "docker.io", path: "library/nginx", tag: "latest", canonical: "docker.io/library/nginx:latest" },
  { input: "nginx:1.25-alpine", registry: "docker.io", path: "library/nginx", tag: "1.25-alpine", canonical: "docker.io/library/nginx:1.25-alpine" },
  { input: "library/debian", registry: "docker.io", path: "library/debian", tag: "latest", canonical: "docker.io/library/debian:latest" },
  { input: "docker/docker", registry: "docker.io", path: "docker/docker", tag: "latest", canonical: "docker.io/docker/docker:latest" },
  { input: "docker.io/debian", registry: "docker.io", path: "library/debian", tag: "latest", canonical: "docker.io/library/debian:latest" },
  { input: "docker.io/library/debian", registry: "docker.io", path: "library/debian", tag: "latest", canonical: "docker.io/library/debian:latest" },
  { input: "index.docker.io/debian", registry: "docker.io", path: "library/debian", tag: "latest", canonical: "docker.io/library/debian:latest" },
  { input: "index.docker.io/docker/docker:20.10", registry: "docker.io", path: "docker/docker", tag: "20.10", canonical: "docker.io/docker/docker:20.10" },
  { input: "docker.io/library", registry: "docker.io", path: "library/library", tag: "latest", canonical: "docker.io/library/library:latest" },
  { input: "library/foo/bar", registry: "docker.io", path: "library/foo/bar", tag: "latest", canonical: "docker.io/library/foo/bar:latest" },
  { input: "store/foo/bar", registry: "docker.io", path: "store/foo/bar", tag: "latest", canonical: "docker.io/store/foo/bar:latest" },
  { input: "ubuntu-12.04-base", registry: "docker.io", path: "library/ubuntu-12.04-base", tag: "latest", canonical: "docker.io/library/ubuntu-12.04-base:latest" },
  { input: "test_com", registry: "docker.io", path: "library/test_com", tag: "latest", canonical: "docker.io/library/test_com:latest" },
  { input: "test_com/foo", registry: "docker.io", path: "test_com/foo", tag: "latest", canonical: "docker.io/test_com/foo:latest" },
  { input: SONG, registry: "docker.io", path: `library/${SONG}`, tag: "latest", canonical: `docker.io/library/${SONG}:latest`, label: "64 non-hex characters" },
  { input: HEX64.slice(0, 63), registry: "docker.io", path: `library/${HEX64.slice(0, 63)}`, tag: "latest", canonical: `docker.io/library/${HEX64.slice(0, 63)}:latest`, label: "63 hex characters is a name" },
  { input: `docker.io/${HEX64}`, registry: "docker.io", path: `library/${HEX64}`, tag: "latest", canonical: `docker.io/library/${HEX64}:latest`, label: "64 hex characters with a registry" },
  { input: `${HEX64}:v1`, registry: "docker.io", path: `library/${HEX64}`, tag: "v1", canonical: `docker.io/library/${HEX64}:v1`, label: "64 hex characters with a tag" },
  // Separators inside path components.
  { input: "docker-rules/docker", registry: "docker.io", path: "docker-rules/docker", tag: "latest", canonical: "docker.io/docker-rules/docker:latest" },
  { input: "docker---rules/docker", registry: "docker.io", path: "docker---rules/docker", tag: "latest", canonical: "docker.io/docker---rules/docker:latest" },
  { input: "dock__er/docker", registry: "docker.io", path: "dock__er/docker", tag: "latest", canonical: "docker.io/dock__er/docker:latest" },
  { input: "d/docker", registry: "docker.io", path: "d/docker", tag: "latest", canonical: "docker.io/d/docker:latest" },
  { input: "jess/t", registry: "docker.io", path: "jess/t", tag: "latest", canonical: "docker.io/jess/t:latest" },
  { input: "registry.io/foo/project--id.module--name.ver---sion--name", registry: "registry.io", path: "foo/project--id.module--name.ver---sion--name", tag: "latest", canonical: "registry.io/foo/project--id.module--name.ver---sion--name:latest" },
  { input: "example.com/some_separator__underscore/myimage", registry: "example.com", path: "some_separator__underscore/myimage", tag: "latest", canonical: "example.com/some_separator__underscore/myimage:latest" },
  // Single components are never registries: they become official images, and ":n" is a tag.
  { input: "localhost", registry: "docker.io", path: "library/localhost", tag: "latest", canonical: "docker.io/library/localhost:latest" },
  { input: "localhost:5000", registry: "docker.io", path: "library/localhost", tag: "5000", canonical: "docker.io/library/localhost:5000" },
  { input: "test.com:5000", registry: "docker.io", path: "library/test.com", tag: "5000", canonical: "docker.io/library/test.com:5000" },
  { input: "foo_bar.com:8080", registry: "docker.io", path: "library/foo_bar.com", tag: "8080", canonical: "docker.io/library/foo_bar.com:8080" },
  { input: "192.168.0.1", registry: "docker.io", path: "library/192.168.0.1", tag: "latest", canonical: "docker.io/library/192.168.0.1:latest" },
  { input: "192.168.0.1:80", registry: "docker.io", path: "library/192.168.0.1", tag: "80", canonical: "docker.io/library/192.168.0.1:80" },
  { input: `localhost:8080@${SHA256}`, registry: "docker.io", path: "library/localhost", tag: "8080", digest: SHA256, canonical: `docker.io/library/localhost:8080@${SHA256}` },
  { input: "foo/foo_bar.com:8080", registry: "docker.io", path: "foo/foo_bar.com", tag: "8080", canonical: "docker.io/foo/foo_bar.com:8080" },
  // Registries: localhost, '.', ':' or upper case in the first component.
  { input: "localhost/foo", registry: "localhost", path: "foo", tag: "latest", canonical: "localhost/foo:latest" },
  { input: "localhost:5000/foo/bar:v1", registry: "localhost:5000", path: "foo/bar", tag: "v1", canonical: "localhost:5000/foo/bar:v1" },
  { input: "127.0.0.1:5000/demo/app:v1", registry: "127.0.0.1:5000", path: "demo/app", tag: "v1", canonical: "127.0.0.1:5000/demo/app:v1" },
  { input: "127.0.0.1:5000/debian", registry: "127.0.0.1:5000", path: "debian", tag: "latest", canonical: "127.0.0.1:5000/debian:latest" },
  { input: "192.168.0.1:8/debian", registry: "192.168.0.1:8", path: "debian", tag: "latest", canonical: "192.168.0.1:8/debian:latest" },
  { input: "192.168.1.1:5000/repo:5050", registry: "192.168.1.1:5000", path: "repo", tag: "5050", canonical: "192.168.1.1:5000/repo:5050" },
  { input: "test:5000/repo", registry: "test:5000", path: "repo", tag: "latest", canonical: "test:5000/repo:latest" },
  { input: "test-com:8080/foo", registry: "test-com:8080", path: "foo", tag: "latest", canonical: "test-com:8080/foo:latest" },
  { input: "xn--n3h.com:18080/foo", registry: "xn--n3h.com:18080", path: "foo", tag: "latest", canonical: "xn--n3h.com:18080/foo:latest" },
  { input: "example.com/privatebase", registry: "example.com", path: "privatebase", tag: "latest", canonical: "example.com/privatebase:latest" },
  { input: "ghcr.io/owner/app:v1.2.3", registry: "ghcr.io", path: "owner/app", tag: "v1.2.3", canonical: "ghcr.io/owner/app:v1.2.3" },
  { input: "sub-dom1.foo.com/bar/baz/quux:some-long-tag", registry: "sub-dom1.foo.com", path: "bar/baz/quux", tag: "some-long-tag", canonical: "sub-dom1.foo.com/bar/baz/quux:some-long-tag" },
  { input: "b.gcr.io/test.example.com/my-app:test.example.com", registry: "b.gcr.io", path: "test.example.com/my-app", tag: "test.example.com", canonical: "b.gcr.io/test.example.com/my-app:test.example.com" },
  { input: "0101.com/foo", registry: "0101.com", path: "foo", tag: "latest", canonical: "0101.com/foo:latest" },
  { input: "192.168.1.1:750050/foo", registry: "192.168.1.1:750050", path: "foo", tag: "latest", canonical: "192.168.1.1:750050/foo:latest", label: "port digits are not range-checked (as in Docker)" },
  // Canonical registries (docs/patterns.md): lower case, no default port, one name for Docker Hub.
  { input: "Asdf.com/foo/bar", registry: "asdf.com", path: "foo/bar", tag: "latest", canonical: "asdf.com/foo/bar:latest", label: "registry lower-cased" },
  { input: "Docker.io/foo", registry: "docker.io", path: "library/foo", tag: "latest", canonical: "docker.io/library/foo:latest", label: "Docker.io is docker.io" },
  { input: `registry-1.docker.io/library/busybox@${SHA256}`, registry: "docker.io", path: "library/busybox", digest: SHA256, canonical: `docker.io/library/busybox@${SHA256}` },
  { input: "Registry-1.Docker.IO/busybox", registry: "docker.io", path: "library/busybox", tag: "latest", canonical: "docker.io/library/busybox:latest" },
  { input: "registry.hub.docker.com/team/app:v1", registry: "docker.io", path: "team/app", tag: "v1", canonical: "docker.io/team/app:v1" },
  { input: "index.docker.io:443/busybox", registry: "docker.io", path: "library/busybox", tag: "latest", canonical: "docker.io/library/busybox:latest" },
  { input: "registry.example.com:443/app", registry: "registry.example.com", path: "app", tag: "latest", canonical: "registry.example.com/app:latest", label: "https default port dropped" },
  { input: "REGISTRY.example.com:0443/app", registry: "registry.example.com", path: "app", tag: "latest", canonical: "registry.example.com/app:latest" },
  { input: "registry.example.com:80/app", registry: "registry.example.com:80", path: "app", tag: "latest", canonical: "registry.example.com:80/app:latest", label: "80 is no default for https" },
  { input: "127.0.0.1:80/app", registry: "127.0.0.1", path: "app", tag: "latest", canonical: "127.0.0.1/app:latest", label: "plain-http loopback: 80 dropped" },
  { input: "localhost:80/app", registry: "localhost", path: "app", tag: "latest", canonical: "localhost/app:latest" },
  { input: "[::1]:80/app", registry: "[::1]", path: "app", tag: "latest", canonical: "[::1]/app:latest" },
  { input: "127.0.0.1:443/app", registry: "127.0.0.1:443", path: "app", tag: "latest", canonical: "127.0.0.1:443/app:latest", label: "443 is no default for plain http" },
  { input: "[FC00::AB]:5000/app", registry: "[fc00::ab]:5000", path: "app", tag: "latest", canonical: "[fc00::ab]:5000/app:latest" },
  // IPv6 registries.
  { input: "[fc00::1]:5000/docker", registry: "[fc00::1]:5000", path: "docker", tag: "latest", canonical: "[fc00::1]:5000/docker:latest" },
  { input: "[fc00:1:2:3:4:5:6:7]:5000/library/debian", registry: "[fc00:1:2:3:4:5:6:7]:5000", path: "library/debian", tag: "latest", canonical: "[fc00:1:2:3:4:5:6:7]:5000/library/debian:latest" },
  { input: "[2001:db8::1]/repo", registry: "[2001:db8::1]", path: "repo", tag: "latest", canonical: "[2001:db8::1]/repo:latest" },
  { input: "[2001:db8::]:5000/repo", registry: "[2001:db8::]:5000", path: "repo", tag: "latest", canonical: "[2001:db8::]:5000/repo:latest" },
  { input: "[::1]:5000/repo", registry: "[::1]:5000", path: "repo", tag: "latest", canonical: "[::1]:5000/repo:latest" },
  { input: `[2001:db8::1]:5000/repo:tag@${SHA256}`, registry: "[2001:db8::1]:5000", path: "repo", tag: "tag", digest: SHA256, canonical: `[2001:db8::1]:5000/repo:tag@${SHA256}` },
  // Tags.
  { input: "lowercase:Uppercase", registry: "docker.io", path: "library/lowercase", tag: "Uppercase", canonical: "docker.io/library/lowercase:Uppercase" },
  { input: "nginx:_private", registry: "docker.io", path: "library/nginx", tag: "_private", canonical: "docker.io/library/nginx:_private" },
  { input: `nginx:${"t".repeat(128)}`, registry: "docker.io", path: "library/nginx", tag: "t".repeat(128), canonical: `docker.io/library/nginx:${"t".repeat(128)}`, label: "128-character tag" },
  // Digests: no default tag with a digest; tag and digest both kept.
  { input: `redis@${SHA256}`, registry: "docker.io", path: "library/redis", digest: SHA256, canonical: `docker.io/library/redis@${SHA256}` },
  { input: `docker.io/library/nginx@${SHA256}`, registry: "docker.io", path: "library/nginx", digest: SHA256, canonical: `docker.io/library/nginx@${SHA256}` },
  { input: `dmcgowan/myapp@${SHA256}`, registry: "docker.io", path: "dmcgowan/myapp", digest: SHA256, canonical: `docker.io/dmcgowan/myapp@${SHA256}` },
  { input: `busybox:latest@${SHA256}`, registry: "docker.io", path: "library/busybox", tag: "latest", digest: SHA256, canonical: `docker.io/library/busybox:latest@${SHA256}` },
  { input: `test:5000/repo@${SHA256}`, registry: "test:5000", path: "repo", digest: SHA256, canonical: `test:5000/repo@${SHA256}` },
  { input: `example.com/app@${SHA384}`, registry: "example.com", path: "app", digest: SHA384, canonical: `example.com/app@${SHA384}` },
  { input: `xn--7o8h.com/myimage:xn--7o8h.com@${SHA512}`, registry: "xn--7o8h.com", path: "myimage", tag: "xn--7o8h.com", digest: SHA512, canonical: `xn--7o8h.com/myimage:xn--7o8h.com@${SHA512}` },
  // Length limit applies to the path (with its library/ prefix), not the registry.
  { input: `${"a/".repeat(127)}a`, registry: "docker.io", path: `${"a/".repeat(127)}a`, tag: "latest", canonical: `docker.io/${"a/".repeat(127)}a:latest`, label: "255-character path" },
  { input: "b".repeat(247), registry: "docker.io", path: `library/${"b".repeat(247)}`, tag: "latest", canonical: `docker.io/library/${"b".repeat(247)}:latest`, label: "255-character path after library/" },
  { input: `registry.example.org:5000/${"c".repeat(255)}:v1`, registry: "registry.example.org:5000", path: "c".repeat(255), tag: "v1", canonical: `registry.example.org:5000/${"c".repeat(255)}:v1`, label: "long registry does not count against 255" },
];

const INVALID: readonly InvalidRow[] = [
  // Empty, oversized, whitespace, foreign characters.
  { input: "", message: /empty/ },
  { input: "a".repeat(1025), message: /too long: 1025 characters, at most 1024/, label: "1025 characters" },
  { input: `docker.io/${"a/".repeat(600)}a`, message: /too long: 1211 characters, at most 1024/, label: "hostile long path" },
  { input: " ", message: /whitespace \(U\+0020\) at position 1/ },
  { input: " nginx", message: /whitespace \(U\+0020\) at position 1/ },
  { input: "nginx ", message: /whitespace \(U\+0020\) at position 6/ },
  { input: "ngi nx", message: /whitespace \(U\+0020\) at position 4/ },
  { input: "nginx\n", message: /whitespace \(U\+000A\) at position 6/ },
  { input: "nginx\t:latest", message: /whitespace \(U\+0009\) at position 6/ },
  { input: "nginx\u0000", message: /invalid character U\+0000 at position 6/ },
  { input: "ngïnx", message: /invalid character U\+00EF at position 3/ },
  { input: "aa/asdf$$^/aa", message: /invalid character '\$' at position 8/ },
  { input: "registry.com:8080/myapp:invalid~tag", message: /invalid character '~' at position 32/ },
  { input: "[fe80::1%eth0]:5000/debian", message: /invalid character '%' at position 9/ },
  { input: "https://github.com/docker/docker", message: /URL scheme \("https:\/\/"\)/ },
  { input: "docker://nginx:latest", message: /URL scheme \("docker:\/\/"\)/ },
  // Upper case in the repository path.
  { input: "Uppercase:tag", message: /repository name "library\/Uppercase" must be lowercase/ },
  { input: "Nginx", message: /must be lowercase/ },
  { input: "docker/Docker", message: /repository name "docker\/Docker" must be lowercase/ },
  { input: "docker.io/docker/Docker", message: /repository name "docker\/Docker" must be lowercase/ },
  { input: "test:5000/Uppercase/lowercase:tag", message: /repository name "Uppercase\/lowercase" must be lowercase/ },
  { input: "Foo.com/FarB", message: /repository name "FarB" must be lowercase/ },
  // Docker reads an upper-case first component as a registry; lower-cased it would be a namespace.
  { input: "Docker/docker", message: /registry "Docker" is a single-label host name in upper case/ },
  { input: "FOO/bar", message: /registry "FOO" is a single-label host name in upper case/ },
  // Path components.
  { input: "-docker", message: /path component "-docker" is invalid/ },
  { input: "-docker/docker", message: /path component "-docker" is invalid/ },
  { input: "docker-/docker", message: /path component "docker-" is invalid/ },
  { input: "-docker-/docker", message: /path component "-docker-" is invalid/ },
  { input: "____/____", message: /path component "____" is invalid/ },
  { input: "_docker/_docker", message: /path component "_docker" is invalid/ },
  { input: "docker/dock..er", message: /path component "dock..er" is invalid/ },
  { input: "docker/dock_.er", message: /path component "dock_.er" is invalid/ },
  { input: "docker/dock-.er", message: /path component "dock-.er" is invalid/ },
  // With a '.', the first component is a registry, so it fails as a host name instead.
  { input: "dock..er/docker", message: /registry host "dock..er" has an empty label/ },
  { input: "dock_.er/docker", message: /registry host "dock_.er": label "dock_"/ },
  { input: "dock-.er/docker", message: /registry host "dock-.er": label "dock-"/ },
  { input: "dock___er/docker", message: /path component "dock___er" is invalid/ },
  { input: "example.com/__underscore/myimage", message: /path component "__underscore" is invalid/ },
  { input: "example.com/.dots/myimage", message: /path component ".dots" is invalid/ },
  { input: "foo/[::1]/bar", message: /path component "\[::1\]" is invalid/ },
  { input: "nginx:1:2", message: /path component "nginx:1" is invalid/ },
  { input: "docker///docker", message: /empty path component/ },
  { input: "docker.io/docker///docker", message: /empty path component/ },
  { input: "docker/", message: /empty path component/ },
  { input: "/nginx", message: /empty path component/ },
  { input: "docker.io/", message: /repository path is missing after registry "docker.io"/ },
  { input: "[::1]:5000/", message: /repository path is missing after registry "\[::1\]:5000"/ },
  // Registries.
  { input: "-docker.io/docker/docker", message: /label "-docker" must be letters, digits and inner '-' only/ },
  { input: "example-.com/foo", message: /label "example-"/ },
  { input: "example..com/foo", message: /empty label/ },
  { input: "foo_bar.com/x", message: /registry host "foo_bar.com": label "foo_bar"/, label: "underscore registry (Docker would drop the registry)" },
  { input: "bad_hostname.com:8080/myapp:tag", message: /registry host "bad_hostname.com"/ },
  { input: "localhost:/foo", message: /empty port/ },
  { input: "foo.com:http/bar", message: /port "http" must be digits only/ },
  { input: "fc00::1:5000/debian", message: /more than one ':' \(an IPv6 address must be in brackets\)/ },
  { input: "[2001:db8:3:4::192.0.2.33]:5000/debian", message: /IPv6 address "\[2001:db8:3:4::192.0.2.33\]" may contain only hex digits and ':'/ },
  { input: "[fd00:1:2::3]75050/foo", message: /only ':port' may follow the IPv6 address/ },
  { input: "[fc00::1/foo", message: /'\[' without a closing '\]'/ },
  { input: "[fc00::1]", message: /must be followed by '\/' and a repository path/ },
  { input: "[fc00::1]:5000", message: /must be followed by '\/' and a repository path/ },
  { input: "[2001:db8::1]:tag", message: /must be followed by '\/' and a repository path/ },
  // Image IDs, missing names.
  { input: HEX64, message: /64-character hexadecimal string is an image ID/ },
  { input: ":justtag", message: /repository name is missing before ':'/ },
  { input: `@${SHA256}`, message: /repository name is missing before '@'/ },
  // Tags.
  { input: "nginx:", message: /tag is empty after ':'/ },
  { input: "nginx:-bad", message: /tag "-bad" is invalid/ },
  { input: "nginx:.bad", message: /tag ".bad" is invalid/ },
  { input: "nginx:a[b]", message: /tag "a\[b\]" is invalid/ },
  { input: `nginx:${"t".repeat(129)}`, message: /tag is too long: 129 characters, at most 128/, label: "129-character tag" },
  // Digests.
  { input: "nginx@", message: /digest is empty after '@'/ },
  { input: "nginx:latest@", message: /digest is empty after '@'/ },
  { input: `nginx@${SHA256}@${SHA256}`, message: /more than one '@' \(at positions 6 and 78\)/ },
  { input: "nginx@sha256", message: /must have the form algorithm:hex/ },
  { input: `nginx@:${HEX64}`, message: /no algorithm before ':'/ },
  { input: "repo@sha256:ffffffffffffffffffffffffffffffffff", message: /sha256 digest must have 64 hex characters, got 34/ },
  { input: `nginx@sha256:${HEX64}0`, message: /sha256 digest must have 64 hex characters, got 65/ },
  { input: `nginx@sha512:${HEX64}`, message: /sha512 digest must have 128 hex characters, got 64/ },
  { input: `nginx@sha256:${HEX64.toUpperCase()}`, message: /sha256 digest must be lowercase hex/ },
  { input: `nginx@sha256:${HEX64.slice(0, 63)}g`, message: /contains non-hex characters/ },
  { input: `validname@invaliddigest:${HEX64}`, message: /unsupported digest algorithm "invaliddigest" \(supported: sha256, sha384, sha512\)/ },
  { input: `nginx@SHA256:${HEX64}`, message: /unsupported digest algorithm "SHA256"/ },
  { input: `nginx@sha256+b64:${HEX64}`, message: /unsupported digest algorithm "sha256\+b64"/ },
  { input: "nginx@md5:d41d8cd98f00b204e9800998ecf8427e", message: /unsupported digest algorithm "md5"/ },
  // Length of the repository path.
  { input: `${"a/".repeat(128)}a:tag`, message: /repository name is too long: 257 characters, at most 255/, label: "257-character path" },
  { input: "b".repeat(248), message: /repository name is too long: 256 characters, at most 255/, label: "256-character path after library/" },
  {
    input: `${Array(4).fill("this_is_not_a_valid_namespace_because_its_length_is_greater_than_255").join("_")}/docker`,
    message: /repository name is too long/,
    label: "namespace over 255 characters",
  },
];

function describeInput(input: string, label: string | undefined): string {
  const shown = input.length > 80 ? `${input.slice(0, 77)}...` : input;
  return label !== undefined ? `${label}: ${JSON.stringify(shown)}` : JSON.stringify(shown);
}

describe("parseReference accepts and normalises", () => {
  for (const row of VALID) {
    it(describeInput(row.input, row.label), () => {
      const expected: ImageReference = {
        registry: row.registry,
        path: row.path,
        name: `${row.registry}/${row.path}`,
        ...(row.tag !== undefined ? { tag: row.tag } : {}),
        ...(row.digest !== undefined ? { digest: row.digest } : {}),
        canonical: row.canonical,
      };
      // Strict: an absent tag or digest must be absent, not present as undefined.
      expect(parseReference(row.input)).toStrictEqual(expected);
    });
  }
});

describe("parseReference rejects", () => {
  for (const row of INVALID) {
    it(describeInput(row.input, row.label), () => {
      let caught: unknown;
      try {
        parseReference(row.input);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(InvalidReferenceError);
      const error = caught as InvalidReferenceError;
      expect(error.name).toBe("InvalidReferenceError");
      expect(error.message).toMatch(row.message);
    });
  }
});

describe("parseReference error messages", () => {
  it("quote the input with control and non-ASCII characters escaped", () => {
    expect(() => parseReference("bad\u202Ename\n")).toThrow(
      'invalid image reference "bad\\u{202E}name\\u{A}": invalid character U+202E at position 4',
    );
  });

  it("do not echo input over the length bound", () => {
    const hostile = `${"x".repeat(2000)}SECRET`;
    expect(() => parseReference(hostile)).toThrow(InvalidReferenceError);
    expect(() => parseReference(hostile)).not.toThrow(/SECRET|xxxx/);
  });

  it("reject non-string input from untyped callers", () => {
    expect(() => parseReference(42 as unknown as string)).toThrow(/must be a string, got number/);
    expect(() => parseReference(null as unknown as string)).toThrow(/must be a string, got null/);
  });
});

describe("canonical form", () => {
  it("is a fixed point: parsing the canonical string gives the same reference", () => {
    for (const row of VALID) {
      const first = parseReference(row.input);
      expect(parseReference(first.canonical), row.input).toStrictEqual(first);
    }
  });
});
