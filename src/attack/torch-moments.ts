/**
 * The attack's block statistics on libtorch: the same sums as BlockMoments.add and EnergyMoments.add (moments.ts,
 * pure TypeScript), but each relation is one float64 GEMM over a whole batch's blocks instead of a
 * rank-1 update per block. The sums go into the same accumulators, so the two paths mix freely and the statistics
 * are the same up to rounding (test/attack/torch-moments.test.ts). This is what makes many images affordable at
 * k = 16, where a block pair's update is 256² products and the energy pass has nine relations.
 */
import type { ImageDims } from "../cipher/index.ts";
import { fromTypedArray, type Tensor, tidy } from "../torch/index.ts";
import { ENERGY_FLOOR, ENERGY_OFFSETS, type EnergyMoments } from "./energy-moments.ts";
import { type BlockMoments, channelPairIndex, NEIGHBOUR_OFFSETS } from "./moments.ts";

/** Blocks of a CHW float32 batch as a [C, N, bh, bw, n] float64 tensor (row-major blocks, the cipher's layout). */
function blockTensor(data: Float32Array, dims: ImageDims, k: number): Tensor {
  const { c, h, w } = dims;
  const n = dims.n ?? 1;
  return fromTypedArray(data.subarray(0, n * c * h * w), [n, c, h / k, k, w / k, k])
    .double()
    .permute(1, 0, 2, 4, 3, 5)
    .reshape(c, n, h / k, w / k, k * k);
}

function checkBatch(what: string, data: Float32Array, dims: ImageDims, k: number, channels: number): void {
  const { c, h, w } = dims;
  const n = dims.n ?? 1;
  if (dims.layout !== "CHW") throw new Error(`${what}: only CHW batches (got ${dims.layout})`);
  if (c !== channels) throw new Error(`${what}: batch has ${c} channels, the statistics ${channels}`);
  if (h % k || w % k) throw new Error(`${what}: ${h}×${w} images do not tile into ${k}×${k} blocks`);
  if (data.length < n * c * h * w) throw new Error(`${what}: ${data.length} values for ${n}×${c}×${h}×${w} images`);
}

/** The blocks at grid rows [y0, y1) and columns [x0, x1) of every image, as [count, n]. */
function region(X: Tensor, y0: number, y1: number, x0: number, x1: number): Tensor {
  const n = X.shape[3];
  return X.slice(1, y0, y1).slice(2, x0, x1).reshape(-1, n);
}

function addInto(target: Float64Array, t: Tensor): void {
  const v = t.contiguous().toTypedArray() as Float64Array;
  for (let i = 0; i < target.length; i++) target[i] += v[i];
}

/** BlockMoments.add with libtorch GEMMs (CHW batches). */
export function addBlockMoments(acc: BlockMoments, data: Float32Array, dims: ImageDims): BlockMoments {
  const k = acc.blockSize;
  checkBatch("addBlockMoments", data, dims, k, acc.channels);
  tidy(() => {
    const all = blockTensor(data, dims, k); // [C, N, bh, bw, n]
    const [C, , bh, bw] = all.shape;
    for (let ch = 0; ch < C; ch++) {
      const X = all.select(0, ch);
      for (const [rel, [dy, dx]] of NEIGHBOUR_OFFSETS.entries()) {
        // pairs (a, b): a at (by, bx), b at (by + dy, bx + dx), both inside the grid (dy ≥ 0)
        const x0 = Math.max(0, -dx);
        const x1 = Math.min(bw, bw - dx);
        const A = region(X, 0, bh - dy, x0, x1);
        const B = region(X, dy, bh, x0 + dx, x1 + dx);
        addInto(acc.sumA[ch][rel], A.sum(0));
        addInto(acc.sumB[ch][rel], B.sum(0));
        addInto(acc.sumAB[ch][rel], A.t().mm(B));
        acc.count[ch][rel] += A.shape[0];
      }
    }
    for (let i = 0; i < C; i++)
      for (let j = i + 1; j < C; j++) {
        const n = all.shape[4];
        const A = all.select(0, i).reshape(-1, n);
        const B = all.select(0, j).reshape(-1, n);
        addInto(acc.sumCross[channelPairIndex(i, j, C)], A.t().mm(B));
      }
  });
  return acc;
}

/** EnergyMoments.add with libtorch GEMMs (CHW batches); fills whole matrices where the JS path fills upper triangles. */
export function addEnergyMoments(acc: EnergyMoments, data: Float32Array, dims: ImageDims): EnergyMoments {
  const k = acc.blockSize;
  checkBatch("addEnergyMoments", data, dims, k, acc.channels);
  const n = acc.n;
  tidy(() => {
    const all = blockTensor(data, dims, k);
    const [C, , bh, bw] = all.shape;
    for (let ch = 0; ch < C; ch++) {
      const X = all.select(0, ch).sub(fromTypedArray(acc.centre(ch), [n])); // [N, bh, bw, n], centred
      const P = fromTypedArray(acc.precisionMatrix(ch), [n, n]);
      // g = log(q + floor·n), q = x·P·xᵀ per block
      const rows = X.reshape(-1, n);
      const q = rows.mm(P).mul(rows).sum(1).clamp(0);
      const g = q
        .add(ENERGY_FLOOR * n)
        .log()
        .reshape(X.shape[0], bh, bw);
      // Σ xᵀx per grid position (one batched GEMM): each relation's unweighted sum is a rectangle of them
      const Xpos = X.reshape(-1, bh * bw, n).transpose(0, 1); // [positions, N, n]
      const gram = Xpos.transpose(1, 2).bmm(Xpos).reshape(bh, bw, n, n);
      for (const [rel, [dy, dx]] of ENERGY_OFFSETS.entries()) {
        // blocks whose neighbour at (dy, dx) is inside the grid
        const y0 = Math.max(0, -dy);
        const y1 = Math.min(bh, bh - dy);
        const x0 = Math.max(0, -dx);
        const x1 = Math.min(bw, bw - dx);
        const Xr = region(X, y0, y1, x0, x1);
        const w = g
          .slice(1, y0 + dy, y1 + dy)
          .slice(2, x0 + dx, x1 + dx)
          .reshape(-1, 1);
        addInto(acc.sumGXX[ch][rel], Xr.mul(w).t().mm(Xr));
        addInto(acc.sumXX[ch][rel], gram.slice(0, y0, y1).slice(1, x0, x1).sum([0, 1]));
        acc.sumG[ch][rel] += w.sum().item();
        acc.count[ch][rel] += Xr.shape[0];
      }
    }
  });
  return acc;
}
