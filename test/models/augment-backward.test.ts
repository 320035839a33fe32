// The per-sample augmentations (flipCrop, airbench's flipTranslate) on a batch whose gradient is wanted (a trained
// adaptation in front of them): the gradient is the forward's adjoint, and its cost grows with the batch, not with
// its square (one narrow(0, i, 1) per sample made each sample's backward fill a whole-batch zero tensor: 2.7 s a step
// at airbench's batch of 512 on 64×64 images).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { flipCrop, flipTranslate } from "../../src/models/index.ts";
import { fromTypedArray, manualSeed, randn, type Tensor, tidy } from "../../src/torch/index.ts";

const augments: [string, (x: Tensor) => Tensor][] = [
  ["flipCrop", (x) => flipCrop(x, 4)],
  [
    "flipTranslate",
    (x) =>
      flipTranslate(
        x,
        Array.from({ length: x.shape[0] }, (_, i) => i % 3 === 0),
        2,
      ),
  ],
];

/** Seconds of one forward + backward of `f` on a [b, 3, 64, 64] batch that wants its gradient (best of three). */
function backwardSeconds(f: (x: Tensor) => Tensor, b: number): number {
  let best = Infinity;
  for (let rep = 0; rep < 3; rep++) {
    const t0 = performance.now();
    tidy(() => {
      const x = randn([b, 3, 64, 64]).requiresGrad_();
      f(x).sum().backward();
      return x.grad!.sum().item();
    });
    best = Math.min(best, (performance.now() - t0) / 1000);
  }
  return best;
}

describe("augmentations a gradient goes back through", () => {
  for (const [name, f] of augments) {
    test(`${name}: the gradient is the forward's adjoint, ⟨f(x), g⟩ = ⟨x, ∇⟩ in float64`, () => {
      manualSeed(11);
      const [b, c, h, w] = [5, 2, 8, 8];
      const xs = Float32Array.from({ length: b * c * h * w }, (_, i) => Math.sin(1 + 0.37 * i));
      const gs = Float32Array.from({ length: b * c * h * w }, (_, i) => Math.cos(2 + 0.91 * i));
      const [y, grad] = tidy(() => {
        const x = fromTypedArray(xs, [b, c, h, w]).requiresGrad_();
        const out = f(x);
        out
          .mul(fromTypedArray(gs, [b, c, h, w]))
          .sum()
          .backward();
        return [out.toFloat32Array(), x.grad!.toFloat32Array()];
      });
      let lhs = 0;
      let rhs = 0;
      for (let i = 0; i < y.length; i++) lhs += y[i] * gs[i];
      for (let i = 0; i < xs.length; i++) rhs += xs[i] * grad[i];
      assert.ok(Math.abs(lhs - rhs) < 1e-4 * (1 + Math.abs(lhs)), `⟨f(x), g⟩ ${lhs} vs ⟨x, ∇⟩ ${rhs}`);
      // each output sample draws only on its own input sample: its gradient mass stays there
      for (let s = 0; s < b; s++) {
        const own = grad.subarray(s * c * h * w, (s + 1) * c * h * w);
        assert.ok(
          own.some((v) => v !== 0),
          `sample ${s} got no gradient`,
        );
      }
    });

    test(`${name}: backward time per image at a batch of 512 within 4× of that at 32 (it was about 10×)`, () => {
      backwardSeconds(f, 32); // warm the allocator
      const small = backwardSeconds(f, 32) / 32;
      const large = backwardSeconds(f, 512) / 512;
      assert.ok(
        large < 4 * small,
        `per image: ${(large * 1e6).toFixed(0)} µs at 512, ${(small * 1e6).toFixed(0)} µs at 32`,
      );
    });
  }
});
