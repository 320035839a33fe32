// Joint diagonalisation (src/cipher/joint-diagonalise.ts): exactly jointly diagonalisable sets are diagonalised and
// their common basis recovered (up to each vector's sign and order), against a hand-worked 2×2 case, and noise.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { jointDiagonalise, offDiagonalEnergy } from "../../src/attack/joint-diagonalise.ts";
import { matmulSquare, polarOrthogonal, transposeSquare } from "../../src/core/linalg.ts";

function rng(seed: number) {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
}

/** Q·diag(d)·Qᵀ, n×n row-major. */
function withBasis(Q: Float64Array, d: number[], n: number): Float64Array {
  const D = new Float64Array(n * n);
  for (let i = 0; i < n; i++) D[i * n + i] = d[i];
  return matmulSquare(matmulSquare(Q, D, n), transposeSquare(Q, n), n);
}

function identity(n: number): Float64Array {
  const I = new Float64Array(n * n);
  for (let i = 0; i < n; i++) I[i * n + i] = 1;
  return I;
}

describe("jointDiagonalise", () => {
  test("hand-worked 2×2: [[1, 1], [1, 1]] is diagonal after a 45° turn", () => {
    const U = jointDiagonalise([Float64Array.from([1, 1, 1, 1])], identity(2), 2);
    // the eigenvectors are (1, 1)/√2 and (1, −1)/√2, up to sign and order
    for (let col = 0; col < 2; col++) assert.ok(Math.abs(Math.abs(U[col]) - Math.SQRT1_2) < 1e-12);
    assert.ok(offDiagonalEnergy([Float64Array.from([1, 1, 1, 1])], U, 2) < 1e-24);
  });

  test("recovers the common basis of 5 commuting 12×12 matrices from the identity, up to sign and order", () => {
    const n = 12;
    const r = rng(7);
    const Q = polarOrthogonal(Float64Array.from({ length: n * n }, r), n);
    const S = Array.from({ length: 5 }, () =>
      withBasis(
        Q,
        Array.from({ length: n }, () => 3 * r()),
        n,
      ),
    );
    const before = offDiagonalEnergy(S, identity(n), n);
    const U = jointDiagonalise(S, identity(n), n);
    assert.ok(offDiagonalEnergy(S, U, n) < 1e-12 * before, `off-diagonal ${offDiagonalEnergy(S, U, n)} of ${before}`);
    // |Qᵀ U| is a permutation matrix
    const P = matmulSquare(transposeSquare(Q, n), U, n);
    for (let j = 0; j < n; j++) {
      const col = Array.from({ length: n }, (_, i) => Math.abs(P[i * n + j])).sort((a, b) => b - a);
      assert.ok(col[0] > 1 - 1e-9 && col[1] < 1e-6, `column ${j}: ${col[0]}, ${col[1]}`);
    }
    // U stays orthogonal
    const UtU = matmulSquare(transposeSquare(U, n), U, n);
    for (let i = 0; i < n * n; i++) assert.ok(Math.abs(UtU[i] - (i % (n + 1) === 0 ? 1 : 0)) < 1e-12);
  });

  test("with noise it lowers the off-diagonal energy well below any single matrix's eigenbasis", () => {
    const n = 10;
    const r = rng(3);
    const Q = polarOrthogonal(Float64Array.from({ length: n * n }, r), n);
    const S = Array.from({ length: 6 }, () => {
      const A = withBasis(
        Q,
        Array.from({ length: n }, () => 3 * r()),
        n,
      );
      for (let i = 0; i < n; i++)
        for (let j = i; j < n; j++) {
          const e = 0.01 * r();
          A[i * n + j] += e;
          if (i !== j) A[j * n + i] += e;
        }
      return A;
    });
    const U = jointDiagonalise(S, identity(n), n);
    const joint = offDiagonalEnergy(S, U, n);
    // each single eigenbasis, run on one matrix only, is exact for it but not for the others
    for (const one of S) {
      const V = jointDiagonalise([one], identity(n), n);
      assert.ok(joint < offDiagonalEnergy(S, V, n), `joint ${joint} vs one matrix's ${offDiagonalEnergy(S, V, n)}`);
    }
    assert.ok(joint < 1e-2, `${joint}`);
  });
});
