// SQL against a running lab Worker's local D1 (wrangler d1 execute on its persisted state): for rows
// the API cannot make, such as verdicts recorded days ago.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { REPO_ROOT, WRANGLER, wranglerEnv, type WorkerHandle } from "./worker";

const run = promisify(execFile);

export async function executeD1(worker: WorkerHandle, sql: string): Promise<void> {
  const persist = join(worker.dir, "state");
  try {
    await run(WRANGLER, ["d1", "execute", "VERDICTS", "--local", "--persist-to", persist, "--command", sql], {
      cwd: REPO_ROOT,
      env: wranglerEnv(worker.dir),
      timeout: 60_000,
      maxBuffer: 16 * 1024 * 1024,
    });
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string };
    throw new Error(`wrangler d1 execute failed: ${e.message}\n${e.stdout ?? ""}\n${e.stderr ?? ""}`);
  }
}
