// ercnn train: single- or multi-round training of an ER model on a store, with validation-based model selection,
// a checkpoint every epoch (resumable after kill -9, losing at most the current epoch), the eavesdropper's
// decryption measurements per epoch, and one final test number.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { type CipherKey, shortFingerprint } from "../cipher/index.ts";
import { writeFileAtomic } from "../core/atomic.ts";
import {
  attackStore,
  Loader,
  type Normalization,
  normalizationFor,
  normalizeInPlace,
  Store,
  stratifiedSplit,
} from "../data/index.ts";
import { loadKey } from "../io/keyfile.ts";
import {
  BlockStats,
  createModel,
  type ERModel,
  freshBackbone,
  loadBackboneWeightsFile,
  loadCheckpointInto,
  saveCheckpoint,
  zcaWhitening,
} from "../models/index.ts";
import { fromTypedArray, manualSeed, optim, setNumThreads, tidy } from "../torch/index.ts";
import { resolveConfig, type TrainConfig } from "./config.ts";
import { Eavesdropper, type Quality } from "./eavesdropper.ts";
import { evaluate, trainEpoch } from "./epoch.ts";
import { storeLabels } from "./labels.ts";
import { type EpochMetrics, RunDir } from "./run-dir.ts";

export interface TrainState {
  /** Round and epoch (1-based) of the last completed epoch; epoch 0 = the round has not started. */
  round: number;
  epoch: number;
  bestValAcc: number;
  bestRound: number;
  bestEpoch: number;
  history: EpochMetrics[];
  wallSeconds: number;
  scheduler: optim.SchedulerStateDict | null;
}

export interface FinalResult extends Quality {
  testAcc: number | null;
  testLoss: number | null;
  bestValAcc: number;
  bestRound: number;
  bestEpoch: number;
  wallSeconds: number;
  trainImages: number;
  valImages: number;
  testImages: number;
  keyFingerprint: string | null;
}

export interface TrainOptions {
  resume?: boolean;
  quiet?: boolean;
  /** Lines for the user (default: stderr). */
  log?: (line: string) => void;
  /** Stop after this many epochs in this call (tests use it to simulate an interruption). */
  stopAfterEpochs?: number;
  /** Called when a round starts, after the backbone swap (observers and tests). */
  onRoundStart?: (model: ERModel, round: number) => void | Promise<void>;
}

/** Deterministic per-epoch seed, so a resumed run draws exactly what an uninterrupted one would. */
export function epochSeed(seed: number, round: number, epoch: number): number {
  return (seed * 1_000_003 + round * 10_007 + epoch * 101 + 17) % 2_147_483_647;
}

function makeOptimizer(c: TrainConfig, model: ERModel): optim.Optimizer<any> {
  const params = model.parameters().filter((p) => p.requiresGrad);
  if (c.optimizer === "sgd")
    return new optim.SGD(params, { lr: c.lr, momentum: c.momentum, nesterov: c.nesterov, weightDecay: c.weightDecay });
  if (c.optimizer === "adam") return new optim.Adam(params, { lr: c.lr, weightDecay: c.weightDecay });
  return new optim.AdamW(params, { lr: c.lr, weightDecay: c.weightDecay });
}

function makeScheduler(c: TrainConfig, opt: optim.Optimizer<any>, batchesPerEpoch: number): optim.LRScheduler | null {
  const total = c.epochs * batchesPerEpoch;
  const warm = Math.round(c.warmupEpochs * batchesPerEpoch);
  if (c.schedule === "cosine") return optim.warmupCosine(opt, { warmupSteps: warm, totalSteps: total });
  if (c.schedule === "step") {
    const step = new optim.StepLR(opt, { stepSize: c.stepSize * batchesPerEpoch, gamma: c.gamma });
    if (warm <= 0) return step;
    const w = new optim.LinearWarmup(opt, { warmupSteps: warm });
    return new optim.SequentialLR(opt, [w, step], [warm]);
  }
  return null;
}

async function maybeKey(path: string | null): Promise<CipherKey | null> {
  return path ? loadKey(path) : null;
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

/** Picks `limit` positions stratified by label (seeded), or all. */
function limitPositions(labels: Int32Array, limit: number | null, seed: number): Int32Array {
  const all = Int32Array.from(labels.keys());
  if (limit === null || limit >= labels.length) return all;
  const { val } = stratifiedSplit(labels, limit / labels.length, `${seed}:limit`);
  return val;
}

export async function train(partial: Parameters<typeof resolveConfig>[0], o: TrainOptions = {}): Promise<FinalResult> {
  const log = o.log ?? ((s: string) => process.stderr.write(`${s}\n`));
  let cfg = resolveConfig(partial);
  const run = new RunDir(cfg.out);
  const lastCkpt = run.openCheckpoint("last");
  let state: TrainState | null = null;
  if (lastCkpt) {
    if (!o.resume)
      throw new Error(
        `${cfg.out} already holds a run (last epoch checkpoint found); pass --resume or choose another --out`,
      );
    const saved = run.readJson<TrainConfig>("config.json");
    if (!saved) throw new Error(`${run.path("config.json")}: missing, cannot resume`);
    cfg = resolveConfig({ ...saved, out: cfg.out });
    state = JSON.parse(readFileSync(join(lastCkpt, "state.json"), "utf8")) as TrainState;
    log(`resuming ${cfg.out} after round ${state.round} epoch ${state.epoch}`);
  } else {
    await run.writeJson("config.json", cfg);
  }
  if (cfg.threads) setNumThreads(cfg.threads);

  const store = Store.open(cfg.train);
  const testStore = cfg.test ? Store.open(cfg.test) : null;
  const keyInfo = store.meta.key;
  if (testStore && (testStore.meta.key?.fingerprint ?? null) !== (keyInfo?.fingerprint ?? null))
    throw new Error(`${cfg.test}: encrypted with a different key than ${cfg.train} (fingerprints differ)`);
  const foldKey = await maybeKey(cfg.keyFolded);
  const evalKey = (await maybeKey(cfg.evalKey)) ?? foldKey;
  for (const [k, what] of [
    [foldKey, "keyFolded"],
    [evalKey, "evalKey"],
  ] as const)
    if (k && keyInfo && k.fingerprint !== keyInfo.fingerprint)
      throw new Error(
        `${what}: key ${shortFingerprint(k)} does not match the store's key ${keyInfo.fingerprint.slice(0, 16)}`,
      );
  const blockSize = cfg.blockSize ?? keyInfo?.blockSize ?? 4;
  const classes = store.meta.classes.length;

  const labels = storeLabels(store);
  const pool = limitPositions(labels, cfg.limit, cfg.seed);
  const split = stratifiedSplit(
    Array.from(pool, (i) => labels[i]),
    cfg.valFraction,
    cfg.seed,
  );
  const trainIdx = Int32Array.from(split.train, (i) => pool[i]);
  const valIdx = Int32Array.from(split.val, (i) => pool[i]);
  const norm = normalizationFor(cfg.normalize, store.meta);
  const common = { batchSize: cfg.batchSize, normalize: cfg.normalize, workers: cfg.workers, seed: cfg.seed };
  const trainLoader = await Loader.fromStore(store, {
    ...common,
    indices: trainIdx,
    shuffle: true,
    augment: cfg.augment,
    blockFlip: cfg.blockFlip,
    blockSize,
  });
  const valLoader = valIdx.length
    ? await Loader.fromStore(store, { ...common, indices: valIdx, shuffle: false })
    : null;
  const eaves = new Eavesdropper(store, valIdx.length ? valIdx : trainIdx, cfg.decryptSamples, norm, evalKey);

  manualSeed(cfg.seed);
  const model = await createModel({
    backbone: cfg.backbone,
    adapt: cfg.adapt,
    blockSize,
    classes,
    pretrained: cfg.pretrained,
    resize: cfg.resize,
    dropPath: cfg.dropPath,
    keyFolded: foldKey ?? undefined,
    normalization: norm,
  });
  model.adaptAugment = cfg.adaptAugment;
  model.tta = cfg.tta;
  const applyFreeze = () => {
    if (foldKey) model.freeze("adapt");
    for (const part of cfg.freeze) model.freeze(part);
  };
  if (cfg.adaptInit === "whiten" && !lastCkpt) {
    const t = performance.now();
    const stats = blockStatistics(store, trainIdx, norm, blockSize);
    const { weight, bias } = zcaWhitening(stats);
    model.adapt.setWhitening(weight, bias);
    log(`adaptation: whitening of ${stats.count} cipher blocks (${((performance.now() - t) / 1000).toFixed(1)} s)`);
  }
  if (cfg.adaptInit === "attack" && !lastCkpt) {
    const t = performance.now();
    const est = attackStore(store, Store.open(cfg.reference!), { limit: 10_000 });
    model.adapt.setFromKey({ blockSize, channels: store.shape[0], values: est.key }, norm);
    log(
      `adaptation: ciphertext-only attack estimate against ${cfg.reference} folded in ` +
        `(${((performance.now() - t) / 1000).toFixed(1)} s; statistics mismatch ${est.loss.map((v) => v.toExponential(1)).join(", ")})`,
    );
  }
  applyFreeze();
  let optimizer = makeOptimizer(cfg, model);
  let scheduler = makeScheduler(cfg, optimizer, trainLoader.batchesPerEpoch);
  state ??= {
    round: 1,
    epoch: 0,
    bestValAcc: -1,
    bestRound: 0,
    bestEpoch: 0,
    history: [],
    wallSeconds: 0,
    scheduler: null,
  };
  if (lastCkpt) {
    await loadCheckpointInto(lastCkpt, model, optimizer);
    if (scheduler && state.scheduler) scheduler.loadStateDict(state.scheduler);
  }

  const t0 = performance.now() - state.wallSeconds * 1000;
  const keyFingerprint = keyInfo?.fingerprint ?? null;
  const ckptInfo = () => ({ classNames: store.meta.classes, keyFingerprint, extra: { normalization: norm } });
  let epochsThisCall = 0;
  try {
    for (let round = state.round; round <= cfg.rounds; round++) {
      const startEpoch = round === state.round ? state.epoch : 0;
      if (startEpoch >= cfg.epochs) continue;
      if (round > 1 && startEpoch === 0) {
        // The study's multi-round scheme: keep the adaptation, start from a fresh backbone and optimizer.
        manualSeed(epochSeed(cfg.seed, round, 0));
        const fresh = freshBackbone(model);
        if (cfg.pretrained) await loadBackboneWeightsFile(fresh, cfg.pretrained, { replaceHead: true });
        model.replaceBackbone(fresh);
        applyFreeze();
        optimizer.dispose();
        optimizer = makeOptimizer(cfg, model);
        scheduler = makeScheduler(cfg, optimizer, trainLoader.batchesPerEpoch);
        log(`round ${round}/${cfg.rounds}: fresh ${cfg.backbone} backbone, adaptation kept`);
      }
      if (startEpoch === 0) await o.onRoundStart?.(model, round);
      for (let epoch = startEpoch + 1; epoch <= cfg.epochs; epoch++) {
        if (o.stopAfterEpochs !== undefined && epochsThisCall >= o.stopAfterEpochs) return stopped(state);
        manualSeed(epochSeed(cfg.seed, round, epoch));
        const label = `${cfg.rounds > 1 ? `round ${round}/${cfg.rounds} ` : ""}epoch ${epoch}/${cfg.epochs}`;
        const lr = optimizer.paramGroups[0].lr;
        const tr = await trainEpoch(model, trainLoader, {
          optimizer,
          scheduler,
          labelSmoothing: cfg.labelSmoothing,
          epochIndex: (round - 1) * cfg.epochs + epoch - 1,
          label,
          quiet: o.quiet,
        });
        const va = valLoader ? await evaluate(model, valLoader) : null;
        const q = eaves.measure(model);
        state.history.push({
          round,
          epoch,
          split: "train",
          loss: tr.loss,
          acc: tr.acc,
          lr,
          imgPerSec: tr.imgPerSec,
          seconds: tr.seconds,
        });
        if (va) state.history.push({ round, epoch, split: "val", loss: va.loss, acc: va.acc, ...q });
        const valAcc = va?.acc ?? tr.acc;
        if (valAcc > state.bestValAcc) {
          Object.assign(state, { bestValAcc: valAcc, bestRound: round, bestEpoch: epoch });
          await run.swapCheckpoint("best", (dir) =>
            saveCheckpoint(dir, model, { ...ckptInfo(), epoch, metrics: { valAcc } }).then(() => undefined),
          );
        }
        if (epoch === cfg.epochs) await eaves.picture(model, run.path("pictures", `round-${round}.png`));
        Object.assign(state, {
          round,
          epoch,
          wallSeconds: (performance.now() - t0) / 1000,
          scheduler: scheduler?.stateDict() ?? null,
        });
        await run.swapCheckpoint("last", async (dir) => {
          await saveCheckpoint(dir, model, { ...ckptInfo(), epoch, optimizer, metrics: { valAcc } });
          await writeFileAtomic(join(dir, "state.json"), JSON.stringify(state));
        });
        await run.writeMetrics(state.history);
        epochsThisCall++;
        log(
          `${label}: train loss ${tr.loss.toFixed(4)} acc ${pct(tr.acc)} (${tr.imgPerSec.toFixed(0)} img/s)` +
            (va ? ` | val loss ${va.loss.toFixed(4)} acc ${pct(va.acc)}` : "") +
            (q.psnr !== undefined ? ` | decryption PSNR ${q.psnr.toFixed(2)} dB SSIM ${q.ssim!.toFixed(3)}` : "") +
            (q.mapError !== undefined ? ` map err ${q.mapError.toFixed(3)}` : ""),
        );
      }
    }
    return await finish();
  } finally {
    optimizer.dispose();
    await trainLoader.close();
    await valLoader?.close();
  }

  function stopped(s: TrainState): FinalResult {
    model.dispose();
    return {
      testAcc: null,
      testLoss: null,
      bestValAcc: s.bestValAcc,
      bestRound: s.bestRound,
      bestEpoch: s.bestEpoch,
      wallSeconds: s.wallSeconds,
      trainImages: trainIdx.length,
      valImages: valIdx.length,
      testImages: 0,
      keyFingerprint,
    };
  }

  async function finish(): Promise<FinalResult> {
    const best = run.openCheckpoint("best");
    if (best) await loadCheckpointInto(best, model);
    let test = null;
    if (testStore) {
      // The training store's normalisation, never the test store's own statistics.
      const testLoader = await Loader.fromStore(testStore, { ...common, normalization: norm, shuffle: false });
      try {
        test = await evaluate(model, testLoader);
      } finally {
        await testLoader.close();
      }
    }
    const q = eaves.measure(model);
    await eaves.picture(model, run.path("pictures", "final.png"));
    const result: FinalResult = {
      testAcc: test?.acc ?? null,
      testLoss: test?.loss ?? null,
      bestValAcc: state!.bestValAcc,
      bestRound: state!.bestRound,
      bestEpoch: state!.bestEpoch,
      wallSeconds: (performance.now() - t0) / 1000,
      trainImages: trainIdx.length,
      valImages: valIdx.length,
      testImages: test?.images ?? 0,
      keyFingerprint,
      ...q,
    };
    if (test)
      state!.history.push({
        round: state!.bestRound,
        epoch: state!.bestEpoch,
        split: "test",
        loss: test.loss,
        acc: test.acc,
      });
    await run.writeMetrics(state!.history);
    await run.writeJson("final.json", { ...result, round: result.bestRound });
    model.dispose();
    log(
      `best val acc ${pct(result.bestValAcc)} (round ${result.bestRound} epoch ${result.bestEpoch})` +
        (result.testAcc !== null ? `, test acc ${pct(result.testAcc)} on ${result.testImages} images` : "") +
        `, ${result.wallSeconds.toFixed(0)} s`,
    );
    return result;
  }
}

const pct = (v: number) => `${(100 * v).toFixed(2)}%`;

/** True if `dir` holds a finished run (final.json). */
export function isFinished(dir: string): boolean {
  return existsSync(join(dir, "final.json"));
}
