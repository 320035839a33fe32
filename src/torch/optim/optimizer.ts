// The Optimizer base: parameter groups with per-group hyper-parameters, per-parameter state tensors
// and step counts, PyTorch-shaped state dicts (serialisable through safetensors + JSON).
import { noGrad } from "../autograd.ts";
import { keep } from "../scope.ts";
import { aten, type Tensor } from "../tensor.ts";

// Note: libtorch 1.13's `_foreach_*.out` overloads are composite (compute, then copy) and ~5x slower
// than the functional ones, so temporaries come from the functional ops and are disposed at once.
export const FE = {
  mul_S: aten<void>("aten::_foreach_mul_", "Scalar"),
  mul_SL: aten<void>("aten::_foreach_mul_", "ScalarList"),
  add_S: aten<void>("aten::_foreach_add_", "Scalar"),
  add_L: aten<void>("aten::_foreach_add_", "List"),
  add_SL: aten<void>("aten::_foreach_add_", "ScalarList"),
  addL: aten<Tensor[]>("aten::_foreach_add", "List"),
  addcmul_S: aten<void>("aten::_foreach_addcmul_", "Scalar"),
  addcdiv_S: aten<void>("aten::_foreach_addcdiv_", "Scalar"),
  addcdiv_SL: aten<void>("aten::_foreach_addcdiv_", "ScalarList"),
  div_S: aten<void>("aten::_foreach_div_", "Scalar"),
  div_SL: aten<void>("aten::_foreach_div_", "ScalarList"),
  sqrt: aten<Tensor[]>("aten::_foreach_sqrt"),
  neg: aten<Tensor[]>("aten::_foreach_neg"),
  maximum_: aten<void>("aten::_foreach_maximum_", "List"),
  zero_: aten<void>("aten::_foreach_zero_"),
  zerosLike: aten<Tensor>("aten::zeros_like"),
  clone: aten<Tensor>("aten::clone"),
  toOther: aten<Tensor>("aten::to", "other"),
};

/** o without its undefined entries (so spreading it over defaults keeps the defaults). */
export function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

/** Frees every tensor of a list (temporaries of a step). */
export function disposeAll(ts: readonly Tensor[]): void {
  for (const t of ts) t.dispose();
}

/** Scalar per-tensor values: one Scalar when they are all equal, else a Scalar[] (ScalarList overloads). */
export function uniform(values: number[]): number | null {
  const v = values[0];
  for (let i = 1; i < values.length; i++) if (values[i] !== v) return null;
  return v;
}

/** Hyper-parameters every group has. */
export interface BaseGroupOptions {
  lr: number;
  weightDecay: number;
}

/** A parameter group: its tensors and its hyper-parameters (the scheduler writes `lr`). */
export type ParamGroup<O extends BaseGroupOptions = BaseGroupOptions> = O & {
  params: Tensor[];
  /** Set by the first LR scheduler attached to the optimizer (PyTorch's `initial_lr`). */
  initialLr?: number;
};

/** Constructor input: tensors, or groups of tensors with option overrides. */
export type ParamsInput<O extends BaseGroupOptions> =
  | Iterable<Tensor>
  | Array<{ params: Iterable<Tensor> } & Partial<O>>;

/** One parameter's state: how many steps it took, and its named state tensors (PyTorch names). */
export interface ParamState {
  step: number;
  tensors: Record<string, Tensor>;
}

/** Group hyper-parameters as saved: JSON values, params as indices into the flat parameter order. */
export type GroupStateDict = Record<string, unknown> & { params: number[] };

/**
 * PyTorch's optimizer state_dict layout: state by parameter index (group order, then position),
 * and the groups' hyper-parameters. The tensors are the optimizer's own (not copies).
 */
export interface OptimizerStateDict {
  state: Map<number, ParamState>;
  paramGroups: GroupStateDict[];
}

export abstract class Optimizer<O extends BaseGroupOptions = BaseGroupOptions> {
  readonly paramGroups: ParamGroup<O>[] = [];
  /** Per-parameter state, created lazily on a parameter's first step. */
  readonly state = new Map<Tensor, ParamState>();
  readonly defaults: O;
  /** Names of the per-parameter state tensors this optimizer keeps (PyTorch's). */
  protected abstract readonly stateKeys: readonly string[];

  constructor(params: ParamsInput<O>, defaults: O) {
    this.defaults = defaults;
    const list = [...(params as Iterable<Tensor | ({ params: Iterable<Tensor> } & Partial<O>)>)];
    if (list.length === 0) throw new Error(`${this.constructor.name}: got an empty parameter list`);
    const isGroups = list.every((x) => x !== null && typeof x === "object" && "params" in x && !("native" in x));
    if (isGroups) for (const g of list as ({ params: Iterable<Tensor> } & Partial<O>)[]) this.addParamGroup(g);
    else this.addParamGroup({ params: list as Tensor[] } as unknown as { params: Iterable<Tensor> } & Partial<O>);
  }

  /** Adds a group; options not given take the optimizer's defaults. */
  addParamGroup(group: { params: Iterable<Tensor> } & Partial<O>): void {
    const params = [...group.params];
    const seen = new Set<Tensor>();
    for (const g of this.paramGroups) for (const p of g.params) seen.add(p);
    for (const p of params) {
      if (seen.has(p)) throw new Error(`${this.constructor.name}: a parameter appears in more than one group`);
      seen.add(p);
    }
    const g = { ...this.defaults } as ParamGroup<O>;
    for (const [k, v] of Object.entries(group)) if (k !== "params" && v !== undefined) (g as any)[k] = v;
    g.params = params;
    this.validateGroup(g);
    this.paramGroups.push(g);
  }

  /** Checks a group's hyper-parameters (throws RangeError). */
  protected validateGroup(g: ParamGroup<O>): void {
    if (!(g.lr >= 0)) throw new RangeError(`${this.constructor.name}: invalid learning rate ${g.lr}`);
    if (!(g.weightDecay >= 0)) throw new RangeError(`${this.constructor.name}: invalid weight decay ${g.weightDecay}`);
  }

  /** Applies one update to every parameter that has a gradient (under noGrad). */
  step(): void {
    noGrad(() => {
      for (const g of this.paramGroups) {
        const params: Tensor[] = [];
        const grads: Tensor[] = [];
        for (const p of g.params) {
          const gr = p.grad;
          if (gr) {
            params.push(p);
            grads.push(gr);
          }
        }
        if (params.length === 0) continue;
        try {
          this.updateGroup(g, params, grads);
        } finally {
          disposeAll(grads);
        }
      }
    });
  }

  /** One update of a group's parameters that have gradients (grads are handles the base disposes). */
  protected abstract updateGroup(group: ParamGroup<O>, params: Tensor[], grads: Tensor[]): void;

  /** Clears gradients: to null by default (set_to_none=True), else zeroes them in place. */
  zeroGrad(setToNone = true): void {
    if (setToNone) {
      for (const g of this.paramGroups) for (const p of g.params) p.grad = null;
      return;
    }
    const grads: Tensor[] = [];
    for (const g of this.paramGroups)
      for (const p of g.params) {
        const gr = p.grad;
        if (gr) grads.push(gr);
      }
    if (grads.length) noGrad(() => FE.zero_(grads));
    disposeAll(grads);
  }

  /** The state of p, created (step 0, no tensors) if absent. */
  protected stateOf(p: Tensor): ParamState {
    let s = this.state.get(p);
    if (!s) {
      s = { step: 0, tensors: {} };
      this.state.set(p, s);
    }
    return s;
  }

  /** A kept zero tensor shaped like p (state buffers must outlive the caller's tidy scopes). */
  protected zerosLike(p: Tensor): Tensor {
    return keep(FE.zerosLike(p));
  }

  /** State tensors named `name` of the given params, created as zeros where missing. */
  protected stateTensors(params: Tensor[], name: string): Tensor[] {
    return params.map((p) => {
      const s = this.stateOf(p);
      let t = s.tensors[name];
      if (!t) {
        t = this.zerosLike(p);
        s.tensors[name] = t;
      }
      return t;
    });
  }

  /** The state in PyTorch's layout (tensors are the optimizer's own; do not dispose them). */
  stateDict(): OptimizerStateDict {
    const state = new Map<number, ParamState>();
    const paramGroups: GroupStateDict[] = [];
    let i = 0;
    for (const g of this.paramGroups) {
      const idx: number[] = [];
      for (const p of g.params) {
        const s = this.state.get(p);
        if (s) state.set(i, { step: s.step, tensors: { ...s.tensors } });
        idx.push(i++);
      }
      const opts: GroupStateDict = { params: idx };
      for (const [k, v] of Object.entries(g)) if (k !== "params") opts[k] = Array.isArray(v) ? [...v] : v;
      paramGroups.push(opts);
    }
    return { state, paramGroups };
  }

  /**
   * Restores a stateDict() (of an optimizer over the same parameter layout): hyper-parameters and
   * copies of the state tensors (converted to each parameter's dtype and device).
   */
  loadStateDict(sd: OptimizerStateDict): void {
    const name = this.constructor.name;
    if (sd.paramGroups.length !== this.paramGroups.length)
      throw new Error(
        `${name}.loadStateDict: the state has ${sd.paramGroups.length} parameter groups, the optimizer ${this.paramGroups.length}`,
      );
    const flat: Tensor[] = [];
    sd.paramGroups.forEach((sg, gi) => {
      const g = this.paramGroups[gi];
      if (sg.params.length !== g.params.length)
        throw new Error(
          `${name}.loadStateDict: group ${gi} has ${sg.params.length} parameters in the state, ${g.params.length} in the optimizer`,
        );
      sg.params.forEach((idx, j) => {
        flat[idx] = g.params[j];
      });
    });
    for (const [idx, s] of sd.state) {
      const p = flat[idx];
      if (!p) throw new Error(`${name}.loadStateDict: state for parameter index ${idx}, which no group has`);
      for (const [k, t] of Object.entries(s.tensors)) {
        if (!this.stateKeys.includes(k))
          throw new Error(
            `${name}.loadStateDict: unexpected state '${k}' (${name} keeps ${this.stateKeys.join(", ")})`,
          );
        if (!sameShape(t.shape, p.shape))
          throw new Error(
            `${name}.loadStateDict: state '${k}' of parameter ${idx} has shape [${t.shape}], the parameter [${p.shape}]`,
          );
      }
    }
    // everything checked: replace
    this.disposeState();
    sd.paramGroups.forEach((sg, gi) => {
      const g = this.paramGroups[gi] as unknown as Record<string, unknown>;
      for (const [k, v] of Object.entries(sg)) if (k !== "params") g[k] = Array.isArray(v) ? [...v] : v;
    });
    noGrad(() => {
      for (const [idx, s] of sd.state) {
        const p = flat[idx];
        const tensors: Record<string, Tensor> = {};
        for (const [k, t] of Object.entries(s.tensors)) {
          tensors[k] = keep(FE.toOther(t, p, false, true));
        }
        this.state.set(p, { step: s.step, tensors });
      }
    });
  }

  /** Frees the state tensors (the optimizer can keep stepping: state restarts from zero). */
  disposeState(): void {
    for (const s of this.state.values()) for (const t of Object.values(s.tensors)) t.dispose();
    this.state.clear();
  }

  dispose(): void {
    this.disposeState();
  }
}

function sameShape(a: number[], b: number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
