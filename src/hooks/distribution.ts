// Docker distribution notification envelopes: which events are manifest pushes, and the image each one names.
import * as z from "../schema";
import { isRecord } from "../stored";
import {
  IssueList,
  MANIFEST_MEDIA_TYPES,
  MAX_EVENTS,
  MAX_IMAGES,
  HookPayloadError,
  imageFor,
  normalizeMediaType,
  text,
  type HookBatch,
  type HookImage,
  type HookRejection,
} from "./common";

// A registry sends application/vnd.docker.distribution.events.v1+json (v2 from distribution 3). Not
// checked: the body is what counts, so a proxy that rewrites Content-Type doesn't break anything.

const WHAT = "a distribution notification envelope ({ \"events\": [...] })";

// distribution's notifications.Event (notifications/event.go). Loose: fields added by later versions
// (references, fromRepository, annotations, …) are accepted; the ones read here must have their type.
const eventSchema = z.looseObject({
  id: text(256),
  timestamp: text(64),
  action: text(64),
  target: z.nullish(
    z.looseObject({
      mediaType: text(256),
      size: z.nullish(z.number()),
      length: z.nullish(z.number()),
      digest: text(256),
      repository: text(512),
      url: text(4096),
      tag: text(256),
    }),
  ),
  request: z.nullish(
    z.looseObject({
      id: text(256),
      addr: text(512),
      host: text(512),
      method: text(32),
      useragent: text(1024),
    }),
  ),
  actor: z.nullish(z.looseObject({ name: text(1024) })),
  source: z.nullish(z.looseObject({ addr: text(512), instanceID: text(256) })),
});

type DistributionEvent = z.infer<typeof eventSchema>;

/**
 * Reads an envelope. Throws HookPayloadError when it is not one (not an object, no `events` array,
 * an event or a field of the wrong type, more than MAX_EVENTS events or MAX_IMAGES manifest pushes).
 * A well-formed manifest push that still cannot be decided is returned as a rejection, so one odd
 * event never makes the registry retry the whole envelope forever.
 */
export function parseDistributionEnvelope(body: unknown): HookBatch {
  const issues = new IssueList();
  if (!isRecord(body)) throw new HookPayloadError(WHAT, [{ path: "", message: "expected a JSON object" }]);
  const events = body.events;
  if (!Array.isArray(events)) {
    throw new HookPayloadError(WHAT, [{ path: "events", message: events === undefined ? "missing" : "expected an array" }]);
  }
  if (events.length > MAX_EVENTS) {
    throw new HookPayloadError(WHAT, [{ path: "events", message: `${events.length} events; at most ${MAX_EVENTS} per envelope` }]);
  }
  const parsed: (DistributionEvent | undefined)[] = events.map((event, i) => issues.check(eventSchema, event, `events[${i}]`));
  issues.throwIfAny(WHAT);

  const images: HookImage[] = [];
  const rejected: HookRejection[] = [];
  const seen = new Set<string>();
  let ignored = 0;
  parsed.forEach((event, i) => {
    if (!event) return;
    const id = event.id || null;
    if (id !== null) {
      // The same event twice in one envelope is one push; count the repeat as ignored.
      if (seen.has(id)) {
        ignored++;
        return;
      }
      seen.add(id);
    }
    if (!isManifestPush(event)) {
      ignored++;
      return;
    }
    const result = imageOf(event);
    if ("problem" in result) rejected.push({ eventId: id, path: `events[${i}]`, message: result.problem });
    else images.push(result);
  });
  if (images.length > MAX_IMAGES) {
    throw new HookPayloadError(WHAT, [
      { path: "events", message: `${images.length} manifest pushes; at most ${MAX_IMAGES} per envelope` },
    ]);
  }
  return { images, ignored, rejected };
}

/** A push whose target is a manifest or an index. Pulls, mounts, deletes and blob pushes are not. */
export function isManifestPush(event: DistributionEvent): boolean {
  return event.action === "push" && MANIFEST_MEDIA_TYPES.has(normalizeMediaType(event.target?.mediaType ?? ""));
}

/**
 * The registry host: from target.url (built by the registry's URL builder, so it honours `http.host`
 * and X-Forwarded-Host) and else request.host (the Host header of the push). With `relativeurls`
 * the URL has no host and request.host decides.
 */
export function registryHostOf(event: DistributionEvent): string | null {
  const url = event.target?.url;
  if (url) {
    try {
      const parsed = new URL(url);
      if ((parsed.protocol === "http:" || parsed.protocol === "https:") && parsed.host !== "") return parsed.host;
    } catch {
      // a relative URL: fall through to request.host
    }
  }
  return event.request?.host || null;
}

function imageOf(event: DistributionEvent): HookImage | { problem: string } {
  const digest = event.target?.digest;
  const repository = event.target?.repository;
  if (!digest) return { problem: "a manifest push without target.digest" };
  if (!repository) return { problem: "a manifest push without target.repository" };
  const host = registryHostOf(event);
  if (!host) return { problem: "neither target.url nor request.host names the registry host" };
  const result = imageFor(host, repository, digest);
  if ("problem" in result) return result;
  return {
    image: result.image,
    digest,
    tag: event.target?.tag || null,
    eventId: event.id || null,
    actor: event.actor?.name || null,
  };
}
