// The dynamic batcher with a fake forward pass (no model): requests arriving together run as one batch up to
// maxBatch images, in arrival order, a request is never split; a lone request leaves after maxQueueDelay; beyond
// maxQueue waiting requests: 503 with Retry-After; a request still queued after timeoutMs: 504; drained() waits for
// everything queued and running.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Batcher, type BatcherOptions } from "../../src/serve/batcher.ts";
import { ServeError } from "../../src/serve/errors.ts";

/** A fake forward pass: logits row i = [first value of image i, n]; takes `ms`. */
function fake(ms: number) {
  const calls: number[] = [];
  const run = async (_model: string, x: Float32Array, n: number) => {
    calls.push(n);
    await new Promise((r) => setTimeout(r, ms));
    const per = x.length / n;
    const logits = new Float32Array(2 * n);
    for (let i = 0; i < n; i++) logits.set([x[i * per], n], 2 * i);
    return { logits, computeUs: ms * 1000 };
  };
  return { calls, run };
}
const opts = (o: Partial<BatcherOptions> = {}): BatcherOptions => ({
  maxBatch: 8,
  maxQueueDelayUs: 20_000,
  maxQueue: 100,
  timeoutMs: 10_000,
  ...o,
});
const images = (n: number, first: number) => Float32Array.from({ length: n * 3 }, (_, i) => first + Math.floor(i / 3));

test("requests arriving together share a batch up to maxBatch; each gets its own rows, in order", async () => {
  const f = fake(30);
  const b = new Batcher(f.run, opts());
  const sizes = [1, 2, 3, 2, 4, 1];
  let first = 0;
  const done = sizes.map((n) => {
    const p = b.submit("m", images(n, first), n);
    first += n;
    return p;
  });
  const r = await Promise.all(done);
  assert.deepEqual(f.calls, [8, 5], "1+2+3+2 = 8 fill the first batch; 4+1 the next");
  let row = 0;
  for (const [i, n] of sizes.entries()) {
    assert.equal(r[i].logits.length, 2 * n);
    for (let j = 0; j < n; j++) assert.equal(r[i].logits[2 * j], row + j, "rows go back to their request");
    assert.equal(r[i].batch, i < 4 ? 8 : 5);
    row += n;
  }
});

test("a lone request waits maxQueueDelay for company, not longer", async () => {
  const f = fake(1);
  const b = new Batcher(f.run, opts({ maxQueueDelayUs: 50_000 }));
  const t0 = performance.now();
  const r = await b.submit("m", images(1, 0), 1);
  const ms = performance.now() - t0;
  assert.ok(ms >= 49 && ms < 1000, `${ms} ms`);
  assert.ok(r.queueUs >= 49_000);
});

test("a full queue answers 503 with Retry-After; a request queued too long answers 504; drained() waits", async () => {
  const f = fake(200);
  const b = new Batcher(f.run, opts({ maxBatch: 1, maxQueue: 2, maxQueueDelayUs: 0, timeoutMs: 300 }));
  const a = b.submit("m", images(1, 0), 1); // runs at once (200 ms)
  await new Promise((r) => setTimeout(r, 10));
  const q1 = b.submit("m", images(1, 1), 1); // queued: runs at 200 ms
  // queued: would run at 400 ms > 300 ms timeout (its rejection is awaited below, the handler attached now)
  const q2 = assert.rejects(
    b.submit("m", images(1, 2), 1),
    (e: unknown) => e instanceof ServeError && e.status === 504,
  );
  await assert.rejects(b.submit("m", images(1, 3), 1), (e: unknown) => {
    assert.ok(e instanceof ServeError);
    assert.equal(e.status, 503);
    assert.equal(e.headers["Retry-After"], "1");
    return true;
  });
  await a;
  await q1;
  await q2;
  await b.drained();
  assert.equal(b.pending, 0);
  assert.deepEqual(f.calls, [1, 1]);
});
