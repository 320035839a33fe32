// One pass over a loader: a training epoch (forward, loss, backward, optimizer and scheduler steps) or an evaluation.
import type { Batch, Loader } from "../data/index.ts";
import type { ERModel } from "../models/index.ts";
import { type Device, toDevice } from "../torch/device.ts";
import { F, fromTypedArray, noGrad, type optim, type Tensor, tidy } from "../torch/index.ts";
import { checkFiniteLoss } from "./divergence.ts";

export interface PassResult {
  loss: number;
  acc: number;
  images: number;
  seconds: number;
  imgPerSec: number;
}

function toTensors(b: Batch, device: Device = "cpu"): { x: Tensor; y: Tensor } {
  const x = fromTypedArray(b.x, b.shape);
  const y = fromTypedArray(b.y, [b.n], { dtype: "int64" });
  return device === "cpu" ? { x, y } : { x: toDevice(x, device), y: toDevice(y, device) };
}

/** Where a pass reports how far it got (the CLI passes a terminal bar; library callers may pass nothing). */
export interface PassProgress {
  update(done: number, total?: number, extra?: Record<string, string | number>): void;
  stop(): void;
}
/** Makes the progress reporter of one pass: `label` names it ("epoch 3/10"), `total` counts images. */
export type ProgressFactory = (label: string, total: number) => PassProgress;

export interface TrainPassOptions {
  optimizer: optim.Optimizer<any>;
  /** Stepped once per batch (schedules are in iterations). */
  scheduler: optim.LRScheduler | null;
  labelSmoothing: number;
  /** Which epoch of the loader's seeded order to use. */
  epochIndex: number;
  label: string;
  /** Reports the running loss and accuracy after every batch (none: silent). */
  progress?: ProgressFactory | null;
  /** Where batches go (default cpu). */
  device?: Device;
  /** Data-parallel hooks (distributed-train.ts): DDP's forward and its bucketed all-reduce backward. */
  forward?: (x: Tensor) => Tensor;
  backward?: (loss: Tensor) => void;
  /** What to change when the loss stops being a number (divergence.ts; default: lower the learning rate). */
  divergenceHint?: string;
  /** Called with each batch before its forward, and after each optimizer step (recipe-hooks.ts). */
  onBatch?: (b: Batch) => void;
  afterStep?: () => void;
}

export async function trainEpoch(model: ERModel, loader: Loader, o: TrainPassOptions): Promise<PassResult> {
  model.train();
  const progress = o.progress?.(o.label, loader.epochSize) ?? null;
  const t0 = performance.now();
  let lossSum = 0;
  let correct = 0;
  let seen = 0;
  let step = 0;
  for await (const b of loader.iterateEpoch(o.epochIndex)) {
    o.onBatch?.(b);
    const [loss, ok] = tidy(() => {
      const { x, y } = toTensors(b, o.device);
      const logits = o.forward ? o.forward(x) : model.forward(x);
      const l = F.crossEntropy(logits, y, { labelSmoothing: o.labelSmoothing });
      o.optimizer.zeroGrad();
      if (o.backward) o.backward(l);
      else l.backward();
      o.optimizer.step();
      return [l.item(), logits.argmax(1).eq(y).sum().item()];
    });
    o.afterStep?.();
    o.scheduler?.step();
    step++;
    checkFiniteLoss(
      loss,
      "the training loss",
      `${o.label}, step ${step} of ${loader.batchesPerEpoch}`,
      o.divergenceHint ?? "lower --lr",
    );
    lossSum += loss * b.n;
    correct += ok;
    seen += b.n;
    progress?.update(seen, undefined, {
      loss: (lossSum / seen).toFixed(3),
      acc: `${((100 * correct) / seen).toFixed(1)}%`,
    });
  }
  progress?.stop();
  const seconds = (performance.now() - t0) / 1000;
  return { loss: lossSum / seen, acc: correct / seen, images: seen, seconds, imgPerSec: seen / seconds };
}

/** Loss and accuracy in eval mode without gradients (restores the previous mode). */
export async function evaluate(
  model: ERModel,
  loader: Loader,
  epochIndex = 0,
  device: Device = "cpu",
): Promise<PassResult> {
  const wasTraining = model.training;
  model.eval();
  const t0 = performance.now();
  let lossSum = 0;
  let correct = 0;
  let seen = 0;
  try {
    for await (const b of loader.iterateEpoch(epochIndex)) {
      const [loss, ok] = tidy(() =>
        noGrad(() => {
          const { x, y } = toTensors(b, device);
          const logits = model.forward(x);
          return [F.crossEntropy(logits, y, { reduction: "sum" }).item(), logits.argmax(1).eq(y).sum().item()];
        }),
      );
      lossSum += loss;
      correct += ok;
      seen += b.n;
    }
  } finally {
    model.train(wasTraining);
  }
  const seconds = (performance.now() - t0) / 1000;
  return {
    loss: lossSum / Math.max(seen, 1),
    acc: correct / Math.max(seen, 1),
    images: seen,
    seconds,
    imgPerSec: seen / seconds,
  };
}
