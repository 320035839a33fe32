// A small Vision Transformer whose patches are the cipher's blocks (torchvision's VisionTransformer layout and
// names: conv_proj, class_token, encoder.pos_embedding, encoder.layers.encoder_layer_i.{ln_1, self_attention,
// ln_2, mlp}, encoder.ln, heads.head; Dosovitskiy et al. 2021), sized for a grid of 8×8 cipher blocks: 32×32 CIFAR
// images at k = 4, 64×64 Tiny-ImageNet images at k = 8.
//
// Why it is encryption-invariant: the patch embedding conv_proj (a k×k stride-k convolution) is a linear map of each
// block's C·k² values, so the per-block Hill cipher (linear, the same at every position) is absorbed into it; the
// position embeddings are learned, and attention treats tokens as a set, so ANY fixed permutation of block
// positions (block scrambling) is absorbed into them. A model trained on scrambled Hill ciphertexts is the same
// function class as one trained on plaintexts; only the optimiser's path differs.
//
// Attention is written out (q·kᵀ/√d_h, softmax, ·v) with one in_proj Linear for q, k, v and an out_proj Linear,
// the parameter split of nn.MultiheadAttention.
import { cat, empty, F, nn, type Tensor, tidy, zeros } from "../torch/index.ts";
import { type Backbone, getSubmodule } from "./common.ts";

export interface ViTOptions {
  numClasses?: number;
  /** Patch side in pixels (the cipher block size k). */
  patchSize?: number;
  /** Input side in pixels (the number of position embeddings is (imageSize / patchSize)² + 1). */
  imageSize?: number;
  hiddenDim?: number;
  numLayers?: number;
  numHeads?: number;
  mlpDim?: number;
}

class SelfAttention extends nn.Module {
  in_proj: nn.Linear;
  out_proj: nn.Linear;
  constructor(
    readonly dim: number,
    readonly heads: number,
  ) {
    super();
    if (dim % heads) throw new Error(`vit: hidden dim ${dim} is not a multiple of ${heads} heads`);
    this.in_proj = this.registerModule("in_proj", new nn.Linear(dim, 3 * dim));
    this.out_proj = this.registerModule("out_proj", new nn.Linear(dim, dim));
  }
  forward(x: Tensor): Tensor {
    const [b, t] = x.shape;
    const dh = this.dim / this.heads;
    return tidy(() => {
      const qkv = this.in_proj.forward(x).reshape(b, t, 3, this.heads, dh).permute(2, 0, 3, 1, 4);
      const q = qkv.select(0, 0);
      const k = qkv.select(0, 1);
      const v = qkv.select(0, 2);
      const att = F.softmax(q.matmul(k.transpose(-2, -1)).mul(1 / Math.sqrt(dh)), -1);
      const o = att.matmul(v).permute(0, 2, 1, 3).reshape(b, t, this.dim);
      return this.out_proj.forward(o);
    });
  }
}

class EncoderBlock extends nn.Module {
  ln_1: nn.LayerNorm;
  self_attention: SelfAttention;
  ln_2: nn.LayerNorm;
  mlp: nn.Sequential;
  constructor(dim: number, heads: number, mlpDim: number) {
    super();
    this.ln_1 = this.registerModule("ln_1", new nn.LayerNorm(dim, 1e-6));
    this.self_attention = this.registerModule("self_attention", new SelfAttention(dim, heads));
    this.ln_2 = this.registerModule("ln_2", new nn.LayerNorm(dim, 1e-6));
    this.mlp = this.registerModule(
      "mlp",
      new nn.Sequential(new nn.Linear(dim, mlpDim), new nn.GELU(), new nn.Linear(mlpDim, dim)),
    );
  }
  forward(x: Tensor): Tensor {
    return tidy(() => {
      const y = x.add(this.self_attention.forward(this.ln_1.forward(x)));
      return y.add(this.mlp.forward(this.ln_2.forward(y)));
    });
  }
}

class Encoder extends nn.Module {
  pos_embedding: Tensor;
  layers: nn.Sequential;
  ln: nn.LayerNorm;
  constructor(tokens: number, dim: number, numLayers: number, heads: number, mlpDim: number) {
    super();
    this.pos_embedding = this.registerParameter("pos_embedding", empty([1, tokens, dim]));
    nn.init.normal_(this.pos_embedding, 0, 0.02);
    const layers = new nn.Sequential();
    for (let i = 0; i < numLayers; i++)
      layers.registerModule(`encoder_layer_${i}`, new EncoderBlock(dim, heads, mlpDim));
    this.layers = this.registerModule("layers", layers);
    this.ln = this.registerModule("ln", new nn.LayerNorm(dim, 1e-6));
  }
  forward(x: Tensor): Tensor {
    return tidy(() => this.ln.forward(this.layers.forward(x.add(this.pos_embedding))));
  }
}

export class VisionTransformer extends nn.Module implements Backbone {
  readonly family = "vit";
  readonly headName = "heads.head";
  readonly numFeatures: number;
  readonly patchSize: number;
  readonly imageSize: number;
  conv_proj: nn.Conv2d;
  class_token: Tensor;
  encoder: Encoder;
  heads: nn.Sequential;

  constructor(o: ViTOptions = {}) {
    super();
    const p = o.patchSize ?? 4;
    const size = o.imageSize ?? 32;
    if (size % p) throw new Error(`vit: image size ${size} is not a multiple of the patch size ${p}`);
    const dim = o.hiddenDim ?? 192;
    this.numFeatures = dim;
    this.patchSize = p;
    this.imageSize = size;
    this.conv_proj = this.registerModule("conv_proj", new nn.Conv2d(3, dim, p, { stride: p }));
    this.class_token = this.registerParameter("class_token", zeros([1, 1, dim]));
    const tokens = (size / p) ** 2 + 1;
    this.encoder = this.registerModule(
      "encoder",
      new Encoder(tokens, dim, o.numLayers ?? 6, o.numHeads ?? 3, o.mlpDim ?? 4 * dim),
    );
    const heads = new nn.Sequential();
    heads.registerModule("head", new nn.Linear(dim, o.numClasses ?? 10));
    this.heads = this.registerModule("heads", heads);
  }

  head(): nn.Linear {
    return getSubmodule(this, "heads.head") as nn.Linear;
  }
  resetHead(numClasses: number): nn.Linear {
    const fc = new nn.Linear(this.numFeatures, numClasses);
    this.heads.replaceModule("head", fc);
    return fc;
  }

  forward(x: Tensor): Tensor {
    const [b, , h, w] = x.shape;
    if (h !== this.imageSize || w !== this.imageSize)
      throw new Error(
        `vit: built for ${this.imageSize}×${this.imageSize} inputs (its position embeddings), got ${h}×${w}`,
      );
    return tidy(() => {
      const t = this.conv_proj.forward(x).flatten(2).transpose(1, 2); // [B, T, dim]
      const cls = this.class_token.expand(b, -1, -1);
      const z = this.encoder.forward(cat([cls, t], 1));
      return this.head().forward(z.select(1, 0));
    });
  }
}

/** The registry's sizes: hidden width, layers, heads, MLP width, and the token grid (blocks per side). */
export const VIT_SIZES = {
  /** 0.55 M parameters with 10 classes at k = 4; about ResNet-20's multiply-adds per CIFAR image at k = 4. */
  vit_block_tiny: { hiddenDim: 128, numLayers: 4, numHeads: 4, mlpDim: 256, grid: 8 },
} as const;

/**
 * A tiny ViT with k×k patches (the cipher blocks) on a grid of 8×8 blocks (VIT_SIZES.vit_block_tiny): its input is
 * 8k pixels on a side, 32×32 at k = 4 and 64×64 at k = 8, so every block size sees the same 64 tokens.
 */
export function vit_block_tiny(o: { numClasses?: number; patchSize?: number } = {}): VisionTransformer {
  const { grid, ...size } = VIT_SIZES.vit_block_tiny;
  const patchSize = o.patchSize ?? 4;
  return new VisionTransformer({ numClasses: o.numClasses, patchSize, imageSize: grid * patchSize, ...size });
}
