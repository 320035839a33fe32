// The attack's two local descents side by side (StatisticalAttackOptions.descent): "adaptive" (projected gradient,
// step ×1.1 after a success, ×0.5 after a failure; the default until 2026-12) and "bb" (Riemannian Barzilai–Borwein
// steps with a non-monotone line search; the default now), on the same whitened problems: smooth synthetic images
// (test/audit/images.ts) encrypted with one key, another set as the reference, 3 starts per channel, no retries, no
// joint starts, so only the descent differs. Per block size and evaluation budget: the objective summed over the 3
// channels (lower is better; ratio = adaptive / bb) and the attack's wall time. libtorch linear algebra.
//   node --import tsx bench/attack-descent.ts [--sizes 3,4,6] [--budgets 100,300,1000]
import { parseArgs } from "node:util";
import { torchLinalg } from "../src/audit/torch-linalg.ts";
import { BlockMoments, encrypt, generateKey, statisticalAttack } from "../src/cipher/index.ts";
import { smoothImages } from "../test/audit/images.ts";

const { values: a } = parseArgs({
  options: { sizes: { type: "string", default: "3,4,6" }, budgets: { type: "string", default: "100,300,1000" } },
});
/** Images per set and channels: 3×(8k)×(8k), 64 blocks per image and channel. */
const [IMAGES, CHANNELS] = [400, 3];

console.log("k   evaluations  adaptive: objective  s      bb: objective  s      adaptive/bb (objective)");
for (const k of a.sizes.split(",").map(Number)) {
  const size = 8 * k;
  const dims = { n: IMAGES, c: CHANNELS, h: size, w: size, layout: "CHW" as const };
  const key = await generateKey({ blockSize: k, seed: "bench-descent" });
  const cipher = new BlockMoments(k, CHANNELS).add(encrypt(smoothImages(IMAGES, CHANNELS, size, 2), dims, key), dims);
  const reference = new BlockMoments(k, CHANNELS).add(smoothImages(IMAGES, CHANNELS, size, 1), dims);
  for (const iterations of a.budgets.split(",").map(Number)) {
    const run = (descent: "adaptive" | "bb") => {
      const t = performance.now();
      const r = statisticalAttack(cipher, reference, {
        restarts: 3,
        iterations,
        retries: 0,
        refine: true,
        joint: false,
        linalg: torchLinalg,
        descent,
      });
      return { loss: r.loss.reduce((x, y) => x + y, 0), s: (performance.now() - t) / 1000 };
    };
    const [ad, bb] = [run("adaptive"), run("bb")];
    console.log(
      `${String(k).padEnd(4)}${String(iterations).padEnd(13)}${ad.loss.toFixed(4).padEnd(21)}${ad.s.toFixed(1).padEnd(7)}` +
        `${bb.loss.toFixed(4).padEnd(15)}${bb.s.toFixed(1).padEnd(7)}${(ad.loss / bb.loss).toFixed(2)}×`,
    );
  }
}
