// The dashboard at /: public static files with a strict CSP, while every /v1 route still needs a token.
// The Worker serves the files itself (worker/dashboard/, bundled as text by wrangler.toml [[rules]]).
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { ADMIN, CLIENT, call } from "./http";

async function get(path: string, headers: Record<string, string> = {}, method = "GET"): Promise<Response> {
  return SELF.fetch(`http://trustgate.test${path}`, { method, headers });
}

/** app.js and the modules it imports (worker/routes/dashboard.ts serves each). */
// worker/dashboard/*.js bundled into one module (scripts/build-dashboard.mjs).
const SCRIPTS = ["/dashboard/app.js"];

function cspOf(res: Response): Map<string, string> {
  const directives = new Map<string, string>();
  for (const part of (res.headers.get("content-security-policy") ?? "").split(";")) {
    const [name, ...values] = part.trim().split(/\s+/);
    if (name) directives.set(name, values.join(" "));
  }
  return directives;
}

describe("GET / (dashboard)", () => {
  it("serves the HTML page without a token, with a strict Content-Security-Policy", async () => {
    const res = await get("/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
    const csp = cspOf(res);
    expect(csp.get("default-src")).toBe("'none'");
    expect(csp.get("script-src")).toBe("'self'");
    expect(csp.get("style-src")).toBe("'self'");
    expect(csp.get("connect-src")).toBe("'self'");
    expect(csp.get("img-src")).toBe("'self'");
    expect(csp.get("frame-ancestors")).toBe("'none'");
    expect(csp.get("base-uri")).toBe("'none'");
    expect(csp.get("form-action")).toBe("'none'");
    expect(csp.get("require-trusted-types-for")).toBe("'script'");
    expect(res.headers.get("content-security-policy")).not.toMatch(/unsafe-|\*|data:|http/);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(res.headers.get("x-frame-options")).toBe("DENY");
    expect(res.headers.get("referrer-policy")).toBe("no-referrer");

    const html = await res.text();
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<form id="token-form"');
    expect(html).toContain('<script type="module" src="/dashboard/app.js"></script>');
    // Nothing inline the CSP would have to allow: every script has a src and no body, no style attributes or tags.
    for (const m of html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)) {
      expect(m[1]).toMatch(/\bsrc="\/dashboard\//);
      expect(m[2]).toBe("");
    }
    expect(html).not.toMatch(/<style|\sstyle=|\son[a-z]+=/i);
  });

  it("serves the script, stylesheet and icon with their types and the same headers", async () => {
    const page = await get("/");
    // An SVG gets no charset: XML says UTF-8 itself.
    const files: [string, string][] = [
      ...SCRIPTS.map((path): [string, string] => [path, "text/javascript; charset=utf-8"]),
      ["/dashboard/app.css", "text/css; charset=utf-8"],
      ["/dashboard/icon.svg", "image/svg+xml"],
    ];
    for (const [path, type] of files) {
      const res = await get(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-type"), path).toBe(type);
      for (const name of [
        "content-security-policy",
        "x-content-type-options",
        "x-frame-options",
        "referrer-policy",
        "cross-origin-opener-policy",
        "cross-origin-resource-policy",
        "permissions-policy",
        "x-robots-tag",
        "cache-control",
      ]) {
        expect(res.headers.get(name), `${path} ${name}`).toBe(page.headers.get(name));
      }
      expect(res.headers.get("x-content-type-options"), path).toBe("nosniff");
      expect(cspOf(res).get("default-src"), path).toBe("'none'");
      expect((await res.text()).length, path).toBeGreaterThan(100);
    }
  });

  it("is revalidated each time: no-cache, and an unchanged file answers 304 with the same headers", async () => {
    const first = await get("/dashboard/app.js");
    expect(first.headers.get("cache-control")).toBe("no-cache");
    const etag = first.headers.get("etag");
    expect(etag).toBeTruthy();
    await first.body?.cancel();
    const again = await get("/dashboard/app.js", { "if-none-match": etag! });
    expect(again.status).toBe(304);
    expect(again.headers.get("content-security-policy")).toBe(first.headers.get("content-security-policy"));
    expect(again.headers.get("x-content-type-options")).toBe("nosniff");
  });

  it("puts data into the DOM only as text: no script assigns HTML", async () => {
    const scripts = new Map<string, string>();
    for (const path of SCRIPTS) scripts.set(path, await (await get(path)).text());
    for (const [path, js] of scripts) {
      expect(js, path).not.toMatch(/innerHTML|outerHTML|insertAdjacentHTML|document\.write|eval\(|new Function|setAttribute\("style"|\.style\./);
      expect(js, path).not.toContain("localStorage");
      // Modules import only each other, from this origin.
      for (const m of js.matchAll(/^import .* from "([^"]+)";$/gm)) expect(SCRIPTS, path).toContain(new URL(m[1]!, `http://x${path}`).pathname);
    }
    // One fetch for every call, with the entered token kept in sessionStorage only.
    expect([...scripts.values()].join("\n").match(/\bfetch\(/g)).toHaveLength(1);
    expect(scripts.get("/dashboard/app.js")).toContain("sessionStorage");
    expect(scripts.get("/dashboard/app.js")).toContain('"/v1/verdicts?"');
  });

  it("ignores credentials: the page is the same with or without a token", async () => {
    const anonymous = await (await get("/")).text();
    const withBadToken = await get("/", { authorization: "Bearer not-a-token" });
    expect(withBadToken.status).toBe(200);
    expect(await withBadToken.text()).toBe(anonymous);
  });

  it("answers HEAD / too", async () => {
    const res = await get("/", {}, "HEAD");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toContain("default-src 'none'");
  });

  it("serves the files as they are in worker/dashboard/ (the script and stylesheet from build/), byte for byte", async () => {
    // The text-module rule hands the files over unchanged (no newline rewriting).
    for (const path of ["/", ...SCRIPTS, "/dashboard/app.css", "/dashboard/icon.svg"]) {
      const body = await (await get(path)).text();
      expect(body.length, path).toBeGreaterThan(300);
      expect(body.endsWith("\n"), path).toBe(true);
    }
    expect(await (await get("/dashboard/app.js")).text()).toMatch(/^\/\/ The dashboard's script/);
    for (const path of SCRIPTS) expect(await (await get(path)).text(), path).toMatch(/^\/\/ /);
  });

  it("does not catch other paths: they are still JSON 404s", async () => {
    for (const path of ["/nope", "/dashboard", "/dashboard/", "/dashboard/missing.js", "/dashboard/util.js", "/dashboard/build/app.js", "/index.html", "/index", "/_headers", "/dashboard/index.html", "/dashboard/files.d.ts"]) {
      const res = await call("GET", path);
      expect(res.status, path).toBe(404);
      expect(res.json.error.code, path).toBe("NOT_FOUND");
    }
  });

  it("answers other methods on the page with the API's JSON 404", async () => {
    const post = await call("POST", "/", { body: {} });
    expect(post.status).toBe(404);
    expect(post.json.error.code).toBe("NOT_FOUND");
  });
});

describe("the API behind the dashboard still needs tokens", () => {
  const routes: [string, string, unknown?][] = [
    ["GET", "/v1/verdicts"],
    ["GET", "/v1/verdicts?decision=deny"],
    ["POST", "/v1/decisions", { image: "nginx", policy: "p" }],
    ["POST", "/v1/decisions:batch", { images: ["nginx"], policy: "p" }],
    ["GET", "/v1/policies"],
  ];
  for (const [method, path, body] of routes) {
    it(`${method} ${path} without a token → 401`, async () => {
      const res = await call(method, path, body !== undefined ? { body } : {});
      expect(res.status).toBe(401);
      expect(res.json.error.code).toBe("UNAUTHORIZED");
    });
  }

  it("GET /v1/verdicts with a wrong token → 401, with the client token → 200", async () => {
    expect((await call("GET", "/v1/verdicts")).status).toBe(401);
    expect((await call("GET", "/v1/verdicts", { token: "wrong-token" })).status).toBe(401);
    const ok = await call("GET", "/v1/verdicts", { token: CLIENT });
    expect(ok.status).toBe(200);
    expect(Array.isArray(ok.json.verdicts)).toBe(true);
    expect((await call("GET", "/v1/verdicts", { token: ADMIN })).status).toBe(200);
  });
});
