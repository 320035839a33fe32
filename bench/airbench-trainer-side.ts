// The trainer's side of bench/airbench-throughput.ts: ercnn's own epoch loop (trainEpoch over a real Loader of a
// store, the ER model with its frozen aligned adaptation, the recipe's optimizer groups, schedule, Lookahead and
// alternating flip + translate) on the same airbench net and batch as the bare step, timed from the end of the first
// step (the warm-up) to the end of the last, in wall time and in CPU time (this process's threads, the loader's
// workers included). Split: seconds per step waiting for the loader (the batch worker threads,
// the typed-array → tensor copy) against forward/backward/step.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { ERModel } from "../src/models/index.ts";
import { manualSeed, setNumThreads } from "../src/torch/index.ts";
import { applyFreeze, buildModel } from "../src/train/adapt-init.ts";
import { resolveConfig, type TrainConfig } from "../src/train/config.ts";
import { trainEpoch } from "../src/train/epoch.ts";
import { makeOptimizer, makeScheduler } from "../src/train/optimization.ts";
import { prepareData, type RunData } from "../src/train/prepare-data.ts";
import { initBackboneWhitening, RecipeHooks } from "../src/train/recipe-hooks.ts";

export interface TrainerSideOptions {
  store: string;
  recipe: string;
  batch: number;
  /** Timed steps (one more runs first as the warm-up). */
  steps: number;
  threads: number;
  workers: number;
}

/** A prepared trainer (data, model, optimizer) that can time an epoch of `steps + 1` batches, repeatedly. */
export class TrainerSide {
  private epoch = 0;
  private constructor(
    private readonly o: TrainerSideOptions,
    private readonly cfg: TrainConfig,
    private readonly data: RunData,
    private readonly model: ERModel,
    private readonly out: string,
  ) {}

  static async open(o: TrainerSideOptions): Promise<TrainerSide> {
    setNumThreads(o.threads);
    const out = mkdtempSync(join(tmpdir(), "ercnn-trainer-bench-"));
    const cfg = resolveConfig({
      recipe: o.recipe as never,
      train: o.store,
      out,
      limit: o.batch * (o.steps + 1),
      batchSize: o.batch,
      valFraction: 0,
      normalize: "store",
      adapt: "aligned",
      adaptAugment: "flip-translate",
      freeze: ["adapt"],
      workers: o.workers,
      epochs: 10,
      warmupEpochs: 1,
    });
    const data = await prepareData(cfg);
    const model = await buildModel(cfg, data);
    initBackboneWhitening(model, data, () => {}, Math.min(1000, data.trainIdx.length));
    applyFreeze(model, cfg, data);
    return new TrainerSide(o, cfg, data, model, out);
  }

  /** Images per second of the trainer's loop, and the seconds per step spent waiting for the loader. */
  async time(): Promise<{ ips: number; cpu: number; split: Record<string, number> }> {
    setNumThreads(this.o.threads);
    manualSeed(this.epoch);
    const { cfg, data, model } = this;
    const optimizer = makeOptimizer(cfg, model);
    const scheduler = makeScheduler(cfg, optimizer, data.trainLoader.batchesPerEpoch);
    const hooks = new RecipeHooks(cfg, model, data.trainLoader.batchesPerEpoch);
    hooks.startRound();
    hooks.beforeEpoch(1);
    const stamps: number[] = [];
    let wait = 0;
    let lastEnd = 0;
    let cpu0: NodeJS.CpuUsage | null = null;
    let cpu = 0;
    await trainEpoch(model, data.trainLoader, {
      optimizer,
      scheduler,
      labelSmoothing: cfg.labelSmoothing,
      epochIndex: this.epoch++,
      label: "bench",
      onBatch: (b) => {
        if (stamps.length > 0) wait += performance.now() - lastEnd;
        hooks.onBatch(b);
      },
      afterStep: () => {
        hooks.afterStep();
        lastEnd = performance.now();
        stamps.push(lastEnd);
        if (cpu0) {
          const c = process.cpuUsage(cpu0);
          cpu = (c.user + c.system) / 1e6;
        } else cpu0 = process.cpuUsage();
      },
    });
    hooks.afterEpoch(1);
    hooks.dispose();
    optimizer.dispose();
    const timed = stamps.length - 1;
    const seconds = (stamps[timed] - stamps[0]) / 1000;
    return {
      ips: (timed * this.o.batch) / seconds,
      cpu: cpu / (timed * this.o.batch),
      split: { loaderWait: wait / 1000 / timed },
    };
  }

  async close(): Promise<void> {
    this.model.dispose();
    await this.data.close();
    rmSync(this.out, { recursive: true, force: true });
  }
}
