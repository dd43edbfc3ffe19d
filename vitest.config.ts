// Two kinds of test: "workers" run inside workerd (core units and the Worker through its
// bindings); "e2e" runs in Node and drives real servers started on loopback.
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { kCurrentWorker } from "miniflare";
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
                TEST_MIGRATIONS: migrations,
              },
              // SELF (like `exports.default`) calls the Worker's fetch handler directly, so it never
              // sees wrangler.toml's [assets] (the dashboard's files and _headers). A service binding
              // to the current Worker goes through Miniflare's assets router first, as a request to
              // the deployed Worker does: tests that care about what the assets serve use this one.
              serviceBindings: { ROUTED_SELF: kCurrentWorker },
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
