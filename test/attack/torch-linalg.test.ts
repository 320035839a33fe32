// The attack's libtorch linear algebra (src/attack/torch-linalg.ts) against the JS loops of src/attack/linalg.ts, the
// float64 reference: products, symmetric eigendecompositions, inverses and polar factors agree to 1e-9 relative on
// random symmetric and general matrices, both return Q as the polar factor of Q·S, the resident relation objective
// gives the JS objective's value and gradient, and the ciphertext-only attack returns the same estimate with either.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { BlockMoments, statisticalAttack } from "../../src/attack/index.ts";
import { jsLinalg, type Linalg } from "../../src/attack/linalg.ts";
import { objectiveAndGradient } from "../../src/attack/objective.ts";
import { torchLinalg, torchRelationObjective } from "../../src/attack/torch-linalg.ts";
import { encrypt, generateKey } from "../../src/cipher/index.ts";
import { lcg, smoothImages } from "../audit/images.ts";
import { maxRelErr } from "../cipher/helpers.ts";

function general(n: number, r: () => number): Float64Array {
  return Float64Array.from({ length: n * n }, () => 2 * r() - 1);
}
function symmetric(n: number, r: () => number): Float64Array {
  const a = general(n, r);
  const s = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) s[i * n + j] = (a[i * n + j] + a[j * n + i]) / 2;
  return s;
}
/** V diag(f(λ)) Vᵀ from an eigendecomposition: sign-free, so two backends' results compare entry by entry. */
function rebuild(e: { values: Float64Array; vectors: Float64Array }, n: number, f: (l: number) => number) {
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++)
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) out[i * n + j] += e.vectors[i * n + k] * f(e.values[k]) * e.vectors[j * n + k];
  return out;
}

describe("torchLinalg equals the JS backend (float64)", () => {
  const backends: [Linalg, Linalg] = [torchLinalg, jsLinalg];
  for (const n of [3, 16, 40])
    test(`n = ${n}: matmuls, symmetricEigen, invert, polar to 1e-9 relative`, () => {
      const r = lcg(100 + n);
      const a = [general(n, r), symmetric(n, r), general(n, r)];
      const b = [general(n, r), general(n, r), symmetric(n, r)];
      const [pt, pj] = backends.map((la) => la.matmuls(a, b, n));
      assert.equal(pt.length, 3);
      for (let i = 0; i < 3; i++) assert.ok(maxRelErr(pt[i], pj[i]) < 1e-9, `matmul ${i}: ${maxRelErr(pt[i], pj[i])}`);
      // shared factors (one GEMM per shared left or right factor in the torch backend), in mixed order
      const [X, Y, Z] = [general(n, r), general(n, r), general(n, r)];
      const left = [X, a[0], X, a[1], a[2], Y, X];
      const right = [b[0], Z, b[1], Z, Y, b[2], Z];
      const [st, sj] = backends.map((la) => la.matmuls(left, right, n));
      for (let i = 0; i < left.length; i++) assert.ok(maxRelErr(st[i], sj[i]) < 1e-9, `shared-factor product ${i}`);

      const S = symmetric(n, r);
      const [et, ej] = backends.map((la) => la.symmetricEigen(S, n));
      const sorted = (v: Float64Array) => Float64Array.from(v).sort();
      assert.ok(maxRelErr(sorted(et.values), sorted(ej.values)) < 1e-9, "eigenvalues");
      // the eigenvectors reconstruct S and, through a function of the eigenvalues (sign-free), agree
      assert.ok(
        maxRelErr(
          rebuild(et, n, (l) => l),
          S,
        ) < 1e-9,
        "torch V diag(λ) Vᵀ = S",
      );
      const cube = (l: number) => l * l * l + Math.sin(l);
      assert.ok(maxRelErr(rebuild(et, n, cube), rebuild(ej, n, cube)) < 1e-9, "f(S) from either eigendecomposition");

      const G = general(n, r);
      const [it, ij] = backends.map((la) => la.invert(G, n));
      assert.ok(it && ij);
      assert.ok(maxRelErr(it, ij) < 1e-9, `inverse: ${maxRelErr(it, ij)}`);

      const [qt, qj] = backends.map((la) => la.polar(G, n));
      assert.ok(maxRelErr(qt, qj) < 1e-9, `polar: ${maxRelErr(qt, qj)}`);
      // and the polar factor is orthogonal: QᵀQ = I
      const qtq = torchLinalg.matmuls([transpose(qt, n)], [qt], n)[0];
      for (let i = 0; i < n; i++)
        for (let j = 0; j < n; j++) assert.ok(Math.abs(qtq[i * n + j] - (i === j ? 1 : 0)) < 1e-10);
    });

  test("polar factor against a constructed case: A = Q·S (Q orthogonal, S symmetric positive definite) gives Q", () => {
    const n = 12;
    const r = lcg(31);
    // Q from Householder reflections (orthogonal by construction), S = BᵀB + I
    let Q = identity(n);
    for (let h = 0; h < 3; h++) {
      const v = Float64Array.from({ length: n }, () => 2 * r() - 1);
      const vv = v.reduce((a, x) => a + x * x, 0);
      const H = identity(n).map((x, i) => x - (2 * v[Math.floor(i / n)] * v[i % n]) / vv);
      Q = jsLinalg.matmuls([Q], [H], n)[0];
    }
    const B = general(n, r);
    const S = jsLinalg.matmuls([transpose(B, n)], [B], n)[0].map((x, i) => x + (i % (n + 1) === 0 ? 1 : 0));
    const A = jsLinalg.matmuls([Q], [S], n)[0];
    for (const la of backends) assert.ok(maxRelErr(la.polar(A, n), Q) < 1e-9, `${la.name}: polar(Q·S) = Q`);
  });

  test("the zero matrix has no inverse in either; bad sizes are refused by name", () => {
    const n = 4;
    for (const la of backends) assert.equal(la.invert(new Float64Array(n * n), n), null, la.name);
    assert.throws(() => torchLinalg.matmuls([new Float64Array(5)], [new Float64Array(4)], 2), /matmuls: matrix 0/);
    assert.throws(() => torchLinalg.polar(new Float64Array(n * n), n), /AᵀA is zero/);
  });

  test("the resident relation objective equals the JS objective and gradient, at each new M, and frees its tensors", () => {
    const [n, R] = [10, 4];
    const r = lcg(57);
    const s = {
      Lp: Array.from({ length: R }, () => general(n, r)),
      Lc: Array.from({ length: R }, () => general(n, r)),
      mp: Float64Array.from({ length: n }, () => 2 * r() - 1),
      mc: Float64Array.from({ length: n }, () => 2 * r() - 1),
    };
    const f = torchRelationObjective(s, n);
    assert.throws(() => f.gradient(), /gradient\(\) before value\(\)/);
    // two different points, the gradient asked for after each (the objective remembers the last M only)
    for (const M of [jsLinalg.polar(general(n, r), n), general(n, r)]) {
      const ref = objectiveAndGradient(M, s, n, jsLinalg);
      const value = f.value(M);
      assert.ok(Math.abs(value - ref.value) <= 1e-12 * ref.value, `value ${value} vs ${ref.value}`);
      assert.ok(maxRelErr(f.gradient(), ref.gradient) < 1e-10, "gradient");
    }
    f.dispose();
    assert.throws(() => f.value(general(n, r)), /Tensor was disposed/, "dispose() frees the held relations");
    assert.throws(() => torchRelationObjective({ ...s, Lc: s.Lc.slice(1) }, n), /4 plaintext relations, 3 ciphertext/);
    assert.throws(() => torchRelationObjective({ ...s, mc: new Float64Array(3) }, n), /mc has 3 values, expected 10/);
  });

  // Barzilai–Borwein step sizes come from differences of nearby points and gradients, which amplify the products'
  // rounding (measured: 6e-6 in the estimate)
  for (const [estimateTol, objectiveTol] of [[1e-4, 1e-6]] as const)
    test("the attack gives the same estimate with either backend (k = 3, reference = other images)", async () => {
      const [c, size, k, count] = [3, 24, 3, 300];
      const dims = { n: count, c, h: size, w: size, layout: "CHW" as const };
      const key = await generateKey({ blockSize: k, seed: "torch-linalg-attack" });
      const cipher = new BlockMoments(k, c).add(encrypt(smoothImages(count, c, size, 2), dims, key), dims);
      const reference = new BlockMoments(k, c).add(smoothImages(count, c, size, 1), dims);
      const [rt, rj] = backends.map((linalg) =>
        statisticalAttack(cipher, reference, { restarts: 3, iterations: 300, refine: true, linalg }),
      );
      const diff = maxRelErr(rt.inverse, rj.inverse);
      assert.ok(diff < estimateTol, `estimates differ: ${diff}`);
      for (let ch = 0; ch < c; ch++)
        assert.ok(
          Math.abs(rt.loss[ch] - rj.loss[ch]) <= objectiveTol * rj.loss[ch] + 1e-14,
          `channel ${ch} objective: ${rt.loss[ch]} vs ${rj.loss[ch]}`,
        );
      // and the estimate is a real one, not two identical failures: far from the identity
      assert.ok(maxRelErr(rj.inverse.subarray(0, 81), identity(9)) > 0.1);
    });
});

function transpose(a: Float64Array, n: number): Float64Array {
  const t = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) t[j * n + i] = a[i * n + j];
  return t;
}
function identity(n: number): Float64Array {
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) m[i * n + i] = 1;
  return m;
}
