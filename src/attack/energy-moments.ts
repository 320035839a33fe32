/**
 * Energy-weighted block covariances (issue 13): relations the ciphertext-only attack can match beyond second order.
 *
 * A block's whitened energy q = (x − μ)·Σ⁻¹·(x − μ)ᵀ is the same number in the plaintext and in the ciphertext
 * (the key maps whitened blocks by an orthogonal M, which keeps lengths). So any weight g(q) of a block or of its
 * neighbour gives a covariance W = E[(g − ḡ)·(x − μ)ᵀ(x − μ)] with, after whitening, W_c = Mᵀ·W_p·M: the same form
 * as the neighbour cross-covariances L(r) the second-order attack matches (statistical-attack.ts). They are fourth
 * order (the energy is quadratic): natural images' high-frequency content comes in bursts (edges, texture), so the
 * weighted covariances of the low-variance directions differ where the second-order ones are all alike, and that is
 * where the second-order fits go wrong.
 *
 * Weights, per block: g = log(q + 10⁻³·n) of the block itself and of its eight neighbours (the log tames the heavy
 * tail of q; the diagonal neighbours lift the best k = 8 fit from 23 to 28 dB). A
 * second pass over the images: it needs the first pass's mean and covariance (BlockMoments). Pure TypeScript, float64 accumulation, streams over batches.
 */

import { checkDims, type ImageDims, readBlockVectors } from "../cipher/block.ts";
import { invert } from "../core/linalg.ts";
import type { BlockMoments } from "./moments.ts";

/** Whose energy weights a block's covariance: its own, or its neighbour's at this block offset (dy, dx). */
export const ENERGY_OFFSETS: readonly (readonly [number, number])[] = [
  [0, 0],
  [0, 1],
  [0, -1],
  [1, 0],
  [-1, 0],
  [1, 1],
  [1, -1],
  [-1, 1],
  [-1, -1],
];

/** The log's floor, as a share of the block dimension n (the mean of q is n). */
export const ENERGY_FLOOR = 1e-3;

export class EnergyMoments {
  readonly n: number;
  readonly blockSize: number;
  readonly channels: number;
  /** [channel][relation]: blocks counted, Σ g, Σ g·xᵀx and Σ xᵀx (upper triangles filled, row-major n×n). */
  readonly count: number[][];
  readonly sumG: number[][];
  readonly sumGXX: Float64Array[][];
  readonly sumXX: Float64Array[][];
  private readonly mean: Float64Array[];
  private readonly precision: Float64Array[];

  /** `first`: the same images' (or the same distribution's) mean and covariance, from a first pass. */
  constructor(first: BlockMoments) {
    this.blockSize = first.blockSize;
    this.channels = first.channels;
    const n = first.n;
    this.n = n;
    this.mean = Array.from({ length: first.channels }, (_, ch) => first.mean(ch));
    this.precision = Array.from({ length: first.channels }, (_, ch) => {
      const inv = invert(first.covariance(ch, 0), n);
      if (!inv) throw new Error(`EnergyMoments: channel ${ch}'s block covariance is singular (constant images?)`);
      return inv;
    });
    const per = (len: number) =>
      Array.from({ length: first.channels }, () => ENERGY_OFFSETS.map(() => new Float64Array(len)));
    this.count = Array.from({ length: first.channels }, () => ENERGY_OFFSETS.map(() => 0));
    this.sumG = Array.from({ length: first.channels }, () => ENERGY_OFFSETS.map(() => 0));
    this.sumGXX = per(n * n);
    this.sumXX = per(n * n);
  }

  /** The first pass's mean block vector of a channel (what the blocks are centred on). */
  centre(ch: number): Float64Array {
    return this.mean[ch];
  }

  /** The inverse of the first pass's block covariance of a channel (what the whitened energy q uses). */
  precisionMatrix(ch: number): Float64Array {
    return this.precision[ch];
  }

  /** Adds every image of a batch (CHW or HWC float32). */
  add(data: Float32Array, dims: ImageDims): this {
    const g = checkDims("EnergyMoments", data.length, dims, { blockSize: this.blockSize, channels: this.channels });
    const { k } = g;
    const n = this.n;
    const bh = g.h / k;
    const bw = g.w / k;
    const x = new Float64Array(bh * bw * n);
    const weight = new Float64Array(bh * bw);
    const px = new Float64Array(n);
    for (let img = 0; img < g.n; img++)
      for (let ch = 0; ch < g.c; ch++) {
        const mu = this.mean[ch];
        const P = this.precision[ch];
        readBlockVectors(data, g, img, ch, x);
        for (let t = 0; t < bh * bw; t++) {
          const o = t * n;
          for (let i = 0; i < n; i++) x[o + i] -= mu[i];
          // q = x·P·xᵀ
          px.fill(0);
          for (let i = 0; i < n; i++) {
            const xi = x[o + i];
            const Pi = i * n;
            for (let j = 0; j < n; j++) px[j] += xi * P[Pi + j];
          }
          let q = 0;
          for (let j = 0; j < n; j++) q += px[j] * x[o + j];
          weight[t] = Math.log(Math.max(q, 0) + ENERGY_FLOOR * n);
        }
        for (const [rel, [dy, dx]] of ENERGY_OFFSETS.entries()) {
          const sgxx = this.sumGXX[ch][rel];
          const sxx = this.sumXX[ch][rel];
          let cnt = 0;
          let sg = 0;
          for (let by = Math.max(0, -dy); by < bh && by + dy < bh; by++)
            for (let bx = Math.max(0, -dx); bx < bw && bx + dx < bw; bx++) {
              const o = (by * bw + bx) * n;
              const w = weight[(by + dy) * bw + bx + dx];
              for (let i = 0; i < n; i++) {
                const xi = x[o + i];
                const wxi = w * xi;
                const r = i * n;
                for (let j = i; j < n; j++) {
                  const xj = x[o + j];
                  sgxx[r + j] += wxi * xj;
                  sxx[r + j] += xi * xj;
                }
              }
              sg += w;
              cnt++;
            }
          this.count[ch][rel] += cnt;
          this.sumG[ch][rel] += sg;
        }
      }
    return this;
  }

  /** E[(g − ḡ)·(x − μ)ᵀ(x − μ)] of relation `rel` (ENERGY_OFFSETS), n×n row-major, symmetric. */
  covariance(ch: number, rel: number): Float64Array {
    const c = this.count[ch][rel];
    if (!c) throw new Error(`EnergyMoments: no blocks for relation ${rel} (images too small, or none added?)`);
    const n = this.n;
    const gBar = this.sumG[ch][rel] / c;
    const a = this.sumGXX[ch][rel];
    const b = this.sumXX[ch][rel];
    const out = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = i; j < n; j++) {
        const v = (a[i * n + j] - gBar * b[i * n + j]) / c;
        out[i * n + j] = v;
        out[j * n + i] = v;
      }
    return out;
  }
}
