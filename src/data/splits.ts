/**
 * Splits: seeded stratified train/val from a training set (the test set is only touched for the final number), class
 * subsets, and disjoint class splits for the pretraining-leak protocol (plain classes for pretraining, the others
 * encrypted).
 */
import { makeRng, permutation, shuffleInPlace } from "./rng.ts";

/** Stratified split of positions 0..n-1 by label: a `valFraction` share of every class goes to val. */
export function stratifiedSplit(
  labels: ArrayLike<number>,
  valFraction: number,
  seed: string | number = 0,
): { train: Int32Array; val: Int32Array } {
  if (!(valFraction >= 0 && valFraction < 1)) throw new Error(`val fraction ${valFraction} must be in [0, 1)`);
  const byClass = new Map<number, number[]>();
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i];
    if (!byClass.has(l)) byClass.set(l, []);
    byClass.get(l)!.push(i);
  }
  const train: number[] = [];
  const val: number[] = [];
  for (const l of [...byClass.keys()].sort((a, b) => a - b)) {
    const idx = byClass.get(l)!;
    shuffleInPlace(idx, makeRng(seed, 0x5711, l));
    const nv = Math.round(idx.length * valFraction);
    val.push(...idx.slice(0, nv));
    train.push(...idx.slice(nv));
  }
  return { train: Int32Array.from(train.sort((a, b) => a - b)), val: Int32Array.from(val.sort((a, b) => a - b)) };
}

/** Positions whose label is in `classes`. */
export function classSubset(labels: ArrayLike<number>, classes: Iterable<number>): Int32Array {
  const keep = new Set(classes);
  const out: number[] = [];
  for (let i = 0; i < labels.length; i++) if (keep.has(labels[i])) out.push(i);
  return Int32Array.from(out);
}

/**
 * Disjoint class split: a seeded choice of `nEncrypted` classes for the encrypted task, the rest for plain
 * pretraining. Both lists keep the input order.
 */
export function disjointClassSplit<T>(
  classes: readonly T[],
  nEncrypted: number,
  seed: string | number = 0,
): { encrypted: T[]; pretrain: T[] } {
  if (nEncrypted < 1 || nEncrypted >= classes.length)
    throw new Error(`cannot take ${nEncrypted} of ${classes.length} classes and leave some for pretraining`);
  const p = permutation(classes.length, seed, 0xc1a5);
  const chosen = new Set(Array.from(p.subarray(0, nEncrypted)));
  return {
    encrypted: classes.filter((_, i) => chosen.has(i)),
    pretrain: classes.filter((_, i) => !chosen.has(i)),
  };
}
