/**
 * The attack's starting points for one channel: eigenvectors of a random symmetric combination of the whitened
 * relations on both sides (or, with `joint`, joint diagonalisers of all of them, joint-diagonalise.ts), paired
 * plaintext to ciphertext in eigenvalue order or by their signatures over all relations (`refine`), signs (and with
 * `refine`, neighbour swaps) chosen greedily, then descended.
 */
import { standardNormal } from "../core/gaussian.ts";
import { linearAssignment, transposeSquare as transpose } from "../core/linalg.ts";
import { jointDiagonalise } from "./joint-diagonalise.ts";
import type { Linalg } from "./linalg.ts";
import { type Candidate, type Problem, rowTimes } from "./objective.ts";

/** One start's descent from M0 with the attack's settings (evaluations, progress). */
export type Descender = (p: Problem, M0: Float64Array) => Candidate;

/** How one channel's starts are drawn. */
export interface StartSettings {
  restarts: number;
  refine: boolean;
  /** Joint-diagonaliser bases per side (joint starts), or false for eigenvector starts. */
  joint: number | false;
}

/** `restarts` random starts of one channel's search, each descended; every result (the caller picks). */
export function searchStarts(
  p: Problem,
  n: number,
  { restarts, refine, joint }: StartSettings,
  rng: () => number,
  la: Linalg,
  descender: Descender,
): Candidate[] {
  if (joint !== false) return jointStarts(p, n, restarts, joint, refine, rng, la, descender);
  const out: Candidate[] = [];
  for (let s = 0; s < restarts; s++) {
    // start: eigenvectors of a random symmetric combination S = Σ a_r sym(L(r)), matched in eigenvalue order
    // (with `refine`, by their signatures over all relations)
    const a = p.Lp.map(() => standardNormal(rng));
    const bp = inBasis(p.Lp, p.mp, sortedEigen(symCombination(p.Lp, a, n), n, la), n, la);
    const bc = inBasis(p.Lc, p.mc, sortedEigen(symCombination(p.Lc, a, n), n, la), n, la);
    out.push(descender(p, pairedStart(bp, bc, pairBases(bp, bc, n, refine), n, la)));
  }
  return out;
}

/**
 * Starts from joint diagonalisers (StatisticalAttackOptions.joint): `bases` bases per side, each the joint
 * diagonaliser of every sym(L(r)) reached from the eigenvectors of one random combination; every plaintext basis is
 * paired with every ciphertext basis (the two sides' sweeps need not stop at corresponding bases, so the basis drawn
 * with the same combination is not always the partner that fits), each plaintext basis keeps its best partner by the
 * objective before descent, and the `restarts` best of those are descended.
 */
function jointStarts(
  p: Problem,
  n: number,
  restarts: number,
  bases: number,
  refine: boolean,
  rng: () => number,
  la: Linalg,
  descender: Descender,
): Candidate[] {
  /** sym(L(r)) = (L(r) + L(r)ᵀ) / 2 of every relation: what the joint diagonalisers diagonalise. */
  const symmetric = (L: Float64Array[], LT: Float64Array[]) => L.map((x, r) => x.map((v, i) => (v + LT[r][i]) / 2));
  const Sp = symmetric(p.Lp, p.LpT);
  const Sc = symmetric(p.Lc, p.LcT);
  const count = Math.max(restarts, bases);
  const plain: Basis[] = [];
  const cipher: Basis[] = [];
  for (let s = 0; s < count; s++) {
    const a = p.Lp.map(() => standardNormal(rng));
    plain.push(inBasis(p.Lp, p.mp, jointDiagonalise(Sp, sortedEigen(symCombination(p.Lp, a, n), n, la), n), n, la));
    cipher.push(inBasis(p.Lc, p.mc, jointDiagonalise(Sc, sortedEigen(symCombination(p.Lc, a, n), n, la), n), n, la));
  }
  const partners = plain.map((bp) => {
    let best = { bc: cipher[0], pairing: pairBases(bp, cipher[0], n, refine) };
    for (const bc of cipher.slice(1)) {
      const pairing = pairBases(bp, bc, n, refine);
      if (pairing.value < best.pairing.value) best = { bc, pairing };
    }
    return { bp, ...best };
  });
  partners.sort((x, y) => x.pairing.value - y.pairing.value);
  return partners.slice(0, restarts).map(({ bp, bc, pairing }) => descender(p, pairedStart(bp, bc, pairing, n, la)));
}

/** An orthonormal basis U (columns) of one side, with that side's relations and whitened mean expressed in it. */
interface Basis {
  U: Float64Array;
  /** Uᵀ·L(r)·U for every relation. */
  rel: Float64Array[];
  /** mean·U. */
  mean: Float64Array;
}

function inBasis(L: Float64Array[], mean: Float64Array, U: Float64Array, n: number, la: Linalg): Basis {
  const R = L.length;
  const half = la.matmuls(L, Array(R).fill(U), n);
  return { U, rel: la.matmuls(Array(R).fill(transpose(U, n)), half, n), mean: rowTimes(mean, U, n) };
}

/** Plaintext basis vector e ↔ ciphertext basis vector match[e], with sign signs[e]; value: the objective there. */
interface Pairing {
  match: Int32Array;
  signs: Float64Array;
  value: number;
}

/**
 * Pairs the vectors of a plaintext and a ciphertext basis (signatures over all relations, or in order without
 * `refine`), then flips signs (and, with `refine`, swaps neighbours) while the objective falls.
 * M = Σ_e signs[e] · up[:, e] ⊗ uc[:, match[e]] = up·Q·ucᵀ with the signed permutation Q[e, match[e]] = signs[e].
 * In the two bases the objective needs no product: with A(r) = upᵀ Lp(r) up, B(r) = ucᵀ Lc(r) uc, u = mp·up and
 * v = mc·uc, ‖M Lc − Lp M‖² = Σ_{e,f} (s_e B[m(e), m(f)] − A[e, f] s_f)² and ‖mc − mp M‖² = Σ_e (v[m(e)] − u[e] s_e)²,
 * so a sign flip or a swap changes only O(n) terms.
 */
function pairBases(bp: Basis, bc: Basis, n: number, refine: boolean): Pairing {
  const { rel: A, mean: u } = bp;
  const { rel: B, mean: v } = bc;
  const R = A.length;
  const signs = new Float64Array(n).fill(1);
  const match = refine ? signatureMatch(A, B, u, v, n, signs) : Int32Array.from({ length: n }, (_, e) => e);
  /** The objective's terms in rows or columns `S` (each counted once). */
  const partial = (S: number[]): number => {
    let value = 0;
    for (let r = 0; r < R; r++) {
      const Ar = A[r];
      const Br = B[r];
      for (const e of S) {
        const se = signs[e];
        const row = match[e] * n;
        for (let f = 0; f < n; f++) value += (se * Br[row + match[f]] - Ar[e * n + f] * signs[f]) ** 2;
      }
      for (const f of S) {
        const sf = signs[f];
        const col = match[f];
        for (let e = 0; e < n; e++) {
          if (S.includes(e)) continue;
          value += (signs[e] * Br[match[e] * n + col] - Ar[e * n + f] * sf) ** 2;
        }
      }
    }
    for (const e of S) value += (v[match[e]] - u[e] * signs[e]) ** 2;
    return value;
  };
  /** Applies a move that is its own inverse to rows `S`; keeps it if the objective drops, else undoes it. */
  const attempt = (S: number[], move: () => void): boolean => {
    const before = partial(S);
    move();
    if (partial(S) < before - 1e-15) return true;
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
    for (let e = 0; e < n; e++) improved = attempt([e], flip(e)) || improved;
    if (refine)
      for (let e = 0; e + 1 < n; e++)
        for (let flips = 0; flips < 4; flips++) improved = attempt([e, e + 1], swap(e, flips)) || improved;
  }
  // every row's terms, each counted once: rows 0..n−1 as S with no columns outside them
  let value = 0;
  for (let r = 0; r < R; r++)
    for (let e = 0; e < n; e++) {
      const row = match[e] * n;
      for (let f = 0; f < n; f++) value += (signs[e] * B[r][row + match[f]] - A[r][e * n + f] * signs[f]) ** 2;
    }
  for (let e = 0; e < n; e++) value += (v[match[e]] - u[e] * signs[e]) ** 2;
  return { match, signs, value };
}

/** M = up · (Q ucᵀ): row e of Q ucᵀ is signs[e] × column match[e] of uc. */
function pairedStart(bp: Basis, bc: Basis, { match, signs }: Pairing, n: number, la: Linalg): Float64Array {
  const ucT = transpose(bc.U, n);
  const QucT = new Float64Array(n * n);
  for (let e = 0; e < n; e++) {
    const se = signs[e];
    const src = match[e] * n;
    for (let j = 0; j < n; j++) QucT[e * n + j] = se * ucT[src + j];
  }
  return la.matmuls([bp.U], [QucT], n)[0];
}

/**
 * Pairs plaintext and ciphertext eigenvectors by their signatures, invariant to the sign of each vector: the
 * quadratic forms uᵀ L(r) u of every relation (the diagonals of A(r) = Eᵀ L(r) E) and |mean·u|, matched at least
 * total squared distance (an assignment over all relations, where eigenvalue order uses only one combination of
 * them). Signs start from the mean's.
 */
function signatureMatch(
  A: Float64Array[],
  B: Float64Array[],
  u: Float64Array,
  v: Float64Array,
  n: number,
  signs: Float64Array,
): Int32Array {
  const cost = new Float64Array(n * n);
  for (let e = 0; e < n; e++)
    for (let m = 0; m < n; m++) {
      let c = 0;
      for (let r = 0; r < A.length; r++) c += (A[r][e * n + e] - B[r][m * n + m]) ** 2;
      cost[e * n + m] = c + (Math.abs(u[e]) - Math.abs(v[m])) ** 2;
    }
  const match = linearAssignment(cost, n);
  for (let e = 0; e < n; e++) signs[e] = u[e] * v[match[e]] < 0 ? -1 : 1;
  return match;
}

/** Eigenvectors (columns) of a symmetric matrix, ordered by eigenvalue. */
function sortedEigen(S: Float64Array, n: number, la: Linalg): Float64Array {
  const { values, vectors } = la.symmetricEigen(S, n);
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
