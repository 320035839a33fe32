// ResNet-9, the fast CIFAR-10 network of David Page (Myrtle.ai), "How to Train Your ResNet" (2018; DAWNBench
// winner, 94% in 24 epochs, ~90% in about ten), also the base of Keller Jordan's "airbench" (2024).
// prep: conv-bn-relu 64 → layer1: conv-bn-relu 128, maxpool 2, + residual (2× conv-bn-relu 128)
// → layer2: conv-bn-relu 256, maxpool 2 → layer3: conv-bn-relu 512, maxpool 2, + residual (2× conv-bn-relu 512)
// → global max pool → linear (no bias) → ×0.125 (Page's output scaling). 6,573,120 parameters (10 classes).
// Global pooling makes it accept any input size (32×32, 64×64, ...).
import { aten, nn, type Tensor } from "../torch/index.ts";
import { type Backbone, getSubmodule } from "./common.ts";

const amax = aten<Tensor>("aten::amax");

export class ConvBN extends nn.Sequential {
  constructor(i: number, o: number) {
    super(new nn.Conv2d(i, o, 3, { padding: 1, bias: false }), new nn.BatchNorm2d(o), new nn.ReLU());
  }
}

export class Residual extends nn.Module {
  res: nn.Sequential;
  constructor(c: number) {
    super();
    this.res = this.registerModule("res", new nn.Sequential(new ConvBN(c, c), new ConvBN(c, c)));
  }
  forward(x: Tensor): Tensor {
    const r = this.res.forward(x);
    const y = r.add(x);
    r.dispose();
    return y;
  }
}

export interface ResNet9Options {
  numClasses?: number;
  /** Multiplier on the logits (Page: 0.125). */
  scale?: number;
}

/**
 * The shape ResNet-9 and BlockResNet share: named stages run in order, global max pool, a bias-free Linear head
 * `fc`, logits × `scale`.
 */
export abstract class MaxPoolHeadNet extends nn.Module implements Backbone {
  abstract readonly family: string;
  readonly headName = "fc";

  constructor(
    private readonly stages: readonly string[],
    readonly numFeatures: number,
    readonly scale: number,
  ) {
    super();
  }

  head(): nn.Linear {
    return getSubmodule(this, "fc") as nn.Linear;
  }
  resetHead(numClasses: number): nn.Linear {
    const fc = new nn.Linear(this.numFeatures, numClasses, { bias: this.head().bias !== null });
    this.replaceModule("fc", fc);
    return fc;
  }

  forward(x: Tensor): Tensor {
    let t = x;
    for (const name of this.stages) {
      const u = (this.getModule(name) as nn.Module).forward(t);
      if (t !== x) t.dispose();
      t = u;
    }
    const p = amax(t, [2, 3], false);
    t.dispose();
    const y = this.head().forward(p);
    p.dispose();
    if (this.scale === 1) return y;
    const z = y.mul(this.scale);
    y.dispose();
    return z;
  }
}

export class ResNet9 extends MaxPoolHeadNet {
  readonly family = "cifar-fast";

  constructor(o: ResNet9Options = {}) {
    super(["prep", "layer1", "layer2", "layer3"], 512, o.scale ?? 0.125);
    this.registerModule("prep", new ConvBN(3, 64));
    this.registerModule("layer1", new nn.Sequential(new ConvBN(64, 128), new nn.MaxPool2d(2), new Residual(128)));
    this.registerModule("layer2", new nn.Sequential(new ConvBN(128, 256), new nn.MaxPool2d(2)));
    this.registerModule("layer3", new nn.Sequential(new ConvBN(256, 512), new nn.MaxPool2d(2), new Residual(512)));
    this.registerModule("fc", new nn.Linear(512, o.numClasses ?? 10, { bias: false }));
  }
}

export const resnet9 = (o: ResNet9Options = {}) => new ResNet9(o);
