// A body refused for its size while the client is still sending it (RFC 9112 §9.6, lingering close): the 413 arrives,
// the server half-closes and keeps draining, so the client's further writes never draw a reset (before: the socket was
// destroyed once the answer was flushed, the next write got EPIPE/ECONNRESET, and a busy client could lose the 413:
// a flaky CI run saw exactly that); the drain is bounded in time against a client that never stops.
import assert from "node:assert/strict";
import { connect } from "node:net";
import { after, before, test } from "node:test";
import { generateKey } from "../../src/cipher/index.ts";
import { LINGER_MS } from "../../src/serve/linger.ts";
import { tempDir } from "../data/helpers.ts";
import { makeRun, startServer } from "./helpers.ts";

const t = tempDir("ercnn-serve-linger-");
let server: Awaited<ReturnType<typeof startServer>>;
before(async () => {
  const run = await makeRun(t.dir, { key: await generateKey({ blockSize: 4, seed: "serve-linger" }) });
  server = await startServer([{ dir: run.run, name: "m" }], { bodyLimit: 1024 * 1024 });
});
after(async () => {
  await server?.close();
  t.cleanup();
});

interface Outcome {
  said: string;
  /** The first socket error (EPIPE, ECONNRESET), or null. */
  error: string | null;
  /** ms from the answer's arrival until the server's FIN, or null if it never came. */
  finMs: number | null;
  /** ms from the answer's arrival until the connection was gone. */
  closedMs: number;
}

/**
 * Sends the headers of a `declared`-byte JSON body and 64 KiB of it, then keeps writing 64 KiB every 10 ms for
 * `keepSendingMs` after the answer arrived (bounded: at most 10 s in all), then ends its side.
 */
function oversize(port: number, declared: number, keepSendingMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const s = connect({ port, host: "127.0.0.1", allowHalfOpen: true });
    const chunk = Buffer.alloc(64 * 1024, "0");
    let said = "";
    let answeredAt = 0;
    let error: string | null = null;
    let finMs: number | null = null;
    const t0 = performance.now();
    const since = () => performance.now() - answeredAt;
    const pump = setInterval(() => {
      if (s.destroyed || s.writableEnded) return;
      if ((answeredAt > 0 && since() > keepSendingMs) || performance.now() - t0 > 10_000) s.end();
      else s.write(chunk);
    }, 10);
    s.on("data", (d) => {
      said += d;
      if (answeredAt === 0 && said.includes("\r\n\r\n")) answeredAt = performance.now();
    });
    s.on("end", () => {
      finMs = since();
    });
    s.on("error", (e: NodeJS.ErrnoException) => {
      error ??= e.code ?? e.message;
    });
    s.on("close", () => {
      clearInterval(pump);
      resolve({ said, error, finMs, closedMs: since() });
    });
    s.write(
      `POST /v2/models/m/infer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: ${declared}\r\n\r\n`,
    );
    s.write(chunk);
  });
}

test("an oversize body gets its 413, then a half-close and a drain: writing on draws no reset", async () => {
  const port = Number(new URL(server.url).port);
  const r = await oversize(port, 64 * 1024 * 1024, 500);
  assert.match(r.said, /^HTTP\/1\.1 413 /, "the answer is the 413");
  assert.match(r.said, /connection: close/i);
  assert.equal(r.error, null, "the client's writes after the answer drew no reset");
  assert.ok(r.finMs !== null && r.finMs < 400, `the server half-closed at once (FIN after ${r.finMs} ms)`);
  // The client ended its side after 500 ms of sending: the server closes then, well before its linger bound.
  assert.ok(r.closedMs < LINGER_MS, `closed ${r.closedMs.toFixed(0)} ms after the answer`);
});

test("a client that never stops sending is cut after the linger bound", async () => {
  const port = Number(new URL(server.url).port);
  const r = await oversize(port, 2 ** 40, 8000);
  assert.match(r.said, /^HTTP\/1\.1 413 /);
  assert.ok(
    r.closedMs > LINGER_MS - 200 && r.closedMs < LINGER_MS + 3000,
    `cut ${r.closedMs.toFixed(0)} ms after the answer (bound ${LINGER_MS} ms)`,
  );
});
