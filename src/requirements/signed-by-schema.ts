// The native `signedBy` requirement: Red Hat simple signing (OpenPGP), as containers-policy.json states it.
import * as z from "../schema";
import { signedIdentity } from "./identity-schema";

const url = z.string().check(z.regex(/^https?:\/\/[^\s/?#]+(\/[^\s?#]*)?$/, "an http(s) URL"), z.maxLength(1024));

export const signedByRequirement = z.strictObject({
  type: z.literal("signedBy"),
  /** OpenPGP public keys: armored text, or base64 of the binary key (policy.json keyData). */
  keys: z.array(z.string().check(z.minLength(1), z.maxLength(262_144))).check(z.minLength(1), z.maxLength(32)),
  /** Which identity in the signature is accepted; default matchRepoDigestOrExact, as in policy.json. */
  signedIdentity: z.optional(signedIdentity),
  /**
   * Where signatures live (registries.d `lookaside`): one base URL, or per scope ("host",
   * "host/ns", "host/ns/repo"; the most specific matching scope wins) with a default.
   */
  lookaside: z.optional(
    z.union([
      url,
      z.strictObject({
        default: z.optional(url),
        scopes: z.optional(z.record(z.string().check(z.minLength(1), z.maxLength(512)), url)),
      }),
    ]),
  ),
});

export type SignedByRequirement = z.infer<typeof signedByRequirement>;
