// A small, learnable synthetic dataset written as an (optionally encrypted) store, for training tests.
import { createHash } from "node:crypto";
import { type CipherKey, encrypt } from "../../src/cipher/index.ts";
import { makeRng, StoreWriter } from "../../src/data/index.ts";

/**
 * n images of side `size`, `classes` classes: class c has its own colour tint and stripe orientation,
 * plus smooth noise — easy for a CNN, not trivially separable from one pixel.
 */
export function syntheticImages(
  n: number,
  classes: number,
  size: number,
  seed = 1,
): { x: Float32Array; y: Int32Array } {
  const r = makeRng(seed, 0x5e7);
  const hw = size * size;
  const x = new Float32Array(n * 3 * hw);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const c = i % classes;
    y[i] = c;
    const angle = (Math.PI * c) / classes;
    const freq = 0.5 + 0.25 * (c % 2);
    const phase = r() * 2 * Math.PI;
    for (let ch = 0; ch < 3; ch++) {
      const tint = 0.3 + 0.4 * (((c + ch) % 3) / 2);
      for (let p = 0; p < hw; p++) {
        const u = Math.floor(p / size);
        const v = p % size;
        const stripe = 0.5 + 0.5 * Math.sin(freq * (u * Math.cos(angle) + v * Math.sin(angle)) + phase);
        x[(i * 3 + ch) * hw + p] = Math.min(1, Math.max(0, 0.5 * tint + 0.4 * stripe + 0.15 * (r() - 0.5)));
      }
    }
  }
  return { x, y };
}

/** Writes images (encrypted when a key is given) as a complete store in `dir`. */
export async function writeSyntheticStore(
  dir: string,
  o: { n: number; classes: number; size: number; key: CipherKey | null; seed?: number; shardSize?: number },
): Promise<{ plain: Float32Array; labels: Int32Array }> {
  const { x, y } = syntheticImages(o.n, o.classes, o.size, o.seed ?? 1);
  const values = o.key ? encrypt(x, { n: o.n, c: 3, h: o.size, w: o.size, layout: "CHW" }, o.key) : x;
  const shardSize = o.shardSize ?? o.n;
  const hash = createHash("sha256")
    .update(`synthetic:${o.n}:${o.classes}:${o.size}:${o.seed ?? 1}`)
    .digest("hex");
  const w = await StoreWriter.open(dir, {
    key: o.key,
    classes: Array.from({ length: o.classes }, (_, i) => `class${i}`),
    shape: [3, o.size, o.size],
    source: { kind: "synthetic", description: "synthetic stripes (tests)" },
    plan: { total: o.n, shardSize, hash },
  });
  const per = 3 * o.size * o.size;
  for (let s = 0; s * shardSize < o.n; s++) {
    const a = s * shardSize;
    const b = Math.min(o.n, a + shardSize);
    await w.writeShard(s, values.slice(a * per, b * per), y.slice(a, b));
  }
  await w.finish();
  return { plain: x, labels: y };
}
