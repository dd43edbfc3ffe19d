// Hello world on Hono: the ceiling trustgate's warm decisions are compared with (same runtime, same run).
import { Hono } from "hono";

const app = new Hono();
app.get("/healthz", (c) => c.json({ ok: true }));
// Any method, any path: the benchmark sends it the very request it sends trustgate.
app.all("*", (c) => c.json({ hello: "world", decision: "allow" }));

export default app;
