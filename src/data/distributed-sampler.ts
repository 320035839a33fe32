// torch.utils.data.DistributedSampler's split of one epoch's order: every rank draws the same shuffled order (same
// seed and epoch), pads it by repeating its start to a multiple of the world size (or drops the tail with dropLast),
// and takes every worldSize-th position starting at its rank. Batch i of rank r then holds positions
// i·b·W + r, i·b·W + r + W, …: the W ranks' batches i together are exactly batch i of a single process with batch b·W.

/** Samples each rank draws per epoch (DistributedSampler.num_samples). */
export function samplesPerRank(n: number, worldSize: number, dropLast = false): number {
  if (!Number.isInteger(worldSize) || worldSize < 1) throw new RangeError(`worldSize must be >= 1, got ${worldSize}`);
  if (dropLast && n % worldSize !== 0) return Math.max(0, Math.ceil((n - worldSize) / worldSize));
  return Math.ceil(n / worldSize);
}

/** Rank `rank`'s slice of `order` (an epoch's order of dataset positions). */
export function shardOrder(order: ArrayLike<number>, rank: number, worldSize: number, dropLast = false): Int32Array {
  if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize)
    throw new RangeError(`rank must be in 0..${worldSize - 1}, got ${rank}`);
  const n = order.length;
  const per = samplesPerRank(n, worldSize, dropLast);
  const out = new Int32Array(per);
  // Position p of the padded order is order[p mod n] (PyTorch repeats the list as often as needed).
  for (let i = 0; i < per; i++) out[i] = order[(rank + i * worldSize) % n];
  return out;
}
