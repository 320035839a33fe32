/**
 * The attack's linear-algebra backend: the dense float64 operations its search spends its time in, and the JS
 * implementation on src/core/linalg.ts's loops (browser-safe). torch-linalg.ts is the libtorch one.
 */
import { invert, matmulSquare, polarOrthogonal, symmetricEigen } from "../core/linalg.ts";

/**
 * The dense float64 operations the ciphertext-only attack's search spends its time in, as one replaceable backend:
 * the default below is this file's JS loops (pure TypeScript, browser-safe); a Node-side libtorch implementation
 * (torch-linalg.ts) does the same products with BLAS/LAPACK. Matrices are square, n×n, row-major.
 */
export interface Linalg {
  /** A short name for logs and benchmarks ("js", "torch"). */
  readonly name: string;
  /** [A_i·B_i for each i]: many products in one call, so a backend can batch them. */
  matmuls(a: readonly Float64Array[], b: readonly Float64Array[], n: number): Float64Array[];
  /** Eigenvalues and eigenvectors (the columns of `vectors`, A = V diag(values) Vᵀ) of a symmetric matrix. */
  symmetricEigen(a: Float64Array, n: number): { values: Float64Array; vectors: Float64Array };
  /** A⁻¹, or null when A is singular. */
  invert(a: Float64Array, n: number): Float64Array | null;
  /**
   * The orthogonal polar factor A (AᵀA)^{-1/2}, the eigenvalues of AᵀA floored at POLAR_FLOOR × the largest
   * (throws when AᵀA is zero).
   */
  polar(a: Float64Array, n: number): Float64Array;
  /**
   * Optional: the attack's matching objective for relations that stay fixed during a descent, so a backend can hold
   * them (torch-linalg.ts keeps them as libtorch tensors and saves two copies of every relation per step).
   * Without it (or when it returns null) the search computes the same objective with matmuls().
   */
  relationObjective?(s: RelationStatistics, n: number): RelationObjective | null;
}

/** Whitened second-order statistics to match: one n×n Lp(r) and Lc(r) per relation r, and the two mean rows. */
export interface RelationStatistics {
  Lp: readonly Float64Array[];
  Lc: readonly Float64Array[];
  mp: Float64Array;
  mc: Float64Array;
}

/** f(M) = Σ_r ‖M·Lc(r) − Lp(r)·M‖² + ‖mc − mp·M‖² over n×n M (statistical-attack.ts, the unweighted objective). */
export interface RelationObjective {
  /** f(M); remembers M for gradient(). */
  value(M: Float64Array): number;
  /** ∂f/∂M = Σ_r 2(E(r)·Lc(r)ᵀ − Lp(r)ᵀ·E(r)) − 2 mpᵀ(mc − mp·M), E(r) = M·Lc(r) − Lp(r)·M, at the last value()'s M. */
  gradient(): Float64Array;
  /** Frees what the backend holds (the objective is unusable after). */
  dispose(): void;
}

/** The JS backend: this file's loops, one product at a time. */
export const jsLinalg: Linalg = {
  name: "js",
  matmuls: (a, b, n) => {
    if (a.length !== b.length) throw new Error(`matmuls: ${a.length} left factors, ${b.length} right factors`);
    return a.map((x, i) => matmulSquare(x, b[i], n));
  },
  symmetricEigen: (a, n) => symmetricEigen(a, n),
  invert: (a, n) => invert(a, n),
  polar: polarOrthogonal,
};
