// torchvision.models.resnet, structure and parameter names identical (conv1, bn1, layer1.0.downsample.0, fc),
// so torchvision's (and timm's ResNet) weights load by name. Includes ResNeXt (groups, width_per_group).
import { nn, type Tensor, tidy } from "../torch/index.ts";
import { type Backbone, getSubmodule, resetLinearHead } from "./common.ts";

const conv3x3 = (i: number, o: number, stride = 1, groups = 1) =>
  new nn.Conv2d(i, o, 3, { stride, padding: 1, groups, bias: false });
const conv1x1 = (i: number, o: number, stride = 1) => new nn.Conv2d(i, o, 1, { stride, bias: false });

interface BlockArgs {
  inplanes: number;
  planes: number;
  stride: number;
  downsample: nn.Sequential | null;
  groups: number;
  baseWidth: number;
}

export class BasicBlock extends nn.Module {
  static readonly expansion = 1;
  conv1: nn.Conv2d;
  bn1: nn.BatchNorm2d;
  conv2: nn.Conv2d;
  bn2: nn.BatchNorm2d;
  downsample: nn.Sequential | null;
  constructor(a: BlockArgs) {
    super();
    if (a.groups !== 1 || a.baseWidth !== 64) throw new Error("BasicBlock only supports groups=1 and base_width=64");
    this.conv1 = this.registerModule("conv1", conv3x3(a.inplanes, a.planes, a.stride));
    this.bn1 = this.registerModule("bn1", new nn.BatchNorm2d(a.planes));
    this.registerModule("relu", new nn.ReLU());
    this.conv2 = this.registerModule("conv2", conv3x3(a.planes, a.planes));
    this.bn2 = this.registerModule("bn2", new nn.BatchNorm2d(a.planes));
    this.downsample = a.downsample ? this.registerModule("downsample", a.downsample) : null;
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const y = this.bn2.forward(this.conv2.forward(this.bn1.forward(this.conv1.forward(x)).relu_()));
      return y.add_(this.downsample ? this.downsample.forward(x) : x).relu_();
    });
  }
}

export class Bottleneck extends nn.Module {
  static readonly expansion = 4;
  conv1: nn.Conv2d;
  bn1: nn.BatchNorm2d;
  conv2: nn.Conv2d;
  bn2: nn.BatchNorm2d;
  conv3: nn.Conv2d;
  bn3: nn.BatchNorm2d;
  downsample: nn.Sequential | null;
  constructor(a: BlockArgs) {
    super();
    const width = Math.floor(a.planes * (a.baseWidth / 64)) * a.groups;
    this.conv1 = this.registerModule("conv1", conv1x1(a.inplanes, width));
    this.bn1 = this.registerModule("bn1", new nn.BatchNorm2d(width));
    this.conv2 = this.registerModule("conv2", conv3x3(width, width, a.stride, a.groups));
    this.bn2 = this.registerModule("bn2", new nn.BatchNorm2d(width));
    this.conv3 = this.registerModule("conv3", conv1x1(width, a.planes * 4));
    this.bn3 = this.registerModule("bn3", new nn.BatchNorm2d(a.planes * 4));
    this.registerModule("relu", new nn.ReLU());
    this.downsample = a.downsample ? this.registerModule("downsample", a.downsample) : null;
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const h = this.bn2.forward(this.conv2.forward(this.bn1.forward(this.conv1.forward(x)).relu_())).relu_();
      const y = this.bn3.forward(this.conv3.forward(h));
      return y.add_(this.downsample ? this.downsample.forward(x) : x).relu_();
    });
  }
}

type BlockClass = (typeof BasicBlock | typeof Bottleneck) & { expansion: number };

export interface ResNetOptions {
  numClasses?: number;
  groups?: number;
  widthPerGroup?: number;
  zeroInitResidual?: boolean;
}

export class ResNet extends nn.Module implements Backbone {
  readonly family = "resnet";
  readonly headName = "fc";
  readonly numFeatures: number;
  conv1: nn.Conv2d;
  bn1: nn.BatchNorm2d;
  maxpool: nn.MaxPool2d;
  layers: nn.Sequential[];
  #inplanes = 64;

  constructor(block: BlockClass, layers: number[], o: ResNetOptions = {}) {
    super();
    const groups = o.groups ?? 1;
    const baseWidth = o.widthPerGroup ?? 64;
    this.conv1 = this.registerModule("conv1", new nn.Conv2d(3, 64, 7, { stride: 2, padding: 3, bias: false }));
    this.bn1 = this.registerModule("bn1", new nn.BatchNorm2d(64));
    this.registerModule("relu", new nn.ReLU());
    this.maxpool = this.registerModule("maxpool", new nn.MaxPool2d(3, 2, 1));
    this.layers = [64, 128, 256, 512].map((planes, i) =>
      this.registerModule(
        `layer${i + 1}`,
        this.#makeLayer(block, planes, layers[i], i === 0 ? 1 : 2, groups, baseWidth),
      ),
    );
    this.registerModule("avgpool", new nn.AdaptiveAvgPool2d(1));
    this.numFeatures = 512 * block.expansion;
    this.registerModule("fc", new nn.Linear(this.numFeatures, o.numClasses ?? 1000));
    for (const [, m] of this.namedModules()) {
      if (m instanceof nn.Conv2d) nn.init.kaimingNormal_(m.weight, { mode: "fan_out", nonlinearity: "relu" });
      else if (m instanceof nn.BatchNorm2d) m.resetParameters();
    }
    if (o.zeroInitResidual)
      for (const m of this.modules()) {
        if (m instanceof Bottleneck) nn.init.zeros_(m.bn3.weight!);
        else if (m instanceof BasicBlock) nn.init.zeros_(m.bn2.weight!);
      }
  }

  #makeLayer(block: BlockClass, planes: number, blocks: number, stride: number, groups: number, baseWidth: number) {
    let downsample: nn.Sequential | null = null;
    if (stride !== 1 || this.#inplanes !== planes * block.expansion)
      downsample = new nn.Sequential(
        conv1x1(this.#inplanes, planes * block.expansion, stride),
        new nn.BatchNorm2d(planes * block.expansion),
      );
    const mods: nn.Module[] = [new block({ inplanes: this.#inplanes, planes, stride, downsample, groups, baseWidth })];
    this.#inplanes = planes * block.expansion;
    for (let i = 1; i < blocks; i++)
      mods.push(new block({ inplanes: this.#inplanes, planes, stride: 1, downsample: null, groups, baseWidth }));
    return new nn.Sequential(...mods);
  }

  head(): nn.Linear {
    return getSubmodule(this, "fc") as nn.Linear;
  }
  resetHead(numClasses: number): nn.Linear {
    return resetLinearHead(this, "fc", this.numFeatures, numClasses);
  }

  /** Pooled features [N, numFeatures] (everything before fc). */
  features(x: Tensor): Tensor {
    let t = this.conv1.forward(x);
    let u = this.bn1.forward(t);
    t.dispose();
    t = u.relu();
    u.dispose();
    u = this.maxpool.forward(t);
    t.dispose();
    for (const layer of this.layers) {
      t = layer.forward(u);
      u.dispose();
      u = t;
    }
    t = u.mean([2, 3]);
    u.dispose();
    return t;
  }

  forward(x: Tensor): Tensor {
    const f = this.features(x);
    const y = this.head().forward(f);
    f.dispose();
    return y;
  }
}

export const resnet18 = (o: ResNetOptions = {}) => new ResNet(BasicBlock, [2, 2, 2, 2], o);
export const resnet34 = (o: ResNetOptions = {}) => new ResNet(BasicBlock, [3, 4, 6, 3], o);
export const resnet50 = (o: ResNetOptions = {}) => new ResNet(Bottleneck, [3, 4, 6, 3], o);
export const resnet101 = (o: ResNetOptions = {}) => new ResNet(Bottleneck, [3, 4, 23, 3], o);
export const resnext50_32x4d = (o: ResNetOptions = {}) =>
  new ResNet(Bottleneck, [3, 4, 6, 3], { ...o, groups: 32, widthPerGroup: 4 });
