// Loads the libtorch addon (native/). Everything in src/torch goes through this one object.
import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export interface NativeTensor {
  shape(): number[];
  dtype(): number;
  device(): string;
  numel(): number;
  requiresGrad: boolean;
  isLeaf(): boolean;
  grad(): NativeTensor | null;
  setGrad(g: NativeTensor | null): void;
  backward(gradient?: NativeTensor, retainGraph?: boolean, createGraph?: boolean): void;
  toBuffer(): ArrayBuffer;
  copyTo<T extends ArrayBufferView>(out: T, dtype: number): T;
  item(): number | boolean;
  dispose(): void;
  isDisposed(): boolean;
}

/** c10d (native/src/distributed.cc); handles are opaque. */
export interface NativeDistributed {
  init(o: {
    host: string;
    port: number;
    rank: number;
    worldSize: number;
    timeoutMs: number;
    backend: string;
    heartbeatMs: number;
  }): object;
  destroy(group: object): void;
  allreduce(group: object, tensors: NativeTensor[], op: string, timeoutMs?: number): void;
  /** Differentiable sum over ranks (a new tensor); backward sums the gradient over ranks. */
  allReduceSumAutograd(group: object, tensor: NativeTensor, timeoutMs?: number): NativeTensor;
  broadcast(group: object, tensors: NativeTensor[], root: number, timeoutMs?: number): void;
  broadcastCoalesced(group: object, tensors: NativeTensor[], bufferBytes: number, root: number): void;
  barrier(group: object, timeoutMs?: number): void;
  storeSet(group: object, key: string, value: string): void;
  storeGet(group: object, key: string): string;
  storeAdd(group: object, key: string, by: number): number;
  silentRanks(group: object, waitMs: number): { ranks: number[]; storeReachable: boolean };
  reducerNew(
    group: object,
    params: NativeTensor[],
    bucketCapBytes: number,
    firstBucketBytes: number,
    findUnused: boolean,
  ): object;
  reducerPrepare(reducer: object, outputs: NativeTensor[]): void;
  reducerBuckets(reducer: object): number;
  ncclBuilt(): boolean;
}

export interface NativeAddon {
  Tensor: new () => NativeTensor;
  resolve(name: string, overload: string): number;
  schema(id: number): string;
  call(id: number, ...args: unknown[]): any;
  fromBuffer(data: ArrayBufferView, shape: number[], dtype: number): NativeTensor;
  setNumThreads(n: number): void;
  getNumThreads(): number;
  manualSeed(seed: number): void;
  setGradEnabled(enabled: boolean): boolean;
  isGradEnabled(): boolean;
  cudaAvailable(): boolean;
  cudaDeviceCount(): number;
  config(): string;
  torchVersion: string;
  distributed: NativeDistributed;
  /** Variable::set_data: dst takes src's data (device moves that keep parameter identity). */
  setData(dst: NativeTensor, src: NativeTensor): void;
  /** The CPU allocator's cache of large blocks (native/src/allocator.cc). */
  allocatorStats(): CpuAllocatorStats;
  allocatorEmptyCache(): void;
}

export interface CpuAllocatorStats {
  /** ercnn's allocator is in use (false under ERCNN_DEFAULT_ALLOCATOR: c10's). */
  installed: boolean;
  /** Most bytes of freed large blocks kept for reuse (ERCNN_ALLOCATOR_CACHE_MB; 0: no cache). */
  capBytes: number;
  /** Bytes kept now. */
  heldBytes: number;
  /** Large-block requests served from the cache, and those that went to malloc(). */
  hits: number;
  misses: number;
}

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const candidates = [
  process.env.ERCNN_ADDON,
  join(root, "native", "build", "Release", "ercnn_torch.node"),
  join(root, "native", "build", "Debug", "ercnn_torch.node"),
].filter((p): p is string => Boolean(p));

function load(): NativeAddon {
  // libgomp reads this when libtorch loads: idle OpenMP threads sleep instead of spinning. Measured with one
  // competing busy thread (loader workers, other jobs): 49 vs 33 img/s; on a quiet machine no cost (95 vs 93).
  process.env.OMP_WAIT_POLICY ??= "PASSIVE";
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    throw new Error(
      `ercnn: the libtorch addon is not built (looked in ${candidates.join(", ")}). ` +
        "Run `bash scripts/setup.sh` (or `npm run build:native` when libtorch is installed).",
    );
  }
  return createRequire(import.meta.url)(found) as NativeAddon;
}

export const native: NativeAddon = load();
