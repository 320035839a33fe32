/**
 * Approximate joint diagonalisation: one orthogonal basis in which a whole set of symmetric matrices is as diagonal
 * as it can be at once (Jacobi sweeps with the closed-form angle of Cardoso & Souloumiac, "Jacobi angles for
 * simultaneous diagonalization", 1996).
 *
 * Why the attack wants it: the whitened relations obey W_c = Mᵀ·W_p·M for the key's M, so if U_p jointly
 * diagonalises the plaintext side then Mᵀ·U_p does the cipher side, and M = U_p·(signed permutation)·U_cᵀ. The
 * eigenvectors of ONE combination of the relations give that too, but only where its eigenvalues are well apart;
 * where they are close, estimation noise mixes the vectors. The joint basis uses every relation at once, and at
 * k = 8 it is the first start the search has that lands in the key's basin.
 */
import { matmulSquare, transposeSquare } from "../core/linalg.ts";

/** Sweeps stop when no rotation in a sweep turns by more than this (radians). */
const ANGLE_TOLERANCE = 1e-8;

/**
 * Rotates the columns of `U` (n×n row-major, orthogonal; updated in place and returned) until the matrices
 * Uᵀ·S_r·U are jointly as diagonal as Jacobi sweeps make them: each plane (i, j) turned by the angle that maximises
 * Σ_r (B_r[i,i]² + B_r[j,j]²), which is the off-diagonal energy's minimum since rotations keep the Frobenius norm.
 * `S`: symmetric n×n row-major matrices (only read). At most `sweeps` sweeps.
 */
export function jointDiagonalise(S: readonly Float64Array[], U: Float64Array, n: number, sweeps = 20): Float64Array {
  // A_r = Uᵀ S_r U, kept up to date under each rotation
  const A = S.map((s) => congruence(s, U, n));
  const R = A.length;
  for (let sweep = 0; sweep < sweeps; sweep++) {
    let turned = false;
    for (let i = 0; i < n - 1; i++)
      for (let j = i + 1; j < n; j++) {
        // with d = (a_ii − a_jj)/2 and e = a_ij, turning by θ gives b_ii² + b_jj² = 2m² + 2(d cos 2θ − e sin 2θ)²:
        // the best 2θ is minus the angle of the top eigenvector of G = Σ_r (d, e)ᵀ(d, e)
        let g00 = 0;
        let g01 = 0;
        let g11 = 0;
        for (let r = 0; r < R; r++) {
          const a = A[r];
          const d = (a[i * n + i] - a[j * n + j]) / 2;
          const e = a[i * n + j];
          g00 += d * d;
          g01 += d * e;
          g11 += e * e;
        }
        const theta = -0.25 * Math.atan2(2 * g01, g00 - g11);
        if (Math.abs(theta) < ANGLE_TOLERANCE) continue;
        turned = true;
        const c = Math.cos(theta);
        const s = Math.sin(theta);
        for (const a of A) rotate(a, i, j, c, s, n);
        rotateColumns(U, i, j, c, s, n);
      }
    if (!turned) break;
  }
  return U;
}

/** The sum of squares of the off-diagonal entries of Uᵀ·S_r·U over r (what jointDiagonalise lowers). */
export function offDiagonalEnergy(S: readonly Float64Array[], U: Float64Array, n: number): number {
  let off = 0;
  for (const s of S) {
    const a = congruence(s, U, n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) if (i !== j) off += a[i * n + j] ** 2;
  }
  return off;
}

/** Uᵀ·S·U, n×n row-major. */
function congruence(S: Float64Array, U: Float64Array, n: number): Float64Array {
  return matmulSquare(transposeSquare(U, n), matmulSquare(S, U, n), n);
}

/** Columns i, j of M turned by [[c, s], [−s, c]]: (M_i, M_j) ← (c·M_i − s·M_j, s·M_i + c·M_j). */
function rotateColumns(M: Float64Array, i: number, j: number, c: number, s: number, n: number): void {
  for (let k = 0; k < n; k++) {
    const mi = M[k * n + i];
    const mj = M[k * n + j];
    M[k * n + i] = c * mi - s * mj;
    M[k * n + j] = s * mi + c * mj;
  }
}

/**
 * A ← Gᵀ·A·G for the rotation G of rotateColumns in plane (i, j), A symmetric: rows i and j turn (contiguous), the
 * columns copy them by symmetry, and the 2×2 block in the plane is set from its old entries.
 */
function rotate(A: Float64Array, i: number, j: number, c: number, s: number, n: number): void {
  const ri = i * n;
  const rj = j * n;
  const aii = A[ri + i];
  const ajj = A[rj + j];
  const aij = A[ri + j];
  for (let k = 0; k < n; k++) {
    const ai = A[ri + k];
    const aj = A[rj + k];
    const bi = c * ai - s * aj;
    const bj = s * ai + c * aj;
    A[ri + k] = bi;
    A[rj + k] = bj;
    A[k * n + i] = bi;
    A[k * n + j] = bj;
  }
  const cs = c * s;
  A[ri + i] = c * c * aii - 2 * cs * aij + s * s * ajj;
  A[rj + j] = s * s * aii + 2 * cs * aij + c * c * ajj;
  const bij = cs * (aii - ajj) + (c * c - s * s) * aij;
  A[ri + j] = bij;
  A[rj + i] = bij;
}
