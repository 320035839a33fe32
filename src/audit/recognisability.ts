/**
 * Recognisability: would a classifier trained on ordinary plain photos recognise what the attack decrypted? A small
 * CIFAR ResNet-20 (the registry's `resnet20`, 0.27 M parameters, any input side) is trained briefly on labelled plain
 * images, then scored on the plaintexts and on the attack's decryptions of the same images. The ratio of the two
 * accuracies is the share of "what a model can see" that the attack gives back; a PSNR number alone understates it
 * (pictures at 14 dB can still be recognised).
 *
 * Why a small CNN and not a nearest-centroid or linear classifier on pixels: those score near chance on photos
 * (Tiny-ImageNet) even on plaintexts, so their accuracy on decryptions says nothing; a briefly trained CNN reaches a
 * useful plain accuracy in seconds to minutes on 2 cores and reacts to structure the way people do, not to
 * pixel-exact noise.
 */
import { createBackbone } from "../models/index.ts";
import { F, fromTypedArray, manualSeed, noGrad, optim, tidy } from "../torch/index.ts";

/** The recognisability classifier's settings (RECOGNISER below holds the defaults). */
export interface RecogniserConfig {
  /** Registry backbone name. */
  backbone: string;
  inputSide: number;
  epochs: number;
  batch: number;
  lr: number;
  schedule: "one-cycle" | "constant";
  warmup: number;
  weightDecay: number;
  seed: number;
}

/** Every training setting of the recognisability classifier, with units. */
export const RECOGNISER: Readonly<RecogniserConfig> = {
  backbone: "resnet20",
  /**
   * Images (training and evaluated alike) are average-pooled by an integer factor down to about this side
   * (pixels) before the classifier sees them: 32×32 CIFAR images become 16×16, 4× fewer multiply-adds per image.
   */
  inputSide: 16,
  /** Passes over the training images. */
  epochs: 4,
  /** Images per step. */
  batch: 64,
  /** AdamW learning rate (per step): the constant one, or the peak of the one-cycle schedule. */
  lr: 2e-3,
  /**
   * "constant", or "one-cycle": linear rise from 0 to `lr` over the first `warmup` of the steps, then linear fall
   * to 0. On CIFAR-10 (3,000 images, 4 epochs) constant 2e-3 reached 37% plain accuracy, one-cycle to 4e-3 29%.
   */
  schedule: "constant",
  /** Share of the steps the one-cycle rise takes. */
  warmup: 0.25,
  /** AdamW decoupled weight decay. */
  weightDecay: 5e-4,
  /** Seed of the initialisation and the shuffling. */
  seed: 13,
};

/** The integer average-pooling factor that brings a side of `side` pixels to about `inputSide`. */
export function poolFactor(side: number, inputSide: number): number {
  return Math.max(1, Math.round(side / inputSide));
}

/** Average-pools N×C×H×W float32 images by `f` in both directions (H and W cropped to multiples of f). */
export function averagePool(x: Float32Array, n: number, c: number, h: number, w: number, f: number): Float32Array {
  if (f === 1) return x;
  const ho = Math.floor(h / f);
  const wo = Math.floor(w / f);
  const out = new Float32Array(n * c * ho * wo);
  const inv = 1 / (f * f);
  for (let p = 0; p < n * c; p++) {
    const src = p * h * w;
    const dst = p * ho * wo;
    for (let y = 0; y < ho; y++)
      for (let xx = 0; xx < wo; xx++) {
        let s = 0;
        for (let dy = 0; dy < f; dy++) for (let dx = 0; dx < f; dx++) s += x[src + (y * f + dy) * w + xx * f + dx];
        out[dst + y * wo + xx] = s * inv;
      }
  }
  return out;
}

export interface LabelledImages {
  /** N×C×H×W float32 on [0, 1]. */
  x: Float32Array;
  labels: Int32Array;
  dims: { c: number; h: number; w: number };
}

export interface Recognisability {
  /** Accuracy (0–1) on the plaintexts of the evaluated images. */
  plainAccuracy: number;
  /** Accuracy (0–1) on the attack's decryptions of the same images. */
  decryptedAccuracy: number;
  /** decryptedAccuracy / plainAccuracy (0 when the classifier does not beat chance on the plaintexts). */
  ratio: number;
  /** 1 / classes. */
  chance: number;
  classes: number;
  trainImages: number;
  evalImages: number;
  seconds: number;
}

export interface RecognisabilityOptions {
  epochs?: number;
  /** Overrides of RECOGNISER (experiments; the audit uses the defaults). */
  config?: Partial<RecogniserConfig>;
  onProgress?: (done: number, total: number) => void;
}

/**
 * Trains the classifier on `train` and scores it on `plain` and `decrypted` (the same images, labels
 * `evalLabels`; class ids shared with `train`). Inputs are standardised with the training images' per-channel
 * mean/std, and decryptions are clipped to [0, 1] like the pictures people look at.
 */
export function recognisability(
  train: LabelledImages,
  plain: Float32Array,
  decrypted: Float32Array,
  evalLabels: Int32Array,
  o: RecognisabilityOptions = {},
): Recognisability {
  const t0 = performance.now();
  const cfg: RecogniserConfig = { ...RECOGNISER, ...o.config };
  const inputs = prepareInputs(train, plain, decrypted, evalLabels, cfg);
  const classes = Math.max(...train.labels, ...evalLabels) + 1;
  manualSeed(cfg.seed);
  const model = createBackbone(cfg.backbone, { numClasses: classes });
  const opt = new optim.AdamW(model.parameters(), { lr: 0, weightDecay: cfg.weightDecay });
  try {
    fit(model, opt, inputs, train.labels, cfg, o.epochs ?? cfg.epochs, o.onProgress);
    model.eval();
    const plainAccuracy = accuracy(model, inputs.plain, evalLabels, inputs);
    const decryptedAccuracy = accuracy(model, inputs.decrypted, evalLabels, inputs);
    const chance = 1 / classes;
    return {
      plainAccuracy,
      decryptedAccuracy,
      ratio: plainAccuracy > chance ? decryptedAccuracy / plainAccuracy : 0,
      chance,
      classes,
      trainImages: train.labels.length,
      evalImages: evalLabels.length,
      seconds: (performance.now() - t0) / 1000,
    };
  } finally {
    opt.dispose();
    model.dispose();
  }
}

/** The classifier's inputs: pooled to its side, standardised by the training images, three channels. */
interface Inputs {
  h: number;
  w: number;
  train: Float32Array;
  plain: Float32Array;
  decrypted: Float32Array;
}

/** The CIFAR ResNet takes RGB: single-channel images are repeated over three channels. */
const C3 = 3;

function prepareInputs(
  train: LabelledImages,
  plain: Float32Array,
  decrypted: Float32Array,
  evalLabels: Int32Array,
  cfg: RecogniserConfig,
): Inputs {
  const { c, h: h0, w: w0 } = train.dims;
  const nTrain = train.labels.length;
  const nEval = evalLabels.length;
  if (train.x.length !== nTrain * c * h0 * w0) throw new Error("recognisability: training images and labels disagree");
  if (plain.length !== nEval * c * h0 * w0 || decrypted.length !== nEval * c * h0 * w0)
    throw new Error("recognisability: evaluated images and labels disagree");
  if (nTrain === 0 || nEval === 0) throw new Error("recognisability: no images");
  if (c !== C3 && c !== 1) throw new Error(`recognisability: images with ${c} channels (need 1 or 3)`);
  // decryptions are clipped to [0, 1] (like the pictures people look at) before pooling
  const f = poolFactor(Math.min(h0, w0), cfg.inputSide);
  const pool = (x: Float32Array, n: number) => averagePool(x, n, c, h0, w0, f);
  const clipped = Float32Array.from(decrypted, (v) => Math.min(1, Math.max(0, v)));
  const trainX = pool(train.x, nTrain);
  const h = Math.floor(h0 / f);
  const w = Math.floor(w0 / f);
  const standardise = standardiser(trainX, nTrain, c, h * w);
  const rgb = (x: Float32Array) => toRgb(x, c, h * w);
  return {
    h,
    w,
    train: rgb(standardise(trainX)),
    plain: rgb(standardise(pool(plain, nEval))),
    decrypted: rgb(standardise(pool(clipped, nEval))),
  };
}

/** Per-channel standardisation with the mean and std of `x` (n images of c planes of hw pixels). */
function standardiser(x: Float32Array, n: number, c: number, hw: number): (y: Float32Array) => Float32Array {
  const size = c * hw;
  const mean = new Float64Array(c);
  const sq = new Float64Array(c);
  for (let i = 0; i < n; i++)
    for (let ch = 0; ch < c; ch++)
      for (let p = 0; p < hw; p++) {
        const v = x[i * size + ch * hw + p];
        mean[ch] += v;
        sq[ch] += v * v;
      }
  const cnt = n * hw;
  const std = Array.from(mean, (m, ch) => Math.sqrt(Math.max(sq[ch] / cnt - (m / cnt) ** 2, 1e-12)));
  for (let ch = 0; ch < c; ch++) mean[ch] /= cnt;
  return (y) => {
    const out = new Float32Array(y.length);
    for (let i = 0; i < y.length; i++) {
      const ch = Math.floor((i % size) / hw);
      out[i] = (y[i] - mean[ch]) / std[ch];
    }
    return out;
  };
}

function toRgb(x: Float32Array, c: number, hw: number): Float32Array {
  if (c === C3) return x;
  const n = x.length / hw;
  const out = new Float32Array(n * C3 * hw);
  for (let i = 0; i < n; i++)
    for (let ch = 0; ch < C3; ch++) out.set(x.subarray(i * hw, (i + 1) * hw), (i * C3 + ch) * hw);
  return out;
}

/** Trains the classifier: seeded shuffles, random horizontal flips, AdamW with a one-cycle learning rate. */
function fit(
  model: ReturnType<typeof createBackbone>,
  opt: optim.AdamW,
  inputs: Inputs,
  labels: Int32Array,
  cfg: RecogniserConfig,
  epochs: number,
  onProgress?: (done: number, total: number) => void,
): void {
  const { h, w } = inputs;
  const nTrain = labels.length;
  let s = cfg.seed >>> 0;
  const rand = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  const order = Int32Array.from({ length: nTrain }, (_, i) => i);
  const B = cfg.batch;
  const bx = new Float32Array(B * C3 * h * w);
  const by = new BigInt64Array(B);
  model.train();
  const steps = epochs * Math.ceil(nTrain / B);
  let step = 0;
  for (let e = 0; e < epochs; e++) {
    for (let i = nTrain - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (let b0 = 0; b0 < nTrain; b0 += B) {
      const m = Math.min(B, nTrain - b0);
      for (let t = 0; t < m; t++) {
        const src = order[b0 + t];
        copyImage(inputs.train, src, bx, t, h, w, rand() >= 0.5);
        by[t] = BigInt(labels[src]);
      }
      opt.paramGroups[0].lr = learningRate(step / steps, steps, cfg);
      tidy(() => {
        const logits = model.forward(fromTypedArray(bx.subarray(0, m * C3 * h * w), [m, C3, h, w]));
        const loss = F.crossEntropy(logits, fromTypedArray(by.subarray(0, m), [m], { dtype: "int64" }));
        opt.zeroGrad();
        loss.backward();
        opt.step();
      });
      onProgress?.(++step, steps);
    }
  }
}

/** Copies image `src` of `x` into slot `t` of `out` (3×h×w each), mirrored left-right when `flip`. */
function copyImage(x: Float32Array, src: number, out: Float32Array, t: number, h: number, w: number, flip: boolean) {
  const size3 = C3 * h * w;
  if (!flip) {
    out.set(x.subarray(src * size3, (src + 1) * size3), t * size3);
    return;
  }
  for (let ch = 0; ch < C3; ch++)
    for (let y = 0; y < h; y++)
      for (let q = 0; q < w; q++)
        out[t * size3 + (ch * h + y) * w + q] = x[src * size3 + (ch * h + y) * w + (w - 1 - q)];
}

/** One-cycle: linear rise to cfg.lr over the first cfg.warmup of the steps, then linear fall to 0 (or constant). */
function learningRate(t: number, steps: number, cfg: RecogniserConfig): number {
  if (cfg.schedule === "constant") return cfg.lr;
  const up = Math.max(cfg.warmup, 1e-9);
  return cfg.lr * (t < up ? (t + 1 / steps) / up : (1 - t) / Math.max(1 - up, 1e-9));
}

/** The classifier's accuracy on images `x` (3×h×w each) with labels `labels`. */
function accuracy(
  model: ReturnType<typeof createBackbone>,
  x: Float32Array,
  labels: Int32Array,
  { h, w }: Inputs,
): number {
  const size3 = C3 * h * w;
  const n = labels.length;
  let ok = 0;
  for (let b0 = 0; b0 < n; b0 += 256) {
    const m = Math.min(256, n - b0);
    const pred = tidy(() =>
      noGrad(() =>
        model
          .forward(fromTypedArray(x.subarray(b0 * size3, (b0 + m) * size3), [m, C3, h, w]))
          .argmax(1)
          .toFloat32Array(),
      ),
    );
    for (let t = 0; t < m; t++) if (pred[t] === labels[b0 + t]) ok++;
  }
  return ok / n;
}
