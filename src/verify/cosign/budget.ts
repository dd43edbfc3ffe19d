// The signature checks one cosign requirement may make in a decision: shared by every signature it
// looks at, made one at a time with a turn for the event loop between them.
import { MAX_PREHASH_FALLBACKS, MAX_VERIFICATIONS } from "./limits";

/** Lets timers and other requests on the isolate run: the decision budget can fire between checks. */
export function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

export class VerificationBudget {
  private used = 0;
  private refused = 0;
  private tail: Promise<unknown> = Promise.resolve();

  private prehashUsed = 0;
  private prehashRefused = 0;

  constructor(
    readonly limit: number = MAX_VERIFICATIONS,
    readonly prehashLimit: number = MAX_PREHASH_FALLBACKS,
  ) {}

  /** Whether one more check may fall back to Ed25519ph in JS (signature.ts); counted either way. */
  readonly allowPrehash = (): boolean => {
    if (this.prehashUsed >= this.prehashLimit) {
      this.prehashRefused++;
      return false;
    }
    this.prehashUsed++;
    return true;
  };

  /** Ed25519 checks not tried as Ed25519ph because the fallbacks were spent. */
  get prehashSkipped(): number {
    return this.prehashRefused;
  }

  /**
   * Runs one check once the checks before it are done and the event loop had a turn (a check, noble's
   * above all, runs synchronously; signatures checked in parallel would otherwise run back to
   * back). Undefined, without running it, once the budget is spent.
   */
  run<T>(check: () => Promise<T>): Promise<T | undefined> {
    const turn = this.tail.then(async () => {
      if (this.used >= this.limit) {
        this.refused++;
        return undefined;
      }
      if (this.used++ > 0) await yieldToEventLoop();
      return check();
    });
    this.tail = turn.catch(() => undefined);
    return turn;
  }

  /** Checks made so far. */
  get spent(): number {
    return this.used;
  }

  /** Checks not made because the budget was spent. */
  get skipped(): number {
    return this.refused;
  }
}

/** One check within `budget` (any number without one); undefined when the budget is spent. */
export function checkWithin<T>(budget: VerificationBudget | undefined, check: () => Promise<T>): Promise<T | undefined> {
  return budget ? budget.run(check) : check();
}
