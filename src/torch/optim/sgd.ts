// torch.optim.SGD (momentum, dampening, nesterov, weight decay, maximize), multi-tensor (_foreach_*) form.
import { keep } from "../scope.ts";
import type { Tensor } from "../tensor.ts";
import {
  type BaseGroupOptions,
  defined,
  disposeAll,
  FE,
  Optimizer,
  type ParamGroup,
  type ParamsInput,
} from "./optimizer.ts";

export interface SGDOptions extends BaseGroupOptions {
  momentum: number;
  dampening: number;
  nesterov: boolean;
  maximize: boolean;
}

/**
 * Stochastic gradient descent with PyTorch's update rule:
 * g = grad + wd·p; buf = g on the first step, else momentum·buf + (1 − dampening)·g;
 * d = nesterov ? g + momentum·buf : buf; p −= lr·d.
 */
export class SGD extends Optimizer<SGDOptions> {
  protected readonly stateKeys = ["momentum_buffer"];

  constructor(params: ParamsInput<SGDOptions>, o: Partial<SGDOptions> & { lr: number }) {
    super(params, { momentum: 0, dampening: 0, nesterov: false, maximize: false, weightDecay: 0, ...defined(o) });
  }

  protected override validateGroup(g: ParamGroup<SGDOptions>): void {
    super.validateGroup(g);
    if (!(g.momentum >= 0)) throw new RangeError(`SGD: invalid momentum ${g.momentum}`);
    if (g.nesterov && (g.momentum <= 0 || g.dampening !== 0))
      throw new RangeError("SGD: nesterov momentum requires a momentum and zero dampening");
  }

  protected updateGroup(g: ParamGroup<SGDOptions>, params: Tensor[], grads: Tensor[]): void {
    const temps: Tensor[][] = [];
    const temp = (ts: Tensor[]) => {
      temps.push(ts);
      return ts;
    };
    try {
      let d = grads;
      if (g.maximize) d = temp(FE.neg(d));
      if (g.weightDecay !== 0) d = temp(FE.addL(d, params, g.weightDecay));
      if (g.momentum !== 0) {
        const bufs: Tensor[] = [];
        const old: Tensor[] = [];
        const oldD: Tensor[] = [];
        params.forEach((p, i) => {
          const s = this.stateOf(p);
          s.step++;
          const b = s.tensors.momentum_buffer;
          if (b) {
            old.push(b);
            oldD.push(d[i]);
            bufs.push(b);
          } else {
            const c = keep(FE.clone(d[i]));
            s.tensors.momentum_buffer = c;
            bufs.push(c);
          }
        });
        if (old.length) {
          FE.mul_S(old, g.momentum);
          FE.add_L(old, oldD, 1 - g.dampening);
        }
        if (g.nesterov) {
          // d is ours when it is a temporary (weight decay or maximize): update it in place
          if (d !== grads) FE.add_L(d, bufs, g.momentum);
          else d = temp(FE.addL(d, bufs, g.momentum));
        } else d = bufs;
      } else {
        for (const p of params) this.stateOf(p).step++;
      }
      FE.add_L(params, d, -g.lr);
    } finally {
      for (const t of temps) disposeAll(t);
    }
  }
}
