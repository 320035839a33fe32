// Training configuration: defaults from the study (SGD momentum 0.9, lr 0.002, batch 32, 5-epoch rounds),
// validation, and loading from a JSON file merged under command-line flags.
import { readFileSync } from "node:fs";
import { type AugmentMode, NORMALIZE_MODES, type NormalizeMode } from "../data/index.ts";
import {
  ADAPT_AUGMENTS,
  type AdaptAugment,
  type AdaptKind,
  type ModelPart,
  TEST_TIME_AUGMENTS,
  type TestTimeAugment,
} from "../models/index.ts";

export type OptimizerName = "sgd" | "adam" | "adamw";
export type ScheduleName = "none" | "step" | "cosine";
/**
 * How the aligned adaptation starts: PyTorch's default init; key-free ZCA whitening of the cipher blocks
 * (models/whiten.ts); or the ciphertext-only attack's key estimate folded in (cipher/statistical-attack.ts, needs a
 * plain `reference` store). None of them uses the key.
 */
export type AdaptInit = "default" | "whiten" | "attack";

export interface TrainConfig {
  /** Store with the training images (a seeded stratified share becomes the validation split). */
  train: string;
  /** Store for the final test number (touched once, after model selection); null = none. */
  test: string | null;
  /** Run directory: config, metrics, checkpoints, pictures, report. */
  out: string;
  backbone: string;
  adapt: AdaptKind;
  /** Initialisation of the aligned adaptation (see models/whiten.ts); "whiten" uses training ciphertexts only. */
  adaptInit: AdaptInit;
  /**
   * Plain store whose natural-image statistics the "attack" init compares the ciphertexts with (up to 10,000 images
   * of each store; the training store's ciphertexts only, never the test store).
   */
  reference: string | null;
  /** Block size of the adaptation (default: the store's key block size). */
  blockSize: number | null;
  /** Backbone weights (safetensors/.pth) loaded at the start of every round; null = fresh init. */
  pretrained: string | null;
  /** Key file whose inverse is folded into the adaptation (the key-holder's oracle); null = learn it. */
  keyFolded: string | null;
  /** Key file used ONLY to measure decryption quality (PSNR/SSIM, map error); never used for training. */
  evalKey: string | null;
  resize: number | null;
  dropPath: number | null;
  optimizer: OptimizerName;
  lr: number;
  momentum: number;
  nesterov: boolean;
  weightDecay: number;
  batchSize: number;
  /** Epochs per round. */
  epochs: number;
  /** Multi-round training (the study's §5.1): each round keeps the adaptation, loads a fresh backbone. */
  rounds: number;
  schedule: ScheduleName;
  warmupEpochs: number;
  stepSize: number;
  gamma: number;
  labelSmoothing: number;
  valFraction: number;
  normalize: NormalizeMode;
  augment: AugmentMode;
  /**
   * Augmentation of the adaptation output inside the model ("flip-crop": the usual CIFAR flip and padded crop).
   * Valid only where the adaptation decrypts, e.g. with --adapt-init attack.
   */
  adaptAugment: AdaptAugment;
  /**
   * Test-time augmentation for validation and test ("flip": average the logits of the adaptation output and its
   * mirror). Like --adapt-augment, meaningful only where the adaptation decrypts.
   */
  tta: TestTimeAugment;
  /** Cipher-safe augmentation also mirrors the block order (not the pixels inside a block), half the time. */
  blockFlip: boolean;
  seed: number;
  threads: number | null;
  workers: number;
  /** Use only this many training images (seeded, stratified); null = all. */
  limit: number | null;
  /** Samples shown and measured by the eavesdropper's view each epoch. */
  decryptSamples: number;
  /** Parts kept fixed ("backbone": train only the adaptation and the head, e.g. on a pretrained backbone). */
  freeze: ModelPart[];
}

export const DEFAULTS: Omit<TrainConfig, "train" | "out"> = {
  test: null,
  backbone: "resnet20",
  adapt: "aligned",
  adaptInit: "default",
  reference: null,
  blockSize: null,
  pretrained: null,
  keyFolded: null,
  evalKey: null,
  resize: null,
  dropPath: null,
  optimizer: "sgd",
  lr: 0.002,
  momentum: 0.9,
  nesterov: false,
  weightDecay: 0,
  batchSize: 32,
  epochs: 5,
  rounds: 1,
  schedule: "none",
  warmupEpochs: 0,
  stepSize: 10,
  gamma: 0.1,
  labelSmoothing: 0,
  valFraction: 0.1,
  normalize: "imagenet",
  augment: "none",
  adaptAugment: "none",
  tta: "none",
  blockFlip: false,
  seed: 0,
  threads: null,
  workers: 2,
  limit: null,
  decryptSamples: 8,
  freeze: [],
};

const ONE_OF: Partial<Record<keyof TrainConfig, readonly string[]>> = {
  adapt: ["aligned", "seed", "none"],
  adaptInit: ["default", "whiten", "attack"],
  optimizer: ["sgd", "adam", "adamw"],
  schedule: ["none", "step", "cosine"],
  normalize: NORMALIZE_MODES,
  augment: ["cipher-safe", "plain", "none"],
  adaptAugment: ADAPT_AUGMENTS,
  tta: TEST_TIME_AUGMENTS,
};

/** Fills defaults and checks every field; errors name the field and the value. */
export function resolveConfig(partial: Partial<TrainConfig> & Pick<TrainConfig, "train" | "out">): TrainConfig {
  const c = { ...DEFAULTS, ...stripUndefined(partial) } as TrainConfig;
  const bad = (k: string, why: string) => new Error(`train config: ${k} ${why} (got ${JSON.stringify((c as any)[k])})`);
  for (const [k, allowed] of Object.entries(ONE_OF))
    if (!allowed!.includes((c as any)[k])) throw bad(k, `must be one of ${allowed!.join(", ")}`);
  for (const k of ["batchSize", "epochs", "rounds", "workers", "decryptSamples"] as const)
    if (!Number.isInteger(c[k]) || c[k] < 1) throw bad(k, "must be a positive integer");
  for (const k of ["lr", "momentum", "weightDecay", "labelSmoothing", "warmupEpochs", "gamma"] as const)
    if (!(Number.isFinite(c[k]) && c[k] >= 0)) throw bad(k, "must be a non-negative number");
  if (!(c.valFraction >= 0 && c.valFraction < 1)) throw bad("valFraction", "must be in [0, 1)");
  if (c.labelSmoothing >= 1) throw bad("labelSmoothing", "must be below 1");
  if (c.warmupEpochs >= c.epochs && c.schedule !== "none")
    throw bad("warmupEpochs", "must be fewer than the epochs per round");
  if (c.limit !== null && (!Number.isInteger(c.limit) || c.limit < 2)) throw bad("limit", "must be an integer ≥ 2");
  if (c.threads !== null && (!Number.isInteger(c.threads) || c.threads < 1))
    throw bad("threads", "must be a positive integer");
  if (!Array.isArray(c.freeze) || c.freeze.some((p) => !["adapt", "backbone", "head"].includes(p)))
    throw bad("freeze", "must list parts among adapt, backbone, head");
  if (c.keyFolded && c.adapt !== "aligned") throw bad("adapt", "must be 'aligned' for a key-folded adaptation");
  if (c.adaptInit !== "default" && c.adapt !== "aligned")
    throw bad("adapt", `must be 'aligned' for --adapt-init ${c.adaptInit}`);
  if (c.adaptInit !== "default" && c.keyFolded)
    throw bad("adaptInit", "must be 'default' with a key-folded adaptation");
  if (c.adaptInit === "attack" && !c.reference)
    throw bad("reference", "must name a plain store for --adapt-init attack");
  if (c.blockFlip && c.augment !== "cipher-safe") throw bad("blockFlip", "needs augment 'cipher-safe'");
  return c;
}

/** Reads a JSON config file (any subset of TrainConfig fields). */
export function readConfigFile(path: string): Partial<TrainConfig> {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new Error(`${path}: cannot read the training config: ${(e as Error).message}`);
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) throw new Error(`${path}: expected a JSON object`);
  const known = new Set([...Object.keys(DEFAULTS), "train", "out"]);
  const unknown = Object.keys(raw).filter((k) => !known.has(k));
  if (unknown.length) throw new Error(`${path}: unknown config field(s) ${unknown.join(", ")}`);
  return raw as Partial<TrainConfig>;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
