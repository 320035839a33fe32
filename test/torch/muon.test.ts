// Muon against a PyTorch twin (test/fixtures/gen_airbench.py, float64): three steps on a conv filter and on a tall
// matrix with Nesterov momentum; newtonSchulz against a plain-JavaScript float64 iteration; the argument checks.
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { fromTypedArray, optim, type Tensor, zeros } from "../../src/torch/index.ts";
import { loadSafetensors } from "../../src/torch/safetensors.ts";
import { assertClose, PYTHON, runPython, tempDir } from "./helpers.ts";

/** Row-major r×c float64 matrix product a·b (a: r×k, b: k×c). */
function matmul(a: number[], b: number[], r: number, k: number, c: number): number[] {
  const out = new Array(r * c).fill(0);
  for (let i = 0; i < r; i++)
    for (let j = 0; j < c; j++) for (let t = 0; t < k; t++) out[i * c + j] += a[i * k + t] * b[t * c + j];
  return out;
}
const transpose = (a: number[], r: number, c: number) =>
  Array.from({ length: r * c }, (_, i) => a[(i % r) * c + Math.floor(i / r)]);

/** The quintic Newton–Schulz iteration, written out on plain arrays (wide orientation: r ≤ c). */
function nsReference(g: number[], r: number, c: number, steps: number): number[] {
  const norm = Math.sqrt(g.reduce((s, v) => s + v * v, 0));
  let x = g.map((v) => v / (norm + 1e-7));
  for (let s = 0; s < steps; s++) {
    const a = matmul(x, transpose(x, r, c), r, c, r);
    const a2 = matmul(a, a, r, r, r);
    const b = a.map((v, i) => -4.775 * v + 2.0315 * a2[i]);
    const bx = matmul(b, x, r, r, c);
    x = x.map((v, i) => 3.4445 * v + bx[i]);
  }
  return x;
}

describe("Muon", () => {
  test("newtonSchulz equals a float64 reference, wide and tall (transposed) alike", () => {
    const r = 3;
    const c = 5;
    const g = Array.from({ length: r * c }, (_, i) => Math.sin(1.7 * i + 0.3) + 0.1 * i);
    const want = nsReference(g, r, c, 3);
    const wide = fromTypedArray(Float64Array.from(g), [r, c], { dtype: "float64" });
    const tall = wide.t().contiguous();
    const a = optim.newtonSchulz(wide, 3);
    const b = optim.newtonSchulz(tall, 3);
    const ref = fromTypedArray(Float64Array.from(want), [r, c], { dtype: "float64" });
    const refT = ref.t().contiguous();
    try {
      assertClose(a, ref, "wide", 1e-12, 1e-12);
      assertClose(b, refT, "tall", 1e-12, 1e-12);
    } finally {
      for (const t of [wide, tall, a, b, ref, refT]) t.dispose();
    }
  });

  test("rejects vectors, weight decay and Nesterov without momentum", () => {
    const v = zeros([4]);
    const m = zeros([4, 4]);
    assert.throws(() => new optim.Muon([v], { lr: 0.1 }), /matrices or conv filters/);
    assert.throws(() => new optim.Muon([m], { lr: 0.1, weightDecay: 1e-4 }), /weight decay/);
    assert.throws(() => new optim.Muon([m], { lr: 0.1, nesterov: true }), /Nesterov/);
    v.dispose();
    m.dispose();
  });
});

describe("MuonSGD", () => {
  test("Muon groups step exactly as Muon, the other groups exactly as SGD", () => {
    const seedValues = (n: number, k: number) => Float64Array.from({ length: n }, (_, i) => Math.sin(k * (i + 1)));
    const make = (n: number[], k: number) => {
      const t = fromTypedArray(
        seedValues(
          n.reduce((a, b) => a * b),
          k,
        ),
        n,
        { dtype: "float64" },
      );
      t.requiresGrad = true;
      return t;
    };
    const [f1, b1, f2, b2] = [make([4, 2, 3, 3], 1), make([4], 2), make([4, 2, 3, 3], 1), make([4], 2)];
    const both = new optim.MuonSGD(
      [
        { params: [f1], muon: true, lr: 0.2, momentum: 0.6, nesterov: true },
        { params: [b1], lr: 0.05, weightDecay: 0.01 },
      ],
      { lr: 0.05, momentum: 0.85, nesterov: true },
    );
    const muon = new optim.Muon([f2], { lr: 0.2, momentum: 0.6, nesterov: true });
    const sgd = new optim.SGD([b2], { lr: 0.05, momentum: 0.85, nesterov: true, weightDecay: 0.01 });
    try {
      for (let s = 0; s < 3; s++) {
        for (const [p, k] of [
          [f1, 3],
          [f2, 3],
          [b1, 4],
          [b2, 4],
        ] as const)
          p.grad = fromTypedArray(seedValues(p.numel(), k + s), p.shape, { dtype: "float64" });
        both.step();
        muon.step();
        sgd.step();
      }
      assertClose(f1.detach(), f2.detach(), "Muon group", 0, 0);
      assertClose(b1.detach(), b2.detach(), "SGD group", 0, 0);
      assert.throws(() => new optim.MuonSGD([{ params: [b1], muon: true }], { lr: 0.1 }), /matrices or conv filters/);
    } finally {
      for (const o of [both, muon, sgd]) o.dispose();
      for (const t of [f1, b1, f2, b2]) t.dispose();
    }
  });
});

describe("Muon against its PyTorch twin", { skip: existsSync(PYTHON) ? false : "needs Debian's python3-torch" }, () => {
  let tmp: { dir: string; cleanup: () => void };
  let t: Map<string, Tensor>;
  before(async () => {
    tmp = tempDir();
    runPython("gen_airbench.py", [tmp.dir]);
    t = (await loadSafetensors(`${tmp.dir}/muon.safetensors`)).tensors;
  });
  after(() => {
    for (const x of t?.values() ?? []) x.dispose();
    tmp?.cleanup();
  });

  for (const name of ["conv", "tall"]) {
    test(`${name}: three Nesterov steps (lr 0.24, momentum 0.6) match in float64`, () => {
      const p = t.get(`${name}.p0`)!.clone();
      p.requiresGrad = true;
      const opt = new optim.Muon([p], { lr: 0.24, momentum: 0.6, nesterov: true });
      try {
        for (let s = 0; s < 3; s++) {
          p.grad = t.get(`${name}.g${s}`)!;
          opt.step();
          assertClose(p.detach(), t.get(`${name}.p${s + 1}`)!, `${name} after step ${s + 1}`, 1e-9, 1e-9);
        }
      } finally {
        opt.dispose();
        p.dispose();
      }
    });
  }
});
