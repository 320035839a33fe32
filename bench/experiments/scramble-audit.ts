// Block scrambling under attack (RESULTS.md, "A stronger variant: block scrambling"). For several FRESH scrambling
// keys (drawn here, in memory) on a plain store's images:
//  1. the eavesdropper's jigsaw (src/audit/jigsaw.ts, ciphertexts only) with 50…1,000 ciphertexts: the share of block
//     positions it puts right (up to the grid symmetry a glance resolves);
//  2. with --attack: the stock attack run on the scrambled ciphertexts as they are (no jigsaw), scored as it decrypts
//     (blocks left where the scrambling put them) and after moving its blocks back with the TRUE permutation (what
//     the Hill part alone gives away: the within-block statistics do not depend on the positions).
//
//   node --import tsx bench/experiments/scramble-audit.ts SECRET_PLAIN_STORE REFERENCE_PLAIN_STORE \
//        [--keys 3] [--limit 5000] [--k 4] [--sizes 50,100,300,1000] [--attack]
import { parseArgs } from "node:util";
import { BlockMoments, statisticalAttack } from "../../src/attack/index.ts";
import { orientLike, solveBlockJigsaw } from "../../src/attack/jigsaw.ts";
import { attackLinalg } from "../../src/attack/torch-linalg.ts";
import { measureAttack, measurePlan, type StoreSample, spreadPositions } from "../../src/audit/measure.ts";
import { blockPermutation, encrypt, generateKey, inversePermutation, permuteBlocks } from "../../src/cipher/index.ts";
import { Store } from "../../src/data/index.ts";
import { storeLabels } from "../../src/train/labels.ts";

const { values: o, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    keys: { type: "string", default: "3" },
    limit: { type: "string", default: "5000" },
    attack: { type: "boolean", default: false },
    k: { type: "string", default: "4" },
    sizes: { type: "string", default: "50,100,300,1000" },
  },
});
const [secretDir, refDir] = positionals;
if (!secretDir || !refDir) throw new Error("usage: scramble-audit.ts SECRET_PLAIN_STORE REFERENCE_PLAIN_STORE");
const k = Number(o.k);

function readAll(dir: string, n: number) {
  const s = Store.open(dir);
  const [c, h, w] = s.shape;
  const take = spreadPositions(s.count, n);
  const x = s.readPositions(take);
  const all = storeLabels(s);
  return { x, labels: Int32Array.from(take, (p) => all[p]), dims: { c, h, w } };
}

const secret = readAll(secretDir, Number(o.limit));
const { c, h, w } = secret.dims;
const per = c * h * w;
const n = secret.labels.length;
const grid = { gh: h / k, gw: w / k };
const g = { n, c, h, w, k, layout: "CHW" as const };
console.log(`${secretDir}: ${n} images ${c}×${h}×${w}, k=${k}, grid ${grid.gh}×${grid.gw}`);
const ref = o.attack ? readAll(refDir, Number(o.limit)) : null;
const refStats = ref ? new BlockMoments(k, c).add(ref.x, { n: ref.labels.length, c, h, w, layout: "CHW" }) : null;
for (let i = 1; i <= Number(o.keys); i++) {
  const key = await generateKey({ blockSize: k, channels: c, seed: `scramble-audit-${i}`, scramble: true });
  const truth = blockPermutation(key.scramble as NonNullable<typeof key.scramble>, grid.gh, grid.gw);
  const y = encrypt(secret.x, { n, c, h, w, layout: "CHW" }, key);
  const cells: string[] = [];
  for (const m of (o.sizes as string).split(",").map(Number)) {
    const take = spreadPositions(n, m);
    const sub = new Float32Array(take.length * per);
    for (const [j, p] of take.entries()) sub.set(y.subarray(p * per, (p + 1) * per), j * per);
    const r = solveBlockJigsaw(sub, { n: take.length, c, h, w }, k);
    const or = orientLike(r.permutation, truth, grid);
    cells.push(`${m} images: ${(100 * or.correct).toFixed(1)}% right (${r.seconds.toFixed(1)} s)`);
  }
  console.log(`key ${i}: jigsaw ${cells.join("; ")}`);
  if (!refStats) continue;
  const t0 = performance.now();
  const cm = new BlockMoments(k, c).add(y, { n, c, h, w, layout: "CHW" });
  const attack = statisticalAttack(cm, refStats, { linalg: attackLinalg });
  const plan = measurePlan(n, 1000, 200);
  const pick = (x: Float32Array) => {
    const out = new Float32Array(plan.pool.length * per);
    for (const [j, p] of plan.pool.entries()) out.set(x.subarray(p * per, (p + 1) * per), j * per);
    return out;
  };
  const sample: StoreSample = {
    cipher: pick(y),
    plain: pick(secret.x),
    labels: Int32Array.from(plan.pool, (p) => secret.labels[p]),
    positions: plan.pool,
    dims: { n: plan.pool.length, c, h, w },
  };
  const asIs = measureAttack(sample, plan.measured, attack.inverse, key);
  // the same decryption with the blocks moved back by the true permutation (measurement only)
  const moved: StoreSample = {
    ...sample,
    cipher: permuteBlocks(
      sample.cipher,
      new Float32Array(sample.cipher.length),
      { ...g, n: plan.pool.length },
      inversePermutation(truth),
    ),
  };
  const placed = measureAttack(moved, plan.measured, attack.inverse, key);
  console.log(
    `key ${i}: stock attack on scrambled ciphertexts (${((performance.now() - t0) / 1000).toFixed(0)} s, ` +
      `${attack.reliable ? "reliable" : "UNRELIABLE"}): as decrypted PSNR ${asIs.psnr.toFixed(2)} dB, SSIM ` +
      `${asIs.ssim.toFixed(3)}, re-id ${(100 * asIs.reid.rate).toFixed(1)}%; blocks put back (true permutation) ` +
      `PSNR ${placed.psnr.toFixed(2)} dB, SSIM ${placed.ssim.toFixed(3)}, re-id ${(100 * placed.reid.rate).toFixed(1)}%`,
  );
}
