// The optimizer and learning-rate schedule a TrainConfig names; schedules count iterations (batches).
import type { ERModel } from "../models/index.ts";
import { optim } from "../torch/index.ts";
import type { TrainConfig } from "./config.ts";
import { groupedOptimizer, needsGroups } from "./param-groups.ts";

/** The configured optimizer over the model's trainable parameters (frozen parts excluded). */
export function makeOptimizer(c: TrainConfig, model: ERModel): optim.Optimizer<any> {
  const params = model.parameters().filter((p) => p.requiresGrad);
  if (!params.length) throw new Error(nothingToTrain(c));
  if (needsGroups(c)) return groupedOptimizer(c, model);
  if (c.optimizer === "sgd")
    return new optim.SGD(params, { lr: c.lr, momentum: c.momentum, nesterov: c.nesterov, weightDecay: c.weightDecay });
  if (c.optimizer === "adam") return new optim.Adam(params, { lr: c.lr, weightDecay: c.weightDecay });
  return new optim.AdamW(params, { lr: c.lr, weightDecay: c.weightDecay });
}

/** Why no parameter is left to train: which --freeze parts (and a key-folded adaptation) froze everything. */
function nothingToTrain(c: TrainConfig): string {
  const frozen = [
    ...(c.freeze.length ? [`--freeze ${c.freeze.join(",")}`] : []),
    ...(c.keyFolded ? ["--key-folded (which fixes the adaptation)"] : []),
  ];
  return (
    `nothing left to train: ${frozen.join(" and ") || "every part is frozen"} froze every parameter of the model; ` +
    "leave at least one part (adapt, backbone, head) unfrozen"
  );
}

/** The configured schedule for one round of `c.epochs` epochs, or null (constant learning rate). */
export function makeScheduler(
  c: TrainConfig,
  opt: optim.Optimizer<any>,
  batchesPerEpoch: number,
): optim.LRScheduler | null {
  const total = c.epochs * batchesPerEpoch;
  const warm = Math.round(c.warmupEpochs * batchesPerEpoch);
  if (c.schedule === "cosine") return optim.warmupCosine(opt, { warmupSteps: warm, totalSteps: total });
  if (c.schedule === "linear") {
    // airbench: from warmupStart × lr up to lr, then straight down to finalLr × lr at the last step
    const down = new optim.LinearLR(opt, { startFactor: 1, endFactor: c.finalLr, totalIters: total - warm });
    if (warm <= 0) return down;
    const up = new optim.LinearLR(opt, { startFactor: c.warmupStart, endFactor: 1, totalIters: warm });
    return new optim.SequentialLR(opt, [up, down], [warm]);
  }
  if (c.schedule === "step") {
    const step = new optim.StepLR(opt, { stepSize: c.stepSize * batchesPerEpoch, gamma: c.gamma });
    if (warm <= 0) return step;
    const w = new optim.LinearWarmup(opt, { warmupSteps: warm });
    return new optim.SequentialLR(opt, [w, step], [warm]);
  }
  return null;
}
