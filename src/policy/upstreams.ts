// The upstream hosts a decision's matching rule names literally, and the verifier I/O that may
// contact them (docs/security.md, "Named explicitly"). A rule names a host when its pattern's
// registry has no wildcard ("10.0.0.5:5000/app/*" names 10.0.0.5:5000; "*:5000/*" names nothing),
// and when a requirement names one (RequirementKind.upstreams). The permission is per decision:
// the hosts go to the digest resolver and to the verifiers' fetch port for this decision only.
import type { HttpFetch, NamedUpstreams } from "../ports";
import type { CompiledRule } from "./compile";
import { literalRegistry } from "./pattern";
import type { Requirement } from "./model";
import type { RequirementKind, RequirementKinds, VerifierDeps } from "./requirement-kinds";

/** "host:port" of an http(s) URL as written in a policy (the port the scheme implies when none is given). */
export function urlUpstream(url: string): string | undefined {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return undefined;
  }
  if (u.protocol !== "https:" && u.protocol !== "http:") return undefined;
  return `${u.hostname}:${u.port !== "" ? u.port : u.protocol === "https:" ? "443" : "80"}`;
}

const byRule = new WeakMap<CompiledRule, WeakMap<RequirementKinds, NamedUpstreams>>();

/** The hosts one requirement names; none when its kind is unknown or cannot read it (evaluating it then fails on its own). */
export function requirementUpstreams(kind: RequirementKind | undefined, requirement: Requirement): NamedUpstreams {
  try {
    return kind?.upstreams?.(requirement) ?? [];
  } catch {
    return [];
  }
}

/** The hosts `rule` names literally (computed once per compiled rule). */
export function ruleUpstreams(rule: CompiledRule, kinds: RequirementKinds): NamedUpstreams {
  let perKinds = byRule.get(rule);
  const known = perKinds?.get(kinds);
  if (known) return known;
  const named = new Set<string>();
  const registry = literalRegistry(rule.pattern);
  if (registry !== undefined) named.add(registry.toLowerCase());
  for (const requirement of rule.rule.require) {
    for (const host of requirementUpstreams(kinds.get(requirement.type), requirement)) named.add(host.toLowerCase());
  }
  const upstreams = Object.freeze([...named]);
  if (!perKinds) byRule.set(rule, (perKinds = new WeakMap()));
  perKinds.set(kinds, upstreams);
  return upstreams;
}

const namingVerifiers = new WeakMap<VerifierDeps, WeakMap<HttpFetch, VerifierDeps>>();

/**
 * The verifiers' deps for a decision whose rule names `upstreams`: the same, with the fetch port
 * that may contact them. One object per (deps, port), so the clients kinds keep per deps are reused.
 */
export function verifierNaming(deps: VerifierDeps, upstreams: NamedUpstreams): VerifierDeps {
  if (upstreams.length === 0 || !deps.fetch.naming) return deps;
  const fetch = deps.fetch.naming(upstreams);
  if (fetch === deps.fetch) return deps;
  let perFetch = namingVerifiers.get(deps);
  if (!perFetch) namingVerifiers.set(deps, (perFetch = new WeakMap()));
  let scoped = perFetch.get(fetch);
  if (!scoped) perFetch.set(fetch, (scoped = { ...deps, fetch }));
  return scoped;
}
