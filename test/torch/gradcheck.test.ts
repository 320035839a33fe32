// Finite-difference gradient checks in float64: for f(x) = sum(op(x) · proj), the directional derivative
// along random directions v by central differences must equal <∇f, v> from autograd.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { F, manualSeed, noGrad, rand, randn, type Tensor, tensor, tidy } from "../../src/torch/index.ts";

const H = 1e-6;
const DIRECTIONS = 3;

/** Checks every input of op (float64 leaves) against central differences; returns the worst relative error. */
function gradcheck(op: (xs: Tensor[]) => Tensor, inputs: Tensor[]): number {
  return tidy(() => {
    const xs = inputs.map((x) => x.clone().requiresGrad_());
    const y0 = op(xs);
    const proj = randn(y0.shape, { dtype: "float64" });
    y0.mul(proj).sum().backward();
    const grads = xs.map((x) => x.grad as Tensor);
    const f = (ys: Tensor[]) => noGrad(() => tidy(() => op(ys).mul(proj).sum().item()));
    let worst = 0;
    for (let i = 0; i < xs.length; i++) {
      for (let d = 0; d < DIRECTIONS; d++) {
        const v = randn(xs[i].shape, { dtype: "float64" });
        const plus = xs.map((x, j) => (j === i ? x.detach().add(v.mul(H)) : x.detach()));
        const minus = xs.map((x, j) => (j === i ? x.detach().sub(v.mul(H)) : x.detach()));
        const numeric = (f(plus) - f(minus)) / (2 * H);
        const analytic = grads[i].mul(v).sum().item();
        const rel = Math.abs(numeric - analytic) / Math.max(Math.abs(analytic), 1e-3);
        worst = Math.max(worst, rel);
        assert.ok(
          rel < 1e-6,
          `input ${i} direction ${d}: numeric ${numeric} vs autograd ${analytic} (relative error ${rel})`,
        );
      }
    }
    return worst;
  });
}

const r = (...shape: number[]) => randn(shape, { dtype: "float64" });

describe("finite-difference gradient checks (float64)", () => {
  manualSeed(7);

  test("conv2d (stride, padding, dilation, groups, bias)", () =>
    tidy(() => {
      gradcheck(([x, w, b]) => F.conv2d(x, w, b, 2, [1, 2], [1, 2], 2), [r(2, 4, 7, 7), r(6, 2, 3, 3), r(6)]);
    }));

  test("conv_transpose2d (stride, padding, output padding, groups)", () =>
    tidy(() => {
      gradcheck(([x, w, b]) => F.convTranspose2d(x, w, b, 2, 1, 1, 2), [r(2, 4, 4, 4), r(4, 3, 3, 3), r(6)]);
    }));

  test("batch_norm in training mode (batch statistics)", () =>
    tidy(() => {
      const rm = r(3);
      const rv = rand([3], { dtype: "float64" }).add(0.5);
      gradcheck(
        ([x, w, b]) => F.batchNorm(x, rm.clone(), rv.clone(), w, b, true, 0.1, 1e-5),
        [r(4, 3, 3, 3).mul(2).add(1), r(3), r(3)],
      );
    }));

  test("layer_norm", () =>
    tidy(() => {
      gradcheck(([x, w, b]) => F.layerNorm(x, [3, 4], w, b, 1e-5), [r(2, 3, 4), r(3, 4), r(3, 4)]);
    }));

  test("cross_entropy with label smoothing and class weights", () =>
    tidy(() => {
      const t = tensor([0, 3, 2, 1, 3]).long();
      const wt = rand([4], { dtype: "float64" }).add(0.5);
      gradcheck(([x]) => F.crossEntropy(x, t, { labelSmoothing: 0.1 }), [r(5, 4)]);
      gradcheck(([x]) => F.crossEntropy(x, t, { labelSmoothing: 0.2, weight: wt, reduction: "sum" }), [r(5, 4)]);
    }));

  test("gelu (exact and tanh)", () =>
    tidy(() => {
      gradcheck(([x]) => F.gelu(x), [r(4, 6)]);
      gradcheck(([x]) => F.gelu(x, "tanh"), [r(4, 6)]);
    }));

  test("linear, silu, softmax, avg pool and a broadcasting expression", () =>
    tidy(() => {
      gradcheck(([x, w, b]) => F.linear(x, w, b), [r(3, 5), r(4, 5), r(4)]);
      gradcheck(([x]) => F.silu(x), [r(3, 5)]);
      gradcheck(([x]) => F.logSoftmax(x, 1), [r(3, 5)]);
      gradcheck(([x]) => F.adaptiveAvgPool2d(x, [2, 3]), [r(1, 2, 5, 7)]);
      gradcheck(([a, b]) => a.mul(b).div(b.mul(b).add(1)).sub(a.pow(2)), [r(3, 1, 4), r(5, 1)]);
    }));

  test("the check itself catches a wrong gradient", () =>
    tidy(() => {
      // relu's gradient at a kink-free point is fine; a detached branch makes autograd miss a term
      assert.throws(() => gradcheck(([x]) => x.mul(x.detach()), [r(3)]), /relative error/);
    }));
});
