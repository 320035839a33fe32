// The model registry (after timm's): backbone name → factory + default config; createModel builds an ER model.
import {
  ADAPT_KINDS,
  Adaptation,
  type AdaptKind,
  IMAGENET_NORMALIZATION,
  type KeyLike,
  type Normalization,
} from "./adaptation.ts";
import { airbench94, airbench94_muon, airbench95 } from "./airbench.ts";
import { BlockResNet } from "./block-resnet.ts";
import { resnet9 } from "./cifar-fast.ts";
import { resnet20, resnet56 } from "./cifar-resnet.ts";
import type { Backbone } from "./common.ts";
import { convnext_base, convnext_large, convnext_small, convnext_tiny } from "./convnext.ts";
import { densenet121 } from "./densenet.ts";
import { ERModel, type ERModelConfig } from "./er-model.ts";
import { resnet18, resnet34, resnet50, resnext50_32x4d } from "./resnet.ts";
import { vit_block_tiny } from "./vit.ts";
import { loadBackboneWeightsFile } from "./weights.ts";

export interface BackboneOptions {
  numClasses: number;
  /** Stochastic depth rate (ConvNeXt only; null/undefined = torchvision's default for the size). */
  dropPath?: number | null;
  /** Cipher block size, for backbones whose stem is aligned with the blocks (block-resnet). */
  patchSize?: number;
}

export interface BackboneSpec {
  name: string;
  family: "resnet" | "densenet" | "convnext" | "cifar-resnet" | "cifar-fast" | "airbench" | "block-resnet" | "vit";
  /** Built for this input side (224 ImageNet nets, 32 CIFAR nets); every backbone accepts 32×32 and 64×64. */
  nativeInput: number;
  /** Classes of the published weights (1000 for torchvision's), or the default head size. */
  defaultClasses: number;
  /** torchvision's parameter count (with the default head). */
  params: number;
  description: string;
  create(o: BackboneOptions): Backbone;
}

const sd = (o: BackboneOptions) => (o.dropPath == null ? {} : { stochasticDepthProb: o.dropPath });

const specs: BackboneSpec[] = [
  {
    name: "resnet18",
    family: "resnet",
    nativeInput: 224,
    defaultClasses: 1000,
    params: 11_689_512,
    description: "torchvision ResNet-18",
    create: (o) => resnet18({ numClasses: o.numClasses }),
  },
  {
    name: "resnet34",
    family: "resnet",
    nativeInput: 224,
    defaultClasses: 1000,
    params: 21_797_672,
    description: "torchvision ResNet-34",
    create: (o) => resnet34({ numClasses: o.numClasses }),
  },
  {
    name: "resnet50",
    family: "resnet",
    nativeInput: 224,
    defaultClasses: 1000,
    params: 25_557_032,
    description: "torchvision ResNet-50",
    create: (o) => resnet50({ numClasses: o.numClasses }),
  },
  {
    name: "resnext50_32x4d",
    family: "resnet",
    nativeInput: 224,
    defaultClasses: 1000,
    params: 25_028_904,
    description: "torchvision ResNeXt-50 32×4d",
    create: (o) => resnext50_32x4d({ numClasses: o.numClasses }),
  },
  {
    name: "densenet121",
    family: "densenet",
    nativeInput: 224,
    defaultClasses: 1000,
    params: 7_978_856,
    description: "torchvision DenseNet-121",
    create: (o) => densenet121({ numClasses: o.numClasses }),
  },
  {
    name: "convnext_tiny",
    family: "convnext",
    nativeInput: 224,
    defaultClasses: 1000,
    params: 28_589_128,
    description: "torchvision ConvNeXt-T",
    create: (o) => convnext_tiny({ numClasses: o.numClasses, ...sd(o) }),
  },
  {
    name: "convnext_small",
    family: "convnext",
    nativeInput: 224,
    defaultClasses: 1000,
    params: 50_223_688,
    description: "torchvision ConvNeXt-S",
    create: (o) => convnext_small({ numClasses: o.numClasses, ...sd(o) }),
  },
  {
    name: "convnext_base",
    family: "convnext",
    nativeInput: 224,
    defaultClasses: 1000,
    params: 88_591_464,
    description: "torchvision ConvNeXt-B",
    create: (o) => convnext_base({ numClasses: o.numClasses, ...sd(o) }),
  },
  {
    name: "convnext_large",
    family: "convnext",
    nativeInput: 224,
    defaultClasses: 1000,
    params: 197_767_336,
    description: "torchvision ConvNeXt-L",
    create: (o) => convnext_large({ numClasses: o.numClasses, ...sd(o) }),
  },
  {
    name: "resnet20",
    family: "cifar-resnet",
    nativeInput: 32,
    defaultClasses: 10,
    params: 269_722,
    description: "CIFAR ResNet-20 (He et al. 2016, option A)",
    create: (o) => resnet20({ numClasses: o.numClasses }),
  },
  {
    name: "resnet56",
    family: "cifar-resnet",
    nativeInput: 32,
    defaultClasses: 10,
    params: 853_018,
    description: "CIFAR ResNet-56 (He et al. 2016, option A)",
    create: (o) => resnet56({ numClasses: o.numClasses }),
  },
  {
    name: "resnet9",
    family: "cifar-fast",
    nativeInput: 32,
    defaultClasses: 10,
    params: 6_573_120,
    description: "ResNet-9 (Page 2018 / airbench): fast CIFAR net",
    create: (o) => resnet9({ numClasses: o.numClasses }),
  },
  {
    name: "airbench94",
    family: "airbench",
    nativeInput: 32,
    defaultClasses: 10,
    params: 1_972_792,
    description: "airbench94 (Jordan 2024): frozen 2×2 patch-whitening conv, widths 64/256/256, GELU, logits × 1/9",
    create: (o) => airbench94(o.numClasses),
  },
  {
    name: "airbench94_muon",
    family: "airbench",
    nativeInput: 32,
    defaultClasses: 10,
    params: 1_972_792,
    description: "airbench94 with airbench94_muon's head: unit-std weights, logits ÷ 256",
    create: (o) => airbench94_muon(o.numClasses),
  },
  {
    name: "airbench95",
    family: "airbench",
    nativeInput: 32,
    defaultClasses: 10,
    params: 4_606_520,
    description: "airbench95: airbench94 with widths 128/384/384",
    create: (o) => airbench95(o.numClasses),
  },
  {
    name: "blockresnet_s",
    family: "block-resnet",
    nativeInput: 32,
    defaultClasses: 10,
    params: 3_256_576,
    description: "ResNet with a block-aligned k×k stride-k stem (encryption-invariant), widths 128/256",
    create: (o) => new BlockResNet({ numClasses: o.numClasses, patchSize: o.patchSize, widths: [128, 256] }),
  },
  {
    name: "blockresnet_m",
    family: "block-resnet",
    nativeInput: 32,
    defaultClasses: 10,
    params: 4_662_144,
    description: "ResNet with a block-aligned k×k stride-k stem (encryption-invariant), widths 192/384",
    create: (o) =>
      new BlockResNet({ numClasses: o.numClasses, patchSize: o.patchSize, widths: [192, 384], blocks: [2, 1] }),
  },
  {
    name: "vit_block_tiny",
    family: "vit",
    nativeInput: 32,
    defaultClasses: 10,
    params: 546_186,
    description:
      "tiny ViT whose patches are the cipher blocks, learned position embeddings (invariant to the per-block key and to any fixed block permutation); a grid of 8×8 blocks: 32×32 inputs at k = 4, 64×64 at k = 8",
    create: (o) => vit_block_tiny({ numClasses: o.numClasses, patchSize: o.patchSize }),
  },
];

export const BACKBONES: ReadonlyMap<string, BackboneSpec> = new Map(specs.map((s) => [s.name, s]));

export function listBackbones(): string[] {
  return [...BACKBONES.keys()];
}

export function backboneSpec(name: string): BackboneSpec {
  const s = BACKBONES.get(name);
  if (!s) throw new Error(`unknown backbone '${name}' (known: ${listBackbones().join(", ")})`);
  return s;
}

/** Builds a backbone with a head of numClasses (default: the published head size). */
export function createBackbone(name: string, o: Partial<BackboneOptions> = {}): Backbone {
  const s = backboneSpec(name);
  return s.create({ numClasses: o.numClasses ?? s.defaultClasses, dropPath: o.dropPath, patchSize: o.patchSize });
}

export interface CreateModelOptions {
  backbone: string;
  /** Adaptation network: "aligned" (default), "seed" (the study's padding=1) or "none". */
  adapt?: AdaptKind;
  blockSize: number;
  classes: number;
  channels?: number;
  /** Path of backbone weights (safetensors or .pth; torchvision or timm names); the head is always new. */
  pretrained?: string | null;
  /** Resize side between adaptation and backbone (e.g. 224 for ImageNet nets); null/undefined = none. */
  resize?: number | null;
  dropPath?: number | null;
  /** Fold this key's inverse into an aligned adaptation (exact decryption: the upper bound). */
  keyFolded?: KeyLike;
  /** Loader normalisation the key-folded layer must absorb (default ImageNet's; null = none). */
  normalization?: Normalization | null;
}

/** Builds an ER model without loading weights (synchronous). */
export function buildModel(o: CreateModelOptions): ERModel {
  const adaptKind = o.adapt ?? "aligned";
  if (!ADAPT_KINDS.includes(adaptKind)) throw new Error(`unknown adaptation '${adaptKind}'`);
  const spec = backboneSpec(o.backbone);
  if (!Number.isInteger(o.classes) || o.classes < 1)
    throw new Error(`classes must be a positive integer, got ${o.classes}`);
  const backbone = spec.create({ numClasses: o.classes, dropPath: o.dropPath, patchSize: o.blockSize });
  let adapt: Adaptation;
  if (o.keyFolded) {
    if (adaptKind !== "aligned") throw new Error(`keyFolded needs adapt 'aligned', got '${adaptKind}'`);
    adapt = Adaptation.keyFolded(o.keyFolded, o.normalization === undefined ? IMAGENET_NORMALIZATION : o.normalization);
  } else adapt = new Adaptation(adaptKind, o.blockSize, o.channels ?? 3);
  const config: ERModelConfig = {
    backbone: spec.name,
    adapt: adaptKind,
    blockSize: o.blockSize,
    classes: o.classes,
    channels: o.channels ?? 3,
    resize: o.resize ?? null,
    pretrained: o.pretrained ?? null,
    dropPath: o.dropPath ?? null,
  };
  return new ERModel(adapt, backbone, config);
}

/** Builds an ER model and, with `pretrained`, loads backbone weights (head replaced, everything else strict). */
export async function createModel(o: CreateModelOptions): Promise<ERModel> {
  const m = buildModel(o);
  if (o.pretrained) {
    try {
      await loadBackboneWeightsFile(m.backbone, o.pretrained, { replaceHead: true });
    } catch (e) {
      m.dispose();
      throw e;
    }
  }
  return m;
}

/** A fresh backbone for `model` (same name/classes/drop path), for multi-round training with replaceBackbone. */
export function freshBackbone(model: ERModel): Backbone {
  return createBackbone(model.config.backbone, {
    numClasses: model.config.classes,
    dropPath: model.config.dropPath,
    patchSize: model.config.blockSize,
  });
}
