/**
 * Second-order block statistics of images, per channel: the mean block vector, the block covariance, and the
 * cross-covariances of neighbouring blocks (right, down, down-right, down-left), and the cross-channel covariances
 * of the same block. Pure TypeScript, float64
 * accumulation; streams over batches; serialisable. The ciphertext-only attack (statistical-attack.ts) compares them
 * between ciphertexts and public plaintexts.
 *
 * Why they carry the key: every block of channel ch is encrypted with the same K, c = p·K, so for any two blocks
 * E[c_aᵀ c_b] = Kᵀ E[p_aᵀ p_b] K, and the mean is μ_c = μ_p K. Natural images have very typical statistics at the
 * scale of a few pixels, so the plaintext side can be estimated from any public photos.
 */

import { checkDims, type ImageDims, readBlockVectors } from "../cipher/block.ts";
import { transposeSquare } from "../core/linalg.ts";

/** Block-grid offsets (dy, dx) of the neighbour relations, after the block itself (0, 0). */
export const NEIGHBOUR_OFFSETS: readonly (readonly [number, number])[] = [
  [0, 0],
  [0, 1],
  [1, 0],
  [1, 1],
  [1, -1],
];

export interface BlockMomentsJson {
  blockSize: number;
  channels: number;
  /** Per channel and relation: pairs counted, Σ a, Σ b, Σ a bᵀ (row-major). */
  count: number[][];
  sumA: number[][][];
  sumB: number[][][];
  sumAB: number[][][];
  /** Per channel pair (i < j, in order (0,1), (0,2), …, (1,2), …): Σ a_iᵀ a_j over the same block. Optional (older files). */
  sumCross?: number[][];
}

/** Index of the channel pair (i, j), i < j, in sumCross. */
export function channelPairIndex(i: number, j: number, channels: number): number {
  if (!(i >= 0 && i < j && j < channels)) throw new Error(`channelPairIndex: bad pair (${i}, ${j}) of ${channels}`);
  return i * channels - (i * (i + 1)) / 2 + (j - i - 1);
}

export class BlockMoments {
  readonly n: number;
  /** [channel][relation] */
  readonly count: number[][];
  readonly sumA: Float64Array[][];
  readonly sumB: Float64Array[][];
  readonly sumAB: Float64Array[][];
  /**
   * Cross-channel sums Σ a_iᵀ a_j of the same block (relation (0, 0)), per channel pair (channelPairIndex): they tie
   * the channels' keys together (for greyscale images stored as RGB, c_j = c_i·K_i⁻¹K_j exactly).
   */
  readonly sumCross: Float64Array[];

  constructor(
    readonly blockSize: number,
    readonly channels: number,
  ) {
    if (!Number.isInteger(blockSize) || blockSize < 1) throw new Error(`BlockMoments: bad block size ${blockSize}`);
    const n = blockSize * blockSize;
    this.n = n;
    const per = (len: number) =>
      Array.from({ length: channels }, () => NEIGHBOUR_OFFSETS.map(() => new Float64Array(len)));
    this.count = Array.from({ length: channels }, () => NEIGHBOUR_OFFSETS.map(() => 0));
    this.sumA = per(n);
    this.sumB = per(n);
    this.sumAB = per(n * n);
    this.sumCross = Array.from({ length: (channels * (channels - 1)) / 2 }, () => new Float64Array(n * n));
  }

  /** Adds every image of a batch (CHW or HWC float32, the cipher's layouts). */
  add(data: Float32Array, dims: ImageDims): this {
    const g = checkDims("BlockMoments", data.length, dims, { blockSize: this.blockSize, channels: this.channels });
    const { k } = g;
    const n = this.n;
    const bh = g.h / k;
    const bw = g.w / k;
    const blocks = bh * bw;
    const all = Array.from({ length: g.c }, () => new Float64Array(blocks * n));
    for (let img = 0; img < g.n; img++) {
      for (let ch = 0; ch < g.c; ch++) {
        const vecs = all[ch];
        readBlockVectors(data, g, img, ch, vecs);
        for (const [rel, [dy, dx]] of NEIGHBOUR_OFFSETS.entries()) {
          const sa = this.sumA[ch][rel];
          const sb = this.sumB[ch][rel];
          const sab = this.sumAB[ch][rel];
          let cnt = 0;
          for (let by = 0; by + dy < bh; by++)
            for (let bx = Math.max(0, -dx); bx < bw && bx + dx < bw; bx++) {
              const a = (by * bw + bx) * n;
              const b = ((by + dy) * bw + bx + dx) * n;
              for (let i = 0; i < n; i++) {
                const ai = vecs[a + i];
                sa[i] += ai;
                sb[i] += vecs[b + i];
                const row = i * n;
                for (let j = 0; j < n; j++) sab[row + j] += ai * vecs[b + j];
              }
              cnt++;
            }
          this.count[ch][rel] += cnt;
        }
      }
      for (let i = 0; i < g.c; i++)
        for (let j = i + 1; j < g.c; j++) {
          const sx = this.sumCross[channelPairIndex(i, j, g.c)];
          const a = all[i];
          const b = all[j];
          for (let t = 0; t < blocks; t++) {
            const o = t * n;
            for (let p = 0; p < n; p++) {
              const ap = a[o + p];
              const r = p * n;
              for (let q = 0; q < n; q++) sx[r + q] += ap * b[o + q];
            }
          }
        }
    }
    return this;
  }

  /** Adds another accumulator's sums (same block size and channels): the statistics of both image sets together. */
  merge(other: BlockMoments): this {
    if (other.blockSize !== this.blockSize || other.channels !== this.channels)
      throw new Error(
        `BlockMoments.merge: k=${other.blockSize}, C=${other.channels} into k=${this.blockSize}, C=${this.channels}`,
      );
    const addTo = (a: Float64Array, b: Float64Array) => {
      for (let i = 0; i < a.length; i++) a[i] += b[i];
    };
    for (let ch = 0; ch < this.channels; ch++)
      for (let r = 0; r < this.count[ch].length; r++) {
        this.count[ch][r] += other.count[ch][r];
        addTo(this.sumA[ch][r], other.sumA[ch][r]);
        addTo(this.sumB[ch][r], other.sumB[ch][r]);
        addTo(this.sumAB[ch][r], other.sumAB[ch][r]);
      }
    for (const [i, x] of this.sumCross.entries()) addTo(x, other.sumCross[i]);
    return this;
  }

  /** Mean block vector of a channel. */
  mean(ch: number): Float64Array {
    const c = this.count[ch][0];
    if (!c) throw new Error("BlockMoments: no blocks added");
    return this.sumA[ch][0].map((v) => v / c);
  }

  /** E[(a − μ)ᵀ(b − μ)] for relation `rel` (0 = the covariance), centred on the channel mean, n×n row-major. */
  covariance(ch: number, rel = 0): Float64Array {
    const c = this.count[ch][rel];
    if (!c) throw new Error(`BlockMoments: no block pairs for relation ${rel} (images too small?)`);
    const n = this.n;
    const mu = this.mean(ch);
    const sa = this.sumA[ch][rel];
    const sb = this.sumB[ch][rel];
    const sab = this.sumAB[ch][rel];
    const out = new Float64Array(n * n);
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) out[i * n + j] = (sab[i * n + j] - mu[i] * sb[j] - sa[i] * mu[j]) / c + mu[i] * mu[j];
    return out;
  }

  /** E[(a_i − μ_i)ᵀ(a_j − μ_j)] of channels i and j at the same block, n×n row-major (i ≠ j; i > j transposes). */
  crossCovariance(i: number, j: number): Float64Array {
    const n = this.n;
    if (i === j) return this.covariance(i, 0);
    if (i > j) return transposeSquare(this.crossCovariance(j, i), n);
    const c = this.count[i][0];
    if (!c) throw new Error("BlockMoments: no blocks added");
    const mi = this.mean(i);
    const mj = this.mean(j);
    const sx = this.sumCross[channelPairIndex(i, j, this.channels)];
    const out = new Float64Array(n * n);
    for (let p = 0; p < n; p++) for (let q = 0; q < n; q++) out[p * n + q] = sx[p * n + q] / c - mi[p] * mj[q];
    return out;
  }

  /** Whether the cross-channel sums are present (false for statistics saved before they existed). */
  get hasCross(): boolean {
    return this.channels < 2 || this.sumCross.some((s) => s.some((v) => v !== 0));
  }

  toJSON(): BlockMomentsJson {
    return {
      blockSize: this.blockSize,
      channels: this.channels,
      count: this.count.map((r) => [...r]),
      sumA: this.sumA.map((r) => r.map((v) => Array.from(v))),
      sumB: this.sumB.map((r) => r.map((v) => Array.from(v))),
      sumAB: this.sumAB.map((r) => r.map((v) => Array.from(v))),
      sumCross: this.sumCross.map((v) => Array.from(v)),
    };
  }

  static fromJSON(j: BlockMomentsJson): BlockMoments {
    const m = new BlockMoments(j.blockSize, j.channels);
    for (let ch = 0; ch < j.channels; ch++)
      for (let rel = 0; rel < NEIGHBOUR_OFFSETS.length; rel++) {
        m.count[ch][rel] = j.count[ch][rel];
        m.sumA[ch][rel].set(j.sumA[ch][rel]);
        m.sumB[ch][rel].set(j.sumB[ch][rel]);
        m.sumAB[ch][rel].set(j.sumAB[ch][rel]);
      }
    if (j.sumCross) for (const [p, v] of j.sumCross.entries()) m.sumCross[p].set(v);
    return m;
  }
}
