// Checkpoints: a folder with `model.safetensors` (the ER model's state dict, PyTorch names: adapt.*, backbone.*),
// `checkpoint.json` (model config, class names, key fingerprint, epoch, metrics, ...) and, when given,
// `optimizer.safetensors` (the optimizer's state, src/torch/optim/serialize.ts). Files are written atomically.

import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { nn } from "../torch/index.ts";
import type { Optimizer } from "../torch/optim/optimizer.ts";
import { loadOptimizerState, saveOptimizerState } from "../torch/optim/serialize.ts";
import { loadSafetensors, saveSafetensors } from "../torch/safetensors.ts";
import type { ERModel, ERModelConfig } from "./er-model.ts";
import { buildModel } from "./registry.ts";

export const CHECKPOINT_FORMAT = "ercnn-checkpoint";
export const MODEL_FILE = "model.safetensors";
export const META_FILE = "checkpoint.json";
export const OPTIMIZER_FILE = "optimizer.safetensors";

export interface CheckpointMeta {
  format: typeof CHECKPOINT_FORMAT;
  version: 1;
  model: ERModelConfig;
  classNames: string[];
  /** Fingerprint of the cipher key the model was trained for (never the key), or null. */
  keyFingerprint: string | null;
  epoch: number;
  metrics: Record<string, number>;
  savedAt: string;
  hasOptimizer: boolean;
  /** Anything else the trainer wants to keep (JSON). */
  extra?: Record<string, unknown>;
}

export interface SaveCheckpointOptions {
  classNames?: string[];
  keyFingerprint?: string | null;
  epoch?: number;
  metrics?: Record<string, number>;
  optimizer?: Optimizer<any> | null;
  extra?: Record<string, unknown>;
}

/** Writes a checkpoint folder (created if needed); returns its metadata. */
export async function saveCheckpoint(
  dir: string,
  model: ERModel,
  o: SaveCheckpointOptions = {},
): Promise<CheckpointMeta> {
  await mkdir(dir, { recursive: true });
  const meta: CheckpointMeta = {
    format: CHECKPOINT_FORMAT,
    version: 1,
    model: model.config,
    classNames: o.classNames ?? [],
    keyFingerprint: o.keyFingerprint ?? null,
    epoch: o.epoch ?? 0,
    metrics: o.metrics ?? {},
    savedAt: new Date().toISOString(),
    hasOptimizer: !!o.optimizer,
    ...(o.extra ? { extra: o.extra } : {}),
  };
  await saveSafetensors(join(dir, MODEL_FILE), model.stateDict(), { format: CHECKPOINT_FORMAT });
  if (o.optimizer) await saveOptimizerState(join(dir, OPTIMIZER_FILE), o.optimizer);
  const tmp = join(dir, `.${META_FILE}.${process.pid}.tmp`);
  await writeFile(tmp, `${JSON.stringify(meta, null, 2)}\n`);
  await rename(tmp, join(dir, META_FILE));
  return meta;
}

export async function readCheckpointMeta(dir: string): Promise<CheckpointMeta> {
  const path = join(dir, META_FILE);
  let meta: CheckpointMeta;
  try {
    meta = JSON.parse(await readFile(path, "utf8")) as CheckpointMeta;
  } catch (e) {
    throw new Error(`${path}: unreadable checkpoint description: ${(e as Error).message}`);
  }
  if (meta?.format !== CHECKPOINT_FORMAT)
    throw new Error(`${path}: not an ercnn checkpoint (format ${String(meta.format)})`);
  if (meta.version !== 1) throw new Error(`${path}: unsupported checkpoint version ${meta.version}`);
  return meta;
}

/**
 * Loads a checkpoint's weights into `model` (strict: a StateDictError naming the file lists every missing,
 * unexpected or mis-shaped tensor), and the optimizer state when one is given and saved.
 */
export async function loadCheckpointInto(
  dir: string,
  model: ERModel,
  optimizer?: Optimizer<any> | null,
): Promise<CheckpointMeta> {
  const meta = await readCheckpointMeta(dir);
  const path = join(dir, MODEL_FILE);
  const { tensors } = await loadSafetensors(path);
  try {
    model.loadStateDict(tensors);
  } catch (e) {
    if (e instanceof nn.StateDictError) e.message = `${path}: ${e.message}`;
    throw e;
  } finally {
    for (const t of tensors.values()) t.dispose();
  }
  if (optimizer && existsSync(join(dir, OPTIMIZER_FILE)))
    await loadOptimizerState(join(dir, OPTIMIZER_FILE), optimizer);
  return meta;
}

/** Rebuilds the model described by a checkpoint and loads its weights. */
export async function loadCheckpoint(dir: string): Promise<{ model: ERModel; meta: CheckpointMeta }> {
  const meta = await readCheckpointMeta(dir);
  const model = buildModel({ ...meta.model, pretrained: null, resize: meta.model.resize });
  model.config.pretrained = meta.model.pretrained;
  try {
    await loadCheckpointInto(dir, model);
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { model, meta };
}
