// Which input normalisation a trained model expects: the mean/std its trainer recorded in the checkpoint (the
// training store's statistics), unless the user names a mode; checkpoints from before that record fall back to the
// run's configured mode, with "store" meaning the statistics of the training store its config.json names.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type Normalization, type NormalizeMode, normalizationFor, Store } from "../data/index.ts";
import type { CheckpointMeta } from "../models/index.ts";

/** `runDir` is the run directory (its config.json names the mode) or a bare checkpoint directory. */
export function runNormalization(
  runDir: string,
  meta: CheckpointMeta,
  store: Store,
  override?: NormalizeMode,
): Normalization | null {
  const recorded = meta.extra?.normalization as Normalization | null | undefined;
  if (override === undefined && recorded !== undefined) return recorded;
  const cfgPath = join(runDir, "config.json");
  let cfg: { normalize?: NormalizeMode; train?: string } | null = null;
  try {
    cfg = existsSync(cfgPath) ? JSON.parse(readFileSync(cfgPath, "utf8")) : null;
  } catch (e) {
    throw new Error(`${cfgPath}: unreadable run config: ${(e as Error).message}`);
  }
  const mode = (override ?? cfg?.normalize ?? "imagenet") as NormalizeMode;
  const trainDir = typeof cfg?.train === "string" ? cfg.train : null;
  const trainStore = mode === "store" && trainDir !== null && existsSync(join(trainDir, "meta.json"));
  return normalizationFor(mode, trainStore ? Store.open(trainDir).meta : store.meta);
}
