// torch.optim.LBFGS (PyTorch 1.13's torch/optim/lbfgs.py): limited-memory BFGS on the flattened parameters, with a
// fixed step or the strong-Wolfe line search (bracketing, cubic interpolation, zoom; after minFunc / torch7's optim).
import { enableGrad, noGrad } from "../autograd.ts";
import { cat } from "../creation.ts";
import { keep, tidy } from "../scope.ts";
import { aten, type Tensor } from "../tensor.ts";
import {
  type BaseGroupOptions,
  defined,
  FE,
  Optimizer,
  type OptimizerStateDict,
  type ParamGroup,
  type ParamsInput,
} from "./optimizer.ts";

const dotT = aten<Tensor>("aten::dot");

export interface LBFGSOptions extends BaseGroupOptions {
  /** Step length: the fixed step without line search, the line search's first trial step with one (default 1). */
  lr: number;
  /** Iterations per step() call (default 20). */
  maxIter: number;
  /** Closure evaluations per step() call (default ⌊maxIter·5/4⌋). */
  maxEval: number;
  /** Stop when max |gradient| ≤ this (default 1e-7). */
  toleranceGrad: number;
  /** Stop when the loss or the parameters change by less than this (default 1e-9). */
  toleranceChange: number;
  /** Number of (s, y) correction pairs kept (default 100). */
  historySize: number;
  /** null: fixed steps of lr; "strong_wolfe": a line search satisfying the strong Wolfe conditions. */
  lineSearchFn: "strong_wolfe" | null;
}

/** The options LBFGS takes (it has no weight decay). */
export type LBFGSInit = Partial<Omit<LBFGSOptions, "weightDecay">>;

/**
 * The strong-Wolfe line search's constants: sufficient decrease c1, curvature c2, bracket width below which the
 * zoom stops, most evaluations. PyTorch 1.13's step() calls _strong_wolfe with these defaults (the group's
 * tolerance_change is not passed on).
 */
export const STRONG_WOLFE = { c1: 1e-4, c2: 0.9, toleranceChange: 1e-9, maxLs: 25 } as const;

/** The loss evaluation step() calls: zeroes the gradients, computes the loss, calls backward(), returns the loss. */
export type Closure = () => Tensor | number;

/**
 * LBFGS's state (PyTorch keeps it as the state of the first parameter; "LBFGS has only global state").
 * Tensors are flat (all parameters' elements, concatenated) and kept; scalars are numbers.
 */
export interface LBFGSState {
  /** Closure evaluations and iterations over all step() calls. */
  funcEvals: number;
  nIter: number;
  /** The last search direction and step length. */
  d: Tensor | null;
  t: number;
  /** The correction pairs: gradient differences y (old_dirs), steps s (old_stps), and ro = 1 / (y·s). */
  oldDirs: Tensor[];
  oldStps: Tensor[];
  ro: number[];
  /** Scale of the initial inverse-Hessian approximation (y·s / y·y of the newest pair). */
  hDiag: number;
  prevFlatGrad: Tensor | null;
  prevLoss: number;
}

function freshState(): LBFGSState {
  return {
    funcEvals: 0,
    nIter: 0,
    d: null,
    t: 0,
    oldDirs: [],
    oldStps: [],
    ro: [],
    hDiag: 1,
    prevFlatGrad: null,
    prevLoss: 0,
  };
}

function stateTensors(s: LBFGSState): Tensor[] {
  const out = [...s.oldDirs, ...s.oldStps];
  if (s.d) out.push(s.d);
  if (s.prevFlatGrad) out.push(s.prevFlatGrad);
  return out;
}

/** The value of a one-element tensor, which is then freed. */
function num(t: Tensor): number {
  try {
    return t.item();
  } finally {
    t.dispose();
  }
}

const dot = (a: Tensor, b: Tensor) => num(dotT(a, b));
const absMax = (t: Tensor) => num(tidy(() => t.abs().max()));
const absSum = (t: Tensor) => num(tidy(() => t.abs().sum()));
// Python's max(a, b) / min(a, b): the first argument unless the second compares greater / smaller (NaN keeps a)
function pyMax(a: number, b: number): number {
  if (b > a) return b;
  return a;
}
function pyMin(a: number, b: number): number {
  if (b < a) return b;
  return a;
}

/**
 * The minimiser of the cubic through (x1, f1) and (x2, f2) with slopes g1 and g2, clamped to bounds (default: the
 * interval between x1 and x2); the bounds' midpoint when the cubic has no minimum. (torch7 optim's polyinterp.lua.)
 */
export function cubicInterpolate(
  x1: number,
  f1: number,
  g1: number,
  x2: number,
  f2: number,
  g2: number,
  bounds?: [number, number],
): number {
  const [xminBound, xmaxBound] = bounds ?? (x1 <= x2 ? [x1, x2] : [x2, x1]);
  const d1 = g1 + g2 - (3 * (f1 - f2)) / (x1 - x2);
  const d2Square = d1 * d1 - g1 * g2;
  if (d2Square >= 0) {
    const d2 = Math.sqrt(d2Square);
    const minPos =
      x1 <= x2
        ? x2 - (x2 - x1) * ((g2 + d2 - d1) / (g2 - g1 + 2 * d2))
        : x1 - (x1 - x2) * ((g1 + d2 - d1) / (g1 - g2 + 2 * d2));
    return pyMin(pyMax(minPos, xminBound), xmaxBound);
  }
  return (xminBound + xmaxBound) / 2;
}

/** What the line search found: the loss, flat gradient and step length it accepted, and its closure evaluations. */
interface LineSearchResult {
  f: number;
  g: Tensor;
  t: number;
  evals: number;
}

/** The limited memory of correction pairs (y = Δgradient, s = step, ro = 1 / (y·s)) and the initial Hessian scale. */
interface Memory {
  oldDirs: Tensor[];
  oldStps: Tensor[];
  ro: number[];
  hDiag: number;
}

/**
 * The L-BFGS descent direction d = −H·g: adds the last step's correction pair to the memory (when its curvature
 * y·s is positive; the oldest pair goes when the memory is full, freed by `drop`), then runs the two-loop recursion.
 * `memory` is updated in place; `s` (the last step, d·t) is kept by the memory or freed.
 */
function lbfgsDirection(
  flatGrad: Tensor,
  prevFlatGrad: Tensor,
  s: Tensor,
  memory: Memory,
  historySize: number,
  drop: (t: Tensor | undefined) => void,
): Tensor {
  const { oldDirs, oldStps, ro } = memory;
  const y = flatGrad.sub(prevFlatGrad);
  const ys = dot(y, s);
  if (ys > 1e-10) {
    if (oldDirs.length === historySize) {
      // shift the history by one (limited memory)
      drop(oldDirs.shift());
      drop(oldStps.shift());
      ro.shift();
    }
    oldDirs.push(y);
    oldStps.push(s);
    ro.push(1 / ys);
    memory.hDiag = ys / dot(y, y);
  } else {
    y.dispose();
    s.dispose();
  }
  // the two-loop recursion: d = −H·g with the L-BFGS inverse Hessian H
  const numOld = oldDirs.length;
  const al = new Array<number>(numOld);
  const q = flatGrad.neg();
  for (let i = numOld - 1; i >= 0; i--) {
    al[i] = dot(oldStps[i], q) * ro[i];
    q.add_(oldDirs[i], -al[i]);
  }
  const r = q.mul(memory.hDiag);
  q.dispose();
  for (let i = 0; i < numOld; i++) {
    const beI = dot(oldDirs[i], r) * ro[i];
    r.add_(oldStps[i], al[i] - beI);
  }
  return r;
}

/**
 * L-BFGS, heavily inspired by minFunc, with PyTorch's exact iteration (one parameter group only). Each step() runs
 * up to maxIter iterations, calling the closure at each trial point; the state carries across step() calls.
 * It needs param_bytes·(2·historySize + 2) of memory.
 *
 * Differences from PyTorch: the scalars PyTorch keeps as 0-dim tensors (y·s, ro, H_diag, the line search's
 * slopes) are JS numbers (float64): identical for float64 parameters, rounded differently for float32 ones.
 * step() returns the first loss as a number. stateDict/loadStateDict are not supported.
 */
export class LBFGS extends Optimizer<LBFGSOptions> {
  protected readonly stateKeys: readonly string[] = [];
  /** The optimizer's only state (PyTorch's `state[params[0]]`). */
  globalState: LBFGSState = freshState();

  constructor(params: ParamsInput<LBFGSOptions>, o: LBFGSInit = {}) {
    const maxIter = o.maxIter ?? 20;
    super(params, {
      lr: 1,
      maxIter,
      maxEval: Math.floor((maxIter * 5) / 4),
      toleranceGrad: 1e-7,
      toleranceChange: 1e-9,
      historySize: 100,
      lineSearchFn: null,
      weightDecay: 0,
      ...defined(o),
    });
  }

  /** PyTorch's LBFGS has one parameter group (no per-parameter options). */
  override addParamGroup(group: { params: Iterable<Tensor> } & Partial<LBFGSOptions>): void {
    if (this.paramGroups.length > 0)
      throw new Error("LBFGS doesn't support per-parameter options (parameter groups): give it one group");
    super.addParamGroup(group);
  }

  protected override validateGroup(g: ParamGroup<LBFGSOptions>): void {
    if (!(Number.isFinite(g.lr) && g.lr > 0)) throw new RangeError(`LBFGS: invalid learning rate ${g.lr}`);
    if (g.weightDecay !== 0) throw new RangeError("LBFGS: has no weight decay (add an L2 term to the loss)");
    if (!(Number.isInteger(g.maxIter) && g.maxIter >= 1))
      throw new RangeError(`LBFGS: maxIter must be a positive integer, got ${g.maxIter}`);
    if (!(g.maxEval >= 1)) throw new RangeError(`LBFGS: maxEval must be at least 1, got ${g.maxEval}`);
    if (!(Number.isInteger(g.historySize) && g.historySize >= 1))
      throw new RangeError(`LBFGS: historySize must be a positive integer, got ${g.historySize}`);
    if (!(g.toleranceGrad >= 0)) throw new RangeError(`LBFGS: invalid toleranceGrad ${g.toleranceGrad}`);
    if (!(g.toleranceChange >= 0)) throw new RangeError(`LBFGS: invalid toleranceChange ${g.toleranceChange}`);
    if (g.lineSearchFn !== null && g.lineSearchFn !== "strong_wolfe")
      throw new RangeError(`LBFGS: unknown lineSearchFn '${g.lineSearchFn}' (null or "strong_wolfe")`);
  }

  private get params(): Tensor[] {
    return this.paramGroups[0].params;
  }

  /**
   * One optimization step: up to maxIter L-BFGS iterations. Returns the loss the closure gave at the start.
   * Unlike the other optimizers' step(), L-BFGS evaluates the loss several times per step, so it takes the
   * closure that computes it (the parameter is optional only to keep the base class's signature).
   */
  override step(closure?: Closure): number {
    if (typeof closure !== "function")
      throw new TypeError(
        "LBFGS.step(closure): needs a closure that zeroes the gradients, computes the loss, " +
          "calls backward() and returns the loss",
      );
    return noGrad(() => tidy(() => this.iterate(closure)));
  }

  private iterate(closure: Closure): number {
    const { lr, maxIter, maxEval, toleranceGrad, toleranceChange, lineSearchFn, historySize } = this.paramGroups[0];
    const state = this.globalState;

    // evaluate the initial f(x) and df/dx
    let [loss, flatGrad] = this.evaluate(closure);
    const origLoss = loss;
    let currentEvals = 1;
    state.funcEvals += 1;
    let optCond = absMax(flatGrad) <= toleranceGrad;
    if (optCond) return origLoss;

    // tensors of the previous state stay valid until the new state replaces them; this step's are freed at once
    const previous = new Set(stateTensors(state));
    const drop = (t: Tensor | null | undefined) => {
      if (t && !previous.has(t)) t.dispose();
    };
    let { d, t, hDiag, prevFlatGrad, prevLoss } = state;
    let oldDirs = [...state.oldDirs];
    let oldStps = [...state.oldStps];
    let ro = [...state.ro];

    let nIter = 0;
    while (nIter < maxIter) {
      nIter++;
      state.nIter++;

      // the descent direction
      let dir: Tensor;
      if (state.nIter === 1) {
        dir = flatGrad.neg();
        oldDirs = [];
        oldStps = [];
        ro = [];
        hDiag = 1;
      } else {
        if (!d || !prevFlatGrad) throw new Error("LBFGS: the state lost its direction (was it disposed?)");
        const memory = { oldDirs, oldStps, ro, hDiag };
        dir = lbfgsDirection(flatGrad, prevFlatGrad, d.mul(t), memory, historySize, drop);
        hDiag = memory.hDiag;
      }
      drop(d);
      d = dir;
      if (prevFlatGrad) prevFlatGrad.copy_(flatGrad);
      else prevFlatGrad = flatGrad.clone();
      prevLoss = loss;

      // the step length: the first iteration ever scales by the gradient's L1 norm
      t = state.nIter === 1 ? pyMin(1, 1 / absSum(flatGrad)) * lr : lr;
      const gtd = dot(flatGrad, dir); // directional derivative
      if (gtd > -toleranceChange) break;

      let lsFuncEvals = 0;
      if (lineSearchFn === "strong_wolfe") {
        const ls = this.strongWolfe(closure, t, dir, loss, flatGrad, gtd);
        if (ls.g !== flatGrad) flatGrad.dispose();
        ({ f: loss, g: flatGrad, t, evals: lsFuncEvals } = ls);
        this.addGrad(t, dir);
        optCond = absMax(flatGrad) <= toleranceGrad;
      } else {
        // no line search: move by the fixed step, re-evaluating unless this is the last iteration
        this.addGrad(t, dir);
        if (nIter !== maxIter) {
          flatGrad.dispose();
          [loss, flatGrad] = this.evaluate(closure);
          optCond = absMax(flatGrad) <= toleranceGrad;
          lsFuncEvals = 1;
        }
      }
      currentEvals += lsFuncEvals;
      state.funcEvals += lsFuncEvals;

      // stopping conditions
      if (nIter === maxIter) break;
      if (currentEvals >= maxEval) break;
      if (optCond) break;
      if (absMax(tidy(() => dir.mul(t))) <= toleranceChange) break; // lack of progress
      if (Math.abs(loss - prevLoss) < toleranceChange) break;
    }

    // the new state: keep its tensors, free the previous state's that it no longer holds
    const next = { d, t, oldDirs, oldStps, ro, hDiag, prevFlatGrad, prevLoss };
    const kept = new Set(stateTensors({ ...state, ...next }));
    for (const x of kept) keep(x);
    for (const x of previous) if (!kept.has(x)) x.dispose();
    Object.assign(state, next);
    return origLoss;
  }

  /** Runs the closure with gradients on: its loss and the flat gradient (the closure's tensors are freed). */
  private evaluate(closure: Closure): [number, Tensor] {
    return tidy(() => {
      const out = enableGrad(closure);
      const loss = typeof out === "number" ? out : out.item();
      return [loss, this.gatherFlatGrad()] as [number, Tensor];
    });
  }

  /** All gradients as one flat tensor (zeros for parameters without one). */
  private gatherFlatGrad(): Tensor {
    return tidy(() =>
      cat(
        this.params.map((p) => {
          const g = p.grad;
          return g ? g.reshape(-1) : FE.zerosLike(p).reshape(-1);
        }),
      ),
    );
  }

  /** p += stepSize · (p's slice of the flat update), for every parameter. */
  private addGrad(stepSize: number, update: Tensor): void {
    tidy(() => {
      let offset = 0;
      for (const p of this.params) {
        const n = p.numel();
        p.add_(update.narrow(0, offset, n).view(p.shape), stepSize);
        offset += n;
      }
    });
  }

  /** The loss and flat gradient at x + t·d (the parameters are put back to x after). */
  private directionalEvaluate(closure: Closure, x: Tensor[], t: number, d: Tensor): [number, Tensor] {
    this.addGrad(t, d);
    const res = this.evaluate(closure);
    for (const [i, p] of this.params.entries()) p.copy_(x[i]);
    return res;
  }

  /**
   * A step length t along d satisfying the strong Wolfe conditions (f, g, gtd: loss, flat gradient and slope at
   * t = 0): bracket an interval containing one, then zoom into it by cubic interpolation. (torch7's lswolfe.lua.)
   * Tensors of the trials it does not return are freed; none is modified in place, so no copies are needed.
   */
  private strongWolfe(closure: Closure, t: number, d: Tensor, f: number, g: Tensor, gtd: number): LineSearchResult {
    const { c1, c2, toleranceChange, maxLs } = STRONG_WOLFE;
    return tidy(() => {
      const x = this.params.map((p) => p.clone());
      const objective = (step: number) => this.directionalEvaluate(closure, x, step, d);
      const dNorm = absMax(d);
      let [fNew, gNew] = objective(t);
      let lsFuncEvals = 1;
      let gtdNew = dot(gNew, d);

      // bracket an interval containing a point satisfying the Wolfe criteria
      let [tPrev, fPrev, gPrev, gtdPrev] = [0, f, g, gtd];
      let done = false;
      let lsIter = 0;
      let bracket: number[] = [];
      let bracketF: number[] = [];
      let bracketG: Tensor[] = [];
      let bracketGtd: number[] = [];
      while (lsIter < maxLs) {
        // no sufficient decrease, or the slope turned: the minimum lies between the previous step and this one
        const armijoFails = fNew > f + c1 * t * gtd || (lsIter > 1 && fNew >= fPrev);
        if (!armijoFails && Math.abs(gtdNew) <= -c2 * gtd) {
          [bracket, bracketF, bracketG] = [[t], [fNew], [gNew]];
          done = true;
          break;
        }
        if (armijoFails || gtdNew >= 0) {
          [bracket, bracketF, bracketG, bracketGtd] = [
            [tPrev, t],
            [fPrev, fNew],
            [gPrev, gNew],
            [gtdPrev, gtdNew],
          ];
          break;
        }
        // extrapolate
        const minStep = t + 0.01 * (t - tPrev);
        const maxStep = t * 10;
        const tmp = t;
        t = cubicInterpolate(tPrev, fPrev, gtdPrev, t, fNew, gtdNew, [minStep, maxStep]);
        [tPrev, fPrev, gPrev, gtdPrev] = [tmp, fNew, gNew, gtdNew];
        [fNew, gNew] = objective(t);
        lsFuncEvals++;
        gtdNew = dot(gNew, d);
        lsIter++;
      }
      // reached the most iterations?
      if (lsIter === maxLs)
        [bracket, bracketF, bracketG] = [
          [0, t],
          [f, fNew],
          [g, gNew],
        ];

      // zoom: refine the bracket until a point satisfies the criteria
      let insufProgress = false;
      let [lowPos, highPos] = bracketF[0] <= bracketF[bracketF.length - 1] ? [0, 1] : [1, 0];
      while (!done && lsIter < maxLs) {
        // the bracket is too small
        if (Math.abs(bracket[1] - bracket[0]) * dNorm < toleranceChange) break;
        t = cubicInterpolate(bracket[0], bracketF[0], bracketGtd[0], bracket[1], bracketF[1], bracketGtd[1]);

        // too close to a boundary twice running (or at / beyond one): move to 0.1·(bracket width) inside it
        const bMax = pyMax(bracket[0], bracket[1]);
        const bMin = pyMin(bracket[0], bracket[1]);
        const eps = 0.1 * (bMax - bMin);
        if (pyMin(bMax - t, t - bMin) < eps) {
          if (insufProgress || t >= bMax || t <= bMin) {
            t = Math.abs(t - bMax) < Math.abs(t - bMin) ? bMax - eps : bMin + eps;
            insufProgress = false;
          } else insufProgress = true;
        } else insufProgress = false;

        [fNew, gNew] = objective(t);
        lsFuncEvals++;
        gtdNew = dot(gNew, d);
        lsIter++;

        if (fNew > f + c1 * t * gtd || fNew >= bracketF[lowPos]) {
          // Armijo condition not satisfied or not lower than the lowest point: the new point is the high end
          [bracket[highPos], bracketF[highPos], bracketG[highPos], bracketGtd[highPos]] = [t, fNew, gNew, gtdNew];
          [lowPos, highPos] = bracketF[0] <= bracketF[1] ? [0, 1] : [1, 0];
        } else {
          if (Math.abs(gtdNew) <= -c2 * gtd)
            done = true; // the Wolfe conditions hold
          else if (gtdNew * (bracket[highPos] - bracket[lowPos]) >= 0) {
            // the old high end becomes the new low end
            bracket[highPos] = bracket[lowPos];
            bracketF[highPos] = bracketF[lowPos];
            bracketG[highPos] = bracketG[lowPos];
            bracketGtd[highPos] = bracketGtd[lowPos];
          }
          // the new point becomes the low end
          [bracket[lowPos], bracketF[lowPos], bracketG[lowPos], bracketGtd[lowPos]] = [t, fNew, gNew, gtdNew];
        }
      }
      return { f: bracketF[lowPos], g: bracketG[lowPos], t: bracket[lowPos], evals: lsFuncEvals };
    });
  }

  protected updateGroup(): void {
    throw new Error("LBFGS: call step(closure)");
  }

  override stateDict(): OptimizerStateDict {
    throw new Error("LBFGS: stateDict() is not supported for LBFGS (its state is global: see globalState)");
  }

  override loadStateDict(_sd: OptimizerStateDict): void {
    throw new Error("LBFGS: loadStateDict() is not supported for LBFGS");
  }

  override disposeState(): void {
    for (const t of stateTensors(this.globalState)) t.dispose();
    this.globalState = freshState();
    super.disposeState();
  }
}
