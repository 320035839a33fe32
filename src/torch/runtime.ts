// Process-wide settings: threads, seeds, devices.
import { availableParallelism } from "node:os";
import { type CpuAllocatorStats, native } from "./native.ts";

/** Intra-op threads (torch.set_num_threads). */
export function setNumThreads(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`setNumThreads: expected a positive integer, got ${n}`);
  native.setNumThreads(n);
}
export function getNumThreads(): number {
  return native.getNumThreads();
}
/** Seeds libtorch's global generator (torch.manual_seed). */
export function manualSeed(seed: number): void {
  native.manualSeed(seed);
}
export const cuda = {
  isAvailable: (): boolean => native.cudaAvailable(),
  deviceCount: (): number => native.cudaDeviceCount(),
};
/** libtorch's build configuration (torch.__config__.show()) and parallel settings. */
export function buildConfig(): string {
  return native.config();
}
export const torchVersion: string = native.torchVersion;
/**
 * The CPU allocator (native/src/allocator.cc): blocks of 1 MB and more are kept when freed and reused for the same
 * size class, so a training step's activations are not page-faulted in afresh every step.
 */
export const cpuAllocator = {
  stats: (): CpuAllocatorStats => native.allocatorStats(),
  /** Frees every kept block (torch.cuda.empty_cache's CPU counterpart). */
  emptyCache: (): void => native.allocatorEmptyCache(),
};

// libtorch's OpenMP pool starts with one thread on these machines (omp_get_max_threads() = 1 under
// cgroup limits); use every core unless the user chose with OMP_NUM_THREADS or ERCNN_THREADS.
{
  const env = process.env.ERCNN_THREADS ?? process.env.OMP_NUM_THREADS;
  native.setNumThreads(env ? Math.max(1, Number.parseInt(env, 10) || 1) : availableParallelism());
}
