// The deployed bundle swaps three hono helpers for throwing stand-ins (wrangler.toml [alias] →
// worker/hono-trim/): they serve only app.mount(), c.req.parseBody() and c.html(), which the Worker
// never calls. The stand-ins must fail loudly, stand in for what hono really imports under those
// specifiers, and no source may start calling the methods they serve. The e2e suites drive the
// routes through the trimmed bundle that `wrangler dev` builds.
import { describe, expect, it } from "vitest";
import wranglerToml from "../../wrangler.toml?raw";
import honoBase from "../../node_modules/hono/dist/hono-base.js?raw";
import honoContext from "../../node_modules/hono/dist/context.js?raw";
import honoRequest from "../../node_modules/hono/dist/request.js?raw";
import * as body from "../../worker/hono-trim/body";
import * as html from "../../worker/hono-trim/html";
import * as mount from "../../worker/hono-trim/mount";
import { OmittedFromBundle } from "../../worker/hono-trim/omitted";

type RawGlob = (pattern: string, options: { query: "?raw"; import: "default"; eager: true }) => Record<string, string>;
const sources = {
  ...(import.meta as ImportMeta & { glob: RawGlob }).glob("../../src/**/*.ts", { query: "?raw", import: "default", eager: true }),
  ...(import.meta as ImportMeta & { glob: RawGlob }).glob("../../worker/**/*.ts", { query: "?raw", import: "default", eager: true }),
};

/** The stand-in module for each aliased hono specifier, and the hono file that imports it. */
const STAND_INS: Record<string, { module: Record<string, unknown>; importer: string; method: RegExp }> = {
  mount: { module: mount, importer: honoBase, method: /\.mount\(/ },
  body: { module: body, importer: honoRequest, method: /\.parseBody\(/ },
  html: { module: html, importer: honoContext, method: /\.html\(/ },
};

describe("hono helpers left out of the Worker bundle", () => {
  it("throws a clear error from every stand-in", () => {
    expect(() => mount.createMountedRequest()).toThrow(new OmittedFromBundle("app.mount()"));
    expect(() => body.parseBody()).toThrow(new OmittedFromBundle("c.req.parseBody()"));
    expect(() => html.resolveCallback()).toThrow(new OmittedFromBundle("c.html()"));
    expect(() => body.parseBody()).toThrow("trustgate does not call hono's c.req.parseBody(): its helper is not in the Worker bundle");
  });

  it("stands in for the helpers hono imports by those specifiers, with every name it imports", () => {
    const aliased = [...wranglerToml.matchAll(/^"\.\/utils\/([\w-]+)\.js" = "\.\/worker\/hono-trim\/([\w-]+)\.ts"$/gm)];
    expect(aliased.map((m) => m[1]).sort()).toEqual(["body", "html", "mount"]);
    for (const [, name, file] of aliased) {
      expect(file).toBe(name);
      const { module, importer } = STAND_INS[name!]!;
      const imported = new RegExp(`^import \\{ ([^}]+) \\} from "\\./utils/${name}\\.js";$`, "m").exec(importer);
      expect(imported, `hono imports ./utils/${name}.js`).not.toBeNull();
      for (const binding of imported![1]!.split(",").map((s) => s.trim())) expect(module).toHaveProperty(binding);
    }
  });

  it("serves methods no source calls", () => {
    // The stand-ins name the methods in their comments and messages; nothing else may.
    const code = Object.entries(sources).filter(([path]) => !path.includes("/worker/hono-trim/"));
    expect(code.length).toBeGreaterThan(100);
    const callers = code.flatMap(([path, text]) =>
      Object.values(STAND_INS)
        .filter(({ method }) => method.test(text))
        .map(({ method }) => `${path} ${method.source}`),
    );
    expect(callers).toEqual([]);
  });
});
