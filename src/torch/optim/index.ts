// torch.optim
export { Adam, type AdamOptions, AdamW } from "./adam.ts";
export {
  type Closure,
  cubicInterpolate,
  LBFGS,
  type LBFGSInit,
  type LBFGSOptions,
  type LBFGSState,
  STRONG_WOLFE,
} from "./lbfgs.ts";
export { Muon, type MuonOptions, MuonSGD, type MuonSGDOptions, newtonSchulz } from "./muon.ts";
export {
  type BaseGroupOptions,
  type GroupStateDict,
  Optimizer,
  type OptimizerStateDict,
  type ParamGroup,
  type ParamState,
  type ParamsInput,
} from "./optimizer.ts";
export * from "./schedulers.ts";
export * from "./serialize.ts";
export { SGD, type SGDOptions } from "./sgd.ts";
