// Two kinds of test: "workers" run inside workerd (core units and the Worker through its
// bindings); "e2e" runs in Node and drives real servers started on loopback.
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";

const migrations = await readD1Migrations("./migrations");

export default defineConfig({
  test: {
    projects: [
      {
        plugins: [
          cloudflareTest({
            wrangler: { configPath: "./wrangler.toml" },
            miniflare: {
              bindings: {
                ADMIN_TOKENS: "test-admin-token",
                CLIENT_TOKENS: "test-client-token,second-client-token",
                // test-client-token's admission reviews come from the API server (worker/admission-caller.ts).
                ADMISSION_CALLERS: "client-1",
                // Previews of more images than this run as polled jobs (test/worker/preview.test.ts).
                PREVIEW_IMAGES_PER_REQUEST: "4",
                TEST_MIGRATIONS: migrations,
              },
              // Migrated by hand, a migration at a time, under rows written before it (stats.test.ts).
              d1Databases: ["MIGRATION_TEST"],
            },
          }),
        ],
        test: {
          name: "workers",
          include: ["test/unit/**/*.test.ts", "test/worker/**/*.test.ts"],
          setupFiles: ["./test/worker/apply-migrations.ts"],
        },
      },
      {
        test: {
          name: "e2e",
          include: ["test/e2e/**/*.test.ts"],
          environment: "node",
          testTimeout: 120_000,
          hookTimeout: 300_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
