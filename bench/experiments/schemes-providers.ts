/**
 * The provider of the scheme comparison (schemes.ts) as data: which network each scheme is trained with, why, and the
 * one fixed budget every run gets. Two networks:
 *  - "aligned": the aligned (per-block linear) adaptation network in front of the dataset's record recipe
 *    (airbench94 on CIFAR-10). Exact for schemes that apply the same linear (or affine: x ↦ 1 − x is affine) map to
 *    every aligned block; for the nonlinear block-aligned schemes (le, ffx) it is the same provider, which learns
 *    what a linear map of each block can.
 *  - "vit-block": vit_block_tiny, whose patches are the cipher blocks; it absorbs a per-block linear key and any fixed
 *    permutation of block positions (src/models/vit.ts), so it is the invariant network for block scrambling.
 *    EtC's per-block rotations/flips, negative–positive bits and colour orders differ from block to block: no
 *    network of ercnn is invariant to them, and vit_block_tiny absorbs only EtC's scrambling.
 * Each network also trains on the plain images at the same budget (the plain control).
 */
import type { SchemeName } from "../../src/cipher/schemes/index.ts";

export type Network = "aligned" | "vit-block";

export interface Provider {
  network: Network;
  /** Why this network, and what it can and cannot absorb of the scheme. */
  why: string;
}

export const PROVIDERS: Readonly<Record<SchemeName, Provider>> = {
  hill: { network: "aligned", why: "one linear map per aligned block: the adaptation absorbs it exactly" },
  "hill-scramble": {
    network: "vit-block",
    why: "blocks moved: vit_block_tiny absorbs the linear block key and the fixed block permutation",
  },
  "pixel-shuffle-np": {
    network: "aligned",
    why: "one signed permutation + offset per aligned block (affine): the adaptation absorbs it exactly",
  },
  le: {
    network: "aligned",
    why: "block-aligned but nonlinear in the pixel value: the linear adaptation cannot invert it",
  },
  etc: {
    network: "vit-block",
    why: "vit_block_tiny absorbs the scrambling only; per-block rotations/NP/colour orders differ block to block",
  },
  ffx: { network: "aligned", why: "block-aligned but nonlinear (a keyed byte bijection per block position)" },
};

/** The fixed budget of every training run (encrypted and plain alike). */
export interface Budget {
  /** Training images (the first `train` of the preset's seeded subset). */
  train: number;
  /** Test images (accuracy is measured on these). */
  test: number;
  epochs: number;
  batchSize: number;
}

/** The dataset-specific part: preset, block size, and the `ercnn train` flags of each network. */
export interface DatasetPlan {
  preset: "cifar10" | "tiny50";
  blockSize: number;
  budget: Budget;
  /**
   * The aligned network's backbone weights, pretrained on public plain photos (the record's approach one), and how
   * to make them; null: it trains from scratch.
   */
  pretrained: { file: string; make: string } | null;
  /**
   * The eavesdropper's reference photos: `ercnn encrypt --plain` flags selecting public photos of the same kind that
   * are not the victim's (CIFAR-10's test split; for tiny50 the 150 other Tiny-ImageNet classes, as its record).
   */
  reference: string[];
  /**
   * `ercnn train` flags for a network (`pretrained`: the backbone file, for the aligned network; `k`: the plan's
   * block size), or null where the network does not exist for this dataset yet.
   */
  trainFlags(network: Network, b: Budget, pretrained: string | null, k: number): string[] | null;
}

/** airbench94's warm-up (2.3 of its 10 epochs), scaled to the budget's epochs. */
const airbenchWarmup = (b: Budget) => ["--warmup-epochs", String(+(0.23 * b.epochs).toFixed(3))];
const common = (b: Budget) => ["--epochs", String(b.epochs), "--batch-size", String(b.batchSize), "--seed", "1"];
/** The aligned network's flags: the adaptation in front of a recipe, at the budget. */
const aligned = (recipe: string, b: Budget) => [
  ...["--recipe", recipe, "--adapt", "aligned", "--val-fraction", "0"],
  ...airbenchWarmup(b),
  ...common(b),
];

/**
 * vit_block_tiny's flags: AdamW with a cosine schedule, no augmentation (moves would break the block grid); patches of
 * k×k (`--block-size`: a plain store has no key to take it from).
 */
const vitBlock = (b: Budget, k: number) => [
  ...["--backbone", "vit_block_tiny", "--block-size", String(k), "--adapt", "none"],
  ...["--optimizer", "adamw", "--lr", "0.001"],
  ...["--weight-decay", "0.05", "--schedule", "cosine"],
  ...["--warmup-epochs", String(+(0.125 * b.epochs).toFixed(3))],
  ...["--label-smoothing", "0.1", "--augment", "none", "--normalize", "store", "--val-fraction", "0"],
  ...common(b),
];

export const DATASETS: Readonly<Record<string, DatasetPlan>> = {
  cifar10: {
    preset: "cifar10",
    blockSize: 4,
    // 22.7 min on the idle 2-core machine: 5 aligned runs, 3 vit_block_tiny runs, 2 Hill audits and 13 stores.
    budget: { train: 5000, test: 1000, epochs: 3, batchSize: 256 },
    pretrained: null,
    reference: ["--split", "test"],
    trainFlags: (net, b, _pretrained, k) => (net === "aligned" ? aligned("airbench94", b) : vitBlock(b, k)),
  },
  // The k = 8 column: tiny50 (64×64). The aligned network takes the tiny50 record's recipe (airbench94 behind a
  // 64→32 px downscale) from its backbone pretrained on the 150 other, plain classes (public photos: the same the
  // eavesdropper reads); vit_block_tiny (no pretrained weights) sees the same 8×8 grid of blocks as on CIFAR-10.
  tiny50: {
    preset: "tiny50",
    blockSize: 8,
    // 6 epochs: at 3 the pretrained aligned network reached only 17.9% on plain images (hill: 13.6%), too near
    // chance (2%) for the schemes' differences to show.
    budget: { train: 5000, test: 1000, epochs: 6, batchSize: 256 },
    pretrained: {
      file: "runs/tiny50-record/pretrain/backbone.safetensors",
      make: "VARIANTS=plain bash bench/experiments/tiny50-record.sh runs/tiny50-record (pretraining: 39 min)",
    },
    reference: ["--part", "pretrain", "--split", "train"],
    trainFlags: (net, b, pretrained, k) =>
      net === "aligned"
        ? [...aligned("tiny50", b), ...(pretrained ? ["--pretrained", pretrained] : [])]
        : vitBlock(b, k),
  },
};
