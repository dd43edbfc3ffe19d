// What registry hooks have in common: the images to decide, the payload error, and the checks both need.
import * as z from "../schema";
import { formatPath, joinPath } from "../policy/issues";
import { canonicalRegistry, parseReference } from "../reference";
import { DEFAULT_LIMITS } from "../limits";

/** One manifest push to decide: `<registry host>/<repository>@<digest>`, with what the event said about it. */
export interface HookImage {
  readonly image: string;
  readonly digest: string;
  /** The tag the push named; null for a push by digest. */
  readonly tag: string | null;
  /** The event's own ID (distribution events, Harbor CloudEvents); null when the payload has none. */
  readonly eventId: string | null;
  /** Who pushed: distribution's actor.name, Harbor's operator; null when not said. */
  readonly actor: string | null;
}

/** A manifest push that cannot be decided (no digest, no registry host, a name Docker would not accept). */
export interface HookRejection {
  readonly eventId: string | null;
  /** Where in the payload: "events[2]", "event_data.resources[0]". */
  readonly path: string;
  readonly message: string;
}

export interface HookBatch {
  /** Distinct manifest pushes, in payload order. */
  readonly images: HookImage[];
  /** Events that are not manifest pushes (pulls, blobs, mounts, deletes, other types) or repeat an event ID. */
  readonly ignored: number;
  readonly rejected: HookRejection[];
}

export interface HookIssue {
  readonly path: string;
  readonly message: string;
}

/** The payload is not what the hook takes (wrong JSON shape, too many events): a 400, never a partial answer. */
export class HookPayloadError extends Error {
  override readonly name = "HookPayloadError";
  constructor(
    readonly what: string,
    readonly issues: readonly HookIssue[],
    readonly more = 0,
  ) {
    const listed = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join("; ");
    super(`the request body is not ${what}: ${listed}${more > 0 ? ` (and ${more} more problems)` : ""}`);
  }
}

/** Hostile-input bounds (`Limits.api`): events per payload, decisions it asks for, problems reported. */
export const MAX_EVENTS = DEFAULT_LIMITS.api.hookEvents;
export const MAX_IMAGES = DEFAULT_LIMITS.api.imagesPerRequest;
export const MAX_ISSUES = DEFAULT_LIMITS.api.hookIssues;

/**
 * Manifest and index media types: a push of one of these is an image (or an index of images).
 * Blobs arrive as application/octet-stream from distribution; layers and configs never match.
 */
export const MANIFEST_MEDIA_TYPES: ReadonlySet<string> = new Set([
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
  "application/vnd.docker.distribution.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.v1+prettyjws",
]);

/** "Application/VND.OCI…+json; charset=utf-8" → "application/vnd.oci…+json". */
export function normalizeMediaType(mediaType: string): string {
  const semicolon = mediaType.indexOf(";");
  return (semicolon >= 0 ? mediaType.slice(0, semicolon) : mediaType).trim().toLowerCase();
}

/** A bounded optional string: absent, null, or a string of at most `max` characters. */
export const text = (max: number) => z.nullish(z.string().check(z.maxLength(max)));

/** Collects schema problems across many items, stopping the detail at MAX_ISSUES. */
export class IssueList {
  readonly issues: HookIssue[] = [];
  more = 0;

  add(path: string, message: string): void {
    if (this.issues.length < MAX_ISSUES) this.issues.push({ path, message });
    else this.more++;
  }

  /** Validates one value; its problems are recorded under `prefix`, the parsed value returned when valid. */
  check<T>(schema: z.Schema<T>, value: unknown, prefix: string): T | undefined {
    const parsed = schema.safeParse(value);
    if (parsed.success) return parsed.data;
    for (const issue of parsed.error.issues) this.add(joinPath(prefix, formatPath(issue.path)), issue.message);
    return undefined;
  }

  throwIfAny(what: string): void {
    if (this.issues.length > 0) throw new HookPayloadError(what, this.issues, this.more);
  }
}

/**
 * `<host>/<repository>@<digest>`, checked to mean exactly that under Docker's reference grammar: the host
 * is read as the registry (not a Docker Hub namespace), the repository is a valid path with no tag in it,
 * and the digest is one go-digest accepts. Returns the image or a message saying what is wrong.
 */
export function imageFor(host: string, repository: string, digest: string): { image: string } | { problem: string } {
  const registry = host.toLowerCase();
  if (registry === "") return { problem: "the registry host is empty" };
  if (repository === "") return { problem: "the repository name is empty" };
  if (/[/@]/.test(registry)) return { problem: `registry host ${JSON.stringify(host.slice(0, 100))} contains '/' or '@'` };
  const image = `${registry}/${repository}@${digest}`;
  let ref;
  try {
    ref = parseReference(image);
  } catch (err) {
    return { problem: (err as Error).message };
  }
  const sameRegistry = ref.registry === canonicalRegistry(registry);
  if (!sameRegistry) {
    return {
      problem:
        `registry host ${JSON.stringify(registry)} would be read as a Docker Hub namespace in ${JSON.stringify(image)}; ` +
        "a registry host needs a '.', a ':port' or to be localhost",
    };
  }
  if (ref.tag !== undefined || ref.digest !== digest) {
    return { problem: `repository ${JSON.stringify(repository.slice(0, 300))} is not a repository name` };
  }
  return { image };
}

/** Tags as context: Harbor names a push by digest with the digest in `tag`; that is no tag. */
export function tagOrNull(tag: string | null | undefined, digest: string): string | null {
  if (tag === undefined || tag === null || tag === "" || tag === digest || tag.includes(":")) return null;
  return tag;
}
