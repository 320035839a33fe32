// Step 3 of training: build the ER model and initialise its adaptation network without the key: PyTorch's default,
// ZCA whitening of the training ciphertexts' blocks, or the ciphertext-only attack's key estimate folded in.
import { attackStore, openReference, syntheticLines } from "../attack/index.ts";
import { type Normalization, normalizeInPlace, type Store } from "../data/index.ts";
import { BlockStats, createModel, type ERModel, zcaWhitening } from "../models/index.ts";
import { fromTypedArray, manualSeed, tidy } from "../torch/index.ts";
import type { TrainConfig } from "./config.ts";
import type { RunData } from "./prepare-data.ts";

/** The ER model of `cfg` for `data` (seeded); nothing frozen yet (see applyFreeze). */
export async function buildModel(cfg: TrainConfig, data: RunData): Promise<ERModel> {
  manualSeed(cfg.seed);
  const model = await createModel({
    backbone: cfg.backbone,
    adapt: cfg.adapt,
    blockSize: data.blockSize,
    classes: data.classes,
    pretrained: cfg.pretrained,
    resize: cfg.resize,
    dropPath: cfg.dropPath,
    keyFolded: data.foldKey ?? undefined,
    normalization: data.norm,
  });
  model.adaptAugment = cfg.adaptAugment;
  model.tta = cfg.tta;
  model.backboneFormat = cfg.memoryFormat;
  return model;
}

/** Freezes what the config keeps fixed (and a key-folded adaptation, which is the key-holder's fixed oracle). */
export function applyFreeze(model: ERModel, cfg: TrainConfig, data: Pick<RunData, "foldKey">): void {
  if (data.foldKey) model.freeze("adapt");
  for (const part of cfg.freeze) model.freeze(part);
}

/** Sets the adaptation's starting weights as `cfg.adaptInit` asks (a fresh run only; a resumed one loads them). */
export function initialiseAdaptation(model: ERModel, cfg: TrainConfig, data: RunData, log: (s: string) => void): void {
  const t = performance.now();
  const seconds = () => ((performance.now() - t) / 1000).toFixed(1);
  if (cfg.adaptInit === "whiten") {
    const stats = blockStatistics(data.store, data.trainIdx, data.norm, data.blockSize);
    const { weight, bias } = zcaWhitening(stats);
    model.adapt.setWhitening(weight, bias);
    log(`adaptation: whitening of ${stats.count} cipher blocks (${seconds()} s)`);
  } else if (cfg.adaptInit === "attack") {
    // the same pipeline and defaults as `ercnn attack` (libtorch linear algebra, ATTACK_DEFAULTS for the block size)
    const est = attackStore(data.store, openReference(cfg.reference!));
    model.adapt.setFromKey({ blockSize: data.blockSize, channels: data.store.shape[0], values: est.key }, data.norm);
    log(
      `adaptation: ciphertext-only attack estimate against ${cfg.reference} folded in ` +
        `(${seconds()} s; statistics mismatch ${est.loss.map((v) => v.toExponential(1)).join(", ")}; ` +
        `${est.reliable ? "reliable" : "UNRELIABLE"})`,
    );
    for (const line of syntheticLines(est.synthetic)) log(`adaptation: ${line.trim()}`);
  }
}

/** Block statistics of the first `max` training images (normalised as the model sees them, not augmented). */
function blockStatistics(
  store: Store,
  trainIdx: Int32Array,
  norm: Normalization | null,
  blockSize: number,
  max = 10_000,
): BlockStats {
  const [c, h, w] = store.shape;
  const stats = new BlockStats(c, blockSize);
  const inTrain = new Uint8Array(store.count);
  for (const i of trainIdx) inTrain[i] = 1;
  for (const { x, n } of store.images({ limit: max, keep: (p) => inTrain[p] === 1 })) {
    if (norm) normalizeInPlace(x, n, c, h * w, norm);
    tidy(() => stats.add(fromTypedArray(x, [n, c, h, w])));
  }
  return stats;
}
