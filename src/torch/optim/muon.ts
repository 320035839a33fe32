// Muon (Keller Jordan, 2024), in the form airbench94_muon.py trains its conv filters with: heavy-ball or Nesterov
// momentum, each parameter rescaled to norm sqrt(rows) before the step, and the update orthogonalised by a quintic
// Newton–Schulz iteration (approximately U·Vᵀ of the momentum's SVD, each filter flattened to a row).
import { tidy } from "../scope.ts";
import type { Tensor } from "../tensor.ts";
import { type BaseGroupOptions, defined, Optimizer, type ParamGroup, type ParamsInput } from "./optimizer.ts";
import { SGD, type SGDOptions } from "./sgd.ts";

export interface MuonOptions extends BaseGroupOptions {
  momentum: number;
  nesterov: boolean;
  /** Newton–Schulz iterations (airbench: 3). */
  nsSteps: number;
}

/** The quintic's coefficients: chosen for the steepest slope at zero, not for convergence to exactly 1. */
const NS = { a: 3.4445, b: -4.775, c: 2.0315 } as const;

/**
 * Newton–Schulz orthogonalisation of a 2-D matrix G: X = G/(‖G‖_F + eps), then X ← aX + (bA + cA²)X with A = XXᵀ,
 * on the wide orientation (transposed when G has more rows than columns). Singular values end near 1 (in 0.5–1.5
 * after 3 steps), singular vectors are G's. Runs in G's dtype.
 */
export function newtonSchulz(g: Tensor, steps = 3, eps = 1e-7): Tensor {
  if (g.shape.length !== 2) throw new Error(`newtonSchulz: expected a matrix, got shape [${g.shape}]`);
  return tidy(() => {
    const tall = g.shape[0] > g.shape[1];
    let x = g.div(g.norm().add(eps));
    if (tall) x = x.t();
    for (let i = 0; i < steps; i++) {
      const a = x.mm(x.t());
      const b = a.mul(NS.b).add(a.mm(a).mul(NS.c));
      x = x.mul(NS.a).add(b.mm(x));
    }
    return tall ? x.t().contiguous() : x;
  });
}

/**
 * buf ← momentum·buf + g; d = nesterov ? g + momentum·buf : buf; p ← p·sqrt(rows)/‖p‖; p ← p − lr·NS(d as rows×rest).
 * No weight decay: the per-step renormalisation fixes each parameter's scale (set weightDecay 0).
 */
export class Muon extends Optimizer<MuonOptions> {
  protected readonly stateKeys = ["momentum_buffer"];

  constructor(params: ParamsInput<MuonOptions>, o: Partial<MuonOptions> & { lr: number }) {
    super(params, { momentum: 0, nesterov: false, nsSteps: 3, weightDecay: 0, ...defined(o) });
  }

  protected override validateGroup(g: ParamGroup<MuonOptions>): void {
    super.validateGroup(g);
    if (!(g.momentum >= 0)) throw new RangeError(`Muon: invalid momentum ${g.momentum}`);
    if (g.nesterov && g.momentum <= 0) throw new RangeError("Muon: Nesterov momentum requires a momentum");
    if (g.weightDecay !== 0) throw new RangeError("Muon: weight decay is not used (the step renormalises weights)");
    if (!Number.isInteger(g.nsSteps) || g.nsSteps < 1) throw new RangeError(`Muon: invalid nsSteps ${g.nsSteps}`);
    for (const p of g.params)
      if (p.shape.length < 2) throw new RangeError(`Muon: needs matrices or conv filters, got shape [${p.shape}]`);
  }

  protected updateGroup(g: ParamGroup<MuonOptions>, params: Tensor[], grads: Tensor[]): void {
    for (const p of params) this.stateOf(p).step++;
    muonUpdate(g, params, grads, this.stateTensors(params, "momentum_buffer"));
  }
}

/** One Muon step of params (their gradients and momentum buffers alongside). */
function muonUpdate(
  g: Pick<MuonOptions, "lr" | "momentum" | "nesterov" | "nsSteps">,
  params: Tensor[],
  grads: Tensor[],
  bufs: Tensor[],
): void {
  params.forEach((p, i) => {
    const buf = bufs[i];
    buf.mul_(g.momentum).add_(grads[i]);
    tidy(() => {
      const d = g.nesterov ? grads[i].add(buf, g.momentum) : buf;
      const n = p.norm();
      p.mul_(Math.sqrt(p.shape[0])).div_(n);
      const u = newtonSchulz(d.reshape([p.shape[0], -1]), g.nsSteps);
      p.add_(u.reshape(p.shape), -g.lr);
    });
  });
}

export interface MuonSGDOptions extends SGDOptions {
  /** This group steps with Muon (lr, momentum, nesterov are then Muon's; no weight decay). */
  muon: boolean;
  nsSteps: number;
}

/**
 * airbench94_muon's pair of optimizers as one (one state dict, one schedule over every group): groups with
 * `muon: true` take Muon steps, the others SGD's.
 */
export class MuonSGD extends SGD {
  constructor(params: ParamsInput<MuonSGDOptions>, o: Partial<MuonSGDOptions> & { lr: number }) {
    super(params as ParamsInput<SGDOptions>, { muon: false, nsSteps: 3, ...defined(o) } as SGDOptions);
  }

  protected override validateGroup(g: ParamGroup<SGDOptions>): void {
    const m = g as ParamGroup<MuonSGDOptions>;
    if (!m.muon) {
      super.validateGroup(g);
      return;
    }
    if (!(m.lr >= 0) || !(m.momentum >= 0) || m.weightDecay !== 0 || !(m.nsSteps >= 1))
      throw new RangeError("MuonSGD: a Muon group needs lr ≥ 0, momentum ≥ 0, nsSteps ≥ 1 and no weight decay");
    for (const p of m.params)
      if (p.shape.length < 2) throw new RangeError(`MuonSGD: Muon needs matrices or conv filters, got [${p.shape}]`);
  }

  protected override updateGroup(g: ParamGroup<SGDOptions>, params: Tensor[], grads: Tensor[]): void {
    const m = g as ParamGroup<MuonSGDOptions>;
    if (!m.muon) {
      super.updateGroup(g, params, grads);
      return;
    }
    for (const p of params) this.stateOf(p).step++;
    muonUpdate(m, params, grads, this.stateTensors(params, "momentum_buffer"));
  }
}
