// The two benchmark nets of the foundation issue, mirrored layer for layer in bench/train_throughput_torch.py:
// a ResNet-18 for 32×32 inputs (3×3 stem, no max-pool) and a small ConvNeXt (2×2 patchify stem,
// dims 48-96-192-384, depths 2-2-6-2), each behind the aligned adaptation front
// (Conv2d 3→3k², kernel k, stride k; ConvTranspose2d 3k²→3, kernel k, stride k; k = 4).
import { F, nn, ones, type Tensor, tidy } from "../src/torch/index.ts";

class Adapt extends nn.Module {
  conv = this.registerModule("conv", new nn.Conv2d(3, 48, 4, { stride: 4 }));
  deconv = this.registerModule("deconv", new nn.ConvTranspose2d(48, 3, 4, { stride: 4 }));
  forward(x: Tensor): Tensor {
    return tidy(() => this.deconv.forward(this.conv.forward(x)));
  }
}

class BasicBlock extends nn.Module {
  conv1: nn.Conv2d;
  bn1: nn.BatchNorm2d;
  conv2: nn.Conv2d;
  bn2: nn.BatchNorm2d;
  downsample: nn.Sequential | null;
  constructor(inp: number, planes: number, stride: number) {
    super();
    this.conv1 = this.registerModule("conv1", new nn.Conv2d(inp, planes, 3, { stride, padding: 1, bias: false }));
    this.bn1 = this.registerModule("bn1", new nn.BatchNorm2d(planes));
    this.conv2 = this.registerModule("conv2", new nn.Conv2d(planes, planes, 3, { padding: 1, bias: false }));
    this.bn2 = this.registerModule("bn2", new nn.BatchNorm2d(planes));
    this.downsample =
      stride !== 1 || inp !== planes
        ? this.registerModule(
            "downsample",
            new nn.Sequential(new nn.Conv2d(inp, planes, 1, { stride, bias: false }), new nn.BatchNorm2d(planes)),
          )
        : null;
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const out = this.bn2.forward(this.conv2.forward(F.relu(this.bn1.forward(this.conv1.forward(x)), true)));
      return F.relu(out.add_(this.downsample ? this.downsample.forward(x) : x), true);
    });
  }
}

export class ResNet18Cifar extends nn.Module {
  adapt = this.registerModule("adapt", new Adapt());
  conv1 = this.registerModule("conv1", new nn.Conv2d(3, 64, 3, { padding: 1, bias: false }));
  bn1 = this.registerModule("bn1", new nn.BatchNorm2d(64));
  layers: nn.Sequential[] = [];
  fc: nn.Linear;
  constructor(classes = 10) {
    super();
    let inp = 64;
    [64, 128, 256, 512].forEach((planes, i) => {
      const stride = i === 0 ? 1 : 2;
      this.layers.push(
        this.registerModule(
          `layer${i + 1}`,
          new nn.Sequential(new BasicBlock(inp, planes, stride), new BasicBlock(planes, planes, 1)),
        ),
      );
      inp = planes;
    });
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

class LayerNorm2d extends nn.LayerNorm {
  override forward(x: Tensor): Tensor {
    return tidy(() => super.forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2));
  }
}

class CNBlock extends nn.Module {
  block: nn.Sequential;
  layerScale: Tensor;
  constructor(
    dim: number,
    readonly dropPath: number,
  ) {
    super();
    this.block = this.registerModule(
      "block",
      new nn.Sequential(
        new nn.Conv2d(dim, dim, 7, { padding: 3, groups: dim }),
        new Permute([0, 2, 3, 1]),
        new nn.LayerNorm(dim, 1e-6),
        new nn.Linear(dim, 4 * dim),
        new nn.GELU(),
        new nn.Linear(4 * dim, dim),
        new Permute([0, 3, 1, 2]),
      ),
    );
    this.layerScale = this.registerParameter("layer_scale", ones([dim, 1, 1]).mul_(1e-6));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => F.dropPath(this.block.forward(x).mul(this.layerScale), this.dropPath, this.training).add_(x));
  }
}

class Permute extends nn.Module {
  constructor(readonly dims: number[]) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.permute(...this.dims);
  }
}

export class SmallConvNeXt extends nn.Module {
  adapt = this.registerModule("adapt", new Adapt());
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
    dims.forEach((d, i) => {
      const blocks = Array.from({ length: depths[i] }, () => new CNBlock(d, (dropPath * id++) / (total - 1)));
      stages.push(new nn.Sequential(...blocks));
      if (i < dims.length - 1)
        stages.push(new nn.Sequential(new LayerNorm2d(d, 1e-6), new nn.Conv2d(d, dims[i + 1], 2, { stride: 2 })));
    });
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
