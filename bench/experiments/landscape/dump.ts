// Writes what bench/experiments/landscape/landscape.py reads: 3,000 images spread over each of two PLAIN stores as
// float32 .npy (N, C, H, W), and the bench's fresh keys audit-K-I (K = 8, 16; I = 1..3) as float64 .npy (C, n, n).
// The keys are the ones bench/experiments/attack-audit.ts draws (same seeds), and as key-hos-K-I.npy the ones
// bench/experiments/attack-hos.ts draws; they never leave the given folder.
//
//   node --import tsx bench/experiments/landscape/dump.ts SECRET_PLAIN_STORE REFERENCE_PLAIN_STORE OUT_DIR [IMAGES]
//
// IMAGES (default 3000): how many images to take from each store (all of a smaller store).
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import { spreadPositions } from "../../../src/audit/measure.ts";
import { generateKey } from "../../../src/cipher/index.ts";
import { writeNpy } from "../../../src/core/npy.ts";
import { Store } from "../../../src/data/index.ts";

const [secretDir, refDir, out, images = "3000"] = process.argv.slice(2);
if (!secretDir || !refDir || !out)
  throw new Error("usage: dump.ts SECRET_PLAIN_STORE REFERENCE_PLAIN_STORE OUT_DIR [IMAGES]");
const perStore = Number(images);
if (!Number.isInteger(perStore) || perStore < 1)
  throw new Error(`dump.ts: IMAGES must be a positive integer, got "${images}"`);
mkdirSync(out, { recursive: true });
for (const [name, dir] of [
  ["secret", secretDir],
  ["ref", refDir],
]) {
  const s = Store.open(dir);
  if (s.meta.key) throw new Error(`${dir} must be a plain store`);
  const take = spreadPositions(s.count, Math.min(perStore, s.count));
  const data = s.readPositions(take);
  writeFileSync(`${out}/${name}.npy`, writeNpy({ dtype: "float32", shape: [take.length, ...s.shape], data }));
}
for (const [bench, prefix] of [
  ["audit", ""],
  ["hos", "hos-"],
])
  for (const k of [8, 16])
    for (let i = 1; i <= 3; i++) {
      const key = await generateKey({ blockSize: k, seed: `${bench}-${k}-${i}` });
      const file = `${out}/key-${prefix}${k}-${i}.npy`;
      writeFileSync(file, writeNpy({ dtype: "float64", shape: [3, k * k, k * k], data: key.values }), { mode: 0o600 });
      chmodSync(file, 0o600);
    }
