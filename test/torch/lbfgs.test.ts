// optim.LBFGS against torch.optim.LBFGS (test/fixtures/gen_torch_lbfgs.py): float64 parameters after every step()
// call, its returned loss and the closure evaluations, with and without the strong-Wolfe line search; the state's
// tensor lifetimes; validation; a float32 run converging on Rosenbrock.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { cat, dispose, keep, loadSafetensors, optim, type Tensor, tensor, tidy } from "../../src/torch/index.ts";
import { assertClose, assertNear, runPython, tempDir } from "./helpers.ts";

type Config = [objective: string, options: Record<string, unknown>, steps: number];
interface Result {
  losses: number[];
  func_evals: number[];
  n_iter: number[];
}

const camel = (k: string) => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());
const camelKeys = (o: Record<string, unknown>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [camel(k), v]));

/** (1 − x0)² + 100·(x1 − x0²)², the same ops as the generator's. */
function rosenbrock([x]: Tensor[]): Tensor {
  const x0 = x.select(0, 0);
  const x1 = x.select(0, 1);
  return x0
    .neg()
    .add(1)
    .pow(2)
    .add(x1.sub(x0.pow(2)).pow(2).mul(100));
}

/** ||A x − b||² + 0.1·Σ sqrt(x² + 0.01). */
function lsq(A: Tensor, b: Tensor, x: Tensor): Tensor {
  return A.matmul(x).sub(b).pow(2).sum().add(x.pow(2).add(0.01).sqrt().sum().mul(0.1));
}

describe("LBFGS against PyTorch (gen_torch_lbfgs.py)", () => {
  const tmp = tempDir();
  let all: Map<string, Tensor>;
  let configs: Record<string, Config>;
  let results: Record<string, Result>;
  const get = (k: string) => {
    const t = all.get(k);
    if (!t) throw new Error(`fixture has no ${k}`);
    return t;
  };

  before(async () => {
    runPython("gen_torch_lbfgs.py", [tmp.dir]);
    const c = await loadSafetensors(`${tmp.dir}/lbfgs.safetensors`);
    all = c.tensors;
    configs = JSON.parse(c.metadata.configs);
    results = JSON.parse(c.metadata.results);
  });
  after(() => {
    dispose(all);
    tmp.cleanup();
  });

  const objectives: Record<string, { nParams: number; f: (ps: Tensor[]) => Tensor }> = {
    rosenbrock: { nParams: 1, f: rosenbrock },
    lsq: { nParams: 1, f: ([x]) => lsq(get("lsq.A"), get("lsq.b"), x) },
    lsq_split: { nParams: 2, f: ([u, v]) => lsq(get("lsq.A"), get("lsq.b"), cat([u, v.reshape(-1)])) },
    linear: { nParams: 1, f: ([x]) => x.sum().neg() },
  };

  /** Fresh parameters, an optimizer and a closure that counts its calls. */
  function setup(objective: string, options: optim.LBFGSInit) {
    const { nParams, f } = objectives[objective];
    const params = Array.from({ length: nParams }, (_, i) =>
      keep(get(`${objective}.init.${i}`).clone()).requiresGrad_(),
    );
    const opt = new optim.LBFGS(params, options);
    const counter = { calls: 0 };
    const closure = () => {
      counter.calls++;
      opt.zeroGrad();
      const loss = f(params);
      loss.backward();
      return loss;
    };
    return { params, opt, closure, counter };
  }

  const names = [
    "lsq_fixed_lr1",
    "lsq_fixed_lr05",
    "rosenbrock_fixed_lr05_it5",
    "rosenbrock_fixed_lr05_tol",
    "lsq_split_fixed_it5",
    "rosenbrock_wolfe",
    "rosenbrock_wolfe_h3",
    "rosenbrock_wolfe_it5",
    "rosenbrock_wolfe_eval7",
    "lsq_wolfe",
    "lsq_split_wolfe_h3_it5",
    "lsq_wolfe_tol",
    "rosenbrock_wolfe_lr30_h2",
    "rosenbrock_wolfe_lr0001",
    "linear_wolfe_it1",
    "lsq_wolfe_tiny_lr",
  ];

  test("the fixture has exactly the configs tested here", () =>
    assert.deepEqual(Object.keys(configs).sort(), [...names].sort()));

  for (const name of names) {
    test(`${name}: parameters, loss and closure evaluations after each step()`, () => {
      const [objective, raw, steps] = configs[name];
      const ref = results[name];
      const { params, opt, closure, counter } = setup(objective, camelKeys(raw));
      for (let k = 0; k < steps; k++) {
        const loss = tidy(() => opt.step(closure)); // the state must survive the caller's scopes
        for (const [i, p] of params.entries())
          assertClose(p, get(`${name}.p.${k}.${i}`), `${name} step ${k} param ${i}`, 1e-10, 1e-12);
        assertNear(loss, ref.losses[k], `${name} step ${k} loss`, 1e-10);
        assert.equal(counter.calls, ref.func_evals[k], `${name} step ${k}: closure calls`);
        assert.equal(opt.globalState.funcEvals, ref.func_evals[k], `${name} step ${k}: func_evals`);
        assert.equal(opt.globalState.nIter, ref.n_iter[k], `${name} step ${k}: n_iter`);
      }
      opt.dispose();
      dispose(params);
    });
  }

  test("state tensors: kept across steps, the ones a step replaces freed, all freed by dispose()", () => {
    const { params, opt, closure } = setup("rosenbrock", { lineSearchFn: "strong_wolfe", historySize: 3, maxIter: 4 });
    const held = () => {
      const s = opt.globalState;
      return [...s.oldDirs, ...s.oldStps, s.d, s.prevFlatGrad].filter((t): t is Tensor => t !== null);
    };
    let before = held();
    for (let k = 0; k < 4; k++) {
      tidy(() => opt.step(closure));
      const now = held();
      assert.ok(
        now.every((t) => !t.isDisposed),
        `step ${k}: the state holds a freed tensor`,
      );
      assert.ok(
        before.filter((t) => !now.includes(t)).every((t) => t.isDisposed),
        `step ${k}: a replaced state tensor is still alive`,
      );
      before = now;
    }
    assert.equal(opt.globalState.oldDirs.length, 3);
    assert.equal(opt.globalState.ro.length, 3);
    opt.dispose();
    assert.ok(before.every((t) => t.isDisposed));
    assert.equal(opt.globalState.d, null);
    dispose(params);
  });

  test("float32: strong-Wolfe L-BFGS takes Rosenbrock from (-1.5, 2) to (1, 1)", () => {
    const x = keep(tensor([-1.5, 2], { dtype: "float32" })).requiresGrad_();
    const opt = new optim.LBFGS([x], { lineSearchFn: "strong_wolfe" });
    const closure = () => {
      opt.zeroGrad();
      const loss = rosenbrock([x]);
      loss.backward();
      return loss;
    };
    const first = opt.step(closure);
    assertNear(first, 12.5, "first loss (at the start point)", 1e-6);
    for (let k = 0; k < 5; k++) opt.step(closure);
    assert.equal(x.dtype, "float32");
    const [a, b] = x.toArray();
    assert.ok(Math.abs(a - 1) < 1e-3 && Math.abs(b - 1) < 2e-3, `ended at (${a}, ${b})`);
    opt.dispose();
    x.dispose();
  });
});

describe("LBFGS validation", () => {
  test("one parameter group; lr, historySize, maxIter and lineSearchFn checked; step needs a closure", () => {
    const p = keep(tensor([1, 2], { dtype: "float64" })).requiresGrad_();
    const q = keep(tensor([3], { dtype: "float64" })).requiresGrad_();
    assert.throws(() => new optim.LBFGS([{ params: [p] }, { params: [q] }]), /parameter groups/);
    assert.throws(() => new optim.LBFGS([p], { lr: -1 }), /invalid learning rate -1/);
    assert.throws(() => new optim.LBFGS([p], { lr: Number.NaN }), /invalid learning rate/);
    assert.throws(() => new optim.LBFGS([p], { historySize: 0 }), /historySize must be a positive integer/);
    assert.throws(() => new optim.LBFGS([p], { historySize: 2.5 }), /historySize/);
    assert.throws(() => new optim.LBFGS([p], { maxIter: 0 }), /maxIter/);
    assert.throws(
      () => new optim.LBFGS([p], { lineSearchFn: "backtracking" as "strong_wolfe" }),
      /unknown lineSearchFn/,
    );
    const opt = new optim.LBFGS([{ params: [p], lr: 0.5 }]);
    assert.equal(opt.paramGroups[0].lr, 0.5);
    assert.equal(opt.paramGroups[0].maxEval, 25);
    assert.equal(new optim.LBFGS([p], { maxIter: 5 }).paramGroups[0].maxEval, 6);
    assert.throws(() => opt.addParamGroup({ params: [q] }), /parameter groups/);
    assert.throws(() => opt.step(), /needs a closure/);
    assert.throws(() => opt.stateDict(), /not supported for LBFGS/);
    dispose([p, q]);
  });
});
