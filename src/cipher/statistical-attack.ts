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
 * Channels help each other and failures are reported, never returned silently: (1) when one ciphertext channel is a
 * linear function of another (greyscale stored as RGB: c_j = c_i·K_i⁻¹K_j, read from the ciphertexts' cross-channel
 * covariance, whatever the reference) a channel's estimate gives the other's exactly; (2) the cross-channel
 * covariances L_c^{ij} = M_iᵀ L_p^{ij} M_j give every channel a start from every better one; (3) a channel whose
 * objective (relative to what there is to match) stays above FAILURE_RATIO × the best channel's, or whose best fit
 * no second independent route reached (another start, or another channel's fit carried over by (1) or (2)), gets
 * fresh starts; (4) each channel reports its objective, how it was solved, how many independent starts and other
 * channels confirm it, and how differently its near-best fits decrypt (AMBIGUITY_DB), and is flagged unreliable
 * when any of these fails.
 * Two options change the objective, both off by default (see their docs): `weight` compares the residuals weighted by
 * the plaintext variance, `shrink` denoises the whitened L's (soft-thresholded singular values) before matching; at
 * k = 16 shrinking ranks points near the key below every fit the search finds, but descending from the key the
 * objective keeps falling while the decryption gets worse (30 dB after 200 steps, far less after 1,500): no
 * second-order objective tried has its minimum at the key (RESULTS.md, "Where the objectives put the key").
 * A third option adds relations beyond second order: `energy`, covariances weighted by each block's (or neighbour's)
 * whitened energy, which the key leaves alone, so they obey the same W_c = Mᵀ W_p M (energy-moments.ts); they join
 * the L's in the starts and the objective. Callers that hold the images (attackStore, the audit) add them from k = 8
 * (defaultEnergy), where they lift the estimate from 20.6 to 25.0–26.2 dB per key. With them, starts built from
 * joint diagonalisers of all the relations (`joint`, joint-diagonalise.ts; default at k = 8), every plaintext basis
 * paired with its best ciphertext partner, find the key's basin: 35.3 dB at k = 8 on every one of 12 attack seeds
 * (RESULTS.md "Cross-paired joint starts").
 * The estimate is exact when the plaintext statistics are; with statistics from other images the error sits in
 * directions where natural images have little variance, which is why decryption PSNR is high even when the
 * key's relative error is not small. The lesson for users: a block-wise linear cipher leaks its key through the
 * ciphertexts' correlations; it hides images only from someone with no natural-image statistics at all.
 */

import {
  jsLinalg,
  type Linalg,
  linearAssignment,
  type RelationObjective,
  symmetricFunction,
  transposeSquare as transpose,
} from "../core/linalg.ts";
import { mulberry32 } from "../core/rng.ts";
import { ENERGY_OFFSETS, type EnergyMoments } from "./energy-moments.ts";
import { jointDiagonalise } from "./joint-diagonalise.ts";
import { type BlockMoments, NEIGHBOUR_OFFSETS } from "./moments.ts";

export interface StatisticalAttackOptions {
  /**
   * Random starts per channel (default 12 for k ≤ 4, JOINT_RESTARTS with `joint` starts, LARGE_RESTARTS from k = 16,
   * 4 otherwise; each costs O(k⁶)).
   */
  restarts?: number;
  /**
   * Objective evaluations per start's descent (default 1500 for k ≤ 4, LARGE_ITERATIONS from k = 16, 400 between;
   * stops early when the step size vanishes).
   */
  iterations?: number;
  /**
   * How each start descends (Descent): "bb" (the default), Riemannian Barzilai–Borwein steps with a non-monotone
   * line search, or "adaptive", projected gradient steps whose size grows by 10% after a success and halves after a
   * failure (the default until 2026-12: at k = 16 its 200 steps were far from converged; RESULTS.md "k = 16").
   */
  descent?: Descent;
  /** Seed of the starts (default 1). */
  seed?: number;
  /**
   * Called after every descent with the descents done and planned (each channel's starts and one exchange sweep; the
   * plan grows when retry rounds or more sweeps run): at k = 16 one descent takes seconds, the attack minutes.
   */
  onProgress?: (done: number, planned: number) => void;
  /**
   * Refine the start's eigenvector matching: pair eigenvectors by their signatures over all relations (a linear
   * assignment) instead of eigenvalue order, and try swapping neighbours (with their signs) before the gradient
   * descent (default: on for k > 4, where close eigenvalues trade places under the reference statistics' noise; off
   * for k ≤ 4, which keeps earlier k ≤ 4 estimates bit for bit).
   */
  refine?: boolean;
  /**
   * Turn each start's two eigenbases into joint diagonalisers of all the relations (joint-diagonalise.ts) before
   * matching them: the random combination's eigenvectors mix where its eigenvalues are close, the joint basis uses
   * every relation (default: on for k = 8, JOINT_MAX_N; at k = 8 it is what finds the key's basin; at k = 16 its
   * sweeps cost minutes per start in JS and the objective's own minimum near the key is below 20 dB, so off there).
   */
  joint?: boolean;
  /** Joint-diagonaliser bases drawn per side for one round of `joint` starts (default JOINT_BASES, at least `restarts`). */
  jointBases?: number;
  /**
   * Rounds of fresh random starts for a channel whose objective stays above FAILURE_RATIO × the best channel's after
   * the cross-channel candidates, or whose best fit no second start reached (default 2 for k ≤ 4, JOINT_RETRIES
   * with `joint` starts, LARGE_RETRIES from k = 16, 1 otherwise; each round costs `restarts` more starts for that
   * channel only).
   */
  retries?: number;
  /**
   * The dense float64 products, eigendecompositions, inverses and polar factors of the search (default: the JS
   * loops of src/core/linalg.ts, browser-safe). On Node, src/audit/torch-linalg.ts does them with libtorch, which
   * makes k = 16 (n = 256) practical; the estimate is the same up to rounding.
   */
  linalg?: Linalg;
  /**
   * Weight the objective by the plaintext variance each whitened direction carries: the residuals are compared in
   * plaintext-whitened coordinates, E(r) = M L_c(r) Mᵀ − L_p(r) and e = μ_c A_c Mᵀ − μ_p A_p, as
   *     Σ_r ‖W^{1/2} E(r) W^{1/2}‖² + e W eᵀ,   W = Σ_p^{weight} / mean eigenvalue of Σ_p^{weight}
   * (weight 0: the unweighted objective; 1: the whitened residual mapped back to pixel space, Σ_p^{1/2} E Σ_p^{1/2}).
   * An error in a direction where natural images have little variance barely changes the decryption, but with
   * statistics from other images those directions carry most of the noise, and unweighted they outvote the rest
   * (issue 13). Default: defaultWeight(n), 0 (off) everywhere for now: at k = 16 weight 0.5 with shrink 2 keeps
   * 200 steps down from the key at 30.4 dB (vs 19.3 unweighted), but the search does not get there (RESULTS.md).
   */
  weight?: number;
  /**
   * Denoise the whitened neighbour cross-covariances before matching: shrink every singular value of each L(r) by
   * `shrink` × √(n / pairs), the size of the noise an estimate from that many block pairs carries (soft
   * thresholding). It commutes with L ↦ Mᵀ L M, so exact statistics keep their exact key. At k = 16 (shrink ≥ 2) points
   * near the key score below every fit the search finds, but the objective's minimum is still not at the key (it
   * keeps falling, and the decryption with it, as one descends from the key; RESULTS.md), so the default
   * (defaultShrink(n)) is 0 (off) everywhere for now.
   */
  shrink?: number;
  /**
   * Energy-weighted covariances of both sides (energy-moments.ts: a second pass over the same images as `cipher` and
   * `plain`), matched as extra relations next to the L(r): each whitened, its identity part removed (every M keeps
   * it), scaled to unit size by the plaintext side's norm, its squared residual weighted by `energyWeight`. At k = 8
   * they lift the second-order fits by 2–5 dB (RESULTS.md "Energy-weighted relations"). Default: none.
   */
  energy?: { cipher: EnergyMoments; plain: EnergyMoments } | null;
  /** Weight of the energy relations' squared residuals against the L(r)'s (default ENERGY_WEIGHT). */
  energyWeight?: number;
}

/** The largest block dimension n = k² whose starts are joint diagonalisers by default (StatisticalAttackOptions.joint). */
export const JOINT_MAX_N = 64;

/**
 * Default starts and retry rounds with `joint` starts (k = 8): 8 descents per channel, from the best of the
 * JOINT_BASES × JOINT_BASES pairings of joint bases, and up to 3 rounds of fresh starts for a channel still
 * unconfirmed. With one basis per start and its own partner only, 3 of 9 attack seeds missed the key's basin
 * (27.6–27.9 dB); cross-paired, 12 of 12 reach it and no retry round runs (RESULTS.md "Cross-paired joint starts").
 */
export const JOINT_RESTARTS = 8;
export const JOINT_RETRIES = 3;
/**
 * Joint-diagonaliser bases drawn per side and channel for one round of `joint` starts (at least `restarts`): each
 * costs Jacobi sweeps (≈ 0.2 s at n = 64), each of the bases² pairings an assignment and a sign/swap search in the two
 * bases (no n×n products).
 */
export const JOINT_BASES = 16;

/**
 * Default search from k = 16 (n ≥ LARGE_MIN_N), where one objective evaluation costs ≈ 0.1 s on libtorch: 2 starts of
 * 200 evaluations per channel and no retry rounds (the channel exchange still carries every channel's fit to every
 * other), ≈ 6 minutes per key on 2 cores; what RESULTS.md measures at k = 16 (20.9–23.6 dB on 6 fresh keys).
 */
export const LARGE_MIN_N = 256;
export const LARGE_RESTARTS = 2;
export const LARGE_ITERATIONS = 200;
export const LARGE_RETRIES = 0;

/** Default weight of the energy-weighted relations (StatisticalAttackOptions.energyWeight). */
export const ENERGY_WEIGHT = 1;

/** The smallest block dimension n = k² whose attacks use the energy-weighted relations by default (k = 8). */
export const ENERGY_MIN_N = 64;

/** Whether callers that have the images (attackStore, the audit) add the energy-weighted relations by default. */
export function defaultEnergy(n: number): boolean {
  return n >= ENERGY_MIN_N;
}

/**
 * The singular-value shrinkage at n ≥ 256, in units of the noise level √(n / pairs) (StatisticalAttackOptions.shrink):
 * 0: it helps only a search that starts near the key (RESULTS.md).
 */
export const DEFAULT_SHRINK = 0;

/** The shrinkage for a block dimension n. */
export function defaultShrink(n: number): number {
  return n >= 256 ? DEFAULT_SHRINK : 0;
}

/** The variance weighting's exponent at n ≥ 256 (StatisticalAttackOptions.weight): 0 for now, as DEFAULT_SHRINK. */
export const DEFAULT_WEIGHT = 0;

/** The weighting exponent for a block dimension n (k² values per block and channel). */
export function defaultWeight(n: number): number {
  return n >= 256 ? DEFAULT_WEIGHT : 0;
}

/**
 * When a channel counts as failed: its relative objective above this multiple of the best channel's (the channels
 * of one image set see the same kind of statistics, so a converged search reaches similar values in each; a search
 * stuck in a wrong basin stays 10–1000× above, as in the greyscale failures of issue 13).
 */
export const FAILURE_RATIO = 2;
/**
 * Near-best starts that decrypt this differently (PSNR in dB between their decryptions, on the reference's [0, 1]
 * scale) mean the statistics do not pin the key down: the estimate is then flagged unreliable.
 */
export const AMBIGUITY_DB = 20;
/**
 * The channel exchange sweeps again only while some channel's objective fell by more than this share in a sweep, and
 * a carried fit stays current (counts for agreement, is not carried again) while its source channel's best has not
 * fallen by more than this share since.
 */
const EXCHANGE_GAIN = 1e-3;
/** The channel exchange stops after this many sweeps even if channels still gain (k = 16, see exchange()). */
const EXCHANGE_SWEEPS = 3;
/** A start counts as near-best when its objective is within this factor of the channel's best. */
const NEAR_BEST = 1.05;
/** Ciphertext channels whose cross-channel regression leaves less than this share of variance are tied. */
const TIE_RESIDUAL = 1e-3;

export interface ChannelReport {
  /** The objective at the estimate (0 = the statistics match exactly). */
  loss: number;
  /** loss / (Σ_r ‖L_p(r)‖² + ‖μ_p A_p‖²): the share of the reference statistics left unmatched. */
  relativeLoss: number;
  /** Random starts run for this channel (first pass and retries). */
  starts: number;
  /** Where the estimate came from: its own search, or a candidate derived from another (better) channel. */
  solvedBy: "search" | "retry" | { fromChannel: number; how: "tie" | "coupling" };
  /** A channel whose ciphertext this channel's ciphertext is a linear function of (greyscale stored as RGB), or null. */
  tiedTo: number | null;
  /**
   * Independent random starts (this channel's and, through a tie, the tied channels') whose fit came within 5% of
   * the estimate's: fewer than 2 means the best fit was found once and a better one may exist.
   */
  confirmations: number;
  /**
   * Other channels whose best fit, carried over to this channel (through the cross-channel statistics or a tie) and
   * descended, lands within 5% of this channel's: independent routes too. The estimate counts as confirmed when
   * confirmations + agreeingChannels ≥ 2.
   */
  agreeingChannels: number;
  /**
   * PSNR (dB) between the estimate's decryption and that of the most different near-best candidate (objective
   * within 5%), predicted from the statistics (no images needed); Infinity when all near-best candidates agree.
   * Low values mean several keys fit the statistics equally well.
   */
  agreementDb: number;
  /**
   * False when the channel did not converge like the others, when no second independent start confirmed its best
   * fit, or when its near-best candidates disagree.
   */
  reliable: boolean;
  /** Plain-language reasons for reliable = false. */
  problems: string[];
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
  /** Per channel: objective, how it was solved, and whether it can be trusted. */
  channelReports: ChannelReport[];
  /** Every channel reliable. */
  reliable: boolean;
  /**
   * Per channel, the inverse estimates (n×n, p ≈ c·K̂⁻¹) of the channel's own independent random starts, best
   * objective first, the estimate's own start excluded: other minima of the second-order objective, which a later
   * stage can compare the estimate with (src/audit/sparsity-search.ts).
   */
  fits: Float64Array[][];
}

interface Candidate {
  M: Float64Array;
  value: number;
}

export function statisticalAttack(
  cipher: BlockMoments,
  plain: BlockMoments,
  o: StatisticalAttackOptions = {},
): StatisticalAttackResult {
  checkCompatible(cipher, plain);
  const n = cipher.n;
  const C = cipher.channels;
  const rng = mulberry32(o.seed ?? 1);
  const small = n <= 16;
  const refine = o.refine ?? !small;
  const joint = o.joint ?? (!small && n <= JOINT_MAX_N);
  const large = n >= LARGE_MIN_N;
  const restarts = o.restarts ?? (small ? 12 : joint ? JOINT_RESTARTS : large ? LARGE_RESTARTS : 4);
  const jointBases = o.jointBases ?? JOINT_BASES;
  const iterations = o.iterations ?? (small ? 1500 : large ? LARGE_ITERATIONS : 400);
  const descent = o.descent ?? DEFAULT_DESCENT;
  const la = o.linalg ?? jsLinalg;
  const weight = o.weight ?? defaultWeight(n);
  const shrink = o.shrink ?? defaultShrink(n);
  if (o.energy) checkEnergy(cipher, o.energy);
  const energy = o.energy ? { ...o.energy, weight: o.energyWeight ?? ENERGY_WEIGHT } : null;
  const problems = Array.from({ length: C }, (_, ch) => whitenedProblem(cipher, plain, ch, la, weight, shrink, energy));
  const scale = problems.map((p) => referenceSize(p, n, la));
  /** Descents of one exchange sweep: each channel's fit carried to every other (through the cross-channel statistics). */
  const sweepDescents = cipher.hasCross ? C * (C - 1) : 0;
  /** Descents run and planned: each channel's starts and one exchange sweep (more when retries or sweeps follow). */
  let [done, planned] = [0, C * restarts + sweepDescents];
  const descender: Descender = (p, M0) => {
    const c = descend(p, n, M0, iterations, la, descent);
    done++;
    planned = Math.max(planned, done);
    o.onProgress?.(done, planned);
    return c;
  };
  o.onProgress?.(0, planned);
  /** Each channel's independent search results (random starts). */
  const own: Candidate[][] = [];
  const best: Candidate[] = [];
  const reports: ChannelReport[] = [];
  for (let ch = 0; ch < C; ch++) {
    own.push(searchStarts(problems[ch], n, restarts, refine, joint && jointBases, rng, la, descender));
    best.push(lowest(own[ch]));
    reports.push({
      loss: 0,
      relativeLoss: 0,
      starts: restarts,
      solvedBy: "search",
      tiedTo: null,
      confirmations: 0,
      agreeingChannels: 0,
      agreementDb: Number.POSITIVE_INFINITY,
      reliable: true,
      problems: [],
    });
  }
  const rel = (ch: number) => best[ch].value / scale[ch];
  const ties = cipher.hasCross ? channelTies(cipher, la) : [];
  for (const t of ties) reports[t.j].tiedTo ??= t.i;
  const coupled = cipher.hasCross && plain.hasCross;
  /**
   * The independent search results that bear on channel j: its own starts and, through a tie, those of the tied
   * channels (the same problem up to the key), mapped into j's coordinates.
   */
  const pool = (j: number): Candidate[] => {
    const out = [...own[j]];
    for (const t of ties)
      if (t.j === j)
        for (const c of own[t.i]) {
          const M = tiedStart(problems[t.i], problems[j], c.M, t.T, n, la);
          out.push({ M, value: evaluate(M, problems[j], n, la).value });
        }
    return out;
  };
  const nearBest = (j: number) => pool(j).filter((c) => c.value <= best[j].value * NEAR_BEST + 1e-15);
  /**
   * Per channel j: for each other channel i, the best value of the candidates carried over from i's best fit (tie
   * or cross-channel statistics, descended), and which best of i they came from.
   */
  const carried = best.map(() => new Map<number, { from: number; value: number }>());
  /** Whether the fit of channel i that a carried candidate came from is still i's best, up to EXCHANGE_GAIN. */
  const current = (i: number, from: number) => from <= best[i].value * (1 + EXCHANGE_GAIN) + 1e-15;
  /** Other channels whose best fit, carried over, lands on j's (within NEAR_BEST): agreement between channels. */
  const agreeing = (j: number) =>
    [...carried[j]].filter(([i, c]) => current(i, c.from) && c.value <= best[j].value * NEAR_BEST + 1e-15).length;
  /** Channels far above the best one, or whose best fit no second independent route (start or channel) reached. */
  const failing = () => {
    const top = Math.min(...best.map((_, ch) => rel(ch)));
    return best
      .map((_, ch) => ch)
      .filter((ch) => rel(ch) > FAILURE_RATIO * top + 1e-12 || nearBest(ch).length + agreeing(ch) < 2);
  };
  // channels help each other: every channel tries candidates carried over from every other channel's best (the
  // channels' relative objectives differ even at the key, so "better" cannot be told from them alone); a channel
  // still far above the best, or unconfirmed, gets fresh starts, then the exchange runs again
  const exchange = () => {
    // again while some channel gained more than EXCHANGE_GAIN (an improved channel may in turn help the others), but
    // at most EXCHANGE_SWEEPS times: at k = 16, where one descent does not converge, carrying fits back and forth
    // would go on descending for as long as it is allowed
    for (let sweep = 0, changed = true; changed && sweep < EXCHANGE_SWEEPS; sweep++) {
      changed = false;
      const order = best.map((_, ch) => ch).sort((a, b) => rel(a) - rel(b));
      for (const j of order)
        for (const i of order) {
          const prev = carried[j].get(i);
          if (i === j || (prev && current(i, prev.from))) continue;
          const tries: { M: Float64Array; how: "tie" | "coupling" }[] = [];
          const tie = ties.find((t) => t.i === i && t.j === j);
          if (tie) tries.push({ M: tiedStart(problems[i], problems[j], best[i].M, tie.T, n, la), how: "tie" });
          if (coupled)
            tries.push({ M: couplingStart(cipher, plain, problems, i, j, best[i].M, n, la), how: "coupling" });
          for (const t of tries) {
            const cand = descender(problems[j], t.M);
            const c = carried[j].get(i);
            if (!c || c.from > best[i].value || cand.value < c.value)
              carried[j].set(i, { from: best[i].value, value: cand.value });
            if (cand.value < best[j].value * (1 - 1e-9) - 1e-15) {
              if (cand.value < best[j].value * (1 - EXCHANGE_GAIN)) changed = true;
              best[j] = cand;
              reports[j].solvedBy = { fromChannel: i, how: t.how };
            }
          }
        }
    }
  };
  for (let round = 0; ; round++) {
    exchange();
    const bad = failing();
    if (bad.length === 0 || round >= (o.retries ?? (small ? 2 : joint ? JOINT_RETRIES : large ? LARGE_RETRIES : 1)))
      break;
    planned = done + bad.length * restarts + sweepDescents;
    for (const ch of bad) {
      const more = searchStarts(problems[ch], n, restarts, refine, joint && jointBases, rng, la, descender);
      own[ch].push(...more);
      reports[ch].starts += restarts;
      const m = lowest(more);
      if (m.value < best[ch].value) {
        best[ch] = m;
        reports[ch].solvedBy = "retry";
      }
    }
  }
  // the plan may have counted exchange descents that were not needed: the bar ends full
  if (planned !== done) o.onProgress?.(done, done);
  const key = new Float64Array(C * n * n);
  const inverse = new Float64Array(C * n * n);
  const top = Math.min(...best.map((_, ch) => rel(ch)));
  for (let ch = 0; ch < C; ch++) {
    const { sp, sc } = problems[ch];
    const M = best[ch].M;
    const r = reports[ch];
    r.loss = best[ch].value;
    r.relativeLoss = rel(ch);
    const near = nearBest(ch);
    r.confirmations = near.length;
    r.agreeingChannels = agreeing(ch);
    r.agreementDb = agreement(near, best[ch], sp.sqrt, n, la);
    if (r.relativeLoss > FAILURE_RATIO * top + 1e-12)
      r.problems.push(
        `its statistics mismatch (${r.relativeLoss.toExponential(2)}) stayed ${(r.relativeLoss / top).toFixed(1)}× ` +
          `the best channel's after ${r.starts} starts: the search did not converge`,
      );
    if (near.length + r.agreeingChannels < 2)
      r.problems.push(
        `no second independent start (of ${r.starts}${r.tiedTo === null ? "" : " and the tied channels'"}) or ` +
          "other channel's fit reached its best fit: a better one may exist",
      );
    if (r.agreementDb < AMBIGUITY_DB)
      r.problems.push(
        `equally good fits decrypt differently (${r.agreementDb.toFixed(1)} dB apart): the statistics do not pin ` +
          "the key down",
      );
    r.reliable = r.problems.length === 0;
    const [AM, AcMt] = la.matmuls([sp.invSqrt, sc.invSqrt], [M, transpose(M, n)], n);
    const [K, KInv] = la.matmuls([AM, AcMt], [sc.sqrt, sp.sqrt], n);
    inverse.set(KInv, ch * n * n);
    key.set(K, ch * n * n);
  }
  const fits = own.map((cands, ch) => {
    const { sp, sc } = problems[ch];
    const others = cands.filter((c) => c !== best[ch]).sort((a, b) => a.value - b.value);
    return others.map((c) => {
      const [AcMt] = la.matmuls([sc.invSqrt], [transpose(c.M, n)], n);
      return la.matmuls([AcMt], [sp.sqrt], n)[0];
    });
  });
  return {
    blockSize: cipher.blockSize,
    channels: C,
    key,
    inverse,
    fits,
    loss: reports.map((r) => r.loss),
    channelReports: reports,
    reliable: reports.every((r) => r.reliable),
  };
}

/**
 * Diagnosis with the true key (measurement only): per channel, the attack's objective at the key's own orthogonal
 * factor M = polar(Σ_p^{1/2} K Σ_c^{-1/2}), and the key estimate that basin gives (what a perfect search returns
 * from these statistics). An attack that stops above this loss is limited by its search, one that reaches it by the
 * statistics. With `descend` > 0, that many gradient steps from the key's M first: where the objective leads from the
 * key (not a basin bottom: with more steps it keeps falling and the decryption gets worse, RESULTS.md).
 */
export function attackObjectiveAtKey(
  cipher: BlockMoments,
  plain: BlockMoments,
  trueKey: Float64Array,
  la: Linalg = jsLinalg,
  weight: number = defaultWeight(cipher.n),
  shrink: number = defaultShrink(cipher.n),
  descendSteps = 0,
  descent: Descent = DEFAULT_DESCENT,
): { loss: number[]; key: Float64Array } {
  checkCompatible(cipher, plain);
  const n = cipher.n;
  if (trueKey.length !== cipher.channels * n * n)
    throw new Error(`attackObjectiveAtKey: key has ${trueKey.length} values, expected ${cipher.channels}×${n}×${n}`);
  const key = new Float64Array(trueKey.length);
  const loss: number[] = [];
  for (let ch = 0; ch < cipher.channels; ch++) {
    const p = whitenedProblem(cipher, plain, ch, la, weight, shrink);
    const K = trueKey.slice(ch * n * n, (ch + 1) * n * n);
    const M0 = la.polar(la.matmuls([la.matmuls([p.sp.sqrt], [K], n)[0]], [p.sc.invSqrt], n)[0], n);
    const { M, value } =
      descendSteps > 0 ? descend(p, n, M0, descendSteps, la, descent) : { M: M0, value: evaluate(M0, p, n, la).value };
    loss.push(value);
    key.set(la.matmuls([la.matmuls([p.sp.invSqrt], [M], n)[0]], [p.sc.sqrt], n)[0], ch * n * n);
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

/**
 * One channel's problem: both sides' Σ^{±1/2}, the whitened neighbour cross-covariances L(r) (and their transposes,
 * for the gradient) and the whitened means.
 */
function whitenedProblem(
  cipher: BlockMoments,
  plain: BlockMoments,
  ch: number,
  la: Linalg,
  weight = 0,
  shrink = 0,
  energy: { cipher: EnergyMoments; plain: EnergyMoments; weight: number } | null = null,
) {
  const n = cipher.n;
  const sp = symmetricPowers(plain.covariance(ch, 0), n, la, weight);
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
  const L0 = la.matmuls(half, [...Ap, ...Ac], n);
  const L =
    shrink > 0
      ? L0.map((x, i) => {
          const pairs = i < relations ? plain.count[ch][i + 1] : cipher.count[ch][i - relations + 1];
          return shrinkSingularValues(x, shrink * Math.sqrt(n / pairs), n, la);
        })
      : L0;
  const E = energy ? energyRelations(energy, ch, sp.invSqrt, sc.invSqrt, n, la) : { p: [], c: [] };
  const Lp = [...L.slice(0, relations), ...E.p];
  const Lc = [...L.slice(relations), ...E.c];
  const mp = rowTimes(plain.mean(ch), sp.invSqrt, n);
  const mc = rowTimes(cipher.mean(ch), sc.invSqrt, n);
  return {
    sp,
    sc,
    Lp,
    Lc,
    LpT: Lp.map((x) => transpose(x, n)),
    LcT: Lc.map((x) => transpose(x, n)),
    mp,
    mc,
    /** The variance weighting W (n×n, plaintext-whitened coordinates), or null for the unweighted objective. */
    W: weight === 0 ? null : sp.weight,
  };
}

type Problem = ReturnType<typeof whitenedProblem>;

/** `restarts` random starts of one channel's search, each descended; every result (the caller picks). */
function searchStarts(
  p: Problem,
  n: number,
  restarts: number,
  refine: boolean,
  /** Joint-diagonaliser bases per side (joint starts), or false for eigenvector starts. */
  joint: number | false,
  rng: () => number,
  la: Linalg,
  descender: Descender,
): Candidate[] {
  if (joint !== false) return jointStarts(p, n, restarts, joint, refine, rng, la, descender);
  const out: Candidate[] = [];
  for (let s = 0; s < restarts; s++) {
    // start: eigenvectors of a random symmetric combination S = Σ a_r sym(L(r)), matched in eigenvalue order
    // (with `refine`, by their signatures over all relations)
    const a = p.Lp.map(() => gaussian(rng));
    const bp = inBasis(p.Lp, p.mp, sortedEigen(symCombination(p.Lp, a, n), n, la), n, la);
    const bc = inBasis(p.Lc, p.mc, sortedEigen(symCombination(p.Lc, a, n), n, la), n, la);
    out.push(descender(p, pairedStart(bp, bc, pairBases(bp, bc, n, refine), n, la)));
  }
  return out;
}

/**
 * Starts from joint diagonalisers (StatisticalAttackOptions.joint): JOINT_BASES bases per side, each the joint
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
    const a = p.Lp.map(() => gaussian(rng));
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

/** The search's local descent on the orthogonal group (StatisticalAttackOptions.descent). */
export type Descent = "adaptive" | "bb";
/**
 * "bb": at equal evaluations it ends lower than "adaptive" (k = 4: 0.205 against 0.268), decrypts the same at k = 8
 * (35.34 dB) and better at k = 16 (20.9–23.6 dB on 6 keys, against 18.1 dB on key 1); RESULTS.md.
 */
export const DEFAULT_DESCENT: Descent = "bb";

/** One start's descent from M0 with the attack's settings (method, evaluations, progress). */
type Descender = (p: Problem, M0: Float64Array) => Candidate;

/** `iterations` objective evaluations of descent from M0 on the orthogonal group (the best point seen). */
function descend(p: Problem, n: number, M0: Float64Array, iterations: number, la: Linalg, method: Descent): Candidate {
  return method === "bb" ? descendBB(p, n, M0, iterations, la) : descendAdaptive(p, n, M0, iterations, la);
}

/** Projected gradient descent from M0 with an adaptive step: 10% longer after a success, half after a failure. */
function descendAdaptive(p: Problem, n: number, M0: Float64Array, iterations: number, la: Linalg): Candidate {
  const f = objectiveOf(p, n, la);
  try {
    let M = M0;
    let value = f.value(M);
    // the gradient changes only when a step is accepted
    let lr = 0.05;
    let G = f.gradient();
    for (let it = 0; it < iterations && lr > 1e-9; it++) {
      const M2 = new Float64Array(n * n);
      for (let i = 0; i < n * n; i++) M2[i] = M[i] - lr * G[i];
      const P = la.polar(M2, n);
      const v = f.value(P);
      if (v < value) {
        [M, value] = [P, v];
        G = f.gradient();
        lr *= 1.1;
      } else lr *= 0.5;
    }
    return { M, value };
  } finally {
    f.dispose();
  }
}

/** Zhang–Hager averaging of the non-monotone line search's reference value (0: monotone Armijo). */
const BB_MEMORY = 0.85;
/** The line search's sufficient-decrease constant (Armijo). */
const BB_ARMIJO = 1e-4;

/**
 * Riemannian gradient descent from M0 with Barzilai–Borwein step sizes (alternating the two BB formulas) and a
 * non-monotone line search (Zhang–Hager), the polar factor as retraction: the method of Wen & Yin (2013, "A feasible
 * method for optimization with orthogonality constraints"), there with the Cayley transform. BB steps adapt to the
 * objective's curvature, where the adaptive step creeps along its valleys (at n = 256, 200 adaptive steps are far
 * from converged). `iterations` counts objective evaluations, as in descendAdaptive; returns the best point seen.
 */
function descendBB(p: Problem, n: number, M0: Float64Array, iterations: number, la: Linalg): Candidate {
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
      const xx = dot(xi, xi);
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

/** The descent's objective: the backend's resident one where it has it (unweighted only), else evaluate/gradient. */
function objectiveOf(p: Problem, n: number, la: Linalg): RelationObjective {
  const resident = p.W ? null : la.relationObjective?.(p, n);
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

function lowest(cands: Candidate[]): Candidate {
  return cands.reduce((a, b) => (b.value < a.value ? b : a));
}

function sumSquares(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return s;
}

/**
 * Predicted PSNR (dB, peak 1) between the decryptions of the best candidate and of the most different near-best
 * one. With whitened ciphertext blocks w (identity covariance), p = w·Mᵀ·Σ_p^{1/2}, so two estimates differ per
 * pixel by E‖w·(M₁ − M₂)ᵀ·Σ_p^{1/2}‖² / n = ‖(M₁ − M₂)ᵀ Σ_p^{1/2}‖²_F / n.
 */
function agreement(near: Candidate[], best: Candidate, spSqrt: Float64Array, n: number, la: Linalg): number {
  const Dt = near.map((c) => {
    const D = new Float64Array(n * n);
    for (let i = 0; i < n * n; i++) D[i] = best.M[i] - c.M[i];
    return transpose(D, n);
  });
  const worst = Math.max(0, ...la.matmuls(Dt, Array(Dt.length).fill(spSqrt), n).map((x) => sumSquares(x) / n));
  return worst > 0 ? 10 * Math.log10(1 / worst) : Number.POSITIVE_INFINITY;
}

interface Tie {
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
function channelTies(cipher: BlockMoments, la: Linalg): Tie[] {
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
function tiedStart(pi: Problem, pj: Problem, Mi: Float64Array, T: Float64Array, n: number, la: Linalg): Float64Array {
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
function couplingStart(
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

interface Evaluation {
  value: number;
  /**
   * Unweighted: R(r) = M·Lc(r) − Lp(r)·M per relation, and mp·M. Weighted: W·E(r)·W per relation, and W·eᵀ. Kept
   * for the gradient at the same M.
   */
  residuals: Float64Array[];
  mM: Float64Array;
  /** The point of evaluation (the weighted gradient needs it). */
  M: Float64Array;
}

/** The objective Σ‖R(r)‖² + ‖mc − mp·M‖² at M, with what its gradient needs (the 2 × relations products in one call). */
function evaluate(M: Float64Array, p: Problem, n: number, la: Linalg): Evaluation {
  if (p.W) return evaluateWeighted(M, p, p.W, n, la);
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
  return { value, residuals, mM, M };
}

/**
 * The variance-weighted objective Σ_r ⟨W E(r) W, E(r)⟩ + e W eᵀ at M, E(r) = M Lc(r) Mᵀ − Lp(r), e = mc Mᵀ − mp
 * (see StatisticalAttackOptions.weight). With W = I it equals the unweighted objective (M orthogonal).
 */
function evaluateWeighted(M: Float64Array, p: Problem, W: Float64Array, n: number, la: Linalg): Evaluation {
  const { Lp, Lc, mp, mc } = p;
  const R = Lp.length;
  const Mt = transpose(M, n);
  const MLc = la.matmuls(Array(R).fill(M), Lc, n);
  const E = la.matmuls(MLc, Array(R).fill(Mt), n);
  for (let r = 0; r < R; r++) for (let i = 0; i < n * n; i++) E[r][i] -= Lp[r][i];
  const WE = la.matmuls(Array(R).fill(W), E, n);
  const WEW = la.matmuls(WE, Array(R).fill(W), n);
  let value = 0;
  for (let r = 0; r < R; r++) value += dot(WEW[r], E[r]);
  const e = rowTimes(mc, Mt, n);
  for (let i = 0; i < n; i++) e[i] -= mp[i];
  const We = rowTimes(e, W, n);
  value += dot(e, We);
  return { value, residuals: WEW, mM: We, M };
}

/**
 * The objective and its Euclidean gradient at any n×n M (not only orthogonal ones) from whitened statistics: Lp, Lc
 * per relation, the means mp, mc and the weighting W (null: unweighted). For tests (gradient vs finite differences).
 */
export function objectiveAndGradient(
  M: Float64Array,
  s: { Lp: Float64Array[]; Lc: Float64Array[]; mp: Float64Array; mc: Float64Array; W: Float64Array | null },
  n: number,
  la: Linalg = jsLinalg,
): { value: number; gradient: Float64Array } {
  const p = {
    ...s,
    LpT: s.Lp.map((x) => transpose(x, n)),
    LcT: s.Lc.map((x) => transpose(x, n)),
  } as unknown as Problem;
  const ev = evaluate(M, p, n, la);
  return { value: ev.value, gradient: gradient(ev, p, n, la) };
}

/** ∂/∂M of the objective from an evaluation at M: Σ 2(R Lcᵀ − Lpᵀ R) − 2 mpᵀ(mc − mp M) (one batched call). */
function gradient(ev: Evaluation, p: Problem, n: number, la: Linalg): Float64Array {
  if (p.W) return gradientWeighted(ev, p, n, la);
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
 * ∂/∂M of the weighted objective from an evaluation at M: with G(r) = W E(r) W (symmetric W),
 * Σ_r 2(G(r) M Lc(r)ᵀ + G(r)ᵀ M Lc(r)) + 2 (W eᵀ) mc.
 */
function gradientWeighted(ev: Evaluation, p: Problem, n: number, la: Linalg): Float64Array {
  const { Lc, LcT, mc } = p;
  const R = Lc.length;
  const G = ev.residuals;
  const GM = la.matmuls([...G, ...G.map((x) => transpose(x, n))], Array(2 * R).fill(ev.M), n);
  const prods = la.matmuls(GM, [...LcT, ...Lc], n);
  const out = new Float64Array(n * n);
  for (const x of prods) for (let i = 0; i < out.length; i++) out[i] += 2 * x[i];
  const We = ev.mM;
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[i * n + j] += 2 * We[i] * mc[j];
  return out;
}

/**
 * S^{1/2} and S^{-1/2} of a symmetric positive definite matrix (eigenvalues floored at 1e-12 × the largest), and
 * S^{weight} scaled to mean eigenvalue 1 (the variance weighting; null for weight 0).
 */
function symmetricPowers(
  S: Float64Array,
  n: number,
  la: Linalg,
  weight = 0,
): { sqrt: Float64Array; invSqrt: Float64Array; weight: Float64Array | null } {
  const eig = la.symmetricEigen(S, n);
  const top = Math.max(...eig.values);
  if (!(top > 0)) throw new Error("statisticalAttack: a covariance is zero (constant images?)");
  const floor = (l: number) => Math.max(l, 1e-12 * top);
  let mean = 0;
  for (const l of eig.values) mean += floor(l) ** weight / n;
  return {
    sqrt: symmetricFunction(eig, n, (l) => Math.sqrt(floor(l))),
    invSqrt: symmetricFunction(eig, n, (l) => 1 / Math.sqrt(floor(l))),
    weight: weight === 0 ? null : symmetricFunction(eig, n, (l) => floor(l) ** weight / mean),
  };
}

/** What there is to match: the objective at M with nothing on the ciphertext side (Σ_r ‖W^½ L_p W^½‖² + μ_p W μ_pᵀ). */
function referenceSize(p: Problem, n: number, la: Linalg): number {
  if (!p.W) return p.Lp.reduce((a, L) => a + sumSquares(L), 0) + sumSquares(p.mp);
  const W = p.W;
  const WL = la.matmuls(Array(p.Lp.length).fill(W), p.Lp, n);
  const WLW = la.matmuls(WL, Array(p.Lp.length).fill(W), n);
  let value = 0;
  for (const [r, X] of WLW.entries()) value += dot(X, p.Lp[r]);
  return value + dot(p.mp, rowTimes(p.mp, W, n));
}

/**
 * The energy-weighted covariances of one channel as relations like the L(r): whitened (A·W·A), the identity part
 * removed, both sides scaled by √weight / ‖plaintext side‖.
 */
function energyRelations(
  energy: { cipher: EnergyMoments; plain: EnergyMoments; weight: number },
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

function checkEnergy(cipher: BlockMoments, energy: { cipher: EnergyMoments; plain: EnergyMoments }): void {
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

/** L with every singular value s replaced by max(s − tau, 0): L·g(LᵀL), g(λ) = max(√λ − tau, 0)/√λ. */
function shrinkSingularValues(L: Float64Array, tau: number, n: number, la: Linalg): Float64Array {
  const eig = la.symmetricEigen(la.matmuls([transpose(L, n)], [L], n)[0], n);
  const g = symmetricFunction(eig, n, (l) => {
    const s = Math.sqrt(Math.max(l, 0));
    return s > tau ? (s - tau) / s : 0;
  });
  return la.matmuls([L], [g], n)[0];
}

function dot(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * b[i];
  return s;
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

function rowTimes(v: Float64Array, M: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) out[j] += v[i] * M[i * n + j];
  return out;
}

function gaussian(rng: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - rng())) * Math.cos(2 * Math.PI * rng());
}
