// The attack's block statistics (the passes over the images before the search), pure TypeScript loops
// (src/attack/moments.ts, energy-moments.ts: the browser-safe reference) vs libtorch GEMMs (src/attack/torch-moments.ts,
// what stores use), side by side in one run on the same images, at k = 4, 8, 16:
//   second order: BlockMoments (mean, covariance, 4 neighbour cross-covariances, 3 cross-channel covariances);
//   energy:       EnergyMoments (9 energy-weighted covariances; needs the second-order pass first).
// Images: smooth random 3×64×64 batches of 50 (test/audit/images.ts), the Tiny-ImageNet size. Times are the best of
// --rounds; ratio = js / torch.
//   node --import tsx bench/attack-moments.ts [--images 200] [--rounds 2] [--sizes 4,8,16]
import { parseArgs } from "node:util";
import { BlockMoments, EnergyMoments } from "../src/attack/index.ts";
import { addBlockMoments, addEnergyMoments } from "../src/attack/torch-moments.ts";
import { getNumThreads } from "../src/torch/index.ts";
import { smoothImages } from "../test/audit/images.ts";

const { values: a } = parseArgs({
  options: {
    images: { type: "string", default: "200" },
    rounds: { type: "string", default: "2" },
    sizes: { type: "string", default: "4,8,16" },
  },
});
const BATCH = 50;
const batches = Array.from({ length: Math.ceil(Number(a.images) / BATCH) }, (_, i) =>
  smoothImages(BATCH, 3, 64, i + 1),
);
const dims = { n: BATCH, c: 3, h: 64, w: 64, layout: "CHW" as const };

function best(f: () => void): number {
  let t = Number.POSITIVE_INFINITY;
  for (let r = 0; r < Number(a.rounds); r++) {
    const t0 = performance.now();
    f();
    t = Math.min(t, performance.now() - t0);
  }
  return t;
}

console.log(`${batches.length * BATCH} images 3×64×64; libtorch threads ${getNumThreads()}; best of ${a.rounds}, ms`);
console.log("k   | pass         | JS loops | libtorch | ratio");
for (const k of a.sizes.split(",").map(Number)) {
  const first = new BlockMoments(k, 3);
  for (const b of batches) first.add(b, dims);
  const rows: [string, () => void, () => void][] = [
    [
      "second order",
      () => batches.reduce((m, b) => m.add(b, dims), new BlockMoments(k, 3)),
      () => batches.reduce((m, b) => addBlockMoments(m, b, dims), new BlockMoments(k, 3)),
    ],
    [
      "energy",
      () => batches.reduce((m, b) => m.add(b, dims), new EnergyMoments(first)),
      () => batches.reduce((m, b) => addEnergyMoments(m, b, dims), new EnergyMoments(first)),
    ],
  ];
  for (const [name, js, torch] of rows) {
    const tj = best(js);
    const tt = best(torch);
    console.log(
      `${String(k).padEnd(3)} | ${name.padEnd(12)} | ${tj.toFixed(0).padStart(8)} | ${tt.toFixed(0).padStart(8)} | ${(tj / tt).toFixed(1)}×`,
    );
  }
}
