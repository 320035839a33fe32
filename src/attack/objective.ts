/**
 * The ciphertext-only attack's matching problem for one channel, and its objective. With block vectors as rows,
 * c = p·K gives C_c(r) = Kᵀ C_p(r) K for every neighbour relation r (moments.ts) and μ_c = μ_p K. Whitening both
 * sides (A = Σ^{-1/2}) turns K into an orthogonal M = Σ_p^{1/2} K Σ_c^{-1/2} with L_c(r) = Mᵀ L_p(r) M for the
 * whitened cross-covariances L = A C A, and μ_c A_c = (μ_p A_p) M. The objective
 *     Σ_r ‖M L_c(r) − L_p(r) M‖² + ‖μ_c A_c − μ_p A_p M‖²
 * is zero at the key when the two sides' statistics are exact; the energy-weighted relations (energy-moments.ts)
 * join the L's when given.
 */
import { symmetricFunction, transposeSquare as transpose } from "../core/linalg.ts";
import { ENERGY_OFFSETS, type EnergyMoments } from "./energy-moments.ts";
import { jsLinalg, type Linalg, type RelationObjective } from "./linalg.ts";
import { type BlockMoments, NEIGHBOUR_OFFSETS } from "./moments.ts";

/** Both sides' energy-weighted statistics and their weight against the L(r)'s. */
export interface EnergyRelations {
  cipher: EnergyMoments;
  plain: EnergyMoments;
  weight: number;
}

/** An orthogonal factor and the objective there. */
export interface Candidate {
  M: Float64Array;
  value: number;
}

/** One channel's whitened problem (whitenedProblem). */
export interface Problem {
  /** Σ_p^{±1/2}. */
  sp: { sqrt: Float64Array; invSqrt: Float64Array };
  /** Σ_c^{±1/2}. */
  sc: { sqrt: Float64Array; invSqrt: Float64Array };
  /** Whitened relations of each side (the neighbour relations, then any energy relations), and their transposes. */
  Lp: Float64Array[];
  Lc: Float64Array[];
  LpT: Float64Array[];
  LcT: Float64Array[];
  /** Whitened means. */
  mp: Float64Array;
  mc: Float64Array;
}

/** Refuses statistics of different block sizes or channel counts. */
export function checkCompatible(cipher: BlockMoments, plain: BlockMoments): void {
  if (cipher.blockSize !== plain.blockSize || cipher.channels !== plain.channels)
    throw new Error(
      `statisticalAttack: ciphertext statistics are k=${cipher.blockSize}, C=${cipher.channels}; plaintext ` +
        `statistics k=${plain.blockSize}, C=${plain.channels}`,
    );
}

/**
 * One channel's problem: both sides' Σ^{±1/2}, the whitened neighbour cross-covariances L(r) (and their transposes,
 * for the gradient), any energy relations, and the whitened means.
 */
export function whitenedProblem(
  cipher: BlockMoments,
  plain: BlockMoments,
  ch: number,
  la: Linalg,
  energy: EnergyRelations | null = null,
): Problem {
  const n = cipher.n;
  const sp = symmetricPowers(plain.covariance(ch, 0), n, la);
  const sc = symmetricPowers(cipher.covariance(ch, 0), n, la);
  const relations = NEIGHBOUR_OFFSETS.length - 1;
  const Ap = Array<Float64Array>(relations).fill(sp.invSqrt);
  const Ac = Array<Float64Array>(relations).fill(sc.invSqrt);
  const raw = Array.from({ length: relations }, (_, i) => i + 1);
  // A·X·A for every relation of both sides, in two batched calls
  const half = la.matmuls(
    [...Ap, ...Ac],
    [...raw.map((r) => plain.covariance(ch, r)), ...raw.map((r) => cipher.covariance(ch, r))],
    n,
  );
  const L = la.matmuls(half, [...Ap, ...Ac], n);
  const E = energy ? energyRelations(energy, ch, sp.invSqrt, sc.invSqrt, n, la) : { p: [], c: [] };
  const Lp = [...L.slice(0, relations), ...E.p];
  const Lc = [...L.slice(relations), ...E.c];
  return {
    sp,
    sc,
    Lp,
    Lc,
    LpT: Lp.map((x) => transpose(x, n)),
    LcT: Lc.map((x) => transpose(x, n)),
    mp: rowTimes(plain.mean(ch), sp.invSqrt, n),
    mc: rowTimes(cipher.mean(ch), sc.invSqrt, n),
  };
}

/** The problem's second-order part only (the neighbour relations, without the energy relations). */
export function secondOrderPart(p: Problem): Problem {
  const R = NEIGHBOUR_OFFSETS.length - 1;
  return { ...p, Lp: p.Lp.slice(0, R), Lc: p.Lc.slice(0, R), LpT: p.LpT.slice(0, R), LcT: p.LcT.slice(0, R) };
}

/** The orthogonal factor M = polar(Σ_p^{1/2} K Σ_c^{-1/2}) of a key K for a channel's problem. */
export function keyFactor(p: Problem, K: Float64Array, n: number, la: Linalg): Float64Array {
  return la.polar(la.matmuls([la.matmuls([p.sp.sqrt], [K], n)[0]], [p.sc.invSqrt], n)[0], n);
}

/** K = A_p M Σ_c^{1/2} and K⁻¹ = A_c Mᵀ Σ_p^{1/2} of an orthogonal factor. */
export function keyOf(p: Problem, M: Float64Array, n: number, la: Linalg): { K: Float64Array; KInv: Float64Array } {
  const [AM, AcMt] = la.matmuls([p.sp.invSqrt, p.sc.invSqrt], [M, transpose(M, n)], n);
  const [K, KInv] = la.matmuls([AM, AcMt], [p.sc.sqrt, p.sp.sqrt], n);
  return { K, KInv };
}

/** The descent's objective: the backend's resident one where it has it, else evaluate/gradient with matmuls(). */
export function objectiveOf(p: Problem, n: number, la: Linalg): RelationObjective {
  const resident = la.relationObjective?.(p, n);
  if (resident) return resident;
  let ev: Evaluation | null = null;
  return {
    value(M) {
      ev = evaluate(M, p, n, la);
      return ev.value;
    },
    gradient() {
      if (!ev) throw new Error("objective: gradient() before value()");
      return gradient(ev, p, n, la);
    },
    dispose() {},
  };
}

interface Evaluation {
  value: number;
  /** R(r) = M·Lc(r) − Lp(r)·M per relation, and mp·M: kept for the gradient at the same M. */
  residuals: Float64Array[];
  mM: Float64Array;
}

/** The objective Σ‖R(r)‖² + ‖mc − mp·M‖² at M, with what its gradient needs (the 2 × relations products in one call). */
export function evaluate(M: Float64Array, p: Problem, n: number, la: Linalg): Evaluation {
  const { Lp, Lc, mp, mc } = p;
  const R = Lp.length;
  const Ms = Array<Float64Array>(R).fill(M);
  const prods = la.matmuls([...Ms, ...Lp], [...Lc, ...Ms], n);
  let value = 0;
  const residuals: Float64Array[] = [];
  for (let r = 0; r < R; r++) {
    const a = prods[r];
    const b = prods[R + r];
    for (let i = 0; i < a.length; i++) a[i] -= b[i];
    for (const x of a) value += x * x;
    residuals.push(a);
  }
  const mM = rowTimes(mp, M, n);
  for (let j = 0; j < n; j++) value += (mc[j] - mM[j]) ** 2;
  return { value, residuals, mM };
}

/** ∂/∂M of the objective from an evaluation at M: Σ 2(R Lcᵀ − Lpᵀ R) − 2 mpᵀ(mc − mp M) (one batched call). */
function gradient(ev: Evaluation, p: Problem, n: number, la: Linalg): Float64Array {
  const { LpT, LcT, mp, mc } = p;
  const R = LpT.length;
  const prods = la.matmuls([...ev.residuals, ...LpT], [...LcT, ...ev.residuals], n);
  const G = new Float64Array(n * n);
  for (let r = 0; r < R; r++) {
    const a = prods[r];
    const b = prods[R + r];
    for (let i = 0; i < G.length; i++) G[i] += 2 * (a[i] - b[i]);
  }
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) G[i * n + j] -= 2 * mp[i] * (mc[j] - ev.mM[j]);
  return G;
}

/**
 * The objective and its Euclidean gradient at any n×n M (not only orthogonal ones) from whitened statistics: Lp, Lc
 * per relation and the means mp, mc. For tests (gradient vs finite differences, backends against each other).
 */
export function objectiveAndGradient(
  M: Float64Array,
  s: { Lp: Float64Array[]; Lc: Float64Array[]; mp: Float64Array; mc: Float64Array },
  n: number,
  la: Linalg = jsLinalg,
): { value: number; gradient: Float64Array } {
  const identity = { sqrt: new Float64Array(0), invSqrt: new Float64Array(0) };
  const p: Problem = {
    ...s,
    sp: identity,
    sc: identity,
    LpT: s.Lp.map((x) => transpose(x, n)),
    LcT: s.Lc.map((x) => transpose(x, n)),
  };
  const ev = evaluate(M, p, n, la);
  return { value: ev.value, gradient: gradient(ev, p, n, la) };
}

/** S^{1/2} and S^{-1/2} of a symmetric positive definite matrix (eigenvalues floored at 1e-12 × the largest). */
export function symmetricPowers(S: Float64Array, n: number, la: Linalg): { sqrt: Float64Array; invSqrt: Float64Array } {
  const eig = la.symmetricEigen(S, n);
  const top = Math.max(...eig.values);
  if (!(top > 0)) throw new Error("statisticalAttack: a covariance is zero (constant images?)");
  const floor = (l: number) => Math.max(l, 1e-12 * top);
  return {
    sqrt: symmetricFunction(eig, n, (l) => Math.sqrt(floor(l))),
    invSqrt: symmetricFunction(eig, n, (l) => 1 / Math.sqrt(floor(l))),
  };
}

/** What there is to match: the objective at M with nothing on the ciphertext side (Σ_r ‖L_p(r)‖² + ‖μ_p A_p‖²). */
export function referenceSize(p: Problem): number {
  return p.Lp.reduce((a, L) => a + sumSquares(L), 0) + sumSquares(p.mp);
}

/**
 * The energy-weighted covariances of one channel as relations like the L(r): whitened (A·W·A), the identity part
 * removed, both sides scaled by √weight / ‖plaintext side‖.
 */
function energyRelations(
  energy: EnergyRelations,
  ch: number,
  Ap: Float64Array,
  Ac: Float64Array,
  n: number,
  la: Linalg,
): { p: Float64Array[]; c: Float64Array[] } {
  const R = ENERGY_OFFSETS.length;
  const raw = Array.from({ length: R }, (_, r) => r);
  const A = [...Array<Float64Array>(R).fill(Ap), ...Array<Float64Array>(R).fill(Ac)];
  const half = la.matmuls(
    A,
    [...raw.map((r) => energy.plain.covariance(ch, r)), ...raw.map((r) => energy.cipher.covariance(ch, r))],
    n,
  );
  const W = la.matmuls(half, A, n);
  for (const X of W) {
    let trace = 0;
    for (let i = 0; i < n; i++) trace += X[i * n + i];
    for (let i = 0; i < n; i++) X[i * n + i] -= trace / n;
  }
  for (let r = 0; r < R; r++) {
    const s = Math.sqrt(energy.weight / Math.max(sumSquares(W[r]), 1e-300));
    for (const X of [W[r], W[R + r]]) for (let i = 0; i < X.length; i++) X[i] *= s;
  }
  return { p: W.slice(0, R), c: W.slice(R) };
}

/** Refuses energy statistics whose block size or channel count differ from the block statistics'. */
export function checkEnergy(cipher: BlockMoments, energy: { cipher: EnergyMoments; plain: EnergyMoments }): void {
  for (const [side, e] of [
    ["cipher", energy.cipher],
    ["plain", energy.plain],
  ] as const)
    if (e.blockSize !== cipher.blockSize || e.channels !== cipher.channels)
      throw new Error(
        `statisticalAttack: energy.${side} is k=${e.blockSize}, C=${e.channels}; the block statistics are ` +
          `k=${cipher.blockSize}, C=${cipher.channels}`,
      );
}

export function sumSquares(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return s;
}

/** v·M for a row vector v and an n×n M. */
export function rowTimes(v: Float64Array, M: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[j] += v[i] * M[i * n + j];
  return out;
}
