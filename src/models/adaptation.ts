// The adaptation network of ERCNN: Conv2d(C → C·k², kernel k, stride k) then ConvTranspose2d(C·k² → C, kernel k,
// stride k), no activation, in front of the backbone (children `conv`, `deconv`).
//
// Variants:
// - "aligned" (ercnn's default): padding 0, windows coincide with the cipher's k×k blocks, so the pair can represent
//   the exact inverse of the key (see keyFolded).
// - "seed": the study's code, Conv2d padding=1: every window starts one pixel up and left of a cipher block
//   (row/col −1 .. k−2), so it straddles four blocks and cannot express K⁻¹. Kept to reproduce the study's numbers.
//   The deconv output, ((⌊(H+2−k)/k⌋+1)·k), is cropped (or zero-padded) to H×W when it differs (k ≤ 2).
// - "none": identity (no parameters).
//
// Normalisation convention (the whole of ercnn): the data loader normalises ciphertexts per channel with the
// dataset's mean/std (ImageNet's by default): c_n = (c − mean_ch)/std_ch. The adaptation sees c_n. A key-folded
// adaptation outputs the normalised plaintext p_n = (p − mean_ch)/std_ch, i.e. exactly what the backbone would see
// for a plaintext image. Derivation, per channel and block, with p = c·K⁻¹ (row vectors of length k²):
//   p_n = (std·c_n + mean·1)K⁻¹/std − mean/std·1 = c_n·K⁻¹ + (mean/std)(1ᵀK⁻¹ − 1ᵀ)
// so the conv holds K⁻¹ (weight[ch·k²+j][ch][r][s] = K⁻¹[ch][r·k+s][j]) and the bias
// b[ch·k²+j] = (mean_ch/std_ch)(Σ_i K⁻¹[ch][i][j] − 1); the deconv is the fixed unflatten (depth-to-space)
// weight[ch·k²+j][ch][r][s] = [j = r·k+s], bias 0. Without normalisation the bias is 0.
import { F, fromTypedArray, nn, noGrad, type Tensor } from "../torch/index.ts";

export type AdaptKind = "aligned" | "seed" | "none";
export const ADAPT_KINDS: readonly AdaptKind[] = ["aligned", "seed", "none"];

/** What keyFolded needs of a cipher key (structurally a CipherKey from src/cipher). */
export interface KeyLike {
  blockSize: number;
  channels: number;
  /** C×k²×k², row-major [c][i][j], encryption c_j = Σ_i p_i K[i][j]. */
  values: Float64Array;
  mode?: string;
  fingerprint?: string;
}

/** Per-channel normalisation applied by the data loader (on the [0,1] or 0–255 scale of the pixels). */
export interface Normalization {
  mean: readonly number[];
  std: readonly number[];
}
export const IMAGENET_NORMALIZATION: Normalization = { mean: [0.485, 0.456, 0.406], std: [0.229, 0.224, 0.225] };

export class Adaptation extends nn.Module {
  conv: nn.Conv2d | null = null;
  deconv: nn.ConvTranspose2d | null = null;

  constructor(
    readonly kind: AdaptKind,
    readonly blockSize: number,
    readonly channels = 3,
  ) {
    super();
    if (!ADAPT_KINDS.includes(kind))
      throw new Error(`unknown adaptation '${kind}' (expected ${ADAPT_KINDS.join(", ")})`);
    if (kind === "none") return;
    if (!Number.isInteger(blockSize) || blockSize < 1) throw new Error(`adaptation: bad block size ${blockSize}`);
    const k = blockSize;
    const c = channels;
    this.conv = this.registerModule(
      "conv",
      new nn.Conv2d(c, c * k * k, k, { stride: k, padding: kind === "seed" ? 1 : 0 }),
    );
    this.deconv = this.registerModule("deconv", new nn.ConvTranspose2d(c * k * k, c, k, { stride: k }));
  }

  /**
   * An aligned adaptation whose weights invert `key` exactly (see the module doc), for ciphertexts normalised with
   * `normalization` (default ImageNet's; pass null for un-normalised ciphertexts). The provider who holds the key
   * gets exact decryption: the upper bound of every experiment.
   */
  static keyFolded(key: KeyLike, normalization: Normalization | null = IMAGENET_NORMALIZATION): Adaptation {
    const a = new Adaptation("aligned", key.blockSize, key.channels);
    a.setFromKey(key, normalization);
    return a;
  }

  /** Overwrites the weights with the key-folded inverse (aligned only). */
  setFromKey(key: KeyLike, normalization: Normalization | null = IMAGENET_NORMALIZATION): void {
    if (this.kind !== "aligned" || !this.conv || !this.deconv)
      throw new Error(`keyFolded needs the aligned adaptation (got '${this.kind}'): only it can express K⁻¹`);
    if (key.mode === "mod256") throw new Error("keyFolded: mod256 keys are not linear over the reals");
    if (key.blockSize !== this.blockSize || key.channels !== this.channels)
      throw new Error(
        `keyFolded: key is k=${key.blockSize}, C=${key.channels}; adaptation is k=${this.blockSize}, C=${this.channels}`,
      );
    const w = keyFoldedWeights(key, normalization);
    this.loadLinear(w.convWeight, w.convBias, w.deconvWeight);
  }

  /** Copies conv weight/bias and deconv weight in (layouts [C·k²][C][k][k]); the deconv bias becomes 0. */
  private loadLinear(convWeight: Float32Array, convBias: Float32Array, deconvWeight: Float32Array): void {
    const d = this.channels * this.blockSize * this.blockSize;
    const shape: [number, number, number, number] = [d, this.channels, this.blockSize, this.blockSize];
    noGrad(() => {
      const cw = fromTypedArray(convWeight, shape);
      const cb = fromTypedArray(convBias, [d]);
      const dw = fromTypedArray(deconvWeight, shape);
      this.conv!.weight.copy_(cw);
      this.conv!.bias!.copy_(cb);
      this.deconv!.weight.copy_(dw);
      this.deconv!.bias!.zero_();
      for (const t of [cw, cb, dw]) t.dispose();
    });
  }

  /**
   * Sets the conv to a whitening of the cipher blocks, z = W·x + b (W: C·k²×C·k² in the conv's input order
   * u = ch·k² + r·k + s, see whiten.ts) and the deconv to the plain unflatten, so the output is the whitened block laid
   * back onto its pixels (aligned only). Key-free: W and b come from ciphertext statistics.
   */
  setWhitening(weight: ArrayLike<number>, bias: ArrayLike<number>): void {
    if (this.kind !== "aligned" || !this.conv || !this.deconv)
      throw new Error(`whitening init needs the aligned adaptation (got '${this.kind}')`);
    const d = this.channels * this.blockSize * this.blockSize;
    if (weight.length !== d * d || bias.length !== d)
      throw new Error(`setWhitening: expected a ${d}×${d} weight and ${d} biases`);
    this.loadLinear(Float32Array.from(weight), Float32Array.from(bias), unflattenWeight(this.channels, this.blockSize));
  }

  forward(x: Tensor): Tensor {
    if (!this.conv || !this.deconv) return x;
    const z = this.conv.forward(x);
    const y = this.deconv.forward(z);
    z.dispose();
    const [H, W] = [x.shape[2], x.shape[3]];
    const [h, w] = [y.shape[2], y.shape[3]];
    if (h === H && w === W) return y;
    // seed variant with k ≤ 2: crop (or zero-pad) to the input size
    const fixed = F.pad(y, [0, W - w, 0, H - h]);
    y.dispose();
    return fixed;
  }
}

/** Float32 conv/deconv weights of the key-folded adaptation (computed in float64). */
export function keyFoldedWeights(
  key: KeyLike,
  normalization: Normalization | null = IMAGENET_NORMALIZATION,
): {
  convWeight: Float32Array;
  convShape: [number, number, number, number];
  convBias: Float32Array;
  deconvWeight: Float32Array;
  deconvShape: [number, number, number, number];
} {
  const k = key.blockSize;
  const C = key.channels;
  const n = k * k;
  const inv = invertKey(key);
  const convWeight = new Float32Array(C * n * C * n);
  const convBias = new Float32Array(C * n);
  for (let ch = 0; ch < C; ch++) {
    const m = normalization ? (normalization.mean[ch] ?? normalization.mean[0]) : 0;
    const s = normalization ? (normalization.std[ch] ?? normalization.std[0]) : 1;
    for (let j = 0; j < n; j++) {
      const o = ch * n + j;
      let colSum = 0;
      for (let i = 0; i < n; i++) {
        const v = inv[ch * n * n + i * n + j];
        colSum += v;
        // conv weight [o][ch][r][s] with i = r·k + s; layout [C·n][C][k][k]
        convWeight[(o * C + ch) * n + i] = v;
      }
      convBias[o] = m === 0 ? 0 : (m / s) * (colSum - 1);
    }
  }
  const deconvWeight = unflattenWeight(C, k);
  return {
    convWeight,
    convShape: [C * n, C, k, k],
    convBias,
    deconvWeight,
    deconvShape: [C * n, C, k, k],
  };
}

/** The deconv weight that lays block vector entry o = ch·k² + r·k + s back on pixel (ch, r, s): [C·k²][C][k][k]. */
export function unflattenWeight(C: number, k: number): Float32Array {
  const n = k * k;
  const w = new Float32Array(C * n * C * n);
  for (let ch = 0; ch < C; ch++) for (let j = 0; j < n; j++) w[((ch * n + j) * C + ch) * n + j] = 1;
  return w;
}

/** K⁻¹ per channel in float64 (Gauss–Jordan with partial pivoting and one refinement step). */
export function invertKey(key: KeyLike): Float64Array {
  const n = key.blockSize * key.blockSize;
  const out = new Float64Array(key.channels * n * n);
  for (let c = 0; c < key.channels; c++) {
    const a = key.values.subarray(c * n * n, (c + 1) * n * n);
    out.set(refine(a, invert(a, n), n), c * n * n);
  }
  return out;
}

function invert(a0: ArrayLike<number>, n: number): Float64Array {
  const a = Float64Array.from(a0);
  const b = new Float64Array(n * n);
  for (let i = 0; i < n; i++) b[i * n + i] = 1;
  for (let col = 0; col < n; col++) {
    let p = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r * n + col]) > Math.abs(a[p * n + col])) p = r;
    if (a[p * n + col] === 0) throw new Error("keyFolded: key matrix is singular");
    if (p !== col)
      for (let j = 0; j < n; j++) {
        [a[p * n + j], a[col * n + j]] = [a[col * n + j], a[p * n + j]];
        [b[p * n + j], b[col * n + j]] = [b[col * n + j], b[p * n + j]];
      }
    const d = a[col * n + col];
    for (let j = 0; j < n; j++) {
      a[col * n + j] /= d;
      b[col * n + j] /= d;
    }
    for (let r = 0; r < n; r++) {
      if (r === col) continue;
      const f = a[r * n + col];
      if (f === 0) continue;
      for (let j = 0; j < n; j++) {
        a[r * n + j] -= f * a[col * n + j];
        b[r * n + j] -= f * b[col * n + j];
      }
    }
  }
  return b;
}

// X ← X + X(I − AX): one Newton–Schulz step.
function refine(a: ArrayLike<number>, x: Float64Array, n: number): Float64Array {
  const r = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < n; t++) s += a[i * n + t] * x[t * n + j];
      r[i * n + j] = (i === j ? 1 : 0) - s;
    }
  const out = Float64Array.from(x);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) {
      let s = 0;
      for (let t = 0; t < n; t++) s += x[i * n + t] * r[t * n + j];
      out[i * n + j] += s;
    }
  return out;
}
