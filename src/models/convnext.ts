// torchvision.models.convnext, structure and parameter names identical:
// features.0.{0,1} (stem conv + LayerNorm2d), features.{1,3,5,7}.{j}.block.{0,2,3,5} and .layer_scale (CNBlock),
// features.{2,4,6}.{0,1} (LayerNorm2d + stride-2 conv), classifier.{0,2} (LayerNorm2d, Flatten, Linear).
// Layer scale (init 1e-6) and stochastic depth (linearly increasing per block, torchvision's schedule) included.
import { empty, F, nn, type Tensor } from "../torch/index.ts";
import { type Backbone, getSubmodule, resetLinearHead } from "./common.ts";

/** LayerNorm over channels of NCHW (torchvision's LayerNorm2d: permute, layer_norm, permute back). */
export class LayerNorm2d extends nn.LayerNorm {
  override forward(x: Tensor): Tensor {
    const p = x.permute(0, 2, 3, 1);
    const y = F.layerNorm(p, this.normalizedShape, this.weight, this.bias, this.eps);
    p.dispose();
    const z = y.permute(0, 3, 1, 2);
    y.dispose();
    return z;
  }
}

/** torchvision.ops.misc.Permute. */
export class Permute extends nn.Module {
  constructor(readonly dims: number[]) {
    super();
  }
  forward(x: Tensor): Tensor {
    return x.permute(...this.dims);
  }
}

export class CNBlock extends nn.Module {
  block: nn.Sequential;
  layerScale: Tensor;
  stochasticDepth: nn.StochasticDepth;
  constructor(dim: number, layerScale: number, sdProb: number) {
    super();
    this.block = this.registerModule(
      "block",
      new nn.Sequential(
        new nn.Conv2d(dim, dim, 7, { padding: 3, groups: dim, bias: true }),
        new Permute([0, 2, 3, 1]),
        new nn.LayerNorm(dim, 1e-6),
        new nn.Linear(dim, 4 * dim),
        new nn.GELU(),
        new nn.Linear(4 * dim, dim),
        new Permute([0, 3, 1, 2]),
      ),
    );
    this.layerScale = this.registerParameter("layer_scale", empty([dim, 1, 1]));
    nn.init.constant_(this.layerScale, layerScale);
    this.stochasticDepth = this.registerModule("stochastic_depth", new nn.StochasticDepth(sdProb));
  }
  forward(x: Tensor): Tensor {
    const r = this.block.forward(x);
    const s = r.mul(this.layerScale);
    r.dispose();
    let d = s;
    if (this.training && this.stochasticDepth.p > 0) {
      d = this.stochasticDepth.forward(s);
      s.dispose();
    }
    const y = d.add(x);
    d.dispose();
    return y;
  }
}

export interface CNBlockConfig {
  inputChannels: number;
  outChannels: number | null;
  numLayers: number;
}

export interface ConvNeXtOptions {
  numClasses?: number;
  stochasticDepthProb?: number;
  layerScale?: number;
}

export class ConvNeXt extends nn.Module implements Backbone {
  readonly family = "convnext";
  readonly headName = "classifier.2";
  readonly numFeatures: number;
  featuresSeq: nn.Sequential;
  classifierSeq: nn.Sequential;

  constructor(setting: CNBlockConfig[], o: ConvNeXtOptions = {}) {
    super();
    const sdMax = o.stochasticDepthProb ?? 0;
    const ls = o.layerScale ?? 1e-6;
    const f = new nn.Sequential();
    const first = setting[0].inputChannels;
    f.append(new nn.Sequential(new nn.Conv2d(3, first, 4, { stride: 4, bias: true }), new LayerNorm2d(first, 1e-6)));
    const total = setting.reduce((n, s) => n + s.numLayers, 0);
    let id = 0;
    for (const cnf of setting) {
      const stage: nn.Module[] = [];
      for (let i = 0; i < cnf.numLayers; i++) {
        const sd = (sdMax * id) / (total - 1);
        stage.push(new CNBlock(cnf.inputChannels, ls, sd));
        id++;
      }
      f.append(new nn.Sequential(...stage));
      if (cnf.outChannels !== null)
        f.append(
          new nn.Sequential(
            new LayerNorm2d(cnf.inputChannels, 1e-6),
            new nn.Conv2d(cnf.inputChannels, cnf.outChannels, 2, { stride: 2, bias: true }),
          ),
        );
    }
    this.featuresSeq = this.registerModule("features", f);
    this.registerModule("avgpool", new nn.AdaptiveAvgPool2d(1));
    const last = setting[setting.length - 1];
    this.numFeatures = last.outChannels ?? last.inputChannels;
    this.classifierSeq = this.registerModule(
      "classifier",
      new nn.Sequential(
        new LayerNorm2d(this.numFeatures, 1e-6),
        new nn.Flatten(1),
        new nn.Linear(this.numFeatures, o.numClasses ?? 1000),
      ),
    );
    for (const m of this.modules())
      if (m instanceof nn.Conv2d || m instanceof nn.Linear) {
        nn.init.truncNormal_(m.weight, 0, 0.02);
        if (m.bias) nn.init.zeros_(m.bias);
      }
  }

  head(): nn.Linear {
    return getSubmodule(this, this.headName) as nn.Linear;
  }
  resetHead(numClasses: number): nn.Linear {
    const fc = resetLinearHead(this, this.headName, this.numFeatures, numClasses);
    nn.init.truncNormal_(fc.weight, 0, 0.02);
    nn.init.zeros_(fc.bias!);
    return fc;
  }

  forward(x: Tensor): Tensor {
    const f = this.featuresSeq.forward(x);
    const p = f.mean([2, 3], true);
    f.dispose();
    const y = this.classifierSeq.forward(p);
    p.dispose();
    return y;
  }
}

const cfg = (dims: number[], depths: number[]): CNBlockConfig[] =>
  dims.map((d, i) => ({
    inputChannels: d,
    outChannels: i < dims.length - 1 ? dims[i + 1] : null,
    numLayers: depths[i],
  }));

export const convnext_tiny = (o: ConvNeXtOptions = {}) =>
  new ConvNeXt(cfg([96, 192, 384, 768], [3, 3, 9, 3]), { stochasticDepthProb: 0.1, ...o });
export const convnext_small = (o: ConvNeXtOptions = {}) =>
  new ConvNeXt(cfg([96, 192, 384, 768], [3, 3, 27, 3]), { stochasticDepthProb: 0.4, ...o });
export const convnext_base = (o: ConvNeXtOptions = {}) =>
  new ConvNeXt(cfg([128, 256, 512, 1024], [3, 3, 27, 3]), { stochasticDepthProb: 0.5, ...o });
export const convnext_large = (o: ConvNeXtOptions = {}) =>
  new ConvNeXt(cfg([192, 384, 768, 1536], [3, 3, 27, 3]), { stochasticDepthProb: 0.5, ...o });
