// hono's Hono, Context and HonoRequest classes import helpers for methods the Worker never calls:
// app.mount() (utils/mount.js), c.req.parseBody() (utils/body.js) and c.html() (utils/html.js).
// Class methods are not tree-shaken, so wrangler.toml's [alias] swaps those helpers for the stand-ins
// in this folder: ~1.4 KiB gzipped off the Worker bundle (npm run bundle). Each throws when called,
// so a route that starts using one of these methods fails its first request loudly (routes reply with
// a JSON 500, never a wrong answer). The tests run hono whole (vitest bundles without the alias);
// test/worker/hono-trim.test.ts checks the stand-ins, the alias, and that no source calls the methods.

/** The error every stand-in throws, naming the hono method that was left out of the bundle. */
export class OmittedFromBundle extends Error {
  constructor(method: string) {
    super(`trustgate does not call hono's ${method}: its helper is not in the Worker bundle`);
    this.name = "OmittedFromBundle";
  }
}
