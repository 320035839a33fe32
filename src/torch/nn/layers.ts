// The basic layers: names, defaults and state-dict keys as in torch.nn.

import { noGrad } from "../autograd.ts";
import { empty, ones, zeros } from "../creation.ts";
import * as F from "../functional.ts";
import type { Tensor } from "../tensor.ts";
import { ones_, pytorchDefault_, zeros_ } from "./init.ts";
import { Module } from "./module.ts";

type IntOr2 = number | [number, number];
const pair = (v: IntOr2): [number, number] => (typeof v === "number" ? [v, v] : v);

export interface Conv2dOptions {
  stride?: IntOr2;
  padding?: IntOr2;
  dilation?: IntOr2;
  groups?: number;
  bias?: boolean;
}

export class Conv2d extends Module {
  weight: Tensor;
  bias: Tensor | null;
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: IntOr2,
    o: Conv2dOptions = {},
  ) {
    super();
    const [kh, kw] = pair(kernelSize);
    this.stride = pair(o.stride ?? 1);
    this.padding = pair(o.padding ?? 0);
    this.dilation = pair(o.dilation ?? 1);
    this.groups = o.groups ?? 1;
    if (inChannels % this.groups || outChannels % this.groups)
      throw new Error(`Conv2d: channels ${inChannels}->${outChannels} not divisible by groups ${this.groups}`);
    this.weight = this.registerParameter("weight", empty([outChannels, inChannels / this.groups, kh, kw]));
    this.bias = this.registerParameter("bias", o.bias === false ? null : empty([outChannels]));
    pytorchDefault_(this.weight, this.bias);
  }

  forward(x: Tensor): Tensor {
    return F.conv2d(x, this.weight, this.bias, this.stride, this.padding, this.dilation, this.groups);
  }
}

export interface ConvTranspose2dOptions extends Conv2dOptions {
  outputPadding?: IntOr2;
}

export class ConvTranspose2d extends Module {
  weight: Tensor;
  bias: Tensor | null;
  readonly stride: [number, number];
  readonly padding: [number, number];
  readonly outputPadding: [number, number];
  readonly dilation: [number, number];
  readonly groups: number;

  constructor(
    readonly inChannels: number,
    readonly outChannels: number,
    kernelSize: IntOr2,
    o: ConvTranspose2dOptions = {},
  ) {
    super();
    const [kh, kw] = pair(kernelSize);
    this.stride = pair(o.stride ?? 1);
    this.padding = pair(o.padding ?? 0);
    this.outputPadding = pair(o.outputPadding ?? 0);
    this.dilation = pair(o.dilation ?? 1);
    this.groups = o.groups ?? 1;
    // PyTorch's layout: [in, out/groups, kh, kw]; its default init computes fan_in from dim 1.
    this.weight = this.registerParameter("weight", empty([inChannels, outChannels / this.groups, kh, kw]));
    this.bias = this.registerParameter("bias", o.bias === false ? null : empty([outChannels]));
    pytorchDefault_(this.weight, this.bias);
  }

  forward(x: Tensor): Tensor {
    return F.convTranspose2d(
      x,
      this.weight,
      this.bias,
      this.stride,
      this.padding,
      this.outputPadding,
      this.groups,
      this.dilation,
    );
  }
}

export class Linear extends Module {
  weight: Tensor;
  bias: Tensor | null;
  constructor(
    readonly inFeatures: number,
    readonly outFeatures: number,
    o: { bias?: boolean } = {},
  ) {
    super();
    this.weight = this.registerParameter("weight", empty([outFeatures, inFeatures]));
    this.bias = this.registerParameter("bias", o.bias === false ? null : empty([outFeatures]));
    pytorchDefault_(this.weight, this.bias);
  }
  forward(x: Tensor): Tensor {
    return F.linear(x, this.weight, this.bias);
  }
}

export interface BatchNormOptions {
  eps?: number;
  momentum?: number;
  affine?: boolean;
  trackRunningStats?: boolean;
}

export class BatchNorm2d extends Module {
  weight: Tensor | null;
  bias: Tensor | null;
  runningMean: Tensor | null;
  runningVar: Tensor | null;
  numBatchesTracked: Tensor | null;
  readonly eps: number;
  readonly momentum: number;

  constructor(
    readonly numFeatures: number,
    o: BatchNormOptions = {},
  ) {
    super();
    this.eps = o.eps ?? 1e-5;
    this.momentum = o.momentum ?? 0.1;
    const affine = o.affine ?? true;
    this.weight = this.registerParameter("weight", affine ? ones([numFeatures]) : null);
    this.bias = this.registerParameter("bias", affine ? zeros([numFeatures]) : null);
    const track = o.trackRunningStats ?? true;
    this.runningMean = this.registerBuffer("running_mean", track ? zeros([numFeatures]) : null);
    this.runningVar = this.registerBuffer("running_var", track ? ones([numFeatures]) : null);
    this.numBatchesTracked = this.registerBuffer("num_batches_tracked", track ? zeros([], { dtype: "int64" }) : null);
  }

  forward(x: Tensor): Tensor {
    const useBatch = this.training || !this.runningMean;
    if (this.training && this.numBatchesTracked) noGrad(() => this.numBatchesTracked!.add_(1));
    return F.batchNorm(x, this.runningMean, this.runningVar, this.weight, this.bias, useBatch, this.momentum, this.eps);
  }

  resetParameters(): void {
    noGrad(() => {
      this.runningMean?.zero_();
      this.runningVar?.fill_(1);
      this.numBatchesTracked?.zero_();
    });
    if (this.weight) ones_(this.weight);
    if (this.bias) zeros_(this.bias);
  }
}

/** LayerNorm over the trailing `normalizedShape` dims. */
export class LayerNorm extends Module {
  weight: Tensor | null;
  bias: Tensor | null;
  readonly normalizedShape: number[];
  constructor(
    normalizedShape: number | number[],
    readonly eps = 1e-5,
    elementwiseAffine = true,
  ) {
    super();
    this.normalizedShape = typeof normalizedShape === "number" ? [normalizedShape] : normalizedShape;
    this.weight = this.registerParameter("weight", elementwiseAffine ? ones(this.normalizedShape) : null);
    this.bias = this.registerParameter("bias", elementwiseAffine ? zeros(this.normalizedShape) : null);
  }
  forward(x: Tensor): Tensor {
    return F.layerNorm(x, this.normalizedShape, this.weight, this.bias, this.eps);
  }
}

export class Dropout extends Module {
  constructor(readonly p = 0.5) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.dropout(x, this.p, this.training);
  }
}

/** torchvision.ops.StochasticDepth(p, "row"). */
export class StochasticDepth extends Module {
  constructor(readonly p: number) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.dropPath(x, this.p, this.training);
  }
}

export class Identity extends Module {
  forward(x: Tensor): Tensor {
    return x;
  }
}

export class ReLU extends Module {
  constructor(readonly inplace = false) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.relu(x, this.inplace);
  }
}

export class GELU extends Module {
  constructor(readonly approximate: "none" | "tanh" = "none") {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.gelu(x, this.approximate);
  }
}

export class SiLU extends Module {
  forward(x: Tensor): Tensor {
    return F.silu(x);
  }
}

export class MaxPool2d extends Module {
  constructor(
    readonly kernelSize: IntOr2,
    readonly stride: IntOr2 | null = null,
    readonly padding: IntOr2 = 0,
    readonly dilation: IntOr2 = 1,
    readonly ceilMode = false,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.maxPool2d(x, this.kernelSize, this.stride, this.padding, this.dilation, this.ceilMode);
  }
}

export class AvgPool2d extends Module {
  constructor(
    readonly kernelSize: IntOr2,
    readonly stride: IntOr2 | null = null,
    readonly padding: IntOr2 = 0,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.avgPool2d(x, this.kernelSize, this.stride, this.padding);
  }
}

export class AdaptiveAvgPool2d extends Module {
  constructor(readonly outputSize: IntOr2) {
    super();
  }
  forward(x: Tensor): Tensor {
    return F.adaptiveAvgPool2d(x, this.outputSize);
  }
}

export class Flatten extends Module {
  constructor(
    readonly startDim = 1,
    readonly endDim = -1,
  ) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.flatten(this.startDim, this.endDim);
  }
}

/** Children named "0", "1", ...; forward chains them, disposing intermediates as it goes. */
export class Sequential extends Module {
  constructor(...mods: Module[]) {
    super();
    for (const [i, m] of mods.entries()) this.registerModule(String(i), m);
  }
  append(m: Module): this {
    this.registerModule(String(this.length), m);
    return this;
  }
  get length(): number {
    return this.children().length;
  }
  at(i: number): Module {
    const m = this.getModule(String(i < 0 ? this.length + i : i));
    if (!m) throw new RangeError(`Sequential: no module at ${i}`);
    return m;
  }
  forward(x: Tensor): Tensor {
    let y = x;
    for (const m of this.children()) {
      const next = m.forward(y);
      if (y !== x && next !== y) y.dispose();
      y = next;
    }
    return y;
  }
}

/** A list of modules named "0", "1", ... (no forward of its own). */
export class ModuleList extends Module {
  constructor(mods: Module[] = []) {
    super();
    for (const [i, m] of mods.entries()) this.registerModule(String(i), m);
  }
  push(m: Module): this {
    this.registerModule(String(this.children().length), m);
    return this;
  }
  [Symbol.iterator](): Iterator<Module> {
    return this.children()[Symbol.iterator]();
  }
  forward(): never {
    throw new Error("ModuleList has no forward()");
  }
}
