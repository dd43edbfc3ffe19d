// The registry of requirement kinds: each kind validates its own fields and evaluates itself,
// so a new signature format is one new kind, not a switch spread across files.
import type { Schema } from "../schema";
import type { ImageReference } from "../reference";
import type { Reason } from "../reasons";
import type { Background, Clock, Cache, Credentials, HttpFetch, NamedUpstreams, WorkCounter } from "../ports";
import type { PolicyIssue, Requirement } from "./model";

/** What a kind needs to know about the image's manifest digest before it can evaluate. */
export type DigestNeed = "required" | "optional" | "none";

export interface VerifierSettings {
  readonly upstreamTimeoutMs: number;
  /** How long verified trust data decides before its server is asked again (the timestamp re-check). */
  readonly trustRecheckSeconds: number;
  /** Per host (registry or trust server) credentials. */
  readonly credentials: Readonly<Record<string, Credentials>>;
  /** Registries spoken to over plain http besides loopback ones (INSECURE_REGISTRIES). */
  readonly insecureRegistries?: readonly string[];
  /** The TUF repository Sigstore's trust root is read from (SIGSTORE_TUF_URL); default: the public-good one. */
  readonly sigstoreTufUrl?: string;
}

/** I/O and configuration verifiers may use; all of it comes in through ports. */
export interface VerifierDeps {
  readonly fetch: HttpFetch;
  readonly trustCache: Cache;
  readonly clock: Clock;
  readonly counter: WorkCounter;
  readonly settings: VerifierSettings;
}

export interface EvaluationContext {
  readonly reference: ImageReference;
  /** The manifest digest the verdict is about, when known. */
  readonly digest: string | undefined;
  /** Pattern of the rule being evaluated (for messages). */
  readonly rule: string;
  readonly context: Readonly<Record<string, unknown>>;
  readonly deps: VerifierDeps;
  /** Where cache writes go once the outcome is known (ports.ts `writeBehind`). */
  readonly background?: Background;
}

export interface RequirementOutcome {
  readonly satisfied: boolean;
  readonly reasons: readonly Reason[];
  /** False when the outcome came from a passing failure (an upstream down): never cache it. */
  readonly cacheable: boolean;
  /** The longest a verdict resting on this outcome may be reused (trust data re-check, expiry). */
  readonly ttlSeconds?: number;
}

export interface RequirementKind<R extends Requirement = Requirement> {
  readonly type: R["type"];
  /** Validates the native form of the requirement; unknown fields must be rejected. */
  readonly schema: Schema<R>;
  readonly digest: DigestNeed;
  evaluate(requirement: R, ctx: EvaluationContext): Promise<RequirementOutcome>;
  /**
   * The upstream hosts the requirement names literally (a trust server, a lookaside, a signature
   * repository), "host:port" or "host": a decision under its rule may contact them even on a
   * private address (docs/security.md). Absent: it names none.
   */
  upstreams?(requirement: R): NamedUpstreams;
  /**
   * What a valid requirement says that its author probably did not mean (a key listed twice, a
   * threshold no signers can meet): import warnings, never refusals. `where` turns a path inside
   * the requirement ("keys[1]") into its place in the submitted document.
   */
  review?(requirement: R, where: (path: string) => string): PolicyIssue[];
}

export type RequirementKinds = ReadonlyMap<string, RequirementKind>;

export function createRequirementKinds(kinds: readonly RequirementKind<any>[]): RequirementKinds {
  const map = new Map<string, RequirementKind>();
  for (const kind of kinds) {
    if (map.has(kind.type)) throw new Error(`requirement kind ${kind.type} registered twice`);
    map.set(kind.type, kind as RequirementKind);
  }
  return map;
}
