// The Hono class the Worker's apps use. hono's default router (SmartRouter) tries RegExpRouter first
// and keeps it when it takes every route, as it does ours; its TrieRouter fallback is never reached.
// Binding RegExpRouter directly is the same matching without bundling the fallback (~1 KiB gzipped,
// npm run bundle). A route RegExpRouter refused would fail its first request, and every route has a test.
import type { BlankEnv, BlankSchema, Env, Schema } from "hono/types";
import { HonoBase } from "hono/hono-base";
import { RegExpRouter } from "hono/router/reg-exp-router";

export class Hono<E extends Env = BlankEnv, S extends Schema = BlankSchema, BasePath extends string = "/"> extends HonoBase<
  E,
  S,
  BasePath
> {
  constructor() {
    super({ router: new RegExpRouter() });
  }
}
