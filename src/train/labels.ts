// Labels of a store without reading its images.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { readNpy } from "../core/npy.ts";
import type { Store } from "../data/index.ts";

/**
 * Every label of `store`, in store order. Each must be a class index in [0, classes) of meta.json's "classes": a label
 * outside it would reach the loss as "Target -1 is out of bounds", so it is refused naming the shard and the image.
 */
export function storeLabels(store: Store): Int32Array {
  const out = new Int32Array(store.count);
  const classes = store.meta.classes.length;
  let off = 0;
  for (const sh of store.meta.shards) {
    const path = join(store.dir, sh.y);
    const a = readNpy(new Uint8Array(readFileSync(path)), path);
    if (a.shape[0] !== sh.count) throw new Error(`${path}: ${a.shape[0]} labels, meta.json says ${sh.count}`);
    for (let i = 0; i < sh.count; i++) {
      const v = Number(a.data[i]);
      if (!Number.isInteger(v) || v < 0 || v >= classes)
        throw new Error(
          `${path}: label ${v} of image ${i} is not a class index: meta.json's "classes" has ${classes} ` +
            `names, so labels must be 0 … ${classes - 1}`,
        );
      out[off + i] = v;
    }
    off += sh.count;
  }
  return out;
}
