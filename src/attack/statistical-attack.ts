/**
 * Ciphertext-only key recovery from block statistics: the eavesdropper holds ciphertexts only, plus public natural
 * images (any photos; other classes than the encrypted ones).
 *
 * Per channel the attack finds the orthogonal M that best matches the two sides' whitened statistics (objective.ts)
 * from several starts (starts.ts), each descended on the orthogonal group (descent.ts); the lowest wins, and
 *     K⁻¹ ≈ A_c Mᵀ Σ_p^{1/2},   K ≈ A_p M Σ_c^{1/2}.
 * Channels help each other (channels.ts): ties give one channel's estimate from another's exactly, and the
 * cross-channel covariances carry every channel's fit to every other. Failures are reported, never returned
 * silently (reliability.ts): each channel reports its mismatch against the reference's own noise floor, how many
 * independent routes reached its fit, and how differently its near-best fits decrypt (AMBIGUITY_DB); it is flagged
 * unreliable when any of these fails, or when its mismatch stays FAILURE_RATIO above the best channel's.
 * The estimate is exact when the plaintext statistics are; with statistics from other images the error sits in
 * directions where natural images have little variance, which is why decryption PSNR is high even when the key's
 * relative error is not small. A block-wise linear cipher leaks its key through the ciphertexts' correlations.
 */

import { transposeSquare as transpose } from "../core/linalg.ts";
import { mulberry32 } from "../core/rng.ts";
import { channelTies, couplingStart, type Tie, tiedStart } from "./channels.ts";
import { attackDefaults } from "./defaults.ts";
import { descend } from "./descent.ts";
import type { EnergyMoments } from "./energy-moments.ts";
import { jsLinalg, type Linalg } from "./linalg.ts";
import type { BlockMoments } from "./moments.ts";
import {
  type Candidate,
  checkCompatible,
  checkEnergy,
  evaluate,
  keyFactor,
  keyOf,
  type Problem,
  referenceSize,
  sumSquares,
  whitenedProblem,
} from "./objective.ts";
import {
  FLOOR_RATIO,
  independentRoutes,
  type NoiseFloor,
  noiseFloor,
  type Origin,
  scaledFloor,
  secondOrderMismatch,
} from "./reliability.ts";
import { type Descender, type StartSettings, searchStarts } from "./starts.ts";

export interface StatisticalAttackOptions {
  /** Random starts per channel (default: ATTACK_DEFAULTS for the block size). */
  restarts?: number;
  /** Objective evaluations per start's descent (default: ATTACK_DEFAULTS). */
  iterations?: number;
  /** Rounds of fresh starts for a channel failing or unconfirmed after the channel exchange (default: ATTACK_DEFAULTS). */
  retries?: number;
  /** Pair the start's eigenvectors by their signatures and try neighbour swaps (default: ATTACK_DEFAULTS). */
  refine?: boolean;
  /** Starts from joint diagonalisers of all the relations (default: ATTACK_DEFAULTS). */
  joint?: boolean;
  /** Seed of the starts (default 1). */
  seed?: number;
  /**
   * Called after every descent with the descents done and planned (each channel's starts and one exchange sweep; the
   * plan grows when retry rounds or more sweeps run): at k = 16 one descent takes seconds, the attack minutes.
   */
  onProgress?: (done: number, planned: number) => void;
  /**
   * The dense float64 products, eigendecompositions, inverses and polar factors of the search (default: the JS
   * loops, browser-safe); torch-linalg.ts does them with libtorch, which makes k = 16 practical.
   */
  linalg?: Linalg;
  /**
   * Energy-weighted covariances of both sides (energy-moments.ts: a second pass over the same images), matched as
   * extra relations next to the L(r), each whitened, its identity part removed and scaled to unit size.
   */
  energy?: { cipher: EnergyMoments; plain: EnergyMoments } | null;
  /**
   * The statistics of two disjoint halves of the reference images (together: `plain`): the noise floor each
   * channel's mismatch is tested against (reliability.ts). Without them that test cannot run, and every channel is
   * reported unreliable for want of it; attackStore always gives them.
   */
  plainHalves?: readonly [BlockMoments, BlockMoments];
}

/** Weight of the energy-weighted relations' squared residuals against the L(r)'s. */
export const ENERGY_WEIGHT = 1;
/** Joint-diagonaliser bases drawn per side and channel for one round of joint starts (at least `restarts`). */
export const JOINT_BASES = 16;
/**
 * When a channel counts as failed: its relative objective above this multiple of the best channel's (the channels
 * of one image set see the same kind of statistics, so a converged search reaches similar values in each).
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
/** The channel exchange stops after this many sweeps even if channels still gain (where one descent does not converge). */
const EXCHANGE_SWEEPS = 3;
/** A start counts as near-best when its objective is within this factor of the channel's best. */
const NEAR_BEST = 1.05;

export interface ChannelReport {
  /** The objective at the estimate (0 = the statistics match exactly). */
  loss: number;
  /** loss / (Σ_r ‖L_p(r)‖² + ‖μ_p A_p‖²): the share of the reference statistics left unmatched. */
  relativeLoss: number;
  /** The estimate's relative second-order mismatch: what the noise floor is compared with. */
  secondOrderMismatch: number;
  /**
   * The relative second-order mismatch two halves of the reference leave between each other, scaled to this
   * attack's sample sizes (reliability.ts); null when the halves were not given.
   */
  noiseFloor: number | null;
  /** Random starts run for this channel (first pass and retries). */
  starts: number;
  /** Where the estimate came from: its own search, or a candidate derived from another channel's fit. */
  solvedBy: Origin;
  /** A channel whose ciphertext this channel's ciphertext is a linear function of (greyscale stored as RGB), or null. */
  tiedTo: number | null;
  /**
   * Independent random starts (this channel's and, through a tie, the tied channels') whose fit came within 5% of
   * the estimate's: fewer than 2 means the best fit was found once and a better one may exist.
   */
  confirmations: number;
  /**
   * Other channels whose fit, carried over to this channel and descended, lands within 5% of this channel's, and
   * goes back to a search independent of this channel's fit (not the channel it was carried from, nor one that got
   * its fit from this one). The estimate counts as confirmed when two independent routes reach it.
   */
  agreeingChannels: number;
  /**
   * PSNR (dB) between the estimate's decryption and that of the most different near-best candidate (objective
   * within 5%), predicted from the statistics; Infinity when all near-best candidates agree.
   */
  agreementDb: number;
  /** False when any test failed: see `problems`. */
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
}

/** The attack's resolved settings for one run. */
interface Settings extends StartSettings {
  iterations: number;
  retries: number;
  la: Linalg;
}

function settingsFor(n: number, o: StatisticalAttackOptions): Settings {
  const d = attackDefaults(Math.round(Math.sqrt(n)));
  const restarts = o.restarts ?? d.restarts;
  return {
    restarts,
    iterations: o.iterations ?? d.iterations,
    retries: o.retries ?? d.retries,
    refine: o.refine ?? d.refine,
    joint: (o.joint ?? d.joint) && Math.max(JOINT_BASES, restarts),
    la: o.linalg ?? jsLinalg,
  };
}

export function statisticalAttack(
  cipher: BlockMoments,
  plain: BlockMoments,
  o: StatisticalAttackOptions = {},
): StatisticalAttackResult {
  checkCompatible(cipher, plain);
  if (o.energy) checkEnergy(cipher, o.energy);
  for (const h of o.plainHalves ?? []) checkCompatible(cipher, h);
  const search = new ChannelSearch(cipher, plain, settingsFor(cipher.n, o), o);
  search.firstPass();
  search.exchangeAndRetry();
  const floor = o.plainHalves ? noiseFloor(o.plainHalves, search.s.la) : null;
  return search.result(floor);
}

/** Per channel, the best candidate carried from each other channel and which best of that channel it came from. */
type Carried = Map<number, { from: number; value: number }>;

/** One attack's state: each channel's starts, best fit and report, and the fits carried between channels. */
class ChannelSearch {
  readonly n: number;
  readonly C: number;
  readonly problems: Problem[];
  readonly scale: number[];
  readonly own: Candidate[][] = [];
  readonly best: Candidate[] = [];
  readonly solvedBy: Origin[] = [];
  readonly starts: number[] = [];
  readonly ties: Tie[];
  readonly carried: Carried[];
  readonly coupled: boolean;
  readonly rng: () => number;
  readonly sweepDescents: number;
  done = 0;
  planned: number;
  readonly descender: Descender;

  constructor(
    readonly cipher: BlockMoments,
    readonly plain: BlockMoments,
    readonly s: Settings,
    readonly o: StatisticalAttackOptions,
  ) {
    this.n = cipher.n;
    this.C = cipher.channels;
    const energy = o.energy ? { ...o.energy, weight: ENERGY_WEIGHT } : null;
    this.problems = Array.from({ length: this.C }, (_, ch) => whitenedProblem(cipher, plain, ch, s.la, energy));
    this.scale = this.problems.map((p) => referenceSize(p));
    this.rng = mulberry32(o.seed ?? 1);
    this.ties = cipher.hasCross ? channelTies(cipher, s.la) : [];
    this.coupled = cipher.hasCross && plain.hasCross;
    this.carried = this.problems.map(() => new Map());
    this.sweepDescents = cipher.hasCross ? this.C * (this.C - 1) : 0;
    this.planned = this.C * s.restarts + this.sweepDescents;
    this.descender = (p, M0) => {
      const c = descend(p, this.n, M0, s.iterations, s.la);
      this.done++;
      this.planned = Math.max(this.planned, this.done);
      o.onProgress?.(this.done, this.planned);
      return c;
    };
  }

  /** Each channel's own random starts. */
  firstPass(): void {
    this.o.onProgress?.(0, this.planned);
    for (let ch = 0; ch < this.C; ch++) {
      this.own.push(searchStarts(this.problems[ch], this.n, this.s, this.rng, this.s.la, this.descender));
      this.best.push(lowest(this.own[ch]));
      this.solvedBy.push("search");
      this.starts.push(this.s.restarts);
    }
  }

  rel(ch: number): number {
    return this.best[ch].value / this.scale[ch];
  }

  /**
   * The independent search results that bear on channel j: its own starts and, through a tie, those of the tied
   * channels (the same problem up to the key), mapped into j's coordinates.
   */
  pool(j: number): Candidate[] {
    const out = [...this.own[j]];
    for (const t of this.ties)
      if (t.j === j)
        for (const c of this.own[t.i]) {
          const M = tiedStart(this.problems[t.i], this.problems[j], c.M, t.T, this.n, this.s.la);
          out.push({ M, value: evaluate(M, this.problems[j], this.n, this.s.la).value });
        }
    return out;
  }

  nearBest(j: number): Candidate[] {
    return this.pool(j).filter((c) => c.value <= this.best[j].value * NEAR_BEST + 1e-15);
  }

  /** Whether the fit of channel i that a carried candidate came from is still i's best, up to EXCHANGE_GAIN. */
  current(i: number, from: number): boolean {
    return from <= this.best[i].value * (1 + EXCHANGE_GAIN) + 1e-15;
  }

  /** Other channels whose current best fit, carried over, lands on j's (within NEAR_BEST). */
  agreeing(j: number): number[] {
    return [...this.carried[j]]
      .filter(([i, c]) => this.current(i, c.from) && c.value <= this.best[j].value * NEAR_BEST + 1e-15)
      .map(([i]) => i);
  }

  routes(j: number): { routes: number; channels: number } {
    const reaches = this.best.map((b, i) => this.own[i].some((c) => c.value <= b.value * NEAR_BEST + 1e-15));
    return independentRoutes(j, this.nearBest(j).length, this.agreeing(j), this.solvedBy, reaches);
  }

  /** Channels far above the best one, or whose best fit no second independent route reached. */
  failing(): number[] {
    const top = Math.min(...this.best.map((_, ch) => this.rel(ch)));
    return this.best
      .map((_, ch) => ch)
      .filter((ch) => this.rel(ch) > FAILURE_RATIO * top + 1e-12 || this.routes(ch).routes < 2);
  }

  /** The channel exchange, then fresh starts for failing channels, until none fails or the retries are spent. */
  exchangeAndRetry(): void {
    for (let round = 0; ; round++) {
      this.exchange();
      const bad = this.failing();
      if (bad.length === 0 || round >= this.s.retries) break;
      this.retry(bad);
    }
    // the plan may have counted exchange descents that were not needed: the bar ends full
    if (this.planned !== this.done) this.o.onProgress?.(this.done, this.done);
  }

  /**
   * Every channel tries candidates carried over from every other channel's best (the channels' relative objectives
   * differ even at the key, so "better" cannot be told from them alone); again while some channel gained more than
   * EXCHANGE_GAIN, at most EXCHANGE_SWEEPS times (where one descent does not converge, carrying fits back and forth
   * would go on descending for as long as it is allowed).
   */
  exchange(): void {
    for (let sweep = 0, changed = true; changed && sweep < EXCHANGE_SWEEPS; sweep++) {
      changed = false;
      const order = this.best.map((_, ch) => ch).sort((a, b) => this.rel(a) - this.rel(b));
      for (const j of order)
        for (const i of order) {
          const prev = this.carried[j].get(i);
          if (i === j || (prev && this.current(i, prev.from))) continue;
          changed = this.carry(i, j) || changed;
        }
    }
  }

  /** Carries channel i's best to channel j (tie and coupling), descended; whether j gained more than EXCHANGE_GAIN. */
  carry(i: number, j: number): boolean {
    const { n, problems, best } = this;
    const la = this.s.la;
    const tries: { M: Float64Array; how: "tie" | "coupling" }[] = [];
    const tie = this.ties.find((t) => t.i === i && t.j === j);
    if (tie) tries.push({ M: tiedStart(problems[i], problems[j], best[i].M, tie.T, n, la), how: "tie" });
    if (this.coupled)
      tries.push({ M: couplingStart(this.cipher, this.plain, problems, i, j, best[i].M, n, la), how: "coupling" });
    let gained = false;
    for (const t of tries) {
      const cand = this.descender(problems[j], t.M);
      const c = this.carried[j].get(i);
      if (!c || c.from > best[i].value || cand.value < c.value)
        this.carried[j].set(i, { from: best[i].value, value: cand.value });
      if (cand.value < best[j].value * (1 - 1e-9) - 1e-15) {
        if (cand.value < best[j].value * (1 - EXCHANGE_GAIN)) gained = true;
        best[j] = cand;
        this.solvedBy[j] = { fromChannel: i, how: t.how };
      }
    }
    return gained;
  }

  /** One round of fresh starts for the failing channels. */
  retry(bad: number[]): void {
    this.planned = this.done + bad.length * this.s.restarts + this.sweepDescents;
    for (const ch of bad) {
      const more = searchStarts(this.problems[ch], this.n, this.s, this.rng, this.s.la, this.descender);
      this.own[ch].push(...more);
      this.starts[ch] += this.s.restarts;
      const m = lowest(more);
      if (m.value < this.best[ch].value) {
        this.best[ch] = m;
        this.solvedBy[ch] = "retry";
      }
    }
  }

  /** The estimate and every channel's report. */
  result(floor: NoiseFloor | null): StatisticalAttackResult {
    const { n, C } = this;
    const key = new Float64Array(C * n * n);
    const inverse = new Float64Array(C * n * n);
    const reports: ChannelReport[] = [];
    for (let ch = 0; ch < C; ch++) {
      reports.push(this.report(ch, floor));
      const { K, KInv } = keyOf(this.problems[ch], this.best[ch].M, n, this.s.la);
      key.set(K, ch * n * n);
      inverse.set(KInv, ch * n * n);
    }
    return {
      blockSize: this.cipher.blockSize,
      channels: C,
      key,
      inverse,
      loss: reports.map((r) => r.loss),
      channelReports: reports,
      reliable: reports.every((r) => r.reliable),
    };
  }

  /** One channel's report: its numbers, and each test it failed in plain language. */
  report(ch: number, floor: NoiseFloor | null): ChannelReport {
    const { n, problems } = this;
    const near = this.nearBest(ch);
    const routes = this.routes(ch);
    const second = secondOrderMismatch(problems[ch], this.best[ch].M, n, this.s.la);
    const r: ChannelReport = {
      loss: this.best[ch].value,
      relativeLoss: this.rel(ch),
      secondOrderMismatch: second,
      noiseFloor: floor && scaledFloor(floor, ch, this.cipher.count[ch][0], this.plain.count[ch][0]),
      starts: this.starts[ch],
      solvedBy: this.solvedBy[ch],
      tiedTo: this.ties.find((t) => t.j === ch)?.i ?? null,
      confirmations: near.length,
      agreeingChannels: routes.channels,
      agreementDb: agreement(near, this.best[ch], problems[ch].sp.sqrt, n, this.s.la),
      reliable: true,
      problems: [],
    };
    r.problems = channelProblems(r, Math.min(...this.best.map((_, c) => this.rel(c))), routes.routes);
    r.reliable = r.problems.length === 0;
    return r;
  }
}

/** The tests a channel report failed, in plain language (empty: reliable). */
function channelProblems(r: ChannelReport, top: number, routes: number): string[] {
  const out: string[] = [];
  if (r.noiseFloor === null)
    out.push("no noise floor (the reference's halves were not given): the estimate's mismatch was not tested");
  else if (r.secondOrderMismatch > FLOOR_RATIO * r.noiseFloor)
    out.push(
      `its statistics mismatch (${r.secondOrderMismatch.toExponential(2)}) is ` +
        `${(r.secondOrderMismatch / r.noiseFloor).toFixed(1)}× what two halves of the reference differ by ` +
        `(${r.noiseFloor.toExponential(2)}, at these sample sizes): the search missed the key's basin`,
    );
  if (r.relativeLoss > FAILURE_RATIO * top + 1e-12)
    out.push(
      `its statistics mismatch (${r.relativeLoss.toExponential(2)}) stayed ${(r.relativeLoss / top).toFixed(1)}× ` +
        `the best channel's after ${r.starts} starts: the search did not converge`,
    );
  if (routes < 2)
    out.push(
      `no second independent start (of ${r.starts}${r.tiedTo === null ? "" : " and the tied channels'"}) or ` +
        "other channel's own fit reached its best fit: a better one may exist",
    );
  if (r.agreementDb < AMBIGUITY_DB)
    out.push(
      `equally good fits decrypt differently (${r.agreementDb.toFixed(1)} dB apart): the statistics do not pin ` +
        "the key down",
    );
  return out;
}

/**
 * Diagnosis with the true key (measurement only): per channel, the attack's objective at the key's own orthogonal
 * factor M = polar(Σ_p^{1/2} K Σ_c^{-1/2}), and the key estimate that basin gives (what a perfect search returns
 * from these statistics). An attack that stops above this loss is limited by its search, one that reaches it by the
 * statistics. With `descendSteps` > 0, that many evaluations of descent from the key's M first.
 */
export function attackObjectiveAtKey(
  cipher: BlockMoments,
  plain: BlockMoments,
  trueKey: Float64Array,
  la: Linalg = jsLinalg,
  descendSteps = 0,
): { loss: number[]; key: Float64Array } {
  checkCompatible(cipher, plain);
  const n = cipher.n;
  if (trueKey.length !== cipher.channels * n * n)
    throw new Error(`attackObjectiveAtKey: key has ${trueKey.length} values, expected ${cipher.channels}×${n}×${n}`);
  const key = new Float64Array(trueKey.length);
  const loss: number[] = [];
  for (let ch = 0; ch < cipher.channels; ch++) {
    const p = whitenedProblem(cipher, plain, ch, la);
    const M0 = keyFactor(p, trueKey.slice(ch * n * n, (ch + 1) * n * n), n, la);
    const { M, value } =
      descendSteps > 0 ? descend(p, n, M0, descendSteps, la) : { M: M0, value: evaluate(M0, p, n, la).value };
    loss.push(value);
    key.set(keyOf(p, M, n, la).K, ch * n * n);
  }
  return { loss, key };
}

function lowest(cands: Candidate[]): Candidate {
  return cands.reduce((a, b) => (b.value < a.value ? b : a));
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
