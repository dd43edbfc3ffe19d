// The one error base: a closed union of codes the compiler checks at every `new` and every mapping
// table (verifier code → ReasonCode, core error → HTTP code), and the error it wraps on `cause`.

// Subclasses name themselves (`override readonly name = "..."`); the base sets none, so an error
// that had none before keeps "Error".
export class TrustgateError<C extends string> extends Error {
  constructor(
    readonly code: C,
    message: string,
    /** The error this one wraps (the runtime's network error, a DER problem): for logs, never for reasons. */
    options?: { readonly cause?: unknown },
  ) {
    // An absent cause stays absent: `"cause" in err` only when something was wrapped.
    super(message, options && "cause" in options ? { cause: options.cause } : undefined);
  }
}
