// Shared by the admission tests: the AdmissionReview vectors, an RFC 6902/6901 patch applier, fake verdicts.
import type { Verdict } from "../../../src/decide";
import type { Reason } from "../../../src/reasons";

const files = import.meta.glob("../../vectors/admission/*.json", { query: "?raw", import: "default", eager: true }) as Record<string, string>;

/** A fresh copy of a vector (tests may change it). */
export function review(name: string): any {
  const text = files[`../../vectors/admission/${name}`];
  if (text === undefined) throw new Error(`no admission vector ${name}`);
  return JSON.parse(text);
}

/** Every workload kind's CREATE vector, with where its pod spec sits. */
export const WORKLOAD_VECTORS: readonly { file: string; kind: string; spec: string }[] = [
  { file: "pod-create.json", kind: "Pod", spec: "/spec" },
  { file: "deployment-create.json", kind: "Deployment", spec: "/spec/template/spec" },
  { file: "replicaset-create.json", kind: "ReplicaSet", spec: "/spec/template/spec" },
  { file: "statefulset-create.json", kind: "StatefulSet", spec: "/spec/template/spec" },
  { file: "daemonset-create.json", kind: "DaemonSet", spec: "/spec/template/spec" },
  { file: "job-create.json", kind: "Job", spec: "/spec/template/spec" },
  { file: "cronjob-create.json", kind: "CronJob", spec: "/spec/jobTemplate/spec/template/spec" },
  { file: "replicationcontroller-create.json", kind: "ReplicationController", spec: "/spec/template/spec" },
];

/** The images every workload vector holds (see test/vectors/admission/README.md). */
export const MIGRATE = `registry.example.com/team/migrate@sha256:${"a1".repeat(32)}`;
export const APP = "240.0.0.1:9/team/app:1.4.2";
export const PROXY = `registry.example.com/team/proxy:2.0@sha256:${"b2".repeat(32)}`;
export const DEBUG = "docker.io/library/busybox:1.36";

/** RFC 6901: "/a/b~1c/0" → ["a", "b/c", "0"]. */
function tokens(pointer: string): string[] {
  if (pointer === "") return [];
  if (!pointer.startsWith("/")) throw new Error(`not a JSON pointer: ${pointer}`);
  return pointer.slice(1).split("/").map((t) => t.replaceAll("~1", "/").replaceAll("~0", "~"));
}

export function getPointer(doc: unknown, pointer: string): unknown {
  let at: any = doc;
  for (const t of tokens(pointer)) {
    if (at === null || typeof at !== "object" || !(t in at)) throw new Error(`${pointer}: no ${t}`);
    at = at[t];
  }
  return at;
}

/** Applies an RFC 6902 patch as the API server does, all or nothing; supports the ops a webhook sends. */
export function applyPatch(doc: unknown, patch: readonly { op: string; path: string; value?: unknown }[]): any {
  const out = structuredClone(doc) as any;
  for (const { op, path, value } of patch) {
    const parts = tokens(path);
    const last = parts.pop();
    if (last === undefined) throw new Error("cannot patch the root");
    const parent: any = getPointer(out, parts.length ? `/${parts.map((p) => p.replaceAll("~", "~0").replaceAll("/", "~1")).join("/")}` : "");
    if (op === "replace") {
      if (!(last in parent)) throw new Error(`replace: ${path} does not exist`);
      parent[last] = value;
    } else if (op === "add") {
      if (Array.isArray(parent)) parent.splice(last === "-" ? parent.length : Number(last), 0, value);
      else parent[last] = value;
    } else {
      throw new Error(`unsupported op ${op}`);
    }
  }
  return out;
}

/** The JSONPatch of an AdmissionResponse, decoded from base64. */
export function decodePatch(response: { patch?: string; patchType?: string }): { op: string; path: string; value: string }[] {
  if (response.patchType !== "JSONPatch" || typeof response.patch !== "string") throw new Error("no JSONPatch in the response");
  const binary = atob(response.patch);
  return JSON.parse(new TextDecoder().decode(Uint8Array.from(binary, (ch) => ch.charCodeAt(0))));
}

export function fakeVerdict(image: string, allowed: boolean, reasons: Reason[], extra: Partial<Verdict> = {}): Verdict & { id: string } {
  return {
    decision: allowed ? "allow" : "deny",
    allowed,
    image,
    reference: image,
    digest: null,
    policy: { id: "p", revision: "r".repeat(32) },
    rule: null,
    mode: "enforce",
    reasons,
    cached: false,
    evaluatedAt: "2026-11-22T22:33:00.000Z",
    id: `v-${image.length}-${reasons.length}`,
    ...extra,
  };
}
