// airbench94 against its PyTorch twin (test/fixtures/gen_airbench.py, Debian's torch 1.13), all in float64:
// state-dict names and shapes, the whitening init from the same images (eigh in PyTorch, Jacobi here), train-mode
// logits, gradients and running statistics, eval-mode logits. Plus the configuration as data and the registry.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import {
  AIRBENCH94,
  AIRBENCH94_MUON,
  AIRBENCH95,
  Airbench,
  backboneSpec,
  buildModel,
  diracInit_,
  patchCovariance,
} from "../../src/models/index.ts";
import { F, fromTypedArray, noGrad, type Tensor, tidy, zeros } from "../../src/torch/index.ts";
import { native } from "../../src/torch/native.ts";
import { loadSafetensors } from "../../src/torch/safetensors.ts";
import { runFixture } from "./helpers.ts";

const skip = existsSync("/usr/bin/python3") ? false : "needs Debian's /usr/bin/python3 with torch";

/** Every floating parameter and buffer of `m` becomes float64 in place (requiresGrad kept). */
function toDouble(m: Airbench): void {
  for (const t of [...m.parameters(), ...m.buffers()]) {
    if (t.dtype !== "float32") continue;
    const d = t.detach().double();
    native.setData(t.native, d.native);
    d.dispose();
  }
}

const f64 = (t: Tensor) => Float64Array.from(t.toTypedArray() as Float64Array);

function relErr64(a: Tensor, b: Tensor): number {
  const x = f64(a);
  const y = f64(b);
  assert.equal(x.length, y.length);
  let d = 0;
  let m = 0;
  for (let i = 0; i < x.length; i++) {
    d = Math.max(d, Math.abs(x[i] - y[i]));
    m = Math.max(m, Math.abs(y[i]));
  }
  return d / (m || 1);
}

describe("airbench94 against its PyTorch twin", { skip }, () => {
  let fx: { dir: string; cleanup: () => void };
  let t: Map<string, Tensor>;
  let net: Airbench;
  before(async () => {
    fx = runFixture("gen_airbench.py");
    t = (await loadSafetensors(`${fx.dir}/airbench.safetensors`)).tensors;
    net = new Airbench(AIRBENCH94);
    toDouble(net);
  });
  after(() => {
    net?.dispose();
    for (const x of t?.values() ?? []) x.dispose();
    fx?.cleanup();
  });

  test("state-dict names, shapes and order; frozen whitening weight and BN scales", () => {
    const want = [...t.keys()].filter((k) => k.startsWith("state.")).map((k) => [k.slice(6), t.get(k)!.shape]);
    assert.deepEqual(
      [...net.stateDict()].map(([k, v]) => [k, v.shape]),
      want,
    );
    const trainable = [...net.namedParameters()].filter(([, p]) => p.requiresGrad).map(([k]) => k);
    const grads = [...t.keys()].filter((k) => k.startsWith("grad.")).map((k) => k.slice(5));
    assert.deepEqual(trainable.sort(), grads.sort(), "trainable parameters = those PyTorch computes gradients for");
    assert.equal(net.numParameters(), backboneSpec("airbench94").params);
  });

  test("whitening init from the same images equals PyTorch's eigh (each filter up to its sign)", () => {
    const probe = new Airbench(AIRBENCH94);
    toDouble(probe);
    try {
      probe.initWhitening(t.get("whiten_images")!);
      const ours = f64(probe.whiten.weight);
      const theirs = f64(t.get("state.whiten.weight")!);
      const d = 12;
      let worst = 0;
      for (let r = 0; r < 2 * d; r++) {
        const a = ours.subarray(r * d, (r + 1) * d);
        const b = theirs.subarray(r * d, (r + 1) * d);
        const sign = a.reduce((s, v, i) => s + v * b[i], 0) >= 0 ? 1 : -1;
        const scale = Math.max(...b.map(Math.abs));
        for (let i = 0; i < d; i++) worst = Math.max(worst, Math.abs(sign * a[i] - b[i]) / scale);
      }
      assert.ok(worst < 1e-6, `whitening filters differ by ${worst.toExponential(2)} (relative, per filter)`);
      // the second half is the first's negative
      for (let i = 0; i < d * d; i++) assert.equal(ours[d * d + i], -ours[i]);
    } finally {
      probe.dispose();
    }
  });

  test("train-mode logits, gradients and running statistics; eval-mode logits", () => {
    const state = new Map([...t].filter(([k]) => k.startsWith("state.")).map(([k, v]) => [k.slice(6), v]));
    net.loadStateDict(state);
    net.train();
    const x = t.get("x")!;
    const logits = net.forward(x);
    assert.ok(relErr64(logits, t.get("train_logits")!) < 1e-10, "train-mode logits");
    const loss = F.crossEntropy(logits, t.get("y")!, { labelSmoothing: 0.2, reduction: "sum" });
    loss.backward();
    loss.dispose();
    logits.dispose();
    for (const [k, p] of net.namedParameters()) {
      const want = t.get(`grad.${k}`);
      if (!want) {
        assert.equal(p.grad, null, `${k} is frozen and gets no gradient`);
        continue;
      }
      const e = relErr64(p.grad!, want);
      assert.ok(e < 1e-8, `gradient of ${k} differs by ${e.toExponential(2)}`);
    }
    for (const [k, b] of net.namedBuffers())
      if (k.includes("running")) assert.ok(relErr64(b, t.get(`after.${k}`)!) < 1e-10, `${k} after one batch`);
    net.eval();
    const y = tidy(() => noGrad(() => net.forward(x)));
    assert.ok(relErr64(y, t.get("eval_logits")!) < 1e-10, "eval-mode logits");
    y.dispose();
    net.zeroGrad();
  });
});

describe("airbench configuration and registry", () => {
  test("configuration as data: widths, whitening, BatchNorm, output scale", () => {
    assert.deepEqual(AIRBENCH94.widths, [64, 256, 256]);
    assert.deepEqual(AIRBENCH95.widths, [128, 384, 384]);
    const net = new Airbench(AIRBENCH95, 7);
    try {
      const bn = net.layers.getModule("1")!.getModule("norm1") as unknown as { eps: number; momentum: number };
      assert.equal(bn.eps, 1e-12);
      assert.ok(Math.abs(bn.momentum - 0.4) < 1e-12, "PyTorch momentum = 1 − airbench's 0.6");
      assert.deepEqual(net.whiten.weight.shape, [24, 3, 2, 2]);
      assert.deepEqual(net.head().weight.shape, [7, 384]);
      const y = tidy(() => noGrad(() => net.eval().forward(zeros([2, 3, 32, 32]))));
      assert.deepEqual(y.shape, [2, 7]);
      y.dispose();
    } finally {
      net.dispose();
    }
  });

  test("patch covariance: chunking does not change it; the muon variant's head has unit standard deviation", () => {
    const x = fromTypedArray(
      Float64Array.from({ length: 5 * 3 * 6 * 6 }, (_, i) => Math.sin(0.37 * i) + 0.01 * i),
      [5, 3, 6, 6],
      {
        dtype: "float64",
      },
    );
    const whole = patchCovariance(x, 2, 5);
    const chunked = patchCovariance(x, 2, 2);
    x.dispose();
    for (let i = 0; i < whole.length; i++)
      assert.ok(Math.abs(whole[i] - chunked[i]) < 1e-12 * Math.abs(whole[i]) + 1e-14);
    const m = new Airbench(AIRBENCH94_MUON);
    try {
      const w = Array.from(m.head().weight.toFloat32Array());
      const mean = w.reduce((a, b) => a + b, 0) / w.length;
      const sd = Math.sqrt(w.reduce((a, b) => a + (b - mean) ** 2, 0) / (w.length - 1));
      assert.ok(Math.abs(sd - 1) < 1e-5, `head std ${sd}`);
      assert.equal(m.cfg.outputScale, 1 / 256);
    } finally {
      m.dispose();
    }
  });

  test("dirac init: the first in-channels filters pass their channel through", () => {
    const w = zeros([5, 3, 3, 3]).add(0.5);
    diracInit_(w);
    const a = w.toFloat32Array();
    w.dispose();
    for (let o = 0; o < 5; o++)
      for (let i = 0; i < 3; i++)
        for (let r = 0; r < 9; r++) {
          const v = a[o * 27 + i * 9 + r];
          if (o >= 3) assert.equal(v, 0.5, "filters past in-channels keep their init");
          else assert.equal(v, o === i && r === 4 ? 1 : 0);
        }
  });

  test("buildModel puts airbench94 behind the adaptation network", () => {
    const m = buildModel({ backbone: "airbench94", blockSize: 4, classes: 10 });
    try {
      assert.equal(m.backbone.family, "airbench");
      const y = tidy(() => noGrad(() => m.eval().forward(zeros([2, 3, 32, 32]))));
      assert.deepEqual(y.shape, [2, 10]);
      y.dispose();
    } finally {
      m.dispose();
    }
  });
});
