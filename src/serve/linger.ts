/**
 * Lingering close (RFC 9112 §9.6). A request refused before its body was read (413 from Content-Length, or a
 * chunked body past the limit) is answered with `Connection: close` while the client may still be sending. Node
 * would then destroy the socket as soon as the answer is flushed, and the client's next bytes would draw a TCP
 * reset that can discard the answer before the client reads it: the client sees ECONNRESET, not the 413 that says
 * why. Instead the server half-closes (the answer, then FIN), keeps reading and discarding what still arrives, and
 * destroys the socket when the client closes its side or after `ms`, whichever comes first.
 */
import { Socket } from "node:net";

/** How long a refused request's connection keeps draining after its answer, ms. */
export const LINGER_MS = 2000;

/** Makes the server's close of `socket` (Node calls `destroySoon` after a `Connection: close` answer) linger. */
export function lingerOnClose(socket: Socket, ms = LINGER_MS): void {
  socket.destroySoon = function lingeringDestroySoon(this: Socket) {
    // The client has sent everything already: nothing left to drain, close as Node would.
    if (this.readableEnded) return Socket.prototype.destroySoon.call(this);
    if (this.writable) this.end();
    const timer = setTimeout(() => this.destroy(), ms);
    timer.unref();
    this.once("close", () => clearTimeout(timer));
    this.once("end", () => this.destroy());
    // Node's HTTP parser is still reading the refused body into a discarded request; keep the bytes flowing.
    this.resume();
  };
}
