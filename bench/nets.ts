// The two benchmark nets of the foundation issue, built from the model zoo's torchvision-exact blocks and mirrored
// in bench/train_throughput_torch.py with torchvision's own blocks: a ResNet-18 for 32×32 inputs (3×3 stem, no
// max-pool) and a small ConvNeXt (2×2 patchify stem, dims 48-96-192-384, depths 2-2-6-2), each behind the aligned
// adaptation front (Conv2d 3→3k², kernel k, stride k; ConvTranspose2d 3k²→3, kernel k, stride k; k = 4).
import { Adaptation, BasicBlock, CNBlock, LayerNorm2d } from "../src/models/index.ts";
import { F, nn, type Tensor, tidy } from "../src/torch/index.ts";

export class ResNet18Cifar extends nn.Module {
  adapt = this.registerModule("adapt", new Adaptation("aligned", 4));
  conv1 = this.registerModule("conv1", new nn.Conv2d(3, 64, 3, { padding: 1, bias: false }));
  bn1 = this.registerModule("bn1", new nn.BatchNorm2d(64));
  layers: nn.Sequential[] = [];
  fc: nn.Linear;
  constructor(classes = 10) {
    super();
    let inplanes = 64;
    for (const [i, planes] of [64, 128, 256, 512].entries()) {
      const stride = i === 0 ? 1 : 2;
      const downsample =
        stride !== 1 || inplanes !== planes
          ? new nn.Sequential(new nn.Conv2d(inplanes, planes, 1, { stride, bias: false }), new nn.BatchNorm2d(planes))
          : null;
      const common = { groups: 1, baseWidth: 64 };
      const blocks = [
        new BasicBlock({ inplanes, planes, stride, downsample, ...common }),
        new BasicBlock({ inplanes: planes, planes, stride: 1, downsample: null, ...common }),
      ];
      this.layers.push(this.registerModule(`layer${i + 1}`, new nn.Sequential(...blocks)));
      inplanes = planes;
    }
    this.fc = this.registerModule("fc", new nn.Linear(512, classes));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      let y = F.relu(this.bn1.forward(this.conv1.forward(this.adapt.forward(x))), true);
      for (const l of this.layers) y = l.forward(y);
      return this.fc.forward(F.adaptiveAvgPool2d(y, 1).flatten(1));
    });
  }
}

export class SmallConvNeXt extends nn.Module {
  adapt = this.registerModule("adapt", new Adaptation("aligned", 4));
  features: nn.Sequential;
  norm: nn.LayerNorm;
  head: nn.Linear;
  constructor(classes = 10, dims = [48, 96, 192, 384], depths = [2, 2, 6, 2], dropPath = 0.1) {
    super();
    const total = depths.reduce((a, b) => a + b, 0);
    let id = 0;
    const stages: nn.Module[] = [
      new nn.Sequential(new nn.Conv2d(3, dims[0], 2, { stride: 2 }), new LayerNorm2d(dims[0], 1e-6)),
    ];
    for (const [i, d] of dims.entries()) {
      const blocks = Array.from({ length: depths[i] }, () => new CNBlock(d, 1e-6, (dropPath * id++) / (total - 1)));
      stages.push(new nn.Sequential(...blocks));
      if (i < dims.length - 1)
        stages.push(new nn.Sequential(new LayerNorm2d(d, 1e-6), new nn.Conv2d(d, dims[i + 1], 2, { stride: 2 })));
    }
    this.features = this.registerModule("features", new nn.Sequential(...stages));
    this.norm = this.registerModule("norm", new nn.LayerNorm(dims[3], 1e-6));
    this.head = this.registerModule("head", new nn.Linear(dims[3], classes));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const y = this.features.forward(this.adapt.forward(x));
      return this.head.forward(this.norm.forward(F.adaptiveAvgPool2d(y, 1).flatten(1)));
    });
  }
}
