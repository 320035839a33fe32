// Labels of a store without reading its images.
import type { Store } from "../data/index.ts";

/** Every label of `store`, in store order (Store.readLabels refuses one outside meta.json's classes, naming the shard). */
export function storeLabels(store: Store): Int32Array {
  const out = new Int32Array(store.count);
  let off = 0;
  for (let i = 0; i < store.meta.shards.length; i++) {
    const y = store.readLabels(i);
    out.set(y, off);
    off += y.length;
  }
  return out;
}
