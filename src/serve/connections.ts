/**
 * Which connections a graceful shutdown may cut. A connection whose request is being handled (its body is read and
 * it is queued or running) is answered and then closed by `Connection: close`; every other one (idle keep-alive,
 * headers or body still arriving, nothing sent at all) is destroyed at once, so a client that stops half-way through
 * a request cannot hold the server open.
 */
import type { Socket } from "node:net";
import type { FastifyInstance } from "fastify";

export class ConnectionTracker {
  private readonly open = new Set<Socket>();
  /** Requests being handled per connection (HTTP/1.1 pipelining can make it more than one). */
  private readonly handling = new Map<Socket, number>();

  constructor(app: FastifyInstance) {
    app.server.on("connection", (socket: Socket) => {
      this.open.add(socket);
      socket.once("close", () => {
        this.open.delete(socket);
        this.handling.delete(socket);
      });
    });
    // preValidation is the first hook after the body has been read; onResponse and onRequestAbort end a request.
    const counted = new WeakSet<object>();
    app.addHook("preValidation", async (req) => {
      counted.add(req);
      const s = req.raw.socket;
      this.handling.set(s, (this.handling.get(s) ?? 0) + 1);
    });
    const finished = async (req: { raw: { socket: Socket } }) => {
      // Only requests counted above, once each (an aborted request may also reach onResponse).
      if (!counted.delete(req)) return;
      const s = req.raw.socket;
      const left = (this.handling.get(s) ?? 0) - 1;
      if (left > 0) this.handling.set(s, left);
      else this.handling.delete(s);
    };
    app.addHook("onResponse", finished);
    app.addHook("onRequestAbort", finished);
  }

  /** Connections open now. */
  get size(): number {
    return this.open.size;
  }

  /** Destroys every connection with no request being handled; returns how many. */
  cutUnhandled(): number {
    let cut = 0;
    for (const s of this.open)
      if (!this.handling.has(s)) {
        s.destroy();
        cut++;
      }
    return cut;
  }
}
