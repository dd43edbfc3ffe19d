// Worker entry: HTTP through the Hono app; a daily cron prunes the verdict history.
import { createApp } from "./app";
import type { Bindings } from "./env";
import { servicesFor } from "./services";
import { primeNotaryParsers } from "../src/verify/notary-v1/prime";

// At start-up, so the first Notary decision of an isolate does not pay for compiling its parsers.
primeNotaryParsers();

const app = createApp();

export default {
  fetch: app.fetch,
  async scheduled(_controller: ScheduledController, env: Bindings, ctx: ExecutionContext): Promise<void> {
    const { config, verdicts } = servicesFor(env);
    ctx.waitUntil(verdicts.deleteOlderThan(Date.now() - config.verdictRetentionDays * 86_400_000));
  },
} satisfies ExportedHandler<Bindings>;
