/**
 * Known-plaintext attack on the block Hill cipher: with plaintext/ciphertext pairs, every block gives one row of
 * P·K = C (P: blocks × k² plaintexts, C: the matching ciphertexts). Each channel's key is the least-squares
 * solution, computed in float64 by Householder QR with column pivoting (no normal equations, so the plaintext's
 * conditioning is not squared). The numerical rank of P is the number of |R_ii| > max(m, k²)·ε·|R_00|; when it is
 * below k² (flat images, too few blocks) the key is not determined and `recoverKey` throws a RankDeficientError
 * saying how many more linearly independent blocks are needed.
 *
 * This is why the cipher offers no security against an adversary with even one known natural image: one 32×32
 * image gives 64 blocks per channel for k = 4 (k² = 16 unknowns per column).
 */

import { CipherError, checkDims, type Geometry, type ImageDims, planeAddressing } from "../cipher/block.ts";
import type { CipherKey } from "../cipher/key.ts";
import { invert } from "../core/linalg.ts";

export class RankDeficientError extends CipherError {
  constructor(
    message: string,
    readonly channel: number,
    readonly rank: number,
    readonly needed: number,
    readonly blocksUsed: number,
  ) {
    super(message);
    this.name = "RankDeficientError";
  }
}

export interface RecoveredKey {
  /** C×k²×k² float64, same layout as CipherKey.values. Secret: never log. */
  values: Float64Array;
  /** Numerical rank of the plaintext block matrix, per channel (k² when the key is determined). */
  rank: number[];
  /** Blocks (equations) used per channel. */
  blocksUsed: number;
  /** Relative residual ‖P·K − C‖_F / ‖C‖_F per channel (≈ 0 for consistent data). */
  residual: number[];
  /** Estimate of cond₂(P) per channel, |R_00| / |R_last| from the pivoted QR. */
  conditionEstimate: number[];
}

type Real = Float32Array | Float64Array;

/** Extracts channel `ch`'s blocks of all images as a column-major m×n float64 matrix (m = blocks, n = k²). */
function blockMatrix(data: Real, g: Geometry, ch: number): Float64Array {
  const k = g.k;
  const n = k * k;
  const bw = g.w / k;
  const bh = g.h / k;
  const m = g.n * bw * bh;
  const out = new Float64Array(m * n);
  let row = 0;
  for (let img = 0; img < g.n; img++) {
    const a = planeAddressing(g, img, ch);
    for (let by = 0; by < bh; by++) {
      for (let bx = 0; bx < bw; bx++, row++) {
        for (let r = 0; r < k; r++) {
          for (let q = 0; q < k; q++) {
            out[(r * k + q) * m + row] = data[a.base + (by * k + r) * a.row + (bx * k + q) * a.pix];
          }
        }
      }
    }
  }
  return out;
}

/**
 * Least squares min ‖A·X − B‖ by Householder QR with column pivoting. A: m×n column-major (overwritten),
 * B: m×nrhs column-major (overwritten). Returns X (n×nrhs row-major), the rank, and |R_ii|.
 */
function pivotedQrSolve(
  A: Float64Array,
  B: Float64Array,
  m: number,
  n: number,
  nrhs: number,
): { x: Float64Array; rank: number; rdiag: Float64Array; residual: number } {
  const perm = Array.from({ length: n }, (_, i) => i);
  const rdiag = new Float64Array(n);
  const v = new Float64Array(m);
  let bnorm2 = 0;
  for (let i = 0; i < B.length; i++) bnorm2 += B[i] * B[i];
  const steps = Math.min(m, n);
  for (let k = 0; k < steps; k++) {
    // pivot: largest remaining column norm (recomputed exactly)
    let best = -1;
    let p = k;
    for (let j = k; j < n; j++) {
      let s = 0;
      const o = j * m;
      for (let i = k; i < m; i++) s += A[o + i] * A[o + i];
      if (s > best) {
        best = s;
        p = j;
      }
    }
    if (p !== k) {
      const ok = k * m;
      const op = p * m;
      for (let i = 0; i < m; i++) {
        const t = A[ok + i];
        A[ok + i] = A[op + i];
        A[op + i] = t;
      }
      const t = perm[k];
      perm[k] = perm[p];
      perm[p] = t;
    }
    const norm = Math.sqrt(best);
    const ok = k * m;
    if (norm === 0) {
      rdiag[k] = 0;
      continue;
    }
    const alpha = A[ok + k] >= 0 ? -norm : norm;
    for (let i = k; i < m; i++) v[i] = A[ok + i];
    v[k] -= alpha;
    let vn2 = 0;
    for (let i = k; i < m; i++) vn2 += v[i] * v[i];
    rdiag[k] = alpha;
    A[ok + k] = alpha;
    for (let i = k + 1; i < m; i++) A[ok + i] = 0;
    if (vn2 === 0) continue;
    const apply = (M: Float64Array, cols: number, from: number) => {
      for (let j = from; j < cols; j++) {
        const o = j * m;
        let dot = 0;
        for (let i = k; i < m; i++) dot += v[i] * M[o + i];
        const f = (2 * dot) / vn2;
        if (f === 0) continue;
        for (let i = k; i < m; i++) M[o + i] -= f * v[i];
      }
    };
    apply(A, n, k + 1);
    apply(B, nrhs, 0);
  }
  const eps = 2.220446049250313e-16;
  const tol = Math.max(m, n) * eps * Math.abs(rdiag[0]);
  let rank = 0;
  for (let k = 0; k < steps; k++) if (Math.abs(rdiag[k]) > tol) rank++;
  const x = new Float64Array(n * nrhs);
  if (rank === n) {
    const y = new Float64Array(n);
    for (let c = 0; c < nrhs; c++) {
      const bo = c * m;
      for (let i = n - 1; i >= 0; i--) {
        let s = B[bo + i];
        for (let j = i + 1; j < n; j++) s -= A[j * m + i] * y[j];
        y[i] = s / A[i * m + i];
      }
      for (let i = 0; i < n; i++) x[perm[i] * nrhs + c] = y[i];
    }
  }
  let res2 = 0;
  for (let c = 0; c < nrhs; c++) for (let i = n; i < m; i++) res2 += B[c * m + i] ** 2;
  return { x, rank, rdiag, residual: bnorm2 > 0 ? Math.sqrt(res2 / bnorm2) : 0 };
}

/**
 * Recovers each channel's key from plaintext/ciphertext pairs (same dims/layout for both) by least squares over
 * all blocks of all images. Throws RankDeficientError when a channel's plaintext blocks do not span R^{k²},
 * with the rank found and how many more linearly independent blocks are needed.
 */
export function recoverKey(
  plain: Float32Array | Float64Array,
  cipher: Float32Array | Float64Array,
  dims: ImageDims,
  blockSize: number,
): RecoveredKey {
  const g = checkDims("recoverKey", plain.length, dims, { blockSize, channels: dims.c });
  if (cipher.length !== plain.length) {
    throw new CipherError(`recoverKey: plaintext has ${plain.length} elements but ciphertext has ${cipher.length}`);
  }
  const n = blockSize * blockSize;
  const m = g.n * (g.h / blockSize) * (g.w / blockSize);
  const values = new Float64Array(g.c * n * n);
  const rank: number[] = [];
  const residual: number[] = [];
  const conditionEstimate: number[] = [];
  for (let ch = 0; ch < g.c; ch++) {
    const A = blockMatrix(plain, g, ch);
    const B = blockMatrix(cipher, g, ch);
    for (let i = 0; i < A.length; i++) {
      if (!Number.isFinite(A[i]) || !Number.isFinite(B[i]))
        throw new CipherError(`recoverKey: channel ${ch} has non-finite values`);
    }
    const sol = pivotedQrSolve(A, B, m, n, n);
    rank.push(sol.rank);
    residual.push(sol.residual);
    const last = Math.abs(sol.rdiag[Math.min(m, n) - 1]);
    conditionEstimate.push(last > 0 ? Math.abs(sol.rdiag[0]) / last : Number.POSITIVE_INFINITY);
    if (sol.rank < n) {
      const needed = n - sol.rank;
      const why =
        m < n
          ? `only ${m} blocks for ${n} unknowns per key column`
          : `the ${m} plaintext blocks span only ${sol.rank} of ${n} dimensions (flat or too smooth images)`;
      throw new RankDeficientError(
        `recoverKey: channel ${ch}: rank ${sol.rank} < k² = ${n}: ${why}; the key is not determined — at least ${needed} more linearly independent block${needed === 1 ? "" : "s"} needed`,
        ch,
        sol.rank,
        needed,
        m,
      );
    }
    values.set(sol.x, ch * n * n);
  }
  return { values, rank, blocksUsed: m, residual, conditionEstimate };
}

/**
 * Peak signal-to-noise ratio in dB, 10·log10(peak² / MSE) with float64 accumulation; Infinity for identical inputs.
 * The project's one PSNR (report/metrics.ts re-exports it).
 */
export function psnr(a: ArrayLike<number>, b: ArrayLike<number>, peak = 1): number {
  if (a.length !== b.length) throw new CipherError(`psnr: length mismatch (${a.length} vs ${b.length})`);
  if (a.length === 0) throw new CipherError("psnr: empty input");
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    s += d * d;
  }
  const mse = s / a.length;
  return mse === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((peak * peak) / mse);
}

/** ‖a − b‖_F / ‖b‖_F. */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new CipherError("relativeError: length mismatch");
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i] - b[i]) ** 2;
    den += b[i] * b[i];
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}

/** Applies per-channel matrices block-wise in float64 (c = p·M_ch): reference implementation for any layout. */
export function applyBlockwise64(
  data: Float32Array | Float64Array,
  dims: ImageDims,
  mats: Float64Array,
  blockSize: number,
): Float64Array {
  const g = checkDims("applyBlockwise64", data.length, dims, { blockSize, channels: dims.c });
  const k = blockSize;
  const n = k * k;
  if (mats.length !== g.c * n * n) throw new CipherError("applyBlockwise64: matrices have the wrong size");
  const out = new Float64Array(g.total);
  const p = new Float64Array(n);
  for (let img = 0; img < g.n; img++) {
    for (let ch = 0; ch < g.c; ch++) {
      const a = planeAddressing(g, img, ch);
      for (let by = 0; by < g.h / k; by++) {
        for (let bx = 0; bx < g.w / k; bx++) {
          for (let i = 0; i < n; i++)
            p[i] = data[a.base + (by * k + ((i / k) | 0)) * a.row + (bx * k + (i % k)) * a.pix];
          for (let j = 0; j < n; j++) {
            let s = 0;
            for (let i = 0; i < n; i++) s += p[i] * mats[(ch * n + i) * n + j];
            out[a.base + (by * k + ((j / k) | 0)) * a.row + (bx * k + (j % k)) * a.pix] = s;
          }
        }
      }
    }
  }
  return out;
}

/**
 * Evaluates a recovered key: relative error against the true key, and the PSNR (peak 1) of decrypting a fresh
 * image (encrypted with the true key, in float64) with the inverse of the recovered key.
 */
export function evaluateRecoveredKey(
  recovered: Float64Array,
  key: CipherKey,
  fresh: Float32Array | Float64Array,
  dims: ImageDims,
  peak = 1,
): { keyRelativeError: number; psnr: number } {
  const n = key.blockSize * key.blockSize;
  const inv = new Float64Array(recovered.length);
  for (let c = 0; c < key.channels; c++) {
    const m = invert(recovered.slice(c * n * n, (c + 1) * n * n), n);
    if (!m) return { keyRelativeError: relativeError(recovered, key.values), psnr: Number.NEGATIVE_INFINITY };
    inv.set(m, c * n * n);
  }
  const enc = applyBlockwise64(fresh, dims, key.values, key.blockSize);
  const dec = applyBlockwise64(enc, dims, inv, key.blockSize);
  return { keyRelativeError: relativeError(recovered, key.values), psnr: psnr(dec, fresh, peak) };
}
