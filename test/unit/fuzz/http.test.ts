// HTTP-level fuzzing: random bodies to every parsing route never give a 5xx, every 4xx has the error
// shape, and a refused policy PUT never corrupts what is stored. Nothing leaves the Worker: the
// policy decided against only denies (no digest lookups), and the global fetch is trapped.
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { ADMIN, CLIENT, DIGEST_A, call, putPolicy } from "../../worker/http";
import { mutationOf, mutationOfAny, weirdValue } from "./mutate";

type RawGlob = (pattern: string, options: { query: "?raw"; import: "default"; eager: true }) => Record<string, string>;
const admissionFiles = (import.meta as ImportMeta & { glob: RawGlob }).glob("../../vectors/admission/*.json", { query: "?raw", import: "default", eager: true });
const hookFiles = (import.meta as ImportMeta & { glob: RawGlob }).glob("../../vectors/hooks/*.json", { query: "?raw", import: "default", eager: true });

const DENY_POLICY = "fuzz-deny";
const TARGET_POLICY = "fuzz-target";
const denyOnly = { mode: "enforce", rules: [{ pattern: "*", require: [{ type: "deny", message: "fuzz" }] }] };
const good = {
  mode: "enforce",
  rules: [
    { pattern: "*", require: [{ type: "deny", message: "fuzz" }] },
    { pattern: "registry.example.com/team/*", require: [{ type: "allow" }] },
  ],
};

const outbound: string[] = [];
beforeAll(async () => {
  // Any outbound request the Worker makes goes through the global fetch of this isolate: trap it.
  vi.spyOn(globalThis, "fetch").mockImplementation(async (input: RequestInfo | URL) => {
    outbound.push(input instanceof Request ? input.url : String(input));
    throw new Error("fuzz: no network");
  });
  expect((await putPolicy(DENY_POLICY, denyOnly)).status).toBe(200);
});
afterAll(() => {
  vi.restoreAllMocks();
});

const NUM_RUNS = 40;

/** A body: random text, random JSON, or a mutation of a good body. */
function bodies(fixtures: readonly unknown[]): fc.Arbitrary<string> {
  return fc.oneof(
    fc.string({ maxLength: 200 }),
    fc.string({ unit: "binary", maxLength: 100 }),
    fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? ""),
    mutationOfAny(fixtures).map((v) => JSON.stringify(v) ?? ""),
  );
}

async function expectWellFormed(res: { status: number; json: any }, what: unknown): Promise<void> {
  const label = `${res.status} ${JSON.stringify(res.json).slice(0, 500)} for ${JSON.stringify(what).slice(0, 500)}`;
  expect(res.status, label).toBeLessThan(500);
  if (res.status >= 400) {
    expect(res.json, label).toMatchObject({ error: { code: expect.any(String), message: expect.any(String) } });
  }
  expect(outbound, label).toEqual([]);
}

const post = (path: string, raw: string, contentType = "application/json") =>
  call("POST", path, { token: CLIENT, raw, headers: { "content-type": contentType } });

describe("HTTP fuzzing", () => {
  it("POST /v1/decisions: never 5xx", async () => {
    const fixtures = [
      { image: `registry.example.com/team/app@${DIGEST_A}`, policy: DENY_POLICY },
      { image: "alpine", policy: DENY_POLICY, context: { namespace: "x" } },
    ];
    const images = fc.oneof(fc.string({ maxLength: 60 }), fc.constantFrom("alpine", "a/b:c", `x@${DIGEST_A}`, "UPPER/case", "a".repeat(1025), "localhost:0/x"));
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(bodies(fixtures), fc.record({ image: images, policy: fc.constant(DENY_POLICY) }).map((b) => JSON.stringify(b))),
        async (body) => expectWellFormed(await post("/v1/decisions", body), body),
      ),
      { numRuns: NUM_RUNS },
    );
  }, 30_000);

  it("POST /v1/decisions:batch: never 5xx", async () => {
    const fixtures = [{ policy: DENY_POLICY, images: [`registry.example.com/team/app@${DIGEST_A}`, "alpine:3"], context: { a: 1 } }];
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(bodies(fixtures), fc.array(fc.string({ maxLength: 40 }), { minLength: 1, maxLength: 10 }).map((images) => JSON.stringify({ policy: DENY_POLICY, images }))),
        async (body) => expectWellFormed(await post("/v1/decisions:batch", body), body),
      ),
      { numRuns: NUM_RUNS },
    );
  }, 30_000);

  it("POST /v1/admission?policy=…: never 5xx", async () => {
    const fixtures = Object.values(admissionFiles).map((t) => JSON.parse(t));
    await fc.assert(
      fc.asyncProperty(
        bodies(fixtures),
        fc.oneof(fc.constant(DENY_POLICY), fc.string({ maxLength: 20 })),
        fc.constantFrom("", "&mutate=true", "&mutate=maybe"),
        async (body, policy, extra) => expectWellFormed(await post(`/v1/admission?policy=${encodeURIComponent(policy)}${extra}`, body), { body, policy }),
      ),
      { numRuns: NUM_RUNS },
    );
  }, 30_000);

  for (const hook of ["distribution", "harbor"] as const) {
    it(`POST /v1/hooks/${hook}?policy=…: never 5xx`, async () => {
      const fixtures = Object.entries(hookFiles)
        .filter(([p]) => p.includes(hook))
        .flatMap(([, t]) => {
          const v = JSON.parse(t);
          return Array.isArray(v.requests) ? v.requests.map((r: { envelope: unknown }) => r.envelope).filter(Boolean) : [v];
        });
      const contentType = hook === "distribution" ? "application/vnd.docker.distribution.events.v1+json" : "application/json";
      await fc.assert(
        fc.asyncProperty(bodies(fixtures), fc.oneof(fc.constant(DENY_POLICY), fc.string({ maxLength: 20 })), fc.constantFrom(contentType, "text/plain", "application/json"), async (body, policy, ct) =>
          expectWellFormed(await post(`/v1/hooks/${hook}?policy=${encodeURIComponent(policy)}`, body, ct), { body, policy, ct }),
        ),
        { numRuns: NUM_RUNS },
      );
    }, 30_000);
  }

  it("PUT /v1/policies/{id}: never 5xx, and a refused PUT leaves the stored policy intact", async () => {
    const stored = await putPolicy(TARGET_POLICY, good);
    expect(stored.status).toBe(200);
    const before = await call("GET", `/v1/policies/${TARGET_POLICY}`, { token: ADMIN });
    expect(before.status).toBe(200);
    let replaced = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(bodies([good]), mutationOf(good).map((v) => JSON.stringify(v) ?? ""), weirdValue.map((v) => JSON.stringify(v) ?? "")),
        fc.constantFrom("native", "native", "containers-policy", "portieris", "connaisseur", "notation", "", "__proto__"),
        async (body, format) => {
          const res = await call("PUT", `/v1/policies/${TARGET_POLICY}?format=${encodeURIComponent(format)}`, { token: ADMIN, raw: body });
          await expectWellFormed(res, { body, format });
          if (res.status === 200) {
            // A valid document legitimately replaces the policy: put the good one back.
            replaced++;
            expect((await putPolicy(TARGET_POLICY, good)).status).toBe(200);
            return;
          }
          const after = await call("GET", `/v1/policies/${TARGET_POLICY}`, { token: ADMIN });
          expect(after.status).toBe(200);
          expect(after.json.revision).toBe(before.json.revision);
          expect(after.json.document).toBe(before.json.document);
          expect(after.json.policy).toEqual(before.json.policy);
          expect(after.json.format).toBe(before.json.format);
        },
      ),
      { numRuns: 60 },
    );
    expect(replaced).toBeLessThan(60);
  }, 60_000);

  it("policy IDs in the path: never 5xx", async () => {
    await fc.assert(
      fc.asyncProperty(fc.string({ minLength: 1, maxLength: 40 }), fc.constantFrom("GET", "PUT", "DELETE"), async (id, method) => {
        const res = await call(method, `/v1/policies/${encodeURIComponent(id)}`, { token: ADMIN, ...(method === "PUT" ? { raw: JSON.stringify(denyOnly) } : {}) });
        await expectWellFormed(res, { id, method });
      }),
      { numRuns: 40 },
    );
  }, 30_000);

  it("the fetch trap sees the Worker's outbound requests (so the checks above mean something)", async () => {
    expect((await putPolicy("fuzz-allow-loopback", { rules: [{ pattern: "*", require: [{ type: "allow" }] }] })).status).toBe(200);
    const res = await call("POST", "/v1/decisions", { token: CLIENT, body: { image: "127.0.0.1:9/fuzz/app:v1", policy: "fuzz-allow-loopback" } });
    expect(res.status).toBe(200);
    expect(outbound.length).toBeGreaterThan(0);
    expect(outbound.every((u) => new URL(u).hostname === "127.0.0.1")).toBe(true);
    outbound.length = 0;
  });
});
