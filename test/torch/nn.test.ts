// torch.nn layers against PyTorch (test/fixtures/gen_torch_nn.py): state-dict names, shapes and dtypes,
// default initialisation bounds, and BatchNorm2d's training/eval behaviour with its running statistics.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { dispose, loadSafetensors, manualSeed, nn, noGrad, type Tensor, tidy } from "../../src/torch/index.ts";
import { assertClose, runPython, tempDir } from "./helpers.ts";

const LAYERS: Record<string, () => nn.Module> = {
  conv: () => new nn.Conv2d(3, 8, 3),
  conv_groups_nobias: () => new nn.Conv2d(4, 8, [3, 5], { stride: 2, groups: 2, bias: false }),
  convt: () => new nn.ConvTranspose2d(4, 6, 3, { stride: 2, groups: 2 }),
  linear: () => new nn.Linear(5, 7),
  linear_nobias: () => new nn.Linear(5, 7, { bias: false }),
  bn: () => new nn.BatchNorm2d(4),
  bn_noaffine: () => new nn.BatchNorm2d(4, { affine: false }),
  ln: () => new nn.LayerNorm([4, 5]),
  seq: () =>
    new nn.Sequential(
      new nn.Conv2d(3, 4, 3),
      new nn.BatchNorm2d(4),
      new nn.ReLU(),
      new nn.Flatten(),
      new nn.Linear(4, 2),
    ),
};

describe("nn layers against PyTorch (gen_torch_nn.py)", () => {
  const tmp = tempDir();
  let all: Map<string, Tensor>;
  let layers: Record<string, [string, number[], string][]>;
  const get = (k: string) => all.get(k) as Tensor;

  before(async () => {
    runPython("gen_torch_nn.py", [tmp.dir]);
    const c = await loadSafetensors(`${tmp.dir}/nn.safetensors`);
    all = c.tensors;
    layers = JSON.parse(c.metadata.layers);
  });
  after(() => {
    dispose(all);
    tmp.cleanup();
  });

  for (const [name, make] of Object.entries(LAYERS)) {
    test(`${name}: state-dict keys, shapes and dtypes equal PyTorch's`, () => {
      const m = make();
      const got = [...m.stateDict()].map(([k, t]) => [k, t.shape, t.dtype]);
      assert.deepEqual(got, layers[name]);
      m.dispose();
    });
  }

  test("Conv2d / Linear / ConvTranspose2d default init: kaiming_uniform(a=√5) and bias bounds", () => {
    manualSeed(11);
    const cases: [nn.Module & { weight: Tensor; bias: Tensor | null }, number][] = [
      [new nn.Conv2d(16, 32, 3), 16 * 9],
      [new nn.Conv2d(16, 32, 3, { groups: 4 }), 4 * 9],
      [new nn.Linear(200, 100), 200],
      [new nn.ConvTranspose2d(16, 32, 3), 32 * 9],
    ];
    for (const [m, fanIn] of cases) {
      const bound = 1 / Math.sqrt(fanIn); // gain √(2/(1+5)) · √3 / √fan_in = 1/√fan_in
      const w = m.weight.toArray();
      const maxAbs = Math.max(...w.map(Math.abs));
      assert.ok(maxAbs <= bound && maxAbs > 0.95 * bound, `${m.constructor.name} weight max ${maxAbs}, bound ${bound}`);
      const mean = w.reduce((a, b) => a + b, 0) / w.length;
      const std = Math.sqrt(w.reduce((a, b) => a + (b - mean) ** 2, 0) / w.length);
      assert.ok(Math.abs(mean) < 0.1 * bound, `${m.constructor.name} weight mean ${mean}`);
      assert.ok(Math.abs(std / (bound / Math.sqrt(3)) - 1) < 0.08, `${m.constructor.name} weight std ${std} (uniform)`);
      const b = (m.bias as Tensor).toArray();
      assert.ok(Math.max(...b.map(Math.abs)) <= bound, `${m.constructor.name} bias within ±${bound}`);
      assert.ok(new Set(b).size > 1, "bias is random");
      m.dispose();
    }
  });

  test("BatchNorm2d: train batches then eval match PyTorch, incl. running stats and num_batches_tracked", () => {
    const bn = new nn.BatchNorm2d(3, { momentum: 0.2 });
    noGrad(() => {
      bn.weight?.copy_(get("bn.weight"));
      bn.bias?.copy_(get("bn.bias"));
    });
    bn.train();
    for (let k = 0; k < 4; k++) {
      if (k === 3) bn.eval();
      tidy(() =>
        assertClose(bn.forward(get(`bn.x.${k}`)), get(`bn.y.${k}`), `batch ${k} (${k === 3 ? "eval" : "train"})`),
      );
    }
    const sd = bn.stateDict();
    for (const [k, t] of sd) {
      const ref = get(`bn.after.${k}`);
      assert.equal(t.dtype, ref.dtype, k);
      if (t.dtype === "int64") assert.deepEqual(t.toArray(), ref.toArray(), k);
      else assertClose(t, ref, k);
    }
    assert.equal(sd.get("num_batches_tracked")?.item(), 3);
    bn.dispose();
  });
});
