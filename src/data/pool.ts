/**
 * A small pool of worker_threads running `loader-worker.ts` (decode + encrypt, and batch assembly for the loader).
 * Workers load TypeScript through tsx's register API, so they work under `node --import tsx`, bin/ercnn.js and tests.
 */
import { availableParallelism } from "node:os";
import { Worker } from "node:worker_threads";

interface Pending {
  resolve: (v: any) => void;
  reject: (e: Error) => void;
}

interface Slot {
  worker: Worker;
  busy: number;
}

export interface WorkerErrorPayload {
  message: string;
  name: string;
  code?: string;
  file?: string;
  reason?: string;
}

export class WorkerTaskError extends Error {
  constructor(readonly payload: WorkerErrorPayload) {
    super(payload.message);
    this.name = payload.name;
  }
}

const WORKER_URL = new URL("./loader-worker.ts", import.meta.url).href;

function spawn(workerData: unknown): Worker {
  const tsxApi = import.meta.resolve("tsx/esm/api");
  const code =
    `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(WORKER_URL)}); })` +
    `.catch((e) => { setTimeout(() => { throw e; }); });`;
  return new Worker(code, { eval: true, workerData });
}

export class WorkerPool {
  private readonly slots: Slot[] = [];
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  private failure: Error | null = null;

  /** Starts `size` workers, at most one per CPU core (more only contend: `-w 1000` once loaded a machine to 132). */
  constructor(size: number, workerData: unknown) {
    for (let i = 0; i < Math.max(1, Math.min(size, availableParallelism())); i++) {
      const worker = spawn(workerData);
      const slot: Slot = { worker, busy: 0 };
      worker.on("message", (m: { id: number; ok: boolean; result?: unknown; error?: WorkerErrorPayload }) => {
        const p = this.pending.get(m.id);
        if (!p) return;
        this.pending.delete(m.id);
        slot.busy--;
        // Idle workers do not keep the process alive, except while closing: results still in flight when close()
        // terminates a busy worker must not unref it before its exit is seen (the event loop would empty with
        // close()'s promise unsettled: exit code 13 and no error message).
        if (slot.busy === 0 && !this.closed) worker.unref();
        if (m.ok) p.resolve(m.result);
        else p.reject(new WorkerTaskError(m.error!));
      });
      worker.on("error", (e) => this.fail(e));
      worker.on("exit", (code) => {
        if (!this.closed && code !== 0) this.fail(new Error(`data worker exited with code ${code}`));
      });
      worker.unref();
      this.slots.push(slot);
    }
  }

  /** Workers actually started. */
  get size(): number {
    return this.slots.length;
  }

  private fail(e: Error): void {
    this.failure = e;
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
  }

  /** Sends a task to the least busy worker. `worker` pins it to one (e.g. for per-worker state). */
  run<T>(msg: Record<string, unknown>, transfer: Transferable[] = [], worker?: number): Promise<T> {
    if (this.failure) return Promise.reject(this.failure);
    if (this.closed) return Promise.reject(new Error("worker pool is closed"));
    const slot =
      worker !== undefined
        ? this.slots[worker % this.slots.length]
        : this.slots.reduce((a, b) => (b.busy < a.busy ? b : a));
    const id = this.nextId++;
    if (slot.busy++ === 0) slot.worker.ref();
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      slot.worker.postMessage({ ...msg, id }, transfer as any);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await Promise.all(
      this.slots.map((s) => {
        s.worker.ref();
        return s.worker.terminate();
      }),
    );
  }
}

/** Default worker count: all cores but keep at least one. */
export function defaultWorkers(): number {
  return Math.max(1, Math.min(8, (globalThis as any).navigator?.hardwareConcurrency ?? 2));
}
