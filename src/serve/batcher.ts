/**
 * Dynamic batching as Triton's dynamic batcher does it: requests that arrive together run as one forward pass of up
 * to `maxBatch` images; a batch waits at most `maxQueueDelayUs` microseconds after its oldest request arrived for
 * more requests (it leaves at once when full). One batch runs at a time (the worker owns the model); requests
 * queue meanwhile. The queue is bounded (`maxQueue` requests: beyond it, 503 with Retry-After), and a request still
 * queued after `timeoutMs` gets 504. A request is never split across batches.
 */
import { ServeError } from "./errors.ts";
import type { BatchResult } from "./worker-client.ts";

export interface BatcherOptions {
  maxBatch: number;
  maxQueueDelayUs: number;
  maxQueue: number;
  timeoutMs: number;
}

export interface BatchStats {
  model: string;
  images: number;
  requests: number;
  computeUs: number;
}

interface Entry {
  model: string;
  x: Float32Array;
  n: number;
  enqueuedAt: number;
  resolve: (r: { logits: Float32Array; queueUs: number; computeUs: number; batch: number }) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

type RunBatch = (model: string, x: Float32Array, n: number) => Promise<BatchResult>;

export class Batcher {
  private readonly queue: Entry[] = [];
  private busy = false;
  private wake: NodeJS.Timeout | null = null;
  private idleWaiters: (() => void)[] = [];

  constructor(
    private readonly runBatch: RunBatch,
    readonly o: BatcherOptions,
    private readonly onBatch: (s: BatchStats) => void = () => {},
  ) {}

  /** Requests waiting (not yet running). */
  get pending(): number {
    return this.queue.length;
  }

  /** Queues `n` images (N×C×H×W values of one model); resolves with their logits (n × classes). */
  submit(model: string, x: Float32Array, n: number) {
    if (this.queue.length >= this.o.maxQueue)
      return Promise.reject(
        new ServeError(503, `queue full (${this.o.maxQueue} requests waiting, --max-queue); retry shortly`, {
          "Retry-After": "1",
        }),
      );
    return new Promise<{ logits: Float32Array; queueUs: number; computeUs: number; batch: number }>(
      (resolve, reject) => {
        const e: Entry = { model, x, n, enqueuedAt: performance.now(), resolve, reject, timer: undefined as never };
        e.timer = setTimeout(() => {
          const i = this.queue.indexOf(e);
          if (i < 0) return;
          this.queue.splice(i, 1);
          reject(new ServeError(504, `request waited ${this.o.timeoutMs} ms in the queue (--timeout) without running`));
          this.settle();
        }, this.o.timeoutMs);
        this.queue.push(e);
        this.pump();
      },
    );
  }

  /** Resolves once nothing is queued or running. */
  drained(): Promise<void> {
    if (!this.busy && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  private settle(): void {
    if (this.busy || this.queue.length > 0) return;
    for (const w of this.idleWaiters.splice(0)) w();
  }

  private pump(): void {
    if (this.busy || this.queue.length === 0) return;
    const head = this.queue[0];
    let images = 0;
    for (const e of this.queue) if (e.model === head.model) images += e.n;
    const waitedUs = (performance.now() - head.enqueuedAt) * 1000;
    if (images < this.o.maxBatch && waitedUs < this.o.maxQueueDelayUs) {
      if (!this.wake)
        this.wake = setTimeout(
          () => {
            this.wake = null;
            this.pump();
          },
          Math.max(0, (this.o.maxQueueDelayUs - waitedUs) / 1000),
        );
      return;
    }
    if (this.wake) {
      clearTimeout(this.wake);
      this.wake = null;
    }
    // Oldest first, same model, up to maxBatch images (the head always goes, even if it alone is maxBatch).
    const take: Entry[] = [];
    let n = 0;
    for (let i = 0; i < this.queue.length; ) {
      const e = this.queue[i];
      if (e.model === head.model && (take.length === 0 || n + e.n <= this.o.maxBatch)) {
        take.push(e);
        n += e.n;
        this.queue.splice(i, 1);
        clearTimeout(e.timer);
      } else i++;
    }
    const per = head.x.length / head.n;
    const x = new Float32Array(n * per);
    let off = 0;
    for (const e of take) {
      x.set(e.x, off);
      off += e.x.length;
    }
    const start = performance.now();
    this.busy = true;
    this.runBatch(head.model, x, n).then(
      (r) => {
        const k = r.logits.length / n;
        let row = 0;
        for (const e of take) {
          e.resolve({
            logits: r.logits.slice(row * k, (row + e.n) * k),
            queueUs: Math.round((start - e.enqueuedAt) * 1000),
            computeUs: r.computeUs,
            batch: n,
          });
          row += e.n;
        }
        this.onBatch({ model: head.model, images: n, requests: take.length, computeUs: r.computeUs });
        this.done();
      },
      (err: Error) => {
        for (const e of take) e.reject(err);
        this.done();
      },
    );
  }

  private done(): void {
    this.busy = false;
    this.pump();
    this.settle();
  }
}
