// The airbench family (Keller Jordan, "94% on CIFAR-10 in 3.29 seconds on a single GPU", arXiv 2404.00498):
// a frozen 2×2 patch-whitening conv (its bias trains for the first epochs), GELU, three groups
// conv-pool-BN-GELU-conv-BN-GELU, a 3×3 max pool, a bias-free linear head and logits × a small constant.
// BatchNorm keeps a frozen unit scale, eps 1e-12 and a low running-stat momentum; 3×3 convs start as identities
// (dirac) on their first in-channels filters. Names follow airbench94_muon.py's CifarNet (whiten, layers.N, head).
import { symmetricEigen } from "../core/linalg.ts";
import { fromTypedArray, nn, noGrad, stack, type Tensor, tidy } from "../torch/index.ts";
import type { Backbone } from "./common.ts";

/** An airbench network as data. */
export interface AirbenchConfig {
  /** Output channels of the three conv groups. */
  widths: readonly [number, number, number];
  /** Side of the whitening patches (its conv has 2·C·k² filters: each eigenvector and its negative). */
  whitenKernel: number;
  /** Added to every eigenvalue before the inverse square root of the whitening init. */
  whitenEps: number;
  /** airbench's BatchNorm momentum: the weight of the old running statistic (PyTorch's momentum is 1 − this). */
  bnMomentum: number;
  bnEps: number;
  /** BatchNorm scale fixed at 1 (not trained); the bias trains. */
  bnFrozenScale: boolean;
  /** Multiplier on the logits. */
  outputScale: number;
  /** The head's weights rescaled to this standard deviation after PyTorch's default init (null: keep it). */
  headStd: number | null;
}

export const AIRBENCH94: AirbenchConfig = {
  widths: [64, 256, 256],
  whitenKernel: 2,
  whitenEps: 5e-4,
  bnMomentum: 0.6,
  bnEps: 1e-12,
  bnFrozenScale: true,
  outputScale: 1 / 9,
  headStd: null,
};

/** legacy/airbench95.py's wider groups (its recipe trains 15 epochs at lr 10). */
export const AIRBENCH95: AirbenchConfig = { ...AIRBENCH94, widths: [128, 384, 384] };

/** airbench94_muon.py's head: unit-std weights and logits ÷ the feature width (the scale its Muon recipe tuned for). */
export const AIRBENCH94_MUON: AirbenchConfig = { ...AIRBENCH94, outputScale: 1 / 256, headStd: 1 };

/** Sets the first in-channels filters of a conv weight to identities (torch.nn.init.dirac_ on w[:in]). */
export function diracInit_(weight: Tensor): void {
  const [o, i, kh, kw] = weight.shape;
  const n = Math.min(o, i);
  const w = weight.toTypedArray() as Float32Array | Float64Array;
  const per = i * kh * kw;
  w.fill(0, 0, n * per);
  for (let f = 0; f < n; f++) w[f * per + f * kh * kw + (kh >> 1) * kw + (kw >> 1)] = 1;
  noGrad(() => {
    const t = fromTypedArray(w, weight.shape, { dtype: weight.dtype });
    weight.copy_(t);
    t.dispose();
  });
}

/** A 3×3 "same" conv without bias, dirac-initialised. */
function conv3(i: number, o: number): nn.Conv2d {
  const c = new nn.Conv2d(i, o, 3, { padding: 1, bias: false });
  diracInit_(c.weight);
  return c;
}

function batchNorm(c: number, cfg: AirbenchConfig): nn.BatchNorm2d {
  const bn = new nn.BatchNorm2d(c, { eps: cfg.bnEps, momentum: 1 - cfg.bnMomentum });
  if (cfg.bnFrozenScale && bn.weight) bn.weight.requiresGrad = false;
  return bn;
}

/** conv-pool-BN-GELU-conv-BN-GELU. */
export class ConvGroup extends nn.Module {
  readonly conv1: nn.Conv2d;
  readonly pool = new nn.MaxPool2d(2);
  readonly norm1: nn.BatchNorm2d;
  readonly conv2: nn.Conv2d;
  readonly norm2: nn.BatchNorm2d;
  readonly activ = new nn.GELU();

  constructor(i: number, o: number, cfg: AirbenchConfig) {
    super();
    this.conv1 = this.registerModule("conv1", conv3(i, o));
    this.registerModule("pool", this.pool);
    this.norm1 = this.registerModule("norm1", batchNorm(o, cfg));
    this.conv2 = this.registerModule("conv2", conv3(o, o));
    this.norm2 = this.registerModule("norm2", batchNorm(o, cfg));
    this.registerModule("activ", this.activ);
  }

  forward(x: Tensor): Tensor {
    return tidy(() => {
      const a = this.activ.forward(this.norm1.forward(this.pool.forward(this.conv1.forward(x))));
      return this.activ.forward(this.norm2.forward(this.conv2.forward(a)));
    });
  }
}

/**
 * The patch covariance Σ = PᵀP / n (uncentred, as airbench) of every k×k patch (stride 1) of an N×C×H×W batch,
 * in float64, C·k²×C·k² row-major in the conv weight's (channel, row, column) order. Chunks of `chunk` images keep
 * the float64 patch matrix small (5,000 CIFAR images have 4.8 million 2×2 patches).
 */
export function patchCovariance(images: Tensor, k: number, chunk = 500): Float64Array {
  const [n, c, h, w] = images.shape;
  const d = c * k * k;
  const sum = new Float64Array(d * d);
  let count = 0;
  for (let s = 0; s < n; s += chunk) {
    const part = tidy(() => {
      const x = images.narrow(0, s, Math.min(chunk, n - s)).double();
      const views: Tensor[] = [];
      for (let dy = 0; dy < k; dy++)
        for (let dx = 0; dx < k; dx++) views.push(x.narrow(2, dy, h - k + 1).narrow(3, dx, w - k + 1));
      // m×C×k²×H'×W' → (m·H'·W')×(C·k²)
      const p = stack(views, 2).permute(0, 3, 4, 1, 2).reshape([-1, d]);
      count += p.shape[0];
      return p.t().mm(p).toTypedArray() as Float64Array;
    });
    for (let i = 0; i < sum.length; i++) sum[i] += part[i];
  }
  return sum.map((v) => v / count);
}

/**
 * The whitening filters: the eigenvectors of the patch covariance (largest eigenvalue first), each divided by
 * sqrt(λ + eps), followed by their negatives (so a GELU after it loses no direction). (2·d)×d row-major, float64.
 */
export function whiteningFilters(cov: Float64Array, d: number, eps: number): Float64Array {
  const { values, vectors } = symmetricEigen(cov, d);
  const order = [...values.keys()].sort((a, b) => values[b] - values[a]);
  const out = new Float64Array(2 * d * d);
  order.forEach((e, r) => {
    const s = 1 / Math.sqrt(values[e] + eps);
    for (let j = 0; j < d; j++) {
      out[r * d + j] = vectors[j * d + e] * s;
      out[(d + r) * d + j] = -vectors[j * d + e] * s;
    }
  });
  return out;
}

export class Airbench extends nn.Module implements Backbone {
  readonly family = "airbench";
  readonly headName = "head";
  readonly numFeatures: number;
  readonly whiten: nn.Conv2d;
  readonly layers: nn.Sequential;

  constructor(
    readonly cfg: AirbenchConfig = AIRBENCH94,
    numClasses = 10,
    channels = 3,
  ) {
    super();
    const k = cfg.whitenKernel;
    const ww = 2 * channels * k * k;
    this.whiten = this.registerModule("whiten", new nn.Conv2d(channels, ww, k, { bias: true }));
    this.whiten.weight.requiresGrad = false;
    noGrad(() => this.whiten.bias!.zero_());
    const [w1, w2, w3] = cfg.widths;
    this.layers = this.registerModule(
      "layers",
      new nn.Sequential(
        new nn.GELU(),
        new ConvGroup(ww, w1, cfg),
        new ConvGroup(w1, w2, cfg),
        new ConvGroup(w2, w3, cfg),
        new nn.MaxPool2d(3),
      ),
    );
    this.numFeatures = w3;
    this.registerModule("head", this.newHead(numClasses));
  }

  private newHead(numClasses: number): nn.Linear {
    const fc = new nn.Linear(this.numFeatures, numClasses, { bias: false });
    const s = this.cfg.headStd;
    if (s !== null) noGrad(() => fc.weight.mul_(s / Math.sqrt(tidy(() => fc.weight.reshape([-1]).var(0).item()))));
    return fc;
  }

  head(): nn.Linear {
    return this.getModule("head") as nn.Linear;
  }

  resetHead(numClasses: number): nn.Linear {
    return this.replaceModule("head", this.newHead(numClasses));
  }

  /** The whitening conv from the patch covariance of `images` (the backbone's inputs, e.g. 5,000 training images). */
  initWhitening(images: Tensor, eps = this.cfg.whitenEps): void {
    const k = this.cfg.whitenKernel;
    const c = this.whiten.inChannels;
    const d = c * k * k;
    if (images.shape.length !== 4 || images.shape[1] !== c)
      throw new Error(`Airbench.initWhitening: expected N×${c}×H×W images, got ${images.shape.join("×")}`);
    const f = whiteningFilters(patchCovariance(images, k), d, eps);
    noGrad(() => {
      const t = fromTypedArray(f, [2 * d, c, k, k], { dtype: "float64" });
      this.whiten.weight.copy_(t);
      t.dispose();
    });
  }

  /** The input images' 2·C·k² whitened channels: the (frozen) whitening conv. */
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const f = this.layers.forward(this.whiten.forward(x));
      const y = this.head().forward(f.reshape([f.shape[0], -1]));
      return this.cfg.outputScale === 1 ? y : y.mul(this.cfg.outputScale);
    });
  }
}

export const airbench94 = (numClasses = 10) => new Airbench(AIRBENCH94, numClasses);
export const airbench95 = (numClasses = 10) => new Airbench(AIRBENCH95, numClasses);
export const airbench94_muon = (numClasses = 10) => new Airbench(AIRBENCH94_MUON, numClasses);
