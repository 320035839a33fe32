import { Command, Option } from "commander";
import { NORMALIZE_MODES } from "../../data/index.ts";
import { ADAPT_AUGMENTS, listBackbones, TEST_TIME_AUGMENTS } from "../../models/index.ts";
import { readConfigFile, type TrainConfig, train } from "../../train/index.ts";

const int = (v: string) => {
  const n = Number(v);
  if (!Number.isInteger(n)) throw new Error(`expected an integer, got '${v}'`);
  return n;
};
const num = (v: string) => {
  const n = Number(v);
  if (!Number.isFinite(n)) throw new Error(`expected a number, got '${v}'`);
  return n;
};

/** The flags shared by `train` and `pretrain` (camelCase names match TrainConfig). */
export function addTrainOptions(c: Command): Command {
  return c
    .option("--config <file>", "JSON file with any training settings (flags override it)")
    .option("--test <store>", "store for the final test number (touched once, after model selection)")
    .option("-o, --out <dir>", "run directory (config, metrics.jsonl, checkpoints, pictures)")
    .option("--backbone <name>", `backbone (${listBackbones().join(", ")})`)
    .addOption(new Option("--adapt <kind>", "adaptation network").choices(["aligned", "seed", "none"]))
    .addOption(
      new Option(
        "--adapt-init <how>",
        "aligned adaptation init (all key-free): PyTorch default, block whitening, or the ciphertext-only attack's estimate",
      ).choices(["default", "whiten", "attack"]),
    )
    .option("--reference <store>", "plain store whose statistics --adapt-init attack compares with")
    .option("--block-size <k>", "adaptation block size (default: the store key's)", int)
    .option("--pretrained <file>", "backbone weights loaded at the start of every round (safetensors or .pth)")
    .option("--key-folded <keyfile>", "fold this key's inverse into the adaptation (the key-holder's upper bound)")
    .option("--eval-key <keyfile>", "key used ONLY to measure decryption quality (PSNR/SSIM), never for training")
    .option("--resize <px>", "resize between adaptation and backbone (ImageNet nets)", int)
    .option("--drop-path <p>", "stochastic depth rate (ConvNeXt)", num)
    .addOption(new Option("--optimizer <name>", "optimizer (default sgd)").choices(["sgd", "adam", "adamw"]))
    .option("--lr <lr>", "learning rate (default 0.002, the study's)", num)
    .option("--momentum <m>", "SGD momentum (default 0.9)", num)
    .option("--nesterov", "Nesterov momentum")
    .option("--weight-decay <wd>", "weight decay (default 0)", num)
    .option("-b, --batch-size <n>", "batch size (default 32, the study's)", int)
    .option("-e, --epochs <n>", "epochs per round (default 5)", int)
    .option("--rounds <n>", "multi-round training: rounds, each with a fresh backbone (default 1)", int)
    .option("--round-epochs <n>", "alias of --epochs for multi-round runs", int)
    .addOption(new Option("--schedule <name>", "learning-rate schedule").choices(["none", "step", "cosine"]))
    .option("--warmup-epochs <n>", "linear warm-up (epochs, fractional allowed)", num)
    .option("--step-size <epochs>", "StepLR period in epochs", int)
    .option("--gamma <g>", "StepLR factor", num)
    .option("--label-smoothing <eps>", "label smoothing", num)
    .option("--val-fraction <f>", "stratified validation share of the training store (default 0.1)", num)
    .addOption(
      new Option("--normalize <mode>", "input normalisation (default imagenet, as the study)").choices(NORMALIZE_MODES),
    )
    .addOption(new Option("--augment <mode>", "augmentation").choices(["cipher-safe", "plain", "none"]))
    .addOption(
      new Option(
        "--adapt-augment <how>",
        "augment the adaptation output (flip-crop: CIFAR flip + padded crop; valid only where it decrypts)",
      ).choices(ADAPT_AUGMENTS),
    )
    .addOption(
      new Option(
        "--tta <how>",
        "test-time augmentation for val/test (flip: average with the mirrored adaptation output)",
      ).choices(TEST_TIME_AUGMENTS),
    )
    .option("--block-flip", "cipher-safe augmentation also mirrors the block order (half the images)")
    .option("--seed <n>", "seed for splits, shuffling and initialisation", int)
    .option("--threads <n>", "libtorch threads", int)
    .option("--workers <n>", "loader worker threads", int)
    .option("--limit <n>", "use only n training images (stratified)", int)
    .option("--decrypt-samples <n>", "samples in the decryption pictures", int)
    .option("--freeze <parts>", "keep parts fixed: comma list of adapt, backbone, head", (v) =>
      v
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean),
    )
    .option("--resume", "continue the run in --out from its last checkpoint")
    .option("-q, --quiet", "no progress bar");
}

/** Merges config file and flags into a TrainConfig-shaped object. */
export function configFromFlags(
  store: string,
  o: Record<string, unknown>,
): Partial<TrainConfig> & { train: string; out: string } {
  const file = o.config ? readConfigFile(o.config as string) : {};
  const keys = [
    "test",
    "out",
    "backbone",
    "adapt",
    "adaptInit",
    "reference",
    "blockSize",
    "pretrained",
    "keyFolded",
    "evalKey",
    "resize",
    "dropPath",
    "optimizer",
    "lr",
    "momentum",
    "nesterov",
    "weightDecay",
    "batchSize",
    "epochs",
    "rounds",
    "schedule",
    "warmupEpochs",
    "stepSize",
    "gamma",
    "labelSmoothing",
    "valFraction",
    "normalize",
    "augment",
    "blockFlip",
    "adaptAugment",
    "tta",
    "seed",
    "threads",
    "workers",
    "limit",
    "decryptSamples",
    "freeze",
  ] as const;
  const flags: Record<string, unknown> = {};
  for (const k of keys) if (o[k] !== undefined) flags[k] = o[k];
  if (o.roundEpochs !== undefined) flags.epochs = o.roundEpochs;
  const merged = { ...file, ...flags, train: store } as Partial<TrainConfig> & { train: string };
  if (!merged.out) throw new Error('give --out <dir> (or "out" in --config)');
  return merged as Partial<TrainConfig> & { train: string; out: string };
}

export function trainCommand(): Command {
  return addTrainOptions(
    new Command("train")
      .description("train an ER model (adaptation network + backbone + new head) on an encrypted store")
      .argument("<store>", "training store (ercnn encrypt output)"),
  ).action(async (store: string, o) => {
    const r = await train(configFromFlags(store, o), { resume: !!o.resume, quiet: !!o.quiet });
    if (r.testAcc !== null) process.stdout.write(`test accuracy ${(100 * r.testAcc).toFixed(2)}%\n`);
    process.stdout.write(`run directory: ${o.out ?? "(from config)"}\n`);
  });
}
