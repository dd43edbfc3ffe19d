// The Sigstore trust root's TUF client over real HTTP: a repository made by test/support/tuf-repo.ts
// served by a node server on loopback, reached with the global fetch through the egress guard (as
// the Worker does, loopback allowed as in the lab). Rotation 1 → 2 → 3, then the server gone and a
// repository serving a rolled-back timestamp: the last verified trusted_root.json stays in use
// with a note. src/ runs directly in Node.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEFAULT_EGRESS_POLICY, egressFetch } from "../../src/adapters/egress";
import type { VerifierDeps } from "../../src/policy/requirement-kinds";
import { noCounter, type Cache } from "../../src/ports";
import { loadSigstoreTrustedRoot } from "../../src/requirements/sigstore-root";
import { generateKey, TufTestRepository } from "../support/tuf-repo";

const START = Date.parse("2026-03-01T00:00:00Z");
const HOUR = 3_600_000;
const ROOT_A = '{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1","certificateAuthorities":[]}';
const ROOT_B = '{"mediaType":"application/vnd.dev.sigstore.trustedroot+json;version=0.1","certificateAuthorities":["b"]}';

let server: Server;
let base: string;
let repo: TufTestRepository;
let bootstrap: string;
const requests: string[] = [];
/** Drops every connection when set. */
let dropping = false;

beforeAll(async () => {
  repo = await TufTestRepository.create(new Date(START));
  bootstrap = repo.rootText;
  await repo.publish({ targets: { "trusted_root.json": ROOT_A } });
  server = createServer((req, res) => {
    requests.push(req.url ?? "");
    if (dropping) {
      req.socket.destroy();
      return;
    }
    const answer = repo.serve(new Request(`http://127.0.0.1${req.url}`, { method: req.method }), `http://127.0.0.1/repo`);
    void answer.arrayBuffer().then((body) => {
      res.writeHead(answer.status, { "content-type": "application/json", "content-length": body.byteLength });
      res.end(Buffer.from(body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/repo`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const text = (r: Awaited<ReturnType<typeof loadSigstoreTrustedRoot>>) => (r.ok ? new TextDecoder().decode(r.trustedRoot) : r.why);

describe("the Sigstore TUF client over loopback HTTP", () => {
  const store = new Map<string, string>();
  let now = START;
  const deps = (url = base): VerifierDeps => {
    const trustCache: Cache = { get: async (k) => store.get(k) ?? null, put: async (k, v) => void store.set(k, v) };
    return {
      fetch: egressFetch((request) => fetch(request), DEFAULT_EGRESS_POLICY),
      trustCache,
      clock: { now: () => new Date(now) },
      counter: noCounter,
      settings: { upstreamTimeoutMs: 2000, trustRecheckSeconds: 60, credentials: {}, sigstoreTufUrl: url, sigstoreTufRoot: bootstrap },
    };
  };

  it("updates, then follows the root through 1 → 2 → 3 and reads the new trusted_root.json", async () => {
    expect(text(await loadSigstoreTrustedRoot(deps()))).toBe(ROOT_A);
    expect(requests.splice(0)).toEqual([
      "/repo/2.root.json",
      "/repo/timestamp.json",
      "/repo/1.snapshot.json",
      "/repo/1.targets.json",
      expect.stringMatching(/^\/repo\/targets\/[0-9a-f]{64}\.trusted_root\.json$/),
    ]);
    await repo.rotateRoot([await generateKey(), await generateKey("ed25519")], 2);
    await repo.rotateRoot([await generateKey("ed25519"), await generateKey(), await generateKey()], 2);
    await repo.publish({ targets: { "trusted_root.json": ROOT_B } });
    now = START + 2 * HOUR;
    expect(text(await loadSigstoreTrustedRoot(deps()))).toBe(ROOT_B);
    expect(requests.splice(0).slice(0, 3)).toEqual(["/repo/2.root.json", "/repo/3.root.json", "/repo/4.root.json"]);
  });

  it("a rolled-back timestamp is refused and the last verified trusted_root.json is used, with a note", async () => {
    await repo.publish({ targets: { "trusted_root.json": ROOT_A }, timestampVersion: 1 });
    now = START + 4 * HOUR;
    const result = await loadSigstoreTrustedRoot(deps());
    expect(text(result)).toBe(ROOT_B);
    expect(result.ok && result.note).toContain("timestamp.json version 1 is older than the trusted version 2 (rollback)");
  });

  it("a repository that drops every connection: the last verified root stays, with a note", async () => {
    dropping = true;
    now = START + 6 * HOUR;
    const result = await loadSigstoreTrustedRoot(deps());
    dropping = false;
    expect(text(result)).toBe(ROOT_B);
    expect(result.ok && result.note).toMatch(/could not be refreshed from http:\/\/127\.0\.0\.1:\d+\/repo \(Sigstore TUF repository 127\.0\.0\.1:\d+ could not be reached \(no HTTP answer\)\)/);
  });

  it("a repository that does not answer, with nothing verified before: a transient failure", async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    // Same bootstrap root, another URL: no state yet, so nothing to fall back on.
    const cold = await loadSigstoreTrustedRoot(deps(`http://127.0.0.1:${port}/repo`));
    expect(cold).toMatchObject({ ok: false, transient: true });
    expect(text(cold)).toContain(`could not be verified from http://127.0.0.1:${port}/repo`);
  });
});
