// Optimizers and LR schedulers against PyTorch (test/fixtures/gen_torch_optim.py): parameters after
// every step, resuming from a saved state, and learning-rate values.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { dispose, keep, loadSafetensors, optim, type Tensor, tensor, tidy, zeros } from "../../src/torch/index.ts";
import { assertClose, assertNear, runPython, tempDir } from "./helpers.ts";

type Config = [string, Record<string, any>];

const camel = (k: string) => k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase());

function makeOptimizer(cls: string, raw: Record<string, any>, params: Tensor[]): optim.Optimizer<any> {
  const o: Record<string, any> = {};
  let groups: any[] | null = null;
  for (const [k, v] of Object.entries(raw)) {
    if (k === "groups")
      groups = (v as any[]).map((g) => {
        const out: Record<string, any> = {};
        for (const [gk, gv] of Object.entries(g))
          out[camel(gk)] = gk === "params" ? (gv as number[]).map((i) => params[i]) : gv;
        return out;
      });
    else o[camel(k)] = v;
  }
  const input = groups ?? params;
  if (cls === "SGD") return new optim.SGD(input as any, o as any);
  if (cls === "Adam") return new optim.Adam(input as any, o);
  if (cls === "AdamW") return new optim.AdamW(input as any, o);
  throw new Error(`unknown optimizer ${cls}`);
}

describe("optimizers against PyTorch (gen_torch_optim.py)", () => {
  const tmp = tempDir();
  let all: Map<string, Tensor>;
  let configs: Record<string, Config>;
  let schedules: Record<string, number[][]>;
  let STEPS = 0;
  const get = (k: string) => {
    const t = all.get(k);
    if (!t) throw new Error(`fixture has no ${k}`);
    return t;
  };
  const nParams = 3;

  before(async () => {
    runPython("gen_torch_optim.py", [tmp.dir]);
    const c = await loadSafetensors(`${tmp.dir}/optim.safetensors`);
    all = c.tensors;
    configs = JSON.parse(c.metadata.configs);
    schedules = JSON.parse(c.metadata.schedules);
    STEPS = Number(c.metadata.steps);
  });
  after(() => {
    dispose(all);
    tmp.cleanup();
  });

  const freshParams = () => Array.from({ length: nParams }, (_, i) => keep(get(`init.${i}`).clone()).requiresGrad_());
  const setGrads = (name: string, params: Tensor[], k: number) =>
    params.forEach((p, i) => {
      if (name.endsWith("_skip") && k === 1 && i === 1) p.grad = null;
      else tidy(() => (p.grad = get(`grad.${k}.${i}`).clone()));
    });
  const check = (name: string, params: Tensor[], k: number, what: string) => {
    for (const [i, p] of params.entries())
      assertClose(p, get(`${name}.p.${k}.${i}`), `${name} ${what} step ${k} param ${i}`, 1e-5, 1e-6);
  };

  const names = [
    "sgd",
    "sgd_momentum",
    "sgd_nesterov",
    "sgd_momentum_skip",
    "sgd_maximize",
    "adam",
    "adam_wd_amsgrad",
    "adam_skip",
    "adam_maximize",
    "adamw",
    "adamw_amsgrad_skip",
    "adamw_groups",
  ];

  test("the fixture has exactly the configs tested here", () =>
    assert.deepEqual(Object.keys(configs).sort(), [...names].sort()));

  for (const name of names) {
    test(`${name}: parameters after each step`, () => {
      const [cls, raw] = configs[name];
      const params = freshParams();
      const opt = makeOptimizer(cls, raw, params);
      for (let k = 0; k < STEPS; k++) {
        setGrads(name, params, k);
        tidy(() => opt.step()); // state must survive the caller's scopes
        check(name, params, k, "");
        // the gradients are left as they were (PyTorch 1.13's foreach Adam adds weight decay into them)
        params.forEach((p, i) => {
          if (p.grad)
            tidy(() => assertClose(p.grad as Tensor, get(`grad.${k}.${i}`), `${name} grad ${i} untouched`, 0, 0));
        });
        opt.zeroGrad();
      }
      assert.ok(params.every((p) => p.grad === null));
      opt.dispose();
      dispose(params);
    });

    test(`${name}: save → load → continue matches the uninterrupted run`, async () => {
      const [cls, raw] = configs[name];
      const cut = 3;
      let params = freshParams();
      let opt = makeOptimizer(cls, raw, params);
      for (let k = 0; k < cut; k++) {
        setGrads(name, params, k);
        opt.step();
      }
      const file = `${tmp.dir}/${name}.state.safetensors`;
      await optim.saveOptimizerState(file, opt, { note: "resume test" });
      const snapshot = params.map((p) => keep(p.detach().clone()));
      opt.dispose();
      dispose(params);
      params = snapshot.map((t) => t.requiresGrad_());
      opt = makeOptimizer(cls, raw, params);
      const meta = await optim.loadOptimizerState(file, opt);
      assert.equal(meta.note, "resume test");
      for (let k = cut; k < STEPS; k++) {
        setGrads(name, params, k);
        opt.step();
        check(name, params, k, "resumed");
      }
      opt.dispose();
      dispose(params);
    });
  }

  test("stateDict layout: PyTorch's names and per-parameter steps", () => {
    const params = freshParams();
    const opt = new optim.Adam(params, { lr: 0.1, amsgrad: true });
    for (let k = 0; k < 2; k++) {
      setGrads("x_skip", params, k);
      opt.step();
    }
    const sd = opt.stateDict();
    assert.deepEqual([...sd.state.keys()], [0, 1, 2]);
    assert.deepEqual(Object.keys(sd.state.get(0)?.tensors ?? {}).sort(), ["exp_avg", "exp_avg_sq", "max_exp_avg_sq"]);
    assert.deepEqual(
      [...sd.state.values()].map((s) => s.step),
      [2, 1, 2],
    );
    assert.deepEqual(sd.paramGroups[0].params, [0, 1, 2]);
    assert.equal(sd.paramGroups[0].lr, 0.1);
    const { tensors, metadata } = optim.optimizerStateToSafetensors(sd, "Adam");
    assert.equal(tensors.size, 9);
    const back = optim.optimizerStateFromSafetensors({ tensors, metadata });
    assert.deepEqual(
      [...back.state.values()].map((s) => s.step),
      [2, 1, 2],
    );
    assert.throws(() => new optim.SGD(params, { lr: 0.1 }).loadStateDict(sd), /SGD|shape|state/);
    const wrong = new optim.Adam([params[0]], { lr: 0.1 });
    assert.throws(() => wrong.loadStateDict(sd), /1 parameters in the optimizer|3 parameters/);
    opt.dispose();
    dispose(params);
  });

  test("validation: bad hyper-parameters and duplicate parameters", () => {
    const p = keep(zeros([2], { requiresGrad: true }));
    assert.throws(() => new optim.SGD([p], { lr: -1 }), RangeError);
    assert.throws(() => new optim.SGD([p], { lr: 0.1, nesterov: true }), /nesterov/);
    assert.throws(() => new optim.Adam([p], { betas: [1, 0.9] }), /beta1/);
    assert.throws(() => new optim.SGD([{ params: [p] }, { params: [p] }], { lr: 0.1 }), /more than one group/);
    assert.throws(() => new optim.SGD([], { lr: 0.1 }), /empty/);
    p.dispose();
  });

  test("zeroGrad(false) zeroes in place; step skips parameters without gradients", () => {
    const a = keep(tensor([1, 2])).requiresGrad_();
    const b = keep(tensor([3])).requiresGrad_();
    const opt = new optim.SGD([a, b], { lr: 0.5, momentum: 0.9 });
    tidy(() => (a.grad = tensor([1, 1])));
    opt.step();
    assert.deepEqual(a.toArray(), [0.5, 1.5]);
    assert.deepEqual(b.toArray(), [3]);
    assert.equal(opt.state.has(b), false);
    opt.zeroGrad(false);
    tidy(() => assert.deepEqual(a.grad?.toArray(), [0, 0]));
    opt.dispose();
    dispose([a, b]);
  });

  const SCHED: Record<string, (o: optim.Optimizer<any>) => optim.LRScheduler> = {
    step: (o) => new optim.StepLR(o, { stepSize: 3, gamma: 0.5 }),
    multistep: (o) => new optim.MultiStepLR(o, { milestones: [2, 5, 9], gamma: 0.3 }),
    cosine: (o) => new optim.CosineAnnealingLR(o, { tMax: 10, etaMin: 1e-3 }),
    linear: (o) => new optim.LinearLR(o, { startFactor: 0.25, endFactor: 1, totalIters: 4 }),
    linear_down: (o) => new optim.LinearLR(o, { startFactor: 1, endFactor: 0.1, totalIters: 5 }),
    warmup_cosine: (o) => optim.warmupCosine(o, { warmupSteps: 5, totalSteps: 20, startFactor: 0.01, etaMin: 1e-4 }),
  };
  const schedOptimizer = () => {
    const a = keep(zeros([1], { requiresGrad: true }));
    const b = keep(zeros([1], { requiresGrad: true }));
    return new optim.SGD(
      [
        { params: [a], lr: 0.1 },
        { params: [b], lr: 0.02 },
      ],
      { lr: 0.1 },
    );
  };

  for (const [name, make] of Object.entries(SCHED)) {
    test(`scheduler ${name}: learning rates equal torch.optim.lr_scheduler's`, () => {
      const ref = schedules[name];
      const opt = schedOptimizer();
      const s = make(opt);
      const lrs = [opt.paramGroups.map((g) => g.lr)];
      for (let i = 1; i < ref.length; i++) {
        s.step();
        lrs.push(opt.paramGroups.map((g) => g.lr));
        assert.deepEqual(s.getLastLr(), lrs[i]);
      }
      for (const [i, row] of lrs.entries())
        for (const [j, v] of row.entries()) assertNear(v, ref[i][j], `${name} epoch ${i} group ${j}`, 1e-9);

      // resume half-way through from the (JSON) state dict
      const half = Math.floor(ref.length / 2);
      const opt2 = schedOptimizer();
      const s2 = make(opt2);
      const s1 = make(schedOptimizer());
      for (let i = 1; i <= half; i++) s1.step();
      s2.loadStateDict(JSON.parse(JSON.stringify(s1.stateDict())));
      for (let i = half + 1; i < ref.length; i++) {
        s2.step();
        for (const [j, g] of opt2.paramGroups.entries())
          assertNear(g.lr, ref[i][j], `${name} resumed epoch ${i} group ${j}`, 1e-9);
      }
      for (const o of [opt, opt2, s1.optimizer]) dispose(o.paramGroups.flatMap((g) => g.params));
    });
  }
});
