/**
 * Per-channel normalisation (x - mean) / std. The study normalised ciphertexts with ImageNet's mean/std (which do not
 * describe ciphertexts: those are zero-mean-ish with a key-dependent spread); "store" uses the per-channel statistics
 * computed while the store was written.
 */
import type { StoreMeta } from "./store.ts";

export type NormalizeMode = "imagenet" | "store" | "none";
export const NORMALIZE_MODES: readonly NormalizeMode[] = ["imagenet", "store", "none"];

export const IMAGENET_MEAN = [0.485, 0.456, 0.406];
export const IMAGENET_STD = [0.229, 0.224, 0.225];

export interface Normalization {
  mean: number[];
  std: number[];
}

export function normalizationFor(mode: NormalizeMode, meta: Pick<StoreMeta, "stats" | "shape">): Normalization | null {
  const c = meta.shape[0];
  if (mode === "none") return null;
  if (mode === "imagenet") {
    if (c !== 3) throw new Error(`ImageNet normalisation needs 3 channels, store has ${c}`);
    return { mean: IMAGENET_MEAN, std: IMAGENET_STD };
  }
  if (!meta.stats) throw new Error("store has no statistics (empty store?)");
  return { mean: meta.stats.mean, std: meta.stats.std.map((s) => (s > 0 ? s : 1)) };
}

/** In place on N×C×H×W. */
export function normalizeInPlace(x: Float32Array, n: number, c: number, hw: number, norm: Normalization): void {
  for (let i = 0; i < n; i++) {
    for (let ch = 0; ch < c; ch++) {
      const m = norm.mean[ch];
      const inv = 1 / norm.std[ch];
      const off = (i * c + ch) * hw;
      for (let j = 0; j < hw; j++) x[off + j] = (x[off + j] - m) * inv;
    }
  }
}
