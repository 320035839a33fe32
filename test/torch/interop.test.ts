import assert from "node:assert/strict";
import { test } from "node:test";
import * as torch from "../../src/torch/index.ts";

test("copyTo lays out a permuted view in one pass, converting dtype", () => {
  const x = torch.arange(0, 24, 1, { dtype: "float64" }).reshape(2, 3, 4);
  const out = x.permute(2, 0, 1).copyTo(new Float32Array(24));
  // element [i, j, k] of the permuted view is x[j, k, i] = 12j + 4k + i
  for (let i = 0; i < 4; i++)
    for (let j = 0; j < 2; j++) for (let k = 0; k < 3; k++) assert.equal(out[(i * 2 + j) * 3 + k], 12 * j + 4 * k + i);
  const ints = torch.tensor([1.7, -2.2, 3.9]).copyTo(new Int32Array(3));
  assert.deepEqual(Array.from(ints), [1, -2, 3]);
});

test("copyTo refuses an array of the wrong size", () => {
  assert.throws(() => torch.ones([2, 3]).copyTo(new Float32Array(5)), /needs 24 bytes, array has 20/);
});

test("fromTypedArray copies: later writes to the array do not reach the tensor", () => {
  const a = new Float32Array([1, 2, 3]);
  const t = torch.fromTypedArray(a, [3]);
  a[0] = 100;
  assert.deepEqual(t.toArray(), [1, 2, 3]);
});
