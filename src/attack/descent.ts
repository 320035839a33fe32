/**
 * The attack's local descent on the orthogonal group: Riemannian gradient descent with Barzilai–Borwein step sizes
 * (alternating the two BB formulas) and a non-monotone line search (Zhang–Hager), the polar factor as retraction:
 * the method of Wen & Yin (2013, "A feasible method for optimization with orthogonality constraints"), there with the
 * Cayley transform. BB steps adapt to the objective's curvature, where a fixed-ratio adaptive step creeps along its
 * valleys (at n = 256, 200 such steps are far from converged).
 */
import { transposeSquare as transpose } from "../core/linalg.ts";
import type { Linalg } from "./linalg.ts";
import { type Candidate, objectiveOf, type Problem, sumSquares } from "./objective.ts";

/** Zhang–Hager averaging of the non-monotone line search's reference value (0: monotone Armijo). */
const BB_MEMORY = 0.85;
/** The line search's sufficient-decrease constant (Armijo). */
const BB_ARMIJO = 1e-4;

/** `iterations` objective evaluations of descent from M0 (the best point seen). */
export function descend(p: Problem, n: number, M0: Float64Array, iterations: number, la: Linalg): Candidate {
  const f = objectiveOf(p, n, la);
  try {
    let M = M0;
    let value = f.value(M);
    let xi = riemannianGradient(M, f.gradient(), n, la);
    let best: Candidate = { M, value };
    // Zhang–Hager: the reference value is a weighted mean of the accepted values, weights decaying by BB_MEMORY
    let [reference, referenceWeight] = [value, 1];
    let step = 0.05;
    for (let evals = 1, k = 0; evals < iterations; k++) {
      const xx = sumSquares(xi);
      if (!(xx > 1e-300)) break;
      let P: Float64Array | null = null;
      let v = Number.POSITIVE_INFINITY;
      while (evals < iterations && step > 1e-12) {
        const M2 = new Float64Array(n * n);
        for (let i = 0; i < n * n; i++) M2[i] = M[i] - step * xi[i];
        const candidate = la.polar(M2, n);
        const cv = f.value(candidate);
        evals++;
        if (cv <= reference - BB_ARMIJO * step * xx) {
          [P, v] = [candidate, cv];
          break;
        }
        step *= 0.5;
      }
      if (!P) break;
      const xiNext = riemannianGradient(P, f.gradient(), n, la);
      let ss = 0;
      let sy = 0;
      let yy = 0;
      for (let i = 0; i < n * n; i++) {
        const si = P[i] - M[i];
        const yi = xiNext[i] - xi[i];
        ss += si * si;
        sy += si * yi;
        yy += yi * yi;
      }
      sy = Math.abs(sy);
      if (sy > 0) step = Math.min(1e10, Math.max(1e-10, k % 2 === 0 ? ss / sy : sy / yy));
      const nextWeight = BB_MEMORY * referenceWeight + 1;
      reference = (BB_MEMORY * referenceWeight * reference + v) / nextWeight;
      referenceWeight = nextWeight;
      [M, value, xi] = [P, v, xiNext];
      if (value < best.value) best = { M, value };
    }
    return best;
  } finally {
    f.dispose();
  }
}

/** The gradient's component along the orthogonal group at M: M·skew(MᵀG) = (G − M·Gᵀ·M) / 2. */
function riemannianGradient(M: Float64Array, G: Float64Array, n: number, la: Linalg): Float64Array {
  const [GtM] = la.matmuls([transpose(G, n)], [M], n);
  const [MGtM] = la.matmuls([M], [GtM], n);
  for (let i = 0; i < n * n; i++) MGtM[i] = (G[i] - MGtM[i]) / 2;
  return MGtM;
}
