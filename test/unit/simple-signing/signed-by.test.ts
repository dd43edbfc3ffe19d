// The signedBy requirement kind through decide(): signatures made by real gpg/skopeo served from
// memory through the fetch port; what is fetched, verified and cached is counted.
import { describe, expect, it } from "vitest";
import { DEFAULT_EGRESS_POLICY, egressFetch } from "../../../src/adapters/egress";
import { decide } from "../../../src/decide";
import { parseReference } from "../../../src/reference";
import { armoredKey, keyData, NOW, signature, vectors } from "./vectors";
import { LOOKASIDE, memoryCache, run, setup, world } from "./world";

const R = vectors.registry;
const D = vectors.digest;
const V1 = `${R}/demo/app:v1`;
const RSA = { keys: [armoredKey("rsa")], lookaside: LOOKASIDE };

function signedWorld(...names: string[]) {
  const w = world(R);
  w.lookaside("demo/app", D, names.map(signature));
  return w;
}

describe("signedBy requirement", () => {
  it("allows an image signed by skopeo copy --sign-by, saying by which key and where", async () => {
    const { deps } = setup(signedWorld("rsa"), NOW, D);
    const v = await run(deps, V1, RSA);
    expect(v).toMatchObject({ decision: "allow", digest: D });
    expect(v.reasons).toEqual([
      expect.objectContaining({
        code: "SIMPLE_SIGNED",
        message: `${D} is signed for ${V1} by key ${vectors.keys.rsa.fingerprint}`,
        requirement: "signedBy",
        rule: "*",
        key: vectors.keys.rsa.fingerprint,
        source: "lookaside",
        lookaside: LOOKASIDE,
        signature: `${LOOKASIDE}/demo/app@sha256=${D.slice(7)}/signature-1`,
      }),
    ]);
  });

  it("takes the key as policy.json keyData (base64 of the binary key) too, and names a subkey", async () => {
    const { deps } = setup(signedWorld("subkey"), NOW, D);
    const v = await run(deps, V1, { keys: [keyData("subkey")], lookaside: LOOKASIDE });
    expect(v.decision).toBe("allow");
    expect(v.reasons[0]!.message).toBe(`${D} is signed for ${V1} by key ${vectors.keys.subkey.fingerprint} (subkey ${vectors.keys.subkey.subkeys[0]})`);
  });

  it("one good signature among bad ones allows, and the bad ones are reported", async () => {
    const { deps } = setup(signedWorld("other", "corrupt-signature", "digest-mismatch", "rsa", "wrong-type"), NOW, D);
    const v = await run(deps, V1, RSA);
    expect(v.decision).toBe("allow");
    const rejected = v.reasons[0]!.rejected as { signature: string; code: string; reason: string }[];
    expect(rejected.map((r) => r.code)).toEqual(["UNKNOWN_KEY", "BAD_SIGNATURE", "DIGEST_MISMATCH"]);
    expect(rejected[2]!.reason).toBe(`Signature for digest ${vectors.otherDigest} does not match`);
    expect(rejected[0]!.signature).toMatch(/\/signature-1$/);
  });

  it("denies with containers/image's words: no signature, one reason, all reasons", async () => {
    const none = await run(setup(signedWorld(), NOW, D).deps, V1, RSA);
    expect(none.reasons[0]).toMatchObject({ code: "SIMPLE_SIGNATURE_MISSING", message: "A signature was required, but no signature exists" });

    const one = await run(setup(signedWorld("id-demo-app-v2"), NOW, D).deps, V1, RSA);
    expect(one.reasons[0]).toMatchObject({ code: "SIMPLE_SIGNATURES_REJECTED", message: `Signature for identity "${R}/demo/app:v2" is not accepted` });

    const all = await run(setup(signedWorld("id-demo-app-v2", "digest-mismatch"), NOW, D).deps, V1, RSA);
    expect(all.decision).toBe("deny");
    expect(all.reasons[0]!.message).toBe(
      `None of the signatures were accepted, reasons: Signature for identity "${R}/demo/app:v2" is not accepted; Signature for digest ${vectors.otherDigest} does not match`,
    );
    expect(all.reasons[0]!.rejected).toHaveLength(2);
  });

  it("uses the default rule matchRepoDigestOrExact, and the requirement's signedIdentity when given", async () => {
    const w = signedWorld("rsa");
    const { deps } = setup(w, NOW, D);
    // The same digest under another tag: the signature names v1.
    expect((await run(deps, `${R}/demo/app:v2`, RSA)).decision).toBe("deny");
    expect((await run(deps, `${R}/demo/app@${D}`, RSA)).decision).toBe("allow");
    expect((await run(deps, `${R}/demo/app:v2`, { ...RSA, signedIdentity: { type: "matchRepository" } })).decision).toBe("allow");
    w.lookaside("mirror/app", D, [signature("rsa")]);
    const remapped = { ...RSA, signedIdentity: { type: "remapIdentity", prefix: `${R}/mirror`, signedPrefix: `${R}/demo` } };
    expect((await run(deps, `${R}/mirror/app:v1`, remapped)).decision).toBe("allow");
  });

  it("a warm decision fetches nothing and verifies nothing (the trust cache answers)", async () => {
    const w = signedWorld("other", "rsa");
    const { deps, work } = setup(w, NOW, D);
    const cold = await run(deps, V1, RSA);
    expect(cold.decision).toBe("allow");
    // ping, signature-1 and -2, then 3 (404) to 6 read together; two signatures verified
    expect(work).toEqual({ fetch: 7, verify: 2 });
    const before = { ...work };
    const warm = await run(deps, V1, RSA); // a new policy revision: the verdict cache cannot answer
    expect(warm.decision).toBe("allow");
    expect(warm.reasons).toEqual(cold.reasons);
    expect(work).toEqual(before);
    // Past the re-check interval the signatures are fetched and verified again.
    const again = setup(w, new Date(NOW.getTime() + 61_000), D, { trustCache: deps.verifier.trustCache });
    expect((await run(again.deps, V1, RSA)).decision).toBe("allow");
    expect(again.work).toEqual({ fetch: 7, verify: 2 });
  });

  it("a cached outcome carries the rule that asked for it", async () => {
    const { deps, work } = setup(signedWorld("rsa"), NOW, D);
    const policyWith = (pattern: string) => ({
      mode: "enforce" as const,
      patternStyle: "native" as const,
      rules: [{ pattern, require: [{ type: "signedBy", ...RSA }] }],
    });
    const input = { image: V1, reference: parseReference(V1), context: {} };
    const first = await decide(input, { id: "p", revision: "a", policy: policyWith(`${R}/demo/*`) }, deps);
    expect(first.reasons[0]).toMatchObject({ code: "SIMPLE_SIGNED", rule: `${R}/demo/*` });
    const second = await decide(input, { id: "p", revision: "b", policy: policyWith("*") }, deps);
    expect(work.verify).toBe(1);
    expect(second.reasons[0]).toMatchObject({ code: "SIMPLE_SIGNED", rule: "*", requirement: "signedBy" });
  });

  it("keeps the outcome under the key deployed caches hold, for as long as it is good: the re-check interval, not KV's minimum", async () => {
    const store = memoryCache();
    const asked: [string, number][] = [];
    const trustCache = { get: store.get, put: async (k: string, v: string, o: { ttlSeconds: number }) => (asked.push([k, o.ttlSeconds]), store.put(k, v, o)) };
    const { deps } = setup(signedWorld("rsa"), NOW, D, { trustCache, recheck: 30 });
    expect((await run(deps, V1, RSA)).decision).toBe("allow");
    expect(asked).toEqual([["simple:verdict:v1:1179697f53964bfc2e219860560bfe9bfabf44beaa4e816ba3633dea4d8952fa", 30]]);
    expect(JSON.parse(store.store.get(asked[0]![0])!)).toMatchObject({ satisfied: true, checkedAt: NOW.getTime(), until: NOW.getTime() + 30_000 });
  });

  it("the cache tells apart what the outcome depends on: keys, rule, tag, digest", async () => {
    const w = signedWorld("rsa");
    const trustCache = memoryCache();
    const { deps, work } = setup(w, NOW, D, { trustCache });
    expect((await run(deps, V1, RSA)).decision).toBe("allow");
    expect((await run(deps, `${R}/demo/app:v2`, RSA)).decision).toBe("deny");
    expect((await run(deps, V1, { ...RSA, keys: [armoredKey("ed25519")] })).decision).toBe("deny");
    expect((await run(deps, V1, { ...RSA, signedIdentity: { type: "matchExact" } })).decision).toBe("allow");
    expect(trustCache.store.size).toBe(4);
    expect(work.verify).toBe(4);
  });

  it("a stored outcome that is not one is a miss: verified afresh and overwritten, never a deny", async () => {
    const far = NOW.getTime() + 3_600_000;
    const garbage = [
      "not json",
      '{"satisfied":true,"reasons":[{"code":"SIMPLE_SIGNED","mess', // truncated
      "null",
      "[]",
      JSON.stringify({ reasons: [], checkedAt: NOW.getTime(), until: far }),
      JSON.stringify({ satisfied: false, reasons: [{ code: 1 }], checkedAt: NOW.getTime(), until: far }),
      JSON.stringify({ satisfied: false, reasons: [{ code: "NO_SUCH_CODE", message: "x" }], checkedAt: NOW.getTime(), until: far }),
      JSON.stringify({ satisfied: "no", reasons: [{ code: "SIMPLE_SIGNATURE_MISSING", message: "x" }], checkedAt: NOW.getTime(), until: far }),
      JSON.stringify({ satisfied: false, reasons: [{ code: "SIMPLE_SIGNED", message: "x" }], checkedAt: NOW.getTime(), until: far }),
      JSON.stringify({ satisfied: false, reasons: [{ code: "SIMPLE_SIGNATURE_MISSING", message: "x" }], until: far }),
    ];
    for (const entry of garbage) {
      const trustCache = memoryCache();
      const { deps, work } = setup(signedWorld("rsa"), NOW, D, { trustCache });
      expect((await run(deps, V1, RSA)).decision).toBe("allow");
      const keys = [...trustCache.store.keys()].filter((k) => k.startsWith("simple:verdict:v1:"));
      expect(keys).toHaveLength(1);
      trustCache.store.set(keys[0]!, entry);
      const v = await run(deps, V1, RSA);
      expect(v.decision, entry).toBe("allow");
      expect(v.reasons[0]!.code, entry).toBe("SIMPLE_SIGNED");
      expect(work.verify, entry).toBe(2);
      expect(JSON.parse(trustCache.store.get(keys[0]!)!), entry).toMatchObject({ satisfied: true });
    }
  });

  it("an unreachable lookaside denies now and is never remembered", async () => {
    const w = signedWorld("rsa");
    w.state.lookasideFault = "down";
    const { deps, work, trustCache } = setup(w, NOW, D);
    const policy = { mode: "enforce" as const, patternStyle: "native" as const, rules: [{ pattern: "*", require: [{ type: "signedBy", ...RSA }] }] };
    const input = { image: V1, reference: parseReference(V1), context: {} };
    const view = { id: "p", revision: "fixed", policy };
    const down = await decide(input, view, deps);
    expect(down.decision).toBe("deny");
    expect(down.reasons[0]).toMatchObject({ code: "SIMPLE_LOOKASIDE_UNREACHABLE", transient: true });
    expect(down.reasons[0]!.message).toMatch(/^lookaside 127\.0\.0\.1:8081 could not be reached/);
    expect((trustCache as ReturnType<typeof memoryCache>).store.size).toBe(0);
    // Same policy revision: had the verdict been cached, this would not fetch.
    w.state.lookasideFault = null;
    const fetchesBefore = work.fetch;
    const up = await decide(input, view, deps);
    expect(up).toMatchObject({ decision: "allow", cached: false });
    expect(work.fetch).toBeGreaterThan(fetchesBefore);
  });

  it("a lookaside answering 500 or timing out is transient too; 403 is a verified deny", async () => {
    for (const [fault, transient] of [[500, true], ["timeout", true], [403, false]] as const) {
      const w = signedWorld("rsa");
      w.state.lookasideFault = fault;
      const { deps, trustCache } = setup(w, NOW, D);
      const v = await run(deps, V1, RSA);
      expect(v.reasons[0], String(fault)).toMatchObject({ code: "SIMPLE_LOOKASIDE_UNREACHABLE", transient });
      expect((trustCache as ReturnType<typeof memoryCache>).store.size).toBe(0);
    }
  });

  it("a lookaside the egress guard refuses is a lasting deny that says so: the verdict is kept, no fetch is made", async () => {
    const w = signedWorld("rsa");
    const { deps, work, trustCache } = setup(w, NOW, D);
    const guarded = { ...deps, verifier: { ...deps.verifier, fetch: egressFetch(w.fetch, DEFAULT_EGRESS_POLICY) } };
    // A metadata address stays refused even though the requirement names it.
    const policy = {
      mode: "enforce" as const,
      patternStyle: "native" as const,
      rules: [{ pattern: "*", require: [{ type: "signedBy", keys: RSA.keys, lookaside: "http://169.254.169.254/sigs" }] }],
    };
    const input = { image: V1, reference: parseReference(V1), context: {} };
    const view = { id: "p", revision: "refused-lookaside", policy };
    const refused = await decide(input, view, guarded);
    expect(refused.decision).toBe("deny");
    expect(refused.reasons[0]).toMatchObject({ code: "SIMPLE_LOOKASIDE_UNREACHABLE", transient: false, requirement: "signedBy" });
    expect(refused.reasons[0]!.message).toMatch(/^refused to contact 169\.254\.169\.254: it is a cloud metadata address/);
    expect(w.requests.some((r) => r.includes("169.254"))).toBe(false);
    expect((trustCache as ReturnType<typeof memoryCache>).store.size).toBe(0);
    // Lasting: the same decision again is answered from the verdict cache, with no fetch.
    const fetches = work.fetch;
    expect(await decide(input, view, guarded)).toMatchObject({ decision: "deny", cached: true });
    expect(work.fetch).toBe(fetches);
  });

  it("a lookaside on a private address that the requirement names is contacted", async () => {
    const w = signedWorld("rsa");
    const { deps } = setup(w, NOW, D);
    const guarded = { ...deps, verifier: { ...deps.verifier, fetch: egressFetch(w.fetch, DEFAULT_EGRESS_POLICY) } };
    const named = await run(guarded, V1, { keys: RSA.keys, lookaside: "http://192.168.9.9:8080/sigs" });
    // The test world has no such host: the request reached the fetch port, and failed there (the
    // world's error text is not repeated: failures without an HTTP answer all read the same).
    expect(named.reasons[0]).toMatchObject({ code: "SIMPLE_LOOKASIDE_UNREACHABLE", transient: true });
    expect(named.reasons[0]!.message).toBe("lookaside 192.168.9.9:8080 could not be reached (no HTTP answer)");
    expect(w.requests).toContain(`GET http://192.168.9.9:8080/sigs/demo/app@${D.replace(":", "=")}/signature-1`);
    // A lookaside written in a scope is named too.
    const before = w.requests.length;
    const other = await run(guarded, V1, { keys: RSA.keys, lookaside: { scopes: { [`${R}/demo`]: "http://192.168.9.10/sigs" } } });
    expect(other.reasons[0]!.message).toMatch(/^lookaside 192\.168\.9\.10 could not be reached/);
    expect(w.requests.slice(before).some((r) => r.includes("192.168.9.10"))).toBe(true);
  });

  it("a registry that cannot be reached denies with the registry's code", async () => {
    const w = signedWorld("rsa");
    w.state.registryFault = "down";
    const v = await run(setup(w, NOW, D).deps, V1, RSA);
    expect(v.reasons[0]).toMatchObject({ code: "REGISTRY_UNREACHABLE", transient: true });
  });

  it("reads the registry's signature extension when it has one", async () => {
    const w = world(R);
    w.serveExtension("demo/app", D, [signature("other"), signature("ed25519")]);
    const { deps } = setup(w, NOW, D);
    const v = await run(deps, V1, { keys: [armoredKey("ed25519")] });
    expect(v.decision).toBe("allow");
    expect(v.reasons[0]).toMatchObject({ source: "extension", key: vectors.keys.ed25519.fingerprint });
    expect(w.requests.some((r) => r.includes(":8081/"))).toBe(false);
  });

  it("picks the lookaside by scope, docker.io spelled out", async () => {
    const w = world(R);
    w.lookaside("demo/app", D, [signature("rsa")], "/team");
    const { deps } = setup(w, NOW, D);
    const scoped = { keys: [armoredKey("rsa")], lookaside: { default: LOOKASIDE, scopes: { [`${R}/demo`]: "http://127.0.0.1:8081/team", [R]: LOOKASIDE } } };
    const v = await run(deps, V1, scoped);
    expect(v.reasons[0]).toMatchObject({ code: "SIMPLE_SIGNED", lookaside: "http://127.0.0.1:8081/team", scope: `${R}/demo` });
    // Without a scope for the image and without a default there is nowhere to look.
    const nowhere = await run(deps, V1, { keys: [armoredKey("rsa")], lookaside: { scopes: { "quay.io": LOOKASIDE } } });
    expect(nowhere.reasons[0]).toMatchObject({ code: "SIMPLE_SIGNATURE_MISSING", source: "none" });
  });

  it("caches an allow no longer than its signature is valid", async () => {
    const w = signedWorld("expired-signature");
    const valid = new Date("2020-01-02T23:00:00Z"); // the signature expires at 2020-01-03T00:00:00Z
    const { deps, work, advance } = setup(w, valid, D, { recheck: 86_400 });
    const v = await run(deps, V1, { keys: [armoredKey("old")], lookaside: LOOKASIDE });
    expect(v.decision).toBe("allow");
    expect(work.verify).toBe(1);
    advance(1800);
    expect((await run(deps, V1, { keys: [armoredKey("old")], lookaside: LOOKASIDE })).decision).toBe("allow");
    expect(work.verify).toBe(1);
    advance(1801); // past the expiry: verified again, and refused
    const expired = await run(deps, V1, { keys: [armoredKey("old")], lookaside: LOOKASIDE });
    expect(expired.decision).toBe("deny");
    expect(expired.reasons[0]!.message).toMatch(/^Invalid GPG signature: the signature by key .* expired on 2020-01-03T00:00:00.000Z$/);
    expect(work.verify).toBe(2);
  });

  it("a key that is not an OpenPGP key is a policy error (VERIFICATION_ERROR), checked before any fetch", async () => {
    const w = signedWorld("rsa");
    const { deps, work } = setup(w, NOW, D);
    const v = await run(deps, V1, { keys: ["-----BEGIN PGP PUBLIC KEY BLOCK-----\n\nbm90IGEga2V5\n-----END PGP PUBLIC KEY BLOCK-----"], lookaside: LOOKASIDE });
    expect(v.reasons[0]).toMatchObject({ code: "VERIFICATION_ERROR" });
    expect(v.reasons[0]!.message).toMatch(/^the signedBy requirement could not be checked: keys\[0\] is not an OpenPGP public key/);
    expect(work.fetch).toBe(0);
  });
});
