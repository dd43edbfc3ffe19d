// Types of the bindings the Workers test pool provides: wrangler.toml's plus the test-only ones.
import type { D1Migration } from "cloudflare:test";
import type { Bindings } from "../worker/env";

declare global {
  namespace Cloudflare {
    interface Env extends Bindings {
      TEST_MIGRATIONS: D1Migration[];
      /** An empty database, for migrating rows written before a migration (test/worker/stats.test.ts). */
      MIGRATION_TEST: D1Database;
    }
  }
}
