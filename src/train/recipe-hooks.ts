// The trainer's side of the airbench recipe options, usable with any backbone that has the part they act on:
// --whiten-init (the backbone's patch-whitening conv from the adaptation's outputs), --whiten-bias-epochs,
// --lookahead-every, and the alternating mirror bits of --adapt-augment flip-translate.
import type { Batch } from "../data/index.ts";
import { normalizeInPlace } from "../data/index.ts";
import { type ERModel, mirrorBit } from "../models/index.ts";
import { type Device, toDevice } from "../torch/device.ts";
import { cat, fromTypedArray, noGrad, type Tensor, tidy } from "../torch/index.ts";
import type { TrainConfig } from "./config.ts";
import { Lookahead } from "./lookahead.ts";
import { whitenBias } from "./param-groups.ts";
import type { RunData } from "./prepare-data.ts";

interface WhiteningBackbone {
  initWhitening(images: Tensor): void;
}

/**
 * --whiten-init: the backbone's whitening conv from the patches of up to `max` training images as the backbone
 * sees them (the adaptation's output, normalised, not augmented). A fresh run only; a resumed one loads it.
 */
export function initBackboneWhitening(model: ERModel, data: RunData, log: (s: string) => void, max = 5000): void {
  const bb = model.backbone as unknown as Partial<WhiteningBackbone>;
  if (typeof bb.initWhitening !== "function")
    throw new Error(
      `--whiten-init: backbone ${model.config.backbone} has no patch-whitening layer (the airbench family has)`,
    );
  const t = performance.now();
  const { store, trainIdx, norm } = data;
  const [c, h, w] = store.shape;
  const inTrain = new Uint8Array(store.count);
  for (const i of trainIdx) inTrain[i] = 1;
  // the adaptation may already sit on the run's device while a fresh backbone (a later round) is still on the CPU
  const deviceOf = (ts: Tensor[]): Device => (ts[0]?.device ?? "cpu") as Device;
  const [from, to] = [deviceOf(model.adapt.parameters()), deviceOf(model.backbone.parameters())];
  const outs: Tensor[] = [];
  noGrad(() => {
    for (const { x, n } of store.images({ limit: max, keep: (p) => inTrain[p] === 1 })) {
      if (norm) normalizeInPlace(x, n, c, h * w, norm);
      outs.push(tidy(() => toDevice(model.adaptOutput(toDevice(fromTypedArray(x, [n, c, h, w]), from)), to)));
    }
  });
  const images = cat(outs, 0);
  for (const o of outs) o.dispose();
  const count = images.shape[0];
  try {
    bb.initWhitening(images);
  } finally {
    images.dispose();
  }
  log(`backbone: patch whitening from ${count} adaptation outputs (${((performance.now() - t) / 1000).toFixed(1)} s)`);
}

/** Per-round state of the recipe options that act during training. */
export class RecipeHooks {
  private lookahead: Lookahead | null = null;
  private step = 0;
  private epoch = 1;

  constructor(
    private readonly cfg: TrainConfig,
    private readonly model: ERModel,
    private readonly batchesPerEpoch: number,
  ) {}

  /** A round begins (fresh weights): Lookahead's average starts from them. */
  startRound(): void {
    this.lookahead?.dispose();
    const k = this.cfg.lookaheadEvery;
    this.lookahead = k ? new Lookahead(this.model, k, this.cfg.epochs * this.batchesPerEpoch) : null;
  }

  /** Before training epoch `epoch` of the round (1-based). */
  beforeEpoch(epoch: number): void {
    this.epoch = epoch;
    this.step = (epoch - 1) * this.batchesPerEpoch;
    if (!this.lookahead && this.cfg.lookaheadEvery) this.startRound(); // resumed mid-round: average from here
    const n = this.cfg.whitenBiasEpochs;
    const bias = whitenBias(this.model);
    if (n !== null && bias && !this.cfg.freeze.includes("backbone")) bias.requiresGrad = epoch <= n;
  }

  /** Before a batch's forward: its alternating mirror bits (a fixed bit per image, inverted in even epochs). */
  onBatch(b: Batch): void {
    if (this.model.adaptAugment !== "flip-translate" || !b.ids) return;
    const odd = this.epoch % 2 === 0;
    this.model.mirrorBits = Array.from(b.ids, (id) => mirrorBit(this.cfg.seed, id) !== odd);
  }

  /** After an optimizer step. */
  afterStep(): void {
    this.step++;
    this.lookahead?.afterStep(this.step);
  }

  /** After the epoch's training pass: the round's last epoch ends on Lookahead's average. */
  afterEpoch(epoch: number): void {
    this.model.mirrorBits = null;
    if (epoch === this.cfg.epochs && this.lookahead) {
      this.lookahead.finish();
      this.lookahead.dispose();
      this.lookahead = null;
    }
  }

  dispose(): void {
    this.lookahead?.dispose();
    this.lookahead = null;
  }
}
