/**
 * Key validation cost: the exact cond₂ (one-sided Jacobi SVD, what keys up to k = 8 use) against the LU + power
 * iteration estimate (what larger keys use), on the same uniform random k²×k² matrices, side by side; prints the
 * ratio and how close the estimate is. Then the whole `generateKey` per block size.
 *
 *     node --import tsx bench/key-condition.ts            # --exact-max 256: largest n timed with the exact SVD
 */
import { generateKey } from "../src/cipher/key.ts";
import { conditionEstimate } from "../src/core/condition.ts";
import { conditionNumber } from "../src/core/linalg.ts";

const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : d;
};
const exactMax = arg("--exact-max", 256);
let seed = 12345;
const rnd = () => {
  seed = (seed * 1103515245 + 12345) % 2147483648;
  return (seed / 2147483648) * 2 - 1;
};
const time = (f: () => number) => {
  const t = performance.now();
  const v = f();
  return { v, ms: performance.now() - t };
};

console.log("| k | matrix | exact SVD ms | estimate ms | speed-up | estimate / exact |");
console.log("|---|---|---|---|---|---|");
for (const k of [4, 8, 12, 16, 32]) {
  const n = k * k;
  const a = Float64Array.from({ length: n * n }, rnd);
  const est = time(() => conditionEstimate(a, n));
  if (n <= exactMax) {
    const ex = time(() => conditionNumber(a, n));
    console.log(
      `| ${k} | ${n}×${n} | ${ex.ms.toFixed(1)} | ${est.ms.toFixed(1)} | ${(ex.ms / est.ms).toFixed(1)}× | ${(est.v / ex.v).toFixed(5)} |`,
    );
  } else {
    console.log(`| ${k} | ${n}×${n} | (not timed: minutes) | ${est.ms.toFixed(1)} | — | — |`);
  }
}
console.log("\n| k | generateKey (3 channels, check included) s |\n|---|---|");
for (const k of [4, 8, 16, 32]) {
  const t = performance.now();
  await generateKey({ blockSize: k, seed: `bench-${k}` });
  console.log(`| ${k} | ${((performance.now() - t) / 1000).toFixed(2)} |`);
}
