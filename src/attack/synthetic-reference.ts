/**
 * The attack's reference from no outside data: seeded dead-leaves images (data/synthetic-images.ts) in place of
 * public photos, their few parameters fitted to what the ciphertexts reveal without the key.
 *
 * What the cipher leaves unchanged: whitening turns each channel's key into an orthogonal M with
 * L_c(r) = Mᵀ L_p(r) M (objective.ts), so the singular values of every whitened neighbour relation L(r) (the
 * canonical correlations between a block and its neighbour), the eigenvalues of its symmetric part, and the singular
 * values of the whitened cross-channel covariances A_i C_ij A_j (M_iᵀ · M_j) are the same for ciphertexts and their
 * plaintexts. The fit picks, one parameter at a time over a small grid, the model whose synthetic images' invariants
 * come closest to the ciphertexts'; the attack then matches the full statistics of many images of that model.
 */
import { transposeSquare as transpose } from "../core/linalg.ts";
import { Store } from "../data/index.ts";
import { DEAD_LEAVES_DEFAULT, type DeadLeavesModel, SyntheticImages } from "../data/synthetic-images.ts";
import { applyBlockwise64 } from "./known-plaintext.ts";
import type { Linalg } from "./linalg.ts";
import { BlockMoments, NEIGHBOUR_OFFSETS } from "./moments.ts";
import { whitenedProblem } from "./objective.ts";
import { addBlockMoments } from "./torch-moments.ts";

/** The name users give for it (`--reference synthetic`). */
export const SYNTHETIC_REFERENCE = "synthetic";

/** A request for a synthetic reference: images drawn, their seed, and the model (fitted to the ciphertexts if absent). */
export interface SyntheticReference {
  synthetic: true;
  /** Images whose statistics the attack uses (default SYNTHETIC_IMAGES). */
  count?: number;
  seed?: number;
  /** Use these parameters as they are instead of fitting them. */
  model?: DeadLeavesModel;
}

/** Synthetic images the attack's statistics take by default: the sampling noise well below the model's error. */
export const SYNTHETIC_IMAGES = 20_000;
/** Images per candidate model during the fit (the same seed for every candidate, so their differences are the model's). */
export const FIT_IMAGES = 600;

/** The grids the fit searches, one parameter at a time in this order, from DEAD_LEAVES_DEFAULT. */
export const FIT_GRID: readonly { field: keyof DeadLeavesModel; values: readonly number[] }[] = [
  { field: "rectangles", values: [0, 0.25, 0.5, 0.75] },
  { field: "blur", values: [0.3, 0.4, 0.5, 0.6, 0.7] },
  { field: "sizeExponent", values: [2.25, 2.5, 2.75, 3] },
  { field: "colourSpread", values: [0.005, 0.01, 0.02, 0.04] },
  { field: "noise", values: [0, 0.005] },
];

export function isSyntheticReference(r: unknown): r is SyntheticReference {
  return typeof r === "object" && r !== null && (r as SyntheticReference).synthetic === true;
}

/** Sorted descending singular values of an n×n matrix (square roots of AᵀA's eigenvalues). */
function singularValues(a: Float64Array, n: number, la: Linalg): number[] {
  const [ata] = la.matmuls([transpose(a, n)], [a], n);
  return Array.from(la.symmetricEigen(ata, n).values, (v) => Math.sqrt(Math.max(0, v))).sort((x, y) => y - x);
}

/** Sorted descending eigenvalues of (A + Aᵀ)/2. */
function symmetricEigenvalues(a: Float64Array, n: number, la: Linalg): number[] {
  const at = transpose(a, n);
  const s = a.map((v, i) => (v + at[i]) / 2);
  return Array.from(la.symmetricEigen(s, n).values).sort((x, y) => y - x);
}

/**
 * The key-invariant spectra of one side's statistics (see the module comment), as one flat list: per channel and
 * neighbour relation the singular values and symmetric-part eigenvalues of L(r), then per channel pair the singular
 * values of the whitened cross-covariance (when both sides have cross-channel sums).
 */
export function cipherInvariants(m: BlockMoments, la: Linalg, cross = m.hasCross): number[] {
  const n = m.n;
  const out: number[] = [];
  const whiten: Float64Array[] = [];
  for (let ch = 0; ch < m.channels; ch++) {
    // the problem of m against itself: its Lp are m's whitened relations
    const p = whitenedProblem(m, m, ch, la);
    whiten.push(p.sp.invSqrt);
    for (let r = 0; r < NEIGHBOUR_OFFSETS.length - 1; r++)
      out.push(...singularValues(p.Lp[r], n, la), ...symmetricEigenvalues(p.Lp[r], n, la));
  }
  if (cross)
    for (let i = 0; i < m.channels; i++)
      for (let j = i + 1; j < m.channels; j++) {
        const [half] = la.matmuls([whiten[i]], [m.crossCovariance(i, j)], n);
        const [L] = la.matmuls([half], [whiten[j]], n);
        out.push(...singularValues(L, n, la));
      }
  return out;
}

/** Squared distance between two invariant lists. */
function distance(a: readonly number[], b: readonly number[]): number {
  if (a.length !== b.length) throw new Error(`synthetic reference: ${a.length} invariants against ${b.length}`);
  return a.reduce((s, v, i) => s + (v - b[i]) ** 2, 0);
}

/** Block statistics of `count` images of a model (seed 1). */
function modelMoments(model: DeadLeavesModel, shape: [number, number, number], k: number, count: number): BlockMoments {
  const acc = new BlockMoments(k, shape[0]);
  for (const { x, n } of new SyntheticImages(shape, count, model, 1).images())
    addBlockMoments(acc, x, { n, c: shape[0], h: shape[1], w: shape[2], layout: "CHW" });
  return acc;
}

/** The fitted model and how far its invariants stayed from the ciphertexts' (squared distance), and the default's. */
export interface DeadLeavesFit {
  model: DeadLeavesModel;
  distance: number;
  defaultDistance: number;
}

/**
 * Fits the dead-leaves parameters to ciphertext statistics by their key-invariant spectra: FIT_GRID's parameters one
 * at a time, each set to its grid value nearest the ciphertexts', from DEAD_LEAVES_DEFAULT.
 */
export function fitDeadLeaves(
  cipher: BlockMoments,
  shape: [number, number, number],
  la: Linalg,
  opts: { images?: number; onProgress?: (done: number, total: number) => void } = {},
): DeadLeavesFit {
  const target = cipherInvariants(cipher, la);
  const score = (m: DeadLeavesModel) =>
    distance(
      target,
      cipherInvariants(modelMoments(m, shape, cipher.blockSize, opts.images ?? FIT_IMAGES), la, cipher.hasCross),
    );
  let model = { ...DEAD_LEAVES_DEFAULT };
  const defaultDistance = score(model);
  let best = defaultDistance;
  const total = FIT_GRID.reduce((s, g) => s + g.values.length, 0);
  let done = 0;
  for (const { field, values } of FIT_GRID)
    for (const v of values) {
      opts.onProgress?.(done++, total);
      if (v === model[field]) continue;
      const candidate = { ...model, [field]: v };
      const d = score(candidate);
      if (d < best) [model, best] = [candidate, d];
    }
  opts.onProgress?.(total, total);
  return { model, distance: best, defaultDistance };
}

/** The reference a user named: SYNTHETIC_REFERENCE for synthetic images, anything else a store of plain photos. */
export function openReference(spec: string): Store | SyntheticReference {
  return spec === SYNTHETIC_REFERENCE ? { synthetic: true } : Store.open(spec);
}

/** The lines reporting a synthetic reference's model and fit (nothing for a store of photos). */
export function syntheticLines(
  s: { model: DeadLeavesModel; fit: DeadLeavesFit | null; scales: number[] } | null,
): string[] {
  if (!s) return [];
  const params = Object.entries(s.model)
    .map(([k, v]) => `${k} ${v}`)
    .join(", ");
  const fit = s.fit
    ? `fitted to the ciphertexts' key-invariant spectra (distance ${s.fit.distance.toExponential(2)}, ` +
      `default ${s.fit.defaultDistance.toExponential(2)})`
    : "as given";
  const scales = s.scales.map((v) => v.toFixed(3)).join(", ");
  return [
    `reference: synthetic dead-leaves images, ${fit}: ${params}`,
    `  decryptions scaled into [0, 1] per channel by ${scales} (their ${100 * RANGE_QUANTILE}th percentile at 1)`,
  ];
}

/**
 * The share of a channel's decrypted pixels that may lie above the plaintext domain's top (1): photos clip their
 * highlights, so at least this share of their pixels sits at full white.
 */
export const RANGE_QUANTILE = 0.99;
/** Ciphertexts decrypted to place the range (spread over the store). */
export const RANGE_IMAGES = 2000;

/**
 * Per-channel scales that put the RANGE_QUANTILE quantile of the estimate's decryptions at 1. The synthetic model
 * fixes the decryptions' contrast (their covariance is the model's), which nothing key-invariant reveals; the plaintext
 * domain [0, 1] does: multiplying the estimated K⁻¹ of channel ch by scale[ch] (and K by its inverse) fills it.
 * `decrypted` holds C×H×W images (n of them).
 */
export function rangeScales(decrypted: Float64Array, n: number, c: number, plane: number): number[] {
  return Array.from({ length: c }, (_, ch) => {
    const v = new Float64Array(n * plane);
    for (let i = 0; i < n; i++) v.set(decrypted.subarray((i * c + ch) * plane, (i * c + ch + 1) * plane), i * plane);
    v.sort();
    const q = v[Math.min(v.length - 1, Math.floor(RANGE_QUANTILE * v.length))];
    if (!(q > 0)) throw new Error(`synthetic reference: channel ${ch}'s decryptions have no positive range (${q})`);
    return 1 / q;
  });
}

/** The key estimate with each channel's K⁻¹ multiplied by scale[ch] (and K divided by it). */
export function scaleEstimate(
  est: { key: Float64Array; inverse: Float64Array },
  scales: readonly number[],
): { key: Float64Array; inverse: Float64Array } {
  const per = est.key.length / scales.length;
  return {
    key: est.key.map((v, i) => v / scales[Math.floor(i / per)]),
    inverse: est.inverse.map((v, i) => v * scales[Math.floor(i / per)]),
  };
}

/** rangeScales of the decryptions of up to RANGE_IMAGES ciphertexts of `cipher` (C×H×W, k×k blocks) by `inverse`. */
export function cipherRangeScales(
  cipher: Float32Array,
  n: number,
  shape: [number, number, number],
  inverse: Float64Array,
  blockSize: number,
): number[] {
  const [c, h, w] = shape;
  const decrypted = applyBlockwise64(cipher, { n, c, h, w, layout: "CHW" }, inverse, blockSize);
  return rangeScales(decrypted, n, c, h * w);
}
