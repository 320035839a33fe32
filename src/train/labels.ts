// Labels of a store without reading its images.

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { readNpy } from "../core/npy.ts";
import type { Store } from "../data/index.ts";

export function storeLabels(store: Store): Int32Array {
  const out = new Int32Array(store.count);
  let off = 0;
  for (const sh of store.meta.shards) {
    const path = join(store.dir, sh.y);
    const a = readNpy(new Uint8Array(readFileSync(path)), path);
    if (a.shape[0] !== sh.count) throw new Error(`${path}: ${a.shape[0]} labels, meta.json says ${sh.count}`);
    for (let i = 0; i < sh.count; i++) out[off + i] = Number(a.data[i]);
    off += sh.count;
  }
  return out;
}
