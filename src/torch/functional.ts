// torch.nn.functional: names and argument order as in PyTorch.
import { bernoulli, empty } from "./creation.ts";
import { aten, type Tensor } from "./tensor.ts";

type IntOr2 = number | [number, number];

const O = {
  conv2d: aten("aten::conv2d"),
  convTranspose2d: aten("aten::conv_transpose2d", "input"),
  linear: aten("aten::linear"),
  batchNorm: aten("aten::batch_norm"),
  layerNorm: aten("aten::layer_norm"),
  relu: aten("aten::relu"),
  relu_: aten("aten::relu_"),
  gelu: aten("aten::gelu"),
  silu: aten("aten::silu"),
  sigmoid: aten("aten::sigmoid"),
  tanh: aten("aten::tanh"),
  maxPool2d: aten("aten::max_pool2d"),
  avgPool2d: aten("aten::avg_pool2d"),
  adaptiveAvgPool2d: aten("aten::adaptive_avg_pool2d"),
  dropout: aten("aten::dropout"),
  crossEntropy: aten("aten::cross_entropy_loss"),
  nllLoss: aten("aten::nll_loss_nd"),
  mseLoss: aten("aten::mse_loss"),
  softmax: aten("aten::softmax", "int"),
  logSoftmax: aten("aten::log_softmax", "int"),
  pixelShuffle: aten("aten::pixel_shuffle"),
  pixelUnshuffle: aten("aten::pixel_unshuffle"),
  pad: aten("aten::constant_pad_nd"),
  interpolateBilinear: aten("aten::upsample_bilinear2d", "vec"),
};

const REDUCTION = { none: 0, mean: 1, sum: 2 } as const;
export type Reduction = keyof typeof REDUCTION;

export function conv2d(
  input: Tensor,
  weight: Tensor,
  bias: Tensor | null = null,
  stride: IntOr2 = 1,
  padding: IntOr2 = 0,
  dilation: IntOr2 = 1,
  groups = 1,
): Tensor {
  return O.conv2d(input, weight, bias, stride, padding, dilation, groups);
}

export function convTranspose2d(
  input: Tensor,
  weight: Tensor,
  bias: Tensor | null = null,
  stride: IntOr2 = 1,
  padding: IntOr2 = 0,
  outputPadding: IntOr2 = 0,
  groups = 1,
  dilation: IntOr2 = 1,
): Tensor {
  return O.convTranspose2d(input, weight, bias, stride, padding, outputPadding, groups, dilation);
}

export function linear(input: Tensor, weight: Tensor, bias: Tensor | null = null): Tensor {
  return O.linear(input, weight, bias);
}

/** Batch norm; in training mode updates runningMean/runningVar in place (momentum as in PyTorch). */
export function batchNorm(
  input: Tensor,
  runningMean: Tensor | null,
  runningVar: Tensor | null,
  weight: Tensor | null = null,
  bias: Tensor | null = null,
  training = false,
  momentum = 0.1,
  eps = 1e-5,
): Tensor {
  return O.batchNorm(input, weight, bias, runningMean, runningVar, training, momentum, eps, true);
}

export function layerNorm(
  input: Tensor,
  normalizedShape: number[],
  weight: Tensor | null = null,
  bias: Tensor | null = null,
  eps = 1e-5,
): Tensor {
  return O.layerNorm(input, normalizedShape, weight, bias, eps, true);
}

export function relu(x: Tensor, inplace = false): Tensor {
  return inplace ? O.relu_(x) : O.relu(x);
}
export function gelu(x: Tensor, approximate: "none" | "tanh" = "none"): Tensor {
  return O.gelu(x, approximate);
}
export function silu(x: Tensor): Tensor {
  return O.silu(x);
}
export function sigmoid(x: Tensor): Tensor {
  return O.sigmoid(x);
}
export function tanh(x: Tensor): Tensor {
  return O.tanh(x);
}

export function maxPool2d(
  x: Tensor,
  kernelSize: IntOr2,
  stride: IntOr2 | null = null,
  padding: IntOr2 = 0,
  dilation: IntOr2 = 1,
  ceilMode = false,
): Tensor {
  return O.maxPool2d(x, kernelSize, stride ?? kernelSize, padding, dilation, ceilMode);
}

export function avgPool2d(
  x: Tensor,
  kernelSize: IntOr2,
  stride: IntOr2 | null = null,
  padding: IntOr2 = 0,
  ceilMode = false,
  countIncludePad = true,
): Tensor {
  return O.avgPool2d(x, kernelSize, stride ?? kernelSize, padding, ceilMode, countIncludePad, null);
}

export function adaptiveAvgPool2d(x: Tensor, outputSize: IntOr2): Tensor {
  return O.adaptiveAvgPool2d(x, outputSize);
}

export function dropout(x: Tensor, p = 0.5, training = true): Tensor {
  return O.dropout(x, p, training);
}

/**
 * Stochastic depth (torchvision.ops.stochastic_depth, mode "row"): zeroes whole samples with
 * probability p and rescales the survivors by 1/(1-p). Identity when not training or p = 0.
 */
export function dropPath(x: Tensor, p: number, training: boolean): Tensor {
  if (!training || p === 0) return x.clone();
  const keep = 1 - p;
  const shape = [x.shape[0], ...Array(x.ndim - 1).fill(1)];
  const e = empty(shape, { dtype: x.dtype, device: x.device });
  const mask = bernoulli(e, keep);
  e.dispose();
  if (keep > 0) mask.div_(keep);
  const out = x.mul(mask);
  mask.dispose();
  return out;
}

export interface CrossEntropyOptions {
  weight?: Tensor | null;
  reduction?: Reduction;
  ignoreIndex?: number;
  labelSmoothing?: number;
}

/** Cross entropy over logits [N, C] (or [N, C, ...]) and int64 class targets, with label smoothing. */
export function crossEntropy(input: Tensor, target: Tensor, o: CrossEntropyOptions = {}): Tensor {
  return O.crossEntropy(
    input,
    target,
    o.weight ?? null,
    REDUCTION[o.reduction ?? "mean"],
    o.ignoreIndex ?? -100,
    o.labelSmoothing ?? 0,
  );
}

export function mseLoss(input: Tensor, target: Tensor, reduction: Reduction = "mean"): Tensor {
  return O.mseLoss(input, target, REDUCTION[reduction]);
}

export function softmax(x: Tensor, dim: number): Tensor {
  return O.softmax(x, dim);
}
export function logSoftmax(x: Tensor, dim: number): Tensor {
  return O.logSoftmax(x, dim);
}

/** [N, C·r², H, W] -> [N, C, H·r, W·r] */
export function pixelShuffle(x: Tensor, upscaleFactor: number): Tensor {
  return O.pixelShuffle(x, upscaleFactor);
}
/** [N, C, H·r, W·r] -> [N, C·r², H, W] */
export function pixelUnshuffle(x: Tensor, downscaleFactor: number): Tensor {
  return O.pixelUnshuffle(x, downscaleFactor);
}

/** Constant padding; pad lists (left, right, top, bottom, ...) from the last dim backwards, as F.pad. */
export function pad(x: Tensor, padding: number[], value = 0): Tensor {
  return O.pad(x, padding, value);
}

/** Bilinear resize of NCHW to [h, w] (F.interpolate(mode="bilinear")). */
export function interpolate(x: Tensor, size: [number, number], alignCorners = false): Tensor {
  return O.interpolateBilinear(x, size, alignCorners, null);
}
