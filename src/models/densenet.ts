// torchvision.models.densenet, structure and parameter names identical
// (features.conv0, features.denseblock1.denselayer1.norm1, features.transition1.conv, features.norm5, classifier).
// Memory-efficient (checkpointed) mode is not implemented; dropout between layers (drop_rate) is.
import { cat, F, nn, type Tensor } from "../torch/index.ts";
import { type Backbone, getSubmodule, resetLinearHead } from "./common.ts";

class DenseLayer extends nn.Module {
  norm1: nn.BatchNorm2d;
  conv1: nn.Conv2d;
  norm2: nn.BatchNorm2d;
  conv2: nn.Conv2d;
  constructor(
    inFeatures: number,
    growthRate: number,
    bnSize: number,
    readonly dropRate: number,
  ) {
    super();
    this.norm1 = this.registerModule("norm1", new nn.BatchNorm2d(inFeatures));
    this.registerModule("relu1", new nn.ReLU());
    this.conv1 = this.registerModule("conv1", new nn.Conv2d(inFeatures, bnSize * growthRate, 1, { bias: false }));
    this.norm2 = this.registerModule("norm2", new nn.BatchNorm2d(bnSize * growthRate));
    this.registerModule("relu2", new nn.ReLU());
    this.conv2 = this.registerModule(
      "conv2",
      new nn.Conv2d(bnSize * growthRate, growthRate, 3, { padding: 1, bias: false }),
    );
  }
  forward(x: Tensor): Tensor {
    let t = this.norm1.forward(x);
    let u = t.relu();
    t.dispose();
    t = this.conv1.forward(u);
    u.dispose();
    u = this.norm2.forward(t);
    t.dispose();
    t = u.relu();
    u.dispose();
    u = this.conv2.forward(t);
    t.dispose();
    if (this.dropRate > 0) {
      t = F.dropout(u, this.dropRate, this.training);
      u.dispose();
      u = t;
    }
    return u;
  }
}

class DenseBlock extends nn.Module {
  readonly layers: DenseLayer[] = [];
  constructor(numLayers: number, inFeatures: number, bnSize: number, growthRate: number, dropRate: number) {
    super();
    for (let i = 0; i < numLayers; i++)
      this.layers.push(
        this.registerModule(
          `denselayer${i + 1}`,
          new DenseLayer(inFeatures + i * growthRate, growthRate, bnSize, dropRate),
        ),
      );
  }
  forward(x: Tensor): Tensor {
    const feats = [x];
    let all = x;
    for (const layer of this.layers) {
      const y = layer.forward(all);
      feats.push(y);
      if (all !== x) all.dispose();
      all = cat(feats, 1);
    }
    for (const f of feats.slice(1)) f.dispose();
    return all;
  }
}

class Transition extends nn.Sequential {
  constructor(inFeatures: number, outFeatures: number) {
    super();
    this.registerModule("norm", new nn.BatchNorm2d(inFeatures));
    this.registerModule("relu", new nn.ReLU());
    this.registerModule("conv", new nn.Conv2d(inFeatures, outFeatures, 1, { bias: false }));
    this.registerModule("pool", new nn.AvgPool2d(2, 2));
  }
}

export interface DenseNetOptions {
  numClasses?: number;
  dropRate?: number;
}

export class DenseNet extends nn.Module implements Backbone {
  readonly family = "densenet";
  readonly headName = "classifier";
  readonly numFeatures: number;
  featuresSeq: nn.Sequential;

  constructor(growthRate: number, blockConfig: number[], numInitFeatures: number, bnSize = 4, o: DenseNetOptions = {}) {
    super();
    const f = new nn.Sequential();
    f.registerModule("conv0", new nn.Conv2d(3, numInitFeatures, 7, { stride: 2, padding: 3, bias: false }));
    f.registerModule("norm0", new nn.BatchNorm2d(numInitFeatures));
    f.registerModule("relu0", new nn.ReLU());
    f.registerModule("pool0", new nn.MaxPool2d(3, 2, 1));
    let n = numInitFeatures;
    blockConfig.forEach((numLayers, i) => {
      f.registerModule(`denseblock${i + 1}`, new DenseBlock(numLayers, n, bnSize, growthRate, o.dropRate ?? 0));
      n += numLayers * growthRate;
      if (i !== blockConfig.length - 1) {
        f.registerModule(`transition${i + 1}`, new Transition(n, Math.floor(n / 2)));
        n = Math.floor(n / 2);
      }
    });
    f.registerModule("norm5", new nn.BatchNorm2d(n));
    this.featuresSeq = this.registerModule("features", f);
    this.numFeatures = n;
    const fc = this.registerModule("classifier", new nn.Linear(n, o.numClasses ?? 1000));
    for (const m of this.modules()) {
      if (m instanceof nn.Conv2d) nn.init.kaimingNormal_(m.weight);
      else if (m instanceof nn.BatchNorm2d) m.resetParameters();
    }
    nn.init.zeros_(fc.bias!);
  }

  head(): nn.Linear {
    return getSubmodule(this, "classifier") as nn.Linear;
  }
  resetHead(numClasses: number): nn.Linear {
    const fc = resetLinearHead(this, "classifier", this.numFeatures, numClasses);
    nn.init.zeros_(fc.bias!);
    return fc;
  }

  forward(x: Tensor): Tensor {
    const f = this.featuresSeq.forward(x);
    const r = f.relu();
    f.dispose();
    const p = r.mean([2, 3]);
    r.dispose();
    const y = this.head().forward(p);
    p.dispose();
    return y;
  }
}

export const densenet121 = (o: DenseNetOptions = {}) => new DenseNet(32, [6, 12, 24, 16], 64, 4, o);
export const densenet161 = (o: DenseNetOptions = {}) => new DenseNet(48, [6, 12, 36, 24], 96, 4, o);
export const densenet169 = (o: DenseNetOptions = {}) => new DenseNet(32, [6, 12, 32, 32], 64, 4, o);
export const densenet201 = (o: DenseNetOptions = {}) => new DenseNet(32, [6, 12, 48, 32], 64, 4, o);
