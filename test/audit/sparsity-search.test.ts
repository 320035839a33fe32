// The sparsity search (src/audit/sparsity-search.ts): its libtorch penalty and autograd gradient against the pure
// TypeScript float64 reference (src/cipher/higher-order.ts `sparsity`), the disagreement planes of a hand-made
// rotation, and a synthetic channel whose estimate is the key turned by π in a plane (a basin no continuous descent
// leaves) that the partners-and-flips walk brings back to the key.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  disagreementPlanes,
  reflectAcross,
  relax,
  SPARSITY_SEARCH_DEFAULTS,
  searchChannel,
  sparsityPenalty,
} from "../../src/audit/sparsity-search.ts";
import { channelProblem, orthogonalFactor, samplePatches, sparsity } from "../../src/cipher/higher-order.ts";
import { BlockMoments, encrypt, generateKey, inverseKey, statisticalAttack } from "../../src/cipher/index.ts";
import { haarOrthogonalFromGaussian, matmulSquare, symmetricEigen, transposeSquare } from "../../src/core/linalg.ts";
import { mulberry32 } from "../../src/core/rng.ts";
import { fromTypedArray, tidy } from "../../src/torch/index.ts";
import { maxRelErr } from "../cipher/helpers.ts";
import { gaussians, independentCartoonBlocks } from "./images.ts";

/** One channel of independent cartoon blocks under a fresh key: the search's problem and the key's factor. */
async function cartoonChannel(k: number, size: number, count: number, samples: number) {
  const n = k * k;
  const dims = { n: count, c: 1, h: size, w: size, layout: "CHW" as const };
  const plain = independentCartoonBlocks(count, size, k, 21);
  const key = await generateKey({ blockSize: k, channels: 1, seed: `sparsity-search-${k}` });
  const cipher = encrypt(plain, dims, key);
  const cm = new BlockMoments(k, 1).add(cipher, dims);
  const pm = new BlockMoments(k, 1).add(independentCartoonBlocks(count, size, k, 22), dims);
  const p = channelProblem(cm, pm, 0, samplePatches(cipher, dims, k, samples, 3)[0], k, 0.01);
  return { p, n, Mkey: orthogonalFactor(p, inverseKey(key)) };
}

/** Distance between two orthogonal factors: ‖A − B‖_F / √n (0 when equal, √2 for orthogonal ones). */
function factorDistance(A: Float64Array, B: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < A.length; i++) s += (A[i] - B[i]) ** 2;
  return Math.sqrt(s / n);
}

describe("sparsity search", () => {
  test("the libtorch penalty and its autograd gradient equal the float64 reference (higher-order.ts)", async () => {
    const { p, n } = await cartoonChannel(3, 12, 6, 40);
    const H = sparsityPenalty(p);
    try {
      for (const seed of [1, 2]) {
        const M = haarOrthogonalFromGaussian(gaussians(n * n, seed), n);
        const ref = sparsity(p, M);
        assert.ok(Math.abs(H.value(M) - ref.value) < 1e-12 * ref.value, `penalty ${H.value(M)} vs ${ref.value}`);
        const grad = tidy(() => {
          const Mt = fromTypedArray(M, [n, n]).requiresGrad_();
          H.of(Mt).backward();
          return (Mt.grad as NonNullable<typeof Mt.grad>).contiguous().copyTo(new Float64Array(n * n));
        });
        assert.ok(maxRelErr(grad, ref.grad) < 1e-10, `gradient off by ${maxRelErr(grad, ref.grad)} (relative)`);
      }
    } finally {
      H.dispose();
    }
  });

  test("disagreement planes: a hand-made rotation's planes beyond 120°, most rotated first; reflections across them", () => {
    const n = 8;
    const V = haarOrthogonalFromGaussian(gaussians(n * n, 7), n); // columns v0..v7: the rotation's planes
    const A = haarOrthogonalFromGaussian(gaussians(n * n, 8), n);
    // R = V·D·Vᵀ: v0,v1 turned by 170°, v2,v3 by 150°, v4,v5 by 30°, v6 reversed, v7 fixed
    const D = new Float64Array(n * n);
    const turn = (i: number, deg: number) => {
      const [c, s] = [Math.cos((deg * Math.PI) / 180), Math.sin((deg * Math.PI) / 180)];
      D[i * n + i] = c;
      D[i * n + i + 1] = -s;
      D[(i + 1) * n + i] = s;
      D[(i + 1) * n + i + 1] = c;
    };
    turn(0, 170);
    turn(2, 150);
    turn(4, 30);
    D[6 * n + 6] = -1;
    D[7 * n + 7] = 1;
    const R = matmulSquare(matmulSquare(V, D, n), transposeSquare(V, n), n);
    const B = matmulSquare(R, A, n);
    const planes = disagreementPlanes(A, B, n, 120);
    assert.deepEqual(
      planes.map((Q) => Q.length / n),
      [1, 2, 2],
      "one reversed direction, then the 170° and 150° planes",
    );
    const projector = (cols: readonly number[]) => {
      const P = new Float64Array(n * n);
      for (const c of cols)
        for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) P[i * n + j] += V[i * n + c] * V[j * n + c];
      return P;
    };
    for (const [Q, cols] of [
      [planes[0], [6]],
      [planes[1], [0, 1]],
      [planes[2], [2, 3]],
    ] as const) {
      const m = Q.length / n;
      const P = new Float64Array(n * n);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) for (let c = 0; c < m; c++) P[i * n + j] += Q[i * m + c] * Q[j * m + c];
      assert.ok(maxRelErr(P, projector(cols)) < 1e-9, `plane of v${cols.join(",v")}`);
      // (I − 2QQᵀ)·B, densely
      const F = Float64Array.from(P, (v, i) => (i % (n + 1) === 0 ? 1 : 0) - 2 * v);
      assert.ok(maxRelErr(reflectAcross(Q, B, n), matmulSquare(F, B, n)) < 1e-12);
    }
    // flipping all three undoes every rotation beyond 120°: what is left of R is the 30° plane
    let M = B;
    for (const Q of planes) M = reflectAcross(Q, M, n);
    assert.equal(disagreementPlanes(A, M, n, 120).length, 0);
    assert.equal(disagreementPlanes(A, M, n, 20).length, 1);
  });

  test("a key turned by π in a low-variance plane: relaxing alone stays there, the walk returns to the key", async () => {
    const { p, n, Mkey } = await cartoonChannel(4, 32, 200, 600);
    const o = { ...SPARSITY_SEARCH_DEFAULTS, maxRelaxations: 24 };
    // two whitened directions inside the reference's least-variance half (where the real fits' errors are), turned
    // by π: a random 2-dimensional subspace of the span of Σ_p's 8 smallest eigenvectors
    const { values, vectors } = symmetricEigen(p.spSqrt, n);
    const low = [...values.keys()].sort((a, b) => values[a] - values[b]).slice(0, n / 2);
    const mix = haarOrthogonalFromGaussian(gaussians(low.length ** 2, 31), low.length);
    const Q = new Float64Array(n * 2);
    for (let i = 0; i < n; i++)
      for (let c = 0; c < 2; c++)
        for (const [j, e] of low.entries()) Q[i * 2 + c] += vectors[i * n + e] * mix[j * low.length + c];
    const start = reflectAcross(Q, Mkey, n);
    const H = sparsityPenalty(p);
    const keyPenalty = H.value(Mkey);
    const alone = relax(H, start, o);
    H.dispose();
    const walked = searchChannel(p, start, o, mulberry32(1));
    assert.ok(factorDistance(start, Mkey, n) > 0.4, "the start is far from the key");
    assert.ok(
      factorDistance(alone.M, Mkey, n) > 0.2,
      `relaxing alone: ${factorDistance(alone.M, Mkey, n)} from the key`,
    );
    assert.ok(walked.report.flips >= 1, `no flip kept: ${JSON.stringify(walked.report)}`);
    assert.ok(
      factorDistance(walked.M, Mkey, n) < 0.05,
      `walk ends ${factorDistance(walked.M, Mkey, n).toFixed(3)} from the key (${JSON.stringify(walked.report)})`,
    );
    assert.ok(walked.report.penalty.end < alone.value, "the walk's penalty is below relaxing's");
    assert.ok(walked.report.penalty.end <= keyPenalty * (1 + 1e-6), "and at or below the key's");
    assert.ok(walked.report.relaxations <= o.maxRelaxations);
  });

  test("the attack's other fits are relaxed too, and the lowest becomes the estimate", async () => {
    const { p, n, Mkey } = await cartoonChannel(4, 32, 200, 600);
    const { values, vectors } = symmetricEigen(p.spSqrt, n);
    const low = [...values.keys()].sort((a, b) => values[a] - values[b]).slice(0, n / 2);
    /** Mkey turned by `deg` degrees in the plane of two of Σ_p's least-variance eigenvectors. */
    const turned = (a: number, b: number, deg: number) => {
      const [c, sn] = [Math.cos((deg * Math.PI) / 180), Math.sin((deg * Math.PI) / 180)];
      const R = new Float64Array(n * n);
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) {
          const [ai, bi, aj, bj] = [
            vectors[i * n + low[a]],
            vectors[i * n + low[b]],
            vectors[j * n + low[a]],
            vectors[j * n + low[b]],
          ];
          R[i * n + j] = (i === j ? 1 : 0) + (c - 1) * (ai * aj + bi * bj) + sn * (bi * aj - ai * bj);
        }
      return matmulSquare(R, Mkey, n);
    };
    // the estimate turned by π (a basin of its own); a fit turned by 40° (inside the key's basin); no random partners
    const o = { ...SPARSITY_SEARCH_DEFAULTS, partners: 0, maxRelaxations: 12 };
    const r = searchChannel(p, turned(0, 1, 180), o, mulberry32(1), undefined, [turned(2, 3, 40)]);
    assert.ok(
      r.report.penalty.end < r.report.penalty.relaxed * 0.99,
      `the fit's basin is lower: ${JSON.stringify(r.report)}`,
    );
    assert.ok(factorDistance(r.M, Mkey, n) < 0.05, `ends ${factorDistance(r.M, Mkey, n).toFixed(3)} from the key`);
  });

  test("statisticalAttack hands out its other starts' fits, best first, the estimate's own excluded", async () => {
    const k = 4;
    const dims = { n: 120, c: 1, h: 32, w: 32, layout: "CHW" as const };
    const key = await generateKey({ blockSize: k, channels: 1, seed: "fits" });
    const cm = new BlockMoments(k, 1).add(encrypt(independentCartoonBlocks(120, 32, k, 5), dims, key), dims);
    const pm = new BlockMoments(k, 1).add(independentCartoonBlocks(120, 32, k, 6), dims);
    const r = statisticalAttack(cm, pm, { restarts: 3, iterations: 60, retries: 0 });
    assert.equal(r.fits.length, 1);
    assert.equal(r.fits[0].length, 2, "3 starts, the estimate's own excluded");
    for (const f of r.fits[0]) {
      assert.equal(f.length, 16 * 16);
      assert.ok(maxRelErr(f, r.inverse) > 1e-6, "a fit is not the estimate");
    }
  });
});
