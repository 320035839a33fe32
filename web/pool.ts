/**
 * The page's Web Workers: one per spare core (at most 4), each with the key. Requests are answered by id; a chunk
 * of work goes to the least busy worker. Posting small requests keeps the page's main thread free (cloning thousands
 * of File handles in one message stalls it for a second).
 */
import type { WorkerReply, WorkerRequest } from "./worker.ts";

type Request = Exclude<WorkerRequest, { type: "key" }>;
/** A request without its id (distributes over the union). */
type Job = Request extends infer R ? (R extends Request ? Omit<R, "id"> : never) : never;

export class WorkerPool {
  private workers: Worker[] = [];
  private busy: number[] = [];
  private pending = new Map<number, { resolve: (r: WorkerReply) => void; worker: number }>();
  private nextId = 1;

  constructor(size = Math.min(4, Math.max(1, (navigator.hardwareConcurrency || 2) - 1))) {
    for (let i = 0; i < size; i++) {
      const w = new Worker(new URL("./worker.js", import.meta.url), { type: "module" });
      w.onmessage = (e: MessageEvent<WorkerReply>) => {
        const p = this.pending.get(e.data.id);
        if (!p) return;
        this.pending.delete(e.data.id);
        this.busy[p.worker]--;
        p.resolve(e.data);
      };
      this.workers.push(w);
      this.busy.push(0);
    }
  }

  get size(): number {
    return this.workers.length;
  }

  /** Sends to every worker (the key). */
  broadcast(m: WorkerRequest): void {
    for (const w of this.workers) w.postMessage(m);
  }

  /** Runs one request on the least busy worker. */
  run(req: Job): Promise<WorkerReply> {
    const id = this.nextId++;
    let wi = 0;
    for (let i = 1; i < this.workers.length; i++) if (this.busy[i] < this.busy[wi]) wi = i;
    this.busy[wi]++;
    return new Promise((resolve) => {
      this.pending.set(id, { resolve, worker: wi });
      this.workers[wi].postMessage({ ...req, id });
    });
  }
}
