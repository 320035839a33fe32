/**
 * The ciphertext-only attack (src/cipher/statistical-attack.ts) on stores: block statistics of an encrypted store and
 * of a plain reference store (public photos: other classes, another dataset), and the key estimate.
 */
import {
  BlockMoments,
  type StatisticalAttackOptions,
  type StatisticalAttackResult,
  statisticalAttack,
} from "../cipher/index.ts";
import { DataError } from "./errors.ts";
import type { Store } from "./store.ts";

/** Block statistics of up to `limit` images of a store, read shard by shard (onProgress gets images done). */
export function storeBlockMoments(
  store: Store,
  blockSize: number,
  opts: { limit?: number; onProgress?: (done: number, total: number) => void } = {},
): BlockMoments {
  const [c, h, w] = store.shape;
  if (h % blockSize || w % blockSize)
    throw new DataError(
      `store ${store.dir}: ${h}×${w} images do not tile into ${blockSize}×${blockSize} blocks`,
      "SHAPE",
    );
  const total = Math.min(store.count, opts.limit ?? Number.POSITIVE_INFINITY);
  const m = new BlockMoments(blockSize, c);
  let done = 0;
  for (const { x, n } of store.images({ limit: total })) {
    m.add(x, { n, c, h, w, layout: "CHW" });
    done += n;
    opts.onProgress?.(done, total);
  }
  return m;
}

/**
 * Estimates the key of an encrypted store from its ciphertexts and a plain reference store's statistics; the result
 * carries both sides' statistics (for a later stage such as the audit's sparsity search).
 */
export function attackStore(
  encrypted: Store,
  reference: Store,
  opts: StatisticalAttackOptions & {
    limit?: number;
    onProgress?: (what: string, done: number, total: number) => void;
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
  return { ...statisticalAttack(cm, pm, opts), cipherStats: cm, plainStats: pm };
}
