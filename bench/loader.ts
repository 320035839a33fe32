/**
 * Loader throughput on CIFAR-size data: a synthetic 50k×3×32×32 encrypted store, iterated with shuffling, cipher-safe
 * augmentation and ImageNet normalisation in worker threads (batch 128). Required ≥ 3,000 img/s.
 *
 *   node --import tsx bench/loader.ts [--images 50000] [--workers 2] [--epochs 2]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { generateKey } from "../src/cipher/index.ts";
import { Loader } from "../src/data/loader.ts";
import { StoreWriter } from "../src/data/store.ts";

const args = process.argv.slice(2);
const opt = (name: string, def: string) => {
  const i = args.indexOf(name);
  return Number(i >= 0 ? args[i + 1] : def);
};
const images = opt("--images", "50000");
const workers = opt("--workers", "2");
const epochs = opt("--epochs", "2");
const tmp = mkdtempSync(join(tmpdir(), "ercnn-loader-"));
try {
  const key = await generateKey({ blockSize: 4, seed: "loader-bench" });
  const shardSize = 5000;
  const w = await StoreWriter.open(tmp, {
    key,
    classes: Array.from({ length: 10 }, (_, i) => `c${i}`),
    shape: [3, 32, 32],
    source: { kind: "synthetic", description: "random values" },
    plan: { total: images, shardSize, hash: "synthetic" },
  });
  for (let s = 0; s * shardSize < images; s++) {
    const n = Math.min(shardSize, images - s * shardSize);
    const x = new Float32Array(n * 3072);
    for (let i = 0; i < x.length; i++) x[i] = Math.random() * 2 - 1;
    await w.writeShard(
      s,
      x,
      Array.from({ length: n }, (_, i) => i % 10),
    );
  }
  await w.finish();
  for (const augment of ["cipher-safe", "none"] as const) {
    const loader = await Loader.fromStore(tmp, {
      batchSize: 128,
      shuffle: true,
      seed: 1,
      normalize: "imagenet",
      augment,
      workers,
    });
    for (let e = 0; e < epochs; e++) {
      const t0 = performance.now();
      let n = 0;
      let check = 0;
      for await (const b of loader) {
        n += b.n;
        check += b.x[0];
      }
      const s = (performance.now() - t0) / 1000;
      console.log(
        `loader (${augment}, ${workers} workers) epoch ${e}: ${n} images in ${s.toFixed(2)} s = ${Math.round(n / s)} img/s ${Number.isFinite(check) ? "" : "NaN!"}`,
      );
    }
    await loader.close();
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
