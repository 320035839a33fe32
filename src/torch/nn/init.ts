// torch.nn.init: in-place initialisers with PyTorch's formulas (they use libtorch's global generator).
import { noGrad } from "../autograd.ts";
import { aten, type Tensor } from "../tensor.ts";

const I = {
  uniform_: aten("aten::uniform_"),
  normal_: aten("aten::normal_"),
  erfinv_: aten("aten::erfinv_"),
};

function inplace(t: Tensor, fn: () => Tensor): Tensor {
  noGrad(() => fn().dispose());
  return t;
}

/** fan_in and fan_out as torch.nn.init._calculate_fan_in_and_fan_out. */
export function fans(t: Tensor): { fanIn: number; fanOut: number } {
  const s = t.shape;
  if (s.length < 2) throw new Error(`fan in/out needs at least 2 dims, got shape [${s}]`);
  const receptive = s.slice(2).reduce((a, b) => a * b, 1);
  return { fanIn: s[1] * receptive, fanOut: s[0] * receptive };
}

export type Nonlinearity = "linear" | "conv2d" | "sigmoid" | "tanh" | "relu" | "leaky_relu";

export function calculateGain(nonlinearity: Nonlinearity, param?: number): number {
  switch (nonlinearity) {
    case "tanh":
      return 5 / 3;
    case "relu":
      return Math.SQRT2;
    case "leaky_relu": {
      const a = param ?? 0.01;
      return Math.sqrt(2 / (1 + a * a));
    }
    default:
      return 1;
  }
}

export function uniform_(t: Tensor, a = 0, b = 1): Tensor {
  return inplace(t, () => I.uniform_(t, a, b));
}
export function normal_(t: Tensor, mean = 0, std = 1): Tensor {
  return inplace(t, () => I.normal_(t, mean, std));
}
export function constant_(t: Tensor, v: number): Tensor {
  noGrad(() => t.fill_(v));
  return t;
}
export function zeros_(t: Tensor): Tensor {
  return constant_(t, 0);
}
export function ones_(t: Tensor): Tensor {
  return constant_(t, 1);
}

export interface KaimingOptions {
  a?: number;
  mode?: "fan_in" | "fan_out";
  nonlinearity?: Nonlinearity;
}

/** kaiming_uniform_ (defaults a=0, fan_in, leaky_relu, as PyTorch). */
export function kaimingUniform_(t: Tensor, o: KaimingOptions = {}): Tensor {
  const f = fans(t);
  const fan = o.mode === "fan_out" ? f.fanOut : f.fanIn;
  const bound = Math.sqrt(3) * (calculateGain(o.nonlinearity ?? "leaky_relu", o.a ?? 0) / Math.sqrt(fan));
  return uniform_(t, -bound, bound);
}

/** kaiming_normal_ (defaults a=0, fan_in, leaky_relu, as PyTorch). */
export function kaimingNormal_(t: Tensor, o: KaimingOptions = {}): Tensor {
  const f = fans(t);
  const fan = o.mode === "fan_out" ? f.fanOut : f.fanIn;
  return normal_(t, 0, calculateGain(o.nonlinearity ?? "leaky_relu", o.a ?? 0) / Math.sqrt(fan));
}

/** trunc_normal_: normal(mean, std) truncated to [a, b], by the inverse-CDF method PyTorch uses. */
export function truncNormal_(t: Tensor, mean = 0, std = 1, a = -2, b = 2): Tensor {
  const cdf = (x: number) => (1 + erf(x / Math.SQRT2)) / 2;
  const l = cdf((a - mean) / std);
  const u = cdf((b - mean) / std);
  noGrad(() => {
    I.uniform_(t, 2 * l - 1, 2 * u - 1).dispose();
    I.erfinv_(t).dispose();
    t.mul_(std * Math.SQRT2)
      .add_(mean)
      .clamp_(a, b);
  });
  return t;
}

/** Default init of Conv/Linear weights and biases in PyTorch (kaiming_uniform a=√5; bias U(±1/√fan_in)). */
export function pytorchDefault_(weight: Tensor, bias: Tensor | null): void {
  kaimingUniform_(weight, { a: Math.sqrt(5) });
  if (bias) {
    const { fanIn } = fans(weight);
    const bound = fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
    uniform_(bias, -bound, bound);
  }
}

// Abramowitz-Stegun 7.1.26 is too coarse for the truncation bounds; use a series/continued fraction.
function erf(x: number): number {
  const s = Math.sign(x);
  x = Math.abs(x);
  if (x < 2.5) {
    // Maclaurin series
    let sum = x;
    let term = x;
    for (let n = 1; n < 60; n++) {
      term *= (-x * x) / n;
      sum += term / (2 * n + 1);
    }
    return (s * 2 * sum) / Math.sqrt(Math.PI);
  }
  // continued fraction for erfc
  let f = 0;
  for (let n = 60; n >= 1; n--) f = n / 2 / (x + f);
  return s * (1 - Math.exp(-x * x) / Math.sqrt(Math.PI) / (x + f));
}
