// Static requirements: `allow` (no verification) and `deny` (with an optional message).
import * as z from "../schema";
import type { RequirementKind } from "../policy/requirement-kinds";
import { familiarName } from "../reference";

export type AllowRequirement = {
  readonly type: "allow";
};

export type DenyRequirement = {
  readonly type: "deny";
  readonly message?: string;
};

export const allowKind: RequirementKind<AllowRequirement> = {
  type: "allow",
  schema: z.strictObject({ type: z.literal("allow") }),
  // The digest is not needed to allow, but a verdict that names it is more useful (pinning, history).
  digest: "optional",
  async evaluate(_req, ctx) {
    return {
      satisfied: true,
      cacheable: true,
      reasons: [
        {
          code: "STATIC_ALLOW",
          message: `image ${ctx.reference.canonical} is allowed by rule ${ctx.rule} without verification`,
          rule: ctx.rule,
          requirement: "allow",
        },
      ],
    };
  },
};

export const denyKind: RequirementKind<DenyRequirement> = {
  type: "deny",
  schema: z.strictObject({
    type: z.literal("deny"),
    message: z.optional(z.string().check(z.minLength(1), z.maxLength(1024))),
  }),
  digest: "none",
  async evaluate(req, ctx) {
    return {
      satisfied: false,
      cacheable: true,
      reasons: [
        {
          code: "STATIC_DENY",
          // Connaisseur's wording when the policy gives no message of its own.
          // A policy's own message may name the image: "{image}" in full, "{familiarImage}" as docker
          // and podman print it ("Running image docker://busybox:latest is rejected by policy.").
          message:
            req.message
              ?.replaceAll("{familiarImage}", familiarName(ctx.reference))
              .replaceAll("{image}", ctx.reference.canonical) ??
            `static deny for image ${ctx.reference.canonical} using rule ${ctx.rule}`,
          rule: ctx.rule,
          requirement: "deny",
        },
      ],
    };
  },
};

export type DigestPinnedRequirement = {
  readonly type: "digestPinned";
  /** The deny message; "{image}" is the image as decided. */
  readonly message?: string;
};

/** The image must be given by digest, not only by tag (Kyverno verifyDigest without mutateDigest). */
export const digestPinnedKind: RequirementKind<DigestPinnedRequirement> = {
  type: "digestPinned",
  schema: z.strictObject({
    type: z.literal("digestPinned"),
    message: z.optional(z.string().check(z.minLength(1), z.maxLength(1024))),
  }),
  digest: "none",
  async evaluate(req, ctx) {
    if (ctx.reference.digest !== undefined) return { satisfied: true, cacheable: true, reasons: [] };
    return {
      satisfied: false,
      cacheable: true,
      reasons: [
        {
          code: "DIGEST_NOT_PINNED",
          message:
            req.message?.replaceAll("{image}", ctx.reference.canonical) ??
            `${ctx.reference.canonical} is given by tag; rule ${ctx.rule} needs it pinned by digest (name@sha256:…)`,
          rule: ctx.rule,
          requirement: "digestPinned",
        },
      ],
    };
  },
};
