// Every case skopeo 1.9 judged when the vectors were made (test/vectors/simple-signing/cases.json),
// decided again by trustgate through decide(): same verdict, and the same words where they are shared.
import { describe, expect, it } from "vitest";
import { armoredKey, NOW, signature, vectors, type OracleCase } from "./vectors";
import { LOOKASIDE, run, setup, world } from "./world";

/**
 * Where trustgate follows current containers/image rather than skopeo 1.9.3 (containers/image 5.23).
 * subkey: 5.23's gpgme mechanism returned the subkey's fingerprint and refused it ("Signature by key
 * <subkey> is not accepted", podman#16406); since containers/image#2905 ("Accept subkey signatures",
 * merged 2025-07) signature/simple.go maps a subkey to its primary key
 * (keyIdentityForVerificationKeyIdentity), so a signature by a trusted key's signing subkey is accepted.
 */
const FOLLOWS_NEWER_UPSTREAM: Record<string, boolean> = { subkey: true };

/**
 * Cases whose message is word for word skopeo's (identities compared without the %q quotes current
 * containers/image adds). The others say the same thing differently: gpgme prints a Go struct for
 * invalid signatures (trustgate names the problem), and a few payload errors were reworded upstream
 * since 5.23 (trustgate uses the current words).
 */
const SAME_WORDS = new Set([
  "digest-mismatch",
  "not-json",
  "trailing-data",
  "wrong-type",
  "extra-critical",
  "extra-top",
  "extra-image",
  "duplicate-type",
  "duplicate-identity",
  "optional-duplicate",
  "missing-optional",
  "identity-null",
  "two-signers",
  "unsigned-literal",
  "none",
]);

/** Reworded (or newly checked) in containers/image since 5.23: trustgate says what current upstream says. */
const CURRENT_WORDS: Record<string, string> = {
  // 5.23 did not validate the digest's syntax and compared it; current simple.go rejects it while parsing.
  "bad-digest": 'invalid docker-manifest-digest value "sha256:1234": invalid checksum digest length',
  // 5.23 said "is not is not an integer".
  "optional-fraction": "Field optional.timestamp is not an integer",
};

function unquoteIdentity(message: string): string {
  return message.replace(/Signature for identity "((?:[^"\\]|\\.)*)" is not accepted/g, "Signature for identity $1 is not accepted");
}

async function decideCase(c: OracleCase) {
  const w = world(vectors.registry);
  const repo = c.image.slice(vectors.registry.length + 1).replace(/[:@].*$/, "");
  w.lookaside(repo, vectors.digest, c.signatures.map(signature));
  const { deps } = setup(w, NOW, vectors.digest);
  return run(deps, c.image, {
    keys: c.keys.map(armoredKey),
    lookaside: LOOKASIDE,
    ...(c.signedIdentity ? { signedIdentity: c.signedIdentity } : {}),
  });
}

describe("simple signing: the same verdicts as skopeo on the same signatures", () => {
  it("has the cases it claims (vectors present, made by the tools in the README)", () => {
    expect(vectors.cases.length).toBeGreaterThanOrEqual(60);
    expect(vectors.tools.skopeo).toMatch(/skopeo version 1\.9/);
    expect(vectors.tools.gpg).toMatch(/GnuPG/);
  });

  for (const c of vectors.cases) {
    const expected = FOLLOWS_NEWER_UPSTREAM[c.name] ?? c.skopeo.accepted;
    it(`${c.name}: ${expected ? "allow" : "deny"}${expected !== c.skopeo.accepted ? " (skopeo 1.9 said otherwise; see FOLLOWS_NEWER_UPSTREAM)" : ""}`, async () => {
      const v = await decideCase(c);
      expect(v.decision, JSON.stringify(v.reasons)).toBe(expected ? "allow" : "deny");
      if (expected) {
        expect(v.reasons[0]).toMatchObject({ code: "SIMPLE_SIGNED", requirement: "signedBy", source: "lookaside" });
        return;
      }
      const reason = v.reasons[0]!;
      expect(reason.code).toMatch(/^SIMPLE_SIGNATURE(S_REJECTED|_MISSING)$/);
      if (CURRENT_WORDS[c.name]) {
        expect(reason.message).toBe(CURRENT_WORDS[c.name]);
        return;
      }
      if (SAME_WORDS.has(c.name)) expect(unquoteIdentity(reason.message)).toBe(c.skopeo.message);
      if (/^Signature for (identity|digest) /.test(c.skopeo.message ?? "")) expect(unquoteIdentity(reason.message)).toBe(c.skopeo.message);
      if (c.signatures.length > 1 && !c.skopeo.accepted) expect(reason.message).toMatch(/^None of the signatures were accepted, reasons: .+; .+/);
    });
  }

  it("a cleartext signature in the lookaside fails the whole image, as containers/image's FromBlob does", async () => {
    const c = vectors.cases.find((x) => x.name === "cleartext")!;
    const v = await decideCase(c);
    expect(v.reasons[0]!.message).toMatch(/^parsing signature http:\/\/.+\/signature-1: unrecognized signature format, starting with binary 0x2d$/);
    expect(c.skopeo.message).toMatch(/: unrecognized signature format, starting with binary 0x2d$/);
  });
});
