// The dead-leaves generator (the attack's synthetic reference): seeded and batching-independent, its blur against a
// brute-force float64 convolution, and its pixel and colour statistics against the values the model implies.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  blurValid,
  checkDeadLeaves,
  DEAD_LEAVES_DEFAULT,
  gaussianKernel,
  SyntheticImages,
} from "../../src/data/synthetic-images.ts";

const all = (s: SyntheticImages, limit?: number) => {
  const parts = [...s.images({ limit })].map(({ x, n }) => x.subarray(0, n * s.shape[0] * s.shape[1] * s.shape[2]));
  const out = new Float32Array(parts.reduce((a, p) => a + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

describe("SyntheticImages (dead leaves)", () => {
  test("the same seed gives the same images, whatever the limit; another seed other images; all in [0, 1]", () => {
    const a = all(new SyntheticImages([3, 16, 16], 300, DEAD_LEAVES_DEFAULT, 7));
    const b = all(new SyntheticImages([3, 16, 16], 300, DEAD_LEAVES_DEFAULT, 7), 270);
    const c = all(new SyntheticImages([3, 16, 16], 300, DEAD_LEAVES_DEFAULT, 8), 10);
    assert.equal(a.length, 300 * 768);
    assert.equal(b.length, 270 * 768);
    assert.deepEqual(b, a.subarray(0, b.length));
    let differ = 0;
    for (let i = 0; i < c.length; i++) if (c[i] !== a[i]) differ++;
    assert.ok(differ > c.length / 2, `${differ} of ${c.length} pixels differ between seeds`);
    assert.ok(a.every((v) => v >= 0 && v <= 1));
  });

  test("unblurred grey leaves: pixels uniform on [0, 1] (mean 1/2, variance 1/12), channels equal", () => {
    const m = { ...DEAD_LEAVES_DEFAULT, blur: 0, noise: 0, colourSpread: 0 };
    const x = all(new SyntheticImages([3, 16, 16], 400, m, 3));
    let [sum, sq, unequal] = [0, 0, 0];
    const plane = 256;
    for (let i = 0; i < 400; i++)
      for (let p = 0; p < plane; p++) {
        const v = x[i * 3 * plane + p];
        sum += v;
        sq += v * v;
        if (x[i * 3 * plane + plane + p] !== v || x[i * 3 * plane + 2 * plane + p] !== v) unequal++;
      }
    const n = 400 * plane;
    const mean = sum / n;
    const variance = sq / n - mean * mean;
    assert.equal(unequal, 0);
    assert.ok(Math.abs(mean - 0.5) < 0.04, `mean ${mean}`);
    assert.ok(Math.abs(variance - 1 / 12) < 0.012, `variance ${variance} (1/12 = ${1 / 12})`);
  });

  test("colour spread s: the difference of two channels of a leaf has variance 2s² (little clipping at s = 0.03)", () => {
    const s = 0.03;
    const m = { ...DEAD_LEAVES_DEFAULT, blur: 0, noise: 0, colourSpread: s };
    const x = all(new SyntheticImages([3, 16, 16], 400, m, 4));
    let [sum, sq] = [0, 0];
    const plane = 256;
    for (let i = 0; i < 400; i++)
      for (let p = 0; p < plane; p++) {
        const d = x[i * 3 * plane + p] - x[i * 3 * plane + plane + p];
        sum += d;
        sq += d * d;
      }
    const n = 400 * plane;
    const variance = sq / n - (sum / n) ** 2;
    assert.ok(Math.abs(variance / (2 * s * s) - 1) < 0.2, `variance ${variance} against ${2 * s * s}`);
  });

  test("the blur is a normalised Gaussian, its valid convolution matches a brute-force float64 loop", () => {
    const k = gaussianKernel(0.8);
    assert.equal(k.length, 7);
    assert.ok(Math.abs(k.reduce((a, b) => a + b, 0) - 1) < 1e-12);
    assert.ok(Math.abs(k[4] / k[3] - Math.exp(-1 / (2 * 0.64))) < 1e-12);
    const [c, h, w] = [2, 9, 11];
    const x = Float32Array.from({ length: c * h * w }, (_, i) => Math.sin(i * 0.7) + ((i * 5) % 3));
    const got = blurValid(x, c, h, w, k);
    const [oh, ow] = [h - 6, w - 6];
    for (let ch = 0; ch < c; ch++)
      for (let i = 0; i < oh; i++)
        for (let j = 0; j < ow; j++) {
          let s = 0;
          for (let a = 0; a < 7; a++)
            for (let b = 0; b < 7; b++) s += k[a] * k[b] * x[ch * h * w + (i + a) * w + j + b];
          assert.ok(Math.abs(got[ch * oh * ow + i * ow + j] - s) < 1e-5);
        }
  });

  test("bad parameters are refused naming the field", () => {
    assert.throws(() => checkDeadLeaves({ ...DEAD_LEAVES_DEFAULT, minRadius: 0 }), /minRadius/);
    assert.throws(() => checkDeadLeaves({ ...DEAD_LEAVES_DEFAULT, rectangles: 2 }), /rectangles/);
    assert.throws(() => new SyntheticImages([3, 8, 8], 0), /count/);
  });
});
