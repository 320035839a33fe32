// Training configuration as data: TRAIN_OPTIONS owns every option's flag, kind (type, range, choices), default and
// help. The `train`/`pretrain` command line, the validation of flags and JSON config files, the help text and the
// TrainConfig type are all derived from it, so a new option is one row here (plus the code that uses it).
// Defaults are the study's (SGD momentum 0.9, lr 0.002, batch 32, 5-epoch rounds).
import { readFileSync } from "node:fs";
import { NORMALIZE_MODES } from "../data/index.ts";
import { ADAPT_AUGMENTS, listBackbones, TEST_TIME_AUGMENTS } from "../models/index.ts";
import { RECIPE_NAMES, recipeHelp, recipeValues } from "./recipes.ts";

/** What a value may be: the CLI picks its parser from this, resolveConfig checks config-file values against it. */
export type OptionKind =
  | { type: "integer"; min: number }
  | { type: "number"; min: number; below?: number }
  | { type: "choice"; choices: readonly string[] }
  | { type: "list"; choices: readonly string[]; noun: string }
  | { type: "boolean" }
  | { type: "text" };

export interface TrainOption<T> {
  /** Commander spelling: "-b, --batch-size <n>", or "--nesterov" for a boolean. */
  flag: string;
  /** One line; the default is appended by the CLI. */
  help: string;
  default: T;
  kind: OptionKind;
  /** null is a valid value (it means "none" or "automatic", as the help says). */
  nullable?: boolean;
  /** More spellings of the same option ("--round-epochs <n>"). */
  aliases?: readonly string[];
}

const ANY_INTEGER = Number.MIN_SAFE_INTEGER;
const integer = (flag: string, dflt: number, help: string, min = 1): TrainOption<number> => ({
  flag,
  help,
  default: dflt,
  kind: { type: "integer", min },
});
const optionalInteger = (flag: string, help: string, min = 1): TrainOption<number | null> => ({
  flag,
  help,
  default: null,
  nullable: true,
  kind: { type: "integer", min },
});
const number = (flag: string, dflt: number, help: string, min = 0, below?: number): TrainOption<number> => ({
  flag,
  help,
  default: dflt,
  kind: { type: "number", min, below },
});
const optionalNumber = (flag: string, help: string, min = 0, below?: number): TrainOption<number | null> => ({
  flag,
  help,
  default: null,
  nullable: true,
  kind: { type: "number", min, below },
});
const choice = <const T extends string>(
  flag: string,
  choices: readonly T[],
  dflt: NoInfer<T>,
  help: string,
): TrainOption<T> => ({ flag, help, default: dflt, kind: { type: "choice", choices } });
const path = (flag: string, help: string): TrainOption<string | null> => ({
  flag,
  help,
  default: null,
  nullable: true,
  kind: { type: "text" },
});
const boolean = (flag: string, help: string): TrainOption<boolean> => ({
  flag,
  help,
  default: false,
  kind: { type: "boolean" },
});

/** Parts of the ER model that --freeze can keep fixed. */
const MODEL_PARTS = ["adapt", "backbone", "head"] as const;

/**
 * Every training option. Keys are the TrainConfig field names (and the camelCase of the long flag); units are in
 * the help. Cross-field rules live in RULES below.
 */
export const TRAIN_OPTIONS = {
  // data
  test: path("--test <store>", "store for the final test number (touched once, after model selection)"),
  valFraction: number("--val-fraction <f>", 0.1, "stratified validation share of the training store", 0, 1),
  limit: optionalInteger("--limit <n>", "use only n training images (seeded, stratified; default all)", 2),
  normalize: choice("--normalize <mode>", NORMALIZE_MODES, "imagenet", "input normalisation (imagenet as the study)"),
  augment: choice("--augment <mode>", ["cipher-safe", "plain", "none"], "none", "augmentation of the loader's images"),
  blockFlip: boolean("--block-flip", "cipher-safe augmentation also mirrors the block order (half the images)"),
  workers: integer("--workers <n>", 2, "loader worker threads"),
  // model
  backbone: choice("--backbone <name>", listBackbones(), "resnet20", "backbone"),
  adapt: choice("--adapt <kind>", ["aligned", "seed", "none"], "aligned", "adaptation network in front of it"),
  adaptInit: choice(
    "--adapt-init <how>",
    ["default", "whiten", "attack"],
    "default",
    "aligned adaptation init, all key-free: PyTorch default, block whitening of the training ciphertexts, or the " +
      "ciphertext-only attack's key estimate (needs --reference)",
  ),
  reference: path(
    "--reference <store>",
    "plain store whose image statistics --adapt-init attack compares with, or 'synthetic' (fitted dead-leaves images)",
  ),
  blockSize: optionalInteger("--block-size <k>", "adaptation block size (default: the store key's)"),
  pretrained: path(
    "--pretrained <file|name>",
    "backbone weights loaded at the start of every round: a safetensors/.pth file, torchvision:<model>.<WEIGHTS> " +
      "(e.g. torchvision:convnext_base.IMAGENET1K_V1) or timm:<name>, downloaded once into $TORCH_HOME/hub/checkpoints",
  ),
  keyFolded: path("--key-folded <keyfile>", "fold this key's inverse into the adaptation (the key-holder's bound)"),
  evalKey: path("--eval-key <keyfile>", "key used ONLY to measure decryption quality (PSNR/SSIM), never to train"),
  resize: optionalInteger("--resize <px>", "resize between adaptation and backbone (ImageNet nets)"),
  dropPath: optionalNumber("--drop-path <p>", "stochastic depth rate (ConvNeXt; default: the backbone's)", 0, 1),
  adaptAugment: choice(
    "--adapt-augment <how>",
    ADAPT_AUGMENTS,
    "none",
    "augment the adaptation output (flip-crop: CIFAR flip + padded crop; valid only where it decrypts)",
  ),
  tta: choice(
    "--tta <how>",
    TEST_TIME_AUGMENTS,
    "none",
    "test-time augmentation for val/test (flip: average with the mirrored adaptation output)",
  ),
  freeze: {
    flag: "--freeze <parts>",
    help: `keep parts fixed: comma list of ${MODEL_PARTS.join(", ")}`,
    default: [],
    kind: { type: "list", choices: MODEL_PARTS, noun: "parts" },
  } as TrainOption<(typeof MODEL_PARTS)[number][]>,
  // optimisation
  recipe: choice(
    "--recipe <name>",
    ["none", ...RECIPE_NAMES],
    "none",
    `start from a recipe's table (train/recipes.ts; every value still a flag): ${recipeHelp()}`,
  ),
  optimizer: choice(
    "--optimizer <name>",
    ["sgd", "adam", "adamw", "muon"],
    "sgd",
    "optimizer (muon: Muon on the backbone's conv filters, SGD with --momentum/--nesterov on the rest)",
  ),
  hyperUnits: choice(
    "--hyper-units <u>",
    ["plain", "per-1024"],
    "plain",
    "units of --lr/--weight-decay: the optimizer's, or per 1024 examples decoupled from momentum and lr (recipes.ts)",
  ),
  biasLrScale: number("--bias-lr-scale <x>", 1, "learning-rate multiplier of BatchNorm biases (not of their decay)"),
  adaptLrScale: number(
    "--adapt-lr-scale <x>",
    1,
    "learning-rate multiplier of the adaptation network (not of its decay): below 1 a trained adaptation that starts " +
      "from an estimate moves slowly (multi-round; SGD recipes)",
  ),
  adaptDecayScale: number(
    "--adapt-decay-scale <x>",
    1,
    "weight-decay multiplier of the adaptation network (per step): 0 leaves a map that starts from an estimate " +
      "unpulled toward zero, as the study (no weight decay) (SGD recipes)",
  ),
  muonLr: number("--muon-lr <lr>", 0.24, "Muon's learning rate (--optimizer muon)"),
  muonMomentum: number("--muon-momentum <m>", 0.6, "Muon's Nesterov momentum (--optimizer muon)", 0, 1),
  lr: number("--lr <lr>", 0.002, "learning rate (the study's)"),
  momentum: number("--momentum <m>", 0.9, "SGD momentum"),
  nesterov: boolean("--nesterov", "Nesterov momentum"),
  weightDecay: number("--weight-decay <wd>", 0, "weight decay"),
  batchSize: integer("-b, --batch-size <n>", 32, "batch size in images (the study's)"),
  epochs: { ...integer("-e, --epochs <n>", 5, "epochs per round"), aliases: ["--round-epochs <n>"] },
  rounds: integer("--rounds <n>", 1, "multi-round training (the study's §5.1): rounds, each with a fresh backbone"),
  schedule: choice(
    "--schedule <name>",
    ["none", "step", "cosine", "linear"],
    "none",
    "learning-rate schedule (linear: warm-up from --warmup-start × lr, then straight to --final-lr × lr)",
  ),
  warmupStart: number("--warmup-start <f>", 0.2, "linear schedule: lr fraction the warm-up starts from", 0.001, 1.001),
  finalLr: number("--final-lr <f>", 0, "linear schedule: lr fraction at the last step", 0, 1.001),
  warmupEpochs: number("--warmup-epochs <n>", 0, "linear warm-up in epochs (fractional allowed)"),
  stepSize: integer("--step-size <epochs>", 10, "StepLR period in epochs"),
  gamma: number("--gamma <g>", 0.1, "StepLR factor"),
  labelSmoothing: number("--label-smoothing <eps>", 0, "label smoothing", 0, 1),
  lookaheadEvery: optionalInteger(
    "--lookahead-every <steps>",
    "Lookahead: every n steps, weights and an EMA of them (decay 0.95^n·(step/total)³) meet; the round ends on the EMA",
  ),
  whitenInit: boolean(
    "--whiten-init",
    "backbone's patch-whitening conv (airbench) from the patch covariance of up to 5,000 adaptation outputs",
  ),
  whitenBiasEpochs: optionalInteger(
    "--whiten-bias-epochs <n>",
    "the backbone's whitening bias trains only in the first n epochs of a round (default: throughout)",
  ),
  memoryFormat: choice(
    "--memory-format <name>",
    ["contiguous", "channels_last"],
    "contiguous",
    "the backbone's memory layout: contiguous (NCHW) or channels_last (NHWC, oneDNN's native CPU convolution layout)",
  ),
  // run
  seed: integer("--seed <n>", 0, "seed for splits, shuffling and initialisation", ANY_INTEGER),
  threads: optionalInteger("--threads <n>", "libtorch threads (default: libtorch's choice)"),
  decryptSamples: integer("--decrypt-samples <n>", 8, "samples in the eavesdropper's decryption pictures"),
  // devices and data parallelism (docs/distributed.md)
  device: {
    flag: "--device <name>",
    help: "cpu, cuda or cuda:N: model, optimizer state and batches on it (checkpoints stay CPU-readable)",
    default: "cpu",
    kind: { type: "text" },
  } as TrainOption<string>,
  nproc: optionalInteger(
    "--nproc <n>",
    "data-parallel: start n local ranks (like torchrun --standalone); --batch-size is per rank",
  ),
  distTimeout: number(
    "--dist-timeout <s>",
    600,
    "seconds a rank waits for the others in a collective before failing with the silent rank's number",
    1,
  ),
  bucketCapMb: number(
    "--bucket-cap-mb <MB>",
    25,
    "DDP gradient bucket size in MiB (all-reduced during backward)",
    0.001,
  ),
  syncBn: boolean(
    "--sync-bn",
    "data-parallel: BatchNorm statistics of the global batch (SyncBatchNorm) instead of each rank's (DDP's default); " +
      "ignored with a note in a single process",
  ),
} satisfies Record<string, TrainOption<unknown>>;

type ValueOf<O> = O extends TrainOption<infer T> ? T : never;
export type TrainOptionValues = { -readonly [K in keyof typeof TRAIN_OPTIONS]: ValueOf<(typeof TRAIN_OPTIONS)[K]> };
export type TrainOptionKey = keyof typeof TRAIN_OPTIONS;

export interface TrainConfig extends TrainOptionValues {
  /** Store with the training images (a seeded stratified share becomes the validation split). */
  train: string;
  /** Run directory: config, metrics, checkpoints, pictures, report. */
  out: string;
}

export type OptimizerName = TrainConfig["optimizer"];
export type ScheduleName = TrainConfig["schedule"];
/** How the aligned adaptation starts (models/whiten.ts, attack/store.ts); none uses the key. */
export type AdaptInit = TrainConfig["adaptInit"];
export type PartialTrainConfig = Partial<TrainConfig> & Pick<TrainConfig, "train" | "out">;

export const DEFAULTS = Object.fromEntries(
  Object.entries(TRAIN_OPTIONS).map(([k, o]) => [k, o.default]),
) as TrainOptionValues;

/** The problem with `v` for an option of this kind, or null. */
export function kindProblem(o: TrainOption<unknown>, v: unknown): string | null {
  if (v === null && o.nullable) return null;
  const k = o.kind;
  switch (k.type) {
    case "integer":
      if (typeof v === "number" && Number.isInteger(v) && v >= k.min) return null;
      return k.min === ANY_INTEGER
        ? "must be an integer"
        : k.min === 1
          ? "must be a positive integer"
          : `must be an integer ≥ ${k.min}`;
    case "number":
      if (typeof v === "number" && Number.isFinite(v) && v >= k.min && (k.below === undefined || v < k.below))
        return null;
      return k.below === undefined ? `must be a number ≥ ${k.min}` : `must be in [${k.min}, ${k.below})`;
    case "choice":
      return k.choices.includes(v as string) ? null : `must be one of ${k.choices.join(", ")}`;
    case "list":
      if (Array.isArray(v) && v.every((p) => k.choices.includes(p))) return null;
      return `must list ${k.noun} among ${k.choices.join(", ")}`;
    case "boolean":
      return typeof v === "boolean" ? null : "must be true or false";
    case "text":
      return typeof v === "string" && v !== "" ? null : "must be a non-empty string";
  }
}

/** Rules between options: [the field to blame, the problem, when it applies]. */
/** Parameter groups, per-1024 units and their scales are built for SGD momentum (plain SGD or Muon's SGD part). */
const sgdFamily = (c: TrainConfig) => c.optimizer === "sgd" || c.optimizer === "muon";

const RULES: [TrainOptionKey, string, (c: TrainConfig) => boolean][] = [
  [
    "warmupEpochs",
    "must be fewer than the epochs per round",
    (c) => c.warmupEpochs >= c.epochs && c.schedule !== "none",
  ],
  ["adapt", "must be 'aligned' for a key-folded adaptation", (c) => !!c.keyFolded && c.adapt !== "aligned"],
  [
    "adapt",
    "must be 'aligned' for a non-default --adapt-init",
    (c) => c.adaptInit !== "default" && c.adapt !== "aligned",
  ],
  ["adaptInit", "must be 'default' with a key-folded adaptation", (c) => c.adaptInit !== "default" && !!c.keyFolded],
  ["reference", "must name a plain store for --adapt-init attack", (c) => c.adaptInit === "attack" && !c.reference],
  ["blockFlip", "needs augment 'cipher-safe'", (c) => c.blockFlip && c.augment !== "cipher-safe"],
  [
    "adaptLrScale",
    "other than 1 needs --optimizer sgd or muon (parameter groups are built for SGD)",
    (c) => c.adaptLrScale !== 1 && !sgdFamily(c),
  ],
  [
    "adaptDecayScale",
    "other than 1 needs --optimizer sgd or muon (parameter groups are built for SGD)",
    (c) => c.adaptDecayScale !== 1 && !sgdFamily(c),
  ],
  [
    "hyperUnits",
    "per-1024 needs --optimizer sgd or muon (it is stated for SGD momentum)",
    (c) => c.hyperUnits === "per-1024" && !sgdFamily(c),
  ],
];

/** Fills defaults and checks every field; errors name the field and the value. */
export function resolveConfig(partial: PartialTrainConfig): TrainConfig {
  const c = { ...DEFAULTS, ...recipeValues(partial.recipe), ...stripUndefined(partial) } as TrainConfig;
  const bad = (k: string, why: string) => new Error(`train config: ${k} ${why} (got ${JSON.stringify((c as any)[k])})`);
  for (const k of ["train", "out"] as const) if (typeof c[k] !== "string" || !c[k]) throw bad(k, "must name a folder");
  for (const [k, o] of Object.entries(TRAIN_OPTIONS) as [TrainOptionKey, TrainOption<unknown>][]) {
    const why = kindProblem(o, c[k]);
    if (why) throw bad(k, why);
  }
  for (const [k, why, broken] of RULES) if (broken(c)) throw bad(k, why);
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
  const known = new Set([...Object.keys(TRAIN_OPTIONS), "train", "out"]);
  const unknown = Object.keys(raw).filter((k) => !known.has(k));
  if (unknown.length) throw new Error(`${path}: unknown config field(s) ${unknown.join(", ")}`);
  return raw as Partial<TrainConfig>;
}

function stripUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
