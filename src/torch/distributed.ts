// torch.distributed over libtorch's own c10d (TCPStore, ProcessGroupGloo/NCCL, DDP's Reducer): the same wire protocol
// and store layout as PyTorch, so ercnn ranks and Python ranks can share one group.
import { isGradEnabled, noGrad } from "./autograd.ts";
import { native } from "./native.ts";
import type { Module } from "./nn/module.ts";
import { Tensor } from "./tensor.ts";

const D = native.distributed;

/** How a rank finds its group: torch.distributed's env:// variables. */
export interface DistEnv {
  masterAddr: string;
  masterPort: number;
  worldSize: number;
  rank: number;
  localRank: number;
}

export interface InitOptions extends DistEnv {
  /** "gloo" (CPU tensors) or "nccl" (CUDA tensors; needs an addon built with NCCL). */
  backend?: "gloo" | "nccl";
  /** Collective and rendezvous timeout (torch's default: 30 min). */
  timeoutMs?: number;
  /** Liveness beat used to name a dead rank when a collective fails (0 disables). */
  heartbeatMs?: number;
}

/** A collective failed: `ranks` are the ranks found silent (dead or stopped), possibly empty. */
export class DistributedError extends Error {
  constructor(
    message: string,
    readonly ranks: number[],
  ) {
    super(message);
    this.name = "DistributedError";
  }
}

function envInt(env: NodeJS.ProcessEnv, name: string, min: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") throw new Error(`distributed: ${name} is not set (env:// needs it)`);
  const v = Number(raw);
  if (!Number.isInteger(v) || v < min) throw new Error(`distributed: ${name}=${raw} is not an integer >= ${min}`);
  return v;
}

/**
 * Reads MASTER_ADDR, MASTER_PORT, WORLD_SIZE, RANK, LOCAL_RANK as torchrun sets them; null when WORLD_SIZE is unset
 * (a plain single-process run). A malformed or missing companion variable is an error naming it.
 */
export function distEnvFromProcess(env: NodeJS.ProcessEnv = process.env): DistEnv | null {
  if (env.WORLD_SIZE === undefined || env.WORLD_SIZE === "") return null;
  const worldSize = envInt(env, "WORLD_SIZE", 1);
  const rank = envInt(env, "RANK", 0);
  if (rank >= worldSize) throw new Error(`distributed: RANK=${rank} must be < WORLD_SIZE=${worldSize}`);
  const masterAddr = env.MASTER_ADDR;
  if (!masterAddr) throw new Error("distributed: MASTER_ADDR is not set (env:// needs it)");
  const masterPort = envInt(env, "MASTER_PORT", 1);
  if (masterPort > 65535) throw new Error(`distributed: MASTER_PORT=${masterPort} is not a port`);
  const localRank = env.LOCAL_RANK === undefined || env.LOCAL_RANK === "" ? rank : envInt(env, "LOCAL_RANK", 0);
  return { masterAddr, masterPort, worldSize, rank, localRank };
}

export type ReduceOp = "sum" | "avg" | "max" | "min" | "product";

/** One process group (torch.distributed's default group), created by initProcessGroup(). */
export class ProcessGroup {
  #handle: object | null;
  readonly timeoutMs: number;
  readonly heartbeatMs: number;

  private constructor(
    handle: object,
    readonly rank: number,
    readonly worldSize: number,
    readonly localRank: number,
    readonly backend: string,
    readonly address: string,
    o: { timeoutMs: number; heartbeatMs: number },
  ) {
    this.#handle = handle;
    this.timeoutMs = o.timeoutMs;
    this.heartbeatMs = o.heartbeatMs;
  }

  /** Joins the group: blocks until all ranks have joined or the timeout passes (like init_process_group). */
  static init(o: InitOptions): ProcessGroup {
    const timeoutMs = o.timeoutMs ?? 1_800_000;
    const heartbeatMs = o.heartbeatMs ?? 1000;
    const backend = o.backend ?? "gloo";
    let h: object;
    try {
      h = D.init({
        host: o.masterAddr,
        port: o.masterPort,
        rank: o.rank,
        worldSize: o.worldSize,
        timeoutMs,
        backend,
        heartbeatMs,
      });
    } catch (e) {
      throw new DistributedError(
        `rank ${o.rank}: could not join the group of ${o.worldSize} at ${o.masterAddr}:${o.masterPort} (timeout ` +
          `${timeoutMs / 1000} s): ${(e as Error).message}`,
        [],
      );
    }
    const address = `${o.masterAddr}:${o.masterPort}`;
    return new ProcessGroup(h, o.rank, o.worldSize, o.localRank, backend, address, { timeoutMs, heartbeatMs });
  }

  get handle(): object {
    if (!this.#handle) throw new Error("distributed: the process group was destroyed");
    return this.#handle;
  }

  /** Runs a collective; on failure names the ranks whose heartbeat stopped. */
  run<T>(what: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw this.failure(what, e as Error);
    }
  }

  /** Turns a c10d failure into an error that names the silent ranks. */
  failure(what: string, e: Error): DistributedError {
    if (e instanceof DistributedError) return e;
    let ranks: number[] = [];
    let who: string;
    if (this.heartbeatMs > 0 && this.#handle) {
      const s = D.silentRanks(this.#handle, Math.max(3 * this.heartbeatMs, 1000));
      if (!s.storeReachable && this.rank !== 0) {
        ranks = [0];
        who = `rank 0 is gone (its rendezvous store at ${this.address} no longer answers)`;
      } else if (s.ranks.length > 0) {
        ranks = s.ranks;
        who = `rank ${s.ranks.join(", rank ")} stopped (no heartbeat)`;
      } else {
        who = "every rank's heartbeat is alive: a rank is stuck or the network failed";
      }
    } else {
      who = "the heartbeat is off, so the failed rank is unknown";
    }
    return new DistributedError(`rank ${this.rank}: ${what} failed: ${who}. c10d said: ${e.message}`, ranks);
  }

  /** In place, like dist.all_reduce; "avg" divides the sum by the world size. */
  allReduce(tensors: Tensor | Tensor[], op: ReduceOp = "sum", timeoutMs?: number): void {
    const list = Array.isArray(tensors) ? tensors : [tensors];
    const nat = list.map((t) => t.native);
    this.run(`all_reduce(${op})`, () => D.allreduce(this.handle, nat, op === "avg" ? "sum" : op, timeoutMs));
    if (op === "avg")
      noGrad(() => {
        for (const t of list) t.div_(this.worldSize);
      });
  }

  /**
   * torch.distributed.nn.functional.all_reduce (sum): a new tensor, the sum over ranks, that autograd differentiates
   * (backward sums the gradient over ranks). SyncBatchNorm's statistics use it; it shares this group with DDP's
   * Reducer, as in PyTorch (every rank issues the collectives in the same order).
   */
  allReduceSumAutograd(t: Tensor, timeoutMs?: number): Tensor {
    return new Tensor(
      this.run("all_reduce(sum) with autograd", () => D.allReduceSumAutograd(this.handle, t.native, timeoutMs)),
    );
  }

  /** In place, like dist.broadcast: every rank receives src's values. */
  broadcast(tensors: Tensor | Tensor[], src = 0, timeoutMs?: number): void {
    const nat = (Array.isArray(tensors) ? tensors : [tensors]).map((t) => t.native);
    this.run(`broadcast(src=${src})`, () => D.broadcast(this.handle, nat, src, timeoutMs));
  }

  /** DDP's start-of-training sync: tensors packed into buffers of at most bufferBytes, broadcast from src. */
  broadcastCoalesced(tensors: Tensor[], src = 0, bufferBytes = 250 * 2 ** 20): void {
    if (tensors.length === 0) return;
    const nat = tensors.map((t) => t.native);
    this.run("broadcast of parameters and buffers", () => D.broadcastCoalesced(this.handle, nat, bufferBytes, src));
  }

  barrier(timeoutMs?: number): void {
    this.run("barrier", () => D.barrier(this.handle, timeoutMs));
  }

  /** The shared key-value store (keys live under "ercnn/"). get() waits until the key exists. */
  readonly store = {
    set: (key: string, value: string): void => this.run(`store set ${key}`, () => D.storeSet(this.handle, key, value)),
    get: (key: string): string => this.run(`store get ${key}`, () => D.storeGet(this.handle, key)),
    add: (key: string, by = 1): number => this.run(`store add ${key}`, () => D.storeAdd(this.handle, key, by)),
  };

  /** Leaves the group (rank 0 also stops the store server). */
  destroy(): void {
    if (!this.#handle) return;
    D.destroy(this.#handle);
    this.#handle = null;
  }
}

/** Joins from torchrun's environment variables (env://); throws if WORLD_SIZE is unset. */
export function initFromEnv(o: Omit<InitOptions, keyof DistEnv> = {}, env = process.env): ProcessGroup {
  const de = distEnvFromProcess(env);
  if (!de) throw new Error("distributed: WORLD_SIZE is not set; start ranks with ercnn --nproc or torchrun");
  return ProcessGroup.init({ ...de, ...o });
}

/** Whether this addon can create NCCL groups (a CUDA libtorch with NCCL headers at build time). */
export const ncclAvailable = (): boolean => D.ncclBuilt();

export interface DDPOptions {
  /** Gradient bucket size (DDP's bucket_cap_mb, default 25). */
  bucketCapMB?: number;
  /** The first (last-layer) bucket's size (DDP: 1 MiB), so communication starts early in backward. */
  firstBucketMB?: number;
  /** Let parameters that get no gradient in an iteration not block the reduction (costs a graph walk). */
  findUnusedParameters?: boolean;
  /** Rank 0's buffers (BatchNorm running statistics) broadcast before every training forward (DDP default). */
  broadcastBuffers?: boolean;
}

/**
 * torch.nn.parallel.DistributedDataParallel: rank 0's parameters and buffers are broadcast at construction; each
 * training forward arms c10d's Reducer, so during backward the gradients are averaged across ranks bucket by bucket
 * while the rest of backward still runs. After backward() every rank holds the same averaged gradients.
 */
export class DistributedDataParallel<M extends Module = Module> {
  readonly #reducer: object;
  readonly buckets: number;
  readonly broadcastBuffers: boolean;

  constructor(
    readonly module: M,
    readonly group: ProcessGroup,
    o: DDPOptions = {},
  ) {
    const params = module.parameters().filter((p) => p.requiresGrad);
    if (params.length === 0) throw new Error("DistributedDataParallel: the module has no trainable parameters");
    this.broadcastBuffers = o.broadcastBuffers ?? true;
    group.broadcastCoalesced([...module.parameters(), ...module.buffers()]);
    const cap = Math.round((o.bucketCapMB ?? 25) * 2 ** 20);
    const first = Math.round((o.firstBucketMB ?? 1) * 2 ** 20);
    this.#reducer = D.reducerNew(
      group.handle,
      params.map((p) => p.native),
      cap,
      first,
      o.findUnusedParameters ?? false,
    );
    this.buckets = D.reducerBuckets(this.#reducer);
  }

  /** module.forward, then the Reducer is armed for the backward that follows (in training with grad enabled). */
  forward(...args: unknown[]): any {
    const m = this.module;
    if (m.training && this.broadcastBuffers && this.group.worldSize > 1) {
      const bufs = m.buffers();
      if (bufs.length) this.group.broadcastCoalesced(bufs);
    }
    const out = m.forward(...args);
    if (m.training && isGradEnabled()) D.reducerPrepare(this.#reducer, []);
    return out;
  }

  /** loss.backward() with the bucketed all-reduce; a failed rank is named in the error. */
  backward(loss: Tensor): void {
    this.group.run("gradient all-reduce in backward", () => loss.backward());
  }
}
