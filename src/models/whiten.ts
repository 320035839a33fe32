// Key-free whitening of cipher blocks: an initialisation of the aligned adaptation that the provider can compute
// from ciphertexts alone.
//
// Why: every ciphertext block is c = p·K. Natural-image blocks p are dominated by their mean (the "DC" direction)
// with rapidly shrinking variance along finer detail; a random key K spreads that DC component over all k² outputs,
// so every ciphertext coordinate is mostly the same signal and the detail survives only as small differences between
// coordinates. The covariance Σ_c = Kᵀ Σ_p K is as ill-conditioned as the plaintext's but with no spatial layout the
// backbone's 3×3 convolutions could exploit, and gradient descent on the adaptation layer crawls along the small
// directions. Whitening the C·k²-vector of each block (ZCA: z = (c − μ)·Σ_c^{-1/2}) needs only the ciphertexts' mean
// and covariance, and leaves z = p̃·Q with p̃ the whitened plaintext block and Q orthogonal (Q = Σ_p^{1/2} K Σ_c^{-1/2}):
// every direction of the plaintext equally loud, and the rest a rotation. It reveals nothing the ciphertexts do not
// (it is a fixed function of their statistics), and the adaptation stays trainable afterwards.
//
// Block vectors use the conv's input order u = ch·k² + r·k + s (channel, row, column within the block).
import { symmetricEigen, symmetricFunction } from "../core/linalg.ts";
import { type Tensor, tidy } from "../torch/index.ts";

export class BlockStats {
  readonly dim: number;
  count = 0;
  private readonly sum: Float64Array;
  private readonly outer: Float64Array;

  constructor(
    readonly channels: number,
    readonly blockSize: number,
  ) {
    this.dim = channels * blockSize * blockSize;
    this.sum = new Float64Array(this.dim);
    this.outer = new Float64Array(this.dim * this.dim);
  }

  /** Adds every aligned block of an N×C×H×W batch (H, W multiples of the block size). */
  add(x: Tensor): void {
    const [n, c, h, w] = x.shape;
    const k = this.blockSize;
    if (c !== this.channels || h % k || w % k)
      throw new Error(`BlockStats: batch ${x.shape.join("×")} does not tile into ${this.channels}×${k}×${k} blocks`);
    const [s, o] = tidy(() => {
      const v = x
        .double()
        .reshape([n, c, h / k, k, w / k, k])
        .permute(0, 2, 4, 1, 3, 5)
        .reshape([-1, this.dim]);
      return [v.sum([0]).toTypedArray() as Float64Array, v.t().mm(v).toTypedArray() as Float64Array];
    });
    for (let i = 0; i < this.dim; i++) this.sum[i] += s[i];
    for (let i = 0; i < o.length; i++) this.outer[i] += o[i];
    this.count += (n * h * w) / (k * k);
  }

  mean(): Float64Array {
    return this.sum.map((v) => v / this.count);
  }

  /** Population covariance, dim×dim row-major. */
  covariance(): Float64Array {
    if (this.count < 2) throw new Error("BlockStats: need at least two blocks");
    const m = this.mean();
    const d = this.dim;
    const cov = new Float64Array(d * d);
    for (let i = 0; i < d; i++)
      for (let j = 0; j < d; j++) cov[i * d + j] = this.outer[i * d + j] / this.count - m[i] * m[j];
    return cov;
  }
}

/**
 * ZCA whitening z = W(x − μ) with W = V(Λ + ε)^{-1/2}Vᵀ, ε = eps × the mean eigenvalue (keeps near-empty directions,
 * e.g. JPEG-quantised detail, from being blown up to unit variance). Returns W (dim×dim, row-major, symmetric) and
 * the bias −Wμ, in float64.
 */
export function zcaWhitening(stats: BlockStats, eps = 1e-3): { weight: Float64Array; bias: Float64Array } {
  const d = stats.dim;
  const eig = symmetricEigen(stats.covariance(), d);
  const floor = (eps * eig.values.reduce((a, b) => a + Math.max(b, 0), 0)) / d;
  const weight = symmetricFunction(eig, d, (l) => 1 / Math.sqrt(Math.max(l, 0) + floor));
  const mu = stats.mean();
  const bias = new Float64Array(d);
  for (let i = 0; i < d; i++) {
    let t = 0;
    for (let j = 0; j < d; j++) t += weight[i * d + j] * mu[j];
    bias[i] = -t;
  }
  return { weight, bias };
}
