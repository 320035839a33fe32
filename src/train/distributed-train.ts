// Data-parallel training, the DistributedDataParallel way, as hooks the trainer calls:
//   joinTraining       the group from torchrun's variables (WORLD_SIZE unset: null, a plain run); NCCL when the
//                      model trains on CUDA and the addon has NCCL, else Gloo
//   shardTrainLoader   DistributedSampler: each rank a disjoint slice of every epoch's shared shuffled order
//   shardEvalLoader    validation/test split exactly (no padding), so summed counts equal one process's
//   wrapModel          DDP: rank 0's parameters and buffers broadcast, gradients averaged in buckets in backward;
//                      with --sync-bn every BatchNorm2d becomes a SyncBatchNorm on the group first (as PyTorch users
//                      call convert_sync_batchnorm before wrapping)
//   reducePass         loss, accuracy and images summed over ranks (what a single process would print)
//   syncForEval        rank 0's buffers (BatchNorm running statistics) to every rank before evaluating
//   checkWorldSize     --resume only with the world size the run was trained with
// --batch-size is per rank, as in PyTorch DDP: the global batch is batch-size × world size.
import type { Loader } from "../data/index.ts";
import type { ERModel } from "../models/index.ts";
import { type Device, deviceForRank, toDevice } from "../torch/device.ts";
import { DistributedDataParallel, distEnvFromProcess, ncclAvailable, ProcessGroup } from "../torch/distributed.ts";
import { nn, noGrad, tensor } from "../torch/index.ts";
import type { PassResult } from "./epoch.ts";

export interface DistributedTraining {
  group: ProcessGroup;
  rank: number;
  worldSize: number;
  /** Rank 0 writes checkpoints, metrics, pictures and reports; the others only compute. */
  isWriter: boolean;
  /** This rank's device (cuda:LOCAL_RANK for a bare "cuda"): the model, the batches and every collective's tensors. */
  device: Device;
}

/**
 * Joins the group described by MASTER_ADDR/MASTER_PORT/WORLD_SIZE/RANK/LOCAL_RANK, or null without WORLD_SIZE.
 * The backend follows the device, as PyTorch users choose it: NCCL for CUDA tensors when the addon was built with
 * NCCL, Gloo otherwise (Gloo also all-reduces CUDA tensors, through host copies).
 */
export function joinTraining(o: { timeoutSeconds: number; device: string }): DistributedTraining | null {
  const env = distEnvFromProcess();
  if (!env || env.worldSize === 1) return null;
  const device = deviceForRank(o.device, env.localRank);
  const backend = device !== "cpu" && ncclAvailable() ? "nccl" : "gloo";
  const group = ProcessGroup.init({ ...env, backend, timeoutMs: Math.round(o.timeoutSeconds * 1000) });
  return { group, rank: group.rank, worldSize: group.worldSize, isWriter: group.rank === 0, device };
}

export const shardTrainLoader = (l: Loader, d: DistributedTraining) => l.shard(d.rank, d.worldSize, { padded: true });
export const shardEvalLoader = (l: Loader, d: DistributedTraining) => l.shard(d.rank, d.worldSize, { padded: false });

export interface DDPTrainingOptions {
  bucketCapMB: number;
  /** SyncBatchNorm: batch statistics over all ranks (the model's BatchNorm2d layers converted in place). */
  syncBn?: boolean;
}

/** Wraps the model for training: returns the forward and backward the training pass should use. */
export function wrapModel(model: ERModel, d: DistributedTraining, o: DDPTrainingOptions) {
  if (o.syncBn) nn.convertSyncBatchnorm(model, d.group);
  const ddp = new DistributedDataParallel(model, d.group, { bucketCapMB: o.bucketCapMB });
  return {
    ddp,
    forward: (x: Parameters<ERModel["forward"]>[0]) => ddp.forward(x),
    backward: (loss: Parameters<DistributedDataParallel["backward"]>[0]) => ddp.backward(loss),
  };
}

/** float64 values on the rank's device (an NCCL group reduces CUDA tensors only). */
function onDevice(values: number[], device: Device) {
  const host = tensor(values, { dtype: "float64" });
  const out = toDevice(host, device);
  if (out !== host) host.dispose();
  return out;
}

/** A pass's loss, accuracy and image count summed over the ranks; images/s is the group's (slowest rank's time). */
export function reducePass(r: PassResult, d: DistributedTraining): PassResult {
  const v = onDevice([r.loss * r.images, Math.round(r.acc * r.images), r.images], d.device);
  const t = onDevice([r.seconds], d.device);
  try {
    d.group.allReduce(v, "sum");
    d.group.allReduce(t, "max");
    const [lossSum, correct, images] = v.toArray();
    const seconds = t.toArray()[0];
    return {
      loss: lossSum / Math.max(images, 1),
      acc: correct / Math.max(images, 1),
      images,
      seconds,
      imgPerSec: images / seconds,
    };
  } finally {
    v.dispose();
    t.dispose();
  }
}

/** Every rank evaluates with rank 0's model: its parameters and buffers broadcast (cheap next to a pass). */
export function syncForEval(model: ERModel, d: DistributedTraining): void {
  noGrad(() => d.group.broadcastCoalesced([...model.parameters(), ...model.buffers()]));
}

/** Refuses to resume a run with another world size (per-rank data order and optimizer state depend on it). */
export function checkWorldSize(saved: number | undefined, now: number, out: string): void {
  const was = saved ?? 1;
  if (was !== now)
    throw new Error(
      `${out}: this run was trained by ${was} rank${was === 1 ? "" : "s"} and is being resumed by ${now}; ` +
        `resume it with the same world size (${was === 1 ? "no --nproc" : `--nproc ${was}`} or the same torchrun ` +
        "WORLD_SIZE): the data each rank reads and the schedule depend on it, so another world size is refused",
    );
}

/** Ends this rank after a failed collective: the message (naming the silent rank) on stderr, exit code 1. */
export function exitOnDistributedError(e: Error): never {
  process.stderr.write(`ercnn: ${e.message}\n`);
  process.exit(1);
}
