// Stand-in for hono's utils/mount.js, which only app.mount() (a non-Hono app under a path) uses; see omitted.ts.
import { OmittedFromBundle } from "./omitted";

export function createMountedRequest(): never {
  throw new OmittedFromBundle("app.mount()");
}
