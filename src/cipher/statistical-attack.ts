/**
 * Ciphertext-only key recovery from second-order statistics: the eavesdropper holds ciphertexts only, plus public
 * natural images (any photos; in the experiments, other classes than the encrypted ones).
 *
 * Per channel, with block vectors as rows, c = p·K gives for every relation r (the block itself, and its right,
 * lower, lower-right and lower-left neighbours; moments.ts)
 *     C_c(r) = Kᵀ C_p(r) K      and      μ_c = μ_p K.
 * Whitening both sides, A_p = Σ_p^{-1/2}, A_c = Σ_c^{-1/2}, turns K into an orthogonal matrix: M = Σ_p^{1/2} K Σ_c^{-1/2}
 * (MᵀM = I since Σ_c = Kᵀ Σ_p K), with L_c(r) = Mᵀ L_p(r) M for the whitened cross-covariances L = A C A and
 * μ_c A_c = (μ_p A_p) M. The attack finds the orthogonal M minimising
 *     Σ_r ‖M L_c(r) − L_p(r) M‖² + ‖μ_c A_c − μ_p A_p M‖²
 * (start: match the eigenvectors of a random symmetric combination of the L's, in eigenvalue order or, for k > 4, by
 * their signatures over all relations, then sign by sign greedily (k > 4: also neighbour swaps); then projected
 * gradient descent on the orthogonal group; several random starts, the lowest loss wins), and returns
 *     K⁻¹ ≈ A_c Mᵀ Σ_p^{1/2},   K ≈ A_p M Σ_c^{1/2}.
 * The estimate is exact when the plaintext statistics are; with statistics from other images the error sits in
 * directions where natural images have little variance, which is why decryption PSNR is high even when the
 * key's relative error is not small. The lesson for users: a block-wise linear cipher leaks its key through the
 * ciphertexts' correlations; it hides images only from someone with no natural-image statistics at all.
 */

import {
  linearAssignment,
  matmulSquare,
  symmetricEigen,
  symmetricFunction,
  transposeSquare as transpose,
} from "../core/linalg.ts";
import { type BlockMoments, NEIGHBOUR_OFFSETS } from "./moments.ts";
import { mulberry32 } from "../core/rng.ts";

export interface StatisticalAttackOptions {
  /** Random starts per channel (default 12 for k ≤ 4, 4 above: each start costs O(k⁶)). */
  restarts?: number;
  /** Gradient iterations per start (default 1500 for k ≤ 4, 400 above; stops early when the step size vanishes). */
  iterations?: number;
  /** Seed of the starts (default 1). */
  seed?: number;
  /**
   * Refine the start's eigenvector matching: pair eigenvectors by their signatures over all relations (a linear
   * assignment) instead of eigenvalue order, and try swapping neighbours (with their signs) before the gradient
   * descent (default: on for k > 4, where close eigenvalues trade places under the reference statistics' noise; off
   * for k ≤ 4, which keeps earlier k ≤ 4 estimates bit for bit).
   */
  refine?: boolean;
}

export interface StatisticalAttackResult {
  blockSize: number;
  channels: number;
  /** Estimated key, C×n×n row-major (c = p·K). */
  key: Float64Array;
  /** Estimated inverse, C×n×n: p ≈ c·K⁻¹. */
  inverse: Float64Array;
  /** Final loss per channel (0 = the statistics match exactly). */
  loss: number[];
}

export function statisticalAttack(
  cipher: BlockMoments,
  plain: BlockMoments,
  o: StatisticalAttackOptions = {},
): StatisticalAttackResult {
  checkCompatible(cipher, plain);
  const n = cipher.n;
  const C = cipher.channels;
  const key = new Float64Array(C * n * n);
  const inverse = new Float64Array(C * n * n);
  const loss: number[] = [];
  const rng = mulberry32(o.seed ?? 1);
  for (let ch = 0; ch < C; ch++) {
    const { sp, sc, Lp, Lc, mp, mc } = whitenedProblem(cipher, plain, ch);
    const small = n <= 16;
    const { M, value } = solveOrthogonal(
      Lp,
      Lc,
      mp,
      mc,
      n,
      o.restarts ?? (small ? 12 : 4),
      o.iterations ?? (small ? 1500 : 400),
      o.refine ?? !small,
      rng,
    );
    loss.push(value);
    const Mt = transpose(M, n);
    inverse.set(matmulSquare(matmulSquare(sc.invSqrt, Mt, n), sp.sqrt, n), ch * n * n);
    key.set(matmulSquare(matmulSquare(sp.invSqrt, M, n), sc.sqrt, n), ch * n * n);
  }
  return { blockSize: cipher.blockSize, channels: C, key, inverse, loss };
}

/**
 * Diagnosis with the true key (measurement only): per channel, the attack's objective at the key's own orthogonal
 * factor M = polar(Σ_p^{1/2} K Σ_c^{-1/2}), and the key estimate that basin gives (what a perfect search returns
 * from these statistics). An attack that stops above this loss is limited by its search, one that reaches it by the
 * statistics.
 */
export function attackObjectiveAtKey(
  cipher: BlockMoments,
  plain: BlockMoments,
  trueKey: Float64Array,
): { loss: number[]; key: Float64Array } {
  checkCompatible(cipher, plain);
  const n = cipher.n;
  if (trueKey.length !== cipher.channels * n * n)
    throw new Error(`attackObjectiveAtKey: key has ${trueKey.length} values, expected ${cipher.channels}×${n}×${n}`);
  const key = new Float64Array(trueKey.length);
  const loss: number[] = [];
  for (let ch = 0; ch < cipher.channels; ch++) {
    const { sp, sc, Lp, Lc, mp, mc } = whitenedProblem(cipher, plain, ch);
    const K = trueKey.subarray(ch * n * n, (ch + 1) * n * n);
    const M = polar(matmulSquare(matmulSquare(sp.sqrt, K, n), sc.invSqrt, n), n);
    loss.push(evaluate(M, Lp, Lc, mp, mc, n).value);
    key.set(matmulSquare(matmulSquare(sp.invSqrt, M, n), sc.sqrt, n), ch * n * n);
  }
  return { loss, key };
}

function checkCompatible(cipher: BlockMoments, plain: BlockMoments): void {
  if (cipher.blockSize !== plain.blockSize || cipher.channels !== plain.channels)
    throw new Error(
      `statisticalAttack: ciphertext statistics are k=${cipher.blockSize}, C=${cipher.channels}; plaintext ` +
        `statistics k=${plain.blockSize}, C=${plain.channels}`,
    );
}

/** One channel's problem: both sides' Σ^{±1/2}, the whitened neighbour cross-covariances L(r) and whitened means. */
function whitenedProblem(cipher: BlockMoments, plain: BlockMoments, ch: number) {
  const n = cipher.n;
  const sp = symmetricPowers(plain.covariance(ch, 0), n);
  const sc = symmetricPowers(cipher.covariance(ch, 0), n);
  const Lp: Float64Array[] = [];
  const Lc: Float64Array[] = [];
  for (let r = 1; r < NEIGHBOUR_OFFSETS.length; r++) {
    Lp.push(sandwich(sp.invSqrt, plain.covariance(ch, r), n));
    Lc.push(sandwich(sc.invSqrt, cipher.covariance(ch, r), n));
  }
  const mp = rowTimes(plain.mean(ch), sp.invSqrt, n);
  const mc = rowTimes(cipher.mean(ch), sc.invSqrt, n);
  return { sp, sc, Lp, Lc, mp, mc };
}

function solveOrthogonal(
  Lp: Float64Array[],
  Lc: Float64Array[],
  mp: Float64Array,
  mc: Float64Array,
  n: number,
  restarts: number,
  iterations: number,
  refine: boolean,
  rng: () => number,
): { M: Float64Array; value: number } {
  const f = (M: Float64Array) => evaluate(M, Lp, Lc, mp, mc, n);
  let best: { M: Float64Array; value: number } | null = null;
  for (let s = 0; s < restarts; s++) {
    // start: eigenvectors of a random symmetric combination S = Σ a_r sym(L(r)), matched in eigenvalue order
    const a = Lp.map(() => gaussian(rng));
    const Sp = symCombination(Lp, a, n);
    const Sc = symCombination(Lc, a, n);
    const ep = sortedEigen(Sp, n);
    const ec = sortedEigen(Sc, n);
    // M = Σ_e signs[e] · ep[:, e] ⊗ ec[:, match[e]]: plaintext eigenvector e paired with ciphertext eigenvector match[e]
    const signs = new Float64Array(n).fill(1);
    const match = refine
      ? signatureMatch(Lp, Lc, mp, mc, ep, ec, n, signs)
      : Int32Array.from({ length: n }, (_, e) => e);
    const build = () => {
      const M = new Float64Array(n * n);
      for (let e = 0; e < n; e++)
        for (let i = 0; i < n; i++) {
          const u = ep[i * n + e] * signs[e];
          const m = match[e];
          for (let j = 0; j < n; j++) M[i * n + j] += u * ec[j * n + m];
        }
      return M;
    };
    let M: Float64Array = build();
    let cur = f(M);
    /** Applies a move that is its own inverse; keeps it if the objective drops, else applies it again. */
    const attempt = (move: () => void): boolean => {
      move();
      const M2 = build();
      const ev = f(M2);
      if (ev.value < cur.value - 1e-15) {
        [M, cur] = [M2, ev];
        return true;
      }
      move();
      return false;
    };
    const flip = (e: number) => () => {
      signs[e] = -signs[e];
    };
    const swap = (e: number, flips: number) => () => {
      [match[e], match[e + 1]] = [match[e + 1], match[e]];
      if (flips & 1) signs[e] = -signs[e];
      if (flips & 2) signs[e + 1] = -signs[e + 1];
    };
    for (let improved = true; improved; ) {
      improved = false;
      for (let e = 0; e < n; e++) improved = attempt(flip(e)) || improved;
      if (refine)
        for (let e = 0; e + 1 < n; e++)
          for (let flips = 0; flips < 4; flips++) improved = attempt(swap(e, flips)) || improved;
    }
    // projected gradient descent with an adaptive step; the gradient changes only when a step is accepted
    let lr = 0.05;
    let G = gradient(cur, Lp, Lc, mp, mc, n);
    for (let it = 0; it < iterations && lr > 1e-9; it++) {
      const M2 = new Float64Array(n * n);
      for (let i = 0; i < n * n; i++) M2[i] = M[i] - lr * G[i];
      const P = polar(M2, n);
      const ev = f(P);
      if (ev.value < cur.value) {
        [M, cur] = [P, ev];
        G = gradient(cur, Lp, Lc, mp, mc, n);
        lr *= 1.1;
      } else lr *= 0.5;
    }
    if (!best || cur.value < best.value) best = { M, value: cur.value };
  }
  return best!;
}

/**
 * Pairs plaintext and ciphertext eigenvectors by their signatures, invariant to the sign of each vector: the
 * quadratic forms uᵀ L(r) u of every relation and |mean·u|, matched at least total squared distance (an assignment
 * over all relations, where eigenvalue order uses only one combination of them). Signs start from the mean's.
 */
function signatureMatch(
  Lp: Float64Array[],
  Lc: Float64Array[],
  mp: Float64Array,
  mc: Float64Array,
  ep: Float64Array,
  ec: Float64Array,
  n: number,
  signs: Float64Array,
): Int32Array {
  const features = (L: Float64Array[], m: Float64Array, E: Float64Array) => {
    const d = L.length + 1;
    const out = new Float64Array(n * d);
    const proj = new Float64Array(n);
    for (let e = 0; e < n; e++) {
      for (let r = 0; r < L.length; r++) {
        let q = 0;
        for (let i = 0; i < n; i++) {
          let row = 0;
          for (let j = 0; j < n; j++) row += L[r][i * n + j] * E[j * n + e];
          q += E[i * n + e] * row;
        }
        out[e * d + r] = q;
      }
      for (let i = 0; i < n; i++) proj[e] += m[i] * E[i * n + e];
      out[e * d + L.length] = Math.abs(proj[e]);
    }
    return { out, d, proj };
  };
  const fp = features(Lp, mp, ep);
  const fc = features(Lc, mc, ec);
  const cost = new Float64Array(n * n);
  for (let e = 0; e < n; e++)
    for (let m = 0; m < n; m++) {
      let c = 0;
      for (let k = 0; k < fp.d; k++) c += (fp.out[e * fp.d + k] - fc.out[m * fc.d + k]) ** 2;
      cost[e * n + m] = c;
    }
  const match = linearAssignment(cost, n);
  for (let e = 0; e < n; e++) signs[e] = fp.proj[e] * fc.proj[match[e]] < 0 ? -1 : 1;
  return match;
}

interface Evaluation {
  value: number;
  /** R(r) = M·Lc(r) − Lp(r)·M per relation, and mp·M: kept for the gradient at the same M. */
  residuals: Float64Array[];
  mM: Float64Array;
}

/** The objective Σ‖R(r)‖² + ‖mc − mp·M‖² at M, with what its gradient needs. */
function evaluate(
  M: Float64Array,
  Lp: Float64Array[],
  Lc: Float64Array[],
  mp: Float64Array,
  mc: Float64Array,
  n: number,
): Evaluation {
  let value = 0;
  const residuals: Float64Array[] = [];
  for (let r = 0; r < Lp.length; r++) {
    const a = matmulSquare(M, Lc[r], n);
    const b = matmulSquare(Lp[r], M, n);
    for (let i = 0; i < a.length; i++) a[i] -= b[i];
    for (const x of a) value += x * x;
    residuals.push(a);
  }
  const mM = rowTimes(mp, M, n);
  for (let j = 0; j < n; j++) value += (mc[j] - mM[j]) ** 2;
  return { value, residuals, mM };
}

/** ∂/∂M of the objective from an evaluation at M: Σ 2(R Lcᵀ − Lpᵀ R) − 2 mpᵀ(mc − mp M). */
function gradient(
  ev: Evaluation,
  Lp: Float64Array[],
  Lc: Float64Array[],
  mp: Float64Array,
  mc: Float64Array,
  n: number,
): Float64Array {
  const G = new Float64Array(n * n);
  for (let r = 0; r < Lp.length; r++) {
    const R = ev.residuals[r];
    const a = matmulSquare(R, transpose(Lc[r], n), n);
    const b = matmulSquare(transpose(Lp[r], n), R, n);
    for (let i = 0; i < G.length; i++) G[i] += 2 * (a[i] - b[i]);
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) G[i * n + j] -= 2 * mp[i] * (mc[j] - ev.mM[j]);
  return G;
}

/** The orthogonal factor of A (polar decomposition): A (AᵀA)^{-1/2}. */
function polar(A: Float64Array, n: number): Float64Array {
  return matmulSquare(A, symmetricPowers(matmulSquare(transpose(A, n), A, n), n).invSqrt, n);
}

/** S^{1/2} and S^{-1/2} of a symmetric positive definite matrix (eigenvalues floored at 1e-12 × the largest). */
function symmetricPowers(S: Float64Array, n: number): { sqrt: Float64Array; invSqrt: Float64Array } {
  const eig = symmetricEigen(S, n);
  const top = Math.max(...eig.values);
  if (!(top > 0)) throw new Error("statisticalAttack: a covariance is zero (constant images?)");
  const floor = (l: number) => Math.max(l, 1e-12 * top);
  return {
    sqrt: symmetricFunction(eig, n, (l) => Math.sqrt(floor(l))),
    invSqrt: symmetricFunction(eig, n, (l) => 1 / Math.sqrt(floor(l))),
  };
}

/** Eigenvectors (columns) of a symmetric matrix, ordered by eigenvalue. */
function sortedEigen(S: Float64Array, n: number): Float64Array {
  const { values, vectors } = symmetricEigen(S, n);
  const order = Array.from(values.keys()).sort((a, b) => values[a] - values[b]);
  const out = new Float64Array(n * n);
  for (const [e, src] of order.entries()) for (let i = 0; i < n; i++) out[i * n + e] = vectors[i * n + src];
  return out;
}

function symCombination(L: Float64Array[], a: number[], n: number): Float64Array {
  const S = new Float64Array(n * n);
  for (let r = 0; r < L.length; r++)
    for (let i = 0; i < n; i++)
      for (let j = 0; j < n; j++) S[i * n + j] += (a[r] * (L[r][i * n + j] + L[r][j * n + i])) / 2;
  return S;
}

/** A·X·A for symmetric A. */
function sandwich(A: Float64Array, X: Float64Array, n: number): Float64Array {
  return matmulSquare(matmulSquare(A, X, n), A, n);
}

function rowTimes(v: Float64Array, M: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[j] += v[i] * M[i * n + j];
  return out;
}

function gaussian(rng: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
}
