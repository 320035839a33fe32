// Parameter groups of the recipe options: BatchNorm biases at --bias-lr-scale × the lr, the backbone's conv filters
// on Muon (--optimizer muon), and lr / weight decay converted from airbench's per-1024 units (recipes.ts).
import type { ERModel } from "../models/index.ts";
import { nn, optim, type Tensor } from "../torch/index.ts";
import type { TrainConfig } from "./config.ts";

/** The SGD lr and the per-step decay (lr × group weight decay) for a batch-mean loss, from the config's units. */
export function sgdUnits(c: TrainConfig): { lr: number; decayPerStep: number } {
  if (c.hyperUnits === "plain") return { lr: c.lr, decayPerStep: c.lr * c.weightDecay };
  // per 1024 examples, decoupled from momentum: PyTorch's lr on the summed loss is lr/(1024·(1 + 1/(1 − m)))
  const kilostep = 1024 * (1 + 1 / (1 - c.momentum));
  return { lr: (c.lr * c.batchSize) / kilostep, decayPerStep: (c.weightDecay * c.batchSize) / kilostep };
}

/** Trainable BatchNorm biases of the model, its trainable 4-D backbone weights (conv filters), its adaptation's. */
function split(model: ERModel): { bnBias: Set<Tensor>; filters: Set<Tensor>; adapt: Set<Tensor> } {
  const bnBias = new Set<Tensor>();
  for (const m of model.modules()) if (m instanceof nn.BatchNorm2d && m.bias?.requiresGrad) bnBias.add(m.bias);
  const filters = new Set(model.backbone.parameters().filter((p) => p.requiresGrad && p.shape.length === 4));
  return { bnBias, filters, adapt: new Set(model.adapt.parameters()) };
}

/**
 * Groups for SGD (or MuonSGD): [Muon filters], BatchNorm biases, [the adaptation at --adapt-lr-scale and
 * --adapt-decay-scale], the rest.
 * Frozen parameters are left out; a parameter frozen later (the whitening bias) stays in its group, skipped while it
 * has no gradient.
 */
export function sgdGroups(c: TrainConfig, model: ERModel): Array<{ params: Tensor[] } & Record<string, unknown>> {
  const { lr, decayPerStep } = sgdUnits(c);
  const { bnBias, filters, adapt } = split(model);
  const muon = c.optimizer === "muon";
  const trainable = model.parameters().filter((p) => p.requiresGrad);
  // a group at `scale` × the lr and `decayScale` × the decay per step (weight decay is applied as lr × weightDecay)
  const scaled = (params: Tensor[], scale: number, decayScale = 1) => {
    const groupLr = lr * scale;
    return { params, lr: groupLr, weightDecay: groupLr > 0 ? (decayPerStep * decayScale) / groupLr : 0 };
  };
  const groups: Array<{ params: Tensor[] } & Record<string, unknown>> = [];
  if (muon)
    groups.push({
      params: trainable.filter((p) => filters.has(p)),
      muon: true,
      lr: c.muonLr,
      momentum: c.muonMomentum,
      nesterov: true,
      weightDecay: 0,
    });
  groups.push(
    scaled(
      trainable.filter((p) => bnBias.has(p)),
      c.biasLrScale,
    ),
  );
  const ownAdapt = c.adaptLrScale !== 1 || c.adaptDecayScale !== 1;
  if (ownAdapt)
    groups.push(
      scaled(
        trainable.filter((p) => adapt.has(p)),
        c.adaptLrScale,
        c.adaptDecayScale,
      ),
    );
  const rest = trainable.filter((p) => !bnBias.has(p) && !(muon && filters.has(p)) && !(ownAdapt && adapt.has(p)));
  groups.push(scaled(rest, 1));
  return groups.filter((g) => g.params.length > 0);
}

/** The backbone's whitening bias (airbench), which --whiten-bias-epochs freezes part-way. */
export function whitenBias(model: ERModel): Tensor | null {
  const w = model.backbone.getModule("whiten");
  return w instanceof nn.Conv2d ? w.bias : null;
}

/** Whether the config needs parameter groups (otherwise one group keeps older runs' checkpoints loadable). */
export function needsGroups(c: TrainConfig): boolean {
  return (
    c.optimizer === "muon" ||
    c.biasLrScale !== 1 ||
    c.adaptLrScale !== 1 ||
    c.adaptDecayScale !== 1 ||
    c.hyperUnits !== "plain"
  );
}

/** SGD or MuonSGD over sgdGroups. */
export function groupedOptimizer(c: TrainConfig, model: ERModel): optim.Optimizer<any> {
  const groups = sgdGroups(c, model);
  const o = { lr: sgdUnits(c).lr, momentum: c.momentum, nesterov: c.nesterov };
  return c.optimizer === "muon" ? new optim.MuonSGD(groups as any, o) : new optim.SGD(groups as any, o);
}
