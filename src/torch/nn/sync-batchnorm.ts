// torch.nn.SyncBatchNorm: BatchNorm whose training statistics are those of the whole global batch, all ranks
// together, instead of each rank's own slice (DDP's default). The per-channel sum and count, then the sum of squared
// deviations from the global mean, are summed over ranks with a differentiable all-reduce (forward: sum over ranks;
// backward: the gradient summed over ranks), so autograd gives every rank the gradient of the global batch's
// normalisation. Running statistics are updated with the global mean and the global unbiased variance, as PyTorch.
// convertSyncBatchnorm swaps every BatchNorm2d of a module tree for one, sharing its parameters and buffers.
import { noGrad } from "../autograd.ts";
import { cat, full } from "../creation.ts";
import type { Tensor } from "../tensor.ts";
import { BatchNorm2d, type BatchNormOptions } from "./layers.ts";
import type { Module } from "./module.ts";

/** What SyncBatchNorm needs of a process group (src/torch/distributed.ts's ProcessGroup has both). */
export interface StatsGroup {
  readonly worldSize: number;
  /** A new tensor: the sum over ranks, differentiable (torch.distributed.nn.functional.all_reduce). */
  allReduceSumAutograd(t: Tensor): Tensor;
}

export class SyncBatchNorm extends BatchNorm2d {
  /**
   * Without a group, or in a group of one, or in eval mode, it is plain BatchNorm (as PyTorch's falls back to
   * F.batch_norm when world_size is 1).
   */
  processGroup: StatsGroup | null;

  constructor(numFeatures: number, o: BatchNormOptions = {}, processGroup: StatsGroup | null = null) {
    super(numFeatures, o);
    this.processGroup = processGroup;
  }

  override forward(x: Tensor): Tensor {
    const pg = this.processGroup;
    if (!this.training || !pg || pg.worldSize === 1) return super.forward(x);
    const shape = x.shape;
    if (shape.length < 2 || shape[1] !== this.numFeatures)
      throw new Error(
        `SyncBatchNorm(${this.numFeatures}): expected input (N, ${this.numFeatures}, ...), got (${shape})`,
      );
    const C = this.numFeatures;
    const dims = shape.map((_, i) => i).filter((i) => i !== 1);
    const bcast = shape.map((_, i) => (i === 1 ? C : 1));
    // Pass 1: global per-channel sum and count -> global mean.
    const localCount = full([1], x.numel() / C, { dtype: x.dtype, device: x.device });
    const local1 = cat([x.sum(dims), localCount]);
    const global1 = pg.allReduceSumAutograd(local1);
    const count = noGrad(() => global1.select(0, C).item() as number);
    const mean = global1.narrow(0, 0, C).div(count);
    // Pass 2: global sum of squared deviations from the global mean -> biased variance (two-pass, as ATen's CPU BN).
    const d = x.sub(mean.view(bcast));
    const sq = d.mul(d);
    const local2 = sq.sum(dims);
    const m2 = pg.allReduceSumAutograd(local2);
    const variance = m2.div(count);
    const invstd = variance.add(this.eps).rsqrt();
    let y = d.mul(invstd.view(bcast));
    if (this.weight && this.bias) {
      const scaled = y.mul(this.weight.view(bcast));
      y.dispose();
      y = scaled.add(this.bias.view(bcast));
      scaled.dispose();
    }
    if (this.runningMean && this.runningVar)
      noGrad(() => {
        const m = this.momentum;
        this.runningMean!.mul_(1 - m).add_(mean, m);
        this.runningVar!.mul_(1 - m).add_(variance, (m * count) / Math.max(count - 1, 1));
        this.numBatchesTracked?.add_(1);
      });
    for (const t of [localCount, local1, global1, mean, d, sq, local2, m2, variance, invstd]) t.dispose();
    return y;
  }

  /** A SyncBatchNorm that shares bn's parameters and buffers (same Tensor objects, so optimizers keep working). */
  static from(bn: BatchNorm2d, processGroup: StatsGroup | null = null): SyncBatchNorm {
    const affine = bn.weight !== null;
    const track = bn.runningMean !== null;
    const s = new SyncBatchNorm(
      bn.numFeatures,
      { eps: bn.eps, momentum: bn.momentum, affine: false, trackRunningStats: false },
      processGroup,
    );
    if (affine) {
      const frozen = [bn.weight!.requiresGrad, bn.bias!.requiresGrad];
      s.weight = s.registerParameter("weight", bn.weight);
      s.bias = s.registerParameter("bias", bn.bias);
      s.weight!.requiresGrad = frozen[0];
      s.bias!.requiresGrad = frozen[1];
    }
    if (track) {
      s.runningMean = s.registerBuffer("running_mean", bn.runningMean);
      s.runningVar = s.registerBuffer("running_var", bn.runningVar);
      s.numBatchesTracked = s.registerBuffer("num_batches_tracked", bn.numBatchesTracked);
    }
    s.training = bn.training;
    return s;
  }
}

/**
 * torch.nn.SyncBatchNorm.convert_sync_batchnorm: every BatchNorm2d in the tree becomes a SyncBatchNorm on
 * processGroup, sharing its tensors; returns the module (a new one only when module itself is a BatchNorm2d).
 * Children are replaced in the registry and in the parent's fields that pointed to them (Python's setattr).
 */
export function convertSyncBatchnorm<M extends Module>(module: M, processGroup: StatsGroup | null = null): M {
  if (module instanceof SyncBatchNorm) {
    module.processGroup = processGroup;
    return module;
  }
  if (module instanceof BatchNorm2d) return SyncBatchNorm.from(module, processGroup) as unknown as M;
  for (const [name, child] of [...module.namedChildren()]) {
    const converted = convertSyncBatchnorm(child, processGroup);
    if (converted === child) continue;
    module.registerModule(name, converted);
    const fields = module as unknown as Record<string, unknown>;
    for (const k of Object.keys(fields)) if (fields[k] === child) fields[k] = converted;
  }
  return module;
}
