/**
 * Image-quality and key-recovery metrics for reports, on plain typed arrays (no tensors). PSNR is the cipher's
 * (src/attack/known-plaintext.ts), re-exported here.
 *
 * Images are CHW (or NCHW for batches) float32, values on the [0, peak] scale (peak = 1 for [0,1] images).
 *
 * SSIM follows Wang et al. 2004 exactly as skimage's
 *   structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=peak,
 *                         channel_axis=0)
 * computes it: an 11×11 Gaussian window (σ = 1.5, taps exp(−x²/2σ²) for x = −5..5, normalised), K1 = 0.01,
 * K2 = 0.03, C1 = (K1·peak)², C2 = (K2·peak)², local (population) statistics, the SSIM map averaged over the
 * "valid" positions only (windows fully inside the image — skimage filters with reflection and then crops the
 * border, which is the same thing), per channel, then the channel means averaged.
 *
 * Small images: where min(h, w) < 11 the window is shrunk to the largest odd size w' ≤ min(h, w) (still σ = 1.5,
 * taps x = −(w'−1)/2 … (w'−1)/2, renormalised). skimage would refuse such images; this keeps SSIM defined (a
 * 1×1 window degenerates to the per-pixel luminance term).
 */

import { psnr } from "../attack/known-plaintext.ts";
import { gaussianWindow } from "../core/gaussian.ts";

export interface ChwDims {
  c: number;
  h: number;
  w: number;
}

export interface BatchDims extends ChwDims {
  /** Number of images (default 1). */
  n?: number;
}

function checkSame(a: ArrayLike<number>, b: ArrayLike<number>, where: string): void {
  if (a.length !== b.length) throw new Error(`${where}: length mismatch (${a.length} vs ${b.length})`);
  if (a.length === 0) throw new Error(`${where}: empty input`);
}

function checkDims(len: number, dims: BatchDims, where: string): number {
  const n = dims.n ?? 1;
  for (const [k, v] of [
    ["n", n],
    ["c", dims.c],
    ["h", dims.h],
    ["w", dims.w],
  ] as const) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`${where}: ${k} must be a positive integer, got ${v}`);
  }
  if (len !== n * dims.c * dims.h * dims.w) {
    throw new Error(`${where}: length ${len} does not match n·c·h·w = ${n}·${dims.c}·${dims.h}·${dims.w}`);
  }
  return n;
}

/** Mean squared error (float64 accumulation). */
export function mse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkSame(a, b, "mse");
  let s = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    s += d * d;
  }
  return s / a.length;
}

/** PSNR in dB: 10·log10(peak² / MSE), +Infinity for identical inputs: the cipher's (one definition). */
export { psnr } from "../attack/known-plaintext.ts";
export { gaussianWindow };

/** The window size SSIM uses for an h×w image: 11, or the largest odd size ≤ min(h, w) for smaller images. */
export function ssimWindowSize(h: number, w: number): number {
  const m = Math.min(11, h, w);
  return m % 2 === 1 ? m : m - 1;
}

/** Separable "valid" filtering of an h×w plane (float64) with the 1-D taps g: result (h−s+1)×(w−s+1). */
function filterValid(x: Float64Array, h: number, w: number, g: Float64Array): Float64Array {
  const s = g.length;
  const ow = w - s + 1;
  const oh = h - s + 1;
  const tmp = new Float64Array(h * ow);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let xo = 0; xo < ow; xo++) {
      let acc = 0;
      for (let t = 0; t < s; t++) acc += g[t] * x[row + xo + t];
      tmp[y * ow + xo] = acc;
    }
  }
  const out = new Float64Array(oh * ow);
  for (let yo = 0; yo < oh; yo++) {
    for (let xo = 0; xo < ow; xo++) {
      let acc = 0;
      for (let t = 0; t < s; t++) acc += g[t] * tmp[(yo + t) * ow + xo];
      out[yo * ow + xo] = acc;
    }
  }
  return out;
}

/** Mean SSIM of one h×w plane pair starting at `off` in a and b. */
function ssimPlane(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  off: number,
  h: number,
  w: number,
  g: Float64Array,
  c1: number,
  c2: number,
): number {
  const hw = h * w;
  const x = new Float64Array(hw);
  const y = new Float64Array(hw);
  const xx = new Float64Array(hw);
  const yy = new Float64Array(hw);
  const xy = new Float64Array(hw);
  for (let i = 0; i < hw; i++) {
    const av = a[off + i];
    const bv = b[off + i];
    x[i] = av;
    y[i] = bv;
    xx[i] = av * av;
    yy[i] = bv * bv;
    xy[i] = av * bv;
  }
  const ux = filterValid(x, h, w, g);
  const uy = filterValid(y, h, w, g);
  const uxx = filterValid(xx, h, w, g);
  const uyy = filterValid(yy, h, w, g);
  const uxy = filterValid(xy, h, w, g);
  let s = 0;
  for (let i = 0; i < ux.length; i++) {
    const mx = ux[i];
    const my = uy[i];
    const vx = uxx[i] - mx * mx;
    const vy = uyy[i] - my * my;
    const vxy = uxy[i] - mx * my;
    s += ((2 * mx * my + c1) * (2 * vxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2));
  }
  return s / ux.length;
}

/**
 * Mean SSIM of two CHW images (or NCHW batches with dims.n: the mean over images), per channel then averaged.
 * See the module doc for the exact definition and the small-image rule.
 */
export function ssim(a: ArrayLike<number>, b: ArrayLike<number>, dims: BatchDims, peak = 1): number {
  checkSame(a, b, "ssim");
  const n = checkDims(a.length, dims, "ssim");
  const { c, h, w } = dims;
  const g = gaussianWindow(ssimWindowSize(h, w), 1.5);
  const c1 = (0.01 * peak) ** 2;
  const c2 = (0.03 * peak) ** 2;
  let s = 0;
  for (let p = 0; p < n * c; p++) s += ssimPlane(a, b, p * h * w, h, w, g, c1, c2);
  return s / (n * c);
}

export interface AffineFit {
  /** a·pred + b, per channel (float32, same layout as pred). */
  fitted: Float32Array;
  /** Per (image, channel) scale a, index img·c + ch. */
  scale: Float64Array;
  /** Per (image, channel) offset b. */
  offset: Float64Array;
}

/**
 * Per-channel least squares a·pred + b ≈ target (for each image and channel separately; the adaptation output's
 * scale and offset are arbitrary). A constant pred channel gets a = 0, b = mean(target).
 */
export function affineFit(pred: ArrayLike<number>, target: ArrayLike<number>, dims: BatchDims): AffineFit {
  checkSame(pred, target, "affineFit");
  const n = checkDims(pred.length, dims, "affineFit");
  const hw = dims.h * dims.w;
  const planes = n * dims.c;
  const fitted = new Float32Array(pred.length);
  const scale = new Float64Array(planes);
  const offset = new Float64Array(planes);
  for (let p = 0; p < planes; p++) {
    const off = p * hw;
    let mx = 0;
    let my = 0;
    for (let i = 0; i < hw; i++) {
      mx += pred[off + i];
      my += target[off + i];
    }
    mx /= hw;
    my /= hw;
    let sxy = 0;
    let sxx = 0;
    for (let i = 0; i < hw; i++) {
      const dx = pred[off + i] - mx;
      sxx += dx * dx;
      sxy += dx * (target[off + i] - my);
    }
    const a = sxx > 1e-300 ? sxy / sxx : 0;
    const b = my - a * mx;
    scale[p] = a;
    offset[p] = b;
    for (let i = 0; i < hw; i++) fitted[off + i] = a * pred[off + i] + b;
  }
  return { fitted, scale, offset };
}

/** Clip to [lo, hi] (new array). */
export function clip(x: ArrayLike<number>, lo = 0, hi = 1): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = Math.min(Math.max(x[i], lo), hi);
  return out;
}

/** PSNR values are capped here in means so they stay finite (and JSON-serialisable). */
export const PSNR_CAP_DB = 100;

export interface DecryptionQuality {
  /** Mean over images of the PSNR (dB) of the affine-fitted, [0,1]-clipped adaptation output vs the plaintext. */
  psnr: number;
  /** Mean over images of the SSIM of the same. */
  ssim: number;
  /** Mean over images of the PSNR of the raw (unfitted, unclipped) adaptation output vs the plaintext. */
  rawPsnr: number;
  /** Number of images. */
  n: number;
  /** Per-image values (same definitions). */
  perImage: { psnr: number[]; ssim: number[]; rawPsnr: number[] };
}

/**
 * How well the adaptation output "decrypts": per image, fit each channel affinely to the plaintext, clip to [0,1],
 * then PSNR and SSIM against the plaintext ([0,1] scale, peak 1). Per-image PSNRs are capped at PSNR_CAP_DB before
 * averaging. adaptOut and plain: NCHW (dims.n images, default 1).
 */
export function decryptionQuality(
  adaptOut: ArrayLike<number>,
  plain: ArrayLike<number>,
  dims: BatchDims,
): DecryptionQuality {
  checkSame(adaptOut, plain, "decryptionQuality");
  const n = checkDims(adaptOut.length, dims, "decryptionQuality");
  const size = dims.c * dims.h * dims.w;
  const one = { c: dims.c, h: dims.h, w: dims.w };
  const per = { psnr: [] as number[], ssim: [] as number[], rawPsnr: [] as number[] };
  const sub = (x: ArrayLike<number>, i: number): ArrayLike<number> =>
    ArrayBuffer.isView(x)
      ? (x as unknown as Float32Array).subarray(i * size, (i + 1) * size)
      : Array.from(x).slice(i * size, (i + 1) * size);
  for (let i = 0; i < n; i++) {
    const o = sub(adaptOut, i);
    const p = sub(plain, i);
    const fit = clip(affineFit(o, p, one).fitted, 0, 1);
    per.psnr.push(Math.min(psnr(fit, p), PSNR_CAP_DB));
    per.ssim.push(ssim(fit, p, one));
    per.rawPsnr.push(Math.min(psnr(o, p), PSNR_CAP_DB));
  }
  const mean = (v: number[]) => v.reduce((s, x) => s + x, 0) / v.length;
  return { psnr: mean(per.psnr), ssim: mean(per.ssim), rawPsnr: mean(per.rawPsnr), n, perImage: per };
}

export interface AdaptationMap {
  /**
   * (C·k²)×(C·k²) float64, row-major, in the cipher's row-vector convention: for a ciphertext block x (length C·k²,
   * channel-major, then row-major within the k×k block) the output block is y = x·M + offset, i.e.
   * y_v = Σ_u x_u M[u][v] + offset_v. The ideal map is then M = diag(K_0⁻¹, …, K_{C−1}⁻¹), the same layout as the
   * key's inverse values (p = c·K⁻¹).
   */
  M: Float64Array;
  /** Length C·k². */
  offset: Float64Array;
  /** C·k². */
  size: number;
  channels: number;
}

/**
 * The per-block affine map of the aligned adaptation network (Conv2d(C, C·k², k, stride k, padding 0) then
 * ConvTranspose2d(C·k², C, k, stride k)). PyTorch layouts: convWeight [C·k², C, k, k] (OIHW), convBias [C·k²],
 * deconvWeight [C·k², C, k, k] (in, out, kH, kW), deconvBias [C]. C is inferred from the weight length.
 *
 * With A[o][u] = convWeight[o, u] (u = ch·k² + r·k + s) and B[o][v] = deconvWeight[o, v]:
 *   h = A x + b1,  y_v = Σ_o B[o][v] h_o + b2[ch(v)]  ⇒  M[u][v] = Σ_o A[o][u] B[o][v],  offset_v = Σ_o b1_o B[o][v] + b2[ch(v)].
 */
export function composedAdaptationMap(
  convWeight: ArrayLike<number>,
  convBias: ArrayLike<number> | null,
  deconvWeight: ArrayLike<number>,
  deconvBias: ArrayLike<number> | null,
  k: number,
): AdaptationMap {
  if (!Number.isInteger(k) || k < 1) throw new Error(`composedAdaptationMap: bad block size ${k}`);
  const kk = k * k;
  const size = Math.round(Math.sqrt(convWeight.length));
  const channels = size / kk;
  if (size * size !== convWeight.length || !Number.isInteger(channels)) {
    throw new Error(
      `composedAdaptationMap: conv weight length ${convWeight.length} is not (C·k²)² for k=${k} (expected [C·k², C, k, k])`,
    );
  }
  if (deconvWeight.length !== size * size) {
    throw new Error(`composedAdaptationMap: deconv weight length ${deconvWeight.length}, expected ${size * size}`);
  }
  if (convBias && convBias.length !== size)
    throw new Error(`composedAdaptationMap: conv bias length ${convBias.length}`);
  if (deconvBias && deconvBias.length !== channels) {
    throw new Error(`composedAdaptationMap: deconv bias length ${deconvBias.length}, expected ${channels}`);
  }
  const M = new Float64Array(size * size);
  for (let o = 0; o < size; o++) {
    for (let u = 0; u < size; u++) {
      const a = convWeight[o * size + u];
      if (a === 0) continue;
      const row = u * size;
      const brow = o * size;
      for (let v = 0; v < size; v++) M[row + v] += a * deconvWeight[brow + v];
    }
  }
  const offset = new Float64Array(size);
  for (let v = 0; v < size; v++) {
    let s = deconvBias ? deconvBias[Math.floor(v / kk)] : 0;
    if (convBias) for (let o = 0; o < size; o++) s += convBias[o] * deconvWeight[o * size + v];
    offset[v] = s;
  }
  return { M, offset, size, channels };
}

export interface KeyMapError {
  /**
   * ‖M − T·diag(s)‖_F / ‖M‖_F, T the ideal block-diagonal diag(K_c⁻¹), s one least-squares scale per output
   * channel (applied to that channel's columns). In [0, 1]: 0 = M is exactly a per-channel rescaled decryption map,
   * 1 = M is orthogonal to it.
   */
  relError: number;
  /** The fitted per-output-channel scales. */
  scales: number[];
  /** Energy of M in the cross-channel (off-diagonal) blocks, M[u][v]² with ch(u) ≠ ch(v), over ‖M‖_F². */
  offDiagonalFraction: number;
}

/**
 * Compare a composed adaptation map (see composedAdaptationMap) with the ideal decryption map.
 * keyInverse: C×k²×k² row-major [c][i][j] (as inverseKey(key) returns): p_j = Σ_i c_i K⁻¹[i][j].
 */
export function keyMapError(
  M: ArrayLike<number>,
  keyInverse: ArrayLike<number>,
  channels: number,
  k: number,
): KeyMapError {
  const kk = k * k;
  const size = channels * kk;
  if (M.length !== size * size) throw new Error(`keyMapError: M has ${M.length} entries, expected ${size * size}`);
  if (keyInverse.length !== channels * kk * kk) {
    throw new Error(`keyMapError: key inverse has ${keyInverse.length} entries, expected ${channels * kk * kk}`);
  }
  let total = 0;
  let off = 0;
  for (let u = 0; u < size; u++) {
    for (let v = 0; v < size; v++) {
      const m = M[u * size + v];
      total += m * m;
      if (Math.floor(u / kk) !== Math.floor(v / kk)) off += m * m;
    }
  }
  if (total === 0) return { relError: 1, scales: new Array(channels).fill(0), offDiagonalFraction: 0 };
  const scales: number[] = [];
  let resid = 0;
  for (let ch = 0; ch < channels; ch++) {
    // columns of output channel ch; T is nonzero only in rows of channel ch there
    let mt = 0;
    let tt = 0;
    for (let i = 0; i < kk; i++) {
      for (let j = 0; j < kk; j++) {
        const t = keyInverse[(ch * kk + i) * kk + j];
        mt += M[(ch * kk + i) * size + ch * kk + j] * t;
        tt += t * t;
      }
    }
    const s = tt > 0 ? mt / tt : 0;
    scales.push(s);
    let colEnergy = 0;
    for (let u = 0; u < size; u++) {
      for (let j = 0; j < kk; j++) {
        const m = M[u * size + ch * kk + j];
        colEnergy += m * m;
      }
    }
    // least squares: residual energy = ‖cols‖² − s²‖T‖² (projection), computed directly for accuracy below
    let r = 0;
    for (let u = 0; u < size; u++) {
      const uch = Math.floor(u / kk);
      for (let j = 0; j < kk; j++) {
        const t = uch === ch ? keyInverse[(ch * kk + (u - ch * kk)) * kk + j] : 0;
        const d = M[u * size + ch * kk + j] - s * t;
        r += d * d;
      }
    }
    resid += Math.min(r, colEnergy);
  }
  return { relError: Math.sqrt(resid / total), scales, offDiagonalFraction: off / total };
}
