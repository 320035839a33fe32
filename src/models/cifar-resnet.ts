// The CIFAR ResNets of He et al., "Deep Residual Learning for Image Recognition" (2016), section 4.2:
// a 3×3 conv (16) then 3 stages of n basic blocks (16/32/64 channels, stride 2 at stages 2 and 3),
// global average pooling and a linear classifier; depth = 6n + 2 (resnet20: n=3, resnet56: n=9).
// Shortcuts are the paper's option A (parameter-free: stride-2 subsampling + zero-padded channels), so the
// counts match the paper (resnet20 269,722 ≈ 0.27M, resnet56 853,018 ≈ 0.85M). Names follow torchvision's ResNet (conv1, bn1,
// layer1.0.conv1, fc); kaiming-normal init as in torchvision. Works for any input size (32×32, 64×64, ...).
import { F, nn, type Tensor, tidy } from "../torch/index.ts";
import { type Backbone, getSubmodule, resetLinearHead } from "./common.ts";

class CifarBasicBlock extends nn.Module {
  conv1: nn.Conv2d;
  bn1: nn.BatchNorm2d;
  conv2: nn.Conv2d;
  bn2: nn.BatchNorm2d;
  readonly padChannels: number;
  constructor(
    inPlanes: number,
    planes: number,
    readonly stride: number,
  ) {
    super();
    this.conv1 = this.registerModule("conv1", new nn.Conv2d(inPlanes, planes, 3, { stride, padding: 1, bias: false }));
    this.bn1 = this.registerModule("bn1", new nn.BatchNorm2d(planes));
    this.conv2 = this.registerModule("conv2", new nn.Conv2d(planes, planes, 3, { padding: 1, bias: false }));
    this.bn2 = this.registerModule("bn2", new nn.BatchNorm2d(planes));
    this.padChannels = planes - inPlanes;
  }
  #shortcut(x: Tensor): Tensor {
    if (this.stride === 1 && this.padChannels === 0) return x;
    const s = this.stride === 1 ? x : x.slice(2, null, null, this.stride).slice(3, null, null, this.stride);
    if (this.padChannels === 0) return s;
    const lo = Math.floor(this.padChannels / 2);
    const y = F.pad(s, [0, 0, 0, 0, lo, this.padChannels - lo]);
    if (s !== x) s.dispose();
    return y;
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const y = this.bn2.forward(this.conv2.forward(this.bn1.forward(this.conv1.forward(x)).relu_()));
      return y.add_(this.#shortcut(x)).relu_();
    });
  }
}

export interface CifarResNetOptions {
  numClasses?: number;
}

export class CifarResNet extends nn.Module implements Backbone {
  readonly family = "cifar-resnet";
  readonly headName = "fc";
  readonly numFeatures = 64;
  conv1: nn.Conv2d;
  bn1: nn.BatchNorm2d;
  layers: nn.Sequential[];

  constructor(
    readonly depth: number,
    o: CifarResNetOptions = {},
  ) {
    super();
    if ((depth - 2) % 6 !== 0) throw new Error(`CIFAR ResNet depth must be 6n+2, got ${depth}`);
    const n = (depth - 2) / 6;
    this.conv1 = this.registerModule("conv1", new nn.Conv2d(3, 16, 3, { padding: 1, bias: false }));
    this.bn1 = this.registerModule("bn1", new nn.BatchNorm2d(16));
    let inPlanes = 16;
    this.layers = [16, 32, 64].map((planes, i) => {
      const blocks: nn.Module[] = [];
      for (let b = 0; b < n; b++) {
        blocks.push(new CifarBasicBlock(inPlanes, planes, b === 0 && i > 0 ? 2 : 1));
        inPlanes = planes;
      }
      return this.registerModule(`layer${i + 1}`, new nn.Sequential(...blocks));
    });
    this.registerModule("fc", new nn.Linear(64, o.numClasses ?? 10));
    for (const m of this.modules())
      if (m instanceof nn.Conv2d) nn.init.kaimingNormal_(m.weight, { mode: "fan_out", nonlinearity: "relu" });
  }

  head(): nn.Linear {
    return getSubmodule(this, "fc") as nn.Linear;
  }
  resetHead(numClasses: number): nn.Linear {
    return resetLinearHead(this, "fc", 64, numClasses);
  }

  forward(x: Tensor): Tensor {
    let t = this.conv1.forward(x);
    let u = this.bn1.forward(t);
    t.dispose();
    t = u.relu();
    u.dispose();
    for (const layer of this.layers) {
      u = layer.forward(t);
      t.dispose();
      t = u;
    }
    u = t.mean([2, 3]);
    t.dispose();
    t = this.head().forward(u);
    u.dispose();
    return t;
  }
}

export const resnet20 = (o: CifarResNetOptions = {}) => new CifarResNet(20, o);
export const resnet56 = (o: CifarResNetOptions = {}) => new CifarResNet(56, o);
