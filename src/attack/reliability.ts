/**
 * Whether a channel's estimate can be trusted, as calibrated tests rather than agreement alone:
 *  - the noise floor: two disjoint halves of the reference images are themselves "encrypted with the identity"; the
 *    second-order mismatch the search leaves between them (from the identity, descended like an estimate) is what
 *    natural-image statistics allow at that sample size. Scaled to the attack's sample sizes (sampling noise goes as
 *    1/count on each side), an estimate far above it did not find the key's basin, however well its channels agree;
 *  - independent routes: a fit counts as confirmed when two independent routes reach it (two random starts, or a
 *    start and another channel's own search carried over); a fit carried from another channel, or from a channel
 *    that got its fit from this one, is the same route again, not a confirmation.
 */
import { descend } from "./descent.ts";
import type { Linalg } from "./linalg.ts";
import type { BlockMoments } from "./moments.ts";
import { evaluate, keyFactor, type Problem, referenceSize, secondOrderPart, whitenedProblem } from "./objective.ts";

/**
 * An estimate whose second-order mismatch stays above this multiple of the scaled noise floor is flagged: the
 * encrypted images are other photos than the reference (other classes), so a good estimate sits above the pure
 * sampling floor, but a wrong basin sits an order of magnitude above it.
 */
export const FLOOR_RATIO = 4;

/** Objective evaluations of the floor's descent from the identity (it starts at the key: a short descent suffices). */
const FLOOR_ITERATIONS = 200;

/** Per channel: the relative second-order mismatch between two halves of the reference, and the halves' counts. */
export interface NoiseFloor {
  /** Relative mismatch (objective / what there is to match) between the halves, per channel. */
  relative: number[];
  /** Block pairs behind each half's relation-0 statistics, per channel. */
  counts: [number[], number[]];
}

/** The noise floor of a reference split into two disjoint halves (their statistics; see the module comment). */
export function noiseFloor(halves: readonly [BlockMoments, BlockMoments], la: Linalg): NoiseFloor {
  const [a, b] = halves;
  const n = a.n;
  const identity = new Float64Array(n * n);
  for (let i = 0; i < n; i++) identity[i * n + i] = 1;
  const relative = Array.from({ length: a.channels }, (_, ch) => {
    const p = whitenedProblem(a, b, ch, la);
    const { value } = descend(p, n, keyFactor(p, identity, n, la), FLOOR_ITERATIONS, la);
    return value / referenceSize(p);
  });
  const counts = (m: BlockMoments) => Array.from({ length: m.channels }, (_, ch) => m.count[ch][0]);
  return { relative, counts: [counts(a), counts(b)] };
}

/**
 * The floor for one channel at the attack's sample sizes: the halves' mismatch × (1/cipher + 1/plain) /
 * (1/half a + 1/half b), sampling noise going as one over the number of blocks on each side.
 */
export function scaledFloor(floor: NoiseFloor, ch: number, cipherCount: number, plainCount: number): number {
  const [a, b] = [floor.counts[0][ch], floor.counts[1][ch]];
  return (floor.relative[ch] * (1 / cipherCount + 1 / plainCount)) / (1 / a + 1 / b);
}

/** A channel estimate's relative second-order mismatch (what the floor measures), whatever else the search matched. */
export function secondOrderMismatch(p: Problem, M: Float64Array, n: number, la: Linalg): number {
  const q = secondOrderPart(p);
  return evaluate(M, q, n, la).value / referenceSize(q);
}

/** Where a channel's best fit came from: its own search, or a fit carried from another channel. */
export type Origin = "search" | "retry" | { fromChannel: number; how: "tie" | "coupling" };

/**
 * The channel whose own search a channel's fit goes back to (following carried fits; a cycle, which the exchange
 * cannot make since a carried fit must improve, ends at the channel itself).
 */
export function rootOf(solvedBy: readonly Origin[], ch: number): number {
  const seen = new Set<number>();
  let at = ch;
  for (let by = solvedBy[at]; typeof by !== "string" && !seen.has(at); by = solvedBy[at]) {
    seen.add(at);
    at = by.fromChannel;
  }
  return at;
}

/**
 * Independent routes to channel j's best fit: its own near-best starts (each a route), the best fit's own origin
 * when it was carried from another channel, and every other agreeing channel whose fit its own search reached or
 * that goes back to a different channel's search than j's (a fit carried from j, or from where j's came from, and
 * merely carried back is the same route again).
 */
export function independentRoutes(
  j: number,
  nearOwnStarts: number,
  agreeingChannels: readonly number[],
  solvedBy: readonly Origin[],
  ownSearchReaches: readonly boolean[],
): { routes: number; channels: number } {
  const root = rootOf(solvedBy, j);
  const independent = agreeingChannels.filter((i) => {
    const r = rootOf(solvedBy, i);
    return i !== root && (ownSearchReaches[i] || (r !== j && r !== root));
  });
  const carried = root !== j ? 1 : 0;
  return { routes: nearOwnStarts + carried + independent.length, channels: independent.length };
}
