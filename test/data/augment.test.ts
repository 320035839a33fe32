// Cipher-safe augmentation: block-aligned shifts and the block flip map a ciphertext to the ciphertext of the
// correspondingly transformed plaintext, under the same key; a pixel flip does not.
import assert from "node:assert/strict";
import { test } from "node:test";
import { encrypt, generateKey } from "../../src/cipher/index.ts";
import { drawAugment, translate } from "../../src/data/augment.ts";

const [c, h, w, k] = [3, 8, 12, 4];
const dims = { n: 1, c, h, w, layout: "CHW" as const };

function apply(x: Float32Array, dy: number, dx: number, flip: boolean, flipBlock: number): Float32Array {
  const out = new Float32Array(x.length);
  translate(x, 0, out, 0, c, h, w, dy, dx, flip, flipBlock);
  return out;
}
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);

test("block flip (and block shifts) commute with encryption; a pixel flip does not", async () => {
  const key = await generateKey({ blockSize: k, seed: "augment" });
  const p = Float32Array.from({ length: c * h * w }, (_, i) => ((i * 31) % 101) / 101);
  const cp = encrypt(p, dims, key);
  for (const [dy, dx] of [
    [0, 0],
    [4, -4],
    [-4, 8],
  ])
    assert.ok(maxDiff(apply(cp, dy, dx, true, k), encrypt(apply(p, dy, dx, true, k), dims, key)) < 1e-5);
  assert.ok(maxDiff(apply(cp, 0, 0, true, 1), encrypt(apply(p, 0, 0, true, 1), dims, key)) > 0.1);
});

test("block flip by hand: one row of 3 blocks of 4 pixels keeps each block's order", () => {
  const x = Float32Array.from({ length: c * h * w }, (_, i) => i % w);
  const y = apply(x, 0, 0, true, k);
  assert.deepEqual(Array.from(y.subarray(0, w)), [8, 9, 10, 11, 4, 5, 6, 7, 0, 1, 2, 3]);
  const z = apply(x, 0, 0, true, 1);
  assert.deepEqual(Array.from(z.subarray(0, w)), [11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0]);
});

test("drawAugment: cipher-safe shifts are block multiples; blockFlip flips about half the draws", () => {
  let s = 1;
  const rng = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  let flips = 0;
  for (let i = 0; i < 2000; i++) {
    const a = drawAugment({ mode: "cipher-safe", blockSize: k, blockFlip: true }, rng);
    assert.equal(Math.abs(a.dy % k), 0);
    assert.equal(Math.abs(a.dx % k), 0);
    assert.equal(a.flipBlock, k);
    flips += a.flip ? 1 : 0;
  }
  assert.ok(flips > 900 && flips < 1100, `${flips} flips`);
  assert.equal(drawAugment({ mode: "cipher-safe", blockSize: k }, rng).flip, false);
});
