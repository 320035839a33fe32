/**
 * What the service knows about a served model without loading its weights: the run's selected checkpoint, its class
 * names and key fingerprint (checkpoint.json), and from the training store the run's config.json names: the input
 * shape, key mode and the resize/crop it was encrypted with. Nothing secret: a key's fingerprint only.
 */
import { existsSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { type Normalization, Store } from "../data/index.ts";
import { type CheckpointMeta, readCheckpointMeta } from "../models/index.ts";
import { checkpointDir, runNormalization } from "../train/index.ts";

export interface ModelInfo {
  name: string;
  runDir: string;
  checkpoint: string;
  meta: CheckpointMeta;
  /** [C, H, W] of one input image. */
  shape: [number, number, number];
  blockSize: number;
  keyMode: string;
  keyFingerprint: string | null;
  normalization: Normalization | null;
  /** The resize/crop the training store was encrypted with (ercnn encrypt --resize/--crop). */
  decode: { resize?: number; crop?: number };
}

/** OIP model names travel in URLs: keep them to a safe alphabet. */
export const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

function trainStoreOf(runDir: string): Store | null {
  const cfgPath = join(runDir, "config.json");
  if (!existsSync(cfgPath)) return null;
  const cfg = JSON.parse(readFileSync(cfgPath, "utf8")) as { train?: unknown };
  if (typeof cfg.train !== "string") return null;
  const dir = resolve(runDir, cfg.train);
  const dirs = [cfg.train, dir].filter((d) => existsSync(join(d, "meta.json")));
  return dirs.length ? Store.open(dirs[0]) : null;
}

export interface ModelInfoOptions {
  name?: string;
  /** H×W when the training store cannot be found. */
  inputSize?: [number, number];
}

export async function readModelInfo(runDir: string, o: ModelInfoOptions = {}): Promise<ModelInfo> {
  if (!existsSync(runDir)) throw new Error(`${runDir}: no such run directory`);
  const checkpoint = checkpointDir(runDir);
  if (!existsSync(join(checkpoint, "checkpoint.json")))
    throw new Error(`${runDir}: not a run directory or checkpoint (no best/checkpoint.json or checkpoint.json)`);
  const meta = await readCheckpointMeta(checkpoint);
  const name = o.name ?? basename(resolve(runDir));
  if (!MODEL_NAME.test(name))
    throw new Error(`model name '${name}' must be letters, digits, '.', '_' or '-' (give --name)`);
  const store = trainStoreOf(runDir);
  const c = meta.model.channels;
  let hw: [number, number] | undefined = o.inputSize;
  if (store) {
    const [sh, sw] = [store.meta.shape[1], store.meta.shape[2]];
    if (hw && (hw[0] !== sh || hw[1] !== sw))
      throw new Error(`${runDir}: --input-size ${hw[0]}x${hw[1]}, but the training store's images are ${sh}x${sw}`);
    hw = [sh, sw];
  }
  if (!hw)
    throw new Error(
      `${runDir}: cannot find the training store (config.json's "train") to learn the input size; give --input-size HxW`,
    );
  if (store && store.meta.shape[0] !== c)
    throw new Error(`${runDir}: training store has ${store.meta.shape[0]} channels, the model ${c}`);
  const recorded = meta.extra?.normalization as Normalization | null | undefined;
  const normalization = recorded !== undefined ? recorded : store ? runNormalization(runDir, meta, store) : null;
  if (recorded === undefined && !store)
    throw new Error(`${runDir}: the checkpoint records no normalisation and the training store is gone`);
  const decode = (store?.meta.source.decode ?? {}) as ModelInfo["decode"];
  return {
    name,
    runDir,
    checkpoint,
    meta,
    shape: [c, hw[0], hw[1]],
    blockSize: meta.model.blockSize,
    keyMode: meta.keyFingerprint === null ? "none" : (store?.meta.key?.mode ?? "unknown"),
    keyFingerprint: meta.keyFingerprint,
    normalization,
    decode: { ...(decode.resize ? { resize: decode.resize } : {}), ...(decode.crop ? { crop: decode.crop } : {}) },
  };
}

/** The OIP model metadata object, ercnn's facts in `parameters` (scalar values, as `$parameters` requires). */
export function modelMetadata(m: ModelInfo, maxBatch: number) {
  const k = m.meta.classNames.length || m.meta.model.classes;
  const fp = m.keyFingerprint ?? "";
  return {
    name: m.name,
    platform: "ercnn_safetensors",
    inputs: [{ name: "input", datatype: "FP32", shape: [-1, ...m.shape] }],
    outputs: [
      { name: "logits", datatype: "FP32", shape: [-1, k] },
      { name: "probabilities", datatype: "FP32", shape: [-1, k] },
    ],
    parameters: {
      block_size: m.blockSize,
      key_mode: m.keyMode,
      key_fingerprint: fp,
      key_fingerprint_short: fp.slice(0, 16),
      input_channels: m.shape[0],
      input_height: m.shape[1],
      input_width: m.shape[2],
      num_classes: k,
      class_names: JSON.stringify(classNames(m)),
      normalization: JSON.stringify(m.normalization),
      decode: JSON.stringify(m.decode),
      backbone: m.meta.model.backbone,
      adapt: m.meta.model.adapt,
      max_batch_size: maxBatch,
    },
  };
}

export function classNames(m: ModelInfo): string[] {
  const n = m.meta.model.classes;
  return m.meta.classNames.length === n ? m.meta.classNames : Array.from({ length: n }, (_, i) => String(i));
}
