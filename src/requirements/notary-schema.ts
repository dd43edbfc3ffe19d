// The native `notary` requirement: Docker Content Trust / Notary v1 trust data, as a policy states it.
import * as z from "../schema";
import type { PolicyIssue } from "../policy/model";

const pem = z.string().check(z.minLength(1), z.maxLength(16_384));

const notarySigner = z.strictObject({
  /** Delegation name: "alice" means role targets/alice ("targets/alice" is accepted too). */
  name: z.string().check(z.regex(/^(targets\/)?[a-z0-9_-][a-z0-9_/-]{0,254}$/, "a delegation name like alice or targets/alice")),
  /** Portieris signerSecrets: the role must list one of these keys (PEM public keys or certificates). */
  keys: z.optional(z.array(pem).check(z.minLength(1), z.maxLength(16))),
});

export const notaryRequirement = z.strictObject({
  type: z.literal("notary"),
  /** Trust server base URL (https://notary.docker.io); loopback hosts are spoken to over http. */
  server: z.string().check(z.regex(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, "an http(s) URL like https://notary.docker.io"), z.maxLength(512)),
  /**
   * Pinned root keys: PEM public keys or certificates, or 64-hex TUF key IDs. One must sign the root
   * (to the root's threshold). None: trust on first use, pinned in KV from then on, as docker does.
   */
  rootKeys: z.optional(z.array(z.union([pem, z.string().check(z.regex(/^[a-f0-9]{64}$/))])).check(z.maxLength(16))),
  /** Signers that must have signed the same digest (Portieris signerSecrets, Connaisseur delegations). */
  signers: z.optional(z.array(notarySigner).check(z.minLength(1), z.maxLength(32))),
  /** How many of `signers` must hold the digest (distinct roles: bob and targets/bob are one); default: all of them. */
  signerThreshold: z.optional(z.int().check(z.minimum(1))),
  /** Credentials for the trust server's token flow; else REGISTRY_CREDENTIALS for its host. */
  auth: z.optional(
    z.union([
      z.strictObject({ username: z.string(), password: z.string() }),
      z.strictObject({ token: z.string() }),
    ]),
  ),
}).check(
  z.refine((r) => r.signerThreshold === undefined || r.signerThreshold <= (r.signers?.length ?? 0), {
    message: "signerThreshold cannot exceed the number of signers",
    path: ["signerThreshold"],
  }),
);

export type NotaryRequirement = z.infer<typeof notaryRequirement>;

/** The delegation role a signer names: "bob" and "targets/bob" are both targets/bob. */
export function signerRole(name: string): string {
  return name.startsWith("targets/") ? name : `targets/${name}`;
}

/** Import warnings: one role named twice counts once, so a threshold over the names may be out of reach. */
export function reviewNotary(req: NotaryRequirement, where: (path: string) => string): PolicyIssue[] {
  const warnings: PolicyIssue[] = [];
  const signers = req.signers ?? [];
  const roles = signers.map((s) => signerRole(s.name));
  roles.forEach((role, i) => {
    const first = roles.indexOf(role);
    if (first === i) return;
    warnings.push({
      path: where(`signers[${i}]`),
      message: `"${signers[i]!.name}" names the same role as "${signers[first]!.name}" (${where(`signers[${first}]`)}), ${role}: it counts as one signer`,
    });
  });
  const distinct = new Set(roles).size;
  if (req.signerThreshold !== undefined && req.signerThreshold > distinct) {
    warnings.push({
      path: where("signerThreshold"),
      message: `a signerThreshold of ${req.signerThreshold} cannot be met by ${distinct} distinct ${distinct === 1 ? "role" : "roles"}: every image is denied`,
    });
  }
  return warnings;
}
