// Stand-in for hono's utils/body.js, which only c.req.parseBody() (form bodies) uses; request bodies
// are read by worker/body.ts (size-capped JSON). See omitted.ts.
import { OmittedFromBundle } from "./omitted";

export function parseBody(): never {
  throw new OmittedFromBundle("c.req.parseBody()");
}
