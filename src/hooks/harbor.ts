// Harbor webhooks: PUSH_ARTIFACT payloads (Default and CloudEvents formats) and the image each resource names.
import * as z from "../schema";
import { isRecord } from "../stored";
import {
  IssueList,
  MAX_IMAGES,
  HookPayloadError,
  imageFor,
  tagOrNull,
  text,
  type HookBatch,
  type HookImage,
  type HookRejection,
} from "./common";

/** Harbor's event type for a push, in its Default format and in its CloudEvents format. */
const HARBOR_PUSH_TYPE = "PUSH_ARTIFACT";
const HARBOR_CLOUDEVENTS_PUSH_TYPE = "harbor.artifact.pushed";

const WHAT = "a Harbor webhook payload ({ \"type\", \"event_data\": { \"resources\", \"repository\" } })";

// src/pkg/notifier/model/event.go: Resource and Repository. Loose, like the registry's envelope.
const resourceSchema = z.looseObject({
  digest: text(256),
  tag: text(256),
  resource_url: text(4096),
});

const eventDataSchema = z.looseObject({
  resources: z.array(z.unknown()).check(z.maxLength(MAX_IMAGES)),
  repository: z.looseObject({
    name: text(512),
    namespace: text(512),
    repo_full_name: text(512),
    repo_type: text(64),
    date_created: z.nullish(z.number()),
  }),
});

const defaultSchema = z.looseObject({
  type: z.string().check(z.maxLength(128)),
  occur_at: z.nullish(z.number()),
  operator: text(1024),
});

const cloudEventSchema = z.looseObject({
  specversion: z.string().check(z.maxLength(16)),
  id: text(256),
  type: z.string().check(z.maxLength(128)),
  operator: text(1024),
});

/**
 * Reads a Harbor webhook body in the Default format (`{ type, occur_at, operator, event_data }`) or
 * the CloudEvents format (`{ specversion, id, type, operator, data }`). Other event types count as
 * one ignored event without their data being read; a push must have `resources` and `repository`.
 */
export function parseHarborPayload(body: unknown): HookBatch {
  if (!isRecord(body)) throw new HookPayloadError(WHAT, [{ path: "", message: "expected a JSON object" }]);
  const issues = new IssueList();
  const cloudEvent = "specversion" in body;
  const head = cloudEvent ? issues.check(cloudEventSchema, body, "") : issues.check(defaultSchema, body, "");
  issues.throwIfAny(WHAT);
  const isPush = head!.type === (cloudEvent ? HARBOR_CLOUDEVENTS_PUSH_TYPE : HARBOR_PUSH_TYPE);
  if (!isPush) return { images: [], ignored: 1, rejected: [] };

  const dataPath = cloudEvent ? "data" : "event_data";
  const data = issues.check(eventDataSchema, body[dataPath], dataPath);
  issues.throwIfAny(WHAT);
  const resources = data!.resources.map((r, i) => issues.check(resourceSchema, r, `${dataPath}.resources[${i}]`));
  issues.throwIfAny(WHAT);

  const { repository } = data!;
  const repoName =
    repository.repo_full_name || (repository.namespace && repository.name ? `${repository.namespace}/${repository.name}` : "");
  const eventId = cloudEvent ? (head as { id?: string | null }).id || null : null;
  const actor = head!.operator || null;

  const images: HookImage[] = [];
  const rejected: HookRejection[] = [];
  const seen = new Set<string>();
  let ignored = 0;
  resources.forEach((resource, i) => {
    if (!resource) return;
    const path = `${dataPath}.resources[${i}]`;
    const digest = resource.digest;
    if (!digest) {
      rejected.push({ eventId, path, message: "a pushed artifact without a digest" });
      return;
    }
    const tag = tagOrNull(resource.tag, digest);
    const key = `${digest} ${tag ?? ""}`;
    if (seen.has(key)) {
      ignored++;
      return;
    }
    seen.add(key);
    if (!repoName) {
      rejected.push({ eventId, path: `${dataPath}.repository`, message: "no repo_full_name (nor namespace and name)" });
      return;
    }
    const host = hostOfResourceUrl(resource.resource_url ?? "", repoName);
    if ("problem" in host) {
      rejected.push({ eventId, path, message: host.problem });
      return;
    }
    const result = imageFor(host.host, repoName, digest);
    if ("problem" in result) rejected.push({ eventId, path, message: result.problem });
    else images.push({ image: result.image, digest, tag, eventId, actor });
  });
  return { images, ignored, rejected };
}

/**
 * Harbor builds resource_url as `<external URL without scheme>/<repo_full_name>:<tag>` (or `@<digest>`),
 * so the registry host is what comes before `/<repo_full_name>`. A scheme is tolerated.
 */
export function hostOfResourceUrl(resourceUrl: string, repoName: string): { host: string } | { problem: string } {
  if (!resourceUrl) return { problem: "no resource_url, so the registry host is unknown" };
  const url = resourceUrl.replace(/^https?:\/\//i, "");
  const slash = url.indexOf("/");
  const host = slash > 0 ? url.slice(0, slash) : "";
  const rest = slash > 0 ? url.slice(slash + 1) : "";
  if (host === "" || !(rest === repoName || rest.startsWith(`${repoName}:`) || rest.startsWith(`${repoName}@`))) {
    return {
      problem: `resource_url ${JSON.stringify(resourceUrl.slice(0, 300))} is not <registry host>/${repoName.slice(0, 300)}[:tag|@digest]`,
    };
  }
  return { host };
}
