/**
 * The ciphertext-only attack on stores, the one pipeline every caller takes (`ercnn attack`, `ercnn audit`,
 * `--adapt-init attack`, the demo): block statistics of an encrypted store and of a plain reference store (public
 * photos: other classes, another dataset), the reference in two halves for the noise floor the estimate is tested
 * against, the energy-weighted relations where ATTACK_DEFAULTS asks for them, the search on libtorch, and the key
 * estimate. The passes run on libtorch (torch-moments.ts): the same sums as the pure TypeScript accumulators, 4–17×
 * faster at k = 8 and 16 (bench/attack-moments.ts).
 */

import type { ImageDims } from "../cipher/index.ts";
import { DataError, type Store } from "../data/index.ts";
import { SyntheticImages } from "../data/synthetic-images.ts";
import { attackDefaults } from "./defaults.ts";
import { EnergyMoments } from "./energy-moments.ts";
import { BlockMoments } from "./moments.ts";
import {
  type StatisticalAttackOptions,
  type StatisticalAttackResult,
  statisticalAttack,
} from "./statistical-attack.ts";
import {
  cipherRangeScales,
  type DeadLeavesFit,
  fitDeadLeaves,
  isSyntheticReference,
  RANGE_IMAGES,
  SYNTHETIC_IMAGES,
  type SyntheticReference,
  scaleEstimate,
} from "./synthetic-reference.ts";
import { attackLinalg } from "./torch-linalg.ts";
import { addBlockMoments, addEnergyMoments } from "./torch-moments.ts";

/**
 * What the statistics passes read: a store, or any source of plain images batched like one (SyntheticImages).
 * `dir` names it in errors.
 */
export interface ImageSource {
  readonly dir: string;
  readonly shape: [number, number, number];
  readonly count: number;
  readonly meta: { readonly key?: unknown };
  images(o?: { limit?: number }): Iterable<{ x: Float32Array; n: number }>;
}

export interface StorePassOptions {
  limit?: number;
  onProgress?: (done: number, total: number) => void;
  /** Rearranges each batch before it is added (CHW float32 in, same size out), e.g. un-scrambling block positions. */
  transform?: (x: Float32Array, n: number) => Float32Array;
}

/** Block statistics of up to `limit` images of a store, read shard by shard (onProgress gets images done). */
export function storeBlockMoments(store: ImageSource, blockSize: number, opts: StorePassOptions = {}): BlockMoments {
  checkTiles(store, blockSize);
  const acc = new BlockMoments(blockSize, store.shape[0]);
  storePass(store, opts, (x, dims) => addBlockMoments(acc, x, dims));
  return acc;
}

/**
 * Block statistics of up to `limit` images of a store in two disjoint halves (the first and second half of every
 * batch), and their sum: the halves give the attack's noise floor (reliability.ts), the sum its reference.
 */
export function storeBlockMomentsHalves(
  store: ImageSource,
  blockSize: number,
  opts: StorePassOptions = {},
): { all: BlockMoments; halves: [BlockMoments, BlockMoments] } {
  checkTiles(store, blockSize);
  const C = store.shape[0];
  const halves: [BlockMoments, BlockMoments] = [new BlockMoments(blockSize, C), new BlockMoments(blockSize, C)];
  const per = store.shape[0] * store.shape[1] * store.shape[2];
  storePass(store, opts, (x, dims) => {
    const n = dims.n ?? 1;
    const first = Math.ceil(n / 2);
    addBlockMoments(halves[0], x.subarray(0, first * per), { ...dims, n: first });
    if (n > first) addBlockMoments(halves[1], x.subarray(first * per, n * per), { ...dims, n: n - first });
  });
  const all = new BlockMoments(blockSize, C).merge(halves[0]).merge(halves[1]);
  return { all, halves };
}

/** The energy-weighted covariances of the same images, a second pass after `first` (storeBlockMoments). */
export function storeEnergyMoments(
  store: ImageSource,
  first: BlockMoments,
  opts: StorePassOptions = {},
): EnergyMoments {
  const acc = new EnergyMoments(first);
  storePass(store, opts, (x, dims) => addEnergyMoments(acc, x, dims));
  return acc;
}

function checkTiles(store: ImageSource, blockSize: number): void {
  const [, h, w] = store.shape;
  if (h % blockSize || w % blockSize)
    throw new DataError(
      `store ${store.dir}: ${h}×${w} images do not tile into ${blockSize}×${blockSize} blocks`,
      "SHAPE",
    );
}

/** Hands up to `limit` images of a store to `add`, batch by batch (transformed first when asked). */
function storePass(
  store: ImageSource,
  opts: StorePassOptions,
  add: (x: Float32Array, dims: ImageDims) => unknown,
): void {
  const [c, h, w] = store.shape;
  const total = Math.min(store.count, opts.limit ?? Number.POSITIVE_INFINITY);
  let done = 0;
  // 0 first, so that a progress reporter made on the first call starts its clock before the first batch
  opts.onProgress?.(0, total);
  for (const { x, n } of store.images({ limit: total })) {
    const batch = x.subarray(0, n * c * h * w);
    add(opts.transform ? opts.transform(batch, n) : batch, { n, c, h, w, layout: "CHW" });
    done += n;
    opts.onProgress?.(done, total);
  }
}

/** The progress label of the attack's search (after the statistics passes). */
export const ATTACK_DESCENTS = "attack descents";

/** Options of attackStore: the search's (defaults from ATTACK_DEFAULTS), the images read and the progress. */
export interface AttackStoreOptions
  extends Pick<StatisticalAttackOptions, "restarts" | "iterations" | "retries" | "refine" | "joint" | "seed"> {
  /** Images read from each store (default: all). */
  limit?: number;
  /** Add the energy-weighted relations (a second pass over both stores; default: ATTACK_DEFAULTS). */
  energy?: boolean;
  /** Rearranges each encrypted batch before its statistics are taken (the jigsaw's un-scrambling, for one). */
  transform?: StorePassOptions["transform"];
  /** Images read per statistics pass, then the attack's descents (ATTACK_DESCENTS, done and planned). */
  onProgress?: (what: string, done: number, total: number) => void;
}

export interface AttackStoreResult extends StatisticalAttackResult {
  /** Images whose statistics each side used. */
  images: { cipher: number; reference: number };
  /** Whether the energy-weighted relations were matched too. */
  energy: boolean;
  /**
   * With a synthetic reference: its model, the fit's distances where it was fitted (null otherwise), and the
   * per-channel scales that placed the decryptions in [0, 1] (synthetic-reference.ts, rangeScales).
   */
  synthetic: { model: SyntheticImages["model"]; fit: DeadLeavesFit | null; scales: number[] } | null;
}

/** Refuses an encrypted store the attack cannot run on, naming it and the problem; its block size. */
function checkEncrypted(encrypted: Store): number {
  const key = encrypted.meta.key;
  if (!key) throw new DataError(`store ${encrypted.dir} is not encrypted: nothing to attack`, "NOT_ENCRYPTED");
  if (key.mode === "mod256")
    throw new DataError(
      `store ${encrypted.dir}: a mod256 key is linear only modulo 256; the statistical attack needs a real key`,
      "BAD_KEY_MODE",
    );
  return key.blockSize;
}

/** Refuses a reference the attack cannot compare with the encrypted store, naming it and the problem. */
function checkReference(encrypted: Store, reference: ImageSource): void {
  if (reference.meta.key)
    throw new DataError(`reference store ${reference.dir} is encrypted; give a store of plain images`, "NOT_PLAIN");
  if (reference.shape[0] !== encrypted.shape[0])
    throw new DataError(
      `reference store ${reference.dir} has ${reference.shape[0]} channels, ${encrypted.dir} has ${encrypted.shape[0]}`,
      "SHAPE",
    );
}

/**
 * Estimates the key of an encrypted store from its ciphertexts and a plain reference store's statistics, with the
 * defaults of ATTACK_DEFAULTS for its block size and the linear algebra on libtorch.
 */
export function attackStore(
  encrypted: Store,
  referenceOrSynthetic: ImageSource | SyntheticReference,
  opts: AttackStoreOptions = {},
): AttackStoreResult {
  const synthetic = isSyntheticReference(referenceOrSynthetic);
  const k = checkEncrypted(encrypted);
  if (!synthetic) checkReference(encrypted, referenceOrSynthetic);
  const { limit, transform } = opts;
  const progress = (what: string) => (d: number, t: number) => opts.onProgress?.(what, d, t);
  const cm = storeBlockMoments(encrypted, k, { limit, transform, onProgress: progress("ciphertext statistics") });
  const made = synthetic
    ? syntheticSource(referenceOrSynthetic, encrypted.shape, cm, progress("synthetic model fit"))
    : null;
  const reference = made?.source ?? (referenceOrSynthetic as ImageSource);
  const pm = storeBlockMomentsHalves(reference, k, { limit, onProgress: progress("reference statistics") });
  const useEnergy = opts.energy ?? attackDefaults(k).energy;
  const energy = useEnergy
    ? {
        cipher: storeEnergyMoments(encrypted, cm, {
          limit,
          transform,
          onProgress: progress("ciphertext energy statistics"),
        }),
        plain: storeEnergyMoments(reference, pm.all, { limit, onProgress: progress("reference energy statistics") }),
      }
    : null;
  const r = statisticalAttack(cm, pm.all, {
    restarts: opts.restarts,
    iterations: opts.iterations,
    retries: opts.retries,
    refine: opts.refine,
    joint: opts.joint,
    seed: opts.seed,
    linalg: attackLinalg,
    energy,
    plainHalves: pm.halves,
    onProgress: progress(ATTACK_DESCENTS),
  });
  const images = {
    cipher: Math.min(encrypted.count, limit ?? Infinity),
    reference: Math.min(reference.count, limit ?? Infinity),
  };
  if (!made) return { ...r, images, energy: useEnergy, synthetic: null };
  const scales = storeRangeScales(encrypted, r.inverse, k, transform);
  const report = { model: made.source.model, fit: made.fit, scales };
  return { ...r, ...scaleEstimate(r, scales), images, energy: useEnergy, synthetic: report };
}

/** cipherRangeScales on up to RANGE_IMAGES ciphertexts spread over the store (transformed as the attack saw them). */
function storeRangeScales(
  encrypted: Store,
  inverse: Float64Array,
  k: number,
  transform: StorePassOptions["transform"],
): number[] {
  const n = Math.min(RANGE_IMAGES, encrypted.count);
  const positions = Array.from({ length: n }, (_, i) => Math.floor((i * encrypted.count) / n));
  const x = encrypted.readPositions(positions);
  return cipherRangeScales(transform ? transform(x, n) : x, n, encrypted.shape, inverse, k);
}

/** The synthetic reference's images: its model as given, or fitted to the ciphertext statistics `cm`. */
function syntheticSource(
  ref: SyntheticReference,
  shape: [number, number, number],
  cm: BlockMoments,
  onProgress: (done: number, total: number) => void,
): { source: SyntheticImages; fit: DeadLeavesFit | null } {
  const fit = ref.model ? null : fitDeadLeaves(cm, shape, attackLinalg, { onProgress });
  const model = ref.model ?? fit!.model;
  return { source: new SyntheticImages(shape, ref.count ?? SYNTHETIC_IMAGES, model, ref.seed ?? 1), fit };
}
