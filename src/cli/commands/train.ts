import { Command, Option } from "commander";
import { launchRanks } from "../../train/distributed-launch.ts";
import {
  DEFAULTS,
  type PartialTrainConfig,
  readConfigFile,
  TRAIN_OPTIONS,
  type TrainOption,
  train,
} from "../../train/index.ts";
import { integer, nonNegativeInteger, number, positiveInteger } from "../parse.ts";
import { createProgress } from "../progress.ts";

/** The command-line parser of an option of this kind (range checks beyond these are resolveConfig's). */
function parserFor(o: TrainOption<unknown>): ((v: string) => unknown) | undefined {
  const k = o.kind;
  if (k.type === "integer") return k.min >= 1 ? positiveInteger : k.min === 0 ? nonNegativeInteger : integer;
  if (k.type === "number") return number;
  if (k.type === "list")
    return (v: string) =>
      v
        .split(",")
        .map((s) => s.trim())
        .filter(Boolean);
  return undefined;
}

function helpFor(key: string, o: TrainOption<unknown>): string {
  const d = (DEFAULTS as Record<string, unknown>)[key];
  const shown = d === null || d === false || (Array.isArray(d) && !d.length) ? "" : ` (default ${String(d)})`;
  return `${o.help}${shown}`;
}

/** The long flag's attribute name as commander spells it ("--adapt-init <how>" → "adaptInit"). */
const attributeOf = (flag: string) => new Option(flag).attributeName();

/** The flags shared by `train` and `pretrain`, all derived from TRAIN_OPTIONS (train/config.ts). */
export function addTrainOptions(c: Command): Command {
  c.option("--config <file>", "JSON file with any training settings (flags override it)");
  c.option("-o, --out <dir>", "run directory (config, metrics.jsonl, checkpoints, pictures)");
  for (const [key, o] of Object.entries(TRAIN_OPTIONS) as [string, TrainOption<unknown>][]) {
    if (attributeOf(o.flag) !== key) throw new Error(`train option ${key}: flag ${o.flag} does not spell it`);
    for (const flag of [o.flag, ...(o.aliases ?? [])]) {
      const opt = new Option(flag, flag === o.flag ? helpFor(key, o) : `alias of ${o.flag.replace(/ <.*/, "")}`);
      if (o.kind.type === "choice") opt.choices(o.kind.choices);
      const parse = parserFor(o);
      if (parse) opt.argParser(parse);
      c.addOption(opt);
    }
  }
  return c
    .option("--resume", "continue the run in --out from its last checkpoint (the run's own settings)")
    .option("-q, --quiet", "no progress bar");
}

/** Merges config file and flags into a TrainConfig-shaped object: flags override the file. */
export function configFromFlags(store: string, o: Record<string, unknown>): PartialTrainConfig {
  const file = o.config ? readConfigFile(o.config as string) : {};
  const flags: Record<string, unknown> = {};
  if (o.out !== undefined) flags.out = o.out;
  for (const [key, opt] of Object.entries(TRAIN_OPTIONS) as [string, TrainOption<unknown>][])
    for (const flag of [opt.flag, ...(opt.aliases ?? [])]) {
      const v = o[attributeOf(flag)];
      if (v !== undefined) flags[key] = v;
    }
  const merged = { ...file, ...flags, train: store } as Partial<PartialTrainConfig> & { train: string };
  if (!merged.out) throw new Error('give --out <dir> (or "out" in --config)');
  return merged as PartialTrainConfig;
}

/**
 * --nproc N outside a launched group: this process becomes the launcher of N ranks of the same command (each sees
 * WORLD_SIZE and trains); true when it did, with the exit code set from the ranks'.
 */
export async function launchedRanks(cfg: PartialTrainConfig): Promise<boolean> {
  if (!cfg.nproc || process.env.WORLD_SIZE) return false;
  const res = await launchRanks({
    nproc: cfg.nproc,
    args: process.argv.slice(2),
    graceMs: 1000 * (cfg.distTimeout ?? DEFAULTS.distTimeout),
  });
  process.exitCode = res.code;
  return true;
}

/** The per-epoch progress bar of the training commands (images, rate, ETA, running loss and accuracy). */
export const trainProgress = (label: string, total: number) => createProgress({ label, total, unit: "img" });

export function trainCommand(): Command {
  return addTrainOptions(
    new Command("train")
      .description("train an ER model (adaptation network + backbone + new head) on an encrypted store")
      .argument("<store>", "training store (ercnn encrypt output)"),
  ).action(async (store: string, o) => {
    const cfg = configFromFlags(store, o);
    if (await launchedRanks(cfg)) return;
    const r = await train(cfg, { resume: !!o.resume, quiet: !!o.quiet, progress: trainProgress });
    if ((process.env.RANK ?? "0") !== "0") return;
    if (r.testAcc !== null) process.stdout.write(`test accuracy ${(100 * r.testAcc).toFixed(2)}%\n`);
    process.stdout.write(`run directory: ${cfg.out}\n`);
  });
}
