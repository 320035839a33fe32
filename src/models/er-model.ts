// The ER (encryption-robust) model: adaptation network → (optional resize) → backbone, with a new head.
//
// Children: `adapt` (Adaptation: conv/deconv, or none) and `backbone` (the torchvision-structured network whose
// final Linear, at `backbone.headName` — "fc", "classifier", "classifier.2" — has been replaced by a fresh
// Linear(numFeatures, classes)). The head therefore keeps torchvision's position and name
// (state-dict keys `backbone.fc.weight`, `backbone.classifier.2.weight`, ...), so a torchvision checkpoint loads into
// `backbone` by name with only the classifier skipped; `freeze("head")` addresses that Linear.
//
// Normalisation: done by the data loader (per-channel mean/std of the ciphertexts, ImageNet's by default);
// the adaptation sees normalised ciphertext and a key-folded adaptation outputs normalised plaintext
// (see adaptation.ts). `adaptOutput(x)` is that output: the "decrypted" image an eavesdropper would view
// (un-normalise it for display). `resize` (ImageNet nets on small inputs) is applied after the adaptation, so the
// adaptation always works on the cipher's block grid.
import {
  cat,
  F,
  type MemoryFormat,
  moduleToMemoryFormat,
  nn,
  type Tensor,
  tidy,
  toMemoryFormat,
} from "../torch/index.ts";
import { type AdaptAugment, flipCrop, meanOfHalves, type TestTimeAugment, withMirror } from "./adapt-augment.ts";
import type { Adaptation, AdaptKind } from "./adaptation.ts";
import { coinFlips, flipTranslate, sixViewMean, sixViews } from "./airbench-augment.ts";
import type { Backbone } from "./common.ts";

export type ModelPart = "adapt" | "backbone" | "head";

export interface ERModelConfig {
  backbone: string;
  adapt: AdaptKind;
  blockSize: number;
  classes: number;
  channels: number;
  /** Bilinear resize (side, px) between adaptation and backbone; null = feed as is. */
  resize: number | null;
  /** Weights the backbone was initialised from (path or null). */
  pretrained: string | null;
  /** Stochastic depth (ConvNeXt) override, or null for the family default. */
  dropPath?: number | null;
}

export class ERModel extends nn.Module {
  adapt: Adaptation;
  backbone: Backbone;
  /** Augmentation of the adaptation output in training mode (see adapt-augment.ts); not part of the weights. */
  adaptAugment: AdaptAugment = "none";
  /** Test-time augmentation in eval mode (see adapt-augment.ts); not part of the weights. */
  tta: TestTimeAugment = "none";
  /** Per-sample mirror bits of the next training batch for "flip-translate" (the trainer's alternating flip). */
  mirrorBits: boolean[] | null = null;
  /**
   * In eval mode the backbone sees at most this many images at once: a six-view pass over a 1,024-image batch would
   * otherwise push 6,144 images through each layer, whose activations (1.6 GB for airbench's first group) run
   * slower per image than small pieces that stay near the cache. Eval mode has no batch statistics, so the pieces
   * give the same logits.
   */
  evalChunk = 128;
  /**
   * The backbone's memory layout, a run setting (not part of the weights): "channels_last" re-lays the backbone's
   * 4-D weights (in place, at the next forward, so device moves and fresh backbones follow) and its input as NHWC,
   * the layout oneDNN's CPU convolutions run without reordering; the logits are the same.
   */
  backboneFormat: MemoryFormat = "contiguous";

  constructor(
    adapt: Adaptation,
    backbone: Backbone,
    readonly config: ERModelConfig,
  ) {
    super();
    if (backbone.head().outFeatures !== config.classes)
      throw new Error(
        `ERModel: backbone head has ${backbone.head().outFeatures} outputs, config says ${config.classes}`,
      );
    this.adapt = this.registerModule("adapt", adapt);
    this.backbone = this.registerModule("backbone", backbone);
  }

  /** The classifier for `config.classes` classes (inside the backbone, at its torchvision position). */
  head(): nn.Linear {
    return this.backbone.head();
  }

  /** The adaptation network's output for normalised ciphertext x (what the backbone sees before any resize). */
  adaptOutput(x: Tensor): Tensor {
    const y = this.adapt.forward(x);
    return y === x ? x.clone() : y;
  }

  forward(x: Tensor): Tensor {
    let a = this.adapt.forward(x);
    if (this.training && this.adaptAugment === "flip-crop") {
      const t = flipCrop(a);
      if (a !== x) a.dispose();
      a = t;
    } else if (this.training && this.adaptAugment === "flip-translate") {
      const bits = this.mirrorBits ?? coinFlips(a.shape[0]);
      const t = flipTranslate(a, bits);
      if (a !== x) a.dispose();
      a = t;
    }
    const six = !this.training && this.tta === "six-view";
    if (six) {
      const t = sixViews(a);
      if (a !== x) a.dispose();
      a = t;
    }
    const mirror = !this.training && this.tta === "flip";
    if (mirror) {
      const t = withMirror(a);
      if (a !== x) a.dispose();
      a = t;
    }
    let b = a;
    const r = this.config.resize;
    if (r && (a.shape[2] !== r || a.shape[3] !== r)) {
      b = F.interpolate(a, [r, r]);
      if (a !== x) a.dispose();
    }
    const y = this.backboneForward(b);
    if (b !== x) b.dispose();
    if (!mirror && !six) return y;
    const m = six ? sixViewMean(y) : meanOfHalves(y);
    y.dispose();
    return m;
  }

  /** The backbone on `b`: whole in training mode, in pieces of at most evalChunk images in eval mode. */
  private backboneForward(b: Tensor): Tensor {
    const n = b.shape[0];
    const chunk = Math.max(1, Math.floor(this.evalChunk));
    const format = this.backboneFormat;
    if (format !== "contiguous") moduleToMemoryFormat(this.backbone, format);
    const run = (x: Tensor) => this.backbone.forward(format === "contiguous" ? x : toMemoryFormat(x, format));
    if (this.training || n <= chunk) return format === "contiguous" ? run(b) : tidy(() => run(b));
    return tidy(() => {
      const parts: Tensor[] = [];
      for (let s = 0; s < n; s += chunk) parts.push(run(b.narrow(0, s, Math.min(chunk, n - s))));
      return cat(parts, 0);
    });
  }

  /**
   * Swaps in a fresh backbone (multi-round training: the study copies only the adaptation layers into a new
   * network each round). Its head must already be sized for `config.classes`. The old backbone's tensors are freed.
   */
  replaceBackbone(fresh: Backbone): Backbone {
    if (fresh.head().outFeatures !== this.config.classes)
      throw new Error(`replaceBackbone: head has ${fresh.head().outFeatures} outputs, expected ${this.config.classes}`);
    fresh.train(this.training);
    this.backbone = this.replaceModule("backbone", fresh);
    return fresh;
  }

  /** The parameters of one part ("backbone" excludes the head). */
  partParameters(part: ModelPart): Tensor[] {
    if (part === "adapt") return this.adapt.parameters();
    const head = new Set(this.head().parameters());
    if (part === "head") return [...head];
    return this.backbone.parameters().filter((p) => !head.has(p));
  }

  /** Freezes (requiresGrad = false) or, with frozen=false, unfreezes a part. */
  freeze(part: ModelPart, frozen = true): this {
    for (const p of this.partParameters(part)) p.requiresGrad = !frozen;
    return this;
  }
  unfreeze(part: ModelPart): this {
    return this.freeze(part, false);
  }
  /** Whether every parameter of a part is frozen. */
  isFrozen(part: ModelPart): boolean {
    return this.partParameters(part).every((p) => !p.requiresGrad);
  }
}
