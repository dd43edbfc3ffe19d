// Worker entry: HTTP through the Hono app; a daily cron prunes the verdict history.
import { createApp } from "./app";
import type { Bindings } from "./env";
import { servicesFor } from "./services";

const app = createApp();

export default {
  fetch: app.fetch,
  async scheduled(_controller: ScheduledController, env: Bindings, ctx: ExecutionContext): Promise<void> {
    const { config, verdicts } = servicesFor(env);
    ctx.waitUntil(verdicts.deleteOlderThan(Date.now() - config.verdictRetentionDays * 86_400_000));
  },
} satisfies ExportedHandler<Bindings>;
