/**
 * How the channels of one attack help each other: when one ciphertext channel is a linear function of another
 * (greyscale stored as RGB: c_j = c_i·K_i⁻¹K_j, read from the ciphertexts' cross-channel covariance, whatever the
 * reference) a channel's estimate gives the other's exactly (a tie); and the cross-channel covariances
 * L_c^{ij} = M_iᵀ L_p^{ij} M_j give every channel a start from every other's fit (a coupling).
 */
import { transposeSquare as transpose } from "../core/linalg.ts";
import type { Linalg } from "./linalg.ts";
import type { BlockMoments } from "./moments.ts";
import type { Problem } from "./objective.ts";

/** Ciphertext channels whose cross-channel regression leaves less than this share of variance are tied. */
const TIE_RESIDUAL = 1e-3;

export interface Tie {
  i: number;
  j: number;
  /** c_j ≈ c_i·T (n×n). */
  T: Float64Array;
}

/**
 * Pairs of ciphertext channels where one is a linear function of the other, block by block: the regression
 * c_j ≈ c_i·T (T = Σ_ii⁻¹ Σ_ij) leaves under TIE_RESIDUAL of c_j's variance. Then p_i = p_j (greyscale stored as
 * RGB) gives K_j⁻¹ = T⁻¹ K_i⁻¹ whatever the reference images are.
 */
export function channelTies(cipher: BlockMoments, la: Linalg): Tie[] {
  const n = cipher.n;
  const ties: Tie[] = [];
  for (let i = 0; i < cipher.channels; i++)
    for (let j = 0; j < cipher.channels; j++) {
      if (i === j) continue;
      const Sii = la.invert(cipher.covariance(i, 0), n);
      if (!Sii) continue;
      const Sij = cipher.crossCovariance(i, j);
      const T = la.matmuls([Sii], [Sij], n)[0];
      const explained = la.matmuls([transpose(Sij, n)], [T], n)[0];
      const Sjj = cipher.covariance(j, 0);
      let tr = 0;
      let ex = 0;
      for (let d = 0; d < n; d++) {
        tr += Sjj[d * n + d];
        ex += explained[d * n + d];
      }
      if (tr > 0 && 1 - ex / tr < TIE_RESIDUAL) ties.push({ i, j, T });
    }
  return ties;
}

/** Channel j's orthogonal factor implied by channel i's estimate and a tie (K_j⁻¹ = T⁻¹ K_i⁻¹ when c_j = c_i·T). */
export function tiedStart(
  pi: Problem,
  pj: Problem,
  Mi: Float64Array,
  T: Float64Array,
  n: number,
  la: Linalg,
): Float64Array {
  const Tinv = la.invert(T, n);
  if (!Tinv) return Mi;
  const mm = (a: Float64Array, b: Float64Array) => la.matmuls([a], [b], n)[0];
  const KiInv = mm(mm(pi.sc.invSqrt, transpose(Mi, n)), pi.sp.sqrt);
  const KjInv = mm(Tinv, KiInv);
  // K_j⁻¹ = A_cj M_jᵀ Σ_pj^{1/2}  ⇒  M_jᵀ = Σ_cj^{1/2} K_j⁻¹ Σ_pj^{-1/2}
  return la.polar(transpose(mm(mm(pj.sc.sqrt, KjInv), pj.sp.invSqrt), n), n);
}

/**
 * Channel j's start from channel i's estimate through the cross-channel covariances: whitened, L_c^{ij} =
 * M_iᵀ L_p^{ij} M_j, so M_j ≈ polar(L_p^{ijᵀ} M_i L_c^{ij}).
 */
export function couplingStart(
  cipher: BlockMoments,
  plain: BlockMoments,
  problems: Problem[],
  i: number,
  j: number,
  Mi: Float64Array,
  n: number,
  la: Linalg,
): Float64Array {
  const [ci, pi] = la.matmuls(
    [problems[i].sc.invSqrt, problems[i].sp.invSqrt],
    [cipher.crossCovariance(i, j), plain.crossCovariance(i, j)],
    n,
  );
  const [Lc, Lp] = la.matmuls([ci, pi], [problems[j].sc.invSqrt, problems[j].sp.invSqrt], n);
  const LpM = la.matmuls([transpose(Lp, n)], [Mi], n)[0];
  return la.polar(la.matmuls([LpM], [Lc], n)[0], n);
}
