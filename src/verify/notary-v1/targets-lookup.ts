// Which digest a tag means in verified Notary v1 metadata, by Docker's rule, and per-signer checks.

import { toHex } from "../shared/encoding";
import { fail } from "./errors";
import type { FileMeta, TargetsMetadata } from "./roles";
import type { TrustedSet } from "./trusted-set";

/** Roles that release an image, in the order docker/cli asked notary for them. */
export const RELEASE_ROLES = ["targets/releases", "targets"] as const;

export interface TargetMatch {
  /** The role that lists the target. */
  readonly role: string;
  /** The target name (the tag). */
  readonly name: string;
  /** `sha256:<hex>` of the manifest. */
  readonly digest: string;
  readonly length: number;
  readonly meta: FileMeta;
}

/** `sha256:` + hex of `hashes.sha256`, or undefined when the target lists no sha256. */
export function targetDigest(meta: FileMeta): string | undefined {
  return meta.hashes.sha256 ? `sha256:${toHex(meta.hashes.sha256)}` : undefined;
}

/** True when `name` starts with one of the role's path prefixes (`""` allows all; none allows nothing). */
export function pathAllowed(paths: readonly string[], name: string): boolean {
  return paths.some((p) => name.startsWith(p));
}

/** The metadata and effective paths of a loaded role (`targets` may sign anything). */
function loadedRole(set: TrustedSet, role: string): { metadata: TargetsMetadata; paths: readonly string[] } | undefined {
  if (role === "targets") return set.targets ? { metadata: set.targets, paths: [""] } : undefined;
  const metadata = set.delegation(role);
  const effective = set.delegationRole(role);
  return metadata && effective ? { metadata, paths: effective.paths } : undefined;
}

function match(role: string, name: string, meta: FileMeta, paths: readonly string[]): TargetMatch | undefined {
  const digest = targetDigest(meta);
  if (!digest || !pathAllowed(paths, name)) return undefined;
  return { role, name, digest, length: meta.length, meta };
}

/**
 * The target a tag resolves to: `targets/releases` first, then `targets`. Signer-only roles
 * (`targets/alice`) never release. A target outside its role's paths does not count. A
 * `targets/releases` that has never been published (the snapshot does not list it) holds
 * nothing, as for notary. Throws OUT_OF_ORDER when targets is not loaded, or when the snapshot
 * lists `targets/releases` but it is not loaded (falling back to `targets` would change the answer).
 */
export function releasedTarget(set: TrustedSet, tag: string): TargetMatch | undefined {
  const targets = set.targets;
  if (!targets) fail("OUT_OF_ORDER", "targets must be loaded before looking up a tag", "targets");
  const releasesPublished =
    targets.delegations.roles.some((r) => r.name === "targets/releases") && set.snapshot?.meta.has("targets/releases") === true;
  if (releasesPublished && !set.delegation("targets/releases")) {
    fail("OUT_OF_ORDER", "targets/releases is delegated but not loaded", "targets/releases");
  }
  for (const role of RELEASE_ROLES) {
    const loaded = loadedRole(set, role);
    const meta = loaded?.metadata.targets.get(tag);
    if (!loaded || !meta) continue;
    const found = match(role, tag, meta, loaded.paths);
    if (found) return found;
  }
  return undefined;
}

/**
 * Targets whose sha256 equals `digest` (`sha256:<hex>`), in the given loaded roles (by default the
 * releasing ones), respecting each role's paths.
 */
export function targetsByDigest(set: TrustedSet, digest: string, roles: readonly string[] = RELEASE_ROLES): TargetMatch[] {
  const wanted = normaliseDigest(digest);
  const out: TargetMatch[] = [];
  for (const role of roles) {
    const loaded = loadedRole(set, role);
    if (!loaded) continue;
    for (const [name, meta] of loaded.metadata.targets) {
      const found = match(role, name, meta, loaded.paths);
      if (found && found.digest === wanted) out.push(found);
    }
  }
  return out;
}

export type RoleSignsResult =
  | { readonly ok: true; readonly match: TargetMatch }
  | { readonly ok: false; readonly why: string };

/**
 * Whether `role` (e.g. `targets/alice`, loaded and verified) lists `tag` with the sha256 `digest`,
 * within its paths (Portieris' signer check, Connaisseur's required delegations).
 */
export function roleSignsTarget(set: TrustedSet, role: string, tag: string, digest: string): RoleSignsResult {
  const loaded = loadedRole(set, role);
  if (!loaded) return { ok: false, why: `${role} is not loaded` };
  const meta = loaded.metadata.targets.get(tag);
  if (!meta) return { ok: false, why: `${role} does not sign ${tag}` };
  if (!pathAllowed(loaded.paths, tag)) return { ok: false, why: `${role} may not sign ${tag} (outside its paths)` };
  const found = match(role, tag, meta, loaded.paths);
  if (!found) return { ok: false, why: `${role} lists ${tag} without a sha256` };
  if (found.digest !== normaliseDigest(digest)) return { ok: false, why: `${role} signs ${tag} as ${found.digest}, not ${digest}` };
  return { ok: true, match: found };
}

function normaliseDigest(digest: string): string {
  const m = /^sha256:([0-9a-fA-F]{64})$/.exec(digest);
  if (!m) throw new TypeError(`not a sha256 digest: ${digest}`);
  return `sha256:${m[1]!.toLowerCase()}`;
}
