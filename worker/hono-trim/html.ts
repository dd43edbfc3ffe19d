// Stand-in for hono's utils/html.js, which only c.html() uses (the dashboard's page is a text module
// served as a Response, worker/routes/dashboard.ts). See omitted.ts.
import { OmittedFromBundle } from "./omitted";

// context.js reads this at call time only, inside c.html().
export const HtmlEscapedCallbackPhase = { Stringify: 1, BeforeStream: 2, Stream: 3 } as const;

export function resolveCallback(): never {
  throw new OmittedFromBundle("c.html()");
}
