/** Small seeded PRNG (mulberry32) and helpers. Deterministic across platforms; not for secrets. */
import { mulberry32 } from "../core/rng.ts";

/** Hashes a string or number seed to a 32-bit unsigned integer (FNV-1a over the decimal/text form). */
export function seedToU32(seed: string | number): number {
  const s = typeof seed === "number" ? `n:${seed}` : `s:${seed}`;
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Returns a function yielding floats in [0, 1). */
export function makeRng(seed: string | number, ...streams: number[]): () => number {
  let a = seedToU32(seed);
  for (const s of streams) a = (Math.imul(a ^ (s >>> 0), 0x9e3779b1) + 0x6d2b79f5) >>> 0;
  return mulberry32(a);
}

/** Integer in [0, n). */
export function randInt(rng: () => number, n: number): number {
  return Math.floor(rng() * n);
}

/** In-place Fisher–Yates shuffle. */
export function shuffleInPlace<T extends { length: number; [i: number]: any }>(arr: T, rng: () => number): T {
  for (let i = arr.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    const t = arr[i];
    arr[i] = arr[j];
    arr[j] = t;
  }
  return arr;
}

/** A seeded permutation of 0..n-1. */
export function permutation(n: number, seed: string | number, ...streams: number[]): Int32Array {
  const p = new Int32Array(n);
  for (let i = 0; i < n; i++) p[i] = i;
  return shuffleInPlace(p, makeRng(seed, ...streams));
}
