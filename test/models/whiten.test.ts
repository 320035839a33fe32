// Key-free whitening of cipher blocks: the Jacobi eigen-solver against hand-checkable identities, block statistics
// against a float64 loop, the ZCA map against its definition, and the adaptation it initialises.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { symmetricEigen } from "../../src/cipher/index.ts";
import { Adaptation, BlockStats, zcaWhitening } from "../../src/models/index.ts";
import { fromTypedArray, noGrad, tidy } from "../../src/torch/index.ts";

function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

describe("symmetricEigen", () => {
  test("2×2 by hand: [[2,1],[1,2]] has eigenvalues 1 and 3", () => {
    const { values } = symmetricEigen([2, 1, 1, 2], 2);
    assert.deepEqual(
      Array.from(values)
        .sort()
        .map((v) => +v.toFixed(12)),
      [1, 3],
    );
  });
  test("A·V = V·Λ and VᵀV = I for a random 20×20 symmetric matrix", () => {
    const n = 20;
    const r = lcg(5);
    const a = new Float64Array(n * n);
    for (let i = 0; i < n; i++) for (let j = i; j < n; j++) a[i * n + j] = a[j * n + i] = r() - 0.5;
    const { values, vectors: v } = symmetricEigen(a, n);
    for (let i = 0; i < n; i++)
      for (let e = 0; e < n; e++) {
        let av = 0;
        for (let t = 0; t < n; t++) av += a[i * n + t] * v[t * n + e];
        assert.ok(Math.abs(av - values[e] * v[i * n + e]) < 1e-10);
        let vv = 0;
        for (let t = 0; t < n; t++) vv += v[t * n + i] * v[t * n + e];
        assert.ok(Math.abs(vv - (i === e ? 1 : 0)) < 1e-10);
      }
  });
});

describe("BlockStats and zcaWhitening", () => {
  const [n, c, h, w, k] = [3, 2, 8, 4, 2];
  const r = lcg(11);
  // correlated data: a shared per-block offset plus noise, so the covariance is far from the identity
  const x = new Float32Array(n * c * h * w);
  for (let i = 0; i < x.length; i++) x[i] = r() + 3 * Math.floor(i / 7) * 0.01;

  test("mean and covariance of the C·k²-vectors of aligned blocks match a float64 loop", () => {
    const stats = new BlockStats(c, k);
    tidy(() => stats.add(fromTypedArray(x, [n, c, h, w])));
    const d = c * k * k;
    const vecs: number[][] = [];
    for (let b = 0; b < n; b++)
      for (let by = 0; by < h / k; by++)
        for (let bx = 0; bx < w / k; bx++) {
          const v: number[] = [];
          for (let ch = 0; ch < c; ch++)
            for (let rr = 0; rr < k; rr++)
              for (let s = 0; s < k; s++) v.push(x[((b * c + ch) * h + by * k + rr) * w + bx * k + s]);
          vecs.push(v);
        }
    assert.equal(stats.count, vecs.length);
    const mean = Array.from({ length: d }, (_, i) => vecs.reduce((a, v) => a + v[i], 0) / vecs.length);
    const cov = stats.covariance();
    for (let i = 0; i < d; i++) {
      assert.ok(Math.abs(stats.mean()[i] - mean[i]) < 1e-12);
      for (let j = 0; j < d; j++) {
        const ref = vecs.reduce((a, v) => a + (v[i] - mean[i]) * (v[j] - mean[j]), 0) / vecs.length;
        assert.ok(Math.abs(cov[i * d + j] - ref) < 1e-9, `cov[${i}][${j}]`);
      }
    }
  });

  test("with eps = 0 the ZCA map is symmetric, W·Σ·W = I, and it centres the data", () => {
    const stats = new BlockStats(c, k);
    tidy(() => stats.add(fromTypedArray(x, [n, c, h, w])));
    const d = stats.dim;
    const { weight: W, bias } = zcaWhitening(stats, 0);
    const S = stats.covariance();
    const m = stats.mean();
    for (let i = 0; i < d; i++) {
      let wm = 0;
      for (let j = 0; j < d; j++) {
        assert.ok(Math.abs(W[i * d + j] - W[j * d + i]) < 1e-9);
        let wsw = 0;
        for (let a = 0; a < d; a++) for (let b = 0; b < d; b++) wsw += W[i * d + a] * S[a * d + b] * W[b * d + j];
        assert.ok(Math.abs(wsw - (i === j ? 1 : 0)) < 1e-6, `WΣW[${i}][${j}] = ${wsw}`);
        wm += W[i * d + j] * m[j];
      }
      assert.ok(Math.abs(wm + bias[i]) < 1e-9);
    }
  });

  test("an adaptation set to the whitening outputs blocks with zero mean and unit covariance", () => {
    const stats = new BlockStats(c, k);
    tidy(() => stats.add(fromTypedArray(x, [n, c, h, w])));
    const { weight, bias } = zcaWhitening(stats, 0);
    const a = new Adaptation("aligned", k, c);
    a.setWhitening(weight, bias);
    const out = new BlockStats(c, k);
    tidy(() => noGrad(() => out.add(a.forward(fromTypedArray(x, [n, c, h, w])))));
    const d = out.dim;
    const cov = out.covariance();
    for (let i = 0; i < d; i++) {
      assert.ok(Math.abs(out.mean()[i]) < 1e-4);
      for (let j = 0; j < d; j++) assert.ok(Math.abs(cov[i * d + j] - (i === j ? 1 : 0)) < 1e-3);
    }
    assert.throws(() => new Adaptation("seed", k, c).setWhitening(weight, bias), /aligned/);
    a.dispose();
  });
});
