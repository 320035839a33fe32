/**
 * Is the ciphertext-only attack limited by its search or by its objective? For an encrypted store, a plain reference
 * store and the true key (measurement only), it prints the objective at the true key's orthogonal factor M and the
 * PSNR that basin would decrypt at, then runs the attack for each (restarts, iterations) budget and prints its
 * objective and PSNR per channel. The statistics are computed once and cached next to the encrypted store's name in
 * OUT (JSON). RESULTS.md, tiny50: the k = 8 numbers.
 *
 *   node --import tsx bench/experiments/attack-diagnosis.ts runs/results-t50/enc50 runs/results-t50/plain150 \
 *       runs/results-t50/key.json [--limit 10000] [--budgets '[[4,400],[4,1500]]'] [--out runs/attack-diagnosis]
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";
import { parseArgs } from "node:util";
import { attackObjectiveAtKey, BlockMoments, psnr, statisticalAttack } from "../../src/attack/index.ts";
import { storeBlockMoments } from "../../src/attack/store.ts";
import { type CipherKey, decrypt, makeKey } from "../../src/cipher/index.ts";
import { Store } from "../../src/data/index.ts";
import { loadKey } from "../../src/data/keyfile.ts";
import { decryptStoreValues } from "../../src/data/store-cipher.ts";

const { values: o, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    limit: { type: "string", default: "10000" },
    budgets: { type: "string", default: "[[4,400],[4,1500]]" },
    out: { type: "string", default: "runs/attack-diagnosis" },
  },
});
if (positionals.length !== 3) throw new Error("usage: attack-diagnosis.ts <encrypted store> <plain store> <key>");
const [encDir, refDir, keyPath] = positionals;
const enc = Store.open(encDir);
const ref = Store.open(refDir);
const key = await loadKey(keyPath);
enc.checkKey(key);
const k = key.blockSize;
const limit = Number(o.limit);
mkdirSync(o.out, { recursive: true });

const moments = (store: Store): BlockMoments => {
  const path = join(o.out, `${basename(store.dir)}-k${k}-${limit}.json`);
  if (existsSync(path)) return BlockMoments.fromJSON(JSON.parse(readFileSync(path, "utf8")));
  const t = performance.now();
  const m = storeBlockMoments(store, k, { limit });
  console.log(`statistics of ${store.dir}: ${((performance.now() - t) / 1000).toFixed(1)} s`);
  writeFileSync(path, JSON.stringify(m.toJSON()));
  return m;
};
const cm = moments(enc);
const pm = moments(ref);

// the PSNR of a key estimate on the encrypted store's first 500 images, overall and per channel
const [C, h, w] = enc.shape;
const N = Math.min(500, enc.meta.shards[0].count);
const x = enc.readShard(0).x.subarray(0, N * C * h * w);
const dims = { n: N, c: C, h, w, layout: "CHW" as const };
const plain = decryptStoreValues(x, dims, key);
const channel = (a: ArrayLike<number>, ch: number) =>
  Float32Array.from(
    { length: N * h * w },
    (_, q) => a[Math.floor(q / (h * w)) * C * h * w + ch * h * w + (q % (h * w))],
  );
const measure = async (values: Float64Array): Promise<string> => {
  const est: CipherKey = await makeKey({ mode: "uniform", blockSize: k, channels: C, values, source: "diagnosis" });
  const g = decrypt(x, dims, est).map((v) => Math.min(1, Math.max(0, v)));
  const per = Array.from({ length: C }, (_, ch) => psnr(channel(g, ch), channel(plain, ch)).toFixed(1));
  return `PSNR ${psnr(g, plain).toFixed(2)} dB (per channel ${per.join(", ")})`;
};

// the objective at the true key's whitened orthogonal factor, and the key that basin gives
const atKey = attackObjectiveAtKey(cm, pm, key.values);
const trueLoss = atKey.loss.map((v) => v.toExponential(2));
const oracle = atKey.key;
console.log(`true key's basin: objective ${trueLoss.join(", ")}; ${await measure(oracle)}`);
for (const [restarts, iterations] of JSON.parse(o.budgets) as [number, number][]) {
  const t = performance.now();
  const r = statisticalAttack(cm, pm, { restarts, iterations });
  const s = ((performance.now() - t) / 1000).toFixed(1);
  console.log(
    `attack ${restarts} × ${iterations}: ${s} s, objective ${r.loss.map((v) => v.toExponential(2)).join(", ")}; ${await measure(r.key)}`,
  );
}
