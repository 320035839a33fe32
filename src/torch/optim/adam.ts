// torch.optim.Adam and AdamW (bias correction, eps outside the square root, optional AMSGrad, maximize),
// multi-tensor (_foreach_*) form of PyTorch's update.
import type { Tensor } from "../tensor.ts";
import {
  type BaseGroupOptions,
  defined,
  disposeAll,
  FE,
  Optimizer,
  type ParamGroup,
  type ParamsInput,
  uniform,
} from "./optimizer.ts";

export interface AdamOptions extends BaseGroupOptions {
  betas: [number, number];
  eps: number;
  amsgrad: boolean;
  maximize: boolean;
}

/**
 * Adam (PyTorch's formulas). With weight decay λ: Adam adds λ·p to the gradient (L2);
 * AdamW (decoupled) scales p by 1 − lr·λ before the update.
 * m = β1·m + (1−β1)·g; v = β2·v + (1−β2)·g²; (amsgrad: v̂ = max(v̂, v));
 * p −= lr/(1−β1^t) · m / (√v / √(1−β2^t) + eps).
 */
export class Adam extends Optimizer<AdamOptions> {
  protected decoupled = false;
  protected readonly stateKeys = ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"];

  constructor(params: ParamsInput<AdamOptions>, o: Partial<AdamOptions> = {}) {
    super(params, {
      lr: 1e-3,
      betas: [0.9, 0.999],
      eps: 1e-8,
      weightDecay: 0,
      amsgrad: false,
      maximize: false,
      ...defined(o),
    });
  }

  protected override validateGroup(g: ParamGroup<AdamOptions>): void {
    super.validateGroup(g);
    const [b1, b2] = g.betas;
    if (!(b1 >= 0 && b1 < 1)) throw new RangeError(`${this.constructor.name}: invalid beta1 ${b1}`);
    if (!(b2 >= 0 && b2 < 1)) throw new RangeError(`${this.constructor.name}: invalid beta2 ${b2}`);
    if (!(g.eps >= 0)) throw new RangeError(`${this.constructor.name}: invalid eps ${g.eps}`);
  }

  protected updateGroup(g: ParamGroup<AdamOptions>, params: Tensor[], grads: Tensor[]): void {
    const [beta1, beta2] = g.betas;
    const { lr, eps, weightDecay } = g;
    const temps: Tensor[][] = [];
    const temp = (ts: Tensor[]) => {
      temps.push(ts);
      return ts;
    };
    try {
      const expAvg = this.stateTensors(params, "exp_avg");
      const expAvgSq = this.stateTensors(params, "exp_avg_sq");
      const steps = params.map((p) => ++this.stateOf(p).step);
      let d = grads;
      if (g.maximize) d = temp(FE.neg(d));
      if (weightDecay !== 0) {
        if (this.decoupled) FE.mul_S(params, 1 - lr * weightDecay);
        else d = temp(FE.addL(d, params, weightDecay));
      }
      FE.mul_S(expAvg, beta1);
      FE.add_L(expAvg, d, 1 - beta1);
      FE.mul_S(expAvgSq, beta2);
      FE.addcmul_S(expAvgSq, d, d, 1 - beta2);
      let second = expAvgSq;
      if (g.amsgrad) {
        second = this.stateTensors(params, "max_exp_avg_sq");
        FE.maximum_(second, expAvgSq);
      }
      const denom = FE.sqrt(second);
      temps.push(denom);
      const t = uniform(steps);
      if (t !== null) {
        FE.div_S(denom, Math.sqrt(1 - beta2 ** t));
        FE.add_S(denom, eps);
        FE.addcdiv_S(params, expAvg, denom, -(lr / (1 - beta1 ** t)));
      } else {
        FE.div_SL(
          denom,
          steps.map((s) => Math.sqrt(1 - beta2 ** s)),
        );
        FE.add_S(denom, eps);
        FE.addcdiv_SL(
          params,
          expAvg,
          denom,
          steps.map((s) => -(lr / (1 - beta1 ** s))),
        );
      }
    } finally {
      for (const t of temps) disposeAll(t);
    }
  }
}

/** AdamW: Adam with decoupled weight decay (p *= 1 − lr·wd), default wd 1e-2 as PyTorch. */
export class AdamW extends Adam {
  constructor(params: ParamsInput<AdamOptions>, o: Partial<AdamOptions> = {}) {
    super(params, { weightDecay: 1e-2, ...defined(o) });
    this.decoupled = true;
  }
}
