// Every Workers test starts from a migrated verdict database.
import { applyD1Migrations, env } from "cloudflare:test";

await applyD1Migrations(env.VERDICTS, env.TEST_MIGRATIONS);
