// A run whose loss is no longer a number has diverged: it stops with an error naming where (epoch, step or pass)
// and what to change, before that epoch's checkpoint is written, so the run directory keeps the last good one.
import { type nn, tidy } from "../torch/index.ts";
import type { TrainConfig } from "./config.ts";

export class DivergedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DivergedError";
  }
}

/** What to lower: the step size and, for SGD, the momentum (values as configured). */
export function divergenceHint(cfg: Pick<TrainConfig, "lr" | "optimizer" | "momentum">): string {
  if (cfg.optimizer !== "sgd") return `lower --lr (${cfg.lr})`;
  const why = cfg.momentum >= 1 ? "; at 1 or more the steps grow without bound" : "";
  return `lower --lr (${cfg.lr}) or --momentum (${cfg.momentum}${why})`;
}

/**
 * Throws DivergedError when `value` (the loss of `what`, e.g. "the validation loss") is NaN or infinite.
 * `where` names the epoch (and step); the message ends with the hint and says the last checkpoint was kept.
 */
export function checkFiniteLoss(value: number, what: string, where: string, hint: string): void {
  if (Number.isFinite(value)) return;
  throw new DivergedError(
    `training diverged: ${what} is ${value} at ${where}; ${hint}. ` +
      "The run directory keeps the last good epoch's checkpoint (last/, best/); nothing of this epoch was saved",
  );
}

/** Sum of |w| over every parameter and buffer: finite unless some weight or running statistic is not a number. */
function weightsFinite(model: nn.Module): boolean {
  return tidy(() => {
    let total = 0;
    for (const t of [...model.parameters(), ...model.buffers()]) total += t.abs().sum().item();
    return Number.isFinite(total);
  });
}

/**
 * After an epoch's passes, before its checkpoint: the epoch's training and validation losses must be numbers, and
 * without a validation pass (which would show them) so must the weights.
 */
export function checkEpoch(
  model: nn.Module,
  trainLoss: number,
  valLoss: number | null,
  label: string,
  hint: string,
): void {
  checkFiniteLoss(trainLoss, "the mean training loss", label, hint);
  if (valLoss !== null) checkFiniteLoss(valLoss, "the validation loss", `the validation after ${label}`, hint);
  else if (!weightsFinite(model)) checkFiniteLoss(Number.NaN, "a weight of the model", `the end of ${label}`, hint);
}
