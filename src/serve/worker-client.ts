/**
 * The server's side of the inference worker: starts it (TypeScript through tsx's register API, as the data pool's
 * workers do), waits until its models are loaded, and turns each batch into a promise of logits.
 */
import { Worker } from "node:worker_threads";
import type { Device } from "../torch/device.ts";
import type { WorkerInit, WorkerModel, WorkerReply } from "./worker-messages.ts";

const WORKER_URL = new URL("./inference-worker.ts", import.meta.url).href;

export interface BatchResult {
  logits: Float32Array;
  computeUs: number;
}

export class InferenceWorker {
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (r: BatchResult) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private failure: Error | null = null;
  readonly ready: Promise<void>;

  constructor(models: WorkerModel[], threads?: number, device: Device = "cpu") {
    const tsxApi = import.meta.resolve("tsx/esm/api");
    const code =
      `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(WORKER_URL)}); })` +
      `.catch((e) => { setTimeout(() => { throw e; }); });`;
    this.worker = new Worker(code, { eval: true, workerData: { models, threads, device } satisfies WorkerInit });
    this.ready = new Promise((resolve, reject) => {
      this.worker.on("message", (m: WorkerReply) => {
        if (m.type === "ready") resolve();
        else if (m.type === "failed") this.fail(new Error(`loading models failed: ${m.error}`), reject);
        else {
          const p = this.pending.get(m.id);
          if (!p) return;
          this.pending.delete(m.id);
          if (m.ok) p.resolve({ logits: m.logits, computeUs: m.computeUs });
          else p.reject(new Error(m.error));
        }
      });
      this.worker.on("error", (e) => this.fail(e, reject));
      this.worker.on("exit", (code) => this.fail(new Error(`inference worker exited (code ${code})`), reject));
    });
  }

  private fail(e: Error, reject: (e: Error) => void): void {
    this.failure ??= e;
    reject(e);
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  /** Runs one batch; `x` is transferred (unusable afterwards). */
  run(model: string, x: Float32Array, n: number): Promise<BatchResult> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ id, model, x, n }, [x.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    this.failure ??= new Error("inference worker closed");
    await this.worker.terminate();
  }
}
