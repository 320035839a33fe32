// Training recipes as data: `ercnn train --recipe <name>` starts from one of these tables instead of the study's
// defaults; every value stays a flag (a flag or a --config field overrides the table) and the resolved values are
// what the run's config.json records.
//
// Units (--hyper-units per-1024, airbench's "decoupled" form): lr is per 1024 examples and independent of the
// momentum, so the optimizer's lr on the batch-mean loss is lr·B / (1024·(1 + 1/(1 − momentum))); weight decay is
// the fraction of each weight removed per 1024 examples, whatever the group's lr (BatchNorm biases get
// --bias-lr-scale × the lr, not × the decay). Muon's lr is in its own units (the update is orthogonalised, so it
// does not scale with the gradient).
import type { TrainConfig } from "./config.ts";

export interface Recipe {
  /** One line for --help. */
  summary: string;
  values: Partial<TrainConfig>;
}

/** The elements both airbench recipes share (augmentation on the adaptation output, whitening, 6-view TTA). */
const AIRBENCH_COMMON: Partial<TrainConfig> = {
  optimizer: "sgd",
  hyperUnits: "per-1024",
  momentum: 0.85,
  nesterov: true,
  labelSmoothing: 0.2,
  schedule: "linear",
  whitenInit: true,
  whitenBiasEpochs: 3,
  adaptAugment: "flip-translate",
  tta: "six-view",
};

/**
 * The tiny50 pair (64×64 Tiny-ImageNet, approach one, 2 CPU cores): airbench94 behind a 2× bilinear downscale (an
 * exact 2×2 average at this ratio), which costs what airbench94 costs on CIFAR-10 and keeps its fast recipe; both
 * halves use ImageNet's normalisation so that the adaptation's output (the decrypted, normalised plaintext) is in
 * the space the pretrained backbone learned.
 */
const TINY50_COMMON: Partial<TrainConfig> = {
  ...AIRBENCH_COMMON,
  backbone: "airbench94",
  // 64 → 32 px between adaptation and backbone: airbench94's cost and shape (its head needs a 32-px input)
  resize: 32,
  // ImageNet's constants in both halves: a store's own statistics differ between plaintexts and ciphertexts
  normalize: "imagenet",
  // no validation split: the recipe is fixed in advance and every image trains
  valFraction: 0,
  weightDecay: 0.0153,
  biasLrScale: 64,
  lookaheadEvery: 5,
  warmupStart: 0.2,
  finalLr: 0.07,
};

/** tiny50-pretrain: the 150 plain classes (75,000 images) within 60 minutes on 2 cores. */
const TINY50_PRETRAIN: Partial<TrainConfig> = {
  ...TINY50_COMMON,
  // airbench94's batch: 73 steps per epoch of 75,000 images
  batchSize: 1024,
  // 5 × 75,000 images: 43 minutes at airbench94's 145 img/s on 2 idle cores, 57 at 110 img/s
  epochs: 5,
  lr: 11.5,
  // airbench94's warm-up share (23% of the steps; 24% here)
  warmupEpochs: 1.2,
};

/** tiny50: the ER model on the 50 encrypted classes (25,000 images) from the pretrained backbone. */
const TINY50_ER: Partial<TrainConfig> = {
  ...TINY50_COMMON,
  // 49 steps per epoch of 25,000 images
  batchSize: 512,
  // 12 × 25,000 images: 35 minutes at 145 img/s, 45 at 110 img/s, leaving time for the attack and the test
  epochs: 12,
  lr: 11.5,
  // the pretrained backbone brings its own whitening conv: re-fitting it would scramble its learned filters'
  // inputs (pass --whiten-init when training from scratch)
  whitenInit: false,
  // 12% of the steps (a pretrained start needs less than airbench94's 23%)
  warmupEpochs: 1.4,
};

export const RECIPE_NAMES = ["airbench94", "airbench94-muon", "tiny50-pretrain", "tiny50"] as const;
export type RecipeName = (typeof RECIPE_NAMES)[number];

export const RECIPES: Record<RecipeName, Recipe> = {
  airbench94: {
    summary: "legacy/airbench94.py (94.01% on CIFAR-10 plaintexts in 9.9 epochs; 10 here)",
    values: {
      ...AIRBENCH_COMMON,
      backbone: "airbench94",
      batchSize: 1024,
      epochs: 10,
      lr: 11.5,
      weightDecay: 0.0153,
      biasLrScale: 64,
      // 23% of the steps warm up from 0.2 × lr, then a linear decay to 0.07 × lr
      warmupEpochs: 2.3,
      warmupStart: 0.2,
      finalLr: 0.07,
      lookaheadEvery: 5,
    },
  },
  "airbench94-muon": {
    summary: "airbench94_muon.py (94.01% in 8 epochs): Muon on the conv filters, Nesterov SGD on the rest",
    values: {
      ...AIRBENCH_COMMON,
      backbone: "airbench94_muon",
      optimizer: "muon",
      muonLr: 0.24,
      muonMomentum: 0.6,
      batchSize: 2000,
      epochs: 8,
      // its head lr 0.67 and decay 2e-6 per example on the summed loss, in per-1024 units at momentum 0.85;
      // BatchNorm biases at its 0.053
      lr: 0.67 * 1024 * (1 + 1 / 0.15),
      weightDecay: (2e-6 * 2000 * 1024 * (1 + 1 / 0.15)) / 2000,
      biasLrScale: 0.053 / 0.67,
      warmupEpochs: 0,
      finalLr: 0,
      lookaheadEvery: null,
    },
  },
  "tiny50-pretrain": {
    summary: "airbench94 behind a 64→32 px downscale, 5 epochs of the 150 plain tiny50 classes (≤ 60 min, 2 cores)",
    values: TINY50_PRETRAIN,
  },
  tiny50: {
    summary: "the ER model on tiny50 (k = 8) from a tiny50-pretrain backbone: 12 epochs, ImageNet normalisation",
    values: TINY50_ER,
  },
};

/** The table of a recipe ("none" or an unknown name: nothing; the option check names a wrong one). */
export function recipeValues(name: string | undefined | null): Partial<TrainConfig> {
  return name && name in RECIPES ? { ...RECIPES[name as RecipeName].values } : {};
}

/** "name: summary" lines for --help. */
export function recipeHelp(): string {
  return RECIPE_NAMES.map((n) => `${n} = ${RECIPES[n].summary}`).join("; ");
}
