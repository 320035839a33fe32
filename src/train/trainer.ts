// ercnn train: single- or multi-round training of an ER model on a store, with validation-based model selection,
// a checkpoint every epoch (resumable after kill -9, losing at most the current epoch), the eavesdropper's
// decryption measurements per epoch, and one final test number. The steps, in order:
//   openRun (open-run.ts)           a new run directory, or the run to resume, checked against the flags
//   prepareData (prepare-data.ts)   stores, keys, splits, loaders
//   buildModel, initialiseAdaptation (adapt-init.ts)
//   Training.runRounds → startRound, runEpoch (below)
//   Training.finish                 the best checkpoint on the test store, final.json
import { existsSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../core/atomic.ts";
import type { Loader } from "../data/index.ts";
import { downloadProgressLines, isHubSpec, resolvePretrained } from "../models/hub.ts";
import {
  type ERModel,
  freshBackbone,
  loadBackboneWeightsFile,
  loadCheckpointInto,
  readCheckpointMeta,
  saveCheckpoint,
} from "../models/index.ts";
import { type Device, deviceForRank, moduleTo, parseDevice } from "../torch/device.ts";
import { DistributedError } from "../torch/distributed.ts";
import { manualSeed, type optim, setNumThreads } from "../torch/index.ts";
import { applyFreeze, buildModel, initialiseAdaptation } from "./adapt-init.ts";
import { checkCompatible } from "./compat.ts";
import { DEFAULTS, type PartialTrainConfig, type TrainConfig } from "./config.ts";
import {
  checkWorldSize,
  type DistributedTraining,
  exitOnDistributedError,
  joinTraining,
  reducePass,
  shardEvalLoader,
  shardTrainLoader,
  syncForEval,
  wrapModel,
} from "./distributed-train.ts";
import { checkEpoch, divergenceHint } from "./divergence.ts";
import type { Quality } from "./eavesdropper.ts";
import { evaluate, type PassResult, type ProgressFactory, trainEpoch } from "./epoch.ts";
import { openRun, type TrainState } from "./open-run.ts";
import { makeOptimizer, makeScheduler } from "./optimization.ts";
import { prepareData, type RunData } from "./prepare-data.ts";
import { initBackboneWhitening, RecipeHooks } from "./recipe-hooks.ts";
import type { RunDir } from "./run-dir.ts";
import type { RunLock } from "./run-lock.ts";

export interface FinalResult extends Quality {
  testAcc: number | null;
  testLoss: number | null;
  bestValAcc: number;
  /** The split bestValAcc was measured on: "train" when the run has no validation split (--val-fraction 0). */
  bestOn: "val" | "train";
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
  /** No per-batch progress, even when `progress` is given. */
  quiet?: boolean;
  /** Per-batch progress of each epoch (the CLI passes a terminal bar); none by default. */
  progress?: ProgressFactory;
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

/** Trains (or, with `resume`, continues) the run `partial.out`; see the steps above. */
export async function train(partial: PartialTrainConfig, o: TrainOptions = {}): Promise<FinalResult> {
  // Data-parallel ranks (torchrun's variables) join first; only rank 0 writes to the run directory or logs.
  if (partial.device) parseDevice(partial.device); // a CUDA request on a CPU-only libtorch fails before anything is written
  const dist = joinTraining({
    timeoutSeconds: partial.distTimeout ?? DEFAULTS.distTimeout,
    device: partial.device ?? DEFAULTS.device,
  });
  const log = dist && !dist.isWriter ? () => {} : (o.log ?? ((s: string) => process.stderr.write(`${s}\n`)));
  let lock: RunLock | null = null;
  try {
    const opened = await openRun(partial, {
      resume: o.resume,
      log,
      readOnly: !!dist && !dist.isWriter,
    });
    lock = opened.lock;
    const { cfg, run, state, lastCheckpoint } = opened;
    if (lastCheckpoint) checkWorldSize(state.worldSize, dist?.worldSize ?? 1, cfg.out);
    state.worldSize = dist?.worldSize ?? 1;
    if (cfg.threads) setNumThreads(cfg.threads);
    if (cfg.syncBn && !dist) log("--sync-bn: one process, so BatchNorm already sees the whole batch; ignored");
    const device = deviceForRank(cfg.device, dist?.group.localRank ?? 0);
    // Weights named by hub are fetched once per machine (local rank 0) while the others wait; config.json keeps the name.
    if (cfg.pretrained && isHubSpec(cfg.pretrained)) {
      const spec = cfg.pretrained;
      const fetch = () =>
        resolvePretrained(spec, {
          onProgress: downloadProgressLines(spec, log),
          onVerify: (s) => log(`${spec}: ${s}`),
        });
      if (dist && dist.group.localRank !== 0) {
        dist.group.barrier();
        cfg.pretrained = await resolvePretrained(spec);
      } else {
        cfg.pretrained = await fetch();
        dist?.group.barrier();
      }
    }
    const data = await prepareData(cfg);
    if (dist) {
      shardTrainLoader(data.trainLoader, dist);
      if (data.valLoader) shardEvalLoader(data.valLoader, dist);
    }
    let model: ERModel | null = null;
    let training: Training | null = null;
    try {
      model = await buildModel(cfg, data);
      if (!lastCheckpoint) initialiseAdaptation(model, cfg, data, log);
      if (!lastCheckpoint && cfg.whitenInit) initBackboneWhitening(model, data, log);
      applyFreeze(model, cfg, data);
      moduleTo(model, device);
      training = new Training(
        cfg,
        run,
        data,
        model,
        state,
        { ...o, log, quiet: o.quiet || !!dist?.rank },
        dist,
        device,
      );
      if (lastCheckpoint) await training.restore(lastCheckpoint);
      return (await training.runRounds()) ? await training.finish() : training.result(null, {});
    } catch (e) {
      // A rank died or hung: nothing more can be computed and the last checkpoint is intact. Exit now (the loader's
      // workers may be mid-batch), with the error that names the silent rank.
      if (dist && e instanceof DistributedError) exitOnDistributedError(e);
      throw e;
    } finally {
      training?.dispose();
      model?.dispose();
      await data.close();
    }
  } finally {
    lock?.release();
    if (dist) {
      dist.group.destroy();
    }
  }
}

/** One run's loop state: the model, its optimizer and schedule, the trainer state saved in every checkpoint. */
class Training {
  private optimizer: optim.Optimizer<any>;
  private scheduler: optim.LRScheduler | null;
  private readonly t0: number;
  private epochsThisCall = 0;
  /** DDP's forward/backward (data-parallel runs), made when a round's optimizer is. */
  private ddp: ReturnType<typeof wrapModel> | null = null;
  /** Rank 0 (or the only process) writes checkpoints, metrics and pictures. */
  private readonly isWriter: boolean;
  /** Lookahead, the whitening bias's epochs, the alternating mirror bits (recipe options). */
  private readonly hooks: RecipeHooks;

  constructor(
    private readonly cfg: TrainConfig,
    private readonly run: RunDir,
    private readonly data: RunData,
    private readonly model: ERModel,
    private readonly state: TrainState,
    private readonly o: TrainOptions & { log: (line: string) => void },
    private readonly dist: DistributedTraining | null = null,
    private readonly device: Device = "cpu",
  ) {
    this.isWriter = !dist || dist.isWriter;
    this.optimizer = makeOptimizer(cfg, model);
    this.scheduler = makeScheduler(cfg, this.optimizer, data.trainLoader.batchesPerEpoch);
    this.hooks = new RecipeHooks(cfg, model, data.trainLoader.batchesPerEpoch);
    this.t0 = performance.now() - state.wallSeconds * 1000;
  }

  /** Model, optimizer and schedule as the last checkpoint left them (refused if the store changed underneath). */
  async restore(checkpoint: string): Promise<void> {
    const meta = await readCheckpointMeta(checkpoint);
    checkCompatible(meta, `the run's checkpoint ${checkpoint}`, this.data.store.meta, this.cfg.train);
    await loadCheckpointInto(checkpoint, this.model, this.optimizer);
    if (this.scheduler && this.state.scheduler) this.scheduler.loadStateDict(this.state.scheduler);
    moduleTo(this.model, this.device);
  }

  /** Every remaining epoch of every round; false when stopped early by `stopAfterEpochs`. */
  async runRounds(): Promise<boolean> {
    const { cfg, state } = this;
    for (let round = state.round; round <= cfg.rounds; round++) {
      const startEpoch = round === state.round ? state.epoch : 0;
      if (startEpoch >= cfg.epochs) continue;
      if (startEpoch === 0) await this.startRound(round);
      for (let epoch = startEpoch + 1; epoch <= cfg.epochs; epoch++) {
        if (this.o.stopAfterEpochs !== undefined && this.epochsThisCall >= this.o.stopAfterEpochs) return false;
        await this.runEpoch(round, epoch);
        this.epochsThisCall++;
      }
    }
    return true;
  }

  /** The study's multi-round scheme: from round 2 on, keep the adaptation, start a fresh backbone and optimizer. */
  private async startRound(round: number): Promise<void> {
    const { cfg, model } = this;
    if (round > 1) {
      manualSeed(epochSeed(cfg.seed, round, 0));
      const fresh = freshBackbone(model);
      if (cfg.pretrained) await loadBackboneWeightsFile(fresh, cfg.pretrained, { replaceHead: true });
      model.replaceBackbone(fresh);
      if (cfg.whitenInit) initBackboneWhitening(model, this.data, this.o.log);
      applyFreeze(model, cfg, this.data);
      moduleTo(model, this.device);
      this.ddp = null;
      this.optimizer.dispose();
      this.optimizer = makeOptimizer(cfg, model);
      this.scheduler = makeScheduler(cfg, this.optimizer, this.data.trainLoader.batchesPerEpoch);
      this.o.log(`round ${round}/${cfg.rounds}: fresh ${cfg.backbone} backbone, adaptation kept`);
    }
    this.hooks.startRound();
    await this.o.onRoundStart?.(model, round);
  }

  /** The DDP wrapper of the current model (rank 0's weights broadcast when it is made), or null in a plain run. */
  private parallel(): ReturnType<typeof wrapModel> | null {
    if (!this.dist) return null;
    this.ddp ??= wrapModel(this.model, this.dist, { bucketCapMB: this.cfg.bucketCapMb, syncBn: this.cfg.syncBn });
    return this.ddp;
  }

  /** A validation or test pass: sharded over the ranks with rank 0's model, the counts summed. */
  private async evaluatePass(loader: Loader): Promise<PassResult> {
    if (this.dist) syncForEval(this.model, this.dist);
    const r = await evaluate(this.model, loader, 0, this.device);
    return this.dist ? reducePass(r, this.dist) : r;
  }

  /** One epoch: train, validate, measure the eavesdropper's view, checkpoint, log. */
  private async runEpoch(round: number, epoch: number): Promise<void> {
    const { cfg, data, model } = this;
    manualSeed(epochSeed(cfg.seed, round, epoch));
    const label = `${cfg.rounds > 1 ? `round ${round}/${cfg.rounds} ` : ""}epoch ${epoch}/${cfg.epochs}`;
    const lr = this.optimizer.paramGroups[0].lr;
    const ddp = this.parallel();
    this.hooks.beforeEpoch(epoch);
    const local = await trainEpoch(model, data.trainLoader, {
      optimizer: this.optimizer,
      scheduler: this.scheduler,
      labelSmoothing: cfg.labelSmoothing,
      epochIndex: (round - 1) * cfg.epochs + epoch - 1,
      label,
      progress: this.o.quiet ? null : this.o.progress,
      device: this.device,
      forward: ddp?.forward,
      backward: ddp?.backward,
      divergenceHint: divergenceHint(cfg),
      onBatch: (b) => this.hooks.onBatch(b),
      afterStep: () => this.hooks.afterStep(),
    });
    this.hooks.afterEpoch(epoch);
    const tr = this.dist ? reducePass(local, this.dist) : local;
    const va = data.valLoader ? await this.evaluatePass(data.valLoader) : null;
    checkEpoch(model, tr.loss, va?.loss ?? null, label, divergenceHint(cfg));
    const q = this.isWriter ? data.eaves.measure(model) : {};
    const { loss, acc, imgPerSec, seconds } = tr;
    // The eavesdropper's measurement goes with the validation row, or with the training row when there is none.
    this.state.history.push({ round, epoch, split: "train", loss, acc, lr, imgPerSec, seconds, ...(va ? {} : q) });
    if (va) this.state.history.push({ round, epoch, split: "val", loss: va.loss, acc: va.acc, ...q });
    await this.saveEpoch(round, epoch, va?.acc ?? tr.acc);
    this.o.log(epochLine(label, tr, va, q));
  }

  /** Best checkpoint (when validation improved), the round's picture, the last checkpoint and metrics.jsonl. */
  private async saveEpoch(round: number, epoch: number, valAcc: number): Promise<void> {
    const { state, run, model } = this;
    if (!this.isWriter) {
      // The other ranks keep the same bookkeeping (the best epoch picks the model evaluated at the end).
      if (valAcc > state.bestValAcc) Object.assign(state, { bestValAcc: valAcc, bestRound: round, bestEpoch: epoch });
      Object.assign(state, { round, epoch });
      return;
    }
    if (valAcc > state.bestValAcc) {
      Object.assign(state, { bestValAcc: valAcc, bestRound: round, bestEpoch: epoch });
      await run.swapCheckpoint("best", (dir) =>
        saveCheckpoint(dir, model, { ...this.checkpointInfo(), epoch, metrics: { valAcc } }).then(() => undefined),
      );
    }
    if (epoch === this.cfg.epochs) await this.data.eaves.picture(model, run.path("pictures", `round-${round}.png`));
    const wallSeconds = (performance.now() - this.t0) / 1000;
    Object.assign(state, { round, epoch, wallSeconds, scheduler: this.scheduler?.stateDict() ?? null });
    await run.swapCheckpoint("last", async (dir) => {
      await saveCheckpoint(dir, model, {
        ...this.checkpointInfo(),
        epoch,
        optimizer: this.optimizer,
        metrics: { valAcc },
      });
      await writeFileAtomic(join(dir, "state.json"), JSON.stringify(state));
    });
    await run.writeMetrics(state.history);
  }

  private checkpointInfo() {
    const meta = this.data.store.meta;
    return {
      classNames: meta.classes,
      keyFingerprint: meta.key?.fingerprint ?? null,
      extra: { normalization: this.data.norm },
    };
  }

  /** The best checkpoint on the test store (once), the final eavesdropper measurement, final.json. */
  async finish(): Promise<FinalResult> {
    const { run, model, state } = this;
    // Rank 0 reads the best checkpoint; evaluatePass broadcasts its weights to the other ranks.
    const best = this.isWriter ? run.openCheckpoint("best") : null;
    if (best) {
      await loadCheckpointInto(best, model);
      moduleTo(model, this.device);
    }
    const testLoader = await this.data.testLoader();
    if (testLoader && this.dist) shardEvalLoader(testLoader, this.dist);
    const test = testLoader ? await this.evaluatePass(testLoader).finally(() => testLoader.close()) : null;
    const result0 = () => this.result(test, {}, (performance.now() - this.t0) / 1000);
    if (!this.isWriter) return result0();
    const q = this.data.eaves.measure(model);
    await this.data.eaves.picture(model, run.path("pictures", "final.png"));
    const result = this.result(test, q, (performance.now() - this.t0) / 1000);
    if (test)
      state.history.push({
        round: state.bestRound,
        epoch: state.bestEpoch,
        split: "test",
        loss: test.loss,
        acc: test.acc,
      });
    await run.writeMetrics(state.history);
    await run.writeJson("final.json", { ...result, round: result.bestRound });
    this.o.log(
      `${bestAccLabel(result)} ${pct(result.bestValAcc)} (round ${result.bestRound} epoch ${result.bestEpoch})` +
        (result.testAcc !== null ? `, test acc ${pct(result.testAcc)} on ${result.testImages} images` : "") +
        `, ${result.wallSeconds.toFixed(0)} s`,
    );
    return result;
  }

  /** The result of this call: finished (with the test pass, if any) or stopped early (test null). */
  result(test: PassResult | null, q: Quality, wallSeconds = this.state.wallSeconds): FinalResult {
    const { state, data } = this;
    return {
      testAcc: test?.acc ?? null,
      testLoss: test?.loss ?? null,
      bestValAcc: state.bestValAcc,
      bestOn: data.valLoader ? "val" : "train",
      bestRound: state.bestRound,
      bestEpoch: state.bestEpoch,
      wallSeconds,
      trainImages: data.trainIdx.length,
      valImages: data.valIdx.length,
      testImages: test?.images ?? 0,
      keyFingerprint: data.store.meta.key?.fingerprint ?? null,
      ...q,
    };
  }

  dispose(): void {
    this.hooks.dispose();
    this.optimizer.dispose();
  }
}

const pct = (v: number) => `${(100 * v).toFixed(2)}%`;

/** What the best accuracy is: validation, or training accuracy when there is no validation split. */
export const bestAccLabel = (r: Pick<FinalResult, "bestOn">): string =>
  r.bestOn === "train" ? "best training acc (no validation split)" : "best val acc";

/** The line logged after each epoch. */
function epochLine(label: string, tr: PassResult, va: PassResult | null, q: Quality): string {
  return (
    `${label}: train loss ${tr.loss.toFixed(4)} acc ${pct(tr.acc)} (${tr.imgPerSec.toFixed(0)} img/s)` +
    (va ? ` | val loss ${va.loss.toFixed(4)} acc ${pct(va.acc)}` : "") +
    (q.psnr !== undefined ? ` | decryption PSNR ${q.psnr.toFixed(2)} dB SSIM ${q.ssim!.toFixed(3)}` : "") +
    (q.mapError !== undefined ? ` map err ${q.mapError.toFixed(3)}` : "")
  );
}

/** True if `dir` holds a finished run (final.json). */
export function isFinished(dir: string): boolean {
  return existsSync(join(dir, "final.json"));
}
