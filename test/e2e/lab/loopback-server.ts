// A node http server for the lab: listening on 127.0.0.1 at a port the OS picks, closed with every
// connection it still holds (a keep-alive client must not keep a closed server's port open).
import { createServer, type RequestListener } from "node:http";
import type { Socket } from "node:net";

export interface LoopbackServer {
  /** "127.0.0.1:PORT" */
  readonly host: string;
  /** "http://127.0.0.1:PORT" */
  readonly url: string;
  /** Stops listening, destroys the open connections, resolves once the server has closed. */
  close(): Promise<void>;
}

export interface LoopbackServerOptions {
  /** Names the server in errors ("hostile registry: no TCP address"). */
  readonly name: string;
  /** How long an idle keep-alive connection stays open, in ms; node's default when absent. */
  readonly keepAliveTimeout?: number;
}

export async function startLoopbackServer(handler: RequestListener, options: LoopbackServerOptions): Promise<LoopbackServer> {
  const sockets = new Set<Socket>();
  const server = createServer(handler);
  if (options.keepAliveTimeout !== undefined) server.keepAliveTimeout = options.keepAliveTimeout;
  server.on("connection", (socket: Socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((ok, fail) => {
    server.once("error", fail);
    server.listen(0, "127.0.0.1", () => {
      server.off("error", fail);
      ok();
    });
  });
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error(`${options.name}: no TCP address`);
  const host = `127.0.0.1:${address.port}`;
  return {
    host,
    url: `http://${host}`,
    close: () =>
      new Promise<void>((ok) => {
        server.close(() => ok());
        for (const s of sockets) s.destroy();
      }),
  };
}
