/**
 * The convolutional form of the block cipher (study §3.1–3.2).
 *
 * Encryption of a CHW image x (C channels, H×W, block size k, n = k²) is
 *
 *     y = pixel_shuffle(conv2d(x, W_enc, stride=k, padding=0, groups=C), k)
 *
 * with torch-style OIHW weights W_enc of shape [C·n, 1, k, k]:
 *
 *     W_enc[ch·n + j][0][r][q] = K_ch[r·k + q][j]
 *
 * i.e. output channel ch·n + j of the strided conv at block position (by, bx) is c_j = Σ_i p_i·K_ch[i][j] for the
 * block p of channel ch at (by, bx). `pixel_shuffle(·, k)` (torch.nn.functional.pixel_shuffle) then moves channel
 * ch·n + (r'·k + q') at (by, bx) to pixel (by·k + r', bx·k + q') of channel ch — exactly where the block form writes
 * c_{r'·k+q'}. Decryption is the same with K⁻¹ (computed in float64, rounded to float32 for the weights).
 *
 * The pixel shuffle can itself be written as the study's `ConvTranspose2d(C·n, C, kernel=k, stride=k)` with the
 * 0/1 weights from `pixelShuffleConvTransposeWeight` — which is how the "key-folded" adaptation layer
 * (conv with K⁻¹, then that transpose conv) reproduces exact decryption at initialisation.
 *
 * mod256 keys: the weights hold the integer key (resp. modular inverse); the conv computes p·K without the
 * reduction, so apply `remainder(·, 256)` after it. Exact in float32 while k²·255² < 2^24 (k ≤ 16).
 */
import { CipherError, type ImageDims } from "./block.ts";
import { type CipherKey, inverseKey } from "./key.ts";

export interface ConvWeight {
  /** OIHW float32. */
  weight: Float32Array;
  /** [out channels, in channels / groups, kH, kW]. */
  shape: [number, number, number, number];
  groups: number;
}

function convWeightFrom(mats: Float64Array, channels: number, k: number, dense: boolean): ConvWeight {
  const n = k * k;
  const inPer = dense ? channels : 1;
  const weight = new Float32Array(channels * n * inPer * n);
  for (let ch = 0; ch < channels; ch++) {
    for (let j = 0; j < n; j++) {
      const o = ch * n + j;
      const inIdx = dense ? ch : 0;
      for (let i = 0; i < n; i++) weight[(o * inPer + inIdx) * n + i] = mats[(ch * n + i) * n + j];
    }
  }
  return { weight, shape: [channels * n, inPer, k, k], groups: dense ? 1 : channels };
}

/**
 * Conv2d weights (OIHW, stride k, no padding) computing the encryption; grouped by channel (groups = C, shape
 * [C·k², 1, k, k]) or, with `{ dense: true }`, as an ungrouped [C·k², C, k, k] weight with zeros across channels
 * (the study's `Conv2d(3, 3k², k, stride=k)` shape). Follow with pixel_shuffle(k).
 */
export function encryptionConvWeight(key: CipherKey, opts: { dense?: boolean } = {}): ConvWeight {
  return convWeightFrom(key.values, key.channels, key.blockSize, opts.dense ?? false);
}

/** As encryptionConvWeight, with K⁻¹ (float64 inverse, or the modular inverse for mod256 keys). */
export function decryptionConvWeight(key: CipherKey, opts: { dense?: boolean } = {}): ConvWeight {
  return convWeightFrom(inverseKey(key), key.channels, key.blockSize, opts.dense ?? false);
}

/**
 * ConvTranspose2d weights (torch layout [in, out/groups, kH, kW] = [C·k², C, k, k], groups 1, stride k) equal to
 * pixel_shuffle(k): W[ch·n + j][ch][j / k][j % k] = 1, all else 0.
 */
export function pixelShuffleConvTransposeWeight(channels: number, k: number): ConvWeight {
  const n = k * k;
  const weight = new Float32Array(channels * n * channels * n);
  for (let ch = 0; ch < channels; ch++) {
    for (let j = 0; j < n; j++) weight[((ch * n + j) * channels + ch) * n + j] = 1;
  }
  return { weight, shape: [channels * n, channels, k, k], groups: 1 };
}

/**
 * Reference (slow, plain) conv2d with stride = kernel size, no padding, no bias, NCHW float32 — for tests and
 * small checks. Returns NCHW output [n, O, H/k, W/k].
 */
export function conv2dStridedReference(x: Float32Array, dims: ImageDims, w: ConvWeight): Float32Array {
  if (dims.layout !== "CHW") throw new CipherError("conv2dStridedReference: CHW layout only");
  const N = dims.n ?? 1;
  const [O, IperG, kh, kw] = w.shape;
  if (kh !== kw) throw new CipherError("conv2dStridedReference: square kernels only");
  const k = kh;
  if (dims.c !== IperG * w.groups) throw new CipherError("conv2dStridedReference: channel mismatch");
  const oh = Math.floor(dims.h / k);
  const ow = Math.floor(dims.w / k);
  const OperG = O / w.groups;
  const out = new Float32Array(N * O * oh * ow);
  for (let b = 0; b < N; b++) {
    for (let o = 0; o < O; o++) {
      const grp = Math.floor(o / OperG);
      for (let y = 0; y < oh; y++) {
        for (let bx = 0; bx < ow; bx++) {
          let s = 0;
          for (let ci = 0; ci < IperG; ci++) {
            const c = grp * IperG + ci;
            for (let r = 0; r < k; r++) {
              for (let q = 0; q < k; q++) {
                s +=
                  x[((b * dims.c + c) * dims.h + y * k + r) * dims.w + bx * k + q] *
                  w.weight[((o * IperG + ci) * k + r) * k + q];
              }
            }
          }
          out[((b * O + o) * oh + y) * ow + bx] = s;
        }
      }
    }
  }
  return out;
}

/**
 * torch.nn.functional.pixel_shuffle for NCHW float32: [n, C·r², h, w] → [n, C, h·r, w·r],
 * out[c][y·r + i][x·r + j] = in[c·r² + i·r + j][y][x].
 */
export function pixelShuffle(x: Float32Array, n: number, cIn: number, h: number, w: number, r: number): Float32Array {
  if (cIn % (r * r) !== 0) throw new CipherError("pixelShuffle: channels must be divisible by r²");
  const c = cIn / (r * r);
  const out = new Float32Array(x.length);
  const H = h * r;
  const W = w * r;
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      for (let i = 0; i < r; i++) {
        for (let j = 0; j < r; j++) {
          const src = (b * cIn + ch * r * r + i * r + j) * h * w;
          for (let y = 0; y < h; y++) {
            for (let xx = 0; xx < w; xx++) out[((b * c + ch) * H + y * r + i) * W + xx * r + j] = x[src + y * w + xx];
          }
        }
      }
    }
  }
  return out;
}
