/**
 * The ciphertext-only attack (src/cipher/statistical-attack.ts) on stores: block statistics of an encrypted store and
 * of a plain reference store (public photos: other classes, another dataset), and the key estimate. The passes run
 * on libtorch (torch-moments.ts): the same sums as the pure TypeScript accumulators, 4–17× faster at k = 8 and 16
 * (bench/attack-moments.ts).
 */

import type { ImageDims } from "../cipher/index.ts";
import {
  BlockMoments,
  defaultEnergy,
  EnergyMoments,
  type StatisticalAttackOptions,
  type StatisticalAttackResult,
  statisticalAttack,
} from "../cipher/index.ts";
import { DataError } from "./errors.ts";
import type { Store } from "./store.ts";
import { addBlockMoments, addEnergyMoments } from "./torch-moments.ts";

export interface StorePassOptions {
  limit?: number;
  onProgress?: (done: number, total: number) => void;
  /** Rearranges each batch before it is added (CHW float32 in, same size out), e.g. un-scrambling block positions. */
  transform?: (x: Float32Array, n: number) => Float32Array;
}

/** Block statistics of up to `limit` images of a store, read shard by shard (onProgress gets images done). */
export function storeBlockMoments(store: Store, blockSize: number, opts: StorePassOptions = {}): BlockMoments {
  const [, h, w] = store.shape;
  if (h % blockSize || w % blockSize)
    throw new DataError(
      `store ${store.dir}: ${h}×${w} images do not tile into ${blockSize}×${blockSize} blocks`,
      "SHAPE",
    );
  return storePass(store, new BlockMoments(blockSize, store.shape[0]), addBlockMoments, opts);
}

/** The energy-weighted covariances of the same images, a second pass after `first` (storeBlockMoments). */
export function storeEnergyMoments(store: Store, first: BlockMoments, opts: StorePassOptions = {}): EnergyMoments {
  return storePass(store, new EnergyMoments(first), addEnergyMoments, opts);
}

/**
 * The attack's energy-weighted statistics of both stores (a second pass after their block moments), or undefined
 * when not wanted: `energyRelations` asks for them (default defaultEnergy(k²)); `given` (already computed) wins.
 * `transform` applies to the encrypted store only.
 */
export function storeAttackEnergy(
  encrypted: Store,
  reference: Store,
  cm: BlockMoments,
  pm: BlockMoments,
  opts: {
    energyRelations?: boolean;
    given?: StatisticalAttackOptions["energy"];
    limit?: number;
    transform?: StorePassOptions["transform"];
    onProgress?: (what: string, done: number, total: number) => void;
  },
): StatisticalAttackOptions["energy"] {
  if (opts.given || !(opts.energyRelations ?? defaultEnergy(cm.n))) return opts.given;
  const progress = (what: string) => (d: number, t: number) => opts.onProgress?.(what, d, t);
  return {
    cipher: storeEnergyMoments(encrypted, cm, {
      limit: opts.limit,
      transform: opts.transform,
      onProgress: progress("ciphertext energy statistics"),
    }),
    plain: storeEnergyMoments(reference, pm, {
      limit: opts.limit,
      onProgress: progress("reference energy statistics"),
    }),
  };
}

/** Adds up to `limit` images of a store to an accumulator, batch by batch (`add`: the libtorch path, torch-moments.ts). */
function storePass<T>(
  store: Store,
  acc: T,
  add: (acc: T, x: Float32Array, dims: ImageDims) => T,
  opts: StorePassOptions,
): T {
  const [c, h, w] = store.shape;
  const total = Math.min(store.count, opts.limit ?? Number.POSITIVE_INFINITY);
  let done = 0;
  // 0 first, so that a progress reporter made on the first call starts its clock before the first batch
  opts.onProgress?.(0, total);
  for (const { x, n } of store.images({ limit: total })) {
    const batch = x.subarray(0, n * c * h * w);
    add(acc, opts.transform ? opts.transform(batch, n) : batch, { n, c, h, w, layout: "CHW" });
    done += n;
    opts.onProgress?.(done, total);
  }
  return acc;
}

/** The progress label of the attack's search (after the statistics passes). */
export const ATTACK_DESCENTS = "attack descents";

/**
 * Estimates the key of an encrypted store from its ciphertexts and a plain reference store's statistics; the result
 * carries both sides' statistics (for a later stage such as the audit's sparsity search).
 */
export function attackStore(
  encrypted: Store,
  reference: Store,
  opts: Omit<StatisticalAttackOptions, "onProgress"> & {
    limit?: number;
    /** Images read per statistics pass, then the attack's descents ("attack descents", done and planned). */
    onProgress?: (what: string, done: number, total: number) => void;
    /** Add the energy-weighted relations (a second pass over both stores; default: defaultEnergy(k²)). */
    energyRelations?: boolean;
  } = {},
): StatisticalAttackResult & { cipherStats: BlockMoments; plainStats: BlockMoments } {
  const key = encrypted.meta.key;
  if (!key) throw new DataError(`store ${encrypted.dir} is not encrypted: nothing to attack`, "NOT_ENCRYPTED");
  if (key.mode === "mod256")
    throw new DataError(
      `store ${encrypted.dir}: a mod256 key is linear only modulo 256; the statistical attack needs a real key`,
      "BAD_KEY_MODE",
    );
  if (reference.meta.key)
    throw new DataError(`reference store ${reference.dir} is encrypted; give a store of plain images`, "NOT_PLAIN");
  if (reference.shape[0] !== encrypted.shape[0])
    throw new DataError(
      `reference store ${reference.dir} has ${reference.shape[0]} channels, ${encrypted.dir} has ${encrypted.shape[0]}`,
      "SHAPE",
    );
  const k = key.blockSize;
  const cm = storeBlockMoments(encrypted, k, {
    limit: opts.limit,
    onProgress: (d, t) => opts.onProgress?.("ciphertext statistics", d, t),
  });
  const pm = storeBlockMoments(reference, k, {
    limit: opts.limit,
    onProgress: (d, t) => opts.onProgress?.("reference statistics", d, t),
  });
  const energy = storeAttackEnergy(encrypted, reference, cm, pm, { ...opts, given: opts.energy });
  const onProgress = (d: number, t: number) => opts.onProgress?.(ATTACK_DESCENTS, d, t);
  return { ...statisticalAttack(cm, pm, { ...opts, energy, onProgress }), cipherStats: cm, plainStats: pm };
}
